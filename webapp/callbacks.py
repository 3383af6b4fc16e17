"""Thin callbacks: check the inputs, call the pure core, return data. Figures of the race and
its animation are built in the browser from that data (assets/player.js, assets/race.js).

The controls and the link: `on_apply` sets the controls from a link (on load and on the back
button), a lesson or a new surface. The race callback returns, with each race, the link that
reproduces it, and `on_link` does the same for the controls that are not the race's (lesson,
shown optimizers, view, teacher mode); the browser glue pushes it (dcc.Location only reads the address, so
the paused animation step can live in the link as well). A slider change is therefore one
request, and races at once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import wraps

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, html, no_update

from optimizers import ALL_OPTIMIZERS, EXTRAS, OPTIMIZERS
from optimizers.engine import is_data
from optimizers.live import live_numbers
from surfaces.data import MODELS
from surfaces.examples_csv import decode_upload

from . import examples_store
from . import state as link
from .controls import (CONTROLS, CUSTOM, SCHEDULE, EXAMPLES, UPLOAD, canonical_examples, DEFAULT_SURFACE, EXPORT_VIEWS, HIDDEN_PARTS, LOCKED_PARTS, OVERRIDES, PAGE_CONTROLS,
                       PARTS, PREDICT, PRESENT, RACE_CONTROLS, SCENARIO, SLIDERS, SURFACE, Problems, inputs, number,
                       states)
from .explorer import best_learning_rates, explorer_figure, explorer_notes
from .export import race_csv, race_html, race_json
from .layout import SCHEDULE_PARAM, lesson_panel
from .payload import race_payload, surface_payload
from .race import lr_sweep, race_result, race_with_states
from .scenarios import SCENARIOS, decode_link

log = logging.getLogger(__name__)
# The per-optimizer inputs; the browser gathers them into the overrides store (race.overrides),
# which is what the race reads.
OVERRIDE = {"type": "override", "opt": ALL, "hp": ALL}
OVERRIDE_LR = {"type": "override", "opt": ALL, "hp": "lr"}
SCHEDULE_INPUT = {"type": SCHEDULE_PARAM, "kind": ALL, "key": ALL}


def _messages(problems: list[str]):
    return [html.P(p) for p in problems[:6]]


def _unchanged(**changes) -> dict | list:
    """`no_update` for every output of the running callback but `changes` (by output name); a
    wildcard output gets a list of them, as long as the outputs the client asked for."""
    grouping = ctx.outputs_grouping
    if not isinstance(grouping, dict):
        return no_update

    def unchanged(outputs):
        return [no_update] * len(outputs) if isinstance(outputs, list) else no_update

    return {name: changes[name] if name in changes else unchanged(outputs) for name, outputs in grouping.items()}


def _wildcard_ids(name: str) -> list[dict]:
    """The ids of the running callback's wildcard output `name`, as the client sent them."""
    outputs = ctx.outputs_grouping.get(name) if isinstance(ctx.outputs_grouping, dict) else None
    return [o.get("id") if isinstance(o, dict) else None for o in outputs or []]


def guarded(message: str | None = None):
    """Never let a callback fail a classroom: unexpected errors are logged and answered with no
    change (and a message in the output named `message`)."""

    def wrap(fn):
        @wraps(fn)
        def run(**values):
            try:
                return fn(**values)
            except Exception:
                log.exception("callback %s failed", fn.__name__)
                if message is None:
                    return _unchanged()
                return _unchanged(**{message: "Something went wrong here; the previous state stays."})

        return run

    return wrap


def _parse(raw: dict) -> tuple[link.RaceState, Problems] | tuple[None, Problems]:
    """The state the controls describe, or None for a typed formula that is not allowed
    (on_surface explains it beside the formula box; the previous race stays)."""
    problems = Problems()
    try:
        return link.parse(raw, problems)
    except ValueError:
        return None, problems


