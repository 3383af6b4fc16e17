"""The race state: the one checked record of a race and of the page's controls around it.

`parse(raw)` checks untrusted raw control values (keyed by control id, webapp/controls.py)
into a `RaceState` and says what it changed; the app's callbacks, the link (`decode`) and the
command line (webapp/export) all go through it, so a value has one policy everywhere. From the
state come the controls' values (`controls`, for setting the page), the link (`encode`), and
the race itself: `race_key` is the engine's arguments in hashable form, the cache key.

A link is the state as a URL query: unknown keys are ignored, bad values are reported and
replaced, numbers are clamped to the controls' ranges (the animation step is the browser's,
see race.js).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, NamedTuple
from urllib.parse import parse_qsl, urlencode

from optimizers import ALL_OPTIMIZERS, EXTRAS, OPTIMIZERS
from optimizers.engine import examples_per_epoch, is_data
from surfaces import SURFACES, Surface, surface_from_formula
from surfaces.formula import normalise_formula

from . import examples_store
from .controls import (CLOCK, CONTROLS, LAB, SCHEDULE, schedule_for, CUSTOM, DEFAULT_EXAMPLES, DEFAULT_FORMULA, DEFAULT_SURFACE, EXAMPLES,
                       EXTRAS_CHOICE, FORMULA, HIDDEN_PARTS, HYPERPARAMETER_SLIDERS, LOCKED_PARTS, MISSING, OVERRIDES,
                       PREDICT, PRESENT, SCENARIO, SEED, SLIDERS, START, SURFACE, UPLOAD, VIEW, VIEWS, VISIBLE,
                       Problems)

MAX_QUERY = 4000
# AdaDelta's η = 1 and ε = 1e-6 belong to the rule (it needs no learning rate, and its ε sets
# the size of its first steps): the shared η and ε sliders leave them alone; the per-optimizer
# settings can still override them.
KEEPS_OWN = {"adadelta": {"lr", "eps"}}

__all__ = ["RaceState", "RaceKey", "parse", "encode", "decode", "link_problems", "surface_for", "race_settings", "KEEPS_OWN",
           "VIEWS", "Problems"]


def surface_for(surface_id: str, formula: str, examples: tuple[str, str] = DEFAULT_EXAMPLES) -> tuple[Surface, str]:
    """The surface an id names (for CUSTOM, the typed formula's; for UPLOAD, the examples') and the
    normalised formula ("" for a built-in). A formula that is not allowed raises ValueError with
    the reason in plain words."""
    if surface_id == UPLOAD:
        return examples_store.examples_surface(*examples), ""
    if surface_id == CUSTOM:
        normalised = normalise_formula(formula if isinstance(formula, str) and formula.strip() else DEFAULT_FORMULA)
        return surface_from_formula(normalised), normalised
    return SURFACES[surface_id], ""


def race_settings(shared: Mapping[str, float], overrides: Mapping[str, Mapping[str, float]], extras=()) -> dict:
    """Every raced optimizer's hyperparameters (the nine, then the chosen `extras` in EXTRAS
    order): a shared slider's value where the optimizer has that hyperparameter (unless it keeps
    its own), then the optimizer's overrides on top."""
    settings = {}
    for oid in [*OPTIMIZERS, *(e for e in EXTRAS if e in extras)]:
        own = KEEPS_OWN.get(oid, set())
        hp = {k: shared[k] for k in ALL_OPTIMIZERS[oid].defaults if k in shared and k not in own}
        hp.update(overrides.get(oid, {}))
        settings[oid] = hp
    return settings


