"""The export formats of a race: CSV, the JSON record and one self-contained HTML replay. Pure
functions of a `RolloutResult` and the `Surface` it ran on.

`race_csv`    one row per optimizer per step, full float precision, `#` comment lines on top.
`race_record` the JSON-ready dict of the schema below; `race_json` the same as strict JSON text
              (reimport.rollout_from_json re-runs the race from it).
`race_html`   templates/race.html.j2 rendered with plotly.js, assets/player.js, assets/style.css,
              templates/export.css, templates/bootstrap.js and the race inlined: one file that
              works from file:// with no server and no network.

JSON schema, format "optimizer-race/1":

    {
      "format": "optimizer-race/1",
      "generator": {"app", "version", "exported" (ISO 8601 UTC), "python", "numpy", "sympy"},
      "surface": {"id", "name", "formula" (SymPy str(expr), x and y), "latex",
                  "domain" [[xmin, xmax], [ymin, ymax]], "minima" [[x, y], ...],
                  "local_minima" [[x, y], ...], "f_min"},
      "start": [x0, y0], "steps": int, "noise": σ, "batch_size": B, "seed": int,
      "settings": {optimizer id: {hyperparameter: value}},     # every value that ran
      "optimizers": [{"id", "name", "color", "diverged_at", "arrived_at",   # -1: never
                      "settled_at",      # from here on within the arrival threshold; -1: not at the end
                      "path": [[x, y], ...] (steps + 1 points, row 0 the start),
                      "loss": [f, ...] (steps + 1 values, the full loss f, not f − f_min)}],
      "ranking": [optimizer id, ...]                            # first to last
    }

Every number is written with Python's shortest round-trip repr, so reading a file back gives the
exact float64 values; the files never hold NaN or inf. A file holds the optimizers of the result
it is given: the app exports the shown ones (`RolloutResult.only`), and `rollout_from_json` re-runs
exactly the file's "optimizers" list, which gives the same rows bit for bit (runs never interact).
"""

from __future__ import annotations

import csv
import io
import json
import platform
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import numpy as np

from optimizers.engine import is_data
from optimizers.schedules import Schedule
from surfaces.data import MODELS
import sympy as sp
from markupsafe import Markup

import webapp as _package
from optimizers import ALL_OPTIMIZERS, HYPERPARAMETERS, OPTIMIZERS, RolloutResult
from surfaces import Surface

from .. import controls
from ..payload import race_payload, surface_payload
from ..theme import OPTIMIZER_COLORS

APP_NAME = "Optimizer Race"
FORMAT = "optimizer-race/1"
CSV_FORMAT = "optimizer-race-csv/1"
# The CSV's hyperparameter columns: the nine's, in registry order; then the ones only extras
# have (AdamW's λ, NAdam's ψ), which get a column only when a raced extra has them.
HP_KEYS = tuple(k for k in HYPERPARAMETERS if any(k in o.defaults for o in OPTIMIZERS.values()))
EXTRA_HP_KEYS = tuple(k for k in HYPERPARAMETERS if k not in HP_KEYS)
CSV_COLUMNS = ("optimizer_id", "optimizer_name", "step", "x", "y", "loss", *HP_KEYS,
               "diverged_at", "arrived_at", "settled_at")
ASSETS = Path(__file__).resolve().parents[2] / "assets"  # the app's own, inlined as they are
TEMPLATES = Path(__file__).resolve().parent / "templates"  # the export's only: Dash never serves them

HP_SYMBOLS = {key: hp.text for key, hp in HYPERPARAMETERS.items()}


# -- shared helpers ------------------------------------------------------------------------------
def app_version() -> str:
    """The app's version (`webapp.__version__` when the package defines one), else "dev"."""
    return str(getattr(_package, "__version__", None) or "dev")


def _utc(exported_at: datetime | None) -> datetime:
    when = datetime.now(timezone.utc) if exported_at is None else exported_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).replace(microsecond=0)


