"""What the server sends the browser: compact, JSON-safe, never NaN or inf.

Paths and losses go as base64 little-endian float32 (a 1000-step race of nine is about 145 kB
before gzip, 2–3× less as JSON text); the surface grid goes once per surface change.
"""

from __future__ import annotations

import base64
from functools import lru_cache

import numpy as np

from optimizers import ALL_OPTIMIZERS, RolloutResult
from optimizers.engine import is_data
from surfaces import Surface
from optimizers.momentum_map import predicted_loss, predicted_rate
from surfaces.data import MODELS
from surfaces.formula import stop_reason

from .theme import OPTIMIZER_COLORS

FLOAT32_MAX = float(np.finfo(np.float32).max)
GRID_SIZE = 120


def pack_float32(values: np.ndarray) -> str:
    """Finite float64 values as base64 float32, clipped into float32's range (a diverged loss
    may be finite in float64 and overflow float32)."""
    arr = np.clip(np.asarray(values, dtype=np.float64), -FLOAT32_MAX, FLOAT32_MAX)
    if not np.isfinite(arr).all():
        raise ValueError("refusing to send a non-finite number to the browser")
    return base64.b64encode(arr.astype("<f4").tobytes()).decode("ascii")


def finite_or_none(values) -> list:
    """A nested list with every non-finite number replaced by None (JSON null: a gap)."""
    arr = np.asarray(values, dtype=float)
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def _point(p) -> list[float]:
    return [float(p[0]), float(p[1])]


def surface_key(surface: Surface) -> str:
    """Tells surfaces apart in the browser (every custom surface has the id "custom", every
    uploaded one "upload")."""
    if surface.id == "custom":
        return f"custom:{surface.expr}"
    return f"upload:{surface.digest}" if surface.id == "upload" else surface.id


def _data_payload(surface) -> dict | None:
    """A data surface's examples and model, for the data panel (assets/datapanel.js)."""
    if not is_data(surface):
        return None
    return {
        "model": surface.model,
        "draws": MODELS[surface.model].prediction,  # "line" or "sigmoid"
        "n": surface.n_examples,
        "examples": pack_float32(surface.examples.T),  # (N, 2): x, y
        "labels": list(surface.labels),
        "best": _point(surface.minima[0]),
        "source": surface.source,
    }


def _stop_reasons(result: RolloutResult, surface: Surface) -> list[str]:
    reasons = []
    for point in result.rejected or [None] * len(result.names):
        try:
            reasons.append(stop_reason(surface, point) if point is not None else "")
        except ValueError:
            reasons.append("")
    return reasons


@lru_cache(maxsize=32)
def surface_payload(surface: Surface) -> dict:
    """The surface as the map needs it: domain, minima, and log-spaced loss levels on a grid.

    The grid carries log10(f − f_min + floor), so evenly spaced contours are log-spaced in the
    loss and valleys near the minimum stay visible; `floor` keeps the minimum itself finite.
    Kept for the last 32 surfaces (a surface is immutable, and hashed by identity: built-in and
    typed ones are made once per worker): a class switches among a dozen, and a logistic map
    sums over every example at each of its 14,400 points. Callers must not change it."""
    xs, ys, Z = surface.grid(GRID_SIZE)
    gap = Z - surface.f_min
    finite_gap = gap[np.isfinite(gap)]
    spread = float(np.percentile(finite_gap, 95)) if finite_gap.size else 1.0
    floor = max(spread * 1e-4, 1e-12)
    with np.errstate(all="ignore"):
        levels = np.log10(np.maximum(gap, 0.0) + floor)
    return {
        "id": surface_key(surface),
        "name": surface.name,
        "description": surface.description,
        "latex": surface.latex,
        "domain": [list(surface.domain[0]), list(surface.domain[1])],
        "minima": [_point(p) for p in surface.minima],
        "local_minima": [_point(p) for p in surface.local_minima],
        "f_min": float(surface.f_min),
        "gd_lr_limit": surface.gd_lr_limit,
        "axes": ["w (weight)", "b (bias)"] if is_data(surface) else ["x", "y"],
        "data": _data_payload(surface),
        "grid": {
            "x": np.round(xs, 6).tolist(),
            "y": np.round(ys, 6).tolist(),
            "z": finite_or_none(np.round(levels, 4)),
            "floor": floor,
        },
    }


