"""The page: controls on the left, the race in the middle, the leaderboard and loss chart on the
right, the equations below. Elements the animation owns (scrubber, leaderboard rows, canvas
overlays) are empty hosts here; assets/player.js (the race player) fills them."""

from __future__ import annotations

from dash import dcc, html

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS
from surfaces import SURFACES
from surfaces.data import MODELS
from surfaces.examples_csv import MAX_ROWS
from optimizers.schedules import SCHEDULES

from .controls import (CLOCK, CLOCK_LABELS, SCHEDULE, CUSTOM, EXAMPLES, UPLOAD, DEFAULT_FORMULA, DEFAULT_SPEED, DEFAULT_SURFACE, HIDDEN_PARTS, LOCKED_PARTS, OVERRIDES, PARTS,
                       PLAYBACK_BUTTONS, PREDICT, PRESENT, SEED, SLIDERS, SPEEDS, START, VIEWS, browser_meta)
from .explorer import BAND_COLORS, BANDS
from .lab import lab_section
from .state import KEEPS_OWN
from .scenarios import SCENARIOS
from .theme import OPTIMIZER_COLORS


def _slider(slider_id: str) -> html.Div:
    s = SLIDERS[slider_id]
    return html.Div(
        className="control",
        id=f"control-{slider_id}",
        children=[
            html.Label(
                # the slider's handle is named by this label and read out by the readout (assets/page.js)
                [html.Span(s.label, id=f"{slider_id}-label"), html.Span(id=f"{slider_id}-readout", className="readout")],
                htmlFor=s.component,
            ),
            dcc.Slider(
                id=s.component, min=s.low, max=s.high, step=s.step, value=s.default,
                marks=s.marks, allow_direct_input=False, updatemode="mouseup",
            ),
        ],
    )


def lesson_panel(scenario) -> list:
    """A lesson as the side panel shows it: its title, what it sets up, and what to watch (each
    sentence a claim the race bears out)."""
    return [
        html.H2(scenario.title, className="lesson-title"),
        html.P(scenario.intro),
        html.Ul([html.Li(claim.text) for claim in scenario.claims], className="lesson-claims"),
    ]


def _swatch(oid: str) -> html.Span:
    return html.Span(className="swatch", style={"background": OPTIMIZER_COLORS[oid]})


def _override_row(oid: str) -> html.Div:
    spec = ALL_OPTIMIZERS[oid]
    inputs = []
    for key, default in spec.defaults.items():
        hp = HYPERPARAMETERS[key]
        inputs.append(
            html.Label(
                className="override",
                children=[
                    html.Span(key),
                    dcc.Input(
                        id={"type": "override", "opt": oid, "hp": key}, type="number",
                        placeholder=f"{default:g}" if key in KEEPS_OWN.get(oid, ()) else "shared",
                        debounce=True, step="any", min=hp.low if hp.low_inclusive else None,
                        inputMode="decimal",
                    ),
                ],
            )
        )
    name = html.Div([_swatch(oid), spec.name], className="override-name")
    if oid in EXTRAS:  # shown only while the extra is raced (race.extrasShown)
        return html.Div(id=f"override-row-{oid}", className="override-row extra-off", children=[name, *inputs])
    return html.Div(className="override-row", children=[name, *inputs])


def _part(part_id: str, children, **kwargs) -> html.Div:
    """A part of the page a teacher's link can hide (controls.PARTS): it takes no room of its own
    (display: contents), so the page's layout is the same with or without it."""
    return html.Div(id=PARTS[part_id].element, className="part", children=children, **kwargs)


