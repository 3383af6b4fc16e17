"""Exports of a race: CSV and JSON (everything needed to reproduce it) and one self-contained HTML
file that replays it offline. Pure functions of a `RolloutResult` and its `Surface`, plus a
command line:

    python -m webapp.export --surface rosenbrock --lr 0.001 --steps 500 -o race.html
    python -m webapp.export --surface ravine --set adam.lr=0.05 --format json -o race.json
    python -m webapp.export --surface rosenbrock --hide sgd,minibatch_sgd -o race.csv

`race_csv`  one row per optimizer per step, full float precision, `#` comment lines on top.
`race_json` the documented schema below; `rollout_from_json` re-runs the race from such a file
            (bit for bit on the same library, NumPy and SymPy).
`race_html` plotly.js, assets/player.js, assets/style.css and the race inlined in one file that
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

import argparse
import csv
import html
import io
import json
import platform
import re
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sympy as sp

import webapp as _package
from optimizers import ALL_OPTIMIZERS, HYPERPARAMETERS, MAX_STEPS, OPTIMIZERS, RolloutResult, rollout
from surfaces import SURFACES, Surface, get_surface, surface_from_formula

from .payload import race_payload, surface_payload
from .race import race_settings
from .theme import OPTIMIZER_COLORS

APP_NAME = "Optimizer Race"
FORMAT = "optimizer-race/1"
CSV_FORMAT = "optimizer-race-csv/1"
HP_KEYS = ("lr", "gamma", "rho", "beta1", "beta2", "eps")  # the CSV's hyperparameter columns
CSV_COLUMNS = ("optimizer_id", "optimizer_name", "step", "x", "y", "loss", *HP_KEYS,
               "diverged_at", "arrived_at", "settled_at")
VIEWS = ("grid", "overlay")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
EXTRA_HP_KEYS = ("weight_decay", "momentum_decay")  # columns only when a raced extra has them (AdamW, NAdam)
HP_SYMBOLS = {"lr": "η", "gamma": "γ", "rho": "ρ", "beta1": "β₁", "beta2": "β₂", "eps": "ε",
              "weight_decay": "λ", "momentum_decay": "ψ"}
SPEEDS = (25, 50, 100, 200, 400, 1000)  # steps per second, as the app's speed menu
DEFAULT_SPEED = 100


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
        f"formula: f(x, y) = {surface.expr}",
        f"start: {float(result.start[0])!r}, {float(result.start[1])!r}",
        f"steps: {result.steps}",
        f"noise: {float(result.noise)!r}",
        f"batch_size: {result.batch_size}",
        f"seed: {result.seed}",
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
        },
        "start": [float(result.start[0]), float(result.start[1])],
        "steps": int(result.steps),
        "noise": float(result.noise),
        "batch_size": int(result.batch_size),
        "seed": int(result.seed),
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


def race_json(result: RolloutResult, surface: Surface, exported_at: datetime | None = None,
              indent: int | None = None) -> str:
    """The race as strict JSON (no NaN or Infinity) in the module docstring's schema."""
    return json.dumps(race_record(result, surface, exported_at), indent=indent, allow_nan=False,
                      ensure_ascii=False)


_REQUIRED = ("surface", "start", "steps", "noise", "batch_size", "seed", "settings", "optimizers")


def surface_from_record(record: dict) -> Surface:
    """The surface a race file ran on: the built-in one with that id (whose formula must still
    be the file's), or else a custom surface rebuilt from the formula and domain."""
    try:
        sid, formula = record["id"], record["formula"]
    except (TypeError, KeyError):
        raise ValueError("the file's surface needs an id and a formula") from None
    if not isinstance(formula, str):
        raise ValueError(f"the surface formula must be text, not {formula!r}")
    if sid in SURFACES:
        surface = get_surface(sid)
        if str(surface.expr) != formula:
            raise ValueError(
                f"this race ran on a different {surface.name} surface (f = {formula}) than this "
                f"version of the app has (f = {surface.expr}); it cannot be reproduced exactly"
            )
        return surface
    # SymPy prints Euler's number as E; the formula parser calls it e (x and y are the only symbols)
    return surface_from_formula(re.sub(r"\bE\b", "e", formula), record.get("domain"))


