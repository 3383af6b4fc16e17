"""Every control of the page as data: one table from which come the layout's sliders, the
callbacks' Inputs and States (keyword dicts, by name), the check of each untrusted value, the
link's keys, and the metadata the browser reads (race.js).

A control's *raw* value is what its component holds (a slider's position, the start store's
[x, y], the overrides store's {optimizer: {hyperparameter: value}}); `check` turns untrusted raw
JSON into a safe value and says what it changed; `from_link` reads the control's key(s) of a
link into a raw value, `to_link` writes a checked value back. webapp/state.py puts them together
into the one checked record of a race.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, ClassVar

from dash import Input, State

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS
from optimizers.engine import CLOCKS
from optimizers.schedules import SCHEDULES, Schedule
from surfaces.data import MODELS
from surfaces.examples_csv import examples_text

from . import examples_store

MISSING = object()  # a link that does not name the control


class Problems(list):
    """Messages about inputs that were changed or ignored, shown to the user."""


def number(value: Any) -> float | None:
    """A finite float from a JSON value, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float, e.g. 10**400 in the JSON
        return None
    return value if math.isfinite(value) else None


def link_number(text: str | None) -> float | None:
    """A finite float from a link's text, or None."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def link_text(v: float) -> str:
    """`v` as short as it reads back exactly: 6 significant digits when those give the very same
    float (every slider value, 0.001, -1.3141), else Python's shortest round-trip repr (a clicked
    or tuned value such as 0.0015283067326587688), so a link reruns the race bit for bit."""
    short = f"{v:.6g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return short if int(float(short)) == v else str(v)
    v = float(v)
    return short if float(short) == v and math.copysign(1.0, float(short)) == math.copysign(1.0, v) else repr(v)


def _id_list(text: str, limit: int = 20) -> list[str]:
    return [item for item in text.split(",")[:limit] if item]


@dataclass(frozen=True)
class Control:
    """A control: `id` is its name in the callbacks and in the race state, `component` and
    `prop` where the page holds its raw value, `race` whether the race depends on it."""

    id: str
    component: str
    prop: str
    race: bool

    def as_input(self) -> Input:
        return Input(self.component, self.prop)

    def as_state(self) -> State:
        return State(self.component, self.prop)


# -- the sliders ---------------------------------------------------------------------------------
_SCALES = {  # position → value, value → position
    "linear": (lambda p: p, lambda v: v),
    "log10": (lambda p: 10.0**p, math.log10),
    "log2": (lambda p: 2.0**p, math.log2),
    # decay rates near 1: position 3 is 0.999
    "one_minus_log10": (lambda p: 1.0 - 10.0**-p, lambda v: -math.log10(1.0 - v)),
}


@dataclass(frozen=True, kw_only=True)
class Slider(Control):
    """A slider whose position maps to a value by `scale` ("linear", "log10", "log2" or
    "one_minus_log10": value = 1 − 10^−position). Its link key is its id and carries the value."""

    label: str = ""
    symbol: str = ""
    low: float = 0.0
    high: float = 1.0
    step: float = 0.1
    default: float = 0.0  # a position
    scale: str = "linear"
    marks: dict = field(default_factory=dict)
    integer: bool = False

    def value(self, position: float) -> float:
        """The value at `position`, to 6 significant digits: what the readout and a link show,
        so a link reproduces the race exactly."""
        value = _SCALES[self.scale][0](position)
        return int(round(value)) if self.integer else float(f"{value:.6g}")

    def unclamped_position(self, value: float) -> float:
        """Where `value` sits on the slider's scale, which may be beyond its ends."""
        return _SCALES[self.scale][1](value)

    def position(self, value: float) -> float:
        """The position that shows `value` (inverse of `value`), clamped to the slider."""
        return min(max(self.unclamped_position(value), self.low), self.high)

    def check(self, raw: Any, problems: Problems, default: float | None = None) -> float:
        """The value a position stands for, the position clamped to the slider's range; not a
        number: `default` (a value; None: the slider's default position)."""
        p = number(raw)
        if p is None:
            if raw is not None:
                problems.append(f"{self.label}: {str(raw)[:20]!r} is not a number; using the default")
            return self.value(self.default) if default is None else default
        if not self.low <= p <= self.high:
            clamped = min(max(p, self.low), self.high)
            problems.append(f"{self.label}: {self._shown(p)} is out of range; using {self.value(clamped):g}")
            p = clamped
        return self.value(p)

    def _shown(self, position: float) -> str:
        try:
            return f"{_SCALES[self.scale][0](position):.6g}"
        except OverflowError:
            return "a huge number"

    def usable(self, v: float | None) -> bool:
        """Whether `v` has a place on the scale (the scale's own limits, not the slider's range)."""
        return v is not None and (self.scale == "linear" or v > 0) and (self.scale != "one_minus_log10" or v < 1)

    @property
    def range_text(self) -> str:
        return f"{self.value(self.low):g} to {self.value(self.high):g}"

    def from_link(self, params: dict, problems: Problems):
        if self.id not in params:
            return MISSING
        v = link_number(params[self.id])
        if not self.usable(v):
            problems.append(f"the link's {self.label.lower()} {params[self.id][:20]!r} is not usable")
            return MISSING
        # a value the slider shows (0.9999 may sit a rounding error beyond its end) or the
        # position beyond the end, for the check to report
        return self.position(v) if self.value(self.position(v)) == v else self.unclamped_position(v)

    def to_link(self, value) -> list[tuple[str, str]]:
        return [(self.id, link_text(value))]

    def meta(self) -> dict:
        return {"component": self.component, "scale": self.scale, "symbol": self.symbol}