MAX_LR_MARKS = 12


def lr_marks(factors) -> list[list]:
    """Where a schedule has changed η a lot, for the loss chart: [row, ηₜ/η] each time η has
    halved or doubled since the last mark (each drop of a step decay; a cosine's or a warm-up's
    halvings), at the row from which the new η acts (update t moves row t − 1 to row t)."""
    if factors is None:
        return []
    marks, reference = [], float(factors[0])
    for t, f in enumerate(factors):
        if reference > 0 and f > 0 and (f >= 2 * reference or f <= reference / 2):
            marks.append([t, float(f)])
            reference = float(f)
            if len(marks) == MAX_LR_MARKS:
                break
    return marks


def _predicted(result: RolloutResult, surface: Surface) -> dict:
    """On a quadratic surface, the loss gap that GD's and Momentum's rates predict from the
    Hessian's eigenvalues (optimizers.momentum_map.predicted_loss), where it applies: a constant η
    on the step clock, and for Momentum an exact gradient (σ = 0, not data)."""
    if not surface.is_quadratic or result.lr_factors is not None or result.clock != "steps":
        return {}
    out = {}
    for oid in ("gd", "momentum"):
        exact = oid == "gd" or (result.noise == 0 and not is_data(surface))
        if oid in result.names and exact:
            hp = result.settings[oid]
            try:
                loss = predicted_loss(surface, hp["lr"], hp.get("gamma", 0.0), result.steps, result.start)
            except ValueError:  # not positive definite: no rate to predict
                return {}
            rate = float(predicted_rate(surface, hp["lr"], hp.get("gamma", 0.0)))
            gaps = np.maximum(loss - surface.f_min, 0.0)
            if rate < 1 and np.isfinite(gaps).all():
                out[oid] = {"rate": rate, "gaps": pack_float32(gaps)}
    return out


def race_payload(result: RolloutResult, surface: Surface) -> dict:
    """A race for the browser: ids, names, colours, paths and loss gaps (f − f_min ≥ 0, for the
    log chart) packed as float32, and the arrival/divergence steps."""
    gaps = np.maximum(result.losses - surface.f_min, 0.0)
    return {
        "surface_id": surface_key(surface),
        "start": _point(result.start),
        "steps": result.steps,
        "f_min": float(surface.f_min),
        "ids": list(result.names),
        "names": [ALL_OPTIMIZERS[oid].name for oid in result.names],
        "colors": [OPTIMIZER_COLORS[oid] for oid in result.names],
        "settings": result.settings,
        "noise": result.noise,
        "data": is_data(surface),  # the noise is the examples (σ does not apply)
        "clock": result.clock,  # "examples": row j is after j examples processed
        "per_epoch": result.examples_per_epoch,
        "batch_size": result.batch_size,
        "seed": result.seed,
        "paths": pack_float32(result.paths),  # (n, steps + 1, 2), row-major
        "gaps": pack_float32(gaps),  # (n, steps + 1)
        "diverged_at": result.diverged_at.tolist(),
        "stop_reasons": _stop_reasons(result, surface),
        "arrived_at": result.arrived_at.tolist(),
        "settled_at": result.settled_at.tolist(),
        "ranking": result.ranking(),
        # the schedule: ηₜ/η for each update (None: constant), and where it changes a lot
        "schedule": result.schedule,
        "lr_factors": pack_float32(result.lr_factors) if result.lr_factors is not None else None,
        "lr_marks": lr_marks(result.lr_factors) if result.clock == "steps" else [],
        "predicted": _predicted(result, surface),
    }