def rollout_from_json(text: str | bytes) -> RolloutResult:
    """Re-run the race of a `race_json` file with this library and return the RolloutResult.
    On the same library, NumPy and SymPy the paths and losses are equal bit for bit to the
    file's. ValueError with a plain message for anything that is not such a file."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"not a race JSON file: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"not a race JSON file: expected format {FORMAT!r}, found {found!r}")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"the race file lacks {', '.join(missing)}")
    optimizers = data["optimizers"]
    if not isinstance(optimizers, list) or not all(isinstance(o, dict) and "id" in o for o in optimizers):
        raise ValueError("the race file's optimizers must be a list of records with an id")
    return rollout(
        surface_from_record(data["surface"]),
        start=data["start"],
        steps=data["steps"],
        settings=data["settings"],
        optimizers=[o["id"] for o in optimizers],
        noise=data["noise"],
        batch_size=data["batch_size"],
        seed=data["seed"],
    )


# -- HTML ----------------------------------------------------------------------------------------
def _read_asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


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


def _number(v: float) -> str:
    """0.001 as 0.001, 1e-08 as 1e-8, 1.0 as 1: short, for people."""
    text = f"{float(v):.6g}"
    mantissa, sep, exponent = text.partition("e")
    return mantissa + (f"e{int(exponent)}" if sep else "")


def formula_text(surface: Surface) -> str:
    """The formula as plain text: SymPy's str(expr) with ^ for powers."""
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
    parts += [f"{result.steps} steps", f"σ = {_number(result.noise)}", f"B = {result.batch_size}",
              f"seed {result.seed}", f"start ({_number(x0)}, {_number(y0)})"]
    return " · ".join(parts)


def _settings_table(result: RolloutResult) -> str:
    keys = [k for k in hp_keys(result) if any(k in result.settings[oid] for oid in result.names)]
    head = "".join(f"<th>{HP_SYMBOLS[k]}</th>" for k in keys)
    rows = []
    for oid in result.names:
        hp = result.settings[oid]
        cells = "".join(f"<td>{_number(hp[k]) if k in hp else ''}</td>" for k in keys)
        rows.append(
            f'<tr><td><span class="swatch" style="background:{OPTIMIZER_COLORS[oid]}"></span>'
            f"{html.escape(ALL_OPTIMIZERS[oid].name)}</td>{cells}</tr>"
        )
    return f"<table><thead><tr><th>Optimizer</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# Layout of the exported page (on top of assets/style.css): header, map with playback, side panel.
_EXPORT_CSS = """
html, body { height: 100%; }
.export-app { display: grid; height: 100vh; min-height: 480px;
  grid-template-columns: minmax(0, 1fr) var(--side); grid-template-rows: auto minmax(0, 1fr);
  grid-template-areas: "top top" "stage side"; }
.export-app .topbar { padding: 6px 16px; min-height: var(--topbar); }
.export-app .surface-formula { font-size: 14px; line-height: 1.3; max-height: none; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.export-app .surface-formula b { font-weight: 600; }
.export-app .surface-info p { margin: 0; line-height: 1.35; }
.export-app .surface-description { font-size: 12px; }
.export-app .settings-summary { white-space: normal; }  /* all of it, on slides too */
.export-app .exported { color: var(--muted); font-size: 11.5px; }
.export-app .race-map { cursor: default; }
.export-app #loss-chart { position: relative; }
.export-app { --side: clamp(360px, 26vw, 460px); }  /* no controls column: room for the whole board */
.export-app .side { min-width: 0; }
.export-app .leaderboard { overflow-x: auto; flex: none; }
.export-settings { flex: none; font-size: 12px; margin-top: 6px; }
.export-settings summary { cursor: pointer; font-weight: 600; color: var(--muted); }
.export-settings table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; margin-top: 4px; }
.export-settings th, .export-settings td { text-align: left; padding: 1px 4px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
.export-settings th { color: var(--muted); font-weight: 600; }
"""