def _log_marks(lo: int, hi: int, every: int = 1) -> dict:
    return {p: f"1e{p}" for p in range(lo, hi + 1, every)}


def _slider(sid, label, symbol, low, high, step, default, scale="linear", marks=None, integer=False) -> Slider:
    """A slider; a hyperparameter's symbol is the registry's (`symbol` None)."""
    symbol = HYPERPARAMETERS[sid].text if symbol is None else symbol
    return Slider(sid, f"slider-{sid}", "value", True, label=label, symbol=symbol, low=low, high=high, step=step,
                  default=default, scale=scale, marks=marks or {}, integer=integer)


_FRACTION_MARKS = {0: "0", 0.5: "0.5", 0.9: "0.9"}
SLIDERS: dict[str, Slider] = {
    s.id: s
    for s in (
        _slider("lr", "Learning rate", None, -5.0, 1.0, 0.05, -2.0, "log10", _log_marks(-5, 1)),
        _slider("gamma", "Momentum", None, 0.0, 0.99, 0.01, 0.9, marks=_FRACTION_MARKS),
        _slider("rho", "Decay", None, 0.0, 0.999, 0.001, 0.9, marks=_FRACTION_MARKS),
        _slider("beta1", "First moment", None, 0.0, 0.99, 0.01, 0.9, marks=_FRACTION_MARKS),
        _slider("beta2", "Second moment", None, 1.0, 4.0, 0.05, 3.0, "one_minus_log10",
                {1: "0.9", 2: "0.99", 3: "0.999", 4: "0.9999"}),
        _slider("eps", "Floor", None, -12.0, -1.0, 0.5, -8.0, "log10", _log_marks(-12, -1, 3)),
        _slider("steps", "Steps", "", 20, 3000, 10, 500, marks={20: "20", 1000: "1000", 2000: "2000", 3000: "3000"},
                integer=True),
        _slider("noise", "Gradient noise", "σ", 0.0, 10.0, 0.1, 0.0, marks={0: "0", 5: "5", 10: "10"}),
        _slider("batch", "Batch size", "B", 0, 8, 1, 4, "log2", {p: str(2**p) for p in range(9)}, integer=True),
    )
}
HYPERPARAMETER_SLIDERS = ("lr", "gamma", "rho", "beta1", "beta2", "eps")  # shared by the optimizers that have them


