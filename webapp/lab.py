"""The learning-rate lab, below the explorer: the learning-rate range test, the momentum map and
the sharpness along the paths against 2/ηₜ (the edge of stability). One panel at a time (the
`lab` control, in the link as `lab=`); each is computed by the server only while it is on
screen, like the explorer: assets/lab.js watches the section and, while it is in view, turns a
change of the panel or of any race control into a request for the chosen panel only (the
stores lab-<panel>-request). Each computation is cached per worker.

- **Range test** (optimizers/lr_range.py): the shown optimizers of the race on screen (its
  surface, start, hyperparameters other than η, noise, batch and seed), each in one run whose η
  grows from 1e-7 to 10 over 100 updates; f − f_min against η, the stop (✕) and the suggestion
  (●). "Race at the suggested η" writes each suggestion into the per-optimizer η inputs, like
  the explorer's Tune.
- **Momentum map** (optimizers/momentum_map.py): on a quadratic surface the measured rate of
  Momentum over 64 × 64 (η, γ) cells, Goh's optimum (α*, β*) and Momentum's (η, γ) in the race;
  a click on a cell sets the η and γ sliders. Elsewhere it says why there is no map.
- **Sharpness** (optimizers/sharpness.py): λmax of the Hessian along each shown path against
  2/η for each distinct η (2/ηₜ under a schedule). A path of many steps is drawn at SHARPNESS_ROWS
  evenly spaced rows at most (DATA_SHARPNESS_ROWS on a data surface, where each Hessian is a
  mean over every example), its last row and the row where it diverged always among them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html, no_update

from optimizers import ALL_OPTIMIZERS, OPTIMIZERS
from optimizers.engine import is_data
from optimizers.lr_range import lr_range_test
from optimizers.momentum_map import momentum_map
from optimizers.sharpness import sharpness_at, stability_limit

from .controls import DEFAULT_EXAMPLES, LAB, LAB_PANELS, RACE_CONTROLS, SLIDERS, UPLOAD, number, states
from .theme import OPTIMIZER_COLORS

RANGE = dict(low=1e-7, high=10.0, steps=100, stop_factor=4.0)  # the range test's defaults, written out
LOSS_FLOOR = 1e-16  # losses at the minimum are drawn here on the log axis
SHARPNESS_ROWS = 1000  # at most this many rows of a path are drawn in the sharpness panel
DATA_SHARPNESS_ROWS = 400  # on a data surface, whose Hessian is a mean over all the examples
OVERRIDE_LR = {"type": "override", "opt": ALL, "hp": "lr"}
FONT = {"family": "system-ui, sans-serif", "size": 14, "color": "#1f2630"}

RANGE_TEXT = (
    "Each optimizer makes one run of 100 updates whose η grows exponentially from 10⁻⁷ to 10, and stops (✕) "
    "at the first update whose loss is more than 4 times the lowest so far, or where it diverges; the "
    "suggestion (●) is the η at which the loss fell fastest against log η. It measures one moving run, not an "
    "η held constant: each update starts where the smaller η before it left off, so the steepest drop comes "
    "where η first makes real progress (GD on the bowl: 0.045, though η = 0.5 reaches the minimum in one "
    "step). The stop reads any climb as divergence: Momentum overshoots and comes back, and on the bowl the "
    "test stops it at η ≈ 0.012 though it converges up to 1.9; on a ravine the steep walls set the suggestion "
    "and leave the flat floor crawling. Read the suggestion as the order of magnitude at which a short run "
    "makes progress from this start; the explorer above races each η held constant."
)
MAP_TEXT = (
    "Each cell is Momentum raced 500 steps at that learning rate η and momentum γ (the bottom row, γ = 0, "
    "is plain GD); its colour is how much the distance to the minimum shrinks per step, late in the run "
    "(darker is faster). On a quadratic surface the fastest rate r* is reached at α* and β* (★), set by the "
    "smallest and largest curvature μ and L alone. Click a cell to race at its η and γ."
)
SHARPNESS_TEXT = (
    "The sharpness is λmax, the largest eigenvalue of the Hessian where the path is. Plain GD with learning "
    "rate η is stable near a minimum only while λmax < 2/η (each step multiplies the error along the "
    "sharpest direction by 1 − ηλmax). Above the dashed line it cannot settle: its zig-zag grows until it "
    "is thrown where the surface is flatter, so it hovers where the sharpness is about 2/η; the lesson "
    "\"The edge of stability\" shows it. The line is GD's limit; Momentum with γ is stable up to "
    "2(1 + γ)/η, and the adaptive optimizers rescale their steps, so for them it is a reference only."
)


def lab_section() -> html.Section:
    def status(panel):
        return html.Span(id=f"lab-{panel}-status", className="lab-status", role="status")

    def graph(panel):
        # an empty plot, no axes, until the panel is first asked for (Plotly's default one has 12 px ticks)
        return dcc.Graph(id=f"lab-{panel}-graph", className="lab-graph", config={"displayModeBar": False},
                         figure={"data": [], "layout": {"height": 420, "xaxis": {"visible": False},
                                                        "yaxis": {"visible": False},
                                                        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}})

    panels = {
        "range": [
            html.Div(className="lab-head", children=[
                status("range"),
                html.Button("Race at the suggested η", id="btn-lab-suggested", className="text-button lab-action",
                            n_clicks=0, title="Race again with every shown optimizer at the η the range test suggests"),
            ]),
            html.P(id="lab-range-result", className="tune-result lab-result", role="status"),
            graph("range"),
            html.Div(id="lab-range-table", className="lab-table"),
            html.P(RANGE_TEXT, className="hint lab-text"),
            dcc.Store(id="lab-suggested"),
        ],
        "map": [
            html.Div(className="lab-head", children=[status("map")]),
            html.P(id="lab-map-caption", className="lab-caption"),
            html.Div(id="lab-map-plot", children=[graph("map"), html.P(MAP_TEXT, id="lab-map-text",
                                                                        className="hint lab-text")]),
        ],
        "sharpness": [
            html.Div(className="lab-head", children=[status("sharpness")]),
            graph("sharpness"),
            html.P(id="lab-sharpness-notes", className="lab-caption"),
            html.P(SHARPNESS_TEXT, className="hint lab-text"),
        ],
    }
    return html.Section(
        className="lab", id="lab", **{"aria-labelledby": "lab-title"},
        # a fieldset, so that teacher mode's lock (controls.PARTS) disables its tabs and buttons at once
        children=html.Fieldset(id="lab-fields", className="part-fields lab-fields", children=[
            html.Div(className="lab-top", children=[
                html.H2("Learning-rate lab", id="lab-title"),
                html.Span("Lab panel", id="lab-label", className="visually-hidden"),
                dcc.RadioItems(id=LAB.component, className="lab-tabs view-toggle", inline=True, value=LAB.default,
                               options=[{"label": label, "value": v} for v, label in LAB_PANELS.items()]),
            ]),
            *[html.Div(id=f"lab-{v}", className="lab-panel", hidden=v != LAB.default, children=panels[v])
              for v in LAB_PANELS],
            dcc.Store(id="lab-visible", data=False),
            *[dcc.Store(id=f"lab-{v}-request") for v in LAB_PANELS],  # set by the browser only while on screen
        ]),
    )


# -- helpers --------------------------------------------------------------------------------------
def _fmt(v) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.3g}"


def _safe(values) -> list:
    """A JSON-safe list: NaN and ±inf become None (a gap in the line)."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