class RaceKey(NamedTuple):
    """The engine's arguments for a race, hashable: the cache key of a race."""

    surface_id: str
    formula: str  # the normalised formula of a custom surface, "" for a built-in
    start: tuple[float, float]
    settings: tuple  # ((optimizer, ((hyperparameter, value), …)), …) in race order
    steps: int
    noise: float
    batch_size: int
    seed: int
    clock: str = "steps"
    examples: tuple[str, str] = ("", "")  # (model, checked CSV) of the surface UPLOAD
    schedule: tuple = ()  # the schedule's (key, value) pairs, () for a constant η

    @property
    def surface(self) -> Surface:
        return surface_for(self.surface_id, self.formula, self.examples)[0]

    @property
    def ids(self) -> list[str]:
        """The raced optimizers in race order: the nine, then the chosen extras."""
        return [oid for oid, _ in self.settings]

    @property
    def extras(self) -> tuple[str, ...]:
        return tuple(oid for oid in self.ids if oid in EXTRAS)

    def settings_dict(self) -> dict:
        return {oid: dict(hp) for oid, hp in self.settings}

    def rollout_arguments(self, record_states: bool = False) -> dict:
        """`optimizers.rollout`'s keyword arguments."""
        return dict(surface=self.surface, start=self.start, steps=self.steps, settings=self.settings_dict(),
                    optimizers=self.ids, noise=self.noise, batch_size=self.batch_size, seed=self.seed,
                    record_states=record_states, clock=self.clock,
                    schedule=dict(self.schedule) if self.schedule else None)


@dataclass(frozen=True)
class RaceState:
    """A race and the page around it. Written by hand (a lesson), a field may be left out: a
    missing slider value is the slider's default (the learning rate's, the surface's own), a
    missing start the surface's. `parse` gives every field."""

    surface: str
    start: tuple[float, float] | None = None
    values: dict = field(default_factory=dict)  # slider id → value (not position)
    overrides: dict = field(default_factory=dict)  # optimizer id → {hyperparameter: value}
    hidden: tuple[str, ...] = ()
    view: str = "grid"
    scenario: str | None = None
    seed: int = 0
    formula: str = ""  # the typed formula when surface is CUSTOM
    extras: tuple[str, ...] = ()  # the opt-in extras raced besides the nine, in EXTRAS order
    # teacher mode: parts of the page hidden or locked, students predict first, presenter view
    hidden_parts: tuple[str, ...] = ()
    locked_parts: tuple[str, ...] = ()
    predict: bool = False
    present: bool = False
    examples: tuple[str, str] = DEFAULT_EXAMPLES  # (model, checked CSV) when surface is UPLOAD
    clock: str = "steps"  # or "examples": the race is fair in work done (optimizers.rollout)
    lab: str = "range"  # the learning-rate lab's panel on screen (webapp/lab.py)
    schedule: dict = field(default_factory=lambda: {"kind": "constant"})  # of η (optimizers.schedules)

    @property
    def surface_model(self) -> Surface:
        """The Surface (ValueError for a typed formula that is not allowed)."""
        return surface_for(self.surface, self.formula, self.examples)[0]

    def value(self, slider_id: str) -> float:
        """A slider's value: the state's, or the default (the learning rate's is the surface's)."""
        if slider_id in self.values:
            return self.values[slider_id]
        if slider_id == "lr":
            return self.surface_model.lr
        slider = SLIDERS[slider_id]
        return slider.value(slider.default)

    def controls(self) -> dict[str, Any]:
        """Every control's raw value (a slider's position) that shows this state: what sets the
        page, and what `parse` reads back."""
        surface = self.surface_model
        raw = {sid: s.position(self.value(sid)) for sid, s in SLIDERS.items()}
        raw.update(
            surface=self.surface, formula=self.formula or DEFAULT_FORMULA, start=list(self.start or surface.start),
            examples=examples_store.store_value(*self.examples), clock=self.clock, schedule=dict(self.schedule),
            extras=list(self.extras), overrides={oid: dict(hp) for oid, hp in self.overrides.items()},
            seed=self.seed, visible=[o for o in OPTIMIZERS if o not in self.hidden], view=self.view, lab=self.lab,
            scenario=self.scenario, hidden_parts=list(self.hidden_parts), locked_parts=list(self.locked_parts),
            predict=[PREDICT.key] if self.predict else [], present=[PRESENT.key] if self.present else [],
        )
        return raw

    def complete(self) -> "RaceState":
        """The same state with every field given, as `parse` gives it (a lesson as it is raced)."""
        return parse(self.controls())[0]

    def race_key(self) -> RaceKey:
        shared = {k: self.value(k) for k in HYPERPARAMETER_SLIDERS}
        settings = race_settings(shared, self.overrides, self.extras)
        surface = self.surface_model
        data = is_data(surface)  # its noise is its examples, and a batch holds at most all of them
        steps = int(self.value("steps"))
        return RaceKey(
            self.surface, normalise_formula(self.formula) if self.surface == CUSTOM else "",
            tuple(self.start or surface.start),
            tuple((oid, tuple(sorted(hp.items()))) for oid, hp in settings.items()),
            steps, 0.0 if data else float(self.value("noise")),
            min(int(self.value("batch")), examples_per_epoch(surface)), self.seed, self.clock,
            self.examples if self.surface == UPLOAD else ("", ""),
            tuple(sorted(schedule.to_dict().items())) if (schedule := schedule_for(self.schedule, steps)) else (),
        )

    def with_surface(self, surface_id: str) -> "RaceState":
        """The same settings on another surface, with that surface's start and learning rate:
        learning rates, shared or per optimizer (Tune's, say), belong to the old surface's scale."""
        values = {k: v for k, v in self.values.items() if k != "lr"}
        overrides = {oid: rest for oid, hp in self.overrides.items() if (rest := {k: v for k, v in hp.items() if k != "lr"})}
        return replace(self, surface=surface_id, start=None, values=values, overrides=overrides, scenario=None)