# -- the other controls ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Overrides(Control):
    """Per-optimizer hyperparameters, {optimizer: {hyperparameter: value}}: the overrides store,
    which the browser fills from the per-optimizer inputs. Link: `set=adam.lr:0.05,…`."""

    def check(self, raw: Any, problems: Problems, raced=None) -> dict[str, dict[str, float]]:
        """The usable overrides of the `raced` optimizers (None: all): an empty input means "use
        the shared slider"; anything else unusable is reported and dropped."""
        result: dict[str, dict[str, float]] = {}
        if raw is None:
            return result
        if not isinstance(raw, dict):
            problems.append("the per-optimizer settings were not readable; using the shared sliders")
            return result
        for oid, hps in list(raw.items())[:len(ALL_OPTIMIZERS)]:
            if not (isinstance(oid, str) and oid in ALL_OPTIMIZERS and isinstance(hps, dict)):
                problems.append(f"ignored the settings of an unknown optimizer {str(oid)[:20]!r}")
                continue
            spec = ALL_OPTIMIZERS[oid]
            for key, value in list(hps.items())[:len(HYPERPARAMETERS)]:
                if value is None or value == "":
                    continue
                if not (isinstance(key, str) and key in spec.defaults):
                    problems.append(f"ignored {spec.name}'s {str(key)[:20]!r}: {spec.name} has no such hyperparameter")
                    continue
                try:
                    value = HYPERPARAMETERS[key].check(value, spec.name)
                except ValueError as err:
                    problems.append(f"{err}; ignored")
                    continue
                if raced is None or oid in raced:  # an extra that is not raced keeps no setting
                    result.setdefault(oid, {})[key] = value
        return result

    def from_link(self, params: dict, problems: Problems):
        if "set" not in params:
            return MISSING
        raw: dict[str, dict[str, float]] = {}
        for item in _id_list(params["set"], 60):
            name, _, text = item.partition(":")
            oid, _, key = name.partition(".")
            v = link_number(text)
            if oid not in ALL_OPTIMIZERS or key not in ALL_OPTIMIZERS[oid].defaults or v is None:
                problems.append(f"ignored the link's setting {item[:40]!r}")
                continue
            raw.setdefault(oid, {})[key] = v
        return raw

    def to_link(self, value) -> list[tuple[str, str]]:
        items = [f"{oid}.{k}:{link_text(v)}" for oid, hp in value.items() for k, v in hp.items()]
        return [("set", ",".join(items))] if items else []


@dataclass(frozen=True, kw_only=True)
class Choices(Control):
    """A set of ids out of `options` (a checklist), in the options' order. Link: `key=id,id`
    listing the chosen ones (or, with `complement`, the ones not chosen)."""

    options: tuple
    default: tuple
    key: str
    noun: str
    complement: bool = False
    shares_key_with: tuple = ()  # ids another control reads from the same link key
    says_unknown: bool = True  # reports unknown ids (of a shared key, one control does)

    def check(self, raw: Any, problems: Problems) -> tuple[str, ...]:
        if raw is None:
            return self.default
        if not isinstance(raw, list):
            problems.append(f"the {self.noun} were not a list; using the default")
            return self.default
        unknown = [v for v in raw if not (isinstance(v, str) and v in self.options)]
        if unknown:
            problems.append(f"ignored unknown {self.noun} {', '.join(repr(v)[:30] for v in unknown[:3])}")
        return tuple(o for o in self.options if o in raw)

    def from_link(self, params: dict, problems: Problems):
        if self.key not in params:
            return MISSING
        named = [n for n in _id_list(params[self.key], 60) if n not in self.shares_key_with]
        unknown = [n for n in named if n not in self.options]
        if unknown and self.says_unknown:
            problems.append(f"the link names unknown {self.noun} {', '.join(repr(n[:20]) for n in unknown[:3])}; ignored")
        named = [n for n in named if n in self.options]
        return [o for o in self.options if o not in named] if self.complement else named

    def to_link(self, value) -> list[tuple[str, str]]:
        listed = [o for o in self.options if o not in value] if self.complement else list(value)
        return [(self.key, ",".join(listed))] if listed else []


@dataclass(frozen=True, kw_only=True)
class Choice(Control):
    """One id out of the options (a menu or radio items); `options_of` lists them when asked (the
    surfaces and lessons are known once their modules load). Link: `key=id`, left out at its
    default."""

    options_of: Callable[[], tuple]
    default: str | None
    key: str
    noun: str
    omit_default: bool = True  # a link leaves the default out (not the surface: links say what they race)

    @property
    def options(self) -> tuple:
        return self.options_of()

    def check(self, raw: Any, problems: Problems):
        """`raw` if it is one of the options, else the default (None: not chosen, said nothing)."""
        if raw is None or raw in self.options:
            return self.default if raw is None else raw
        problems.append(f"unknown {self.noun} {str(raw)[:40]!r}; using {self.default or 'none'}")
        return self.default

    def from_link(self, params: dict, problems: Problems):
        return params.get(self.key, MISSING)

    def to_link(self, value) -> list[tuple[str, str]]:
        return [] if value is None or (self.omit_default and value == self.default) else [(self.key, value)]


