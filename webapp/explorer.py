"""The learning-rate explorer: final loss against learning rate for every optimizer, with bands
that say where each one's learning rate is too low, good or too high, and each one's best.

Bands, per optimizer: a run that diverged is "diverged"; a run that arrived (SPEC §4) and ends
within 1% of its starting loss gap is "good" (when none does, the runs within a factor 10 of the
best final loss are). Of the rest, a run that had been more than twice as close as where it ends
is "too high" (it overshoots and bounces); one still on its way down is "too low". The best
learning rate is the good one that arrives first (ties: lower final loss), or, when none is good,
the lowest final loss.
"""

from __future__ import annotations

import math

import numpy as np

from optimizers import OPTIMIZERS, SweepResult
from surfaces import Surface

from .theme import OPTIMIZER_COLORS

BANDS = ("too low", "good", "too high", "diverged")
BAND_COLORS = ("#9ecae1", "#44AA99", "#DDCC77", "#CC6677")
LOSS_FLOOR = 1e-16  # final losses at the minimum are drawn here on the log axis


def bands(sw: SweepResult, surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """(codes, best): codes[i, j] indexes BANDS for optimizer i at value j; best[i] is the index
    of optimizer i's best value."""
    gap = np.maximum(sw.final_loss - surface.f_min, 0.0)
    start_gap = max(float(surface.f(*sw.start)) - surface.f_min, 0.0)
    closest = np.maximum(sw.min_loss - surface.f_min, 0.0)
    diverged = sw.diverged_at >= 0
    settled = (sw.arrived_at >= 0) & (gap <= 1e-2 * start_gap)
    codes = np.empty(gap.shape, dtype=int)
    best = np.empty(len(sw.names), dtype=int)
    for i in range(len(sw.names)):
        if settled[i].any():
            candidates = np.flatnonzero(settled[i])
            order = np.lexsort((gap[i, candidates], sw.arrived_at[i, candidates]))
            best[i] = candidates[order[0]]
            good = settled[i]
        else:
            usable = np.where(diverged[i], np.inf, gap[i])
            best[i] = int(np.argmin(usable))
            good = ~diverged[i] & (gap[i] <= 10 * usable[best[i]] + 1e-300)
        bouncing = gap[i] > 2 * closest[i]
        codes[i] = np.where(good, 1, np.where(bouncing, 2, 0))
        codes[i][diverged[i]] = 3
    return codes, best


def best_learning_rates(sw: SweepResult, surface: Surface) -> dict[str, float]:
    _, best = bands(sw, surface)
    return {oid: float(sw.values[best[i]]) for i, oid in enumerate(sw.names)}


def _fmt(v: float) -> str:
    return f"{v:.2g}"


def explorer_figure(sw: SweepResult, surface: Surface) -> dict:
    """Two panels sharing the learning-rate axis: final f − f_min per optimizer (diverged runs as
    ✕ along the top), and the band of every run. (The race's own learning rate is marked by the
    browser over this figure, so moving it needs no new figure.)"""
    codes, best = bands(sw, surface)
    gap = np.maximum(sw.final_loss - surface.f_min, LOSS_FLOOR)
    finite = gap[sw.diverged_at < 0]
    top = math.log10(finite.max()) + 0.6 if finite.size else 1.0
    bottom = max(math.log10(finite.min()) - 0.4, -16.5) if finite.size else -16.5
    lrs = sw.values.tolist()
    names = [OPTIMIZERS[o].name for o in sw.names]
    traces = []
    for i, oid in enumerate(sw.names):
        ok = sw.diverged_at[i] < 0
        color = OPTIMIZER_COLORS[oid]
        status = [
            f"diverged at step {d}" if d >= 0 else (f"arrived at step {a}" if a >= 0 else "did not arrive")
            for d, a in zip(sw.diverged_at[i], sw.arrived_at[i])
        ]
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": names[i], "legendgroup": oid,
            "x": [lr if k else None for lr, k in zip(lrs, ok)],
            "y": [float(g) if k else None for g, k in zip(gap[i], ok)],
            "line": {"color": color, "width": 2}, "marker": {"size": 4, "color": color},
            "customdata": status, "xaxis": "x", "yaxis": "y",
            "hovertemplate": f"<b>{names[i]}</b><br>η = %{{x:.3g}}<br>f − f_min = %{{y:.3g}}"
                             "<br>%{customdata}<extra></extra>",
        })
        if (~ok).any():
            traces.append({
                "type": "scatter", "mode": "markers", "name": names[i] + " diverged",
                "legendgroup": oid, "showlegend": False,
                "x": [lr for lr, k in zip(lrs, ok) if not k], "y": [10**top] * int((~ok).sum()),
                "marker": {"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": color}},
                "customdata": [s for s, k in zip(status, ok) if not k], "xaxis": "x", "yaxis": "y",
                "hovertemplate": f"<b>{names[i]}</b><br>η = %{{x:.3g}}<br>%{{customdata}}<extra></extra>",
            })
    labels = [f"{names[i]}  η* = {_fmt(sw.values[best[i]])}" for i in range(len(names))]
    traces.append({
        "type": "heatmap", "x": lrs, "y": labels, "z": codes.tolist(), "xaxis": "x", "yaxis": "y2",
        "zmin": -0.5, "zmax": 3.5, "showscale": False, "xgap": 1, "ygap": 2,
        "colorscale": [[k / 4, c] for k, c in enumerate(BAND_COLORS) for k in (k, k + 1)],
        "customdata": [[BANDS[c] for c in row] for row in codes.tolist()],
        "hovertemplate": "%{y}<br>η = %{x:.3g}: %{customdata}<extra></extra>",
    })
    traces.append({
        "type": "scatter", "mode": "markers", "x": [lrs[b] for b in best], "y": labels,
        "xaxis": "x", "yaxis": "y2", "showlegend": False, "hoverinfo": "skip",
        "marker": {"symbol": "star", "size": 11, "color": "#ffffff", "line": {"color": "#1f2630", "width": 1}},
    })
    shapes, annotations = [], []
    limit = surface.gd_lr_limit
    if limit is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": limit, "x1": limit, "y0": 0,
                       "y1": 1, "line": {"color": "#a01c2c", "width": 1.5}})
        annotations.append({"x": math.log10(limit), "xref": "x", "y": 0.97, "yref": "paper",
                            "xanchor": "left", "text": f" GD limit 2/λmax = {_fmt(limit)}",
                            "showarrow": False, "font": {"size": 11, "color": "#a01c2c"}})
    return {
        "data": traces,
        "layout": {
            "margin": {"l": 190, "r": 20, "t": 26, "b": 44},
            "height": 520,
            "hovermode": "closest",
            "clickmode": "event",
            "dragmode": False,
            "meta": {"surface": sw.surface_id},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1f2630"},
            "legend": {"orientation": "h", "y": 1.08, "x": 0, "font": {"size": 11}},
            "xaxis": {"type": "log", "domain": [0, 1], "anchor": "y2", "title": {"text": "learning rate η"},
                      "range": [math.log10(lrs[0]) - 0.05, math.log10(lrs[-1]) + 0.05],
                      "showline": True, "linecolor": "#c5ced8", "fixedrange": True},
            "yaxis": {"type": "log", "domain": [0.42, 1], "title": {"text": "final f − f_min"},
                      "range": [bottom, top + 0.1], "exponentformat": "power", "dtick": 2,
                      "showline": True, "linecolor": "#c5ced8", "fixedrange": True},
            "yaxis2": {"domain": [0, 0.38], "autorange": "reversed", "fixedrange": True, "tickfont": {"size": 11}},
            "shapes": shapes,
            "annotations": annotations,
        },
    }


def explorer_notes(sw: SweepResult, surface: Surface) -> str:
    """What the chart shows, in a few sentences (Markdown with maths)."""
    text = (
        f"Each optimizer ran {sw.steps} steps at {len(sw.values)} learning rates from "
        f"{sw.values[0]:.0e} to {sw.values[-1]:.0e}, everything else as in the race. "
        "Click a point to race at that learning rate; **Tune** gives every optimizer its own best "
        "(★) for a fair race."
    )
    lam = surface.max_curvature
    if lam is not None and surface.gd_lr_limit is not None:
        text += (
            f" On this quadratic surface the largest curvature is $\\lambda_{{max}} = {lam:g}$. A GD "
            f"step multiplies the error along that direction by $1 - \\eta\\lambda_{{max}}$, which "
            f"exceeds 1 in size once $\\eta > 2/\\lambda_{{max}} = {surface.gd_lr_limit:g}$: GD then "
            "oscillates with growing amplitude and diverges."
        )
    return text