# -- callbacks ----------------------------------------------------------------------------------
def _data_note(surface) -> str:
    if not is_data(surface):
        return ""
    n = surface.n_examples
    return (f"On data the noise is the examples themselves, so the σ slider does not apply: SGD's gradient is one "
            f"example's, the mini-batch optimizers' the mean of B (at most N), GD's the mean of all N = {n:,}. "
            "Each epoch shuffles the examples.")


@guarded()
def on_surface(surface, formula, examples):
    """The map data, formula and description of the chosen surface. A typed formula that is not
    allowed is explained next to its box, and the previous surface and race stay."""
    custom = surface == CUSTOM
    box = {"display": "flex"} if custom else {"display": "none"}
    data_box = surface != UPLOAD
    try:
        chosen = SURFACE.check(surface, Problems())
        model, _ = link.surface_for(chosen, formula, EXAMPLES.check(examples, Problems()))
    except ValueError as err:
        return dict(surface=no_update, formula=no_update, description=no_update, box=box, error=str(err),
                    data_box=data_box, data_note=no_update)
    variables = "w, b" if is_data(model) else "x, y"
    return dict(surface=surface_payload(model), formula=f"$$f({variables}) = {model.latex}$$",
                description=model.description, box=box, error="", data_box=data_box, data_note=_data_note(model))


@guarded("error")
def on_examples(uploaded, pasted_clicks, filename, pasted, model):
    """The user's examples, from a file or pasted text: checked (controls.canonical_examples), then
    raced as the surface "Your data". Anything unusable is said beside the box, and the race stays."""
    if not (isinstance(model, str) and model in MODELS):
        return _unchanged(error="Choose linear or logistic regression.")
    try:
        if ctx.triggered_id == "data-upload":
            if not uploaded:
                return _unchanged()
            source = str(filename)[:60] if isinstance(filename, str) and filename else "the file"
            text = decode_upload(uploaded)
        elif ctx.triggered_id == "btn-data-paste" and pasted_clicks:
            text, source = pasted if isinstance(pasted, str) else "", "the pasted text"
        else:
            return _unchanged()
        checked = canonical_examples(model, text)
    except ValueError as err:
        return _unchanged(error=f"Not used, the race stays: {err}", status="")
    rows = len(checked.splitlines()) - 1
    return dict(examples=examples_store.store_value(model, checked), surface=UPLOAD,
                error="", status=f"Racing on {rows:,} examples from {source}.")


@guarded("messages")
def on_race_inputs(**raw):
    """Any control of the race changed: run the race (or take it from this worker's cache), and
    make the link that reproduces it (in the same request: one round trip per slider change).
    A formula that is not allowed changes nothing here: on_surface explains it and the old race
    stays."""
    state, problems = _parse(raw)
    if state is None:
        return _unchanged()
    return dict(race=race_payload(race_result(state), state.surface_model),
                messages=_messages(problems + link.link_problems(state)), link=link.encode(state))


def _controls_from(state: link.RaceState) -> dict:
    """The outputs of on_apply that put the page in `state`: every control (the overrides store
    follows the per-optimizer inputs), Tune's record (cleared: the state's overrides are the
    user's now) and the lesson panel."""
    raw = state.controls()
    out = {cid: raw[cid] for cid in CONTROLS if cid not in (OVERRIDES.id, SCHEDULE.id)}
    out["override_inputs"] = [
        state.overrides.get(i.get("opt"), {}).get(i.get("hp")) if isinstance(i, dict) else None
        for i in _wildcard_ids("override_inputs")
    ]
    out["schedule_kind"] = state.schedule.get("kind", "constant")
    out["schedule_inputs"] = [
        state.schedule.get(i.get("key")) if isinstance(i, dict) and i.get("kind") == state.schedule.get("kind") else None
        for i in _wildcard_ids("schedule_inputs")
    ]
    scenario = SCENARIOS.get(state.scenario)
    out.update(tuned=None, lesson=lesson_panel(scenario) if scenario else "")
    return out


