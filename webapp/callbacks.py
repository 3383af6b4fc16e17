"""Thin callbacks: check the inputs, call the pure core, return data. Figures and animation are
built in the browser from that data (assets/race.js)."""

from __future__ import annotations

import logging

from dash import ALL, ClientsideFunction, Input, Output, State, html, no_update

from . import validation
from .controls import SLIDERS
from .layout import DEFAULT_SURFACE
from .payload import surface_payload
from .race import run_race

log = logging.getLogger(__name__)
RACE_SLIDERS = list(SLIDERS)  # lr, gamma, rho, beta1, beta2, eps, steps, noise, batch


def _message_list(problems: list[str]):
    return [html.P(p) for p in problems[:6]]


def on_surface(surface_id):
    """A new surface: its map data, formula, description, default start and learning rate."""
    problems = validation.Problems()
    surface = validation.surface_choice(surface_id, problems, DEFAULT_SURFACE)
    return (
        surface_payload(surface),
        f"$$f(x, y) = {surface.latex}$$",
        surface.description,
        list(surface.start),
        SLIDERS["lr"].position(surface.lr),
    )


def on_race_inputs(surface_id, start, *rest):
    """Any control changed: validate everything, run the race, send the compact payload."""
    *positions, override_values, reseeds, override_ids = rest
    problems = validation.Problems()
    surface = validation.surface_choice(surface_id, problems, DEFAULT_SURFACE)
    values = {
        sid: validation.slider_value(sid, pos, problems) for sid, pos in zip(RACE_SLIDERS, positions)
    }
    override_entries = validation.override_entries(override_ids, override_values)
    try:
        payload = run_race(
            surface,
            start=validation.start_point(start, surface, problems),
            shared={k: values[k] for k in ("lr", "gamma", "rho", "beta1", "beta2", "eps")},
            overrides=validation.overrides(override_entries, problems),
            steps=values["steps"],
            noise=values["noise"],
            batch_size=values["batch"],
            seed=validation.seed_value(reseeds, problems),
        )
    except ValueError as err:  # the core's own check of what got through: say it, keep the race
        problems.append(str(err))
        return no_update, _message_list(problems)
    except Exception:  # a classroom server keeps answering; the log has the details
        log.exception("race failed")
        problems.append("Something went wrong computing this race; the previous race stays.")
        return no_update, _message_list(problems)
    return payload, _message_list(problems)


def register_callbacks(app) -> None:
    app.callback(
        Output("surface-data", "data"),
        Output("surface-formula", "children"),
        Output("surface-description", "children"),
        Output("start-point", "data"),
        Output("slider-lr", "value"),
        Input("surface", "value"),
    )(on_surface)

    app.callback(
        Output("race-data", "data"),
        Output("messages", "children"),
        Input("surface", "value"),
        Input("start-point", "data"),
        *[Input(f"slider-{sid}", "value") for sid in RACE_SLIDERS],
        Input({"type": "override", "opt": ALL, "hp": ALL}, "value"),
        Input("btn-reseed", "n_clicks"),
        State({"type": "override", "opt": ALL, "hp": ALL}, "id"),
    )(on_race_inputs)

    app.clientside_callback(
        ClientsideFunction("race", "readouts"),
        *[Output(f"{sid}-readout", "children") for sid in RACE_SLIDERS],
        *[Input(f"slider-{sid}", "value") for sid in RACE_SLIDERS],
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "mapFigure"),
        Output("race-map", "figure"),
        Input("surface-data", "data"),
        Input("view", "value"),
        State("app-meta", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "lossFigure"),
        Output("loss-chart", "figure"),
        Input("race-data", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("race", "show"),
        Output("race-shown", "data"),
        Input("race-data", "data"),
        Input("surface-data", "data"),
        Input("view", "value"),
        Input("visible", "value"),
    )