def _check(result: RolloutResult, surface: Surface) -> None:
    if not isinstance(result, RolloutResult):
        raise ValueError(f"result must be a RolloutResult (see optimizers.rollout), not {type(result).__name__}")
    if not isinstance(surface, Surface):
        raise ValueError(f"surface must be a Surface (see surfaces.get_surface), not {type(surface).__name__}")
    if result.surface_id != surface.id:
        raise ValueError(f"this race ran on surface {result.surface_id!r}, not on {surface.id!r}")
    # SPEC §4: the engine never lets NaN or inf into a result; an export must not either
    assert np.isfinite(result.paths).all() and np.isfinite(result.losses).all(), \
        "a race result holds a non-finite number"


def hp_keys(result: RolloutResult) -> tuple[str, ...]:
    """The hyperparameter columns of a race: HP_KEYS, then λ and ψ when a raced extra has them."""
    return HP_KEYS + tuple(k for k in EXTRA_HP_KEYS if any(k in result.settings[oid] for oid in result.names))


def _points(rows) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in rows]


# -- CSV -----------------------------------------------------------------------------------------
def race_csv(result: RolloutResult, surface: Surface, exported_at: datetime | None = None) -> str:
    """The race as CSV: `#` comment lines (surface, formula, start, steps, noise, batch size,
    seed, version, date), a header row (CSV_COLUMNS, with weight_decay and momentum_decay after
    eps when a raced extra has them), then one row per optimizer per step with
    its position, loss, hyperparameters (empty where it has none) and divergence/arrival steps
    (-1: never). Floats are written at full precision (shortest round-trip repr)."""
    _check(result, surface)
    when = _utc(exported_at)
    out = io.StringIO()
    comments = [
        f"{APP_NAME} export ({CSV_FORMAT}), {APP_NAME} {app_version()}, exported {when.isoformat()}",
        f"surface: {surface.id} ({surface.name})",
        f"formula: f(w, b) = {formula_text(surface)}" if is_data(surface) else f"formula: f(x, y) = {surface.expr}",
        f"start: {float(result.start[0])!r}, {float(result.start[1])!r}",
        f"steps: {result.steps}",
        f"noise: {float(result.noise)!r}",
        f"batch_size: {result.batch_size}",
        f"seed: {result.seed}",
        f"schedule: {_schedule_text(result)}",
        f"clock: {result.clock}" + (" (the step column counts examples processed: a row is the race after that "
                                    "many examples, each optimizer having taken the steps they paid for)"
                                    if result.clock == "examples" else ""),
        *([f"data: {surface.model} regression on {surface.n_examples} examples (the JSON export holds them)"]
          if is_data(surface) else []),
        f"f_min: {float(surface.f_min)!r}",
        "one row per optimizer per step (step 0 is the start); diverged_at/arrived_at: step, -1 if never; "
        "settled_at: the step from which it stays arrived, -1 if it is not arrived at the end",
    ]
    for line in comments:
        out.write("# " + line.replace("\n", " ") + "\n")
    writer = csv.writer(out, lineterminator="\n")
    keys = hp_keys(result)
    writer.writerow(CSV_COLUMNS[:6 + len(HP_KEYS)] + keys[len(HP_KEYS):] + CSV_COLUMNS[6 + len(HP_KEYS):])
    paths, losses = result.paths.tolist(), result.losses.tolist()  # Python floats: repr is exact
    for i, oid in enumerate(result.names):
        hp = result.settings[oid]
        fixed = [repr(float(hp[k])) if k in hp else "" for k in keys]
        name = ALL_OPTIMIZERS[oid].name
        diverged, arrived, settled = int(result.diverged_at[i]), int(result.arrived_at[i]), int(result.settled_at[i])
        for k, ((px, py), loss) in enumerate(zip(paths[i], losses[i])):
            writer.writerow((oid, name, k, repr(px), repr(py), repr(loss), *fixed, diverged, arrived, settled))
    return out.getvalue()