# Starts the race once plotly.js and the player are in: the two figures, then the player (which
# autoplays); the view toggle re-plots the map and shows the same race in the other view.
_BOOTSTRAP = """
(function () {
  "use strict";
  var P = window.OptimizerRacePlayer;
  var surface = JSON.parse(document.getElementById("surface-data").textContent);
  var race = JSON.parse(document.getElementById("race-data").textContent);
  var view = document.body.getAttribute("data-view") === "overlay" ? "overlay" : "grid";
  // the grid has a panel per optimizer in the file, shaped to the window (2 × 2 for four)
  var meta = { ids: race.ids.slice(), names: race.names.slice(), colors: race.colors.slice() };
  var config = { displayModeBar: false, responsive: true, doubleClick: false };
  var loss = P.lossFigure(P.decoded(race), race.ids);
  var map = P.mapFigure(surface, view, meta, race.ids);
  Promise.all([
    Plotly.newPlot("race-map", map.data, map.layout, config),
    Plotly.newPlot("loss-chart", loss.data, loss.layout, config),
  ]).then(function () {
    P.load(race, surface, view, race.ids);
  });
  // Plotly's responsive mode follows the window only; the charts also change size when the
  // leaderboard fills in, so follow each chart's own box (at most one resize per frame).
  if (window.ResizeObserver) {
    ["race-map", "loss-chart"].forEach(function (id) {
      var gd = document.getElementById(id);
      var pending = false;
      new ResizeObserver(function () {
        if (pending) return;
        pending = true;
        requestAnimationFrame(function () {
          pending = false;
          if (gd._fullLayout) Plotly.Plots.resize(gd);
        });
      }).observe(gd);
    });
  }
  document.querySelectorAll('input[name="view"]').forEach(function (input) {
    input.checked = input.value === view;
    input.addEventListener("change", function () {
      if (!input.checked || input.value === view) return;
      view = input.value;
      var fig = P.mapFigure(surface, view, meta, race.ids);
      Plotly.react("race-map", fig.data, fig.layout, config).then(function () {
        P.load(race, surface, view, race.ids);
      });
    });
  });
})();
"""

# Nothing may be fetched: scripts and styles are inline, images only data:/blob: (the button
# icons are data: SVG masks), no connections at all.
_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; connect-src 'none'; worker-src blob:")