def _teacher() -> html.Details:
    """The teacher's panel: hide or lock parts of the page, predict first, presenter view; the
    address bar (Copy link) then holds a link that opens the page that way. A link that hides
    or locks anything opens with this panel hidden (race.teacherView)."""
    return html.Details(id="teacher-panel", className="teacher-panel", children=[
        html.Summary("Teacher mode"),
        html.P("Tick what students should not see or change, then Copy link and share it. "
               "Open the page without hide= and lock= in the address to get this panel back.", className="hint"),
        html.H3("Hide", className="teacher-title"),
        dcc.Checklist(id=HIDDEN_PARTS.component, className="teacher-list",
                      options=[{"label": p.label, "value": p.id} for p in PARTS.values()], value=[]),
        html.H3("Lock", className="teacher-title"),
        dcc.Checklist(id=LOCKED_PARTS.component, className="teacher-list",
                      options=[{"label": p.label, "value": p.id} for p in PARTS.values() if p.lockable], value=[]),
        html.H3("Class", className="teacher-title"),
        *[dcc.Checklist(id=flag.component, className="teacher-list", options=[{"label": flag.label, "value": flag.key}],
                        value=[]) for flag in (PREDICT, PRESENT)],
    ])


def _examples_box() -> html.Section:
    """The user's own examples (the surface "Your data"): a CSV file or pasted text, checked by the
    server (on_examples) before it replaces the race; a refusal is said beside the box."""
    return html.Section(id="data-box", className="data-box", hidden=True, **{"aria-label": "Your examples"}, children=[
        html.H2("Your examples"),
        html.P(f"Two numeric columns: x and y, or x and a 0/1 label. At most 1 MB and {MAX_ROWS:,} rows.",
               className="hint"),
        html.Span("Model", id="data-model-label", className="visually-hidden"),
        dcc.RadioItems(id="data-model", className="data-model", inline=True, value="linear",
                       options=[{"label": m.name.capitalize(), "value": m.id} for m in MODELS.values()]),
        dcc.Upload(id="data-upload", className="data-upload", max_size=-1, multiple=False,
                   children=html.Span(["Drop a CSV here, or ", html.U("choose a file")])),
        html.Label("Or paste the examples", htmlFor="data-paste", className="data-paste-label"),
        dcc.Textarea(id="data-paste", className="data-paste", placeholder="x,y\n1.0,2.1\n2.0,3.9", rows=4,
                     spellCheck="false"),
        html.Button("Use pasted examples", id="btn-data-paste", className="text-button", n_clicks=0),
        html.P(id="data-error", className="data-error", role="alert"),
        html.P(id="data-status", className="hint", role="status"),
    ])


SCHEDULE_PARAM = "schedule-param"  # the pattern-matching type of a schedule's parameter inputs


def _schedule_field() -> html.Div:
    """The learning-rate schedule: a menu of kinds and, for the chosen one, its parameters (an
    empty box is the default); race.schedule gathers them into the schedule store. Under it,
    ηₜ/η over the race, drawn by assets/schedule.js."""
    def parameter(kind, p):
        default = "all steps" if p.key == "T_max" else "steps/10" if p.key == "warmup" else f"{p.default:g}"
        return html.Label(className="schedule-param", title=p.description, children=[
            html.Span(f"{p.label} ({p.text})"),
            dcc.Input(id={"type": SCHEDULE_PARAM, "kind": kind, "key": p.key}, type="number", debounce=True,
                      placeholder=default, min=p.low if p.low_inclusive else None,
                      step=1 if p.integer else "any", className="schedule-input"),
        ])

    return html.Div(className="schedule-field", children=[
        html.Span("η schedule", id="schedule-label", className="clock-label"),
        dcc.Dropdown(id="schedule-kind", className="schedule-menu", clearable=False, searchable=False,
                     value="constant", options=[{"label": k.label, "value": k.kind} for k in SCHEDULES.values()]),
        *[html.Div(id=f"schedule-fields-{k.kind}", className="schedule-fields", hidden=True,
                   children=[html.P(k.description, className="hint"), *[parameter(k.kind, p) for p in k.parameters]])
          for k in SCHEDULES.values() if k.parameters],
        html.Canvas(id="schedule-plot", className="schedule-plot", role="img", hidden=True,
                    **{"aria-label": "The learning rate over the race, as a fraction of η"}),
    ])


