"""Thin callbacks: check the inputs, call the pure core, return data. Figures of the race and
its animation are built in the browser from that data (assets/player.js, assets/race.js).

The controls and the link: `on_apply` sets the controls from a link (on load and on the back
button), a lesson or a new surface. The race callback returns, with each race, the link that
reproduces it, and `on_link` does the same for the controls that are not the race's (lesson,
shown optimizers, view); the browser glue pushes it (dcc.Location only reads the address, so
the paused animation step can live in the link as well). A slider change is therefore one
request, and races at once.
"""

from __future__ import annotations

import logging
from functools import wraps

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, html, no_update

from optimizers import ALL_OPTIMIZERS, EXTRAS, OPTIMIZERS
from optimizers.live import live_numbers

from . import state as link
from . import validation
from .controls import SLIDERS
from .explorer import best_learning_rates, explorer_figure, explorer_notes
from .export import race_csv, race_html, race_json
from .layout import lesson_panel
from .payload import race_payload, surface_payload
from .race import (CUSTOM, DEFAULT_FORMULA, DEFAULT_SURFACE, lr_sweep, race_result, race_spec, race_with_states,
                   surface_for)
from .scenarios import SCENARIOS

log = logging.getLogger(__name__)
OVERRIDE = {"type": "override", "opt": ALL, "hp": ALL}
OVERRIDE_LR = {"type": "override", "opt": ALL, "hp": "lr"}
# The inputs that determine a race, in the order race_spec takes them.
RACE_INPUTS = [
    Input("surface", "value"),
    Input("formula", "value"),
    Input("start-point", "data"),
    *[Input(f"slider-{sid}", "value") for sid in SLIDERS],
    Input(OVERRIDE, "value"),
    Input("btn-reseed", "n_clicks"),
    Input("extras", "value"),  # the opt-in extras raced besides the nine
    State(OVERRIDE, "id"),
]
# The same, as State: for callbacks that read the race's controls without being set off by them.
RACE_STATES = [State(i.component_id, i.component_property) for i in RACE_INPUTS]


def _messages(problems: list[str]):
    return [html.P(p) for p in problems[:6]]


def _spec(problems, surface_id, formula, start, *rest):
    """race_spec from the RACE_INPUTS values (ValueError for a custom formula not allowed)."""
    *positions, override_values, seed, extras, override_ids = rest
    return race_spec(surface_id, formula, start, positions, override_ids, override_values, seed, problems, extras)


def _unchanged() -> list:
    """`no_update` for every output of the running callback (a list for a wildcard output, as
    long as the outputs the client asked for)."""
    return [[no_update] * len(o) if isinstance(o, list) else no_update for o in ctx.outputs_list]


def _wildcard_ids(index: int) -> list[dict]:
    """The ids of the running callback's wildcard output `index`, as the client sent them."""
    outputs = ctx.outputs_list[index] if ctx.outputs_list else []
    return [o.get("id") if isinstance(o, dict) else None for o in outputs]


def guarded(fn):
    """Never let a callback fail a classroom: unexpected errors are logged and answered with no
    change and a message in the last output."""

    @wraps(fn)
    def run(*args):
        try:
            return fn(*args)
        except Exception:
            log.exception("callback %s failed", fn.__name__)
            outputs = _unchanged()
            outputs[-1] = "Something went wrong here; the previous state stays."
            return outputs

    return run


# -- callbacks ----------------------------------------------------------------------------------
@guarded
def on_surface(surface_id, formula):
    """The map data, formula and description of the chosen surface. A typed formula that is not
    allowed is explained next to its box, and the previous surface and race stay."""
    box = {"display": "flex"} if surface_id == CUSTOM else {"display": "none"}
    try:
        surface, _ = surface_for(surface_id, formula, validation.Problems())
    except ValueError as err:
        return no_update, no_update, no_update, box, str(err)
    payload = surface_payload(surface)
    return payload, f"$$f(x, y) = {surface.latex}$$", surface.description, box, ""


