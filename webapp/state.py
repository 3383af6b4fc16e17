"""The whole race as a URL query: surface, start, every slider, overrides, hidden optimizers,
the raced extras, view, scenario and noise seed (the animation step is kept by the browser, see race.js).

A shared link reproduces the race exactly. The query is untrusted: unknown keys are ignored,
bad values are reported and replaced, numbers are clamped to the controls' ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS
from surfaces import SURFACES

from .controls import SLIDERS, VIEWS
from .race import CUSTOM, DEFAULT_FORMULA, surface_for

MAX_QUERY = 4000


@dataclass(frozen=True)
class RaceState:
    surface: str
    start: tuple[float, float] | None = None  # None: the surface's own start
    values: dict = field(default_factory=dict)  # slider id → value (not position); missing: default
    overrides: dict = field(default_factory=dict)  # optimizer id → {hyperparameter: value}
    hidden: tuple[str, ...] = ()
    view: str = "grid"
    scenario: str | None = None
    seed: int = 0
    formula: str = ""  # the typed formula when surface is "custom"
    extras: tuple[str, ...] = ()  # the opt-in extras raced besides the nine, in EXTRAS order

    def positions(self) -> dict[str, float]:
        """Every slider's position: the value's, clamped, or the default position (for the
        learning rate, the surface's own; a custom formula that is not allowed raises ValueError)."""
        out = {}
        for sid, slider in SLIDERS.items():
            if sid in self.values:
                out[sid] = slider.position(self.values[sid])
            elif sid == "lr":
                out[sid] = slider.position(surface_for(self.surface, self.formula, [])[0].lr)
            else:
                out[sid] = slider.default
        return out

    def with_surface(self, surface_id: str) -> "RaceState":
        """The same settings on another surface, with that surface's start and learning rate:
        learning rates, shared or per optimizer (Tune's, say), belong to the old surface's scale."""
        values = {k: v for k, v in self.values.items() if k != "lr"}
        overrides = {oid: rest for oid, hp in self.overrides.items() if (rest := {k: v for k, v in hp.items() if k != "lr"})}
        return replace(self, surface=surface_id, start=None, values=values, overrides=overrides, scenario=None)


def _fmt(v: float) -> str:
    """`v` as short as it reads back exactly: 6 significant digits when those give the very same
    float (every slider value, 0.001, -1.3141), else Python's shortest round-trip repr (a clicked
    or tuned value such as 0.0015283067326587688), so a link reruns the race bit for bit."""
    short = f"{v:.6g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return short if int(float(short)) == v else str(v)
    v = float(v)
    return short if float(short) == v and math.copysign(1.0, float(short)) == math.copysign(1.0, v) else repr(v)


def encode(state: RaceState) -> str:
    """The query string (with its leading '?') for a state."""
    q: list[tuple[str, str]] = [("surface", state.surface)]
    if state.surface == CUSTOM:
        q.append(("f", state.formula or DEFAULT_FORMULA))
    if state.scenario:
        q.append(("scenario", state.scenario))
    if state.start is not None:
        q += [("x", _fmt(state.start[0])), ("y", _fmt(state.start[1]))]
    q += [(sid, _fmt(state.values[sid])) for sid in SLIDERS if sid in state.values]
    over = [f"{oid}.{k}:{_fmt(v)}" for oid, hp in state.overrides.items() for k, v in hp.items()]
    if over:
        q.append(("set", ",".join(over)))
    if state.hidden:
        q.append(("hide", ",".join(state.hidden)))
    if state.extras:
        q.append(("extras", ",".join(state.extras)))
    if state.view != "grid":
        q.append(("view", state.view))
    if state.seed:
        q.append(("seed", str(state.seed)))
    return "?" + urlencode(q, safe=",:.^*()")


def _float(text: str) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def decode(search: str | None, default_surface: str, problems: list[str],
           scenarios: dict[str, RaceState] | None = None) -> RaceState:
    """The state a query describes; anything unreadable is reported and left at its default.
    A link that names only a scenario (as `?scenario=…`) opens that lesson as written."""
    search = search if isinstance(search, str) else ""
    if len(search) > MAX_QUERY:
        problems.append("the link is too long; it was ignored")
        search = ""
    params = dict(parse_qsl(search.lstrip("?"), keep_blank_values=False))
    if scenarios and params.get("scenario") in scenarios and set(params) <= {"scenario", "surface"}:
        return scenarios[params["scenario"]]
    surface = params.get("surface", default_surface)
    if surface not in SURFACES and surface != CUSTOM:
        problems.append(f"the link names an unknown surface {surface[:40]!r}")
        surface = default_surface
    formula = params.get("f", DEFAULT_FORMULA)[:1000] if surface == CUSTOM else ""
    start = None
    if "x" in params or "y" in params:
        x, y = _float(params.get("x")), _float(params.get("y"))
        if x is None or y is None:
            problems.append("the link's start point is not a pair of numbers")
        else:
            start = (x, y)  # clamped into the surface's domain when the race is built
    values = {}
    for sid, slider in SLIDERS.items():
        if sid in params:
            v = _float(params[sid])
            if v is None or (slider.scale != "linear" and v <= 0) or (slider.scale == "one_minus_log10" and v >= 1):
                problems.append(f"the link's {slider.label.lower()} {params[sid][:20]!r} is not usable")
                continue
            values[sid] = slider.value(slider.position(v))  # clamped to what the slider can show
            if values[sid] != v and not slider.low <= slider.unclamped_position(v) <= slider.high:
                problems.append(f"the link's {slider.label.lower()} {params[sid][:20]!r} is out of range; "
                                f"using {values[sid]:g}")
    named = [e for e in params.get("extras", "").split(",")[:20] if e]
    unknown = [e for e in named if e not in EXTRAS]
    if unknown:
        problems.append(f"the link names unknown extras {', '.join(repr(e[:20]) for e in unknown[:3])}; ignored")
    extras = tuple(e for e in EXTRAS if e in named)
    raced = {*OPTIMIZERS, *extras}
    overrides: dict[str, dict[str, float]] = {}
    for item in filter(None, params.get("set", "").split(",")[:60]):
        name, _, text = item.partition(":")
        oid, _, key = name.partition(".")
        v = _float(text)
        if oid not in raced or key not in ALL_OPTIMIZERS[oid].defaults or v is None:
            problems.append(f"ignored the link's setting {item[:40]!r}")
            continue
        try:
            overrides.setdefault(oid, {})[key] = HYPERPARAMETERS[key].check(v, ALL_OPTIMIZERS[oid].name)
        except ValueError as err:
            problems.append(str(err))
    hidden = tuple(o for o in OPTIMIZERS if o in params.get("hide", "").split(","))
    view = params.get("view", "grid")
    if view not in VIEWS:
        problems.append(f"unknown view {view[:20]!r}")
        view = "grid"
    seed_value = _float(params.get("seed", "0"))
    seed = int(seed_value) if seed_value is not None and 0 <= seed_value < 2**31 else 0
    if "seed" in params and seed != seed_value:
        problems.append(f"the link's noise seed {params['seed'][:20]!r} is not a whole number from 0 to 2³¹ − 1; "
                        "using 0")
    scenario = params.get("scenario")
    return RaceState(surface, start, values, overrides, hidden, view, scenario, seed, formula, extras)