def _controls() -> html.Aside:
    # On a phone (assets/style.css, narrow) the settings are a sheet over the bottom of the screen,
    # opened by the top bar's Settings button and closed by Done (assets/page.js).
    return html.Aside(
        className="controls", id=PARTS["controls"].element, **{"aria-label": "Settings"},
        children=[
            html.Div(className="sheet-head", children=[
                html.H2("Settings"),
                html.Button("Done", id="btn-close-controls", className="text-button", n_clicks=0,
                            **{"aria-controls": PARTS["controls"].element}),
            ]),
            _examples_box(),
            _part("lessons", [
                html.H2("Lessons", id="scenario-label"),
                dcc.Dropdown(
                    id="scenario", className="scenario-menu", clearable=True, searchable=False,
                    placeholder="Choose a ready lesson…",
                    options=[{"label": s.title, "value": s.id} for s in SCENARIOS.values()],
                ),
            ]),
            html.H2("Hyperparameters"),
            html.P("Shared by every optimizer that has them.", className="hint"),
            _slider("lr"),
            html.Div(id="lr-notice", className="lr-notice", role="status", style={"display": "none"}, children=[
                html.Span(id="lr-notice-text"),
                html.Button("Use one shared η", id="btn-shared-lr", className="text-button", n_clicks=0,
                            title="Clear every per-optimizer learning rate: the η slider sets them all"),
            ]),
            *[_slider(k) for k in ("gamma", "rho", "beta1", "beta2", "eps")],
            html.H2("Race"),
            _slider("steps"),
            html.Div(className="clock-field", children=[
                html.Span("Clock", id="clock-label", className="clock-label"),
                dcc.RadioItems(id=CLOCK.component, className="clock-toggle", inline=True, value=CLOCK.default,
                               options=[{"label": text, "value": v} for v, text in CLOCK_LABELS.items()]),
            ]),
            html.P("Per example: every optimizer gets the same work (examples processed): GD's one step "
                   "costs N examples, SGD's one. The steps slider then counts examples.", className="hint"),
            _schedule_field(),
            *[_slider(k) for k in ("noise", "batch")],
            html.P(id="data-note", className="hint data-note"),
            html.Button("New noise draw", id="btn-reseed", className="text-button", n_clicks=0,
                        title="Draw new per-sample tilts and batch order (seed + 1)"),
            html.Details(
                className="per-optimizer",
                id=PARTS["optimizers"].element,
                children=[
                    html.Summary("Per-optimizer settings"),
                    html.Fieldset(id=PARTS["optimizers"].locks[0][0], className="part-fields", children=[
                        html.P("Show or hide an optimizer; type a value to override a shared slider.",
                               className="hint"),
                        html.Span("Shown optimizers", id="visible-label", className="visually-hidden"),
                        dcc.Checklist(
                            id="visible",
                            options=[{"label": html.Span([_swatch(o), OPTIMIZERS[o].name]), "value": o}
                                     for o in OPTIMIZERS],
                            value=list(OPTIMIZERS), className="visible-list",
                        ),
                        html.H3("Extras", className="extras-title", id="extras-label"),
                        html.P("Four refinements of Adam, off by default: tick one to add it to the race.",
                               className="hint"),
                        dcc.Checklist(
                            id="extras",
                            options=[{"label": html.Span([_swatch(o), EXTRAS[o].name]), "value": o} for o in EXTRAS],
                            value=[], className="visible-list extras-list",
                        ),
                        *[_override_row(o) for o in ALL_OPTIMIZERS],
                    ]),
                ],
            ),
            _teacher(),
        ],
    )


def _playback() -> html.Div:
    def button(id_, title):  # icons are CSS masks (assets/style.css): no icon font to fetch
        return html.Button(id=id_, title=title, className="play-button", **{"aria-label": title})

    return html.Div(
        className="playback",
        children=[
            *[button(id_, title) for id_, title in PLAYBACK_BUTTONS],
            html.Div(id="scrubber-host", className="scrubber-host"),
            html.Span(id="step-label", className="step-label", children="step 0"),
            html.Select(
                id="speed", className="speed", title="Animation speed", **{"aria-label": "Animation speed"},
                children=[html.Option(f"{v} steps/s", value=str(v), selected=(v == DEFAULT_SPEED)) for v in SPEEDS],
            ),
        ],
    )


