"""The rollout engine: every optimizer, every value of a sweep, and every race run together
(RaceLoop) goes through one compiled loop (`kernel.py`), each run stepping its own rule
(`rules.py`) with its surface's compiled gradient.

The runs are the columns of one parameter array, optimizer-major (a sweep's values of one
optimizer are adjacent; a race's nine runs are adjacent, and races on one surface too).
Divergence and arrival (SPEC §4) are found after the loop from the stored path, so the loop
itself does no bookkeeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from surfaces import Surface

from .kernel import STATE_WIDTH, integrate, run_table
from .registry import HYPERPARAMETERS, OPTIMIZERS, check_optimizer_ids, resolve_settings
from .stochastic import N_SAMPLES, batch_noise, sample_tilts

MAX_STEPS = 100_000
MAX_SWEEP_VALUES = 4096
MAX_CELLS = 20_000_000  # runs × (steps + 1): bounds the stored path to 320 MB
ARRIVAL_FRACTION = 1e-3


@dataclass(frozen=True)
class RolloutResult:
    """Paths of a race. Rows follow `names`; from `diverged_at[i]` on, row i repeats its last
    valid point (the arrays never hold NaN or inf)."""

    surface_id: str
    names: list[str]
    start: tuple[float, float]
    settings: dict[str, dict[str, float]]
    steps: int
    noise: float
    batch_size: int
    seed: int
    paths: np.ndarray  # (n, steps + 1, 2)
    losses: np.ndarray  # (n, steps + 1)
    diverged_at: np.ndarray  # (n,), -1 where the path never diverged
    arrived_at: np.ndarray  # (n,), -1 where the path never came within the arrival threshold
    # (n,): the step from which the path stays within the arrival threshold to the end ("arrived
    # and stayed"), -1 where it is outside at the end; a path that arrived and left has -1 here
    settled_at: np.ndarray
    # with record_states: "grad" → (n, steps, 2), the gradient used by update t+1, and "state" →
    # (n, steps, kernel.STATE_WIDTH), each rule's state after it (rules.py; live.py names them)
    states: dict | None = None
    # per run: None, or the (x, y) iterate that was rejected at diverged_at (may be non-finite;
    # the reason a path stopped is read from it, e.g. surfaces.formula.stop_reason)
    rejected: tuple = ()

    @property
    def final_loss(self) -> np.ndarray:
        return self.losses[:, -1]

    def only(self, ids) -> "RolloutResult":
        """The same race with only the optimizers `ids` (in this race's order): what the race of
        those alone gives, since runs never interact."""
        keep = [i for i, oid in enumerate(self.names) if oid in set(ids)]
        if not keep:
            raise ValueError(f"none of {list(ids)!r} ran in this race")
        rows = np.array(keep)
        return replace(
            self, names=[self.names[i] for i in keep],
            settings={self.names[i]: self.settings[self.names[i]] for i in keep},
            paths=self.paths[rows], losses=self.losses[rows], diverged_at=self.diverged_at[rows],
            arrived_at=self.arrived_at[rows], settled_at=self.settled_at[rows],
            states={k: v[rows] for k, v in self.states.items()} if self.states is not None else None,
            rejected=tuple(self.rejected[i] for i in keep) if self.rejected else (),
        )

    def ranking(self) -> list[str]:
        """Ids from first to last: arrived and stayed (earliest to settle first), then the rest by
        final loss (a path that arrived and left among them); diverged last."""
        def key(i):
            settled = self.settled_at[i]
            return (self.diverged_at[i] >= 0, settled < 0, settled, self.final_loss[i])

        return [self.names[i] for i in sorted(range(len(self.names)), key=key)]


@dataclass(frozen=True)
class SweepResult:
    """Outcome of one hyperparameter sweep: rows follow `names`, columns follow `values`."""

    surface_id: str
    names: list[str]
    param: str
    values: np.ndarray
    start: tuple[float, float]
    steps: int
    final_loss: np.ndarray  # (n, len(values)), the last valid loss where a run diverged
    diverged_at: np.ndarray  # (n, len(values)), -1 where it never diverged
    arrived_at: np.ndarray  # (n, len(values)), -1 where it never arrived
    settled_at: np.ndarray  # (n, len(values)), -1 unless it arrived and stayed (RolloutResult)
    min_loss: np.ndarray  # (n, len(values)), the lowest loss before divergence
    max_loss: np.ndarray  # (n, len(values)), the highest loss before divergence
    settings: dict[str, dict[str, float]] = field(default_factory=dict)


# -- argument checks -----------------------------------------------------------------------------
def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return int(value)


def _check_common(surface, start, steps, noise, batch_size, seed):
    if not isinstance(surface, Surface):
        raise ValueError(f"surface must be a Surface (see surfaces.get_surface), not {surface!r}")
    start = surface.start if start is None else start
    try:
        x0, y0 = (float(v) for v in start)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"start must be a pair of numbers (x, y), not {str(start)[:60]}") from None
    (bx0, bx1), (by0, by1) = surface.escape_box
    if not (math.isfinite(x0) and math.isfinite(y0) and bx0 < x0 < bx1 and by0 < y0 < by1):
        raise ValueError(f"start {start!r} is not a finite point near the surface's domain {surface.domain}")
    with np.errstate(all="ignore"):
        if not np.isfinite(surface.f(x0, y0)):
            raise ValueError(f"the loss is not defined at the start ({x0}, {y0})")
    steps = _check_int("steps", steps, 1, MAX_STEPS)
    try:
        noise_ok = not isinstance(noise, bool) and math.isfinite(float(noise)) and noise >= 0
    except (TypeError, ValueError, OverflowError):
        noise_ok = False
    if not noise_ok:
        raise ValueError(f"noise must be a finite number ≥ 0, not {str(noise)[:40]}")
    batch_size = _check_int("batch_size", batch_size, 1, N_SAMPLES)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    return (x0, y0), steps, float(noise), batch_size, seed


# -- the loop ------------------------------------------------------------------------------------
def _noise_table(ids, runs_per_id, steps, noise, batch_size, seed):
    """(steps, 2, K): what each run's gradient adds at each step, or None when σ = 0."""
    if noise == 0:
        return None
    tilts = sample_tilts(seed, noise)
    by_kind = {
        "full": np.zeros((steps, 2)),
        "sample": batch_noise(tilts, steps, 1, seed),
        "batch": batch_noise(tilts, steps, batch_size, seed),
    }
    columns = [by_kind[OPTIMIZERS[oid].gradient] for oid in ids for _ in range(runs_per_id)]
    return np.stack(columns, axis=2)


@dataclass(frozen=True)
class _Outcome:
    losses: np.ndarray  # (steps + 1, K); garbage after a run's divergence
    diverged_at: np.ndarray  # (K,), -1 where the run never diverged
    arrived_at: np.ndarray  # (K,), -1 where the run never arrived
    settled_at: np.ndarray  # (K,), -1 unless the run is within the threshold from there to the end
    last_valid: np.ndarray  # (K,), the last step before divergence (or the last step)


def _settle(surface: Surface, out: np.ndarray) -> _Outcome:
    """Divergence and arrival (SPEC §4) of the raw iterates `out` (steps + 1, 2, K): a run
    diverges at the first step whose point leaves the escape box or whose loss is not finite;
    it arrives at the first earlier step within the arrival threshold, and settles at the step
    from which it stays within it to the end (a run that diverged never settles)."""
    px, py = out[:, 0], out[:, 1]
    (bx0, bx1), (by0, by1) = surface.escape_box
    with np.errstate(all="ignore"):
        losses = surface.f(px, py)
        inside = np.isfinite(losses)  # boolean passes, in place: a sweep has 576 runs × steps
        for coordinate, low, high in ((px, bx0, bx1), (py, by0, by1)):
            inside &= coordinate > low  # False for NaN too
            inside &= coordinate < high
    runs = np.arange(out.shape[2])
    first_outside = inside.argmin(axis=0)
    diverged = ~inside[first_outside, runs]
    last_valid = np.where(diverged, first_outside - 1, out.shape[0] - 1)  # the start is valid
    threshold = surface.f_min + ARRIVAL_FRACTION * max(float(losses[0, 0]) - surface.f_min, 0.0)
    with np.errstate(invalid="ignore"):
        reached = losses <= threshold
    first_reached = reached.argmax(axis=0)
    arrived = reached[first_reached, runs] & (first_reached <= last_valid)
    # the last step outside the threshold, counted from the end; a run inside at every step has none
    outside_from_end = ~reached[::-1]
    last_outside = out.shape[0] - 1 - outside_from_end.argmax(axis=0)
    never_outside = ~outside_from_end.any(axis=0)
    settled = np.where(never_outside, 0, last_outside + 1)
    stays = ~diverged & reached[-1]
    return _Outcome(
        losses,
        np.where(diverged, first_outside, -1),
        np.where(arrived, first_reached, -1),
        np.where(stays, settled, -1),
        last_valid,
    )


@dataclass(frozen=True)
class _Race:
    """One race's checked arguments."""

    surface: Surface
    start: tuple[float, float]
    steps: int
    ids: list[str]
    settings: dict[str, dict[str, float]]
    noise: float
    batch_size: int
    seed: int
    record_states: bool


def _checked_race(surface, start=None, steps=500, settings=None, optimizers=None, noise=0.0, batch_size=16,
                  seed=0, record_states=False) -> _Race:
    start, steps, noise, batch_size, seed = _check_common(surface, start, steps, noise, batch_size, seed)
    ids = check_optimizer_ids(optimizers)
    return _Race(surface, start, steps, ids, resolve_settings(settings, ids), noise, batch_size, seed,
                 bool(record_states))


def _race_result(race: _Race, out: np.ndarray, trace: dict | None) -> RolloutResult:
    """The RolloutResult of `race` from its own columns of the loop's iterates (and trace)."""
    outcome = _settle(race.surface, out)
    rejected = tuple(
        (float(out[d, 0, i]), float(out[d, 1, i])) if d >= 0 else None
        for i, d in enumerate(outcome.diverged_at)
    )
    paths = out.transpose(2, 0, 1).copy()
    losses = outcome.losses.T.copy()
    for i in np.flatnonzero(outcome.diverged_at >= 0):  # freeze at the last valid point
        last = outcome.last_valid[i]
        paths[i, last + 1 :] = paths[i, last]
        losses[i, last + 1 :] = losses[i, last]
    return RolloutResult(
        race.surface.id, race.ids, race.start, race.settings, race.steps, race.noise, race.batch_size,
        race.seed, paths, losses, outcome.diverged_at, outcome.arrived_at, outcome.settled_at,
        {k: v.transpose(2, 0, 1).copy() for k, v in trace.items()} if trace is not None else None,
        rejected,
    )


# -- public API ----------------------------------------------------------------------------------
def rollout(
    surface: Surface,
    start=None,
    steps: int = 500,
    settings=None,
    optimizers=None,
    noise: float = 0.0,
    batch_size: int = 16,
    seed: int = 0,
    record_states: bool = False,
) -> RolloutResult:
    """Race the optimizers from `start` (default: the surface's) for `steps` steps.

    `settings` is a partial {optimizer id: {hyperparameter: value}} mapping; `optimizers` a list
    of ids (None: all nine, SPEC order); `noise` the σ of SPEC §3; `batch_size` the B of the
    mini-batch optimizers; `record_states` keeps every step's gradient and optimizer state.
    The same arguments give the same paths, bit for bit."""
    return rollout_many([dict(surface=surface, start=start, steps=steps, settings=settings, optimizers=optimizers,
                              noise=noise, batch_size=batch_size, seed=seed, record_states=record_states)])[0]


def rollout_many(races) -> list[RolloutResult]:
    """Several races in one loop: `races` is a list of dicts of `rollout`'s keyword arguments
    (surface included), and result i equals `rollout(**races[i])` bit for bit (see RaceLoop)."""
    results = [None] * len(races)
    for i, result in rollouts_as_completed(races):
        results[i] = result
    return results


def rollouts_as_completed(races):
    """Like rollout_many, but yields (i, result of races[i]) as each race finishes, the shortest
    first. Every race is checked before any runs."""
    loop, handles = RaceLoop(), {}
    for i, race in enumerate(races):
        try:
            handles[loop.add(**race)] = i
        except ValueError as err:
            raise ValueError(f"race {i}: {err}") from None
    while loop.running:
        for handle, result in loop.advance(MAX_STEPS):  # no race joins later: stop only when one ends
            yield handles[handle], result


class _Running:
    """A race in a RaceLoop: its iterates so far and each run's rule state after them."""

    def __init__(self, race: _Race, surface_key):
        n = len(race.ids)
        self.race, self.surface_key, self.done = race, surface_key, 0
        self.runs = _runs([(oid, race.settings[oid]) for oid in race.ids])
        self.out = np.empty((race.steps + 1, 2, n))
        self.out[0] = np.reshape(race.start, (2, 1))
        self.state = np.zeros((n, STATE_WIDTH))
        self.noise = _noise_table(race.ids, 1, race.steps, race.noise, race.batch_size, race.seed)
        self.trace = ({"grad": np.empty((race.steps, 2, n)), "state": np.empty((race.steps, STATE_WIDTH, n))}
                      if race.record_states else None)


def _runs(settings) -> list:
    """(optimizer id, hyperparameter values in its `defaults` order) for each (id, settings)."""
    return [(oid, [hp[k] for k in OPTIMIZERS[oid].defaults]) for oid, hp in settings]


class RaceLoop:
    """Races that share one engine loop, and may join it and leave it between segments.

    A step costs nearly the same for 9 runs as for 90 (NumPy's per-call overhead is the floor),
    so a server that races for many users runs their races together: races on one surface share
    its gradient call, and all share the update. A race joins at its own step 0 while the others
    are further on (each run keeps its own step count, for Adam's bias correction and for the
    noise), and leaves the loop when done, so no race waits for a longer one. Each result equals
    `rollout` with the same arguments, bit for bit.

        loop = RaceLoop()
        handle = loop.add(surface=s, steps=500, settings=...)   # rollout's keyword arguments
        while loop.running:
            for handle, result in loop.advance():   # the races that finished in this segment
                ...
    """

    SEGMENT = 256  # steps per advance: how long a new race may wait to join (a few ms)

    def __init__(self):
        self._running: dict[int, _Running] = {}
        self._next = 0

    @property
    def running(self) -> int:
        return len(self._running)

    def add(self, **race) -> int:
        """Check a race (ValueError if its arguments are bad) and add it; returns its handle."""
        try:
            checked = _checked_race(**race)
        except TypeError as err:  # a missing surface or an unknown keyword
            raise ValueError(str(err)) from None
        steps = max([checked.steps] + [r.race.steps for r in self._running.values()])
        runs = sum(len(r.race.ids) for r in self._running.values()) + len(checked.ids)
        if runs * (steps + 1) > MAX_CELLS:
            raise ValueError(f"too many races at once ({runs} runs × {steps} steps); race fewer at once")
        self._next += 1
        self._running[self._next] = _Running(checked, id(checked.surface))
        return self._next

    def advance(self, steps: int | None = None) -> list[tuple[int, RolloutResult]]:
        """Run every race `steps` steps (default SEGMENT), or fewer if a race finishes sooner;
        return (handle, result) for the races that finished."""
        if not self._running:
            return []
        steps = self.SEGMENT if steps is None else steps
        order = sorted(self._running.items(), key=lambda item: item[1].surface_key)  # a surface's runs adjacent
        running = [r for _, r in order]
        count = min([steps] + [r.race.steps - r.done for r in running])
        widths = [len(r.race.ids) for r in running]
        edges = np.cumsum([0] + widths)
        gradients = []
        for r, lo, hi in zip(running, edges[:-1], edges[1:]):
            if gradients and gradients[-1][0] is r.race.surface.scalar_grad:
                gradients[-1] = (gradients[-1][0], slice(gradients[-1][1].start, int(hi)))
            else:
                gradients.append((r.race.surface.scalar_grad, slice(int(lo), int(hi))))
        table = None
        if any(r.noise is not None for r in running):
            table = np.concatenate([r.noise[r.done : r.done + count] if r.noise is not None else np.zeros((count, 2, w))
                                    for r, w in zip(running, widths)], axis=2)
        trace = {} if any(r.trace is not None for r in running) else None
        part, state = integrate(
            gradients,
            np.concatenate([r.out[r.done] for r in running], axis=1),
            count,
            run_table([run for r in running for run in r.runs]),
            table,
            trace,
            np.repeat([r.done for r in running], widths),
            np.concatenate([r.state for r in running]),
        )
        finished = []
        for (handle, r), lo, hi in zip(order, edges[:-1], edges[1:]):
            own = slice(int(lo), int(hi))
            r.out[r.done + 1 : r.done + count + 1] = part[1:, :, own]
            r.state = state[own]
            if r.trace is not None:
                for name, value in trace.items():
                    r.trace[name][r.done : r.done + count] = value[:, :, own]
            r.done += count
            if r.done == r.race.steps:
                del self._running[handle]
                finished.append((handle, _race_result(r.race, r.out, r.trace)))
        return finished


def sweep(
    surface: Surface,
    start=None,
    steps: int = 500,
    param: str = "lr",
    values=None,
    settings=None,
    optimizers=None,
    noise: float = 0.0,
    batch_size: int = 16,
    seed: int = 0,
) -> SweepResult:
    """Race every optimizer once per value of hyperparameter `param`, all in one loop.

    `optimizers=None` takes every optimizer that has `param`; `settings` fixes the others. Every
    run sees the same batches, so columns differ only by the value swept."""
    start, steps, noise, batch_size, seed = _check_common(surface, start, steps, noise, batch_size, seed)
    if param not in HYPERPARAMETERS:
        raise ValueError(f"unknown hyperparameter {param!r}; choose from: {', '.join(HYPERPARAMETERS)}")
    if values is None:
        raise ValueError("values is required: the values of the hyperparameter to sweep")
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"values must be a list of numbers, not {values!r}") from None
    if values.ndim != 1 or not 1 <= len(values) <= MAX_SWEEP_VALUES:
        raise ValueError(f"values must be a flat list of 1 to {MAX_SWEEP_VALUES} numbers")
    for v in values:
        HYPERPARAMETERS[param].check(float(v), "sweep")
    if optimizers is None:
        ids = [oid for oid, spec in OPTIMIZERS.items() if param in spec.defaults]
    else:
        ids = check_optimizer_ids(optimizers)
        lacking = [oid for oid in ids if param not in OPTIMIZERS[oid].defaults]
        if lacking:
            raise ValueError(f"{', '.join(lacking)} have no hyperparameter {param!r} to sweep")
    if len(ids) * len(values) * (steps + 1) > MAX_CELLS:
        raise ValueError(
            f"this sweep is too large ({len(ids)} optimizers × {len(values)} values × {steps} steps); "
            "use fewer values or steps"
        )
    resolved = resolve_settings(settings, ids)
    V = len(values)
    runs = [(oid, {**resolved[oid], param: float(v)}) for oid in ids for v in values]
    table = _noise_table(ids, V, steps, noise, batch_size, seed)
    out, _ = integrate([(surface.scalar_grad, slice(None))], start, steps, run_table(_runs(runs)), table)
    outcome = _settle(surface, out)
    final_loss = outcome.losses[outcome.last_valid, np.arange(len(runs))]
    valid = np.arange(steps + 1)[:, None] <= outcome.last_valid
    min_loss = np.min(outcome.losses, axis=0, where=valid, initial=np.inf)
    max_loss = np.max(outcome.losses, axis=0, where=valid, initial=-np.inf)
    shape = (len(ids), V)
    return SweepResult(
        surface.id, ids, param, values, start, steps, final_loss.reshape(shape),
        outcome.diverged_at.reshape(shape), outcome.arrived_at.reshape(shape),
        outcome.settled_at.reshape(shape), min_loss.reshape(shape), max_loss.reshape(shape), resolved,
    )