def _shown(state) -> list[str]:
    """The shown optimizers in race order: the nine not hidden, then the raced extras."""
    return [o for o in OPTIMIZERS if o not in state.hidden] + list(state.extras)


def _without_lr(key):
    """The race key without any learning rate (the range test sets η itself)."""
    settings = tuple((oid, tuple((k, v) for k, v in hp if k != "lr")) for oid, hp in key.settings)
    return key._replace(settings=settings)


def _layout(**extra) -> dict:
    base = {
        "margin": {"l": 64, "r": 20, "t": 64, "b": 52}, "height": 420, "hovermode": "closest",
        "dragmode": False, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#ffffff", "font": FONT,
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    }
    base.update(extra)
    return base


def _axis(title: str, standoff: int | None = None, **extra) -> dict:
    return {"title": {"text": title, **({"standoff": standoff} if standoff else {})}, "showline": True, "linecolor": "#c5ced8", "fixedrange": True,
            "automargin": True, **extra}


def _names(ids) -> str:
    names = [ALL_OPTIMIZERS[o].name for o in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# -- the range test -------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def range_test(key, shown: tuple[str, ...]):
    """The range test of the shown optimizers of a race (its key without η), cached per worker."""
    settings = {oid: dict(hp) for oid, hp in key.settings if oid in shown}
    return lr_range_test(key.surface, start=key.start, optimizers=list(shown), settings=settings, noise=key.noise,
                         batch_size=key.batch_size, seed=key.seed, **RANGE)


def suggestions(rt) -> dict[str, dict]:
    """Per optimizer: the η to race at (3 significant digits; None where the test gives none) and
    why. A run that never stopped and fell fastest at its very last update found no range: its
    "suggestion" is only the top of the range (AdaDelta, which sets its own step size)."""
    out = {}
    for i, oid in enumerate(rt.names):
        row = rt.row(oid)
        lr, t = row["suggested_lr"], int(rt.suggested_at[i])
        if lr is None:
            out[oid] = {"lr": None, "why": "the loss climbed from the first update: no η made progress"}
        elif row["stopped_at"] < 0 and t == rt.steps:
            out[oid] = {"lr": None, "why": f"never stopped, and its loss still fell fastest at the top of the range "
                                           f"(η = {_fmt(lr)}): the test found no range"}
        else:
            out[oid] = {"lr": float(f"{lr:.3g}"), "why": f"steepest drop at update {t}"}
    return out


def range_figure(rt, surface) -> dict:
    f_min = float(surface.f_min)
    lrs = rt.lrs.tolist()
    traces = []
    marks = suggestions(rt)
    for i, oid in enumerate(rt.names):
        name, color = ALL_OPTIMIZERS[oid].name, OPTIMIZER_COLORS[oid]
        gap = np.maximum(rt.losses[i] - f_min, LOSS_FLOOR)
        traces.append({"type": "scatter", "mode": "lines", "name": name, "legendgroup": oid, "x": lrs, "y": _safe(gap),
                       "line": {"color": color, "width": 2},
                       "hovertemplate": f"<b>{name}</b><br>η = %{{x:.3g}}<br>f − f_min = %{{y:.3g}}<extra></extra>"})
        row = rt.row(oid)
        if row["stopped_at"] > 0:
            t = row["stopped_at"]
            y = gap[t - 1] if math.isfinite(gap[t - 1]) else np.nanmax(np.where(np.isfinite(gap), gap, np.nan),
                                                                         initial=1.0)
            why = "diverged" if row["stop_reason"] == "diverged" else f"loss > {RANGE['stop_factor']:g} × best"
            traces.append({"type": "scatter", "mode": "markers", "name": f"{name} stop", "legendgroup": oid,
                           "showlegend": False, "x": [row["stop_lr"]], "y": [float(y)],
                           "marker": {"symbol": "x-thin", "size": 12, "line": {"width": 3, "color": color}},
                           "hovertemplate": f"<b>{name}</b> stopped at update {t}<br>η = %{{x:.3g}} ({why})<extra></extra>"})
        lr = marks[oid]["lr"]
        if lr is not None:
            t = int(rt.suggested_at[i])
            traces.append({"type": "scatter", "mode": "markers", "name": f"{name} suggested", "legendgroup": oid,
                           "showlegend": False, "x": [float(rt.lrs[t - 1])], "y": [float(gap[t - 1])],
                           "marker": {"symbol": "circle", "size": 11, "color": color,
                                      "line": {"color": "#ffffff", "width": 1.5}},
                           "hovertemplate": f"<b>{name}</b> suggested η = {_fmt(lr)}<br>(steepest drop, update {t})"
                                            "<extra></extra>"})
    return {"data": traces, "layout": _layout(
        meta={"panel": "range", "surface": rt.surface_id},
        xaxis=_axis("η, growing each update", type="log", dtick=1, exponentformat="power",
                    range=[math.log10(RANGE["low"]) - 0.1, math.log10(RANGE["high"]) + 0.1]),
        yaxis=_axis("f − f_min", type="log", exponentformat="power", standoff=10),
    )}


def range_table(rt, marks) -> html.Ul:
    items = []
    for oid in rt.names:
        row, mark = rt.row(oid), marks[oid]
        stop = ("never stopped" if row["stopped_at"] < 0 else
                f"stopped at η ≈ {_fmt(row['stop_lr'])} ({'diverged' if row['stop_reason'] == 'diverged' else 'loss > 4 × best'})")
        said = (f"suggested η = {_fmt(mark['lr'])}; {stop}" if mark["lr"] is not None
                else f"no suggestion: {mark['why']}" + ("" if row["stopped_at"] < 0 else f"; {stop}"))
        items.append(html.Li([html.Span(className="swatch", style={"background": OPTIMIZER_COLORS[oid]}),
                              html.B(ALL_OPTIMIZERS[oid].name), f": {said}."],
                             **{"data-opt": oid, "data-lr": "" if mark["lr"] is None else repr(mark["lr"])}))
    return html.Ul(items)


def on_range_request(request, visible, **raw):
    from .callbacks import _parse  # imported here: callbacks imports the layout, which imports this module

    state, _ = _parse({**raw, "visible": visible})
    if state is None:
        return dict(figure=no_update, table=html.P("The typed formula is not allowed: no range test."),
                    suggested=None)
    shown = _shown(state)
    if not shown:
        return dict(figure={"data": [], "layout": _layout()}, suggested=None,
                    table=html.P("No optimizer is shown: tick one under Per-optimizer settings."))
    key = _without_lr(state.race_key())
    rt = range_test(key, tuple(shown))
    marks = suggestions(rt)
    return dict(figure=range_figure(rt, key.surface), table=range_table(rt, marks),
                suggested={oid: m["lr"] for oid, m in marks.items()})


def on_race_suggested(clicks, suggested, current):
    """Each shown optimizer races at its own suggested η (the per-optimizer η inputs, as Tune does);
    one with no suggestion keeps the shared η; hidden optimizers keep what they had."""
    from .callbacks import _unchanged, _wildcard_ids

    if not clicks or not isinstance(suggested, dict):
        return _unchanged(result="Run the range test first: scroll to it, with the Range test tab chosen.")
    ids = _wildcard_ids("lr_inputs")
    current = current if isinstance(current, list) and len(current) == len(ids) else [None] * len(ids)
    values, tuned, untuned = [], {}, []
    for i, now in zip(ids, current):
        oid = i.get("opt") if isinstance(i, dict) else None
        if oid not in ALL_OPTIMIZERS or oid not in suggested:
            values.append(now)
            continue
        lr = number(suggested.get(oid))
        if lr is not None and lr > 0:
            values.append(lr)
            tuned[oid] = lr
        else:
            values.append(None)
            untuned.append(oid)
    if not tuned:
        return _unchanged(result="The range test suggests no η for any shown optimizer: nothing changed.")
    named = ", ".join(f"{ALL_OPTIMIZERS[o].name} {v:.3g}" for o, v in tuned.items())
    note = f" No suggestion for {_names(untuned)}: {'it keeps' if len(untuned) == 1 else 'they keep'} the shared η." \
        if untuned else ""
    return dict(lr_inputs=values, tuned=tuned, result=f"Racing at the suggested η: {named}.{note}")


# -- the momentum map -----------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _map(surface_key, start):
    from .state import surface_for

    return momentum_map(surface_for(*surface_key)[0], start=start)


def map_figure(mm, lr, gamma) -> dict:
    x = np.log10(mm.lrs)
    rate = np.asarray(mm.rate, dtype=float)
    converges = np.isfinite(rate) & (rate < 1)
    r_star = mm.optimal_rate
    z = np.where(converges, np.maximum(rate, r_star), np.nan).T  # (γ, η): rows are γ
    off = np.where(converges, np.nan, 1.0).T
    shown = np.where(np.isfinite(rate), rate, np.inf).T
    custom = [[[float(mm.lrs[i]), float(g), ("%.4f" % shown[j][i]) if shown[j][i] < 1 else "does not converge"]
               for i in range(len(x))] for j, g in enumerate(mm.gammas)]
    hover = "η = %{customdata[0]:.3g}, γ = %{customdata[1]:.3f}<br>rate %{customdata[2]}<extra></extra>"
    traces = [
        {"type": "heatmap", "x": x.tolist(), "y": mm.gammas.tolist(), "z": [_safe(r) for r in z],
         "zmin": r_star, "zmax": 1.0, "colorscale": "Viridis", "customdata": custom, "hovertemplate": hover,
         "colorbar": {"title": {"text": "rate per step", "side": "right"}, "thickness": 14, "len": 0.9},
         "name": "measured rate", "showscale": True},
        {"type": "heatmap", "x": x.tolist(), "y": mm.gammas.tolist(), "z": [_safe(r) for r in off],
         "zmin": 0, "zmax": 1, "colorscale": [[0, "#d4d4d4"], [1, "#d4d4d4"]], "showscale": False,
         "customdata": custom, "hovertemplate": hover, "name": "does not converge"},
        {"type": "scatter", "mode": "markers", "name": "(α*, β*) the optimum", "x": [math.log10(mm.optimum[0])],
         "y": [mm.optimum[1]], "marker": {"symbol": "star", "size": 16, "color": "#ffffff",
                                           "line": {"color": "#1f2630", "width": 1.5}},
         "hovertemplate": f"optimum α* = {mm.optimum[0]:.3g}, β* = {mm.optimum[1]:.3f}<br>r* = {r_star:.4f}"
                          "<extra></extra>"},
    ]
    if lr is not None and lr > 0 and gamma is not None:
        traces.append({"type": "scatter", "mode": "markers", "name": "Momentum in the race", "x": [math.log10(lr)],
                       "y": [gamma], "marker": {"symbol": "circle-open", "size": 15, "color": "#a01c2c",
                                                "line": {"width": 3, "color": "#a01c2c"}},
                       "hovertemplate": f"the race: η = {lr:.3g}, γ = {gamma:.3g}<extra></extra>"})
    decades = range(math.ceil(x[0]), math.floor(x[-1]) + 1)
    half = (x[1] - x[0]) / 2
    return {"data": traces, "layout": _layout(
        meta={"panel": "map", "surface": mm.surface_id}, height=460, clickmode="event",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis=_axis("learning rate η", range=[x[0] - half, x[-1] + half], tickvals=list(decades),
                    ticktext=[f"{10.0 ** d:g}" for d in decades]),
        yaxis=_axis("momentum γ", range=[-0.01, 1.0]),
    )}


def map_caption(mm, surface) -> str:
    mu, L = mm.eigenvalues
    alpha, beta = mm.optimum
    kappa = L / mu
    measured = mm.rate[mm.optimum_cell]
    gd = (kappa - 1) / (kappa + 1)
    return (f"{surface.name}: curvatures μ = {mu:.3g} and L = {L:.3g}, κ = L/μ = {kappa:.3g}. Goh's optimum: "
            f"α* = (2/(√μ + √L))² = {alpha:.3g}, β* = ((√κ − 1)/(√κ + 1))² = {beta:.3f}, rate r* = (√κ − 1)/(√κ + 1) = "
            f"{mm.optimal_rate:.4f} per step; plain GD's best, at η = 2/(μ + L), is (κ − 1)/(κ + 1) = {gd:.4f}. "
            f"The colours run from r* to 1. The optimum sits on the edge of the stable region: the cell nearest it "
            f"(η = {mm.lrs[mm.optimum_cell[0]]:.3g}, γ = {mm.gammas[mm.optimum_cell[1]]:.3f}) measures "
            + (f"{measured:.4f}." if measured < 1 else "no convergence, a little too far right."))


def on_map_request(request, **raw):
    from .callbacks import _parse

    state, _ = _parse(raw)
    if state is None:
        return dict(figure=no_update, caption="The typed formula is not allowed: no map.", plot=True)
    key = state.race_key()
    surface = key.surface
    if not surface.is_quadratic:
        kind = ("logistic regression's loss" if is_data(surface) else f"{surface.name}")
        return dict(figure=no_update, plot=True, caption=(
            f"No momentum map here: {kind} curves differently from place to place (its Hessian is not "
            "constant), so no single rate says how fast Momentum converges. The map needs a quadratic surface: "
            "the bowl, the ravine, a linear-regression data set (iris, sparse, your own linear data) or a "
            "typed quadratic formula."))
    try:
        mm = _map((key.surface_id, key.formula, key.examples if key.surface_id == UPLOAD else DEFAULT_EXAMPLES),
                  key.start)
    except ValueError as err:
        return dict(figure=no_update, plot=True, caption=f"No momentum map here: {err}.")
    own = dict(dict(key.settings).get("momentum", ()))
    return dict(figure=map_figure(mm, own.get("lr"), own.get("gamma")), caption=map_caption(mm, surface), plot=False)


def on_map_click(click, locked, ids):
    """A cell of the map: the η and γ sliders at its values; Momentum's own η, if it had one, is
    cleared so that it races at them (a teacher's lock on either slider is kept)."""
    from .callbacks import _unchanged

    point = click.get("points", [None])[0] if isinstance(click, dict) and isinstance(click.get("points"), list) else None
    point = point if isinstance(point, dict) else {}
    data = point.get("customdata")
    if isinstance(data, list) and len(data) >= 2:  # a cell: its (η, γ)
        lr, gamma = number(data[0]), number(data[1])
    else:  # a marker: the axes' values (x is log10 η)
        x, gamma = number(point.get("x")), number(point.get("y"))
        lr = 10.0 ** x if x is not None and abs(x) < 30 else None
    locked = locked if isinstance(locked, list) else []
    if lr is None or gamma is None or lr <= 0 or not 0 <= gamma < 1 or any(part in locked for part in ("lr", "gamma", "lab")):
        return _unchanged()
    ids = ids if isinstance(ids, list) else []
    return dict(lr=SLIDERS["lr"].position(lr), gamma=SLIDERS["gamma"].position(gamma),
                lr_inputs=[None if isinstance(i, dict) and i.get("opt") == "momentum" else no_update for i in ids])


# -- the sharpness --------------------------------------------------------------------------------
def sample_rows(rows: int, limit: int, keep=()) -> np.ndarray:
    """At most `limit` (plus `keep`) evenly spaced row indices of 0 … rows − 1, the first and
    last among them."""
    picked = np.unique(np.linspace(0, rows - 1, min(rows, limit)).round().astype(int))
    extra = [k for k in keep if 0 <= k < rows]
    return np.unique(np.concatenate([picked, np.asarray(extra, dtype=int)]))


def sharpness_figure(result, surface) -> tuple[dict, str]:
    n, rows = result.paths.shape[:2]
    limit = DATA_SHARPNESS_ROWS if is_data(surface) else SHARPNESS_ROWS
    diverged = [int(d) for d in result.diverged_at]
    idx = sample_rows(rows, limit, [d - 1 for d in diverged if d > 0])
    paths = np.asarray(result.paths, dtype=float)[:, idx]
    sharp = np.array(np.broadcast_to(sharpness_at(surface, paths[..., 0], paths[..., 1]), paths.shape[:2]), dtype=float)
    for i, d in enumerate(diverged):
        if d >= 0:
            sharp[i, idx >= d] = np.nan
    clock = "examples processed" if result.clock == "examples" else "step"
    traces, tops = [], []
    for i, oid in enumerate(result.names):
        name, color = ALL_OPTIMIZERS[oid].name, OPTIMIZER_COLORS[oid]
        y = np.where(sharp[i] > 0, sharp[i], np.nan)
        traces.append({"type": "scatter", "mode": "lines", "name": name, "legendgroup": oid, "x": idx.tolist(),
                       "y": _safe(y), "line": {"color": color, "width": 1.8},
                       "hovertemplate": f"<b>{name}</b><br>{clock} %{{x}}<br>λmax = %{{y:.4g}}<extra></extra>"})
        d = diverged[i]
        if d > 0:
            last = int(np.flatnonzero(idx == d - 1)[0]) if (idx == d - 1).any() else None
            yv = sharp[i, last] if last is not None else np.nan
            traces.append({"type": "scatter", "mode": "markers", "name": f"{name} diverged", "legendgroup": oid,
                           "showlegend": False, "x": [d - 1], "y": [float(yv) if math.isfinite(yv) and yv > 0 else None],
                           "marker": {"symbol": "x-thin", "size": 13, "line": {"width": 3, "color": color}},
                           "hovertemplate": f"<b>{name}</b> diverged at {clock} {d}<extra></extra>"})
        tops += [v for v in y if math.isfinite(v)]
    # 2/η for each distinct η (2/ηₜ under a schedule), with the optimizers that race at it
    groups: dict[tuple, list[str]] = {}
    for i, oid in enumerate(result.names):
        lrs = _lrs_by_row(result, i, oid)
        groups.setdefault(tuple(np.round(lrs[idx], 15)), []).append(oid)
    lines = []
    for lrs, oids in groups.items():
        limit_y = stability_limit(np.asarray(lrs))
        constant = np.allclose(limit_y, limit_y[0])
        label = ("2/η = " + _fmt(float(limit_y[0]))) if constant else "2/ηₜ"
        color = OPTIMIZER_COLORS[oids[0]] if len(oids) == 1 else "#1f2630"
        traces.append({"type": "scatter", "mode": "lines", "name": f"{label} ({_names(oids)})", "x": idx.tolist(),
                       "y": _safe(limit_y), "line": {"color": color, "width": 1.5, "dash": "dash"},
                       "hovertemplate": f"{label.split(' =')[0]} = %{{y:.4g}} ({_names(oids)})<extra></extra>"})
        lines.append((label, oids))
        tops += [float(v) for v in limit_y if math.isfinite(v) and v > 0]
    layout = _layout(meta={"panel": "sharpness", "surface": surface.id,
                           "limits": {",".join(o): float(stability_limit(np.asarray(l))[0]) for l, o in groups.items()}},
                     xaxis=_axis(clock, range=[0, rows - 1]),
                     yaxis=_axis("λmax of the Hessian", type="log", exponentformat="power", nticks=8))
    sampled = (f" Each path is drawn at {len(idx):,} of its {rows:,} rows, evenly spaced"
               + (" (on data the Hessian is a mean over every example)" if is_data(surface) else "") + "."
               if len(idx) < rows else "")
    bad = [ALL_OPTIMIZERS[o].name for i, o in enumerate(result.names) if np.any(sharp[i] <= 0)]
    flat = (f" Where λmax ≤ 0 (the surface curves down in every direction) the log axis draws nothing: "
            f"{', '.join(bad)}." if bad else "")
    gone = [f"{ALL_OPTIMIZERS[o].name} at {clock} {d}" for o, d in zip(result.names, diverged) if d > 0]
    notes = ("Dashed: " + "; ".join(f"{label} for {_names(oids)}" for label, oids in lines) + "."
             + (f" Diverged (✕): {', '.join(gone)}." if gone else "") + sampled + flat)
    return {"data": traces, "layout": layout}, notes


def _lrs_by_row(result, i: int, oid: str) -> np.ndarray:
    """The η that moved optimizer i to each row (row 0: its first update's η)."""
    if hasattr(result, "learning_rates"):
        per_step = np.asarray(result.learning_rates(oid), dtype=float)
    else:
        per_step = np.full(result.steps, float(result.settings[oid].get("lr", np.nan)))
    rows = result.paths.shape[1]
    taken = getattr(result, "steps_taken", None)
    if result.clock == "examples" and taken is not None:
        step = np.asarray(taken[i], dtype=int)
    else:
        step = np.arange(rows)
    return per_step[np.clip(step - 1, 0, len(per_step) - 1)]


def on_sharpness_request(request, visible, **raw):
    from .callbacks import _parse
    from .race import race_result

    state, _ = _parse({**raw, "visible": visible})
    if state is None:
        return dict(figure=no_update, notes="The typed formula is not allowed: nothing to show.")
    shown = _shown(state)
    if not shown:
        return dict(figure={"data": [], "layout": _layout()}, notes="No optimizer is shown.")
    result = race_result(state).only(shown)
    figure, notes = sharpness_figure(result, state.surface_model)
    return dict(figure=figure, notes=notes)


# -- wiring ---------------------------------------------------------------------------------------
def register_lab_callbacks(app) -> None:
    from .callbacks import guarded

    app.clientside_callback(
        ClientsideFunction("lab", "tabs"),
        *[Output(f"lab-{v}", "hidden") for v in LAB_PANELS],
        Input(LAB.component, "value"),
    )
    # A request for the chosen panel only, and only while the lab is on screen (lab.js sets
    # lab-visible): any race control or the shown optimizers changing makes a new one.
    app.clientside_callback(
        ClientsideFunction("lab", "request"),
        *[Output(f"lab-{v}-request", "data") for v in LAB_PANELS],
        Input("lab-visible", "data"),
        Input(LAB.component, "value"),
        Input("visible", "value"),
        *[c.as_input() for c in RACE_CONTROLS],
    )
    race_states = states(RACE_CONTROLS)
    app.callback(
        output=dict(figure=Output("lab-range-graph", "figure"), table=Output("lab-range-table", "children"),
                    suggested=Output("lab-suggested", "data")),
        inputs=dict(request=Input("lab-range-request", "data")),
        state=dict(visible=State("visible", "value"), **race_states),
        running=[(Output("lab-range-status", "children"), "Running the range test…", "")],
        prevent_initial_call=True,
    )(guarded("table")(on_range_request))
    app.callback(
        output=dict(lr_inputs=Output(OVERRIDE_LR, "value", allow_duplicate=True),
                    result=Output("lab-range-result", "children"),
                    tuned=Output("tuned", "data", allow_duplicate=True)),
        inputs=dict(clicks=Input("btn-lab-suggested", "n_clicks")),
        state=dict(suggested=State("lab-suggested", "data"), current=State(OVERRIDE_LR, "value")),
        prevent_initial_call=True,
    )(guarded("result")(on_race_suggested))
    app.callback(
        output=dict(figure=Output("lab-map-graph", "figure"), caption=Output("lab-map-caption", "children"),
                    plot=Output("lab-map-plot", "hidden")),
        inputs=dict(request=Input("lab-map-request", "data")),
        state=dict(states(RACE_CONTROLS)),
        running=[(Output("lab-map-status", "children"), "Measuring 4,096 Momentum runs…", "")],
        prevent_initial_call=True,
    )(guarded("caption")(on_map_request))
    app.callback(
        output=dict(lr=Output(SLIDERS["lr"].component, "value", allow_duplicate=True),
                    gamma=Output(SLIDERS["gamma"].component, "value", allow_duplicate=True),
                    lr_inputs=Output(OVERRIDE_LR, "value", allow_duplicate=True)),
        inputs=dict(click=Input("lab-map-graph", "clickData")),
        state=dict(locked=State("locked-parts", "value"), ids=State(OVERRIDE_LR, "id")),
        prevent_initial_call=True,
    )(guarded()(on_map_click))
    app.callback(
        output=dict(figure=Output("lab-sharpness-graph", "figure"), notes=Output("lab-sharpness-notes", "children")),
        inputs=dict(request=Input("lab-sharpness-request", "data")),
        state=dict(visible=State("visible", "value"), **states(RACE_CONTROLS)),
        running=[(Output("lab-sharpness-status", "children"), "Computing the sharpness along the paths…", "")],
        prevent_initial_call=True,
    )(guarded("notes")(on_sharpness_request))