@guarded
def on_race_inputs(*values):
    """Any control of the race changed: run the race (or take it from this worker's cache), and
    make the link that reproduces it (in the same request: one round trip per slider change).
    A formula that is not allowed changes nothing here: on_surface explains it and the old race
    stays."""
    *race_values, scenario, visible, view = values
    problems = validation.Problems()
    try:
        spec = _spec(problems, *race_values)
    except ValueError:
        return no_update, no_update, no_update
    *positions, override_values, _seed, _extras, override_ids = race_values[3:]
    state = _state_of(spec, scenario, positions, override_ids, override_values, visible, view, validation.Problems())
    return race_payload(race_result(spec), spec.surface), _messages(problems), link.encode(state)


def _text(item, key: str) -> str | None:
    """item[key] when item is a dict and that is a string (ids come from the client)."""
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _scenario_id(value) -> str | None:
    return value if isinstance(value, str) and value in SCENARIOS else None


def _controls_from(state: link.RaceState) -> list:
    """Output values that put the controls (all outputs of on_apply but the last) in `state`:
    the controls, Tune's record (cleared: the state's overrides are the user's now) and the
    lesson panel."""
    positions = state.positions()
    overrides = [
        state.overrides.get(_text(i, "opt"), {}).get(_text(i, "hp"))
        for i in _wildcard_ids(13)
    ]
    visible = [o for o in OPTIMIZERS if o not in state.hidden]
    start = list(state.start or surface_for(state.surface, state.formula, [])[0].start)
    scenario = SCENARIOS.get(state.scenario)
    return [
        state.surface, state.formula or DEFAULT_FORMULA, state.scenario if scenario else None, start,
        *[positions[sid] for sid in SLIDERS], overrides, visible, state.view, state.seed, list(state.extras), None,
        lesson_panel(scenario) if scenario else "",
    ]


def _state_from_controls(surface_id, formula, scenario, start, positions, override_ids, override_values,
                         visible, view, seed, extras, problems) -> link.RaceState:
    spec = race_spec(surface_id, formula, start, positions, override_ids, override_values, seed, problems, extras)
    return _state_of(spec, scenario, positions, override_ids, override_values, visible, view, problems)


def _state_of(spec, scenario, positions, override_ids, override_values, visible, view, problems) -> link.RaceState:
    """The link's state of the race `spec` with the controls that are not the race's (the
    overrides of extras that are not raced are left out: they do not change the race)."""
    values = {sid: validation.slider_value(sid, p, problems) for sid, p in zip(SLIDERS, positions)}
    overrides = validation.overrides(validation.override_entries(override_ids, override_values), problems)
    overrides = {oid: hp for oid, hp in overrides.items() if oid in spec.ids}
    visible = visible if isinstance(visible, list) else list(OPTIMIZERS)
    hidden = tuple(o for o in OPTIMIZERS if o not in visible)
    return link.RaceState(
        spec.surface_id, spec.start, values, overrides, hidden,
        view if view in link.VIEWS else "grid", _scenario_id(scenario), spec.seed, spec.formula, spec.extras,
    )


@guarded
def on_apply(search, scenario, surface_id, formula, start, *rest):
    """A link (on load or the back button), a lesson or a new surface sets the controls."""
    *positions, override_values, visible, view, seed, extras, override_ids = rest
    problems = validation.Problems()
    trigger = ctx.triggered_id
    if trigger in (None, "url"):
        state = link.decode(search, DEFAULT_SURFACE, problems, {k: s.state for k, s in SCENARIOS.items()})
        try:
            return [*_controls_from(state), _messages(problems)]
        except ValueError as err:  # the link's formula is not allowed
            problems.append(f"The link's formula was not used: {err}")
            return [*_controls_from(link.RaceState(DEFAULT_SURFACE)), _messages(problems)]
    if trigger == "scenario":
        if _scenario_id(scenario) is None:  # cleared: the race stays, the lesson text goes
            unchanged = _unchanged()
            unchanged[-2] = ""
            return unchanged
        return [*_controls_from(SCENARIOS[scenario].state), _messages(problems)]
    try:  # a new surface: its own start and learning rate, the other settings kept
        state = _state_from_controls(surface_id, formula, scenario, start, positions, override_ids,
                                     override_values, visible, view, seed, extras, problems)
    except ValueError:  # a typed formula that is not allowed: on_surface says why
        return _unchanged()
    moved = state.with_surface(state.surface)
    if any("lr" in hp for hp in state.overrides.values()):
        problems.append("Per-optimizer learning rates were cleared: each surface has its own scale, so the "
                        "new surface starts from one shared η.")
    return [*_controls_from(moved), _messages(problems)]