def race_html(result: RolloutResult, surface: Surface, view: str = "grid", title: str | None = None,
              exported_at: datetime | None = None) -> str:
    """One self-contained HTML page that replays the race offline (file://, no server, no
    network): plotly.js, assets/player.js and assets/style.css inlined (read at call time, so
    they never drift from the app), the surface and race payloads as inline JSON, the playback
    controls, a grid/overlay toggle, and a header with the formula, the settings and the date."""
    _check(result, surface)
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
    from plotly.offline import get_plotlyjs  # a large string: only when an HTML file is made

    when = _utc(exported_at)
    title = f"{APP_NAME}: {surface.name}" if title is None else str(title)
    e = html.escape
    speeds = "".join(
        f'<option value="{v}"{" selected" if v == DEFAULT_SPEED else ""}>{v} steps/s</option>' for v in SPEEDS
    )
    toggles = "".join(
        f'<label><input type="radio" name="view" value="{v}"{" checked" if v == view else ""}>{label}</label>'
        for v, label in (("grid", "Side by side"), ("overlay", "Overlay"))
    )

    def button(id_, label):  # icons are CSS masks from style.css (#btn-play etc.): no text
        return f'<button id="{id_}" class="play-button" type="button" title="{e(label)}" aria-label="{e(label)}"></button>'

    body = f"""<div class="export-app">
<header class="topbar">
<h1>{APP_NAME}</h1>
<div class="surface-info">
<p class="surface-formula" title="{e(str(surface.expr))}"><b>{e(surface.name)}</b>: f(x, y) = {e(formula_text(surface))}</p>
<p class="surface-description">{e(surface.description)}</p>
<p class="surface-description settings-summary" title="{e(settings_summary(result))}">{e(settings_summary(result))}</p>
<p class="exported">Exported from {APP_NAME} on {when.strftime("%Y-%m-%d %H:%M")} UTC (version {e(app_version())})</p>
</div>
<div class="view-toggle" role="radiogroup" aria-label="View">{toggles}</div>
</header>
<main class="stage">
<div class="map-host"><div id="race-map" class="race-map"></div></div>
<div class="playback">
{button("btn-restart", "Restart (Home)")}
{button("btn-back", "Step back (←, Shift+← for 10)")}
{button("btn-play", "Play / pause (Space)")}
{button("btn-forward", "Step forward (→, Shift+→ for 10)")}
<div id="scrubber-host" class="scrubber-host"></div>
<span id="step-label" class="step-label">step 0</span>
<select id="speed" class="speed" title="Animation speed">{speeds}</select>
</div>
</main>
<section class="side">
<h2>Leaderboard</h2>
<div id="leaderboard" class="leaderboard"></div>
<p id="race-note" class="race-note" role="note"></p>
<div id="loss-chart" class="loss-chart"></div>
<details class="export-settings"><summary>Settings per optimizer</summary>{_settings_table(result)}</details>
</section>
</div>
<noscript><p>This race replays with JavaScript; please enable it.</p></noscript>"""

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{APP_NAME} {e(app_version())}">
<title>{e(title)}</title>
<style>
{_inline_css(_read_asset("style.css"))}
{_EXPORT_CSS}
</style>
</head>
<body data-view="{view}">
{body}
<script type="application/json" id="surface-data">{_inline_json(surface_payload(surface))}</script>
<script type="application/json" id="race-data">{_inline_json(race_payload(result, surface))}</script>
<script>{_inline_js(get_plotlyjs())}</script>
<script>{_inline_js(_read_asset("player.js"))}</script>
<script>{_inline_js(_BOOTSTRAP)}</script>
</body>
</html>
"""


# -- command line --------------------------------------------------------------------------------
FORMATS = {"html": race_html, "csv": race_csv, "json": race_json}


def _override(text: str) -> tuple[str, str, float]:
    """`adam.lr=0.05` → ("adam", "lr", 0.05)."""
    target, sep, value = text.partition("=")
    oid, dot, key = target.strip().partition(".")
    if not (sep and dot and oid and key):
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form OPTIMIZER.HYPERPARAMETER=VALUE (e.g. adam.lr=0.05)")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    return oid, key.strip(), number


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m webapp.export",
        description="Run a race of the nine optimizers and export it as a self-contained HTML "
        "replay (works offline), CSV or JSON. Shared hyperparameters apply to every optimizer "
        "that has them, as the app's sliders do (AdaDelta keeps its own η = 1 and ε = 1e-6); "
        "--set overrides one optimizer.",
        epilog="example: python -m webapp.export --surface rosenbrock --lr 0.001 --steps 500 "
        "--set adam.lr=0.05 -o race.html",
    )
    p.add_argument("--surface", default="rosenbrock", choices=list(SURFACES), metavar="ID",
                   help=f"surface: {', '.join(SURFACES)} (default rosenbrock)")
    p.add_argument("--lr", type=float, help="shared learning rate η (default: the surface's)")
    for key in ("gamma", "rho", "beta1", "beta2", "eps"):
        default = next(o.defaults[key] for o in OPTIMIZERS.values() if key in o.defaults)
        p.add_argument(f"--{key}", type=float,
                       help=f"shared {HP_SYMBOLS[key]}, {HYPERPARAMETERS[key].label} (default {default:g})")
    p.add_argument("--set", dest="overrides", metavar="OPT.HP=VALUE", type=_override, action="append",
                   default=[], help="override one optimizer's hyperparameter, e.g. adam.lr=0.05 (repeatable)")
    p.add_argument("--steps", type=int, default=500, help="number of steps (default 500)")
    p.add_argument("--noise", type=float, default=0.0, help="gradient noise σ (default 0)")
    p.add_argument("--batch-size", type=int, default=16, help="mini-batch size B (default 16)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--hide", metavar="ID[,ID...]", action="append", default=[],
                   help="leave optimizers out of the file, as the app's checklist hides them "
                   f"(comma-separated, repeatable): {', '.join(OPTIMIZERS)}")
    p.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"), help="start point (default: the surface's)")
    p.add_argument("--view", choices=VIEWS, default="grid", help="HTML view to open in (default grid)")
    p.add_argument("--title", help="HTML page title")
    p.add_argument("--format", choices=list(FORMATS), help="html, csv or json (default: from the -o extension, else html)")
    p.add_argument("-o", "--output", help="file to write; - for standard output "
                   "(default optimizer-race-SURFACE.FORMAT)")
    return p


def _format_of(args) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output and args.output != "-" else ""
    return {"htm": "html", "html": "html", "csv": "csv", "json": "json"}.get(suffix, "html")


def export(args) -> tuple[str, str]:
    """(text, format) of the race the parsed arguments describe; ValueError for bad values."""
    surface = get_surface(args.surface)
    shared = {"lr": surface.lr if args.lr is None else args.lr}
    shared.update({k: getattr(args, k) for k in HP_KEYS[1:] if getattr(args, k) is not None})
    overrides: dict[str, dict[str, float]] = {}
    for oid, key, value in args.overrides:
        if oid not in OPTIMIZERS:
            raise ValueError(f"--set names an unknown optimizer {oid!r}; choose from: {', '.join(OPTIMIZERS)}")
        overrides.setdefault(oid, {})[key] = value
    if not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"--steps must be between 1 and {MAX_STEPS}, not {args.steps}")
    start = surface.start if args.start is None else tuple(args.start)
    (x0, x1), (y0, y1) = surface.domain
    if not (x0 <= start[0] <= x1 and y0 <= start[1] <= y1):
        raise ValueError(f"--start {start[0]:g} {start[1]:g} is outside the map of {surface.name}: "
                         f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]")
    hidden = [oid.strip() for item in args.hide for oid in item.split(",") if oid.strip()]
    unknown = [oid for oid in hidden if oid not in OPTIMIZERS]
    if unknown:
        raise ValueError(f"--hide names an unknown optimizer {unknown[0]!r}; choose from: {', '.join(OPTIMIZERS)}")
    shown = [oid for oid in OPTIMIZERS if oid not in hidden]
    if not shown:
        raise ValueError("--hide leaves no optimizer to race")
    # the race of the shown ones alone is the full race without the hidden rows (RolloutResult.only)
    result = rollout(surface, start=start, steps=args.steps, settings=race_settings(shared, overrides),
                     optimizers=shown, noise=args.noise, batch_size=args.batch_size, seed=args.seed)
    fmt = _format_of(args)
    if fmt == "html":
        return race_html(result, surface, view=args.view, title=args.title), fmt
    return FORMATS[fmt](result, surface), fmt


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # bad arguments: usage and exit code 2
    try:
        text, fmt = export(args)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    output = args.output or f"optimizer-race-{args.surface}.{fmt}"
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as err:
        parser.exit(1, f"{parser.prog}: error: cannot write {output}: {err.strerror or err}\n")
    size = len(text.encode("utf-8"))
    print(f"wrote {output} ({size / 1e6:.2f} MB, {fmt})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