@guarded("notes")
def on_apply(search, **raw):
    """A link (on load or the back button), a lesson or a new surface sets the controls."""
    problems = Problems()
    trigger = ctx.triggered_id
    if trigger in (None, "url"):
        try:
            state = decode_link(search, problems)
        except ValueError as err:  # the link's formula is not allowed
            problems.append(f"The link's formula was not used: {err}")
            state = link.RaceState(DEFAULT_SURFACE)
        # a link that hides or locks parts is the teacher's, for students: no teacher's panel
        teacher_panel = bool(state.hidden_parts or state.locked_parts)
        return {**_controls_from(state), "teacher_panel": teacher_panel, "notes": _messages(problems)}
    if trigger == "scenario":
        lesson = SCENARIO.check(raw.get("scenario"), problems)
        if lesson is None:  # cleared: the race stays, the lesson text goes
            return _unchanged(lesson="")
        # the lesson's race, in the page's teacher mode (a presenter choosing lessons stays one)
        teacher = {c.id: c.check(raw.get(c.id), problems) for c in (HIDDEN_PARTS, LOCKED_PARTS, PREDICT, PRESENT)}
        state = replace(SCENARIOS[lesson].state, **teacher)
        return {**_controls_from(state), "teacher_panel": no_update, "notes": _messages(problems)}
    # a new surface: its own start and learning rate, the other settings kept
    state, problems = _parse({**raw, "start": None})
    if state is None:  # a typed formula that is not allowed: on_surface says why
        return _unchanged()
    if any("lr" in hp for hp in state.overrides.values()):
        problems.append("Per-optimizer learning rates were cleared: each surface has its own scale, so the "
                        "new surface starts from one shared η.")
    return {**_controls_from(state.with_surface(state.surface)), "teacher_panel": no_update,
            "notes": _messages(problems)}


@guarded()
def on_link(**raw):
    """A control that is not the race's changed (lesson, shown optimizers, view, teacher mode): the link
    (on_race_inputs makes it for the race's own controls; the browser pushes it)."""
    state, _ = _parse(raw)
    return no_update if state is None else link.encode(state)


@guarded()
def on_explorer_request(request, **raw):
    """The learning-rate explorer for the race's settings (its own sweep, cached per worker).
    The browser asks only while the explorer is on screen (race.explorerRequest): the sweep
    costs several races, and a class of students moving sliders mostly watches the race;
    scrolling to the explorer brings it up to date."""
    state, _ = _parse(raw)
    if state is None:  # a custom formula that is not allowed: nothing to explore
        return _unchanged()
    sweep, surface = lr_sweep(state), state.surface_model
    return dict(figure=explorer_figure(sweep, surface), best=best_learning_rates(sweep, surface),
                notes=explorer_notes(sweep, surface))


@guarded("result")
def on_tune(clicks, best):
    """Give each optimizer its own best learning rate from the explorer (a fair race). The tuned
    values are kept aside too: moving the shared η slider, a lesson, a link or another surface
    hands η back to the slider (race.untune, on_apply)."""
    if not clicks or not isinstance(best, dict):
        return _unchanged()
    values, tuned = [], {}
    for i in _wildcard_ids("lr_inputs"):
        oid = i.get("opt") if isinstance(i, dict) else None
        lr = number(best.get(oid)) if oid in ALL_OPTIMIZERS else None
        lr = lr if lr is not None and lr > 0 else None
        values.append(lr)
        if lr is not None:
            tuned[oid] = lr
    if not tuned:
        return _unchanged(result="No optimizer has a learning rate that arrives and stays here: nothing to tune.")
    named = ", ".join(f"{ALL_OPTIMIZERS[o].name} {v:.2g}" for o, v in tuned.items())
    untuned = [ALL_OPTIMIZERS[o].name for o in best if o in ALL_OPTIMIZERS and o not in tuned]
    note = f" No good η for {', '.join(untuned)}: they keep the shared η." if untuned else ""
    return dict(lr_inputs=values, result=f"Tuned: each optimizer races at its own η*: {named}.{note}", tuned=tuned)