def parse(raw: Mapping[str, Any], problems: Problems | None = None) -> tuple[RaceState, Problems]:
    """The state that raw control values (untrusted JSON, keyed by control id; a missing key is
    the control's default) describe, and what had to be changed or ignored, in plain words. A
    typed formula that is not allowed raises ValueError with the reason."""
    problems = Problems() if problems is None else problems
    raw = raw if isinstance(raw, Mapping) else {}
    surface_id = SURFACE.check(raw.get("surface"), problems)
    formula = FORMULA.check(raw.get("formula"), problems) if surface_id == CUSTOM else ""
    examples = EXAMPLES.check(raw.get("examples"), problems) if surface_id == UPLOAD else DEFAULT_EXAMPLES
    surface, formula = surface_for(surface_id, formula, examples)
    extras = EXTRAS_CHOICE.check(raw.get("extras"), problems)
    values = {sid: s.check(raw.get(sid), problems, surface.lr if sid == "lr" else None) for sid, s in SLIDERS.items()}
    state = RaceState(
        surface=surface_id,
        start=START.check(raw.get("start"), problems, surface.domain) or surface.start,
        values=values,
        overrides=OVERRIDES.check(raw.get("overrides"), problems, {*OPTIMIZERS, *extras}),
        hidden=tuple(o for o in OPTIMIZERS if o not in VISIBLE.check(raw.get("visible"), problems)),
        view=VIEW.check(raw.get("view"), problems),
        lab=LAB.check(raw.get("lab"), problems),
        scenario=SCENARIO.check(raw.get("scenario"), problems),
        seed=SEED.check(raw.get("seed"), problems),
        formula=formula,
        examples=examples,
        clock=CLOCK.check(raw.get("clock"), problems),
        schedule=SCHEDULE.check(raw.get("schedule"), problems),
        extras=extras,
        hidden_parts=HIDDEN_PARTS.check(raw.get("hidden_parts"), problems),
        locked_parts=LOCKED_PARTS.check(raw.get("locked_parts"), problems),
        predict=PREDICT.check(raw.get("predict"), problems),
        present=PRESENT.check(raw.get("present"), problems),
    )
    schedule_for(state.schedule, int(values["steps"]), problems)  # says why a schedule cannot run
    return state, problems


