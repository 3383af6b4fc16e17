"""The races a page asks for, computed once per worker: the race of a state (`race_result`), the
same with every step's state recorded (`race_with_states`, for the live numbers) and the
learning-rate explorer's sweep (`lr_sweep`). Each is cached on the state's `race_key`, the
engine's arguments in hashable form, so the race callback, the explorer, the live numbers and
the exports share one computation.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

import numpy as np

from optimizers import RolloutResult, SweepResult, rollout, sweep
from surfaces import SURFACES

from .controls import DEFAULT_SURFACE
from .state import RaceKey, RaceState

SWEEP_LRS = tuple(np.logspace(-5, 1, 64))  # the explorer's learning rates


def race_result(state: RaceState | RaceKey) -> RolloutResult:
    """The race (cached per worker). A race costs less than the request around it, and the
    compiled loop releases the GIL, so each request simply runs its own."""
    return _race(state if isinstance(state, RaceKey) else state.race_key())


def race_with_states(state: RaceState | RaceKey) -> RolloutResult:
    """The same race with every step's gradient and state recorded, for the live numbers (asked
    for only while the equations are on screen, so kept apart from the race's own cache)."""
    return _race_with_states(state if isinstance(state, RaceKey) else state.race_key())


def lr_sweep(state: RaceState | RaceKey) -> SweepResult:
    """Final losses over the explorer's learning rates with everything else as in the race. The
    race's learning rates do not matter here, so a learning-rate change hits the cache."""
    key = state if isinstance(state, RaceKey) else state.race_key()
    settings = tuple((oid, tuple((k, v) for k, v in hp if k != "lr")) for oid, hp in key.settings)
    return _lr_sweep(key._replace(settings=settings))


@lru_cache(maxsize=32)
def _race(key: RaceKey) -> RolloutResult:
    return rollout(**key.rollout_arguments())


@lru_cache(maxsize=8)
def _race_with_states(key: RaceKey) -> RolloutResult:
    return rollout(**key.rollout_arguments(record_states=True))


@lru_cache(maxsize=16)
def _lr_sweep(key: RaceKey) -> SweepResult:
    arguments = key.rollout_arguments()
    del arguments["record_states"], arguments["clock"]  # the explorer sweeps η over steps
    return sweep(param="lr", values=SWEEP_LRS, **arguments)


_warmed: set[str] = set()  # the built-in surfaces whose functions are compiled


def engine_ready(surface_id: str) -> bool:
    """Whether a race on this built-in surface costs no compiling (warm_up has raced on it)."""
    return surface_id in _warmed


def warm_up() -> None:
    """Compile the loop over steps, the rules (cached on disk after a fresh clone's first start)
    and every built-in surface's loss and gradient, with a short race on each, the default
    surface first, so that a student's first race does not wait for the compiler."""
    first = SURFACES[DEFAULT_SURFACE]  # the page's first race
    for surface in [first] + [s for s in SURFACES.values() if s is not first]:
        try:
            rollout(surface, steps=2)
            _warmed.add(surface.id)
        except Exception:  # a warm-up must never take the server down
            logging.getLogger(__name__).exception("warming up %s failed", surface.id)


def start_warm_up() -> threading.Thread:
    """`warm_up` in a background thread: the server answers meanwhile (a race asked for before
    it is done compiles what it needs itself)."""
    thread = threading.Thread(target=warm_up, name="engine-warm-up", daemon=True)
    thread.start()
    return thread