@guarded
def on_link(scenario, visible, view, surface_id, formula, start, *rest):
    """A control that is not the race's changed (lesson, shown optimizers, view): the link
    (on_race_inputs makes it for the race's own controls; the browser pushes it)."""
    *positions, override_values, seed, extras, override_ids = rest
    try:
        state = _state_from_controls(surface_id, formula, scenario, start, positions, override_ids,
                                     override_values, visible, view, seed, extras, validation.Problems())
    except ValueError:
        return no_update
    return link.encode(state)


@guarded
def on_explorer_request(_request, *values):
    """The learning-rate explorer for the race's settings (its own sweep, cached per worker).
    The browser asks only while the explorer is on screen (race.explorerRequest): the sweep
    costs several races, and a class of students moving sliders mostly watches the race;
    scrolling to the explorer brings it up to date."""
    problems = validation.Problems()
    try:
        spec = _spec(problems, *values)
    except ValueError:  # a custom formula that is not allowed: nothing to explore
        return _unchanged()
    sweep = lr_sweep(spec)
    return (
        explorer_figure(sweep, spec.surface),
        best_learning_rates(sweep, spec.surface),
        explorer_notes(sweep, spec.surface),
    )


@guarded
def on_tune(n_clicks, best):
    """Give each optimizer its own best learning rate from the explorer (a fair race). The tuned
    values are kept aside too: moving the shared η slider, a lesson, a link or another surface
    hands η back to the slider (race.untune, on_apply)."""
    if not n_clicks or not isinstance(best, dict):
        return _unchanged()
    values, tuned = [], {}
    for i in _wildcard_ids(0):
        oid = _text(i, "opt")
        lr = validation.number(best.get(oid)) if oid in ALL_OPTIMIZERS else None
        lr = lr if lr is not None and lr > 0 else None
        values.append(lr)
        if lr is not None:
            tuned[oid] = lr
    if not tuned:
        return ([no_update] * len(values),
                "No optimizer has a learning rate that arrives and stays here: nothing to tune.", None)
    named = ", ".join(f"{ALL_OPTIMIZERS[o].name} {v:.2g}" for o, v in tuned.items())
    untuned = [ALL_OPTIMIZERS[o].name for o in best if o in ALL_OPTIMIZERS and o not in tuned]
    note = f" No good η for {', '.join(untuned)}: they keep the shared η." if untuned else ""
    return values, f"Tuned: each optimizer races at its own η*: {named}.{note}", tuned


@guarded
def on_live_step(step, *values):
    """The numbers behind the update shown in the animation, for the equation cards."""
    problems = validation.Problems()
    step = validation.number(step)
    if step is None:
        return no_update, no_update
    try:
        spec = _spec(problems, *values)
    except ValueError:
        return no_update, no_update
    return live_numbers(race_with_states(spec), int(min(max(step, 1), spec.steps))), no_update


EXPORTS = {
    "btn-export-csv": (race_csv, "csv", "text/csv"),
    "btn-export-json": (race_json, "json", "application/json"),
    "btn-export-html": (race_html, "html", "text/html"),
}


NOTHING_SHOWN = "No optimizer is shown, so there is nothing to export: tick one under Per-optimizer settings."