@guarded()
def on_live_step(step, **raw):
    """The numbers behind the update shown in the animation, for the equation cards."""
    step = number(step)
    state, _ = _parse(raw)
    if step is None or state is None:
        return no_update
    return live_numbers(race_with_states(state), int(min(max(step, 1), state.value("steps"))))


EXPORTS = {
    "btn-export-csv": (race_csv, "csv", "text/csv"),
    "btn-export-json": (race_json, "json", "application/json"),
    "btn-export-html": (race_html, "html", "text/html"),
}
NOTHING_SHOWN = "No optimizer is shown, so there is nothing to export: tick one under Per-optimizer settings."


@guarded("messages")
def on_export(csv, json, html_file, **raw):
    """The race as a file: CSV, JSON or a self-contained HTML replay, of the shown optimizers
    (RolloutResult.only: the same race, the hidden rows left out), the raced extras included."""
    if ctx.triggered_id not in EXPORTS or not ctx.triggered[0].get("value"):
        return _unchanged()
    problems = Problems()
    try:
        state, _ = link.parse(raw, problems)
    except ValueError as err:
        return _unchanged(messages=_messages([str(err)]))
    shown = [o for o in OPTIMIZERS if o not in state.hidden] + list(state.extras)
    if not shown:
        return _unchanged(messages=_messages([NOTHING_SHOWN]))
    build, extension, mime = EXPORTS[ctx.triggered_id]
    result, surface = race_result(state).only(shown), state.surface_model
    content = (build(result, surface, state.view if state.view in EXPORT_VIEWS else "grid")
               if extension == "html" else build(result, surface))
    filename = f"optimizer-race-{state.surface}.{extension}"
    return dict(download={"content": content, "filename": filename, "type": mime}, messages=_messages(problems))