@dataclass(frozen=True)
class Seed(Control):
    """The noise seed, a whole number in [0, 2³¹ − 1] (the seed store; "New noise draw" adds 1)."""

    LIMIT: ClassVar[int] = 2**31 - 1

    def check(self, raw: Any, problems: Problems) -> int:
        v = number(raw)
        if v is None or v != int(v) or not 0 <= v <= self.LIMIT:
            if raw is not None:
                problems.append(f"the noise seed {str(raw)[:20]!r} is not a whole number from 0 to 2³¹ − 1; using 0")
            return 0
        return int(v)

    def from_link(self, params: dict, problems: Problems):
        if "seed" not in params:
            return MISSING
        v = link_number(params["seed"])
        return params["seed"][:20] if v is None else v  # the check reports it

    def to_link(self, value) -> list[tuple[str, str]]:
        return [("seed", str(value))] if value else []


@dataclass(frozen=True)
class Start(Control):
    """The start point [x, y] (the start store; a click on the map sets it). One policy
    everywhere, app, link and command line: a point outside the map is moved onto its edge,
    and the user is told."""

    def check(self, raw: Any, problems: Problems, domain) -> tuple[float, float] | None:
        """A start inside `domain`, or None (the surface's own start) when `raw` is missing."""
        if raw is None:
            return None
        if isinstance(raw, (list, tuple)) and len(raw) == 2:
            x, y = number(raw[0]), number(raw[1])
            if x is not None and y is not None:
                (x0, x1), (y0, y1) = domain
                point = (min(max(x, x0), x1), min(max(y, y0), y1))
                if point != (x, y):
                    problems.append(f"the start ({x:g}, {y:g}) is outside the map (x in [{x0:g}, {x1:g}], "
                                    f"y in [{y0:g}, {y1:g}]); starting at ({point[0]:g}, {point[1]:g})")
                return point
        problems.append("the start point was not a pair of numbers; using the surface's start")
        return None

    def from_link(self, params: dict, problems: Problems):
        if "x" not in params and "y" not in params:
            return MISSING
        x, y = link_number(params.get("x")), link_number(params.get("y"))
        if x is None or y is None:
            problems.append("the link's start point is not a pair of numbers")
            return MISSING
        return [x, y]

    def to_link(self, value) -> list[tuple[str, str]]:
        return [] if value is None else [("x", link_text(value[0])), ("y", link_text(value[1]))]


@dataclass(frozen=True, kw_only=True)
class Text(Control):
    """A line of text (the formula box), at most `limit` characters. Link: `key=…`."""

    key: str
    limit: int
    default: str

    def check(self, raw: Any, problems: Problems) -> str:
        return raw[: self.limit] if isinstance(raw, str) and raw.strip() else self.default

    def from_link(self, params: dict, problems: Problems):
        return params.get(self.key, MISSING)

    def to_link(self, value) -> list[tuple[str, str]]:
        return [(self.key, value)]