def _tex_number(v: float) -> str:
    """1e-08 as 10^{-8}, 0.9 as 0.9."""
    mantissa, _, exponent = f"{v:g}".partition("e")
    if not exponent:
        return mantissa
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"


def _equations() -> html.Section:
    cards = []
    for oid, spec in ALL_OPTIMIZERS.items():
        defaults = ", ".join(f"${HYPERPARAMETERS[k].symbol} = {_tex_number(v)}$" for k, v in spec.defaults.items())
        lines = r" \\ & ".join(line.strip() for line in spec.formula_tex.split(r"\\"))
        cards.append(
            html.Article(
                # an extra's card is shown only while it is raced (race.extrasShown)
                className="equation-card extra-off" if oid in EXTRAS else "equation-card",
                **({"id": f"card-{oid}"} if oid in EXTRAS else {}),
                style={"borderTopColor": OPTIMIZER_COLORS[oid]},
                children=[
                    html.H3([_swatch(oid), spec.name]),
                    dcc.Markdown(f"$$\n\\begin{{aligned}} & {lines} \\end{{aligned}}\n$$", mathjax=True,
                                 className="formula"),
                    html.Div(id=f"live-{oid}", className="live-numbers"),
                    html.P(spec.lesson),
                    dcc.Markdown(f"Defaults: {defaults}", mathjax=True, className="defaults"),
                ],
            )
        )
    return html.Section(
        className="equations", id=PARTS["equations"].element, **{"aria-labelledby": "equations-title"},
        children=[
            html.H2("The update rules, exactly as they run", id="equations-title"),
            html.P(
                "g is the gradient at θ (for Nesterov at the look-ahead point), t counts steps from "
                "1, every state starts at zero; the rules are those of torch.optim. Under each rule: "
                "the live numbers of the update shown in the race (pause or scrub to read them); "
                "the effective η is the step taken per unit of gradient, −Δθ/g, per coordinate.",
                className="hint",
            ),
            html.Div(cards, className="equation-grid"),
        ],
    )


def _explorer() -> html.Section:
    return html.Section(
        className="explorer",
        id="explorer", **{"aria-labelledby": "explorer-title"},
        children=[
            html.Div(className="explorer-head", children=[
                html.H2("Learning-rate explorer", id="explorer-title"),
                html.Span(id="explorer-status", className="explorer-status"),
                html.Button("Tune: each optimizer its best η", id="btn-tune", className="text-button tune",
                            n_clicks=0, title="Race again with every optimizer at its own best learning rate"),
            ]),
            dcc.Markdown(id="explorer-notes", mathjax=True, className="hint explorer-notes"),
            html.P(id="tune-result", className="tune-result"),
            html.Div(className="band-legend", children=[
                html.Span([html.Span(className="swatch", style={"background": color}), name])
                for name, color in zip(BANDS, BAND_COLORS)
            ] + [html.Span("★ best learning rate (η*)")]),
            dcc.Graph(id="explorer-graph", className="explorer-graph", config={"displayModeBar": False}),
            dcc.Store(id="explorer-best"),
            dcc.Store(id="explorer-shown"),
            dcc.Store(id="explorer-visible", data=False),
            dcc.Store(id="explorer-request"),  # set by the browser only while the explorer is on screen
            dcc.Store(id="explorer-line"),
            dcc.Store(id="tuned"),  # Tune's learning rates while they are in force (moving η hands η back)
        ],
    )