def register_callbacks(app) -> None:
    # Each callback gets dicts of its own from inputs() and states(): Dash merges a callback's
    # inputs into its state dict in place.
    app.callback(
        output=dict(surface=Output("surface-data", "data"), formula=Output("surface-formula", "children"),
                    description=Output("surface-description", "children"), box=Output("formula-box", "style"),
                    error=Output("formula-error", "children"), data_box=Output("data-box", "hidden"),
                    data_note=Output("data-note", "children")),
        inputs=dict(surface=Input("surface", "value"), formula=Input("formula", "value"),
                    examples=Input(EXAMPLES.component, EXAMPLES.prop)),
    )(on_surface)
    app.callback(
        output=dict(examples=Output(EXAMPLES.component, EXAMPLES.prop, allow_duplicate=True),
                    surface=Output("surface", "value", allow_duplicate=True),
                    error=Output("data-error", "children"), status=Output("data-status", "children")),
        inputs=dict(uploaded=Input("data-upload", "contents"), pasted_clicks=Input("btn-data-paste", "n_clicks")),
        state=dict(filename=State("data-upload", "filename"), pasted=State("data-paste", "value"),
                   model=State("data-model", "value")),
        prevent_initial_call=True,
    )(on_examples)

    app.callback(
        output=dict(race=Output("race-data", "data"), messages=Output("messages", "children"),
                    link=Output("link", "data")),
        inputs=inputs(RACE_CONTROLS),
        state=states(PAGE_CONTROLS),  # the race makes the link too
    )(on_race_inputs)

    # A link, a lesson or a new surface sets every control (the overrides store follows the
    # per-optimizer inputs it is gathered from).
    # (the overrides and schedule stores follow the inputs they are gathered from)
    set_controls = {c.id: Output(c.component, c.prop) for c in CONTROLS.values() if c not in (OVERRIDES, SCHEDULE)}
    app.callback(
        output=dict(**set_controls, override_inputs=Output(OVERRIDE, "value"),
                    schedule_kind=Output("schedule-kind", "value"), schedule_inputs=Output(SCHEDULE_INPUT, "value"),
                    tuned=Output("tuned", "data", allow_duplicate=True), lesson=Output("scenario-text", "children"),
                    teacher_panel=Output("teacher-panel", "hidden"),
                    # apart from the race's messages, which the race that follows rewrites
                    notes=Output("notes", "children")),
        inputs=dict(search=Input("url", "search"), scenario=Input("scenario", "value"),
                    surface=Input("surface", "value")),
        state={k: v for k, v in states(CONTROLS.values()).items() if k not in ("scenario", "surface")},
        prevent_initial_call="initial_duplicate",
    )(on_apply)
    app.callback(
        Output("link", "data", allow_duplicate=True),
        inputs=inputs(PAGE_CONTROLS),
        state=states(RACE_CONTROLS),
        prevent_initial_call=True,
    )(on_link)
    app.clientside_callback(
        ClientsideFunction("race", "schedule"),
        Output(SCHEDULE.component, SCHEDULE.prop),
        Input("schedule-kind", "value"),
        Input(SCHEDULE_INPUT, "value"),
        State(SCHEDULE_INPUT, "id"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "overrides"),
        Output(OVERRIDES.component, OVERRIDES.prop),
        Input(OVERRIDE, "value"),
        State(OVERRIDE, "id"),
    )
    # Teacher mode: the parts a link hides or locks (controls.PARTS), presenter view
    app.clientside_callback(
        ClientsideFunction("race", "teacherView"),
        *[Output(p.element, "hidden") for p in PARTS.values() if p.element],
        *[Output(component, prop) for p in PARTS.values() for component, prop in p.locks],
        Output("app-root", "className"),
        *[c.as_input() for c in (HIDDEN_PARTS, LOCKED_PARTS, PREDICT, PRESENT)],
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "reseed"),
        Output("seed", "data", allow_duplicate=True),
        Input("btn-reseed", "n_clicks"),
        State("seed", "data"),
        prevent_initial_call=True,
    )

    # The browser asks for the explorer when a setting of the sweep changes while the explorer
    # is on screen, or when it comes on screen: no request at all while it is hidden. The
    # sweep does not depend on the learning rate: a learning-rate change only moves the
    # explorer's "race: η" line, drawn by the browser over the figure (explorerLine).
    app.clientside_callback(
        ClientsideFunction("race", "explorerRequest"),
        Output("explorer-request", "data"),
        Input("explorer-visible", "data"),
        *[c.as_input() for c in RACE_CONTROLS if c.id != "lr"],
    )
    app.callback(
        output=dict(figure=Output("explorer-graph", "figure"), best=Output("explorer-best", "data"),
                    notes=Output("explorer-notes", "children")),
        inputs=dict(request=Input("explorer-request", "data")),
        state=states(RACE_CONTROLS),
        running=[(Output("explorer-status", "children"), "Sweeping 64 learning rates for every raced optimizer…", "")],
        prevent_initial_call=True,
    )(on_explorer_request)

    app.callback(
        output=dict(lr_inputs=Output(OVERRIDE_LR, "value", allow_duplicate=True),
                    result=Output("tune-result", "children"), tuned=Output("tuned", "data")),
        inputs=dict(clicks=Input("btn-tune", "n_clicks")),
        state=dict(best=State("explorer-best", "data")),
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
        Input("overrides", "data"),
        Input("extras", "value"),
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
        inputs=dict(step=Input("live-step", "data")),
        state=states(RACE_CONTROLS),
        prevent_initial_call=True,
    )(on_live_step)

    app.callback(
        output=dict(download=Output("download", "data"),
                    messages=Output("messages", "children", allow_duplicate=True)),
        inputs=dict(csv=Input("btn-export-csv", "n_clicks"), json=Input("btn-export-json", "n_clicks"),
                    html_file=Input("btn-export-html", "n_clicks")),
        state={**states(RACE_CONTROLS), **states(PAGE_CONTROLS)},
        prevent_initial_call=True,
    )(on_export)

    app.clientside_callback(
        ClientsideFunction("race", "readouts"),
        *[Output(f"{sid}-readout", "children") for sid in SLIDERS],
        *[s.as_input() for s in SLIDERS.values()],
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
        State("app-meta", "data"),
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
        Input("overrides", "data"),
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
