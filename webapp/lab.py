"""The learning-rate lab, below the explorer: the learning-rate range test, the momentum map and
the sharpness along the paths against 2/ηₜ (the edge of stability). One panel at a time (the
`lab` control, in the link as `lab=`); each is computed by the server only while it is on
screen, like the explorer."""

from __future__ import annotations

from dash import dcc, html

from .controls import LAB, LAB_PANELS


def lab_section() -> html.Section:
    return html.Section(
        className="lab", id="lab", **{"aria-labelledby": "lab-title"},
        children=[
            html.H2("Learning-rate lab", id="lab-title"),
            html.Span("Lab panel", id="lab-label", className="visually-hidden"),
            dcc.RadioItems(id=LAB.component, className="lab-tabs view-toggle", inline=True, value=LAB.default,
                           options=[{"label": label, "value": v} for v, label in LAB_PANELS.items()]),
            *[html.Div(id=f"lab-{v}", className="lab-panel", hidden=v != LAB.default) for v in LAB_PANELS],
        ],
    )


def register_lab_callbacks(app) -> None:
    """The lab's callbacks (none yet)."""