def _shown(visible) -> list[str]:
    """The shown optimizers (the "visible" checklist, untrusted JSON) in the race's order: every
    one when it is not a list, else the known ids it holds."""
    if not isinstance(visible, list):
        return list(OPTIMIZERS)
    ids = {v for v in visible if isinstance(v, str)}
    return [o for o in OPTIMIZERS if o in ids]


@guarded
def on_export(_csv, _json, _html, view, visible, *values):
    """The race as a file: CSV, JSON or a self-contained HTML replay, of the shown optimizers
    (RolloutResult.only: the same race, the hidden rows left out), the raced extras included."""
    if ctx.triggered_id not in EXPORTS or not ctx.triggered[0].get("value"):
        return _unchanged()
    problems = validation.Problems()
    shown = _shown(visible)
    try:
        spec = _spec(problems, *values)
    except ValueError as err:
        return no_update, _messages([str(err) if shown else NOTHING_SHOWN])
    shown += list(spec.extras)
    if not shown:
        return no_update, _messages([NOTHING_SHOWN])
    build, extension, mime = EXPORTS[ctx.triggered_id]
    result = race_result(spec).only(shown)
    content = (build(result, spec.surface, view if view in ("grid", "overlay") else "grid")
               if extension == "html" else build(result, spec.surface))
    filename = f"optimizer-race-{spec.surface_id}.{extension}"
    return {"content": content, "filename": filename, "type": mime}, _messages(problems)