@dataclass(frozen=True, kw_only=True)
class Examples(Control):
    """The user's examples (the surface UPLOAD): {"model": "linear" or "logistic", "csv": text}
    in the examples store, which the upload box fills once they pass its check, or for a larger
    set {"model", "digest", "rows"}, kept on the server (webapp/examples_store.py). Checked, they
    are (model, the CSV written back exactly: `examples_text`). Link: `data=x:y,x:y,…` and
    `model=logistic`, inline only while the link stays short (`link_limit` characters)."""

    default: tuple[str, str]
    link_limit: int = 2500

    def check(self, raw: Any, problems: Problems) -> tuple[str, str]:
        if raw is None:
            return self.default
        if isinstance(raw, dict) and "digest" in raw and "csv" not in raw:
            try:
                model, text = examples_store.load(raw["digest"])
            except ValueError as err:
                problems.append(f"{err}; using the sample examples")
                return self.default
            raw = {"model": model, "csv": text}
        if not (isinstance(raw, dict) and isinstance(raw.get("model"), str) and raw["model"] in MODELS
                and isinstance(raw.get("csv"), str)):
            problems.append("the examples were not readable; using the sample examples")
            return self.default
        try:
            return raw["model"], canonical_examples(raw["model"], raw["csv"])
        except ValueError as err:
            problems.append(f"{err}; using the sample examples")
            return self.default

    def from_link(self, params: dict, problems: Problems):
        if "data" not in params:
            return MISSING
        rows = [row.replace(":", ",") for row in params["data"].split(",")]
        return {"model": params.get("model", "linear"), "csv": "\n".join(rows)}

    def link_form(self, value: tuple[str, str]) -> str:
        """The examples as the link writes them, x:y pairs separated by commas."""
        return ",".join(line.replace(",", ":") for line in value[1].splitlines()[1:])

    def fits_link(self, value: tuple[str, str]) -> bool:
        return len(self.link_form(value)) <= self.link_limit

    def to_link(self, value) -> list[tuple[str, str]]:
        if not self.fits_link(value):
            return []  # state.encode says why (link_problems)
        return [("data", self.link_form(value))] + ([("model", value[0])] if value[0] != "linear" else [])


@lru_cache(maxsize=16)  # every race request checks them again: a large set costs tens of ms
def canonical_examples(model: str, text: str) -> str:
    """`text`'s examples written back exactly (one text per set of examples, a stable cache key);
    ValueError, in plain words, for examples a data surface cannot use (the surface is built
    here, once: it refuses what the file reader cannot see, such as separable classes)."""
    x, y = examples_store.examples_surface(model, text).examples
    return examples_text(x, y, model)


@dataclass(frozen=True)
class ScheduleChoice(Control):
    """The learning-rate schedule, {"kind": …, parameter: value, …}: the schedule store, which the
    browser gathers from the kind menu and the chosen kind's inputs (race.schedule); an empty
    input is the parameter's default. Link: `schedule=step:step_size=100,gamma=0.5`
    (optimizers.schedules' text form), left out when constant."""

    def check(self, raw: Any, problems: Problems) -> dict:
        if raw is None or raw == {} or (isinstance(raw, dict) and raw.get("kind") == "constant"):
            return {"kind": "constant"}
        if not (isinstance(raw, dict) and isinstance(raw.get("kind"), str) and raw["kind"] in SCHEDULES):
            problems.append("the learning-rate schedule was not readable; using a constant η")
            return {"kind": "constant"}
        kind = raw["kind"]
        given = {}
        for parameter in SCHEDULES[kind].parameters:
            value = raw.get(parameter.key)
            if value is None or value == "":
                continue
            try:
                given[parameter.key] = parameter.check(value, kind)
            except ValueError as err:
                problems.append(f"{err}; using its default")
        return {"kind": kind, **given}

    def from_link(self, params: dict, problems: Problems):
        if "schedule" not in params:
            return MISSING
        kind, _, rest = params["schedule"].partition(":")
        raw: dict[str, Any] = {"kind": kind}
        for item in _id_list(rest, 10):
            key, _, text = item.partition("=")
            value = link_number(text)
            if value is None:
                problems.append(f"ignored the link's schedule setting {item[:40]!r}")
                continue
            raw[key] = value
        return raw

    def to_link(self, value) -> list[tuple[str, str]]:
        if value.get("kind", "constant") == "constant":
            return []
        items = [f"{k}={link_text(v)}" for k, v in value.items() if k != "kind"]
        return [("schedule", value["kind"] + (":" + ",".join(items) if items else ""))]


def schedule_for(value: dict, steps: int, problems: Problems | None = None) -> Schedule | None:
    """The engine's Schedule for a checked schedule value and the race's length (None: constant);
    a combination the race cannot run (a warm-up as long as the race, say) falls back to a
    constant η with a message."""
    if value.get("kind", "constant") == "constant":
        return None
    try:
        schedule = Schedule.from_dict(value)
        schedule.factors(steps)  # the checks that depend on the race's length
        return schedule
    except ValueError as err:
        if problems is not None:
            problems.append(f"{err}; racing at a constant η")
        return None