# -- JSON ----------------------------------------------------------------------------------------
def race_record(result: RolloutResult, surface: Surface, exported_at: datetime | None = None) -> dict:
    """The race as the JSON-ready dict of the module docstring's schema."""
    _check(result, surface)
    return {
        "format": FORMAT,
        "generator": {
            "app": APP_NAME,
            "version": app_version(),
            "exported": _utc(exported_at).isoformat(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "sympy": sp.__version__,
        },
        "surface": {
            "id": surface.id,
            "name": surface.name,
            "formula": str(surface.expr),
            "latex": surface.latex,
            "domain": _points(surface.domain),
            "minima": _points(surface.minima),
            "local_minima": _points(surface.local_minima),
            "f_min": float(surface.f_min),
            **_data_record(surface),
        },
        "start": [float(result.start[0]), float(result.start[1])],
        "steps": int(result.steps),
        "noise": float(result.noise),
        "batch_size": int(result.batch_size),
        "seed": int(result.seed),
        "clock": result.clock,
        "schedule": result.schedule,
        "settings": {oid: {k: float(v) for k, v in result.settings[oid].items()} for oid in result.names},
        "optimizers": [
            {
                "id": oid,
                "name": ALL_OPTIMIZERS[oid].name,
                "color": OPTIMIZER_COLORS[oid],
                "diverged_at": int(result.diverged_at[i]),
                "arrived_at": int(result.arrived_at[i]),
                "settled_at": int(result.settled_at[i]),
                "path": result.paths[i].tolist(),
                "loss": result.losses[i].tolist(),
            }
            for i, oid in enumerate(result.names)
        ],
        "ranking": result.ranking(),
    }


def _schedule_text(result: RolloutResult) -> str:
    """The race's learning-rate schedule as text: "constant", or optimizers.schedules' text form."""
    schedule = result.schedule or {"kind": "constant"}
    return Schedule.from_dict(schedule).to_text() if schedule.get("kind") != "constant" else "constant"


def _data_record(surface) -> dict:
    """A data surface's model and examples, inline (a JSON file carries them whatever their number)."""
    if not is_data(surface):
        return {}
    return {"model": surface.model, "labels": list(surface.labels), "source": surface.source,
            "examples": {"x": surface.examples[0].tolist(), "y": surface.examples[1].tolist()}}


def race_json(result: RolloutResult, surface: Surface, exported_at: datetime | None = None,
              indent: int | None = None) -> str:
    """The race as strict JSON (no NaN or Infinity) in the module docstring's schema."""
    return json.dumps(race_record(result, surface, exported_at), indent=indent, allow_nan=False,
                      ensure_ascii=False)


# -- HTML ----------------------------------------------------------------------------------------
def _inline_js(code: str) -> str:
    """JavaScript safe inside <script>: no `</script` or `<!--` can end or confuse the element
    (`<\\/` and `<\\!` mean the same inside strings, regular expressions and comments)."""
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


def _inline_json(value) -> str:
    """Strict JSON safe inside <script type="application/json">: <, >, & as \\u escapes."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_css(css: str) -> str:
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


# Autoescaped, so a title or surface name cannot inject markup; the inline_* filters mark their
# output safe because it is already escaped for the <script> or <style> element it goes in, where
# HTML entities would not be decoded.
_PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the export instead of printing nothing
    keep_trailing_newline=True,
)
_PAGES.filters.update(
    inline_js=lambda code: Markup(_inline_js(code)),
    inline_json=lambda value: Markup(_inline_json(value)),
    inline_css=lambda css: Markup(_inline_css(css)),
)
_PAGES.globals["controls"] = controls  # views, speeds and playback buttons, as the app's page has


def _read(folder: Path, name: str) -> str:
    # at every export, so the page always carries the files as they are now
    return (folder / name).read_text(encoding="utf-8")


def _number(v: float) -> str:
    """0.001 as 0.001, 1e-08 as 1e-8, 1.0 as 1: short, for people."""
    text = f"{float(v):.6g}"
    mantissa, sep, exponent = text.partition("e")
    return mantissa + (f"e{int(exponent)}" if sep else "")


def formula_text(surface: Surface) -> str:
    """The formula as plain text: SymPy's str(expr) with ^ for powers; a data surface's, its model's
    loss averaged over its examples."""
    if is_data(surface):
        return f"(1/{surface.n_examples}) Σᵢ {MODELS[surface.model].text}"
    return str(surface.expr).replace("**", "^")


def settings_summary(result: RolloutResult) -> str:
    """One line: each hyperparameter's most common value with the exceptions, then the race's
    steps, noise, batch size, seed and start."""
    parts = []
    for key in hp_keys(result):
        values = {oid: result.settings[oid][key] for oid in result.names if key in result.settings[oid]}
        if not values:
            continue
        common = Counter(values.values()).most_common(1)[0][0]
        others = [f"{ALL_OPTIMIZERS[oid].name} {_number(v)}" for oid, v in values.items() if v != common]
        parts.append(f"{HP_SYMBOLS[key]} = {_number(common)}" + (f" ({', '.join(others)})" if others else ""))
    x0, y0 = result.start
    unit = "examples" if result.clock == "examples" else "steps"
    parts += [f"{result.steps} {unit}", f"σ = {_number(result.noise)}", f"B = {result.batch_size}",
              f"seed {result.seed}", f"start ({_number(x0)}, {_number(y0)})"]
    if (result.schedule or {}).get("kind", "constant") != "constant":
        parts.append(f"η schedule {_schedule_text(result)}")
    return " · ".join(parts)


def _settings_table(result: RolloutResult) -> dict:
    """The page's settings table: a column per hyperparameter some raced optimizer has, a row
    per optimizer (empty cells where it has none)."""
    keys = [k for k in hp_keys(result) if any(k in result.settings[oid] for oid in result.names)]
    rows = [
        {
            "name": ALL_OPTIMIZERS[oid].name,
            "color": OPTIMIZER_COLORS[oid],
            "cells": [_number(result.settings[oid][k]) if k in result.settings[oid] else "" for k in keys],
        }
        for oid in result.names
    ]
    return {"symbols": [HP_SYMBOLS[k] for k in keys], "rows": rows}


def race_html(result: RolloutResult, surface: Surface, view: str = "grid", title: str | None = None,
              exported_at: datetime | None = None) -> str:
    """One self-contained HTML page that replays the race offline (file://, no server, no
    network): plotly.js, assets/player.js and assets/style.css inlined (read at call time, so
    they never drift from the app), the surface and race payloads as inline JSON, the playback
    controls, a grid/overlay toggle, and a header with the formula, the settings and the date."""
    _check(result, surface)
    if view not in controls.EXPORT_VIEWS:
        raise ValueError(f"view must be one of {', '.join(controls.EXPORT_VIEWS)}, not {view!r}")
    from plotly.offline import get_plotlyjs  # a large string: only when an HTML file is made

    return _PAGES.get_template("race.html.j2").render(
        app=APP_NAME,
        version=app_version(),
        title=f"{APP_NAME}: {surface.name}" if title is None else str(title),
        exported=_utc(exported_at).strftime("%Y-%m-%d %H:%M"),
        view=view,
        surface={"name": surface.name, "expr": str(surface.expr), "formula": formula_text(surface),
                 "description": surface.description, "variables": "w, b" if is_data(surface) else "x, y",
                 "data": is_data(surface)},
        summary=settings_summary(result),
        table=_settings_table(result),
        style_css=_read(ASSETS, "style.css"),
        export_css=_read(TEMPLATES, "export.css"),
        surface_data=surface_payload(surface),
        race_data=race_payload(result, surface),
        plotly_js=get_plotlyjs(),
        player_js=_read(ASSETS, "player.js"),
        datapanel_js=_read(ASSETS, "datapanel.js") if is_data(surface) else "",
        bootstrap_js=_read(TEMPLATES, "bootstrap.js"),
    )