def register_callbacks(app) -> None:
    app.callback(
        Output("surface-data", "data"),
        Output("surface-formula", "children"),
        Output("surface-description", "children"),
        Output("formula-box", "style"),
        Output("formula-error", "children"),
        Input("surface", "value"),
        Input("formula", "value"),
    )(on_surface)

    # The link's inputs beyond the race's; the race callback makes the link too.
    link_only = [("scenario", "value"), ("visible", "value"), ("view", "value")]
    app.callback(
        Output("race-data", "data"),
        Output("messages", "children"),
        Output("link", "data"),
        *RACE_INPUTS,
        *[State(c, p) for c, p in link_only],
    )(on_race_inputs)

    controls = [
        ("surface", "value"), ("formula", "value"), ("scenario", "value"), ("start-point", "data"),
        *[(f"slider-{sid}", "value") for sid in SLIDERS], (OVERRIDE, "value"), ("visible", "value"),
        ("view", "value"), ("btn-reseed", "n_clicks"), ("extras", "value"),
    ]
    app.callback(
        *[Output(c, p) for c, p in controls],
        Output("tuned", "data", allow_duplicate=True),
        Output("scenario-text", "children"),
        Output("notes", "children"),  # apart from the race's messages, which the race that follows rewrites
        Input("url", "search"),
        Input("scenario", "value"),
        Input("surface", "value"),
        *[State(c, p) for c, p in controls if c not in ("surface", "scenario")],
        State(OVERRIDE, "id"),
        prevent_initial_call="initial_duplicate",
    )(on_apply)
    app.callback(
        Output("link", "data", allow_duplicate=True),
        *[Input(c, p) for c, p in link_only],
        *RACE_STATES,
        prevent_initial_call=True,
    )(on_link)

    # The browser asks for the explorer when a setting of the sweep changes while the explorer
    # is on screen, or when it comes on screen: no request at all while it is hidden. The
    # sweep does not depend on the learning rate: a learning-rate change only moves the
    # explorer's "race: η" line, drawn by the browser over the figure (explorerLine).
    app.clientside_callback(
        ClientsideFunction("race", "explorerRequest"),
        Output("explorer-request", "data"),
        Input("explorer-visible", "data"),
        *[i for i in RACE_INPUTS if isinstance(i, Input) and i.component_id != "slider-lr"],
    )
    app.callback(
        Output("explorer-graph", "figure"),
        Output("explorer-best", "data"),
        Output("explorer-notes", "children"),
        Input("explorer-request", "data"),
        *RACE_STATES,
        running=[(Output("explorer-status", "children"), "Sweeping 64 learning rates for every raced optimizer…", "")],
        prevent_initial_call=True,
    )(on_explorer_request)

    app.callback(
        Output(OVERRIDE_LR, "value", allow_duplicate=True),
        Output("tune-result", "children"),
        Output("tuned", "data"),
        Input("btn-tune", "n_clicks"),
        State("explorer-best", "data"),
        prevent_initial_call=True,
    )(on_tune)
    # The η slider never goes dead without a sign: moving it while Tune's values are in force
    # hands η back to it; a button does the same at any time; a notice by the slider says which
    # optimizers keep their own η.
    app.clientside_callback(
        ClientsideFunction("race", "untune"),
        Output(OVERRIDE_LR, "value", allow_duplicate=True),
        Output("tuned", "data", allow_duplicate=True),
        Output("tune-result", "children", allow_duplicate=True),
        Input("slider-lr", "value"),
        State("tuned", "data"),
        State(OVERRIDE_LR, "value"),
        State(OVERRIDE_LR, "id"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("race", "sharedLr"),
        Output(OVERRIDE_LR, "value", allow_duplicate=True),
        Output("tuned", "data", allow_duplicate=True),
        Output("tune-result", "children", allow_duplicate=True),
        Input("btn-shared-lr", "n_clicks"),
        State(OVERRIDE_LR, "id"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("race", "lrNotice"),
        Output("lr-notice", "style"),
        Output("lr-notice-text", "children"),
        Output("control-lr", "className"),
        Input(OVERRIDE_LR, "value"),
        Input("extras", "value"),
        State(OVERRIDE_LR, "id"),
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "extrasShown"),
        *[Output(f"override-row-{oid}", "className") for oid in EXTRAS],
        *[Output(f"card-{oid}", "className") for oid in EXTRAS],
        Input("extras", "value"),
        State("app-meta", "data"),
    )

    app.callback(
        Output("live-data", "data"),
        Output("messages", "children", allow_duplicate=True),
        Input("live-step", "data"),
        *RACE_STATES,
        prevent_initial_call=True,
    )(on_live_step)

    app.callback(
        Output("download", "data"),
        Output("messages", "children", allow_duplicate=True),
        *[Input(button, "n_clicks") for button in EXPORTS],
        State("view", "value"),
        State("visible", "value"),
        *RACE_STATES,
        prevent_initial_call=True,
    )(on_export)

    app.clientside_callback(
        ClientsideFunction("race", "readouts"),
        *[Output(f"{sid}-readout", "children") for sid in SLIDERS],
        *[Input(f"slider-{sid}", "value") for sid in SLIDERS],
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "mapFigure"),
        Output("race-map", "figure"),
        Input("surface-data", "data"),
        Input("view", "value"),
        Input("visible", "value"),  # the grid has a panel per shown optimizer
        Input("extras", "value"),  # and per raced extra; the 3-D view a path per raced optimizer
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "lossFigure"),
        Output("loss-chart", "figure"),
        Input("race-data", "data"),
        Input("visible", "value"),  # the axes fit the shown curves
        State("app-meta", "data"),  # the race's extras are shown too
    )
    app.clientside_callback(
        ClientsideFunction("race", "show"),
        Output("race-shown", "data"),
        Input("race-data", "data"),
        Input("surface-data", "data"),
        Input("view", "value"),
        Input("visible", "value"),
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "explorerClick"),
        Output("slider-lr", "value", allow_duplicate=True),
        Output(OVERRIDE_LR, "value", allow_duplicate=True),
        Input("explorer-graph", "clickData"),
        State(OVERRIDE_LR, "id"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("race", "pushLink"),
        Output("link-pushed", "data"),
        Input("link", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("race", "explorerLine"),
        Output("explorer-line", "data"),
        Input("slider-lr", "value"),
        Input(OVERRIDE_LR, "value"),
        State(OVERRIDE_LR, "id"),
        State("app-meta", "data"),
        State("extras", "value"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "explorerShown"),
        Output("explorer-shown", "data"),
        Input("explorer-graph", "figure"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "showLive"),
        Output("live-shown", "data"),
        Input("live-data", "data"),
    )