def _share() -> html.Div:
    def button(id_, text, title):
        return html.Button(text, id=id_, className="text-button", title=title, n_clicks=0)

    return html.Div(className="share", id=PARTS["share"].element, children=[
        button("btn-copy-link", "Copy link", "Copy a link that opens exactly this race"),
        button("btn-export-csv", "CSV", "Paths, losses and settings as CSV"),
        button("btn-export-json", "JSON", "The race as JSON: enough to reproduce it"),
        button("btn-export-png", "PNG", "The current view as a picture, with the title, η and step above it"),
        button("btn-export-video", "Video", "Record the race from step 0 to the end as a WebM video"),
        button("btn-export-gif", "GIF", "The race from step 0 to the end as an animated GIF"),
        button("btn-export-html", "HTML", "A single file that replays this race offline"),
        _slides_options(),
        dcc.Download(id="download"),
    ])


# The video and GIF sizes offered (16:9, for slides); the first is the default.
SLIDE_SIZES = ((1280, 720), (1920, 1080), (960, 540), (640, 360))
GIF_MAX_FRAMES = 300  # a longer GIF gets too big for a slide deck; slides.js reads it from the page


def _slides_options() -> html.Div:
    """The video's and GIF's size and speed, and their progress with a Cancel: assets/slides.js
    reads the menus when a recording starts and writes the status line (role=status, so a screen
    reader hears "Recording… 40 %" and the file's name)."""
    def option(label, select):
        return html.Label([html.Span(label), select], className="slides-option")

    return html.Div(className="slides-options", role="group", children=[
        option("Size", html.Select(id="slides-size", className="slides-select", children=[
            html.Option(f"{w} × {h}", value=f"{w}x{h}") for w, h in SLIDE_SIZES])),
        option("Speed", html.Select(id="slides-speed", className="slides-select", children=[
            html.Option(f"{v} steps/s", value=str(v), selected=(v == DEFAULT_SPEED)) for v in SPEEDS])),
        html.P(f"A GIF has at most {GIF_MAX_FRAMES} frames: a longer race plays faster in it.",
               className="hint slides-hint"),
        html.Div(className="slides-progress", children=[
            html.Span(id="slides-status", className="slides-status", role="status", **{"aria-live": "polite"}),
            html.Button("Cancel", id="btn-slides-cancel", className="text-button", hidden=True,
                        title="Stop the recording (Esc)"),
        ]),
    ], **{"aria-label": "Video and GIF options", "data-gif-max-frames": str(GIF_MAX_FRAMES)})