def link_problems(state: RaceState) -> Problems:
    """What a link of this state cannot carry, in plain words."""
    problems = Problems()
    if state.surface == UPLOAD and not EXAMPLES.fits_link(state.examples):
        rows = len(state.examples[1].splitlines()) - 1
        problems.append(f"the link leaves out your {rows:,} examples (too many for a link): "
                        "the JSON export carries them")
    return problems


def encode(state: RaceState) -> str:
    """The link's query string (with its leading '?') for a state."""
    values = {
        "surface": state.surface, "formula": state.formula or DEFAULT_FORMULA, "start": state.start,
        "examples": state.examples, "clock": state.clock, "schedule": state.schedule, **state.values, "extras": state.extras, "overrides": state.overrides, "seed": state.seed,
        "visible": tuple(o for o in OPTIMIZERS if o not in state.hidden), "view": state.view, "lab": state.lab,
        "scenario": state.scenario, "hidden_parts": state.hidden_parts, "locked_parts": state.locked_parts,
        "predict": state.predict, "present": state.present,
    }
    query: dict[str, str] = {}
    for cid, control in CONTROLS.items():
        if (cid == "formula" and state.surface != CUSTOM) or (cid == "examples" and state.surface != UPLOAD):
            continue
        if cid in values and (cid not in SLIDERS or cid in state.values):
            for key, text in control.to_link(values[cid]):  # `hide` holds optimizers and parts
                query[key] = f"{query[key]},{text}" if key in query else text
    return "?" + urlencode(list(query.items()), safe=",:.^*()=")


TEACHER = (HIDDEN_PARTS, LOCKED_PARTS, PREDICT, PRESENT)  # the page's teacher mode, apart from the race
_LESSON_LINK_KEYS = {"scenario", "surface", "step", *(c.key for c in TEACHER)}


def _names_only_a_lesson(params: Mapping[str, str]) -> bool:
    """Whether a link names a lesson and nothing of the race (`?scenario=…`, with the browser's
    step or teacher mode): it opens the lesson as written. `hide` may name parts, not optimizers."""
    hidden = set(params.get("hide", "").split(",")) - {""}
    return set(params) <= _LESSON_LINK_KEYS and not hidden & set(OPTIMIZERS)


def decode(search: str | None, default_surface: str = DEFAULT_SURFACE, problems: Problems | None = None,
           scenarios: Mapping[str, RaceState] | None = None) -> RaceState:
    """The state a link's query describes (through `parse`); anything unreadable is reported in
    `problems` and left at its default. A link that names only a lesson (`?scenario=…`) opens
    it as written. A typed formula that is not allowed raises ValueError."""
    problems = Problems() if problems is None else problems
    search = search if isinstance(search, str) else ""
    if len(search) > MAX_QUERY:
        problems.append("the link is too long; it was ignored")
        search = ""
    params = dict(parse_qsl(search.lstrip("?"), keep_blank_values=False))
    raw: dict[str, Any] = {"surface": default_surface}
    for cid, control in CONTROLS.items():
        value = control.from_link(params, problems)
        if value is not MISSING:
            raw[cid] = value
    if scenarios and params.get("scenario") in scenarios and _names_only_a_lesson(params):
        # the lesson as written, in the link's teacher mode (and at its step: the browser's)
        linked = parse(raw)[0]
        return replace(scenarios[params["scenario"]], **{c.id: getattr(linked, c.id) for c in TEACHER})
    state = parse(raw, problems)[0]
    for oid, hps in raw.get("overrides", {}).items():
        if oid in EXTRAS and oid not in state.extras:
            problems += [f"ignored the link's setting {oid}.{key}: {ALL_OPTIMIZERS[oid].name} is not raced" for key in hps]
    return state