@dataclass(frozen=True, kw_only=True)
class Flag(Control):
    """An on/off setting of the page: a checklist of one option, `key` (ticked: on). Link: `key=1`."""

    key: str
    label: str

    def check(self, raw: Any, problems: Problems) -> bool:
        return isinstance(raw, list) and self.key in raw

    def from_link(self, params: dict, problems: Problems):
        if self.key not in params:
            return MISSING
        if params[self.key] not in ("1", "0"):
            problems.append(f"the link's {self.key}={params[self.key][:20]!r} is not 1 or 0; ignored")
            return MISSING
        return [self.key] if params[self.key] == "1" else []

    def to_link(self, value) -> list[tuple[str, str]]:
        return [(self.key, "1")] if value else []


# -- teacher mode: parts of the page a link can hide or lock ---------------------------------------
@dataclass(frozen=True)
class Part:
    """A part of the page a teacher's link can hide (`hide=noise,explorer`) or lock
    (`lock=lr`): `element` is what hides (its `hidden` property; None: nothing to hide),
    `locks` the (component, property) pairs set true to lock it (a fieldset's `disabled` locks
    every form control inside it); `lockable` False for a part that is only shown."""

    id: str
    label: str
    element: str | None
    locks: tuple[tuple[str, str], ...] = ()
    lockable: bool = True


PARTS: dict[str, Part] = {
    p.id: p
    for p in (
        Part("controls", "All controls (the left column)", "controls", (), lockable=False),
        Part("surface", "Surface menu", "part-surface", (("surface", "disabled"), ("formula", "disabled"))),
        Part("lessons", "Lessons menu", "part-lessons", (("scenario", "disabled"),)),
        *(Part(sid, s.label, f"control-{sid}", ((s.component, "disabled"),)) for sid, s in SLIDERS.items()),
        Part("reseed", "New noise draw", "btn-reseed", (("btn-reseed", "disabled"),)),
        Part("start", "Start point (a click on the map)", None),  # race.js ignores the click
        Part("optimizers", "Per-optimizer settings", "part-optimizers", (("part-optimizers-fields", "disabled"),)),
        Part("view", "View switch", "part-view", (("part-view", "disabled"),)),
        Part("leaderboard", "Leaderboard", "part-leaderboard", (), lockable=False),
        Part("loss", "Loss chart", "part-loss", (), lockable=False),
        Part("share", "Link and export buttons", "share", (), lockable=False),
        Part("explorer", "Learning-rate explorer", "explorer", (("btn-tune", "disabled"),)),
        Part("lab", "Learning-rate lab", "lab", (("lab-fields", "disabled"),)),
        Part("equations", "Update rules", "equations", (), lockable=False),
    )
}


# The page's choices that are not sliders, and their defaults.
DEFAULT_SURFACE = "rosenbrock"
CUSTOM = "custom"  # the surface menu's entry for a typed formula
DEFAULT_FORMULA = "x^2/4 + y^2 + sin(3*x)*cos(2*y)"
UPLOAD = "upload"  # the surface menu's entry for the user's own examples
# What "Your data" races before anything is uploaded: every fifteenth iris flower
DEFAULT_EXAMPLES = ("linear", "x,y\n1.4,0.2\n1.5,0.2\n1.5,0.2\n1.6,0.2\n1.7,0.5\n4.7,1.4\n4.1,1.3\n"
                    "4.4,1.4\n5.1,1.9\n4.4,1.3\n6,2.5\n6.6,2.1\n5.6,2.4\n5.1,1.8\n5.9,2.3\n")
VIEWS = {"grid": "Side by side", "overlay": "Overlay", "3d": "3-D"}
CLOCK_LABELS = {"steps": "Per step", "examples": "Per example processed"}
LAB_PANELS = {"range": "Range test", "map": "Momentum map", "sharpness": "Sharpness"}


def _surface_ids() -> tuple[str, ...]:
    from surfaces import SURFACES  # imported when first asked: the catalog builds SymPy expressions

    return (*SURFACES, CUSTOM, UPLOAD)


def _scenario_ids() -> tuple[str, ...]:
    from .scenarios import SCENARIOS  # the lessons are race states, which import this module

    return tuple(SCENARIOS)


SURFACE = Choice("surface", "surface", "value", True, options_of=_surface_ids, default=DEFAULT_SURFACE,
                 key="surface", noun="surface", omit_default=False)