def build_layout() -> html.Div:
    meta = {
        "ids": list(OPTIMIZERS),
        "names": [o.name for o in OPTIMIZERS.values()],
        "colors": [OPTIMIZER_COLORS[o] for o in OPTIMIZERS],
        **browser_meta(),
        # the optimizers whose η the shared slider sets (AdaDelta keeps its own)
        "shared_lr": [o for o in OPTIMIZERS if "lr" not in KEEPS_OWN.get(o, ())],
        # the opt-in extras, raced when ticked (race.js adds them to the race player's data)
        "extras": {"ids": list(EXTRAS), "names": [o.name for o in EXTRAS.values()],
                   "colors": [OPTIMIZER_COLORS[o] for o in EXTRAS]},
    }
    return html.Div(
        className="app",
        id="app-root",  # race.teacherView adds "presenter" and "no-controls"
        children=[
            html.Header(
                className="topbar",
                children=[
                    html.H1("Optimizer Race"),
                    _part("surface", [
                        html.Span("Surface", id="surface-label", className="visually-hidden"),
                        dcc.Dropdown(
                            id="surface", className="surface-menu", clearable=False, searchable=False,
                            options=[{"label": s.name, "value": s.id} for s in SURFACES.values()]
                            + [{"label": "Your formula…", "value": CUSTOM},
                               {"label": "Your data (CSV)…", "value": UPLOAD}],
                            value=DEFAULT_SURFACE,
                        ),
                        html.Div(id="formula-box", className="formula-box", style={"display": "none"}, children=[
                            dcc.Input(id="formula", type="text", value=DEFAULT_FORMULA, debounce=True,
                                      placeholder="f(x, y), e.g. x^2 + 10*y^2", maxLength=300,
                                      spellCheck="false", autoComplete="off", className="formula-input"),
                            html.Span(id="formula-error", className="formula-error", role="alert"),
                        ]),
                    ]),
                    html.Div(className="surface-info", children=[
                        dcc.Markdown(id="surface-formula", mathjax=True, className="surface-formula"),
                        html.P(id="surface-description", className="surface-description"),
                    ]),
                    html.Fieldset(id=PARTS["view"].element, className="part-fields view-fields", children=[
                        html.Span("View", id="view-label", className="visually-hidden"),
                        dcc.RadioItems(
                            id="view", className="view-toggle", inline=True, value="grid",
                            options=[{"label": label, "value": v} for v, label in VIEWS.items()],
                        ),
                    ]),
                    html.Button("Settings", id="btn-controls", className="text-button controls-toggle", n_clicks=0,
                                **{"aria-controls": PARTS["controls"].element}),  # aria-expanded: assets/page.js
                ],
            ),
            _controls(),
            html.Main(
                className="stage",
                children=[
                    # on a phone, the side-by-side view shows one map at a time: this picks it (race.js)
                    html.Div(id="map-switch", className="map-switch", role="group", **{"aria-label": "Map shown"}),
                    html.Div(className="map-host", children=[
                        dcc.Graph(id="race-map", className="race-map", responsive=True,
                                  config={"displayModeBar": False, "doubleClick": False}),
                    ]),
                    _playback(),
                    # predict first: who will win? (race.js fills it while the race waits)
                    html.Div(id="predict-panel", className="predict-panel", hidden=True, role="dialog",
                             **{"aria-label": "Predict the winner"}),
                ],
            ),
            html.Section(
                className="side", **{"aria-label": "Standings"},
                children=[
                    # a Tab stop, so that the keyboard can scroll a long lesson (hidden while empty)
                    html.Div(id="scenario-text", className="scenario-text", tabIndex=0, role="region",
                             **{"aria-label": "Lesson"}),
                    _part("leaderboard", [
                        html.H2("Leaderboard"),
                        html.Div(id="leaderboard", className="leaderboard", children=html.P(
                            "Preparing the first race… The first start after installing compiles the engine "
                            "(a few seconds); after that it is instant.", className="hint")),
                        # why identical paths are identical (σ = 0); assets/player.js fills it
                        html.P(id="race-note", className="race-note", role="note"),
                    ]),
                    _part("loss", dcc.Graph(id="loss-chart", className="loss-chart", responsive=True,
                                            config={"displayModeBar": False})),
                    # a data surface's examples and each optimizer's model at the shown step (assets/datapanel.js)
                    html.Figure(id="data-panel", className="data-panel", hidden=True, children=[
                        html.Canvas(id="data-canvas", className="data-canvas", role="img",
                                    **{"aria-label": "The examples and each optimizer's fitted model"}),
                        html.Figcaption(id="data-caption", className="data-caption"),
                    ]),
                    html.Div(id="notes", className="messages", role="status"),  # of a link, lesson or surface
                    html.Div(id="messages", className="messages", role="status"),  # of the race's inputs
                    _share(),
                ],
            ),
            _explorer(),
            lab_section(),
            _equations(),
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="link"),
            dcc.Store(id="link-pushed"),
            dcc.Store(id="app-meta", data=meta),
            dcc.Store(id="live-step"),
            dcc.Store(id="live-data"),
            dcc.Store(id="live-shown"),
            dcc.Store(id="surface-data"),
            dcc.Store(id="race-data"),
            dcc.Store(id=SCHEDULE.component, data={"kind": "constant"}),  # gathered by race.schedule
            dcc.Store(id=EXAMPLES.component),  # {"model", "csv"}: the user's checked examples (on_examples)
            dcc.Store(id=START.component),  # [x, y]; a click on the map sets it (race.js)
            dcc.Store(id=OVERRIDES.component),  # {optimizer: {hyperparameter: value}}, gathered from the inputs (race.overrides)
            dcc.Store(id=SEED.component, data=0),  # the noise seed; "New noise draw" adds 1 (race.reseed)
            dcc.Store(id="race-shown"),
        ],
    )
