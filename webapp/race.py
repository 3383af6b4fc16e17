"""From the controls' values to a race: shared sliders, per-optimizer overrides, one rollout.

Every callback that needs the race (the race itself, the learning-rate explorer, live numbers,
exports) turns the same untrusted inputs into the same hashable `RaceSpec`, so each worker
computes a race once and serves the rest from its own read-only cache.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from optimizers import ALL_OPTIMIZERS, EXTRAS, OPTIMIZERS, RolloutResult, SweepResult, rollout, sweep
from surfaces import SURFACES, Surface, surface_from_formula
from surfaces.formula import normalise_formula

from . import validation
from .controls import HYPERPARAMETER_SLIDERS, SLIDERS

# AdaDelta's η = 1 and ε = 1e-6 belong to the rule (it needs no learning rate, and its ε sets
# the size of its first steps): the shared η and ε sliders leave them alone; the per-optimizer
# panel can still override them.
KEEPS_OWN = {"adadelta": {"lr", "eps"}}
SWEEP_LRS = tuple(np.logspace(-5, 1, 64))  # the explorer's learning rates
DEFAULT_SURFACE = "rosenbrock"
CUSTOM = "custom"  # the surface menu's entry for a typed formula
DEFAULT_FORMULA = "x^2/4 + y^2 + sin(3*x)*cos(2*y)"


def surface_for(surface_id, formula, problems: validation.Problems) -> tuple[Surface, str]:
    """The surface the menu (and, for "custom", the formula box) names, and the normalised
    formula ("" for a built-in). A custom formula that is not allowed raises ValueError with
    the reason in plain words; an unknown id falls back to the default surface."""
    if surface_id == CUSTOM:
        text = formula if isinstance(formula, str) and formula.strip() else DEFAULT_FORMULA
        normalised = normalise_formula(text)
        return surface_from_formula(normalised), normalised
    return validation.surface_choice(surface_id, problems, DEFAULT_SURFACE), ""


def race_settings(shared: dict[str, float], overrides: dict[str, dict[str, float]], extras=()) -> dict:
    """Every raced optimizer's hyperparameters (the nine, then the chosen `extras` in EXTRAS
    order): a shared slider's value where the optimizer has that hyperparameter (unless it keeps
    its own), then the optimizer's overrides on top."""
    settings = {}
    for oid in [*OPTIMIZERS, *(e for e in EXTRAS if e in extras)]:
        spec = ALL_OPTIMIZERS[oid]
        own = KEEPS_OWN.get(oid, set())
        hp = {k: shared[k] for k in spec.defaults if k in shared and k not in own}
        hp.update(overrides.get(oid, {}))
        settings[oid] = hp
    return settings


def _freeze(settings: dict) -> tuple:
    return tuple((oid, tuple(sorted(hp.items()))) for oid, hp in sorted(settings.items()))


@dataclass(frozen=True)
class RaceSpec:
    """Everything that determines a race, validated and hashable."""

    surface_id: str
    formula: str  # the normalised formula of a custom surface, "" for a built-in
    start: tuple[float, float]
    settings: tuple  # frozen {optimizer: {hyperparameter: value}}
    steps: int
    noise: float
    batch_size: int
    seed: int

    @property
    def surface(self) -> Surface:
        return surface_from_formula(self.formula) if self.formula else SURFACES[self.surface_id]

    def settings_dict(self) -> dict:
        return {oid: dict(hp) for oid, hp in self.settings}

    @property
    def ids(self) -> list[str]:
        """The raced optimizers in race order: the nine, then the chosen extras."""
        raced = {oid for oid, _ in self.settings}
        return [oid for oid in ALL_OPTIMIZERS if oid in raced]

    @property
    def extras(self) -> tuple[str, ...]:
        return tuple(oid for oid in self.ids if oid in EXTRAS)


def race_spec(surface_id, formula, start, positions, override_ids, override_values, seed,
              problems: validation.Problems, extras=None) -> RaceSpec:
    """The race the controls describe. `positions` are the sliders' positions in SLIDERS order;
    `extras` the ticked opt-in optimizers (None: none); anything unusable is replaced or dropped
    (and said in `problems`); a custom formula that is not allowed raises ValueError."""
    surface, formula = surface_for(surface_id, formula, problems)
    positions = list(positions) + [None] * (len(SLIDERS) - len(positions))
    values = {sid: validation.slider_value(sid, pos, problems) for sid, pos in zip(SLIDERS, positions)}
    overrides = validation.overrides(validation.override_entries(override_ids, override_values), problems)
    shared = {k: values[k] for k in HYPERPARAMETER_SLIDERS}
    return RaceSpec(
        surface.id,
        formula,
        validation.start_point(start, surface, problems),
        _freeze(race_settings(shared, overrides, validation.extras_choice(extras, problems))),
        values["steps"],
        values["noise"],
        values["batch"],
        validation.seed_value(seed, problems),
    )


def _arguments(spec: RaceSpec, record_states: bool) -> dict:
    """`rollout`'s keyword arguments for the race `spec` describes."""
    return dict(surface=spec.surface, start=spec.start, steps=spec.steps, settings=spec.settings_dict(),
                optimizers=spec.ids, noise=spec.noise, batch_size=spec.batch_size, seed=spec.seed, record_states=record_states)


@lru_cache(maxsize=32)
def race_result(spec: RaceSpec) -> RolloutResult:
    """The race (cached per worker). A race of 3000 steps takes a few milliseconds, less than
    the request around it, and the compiled loop releases the GIL, so each request simply runs
    its own."""
    return rollout(**_arguments(spec, False))


@lru_cache(maxsize=8)
def race_with_states(spec: RaceSpec) -> RolloutResult:
    """The same race with every step's gradient and state recorded, for the live numbers (asked
    for only while the equations are on screen, so kept apart from the race's own cache)."""
    return rollout(**_arguments(spec, True))


@lru_cache(maxsize=16)
def _lr_sweep(spec: RaceSpec) -> SweepResult:
    return sweep(
        spec.surface, start=spec.start, steps=spec.steps, param="lr", values=SWEEP_LRS,
        settings=spec.settings_dict(), optimizers=spec.ids, noise=spec.noise, batch_size=spec.batch_size,
        seed=spec.seed,
    )


def lr_sweep(spec: RaceSpec) -> SweepResult:
    """Final losses over the explorer's learning rates with everything else as in `spec`. The
    learning rates themselves do not matter here, so a learning-rate change hits the cache."""
    settings = {oid: {k: v for k, v in hp.items() if k != "lr"} for oid, hp in spec.settings_dict().items()}
    return _lr_sweep(RaceSpec(spec.surface_id, spec.formula, spec.start, _freeze(settings), spec.steps,
                              spec.noise, spec.batch_size, spec.seed))


def warm_up() -> None:
    """Compile every built-in surface's loss and gradient (about 0.4 s each) and, on a fresh
    clone, the rules and the loop (cached on disk after that) with a short race on each, the
    default surface first, so that a student's first race does not wait for the compiler."""
    first = SURFACES[DEFAULT_SURFACE]  # the page's first race
    for surface in [first] + [s for s in SURFACES.values() if s is not first]:
        try:
            rollout(surface, steps=2)
        except Exception:  # a warm-up must never take the server down
            logging.getLogger(__name__).exception("warming up %s failed", surface.id)


def start_warm_up() -> threading.Thread:
    """`warm_up` in a background thread: the server answers meanwhile (a race asked for before
    it is done compiles what it needs itself)."""
    thread = threading.Thread(target=warm_up, name="engine-warm-up", daemon=True)
    thread.start()
    return thread