FORMULA = Text("formula", "formula", "value", True, key="f", limit=1000, default=DEFAULT_FORMULA)
EXAMPLES = Examples("examples", "examples", "data", True, default=DEFAULT_EXAMPLES)
SCHEDULE = ScheduleChoice("schedule", "schedule", "data", True)
CLOCK = Choice("clock", "clock", "value", True, options_of=lambda: CLOCKS, default="steps", key="clock", noun="clock")
START = Start("start", "start-point", "data", True)
OVERRIDES = Overrides("overrides", "overrides", "data", True)
SEED = Seed("seed", "seed", "data", True)
EXTRAS_CHOICE = Choices("extras", "extras", "value", True, options=tuple(EXTRAS), default=(), key="extras",
                        noun="extras")
VISIBLE = Choices("visible", "visible", "value", False, options=tuple(OPTIMIZERS), default=tuple(OPTIMIZERS),
                  key="hide", noun="optimizers or parts", complement=True, shares_key_with=tuple(PARTS))
# Teacher mode: `hide` lists hidden parts beside hidden optimizers (their ids never clash)
HIDDEN_PARTS = Choices("hidden_parts", "hidden-parts", "value", False, options=tuple(PARTS), default=(), key="hide",
                       noun="parts", shares_key_with=tuple(OPTIMIZERS), says_unknown=False)
LOCKED_PARTS = Choices("locked_parts", "locked-parts", "value", False,
                       options=tuple(p.id for p in PARTS.values() if p.lockable), default=(), key="lock",
                       noun="parts to lock")
PREDICT = Flag("predict", "predict", "value", False, key="predict",
               label="Predict first: students pick the winner before the race plays")
PRESENT = Flag("present", "present", "value", False, key="present",
               label="Presenter view: large type, the lesson on screen")
VIEW = Choice("view", "view", "value", False, options_of=lambda: tuple(VIEWS), default="grid", key="view",
              noun="view")
LAB = Choice("lab", "lab-panel", "value", False, options_of=lambda: tuple(LAB_PANELS), default="range", key="lab",
             noun="lab panel")
SCENARIO = Choice("scenario", "scenario", "value", False, options_of=_scenario_ids, default=None, key="scenario",
                  noun="lesson")

# Every control, in the order the state is checked (the surface first: the start's domain and
# the learning rate's default are the surface's; the extras before the overrides they allow).
CONTROLS: dict[str, Control] = {
    c.id: c
    for c in (SURFACE, FORMULA, EXAMPLES, START, *SLIDERS.values(), CLOCK, SCHEDULE, EXTRAS_CHOICE, OVERRIDES, SEED, VISIBLE, VIEW, LAB, SCENARIO,
              HIDDEN_PARTS, LOCKED_PARTS, PREDICT, PRESENT)
}
RACE_CONTROLS = tuple(c for c in CONTROLS.values() if c.race)
PAGE_CONTROLS = tuple(c for c in CONTROLS.values() if not c.race)  # the link's, not the race's


def inputs(controls=RACE_CONTROLS) -> dict[str, Input]:
    """The controls as a callback's keyword Inputs."""
    return {c.id: c.as_input() for c in controls}


def states(controls=RACE_CONTROLS) -> dict[str, State]:
    """The controls as a callback's keyword States."""
    return {c.id: c.as_state() for c in controls}


def browser_meta() -> dict:
    """What the browser needs to know of the controls (race.js reads it from the page)."""
    return {
        "sliders": {sid: s.meta() for sid, s in SLIDERS.items()},
        "parts": {p.id: {"element": p.element, "locks": [list(lock) for lock in p.locks]} for p in PARTS.values()},
    }


# The playback and the views, shared by the app's page and the exported replay (webapp/export).
EXPORT_VIEWS = ("grid", "overlay")  # the offline replay has no 3-D view
SPEEDS = (25, 50, 100, 200, 400, 1000)  # animation steps per second
DEFAULT_SPEED = 100
# (id, title) of each playback button; the icons are CSS masks on the ids (assets/style.css)
PLAYBACK_BUTTONS = (
    ("btn-restart", "Restart (Home)"),
    ("btn-back", "Step back (←, Shift+← for 10)"),
    ("btn-play", "Play / pause (Space)"),
    ("btn-forward", "Step forward (→, Shift+→ for 10)"),
)
