"""The rollout engine: every optimizer of a race and every value of a sweep goes through one
compiled loop (`kernel.py`), each run stepping its own rule (`rules.py`) with its surface's
compiled gradient.

The runs are the columns of one parameter array, optimizer-major (a sweep's values of one
optimizer are adjacent). Divergence and arrival (SPEC §4) are found after the loop from the
stored path, so the loop itself does no bookkeeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from surfaces import Surface

from .kernel import Batches, integrate, run_table
from .registry import ALL_OPTIMIZERS, HYPERPARAMETERS, OPTIMIZERS, check_optimizer_ids, resolve_settings
from .schedules import Schedule, parse as parse_schedule
from .stochastic import N_SAMPLES, batch_noise, epoch_orders, sample_tilts

MAX_STEPS = 100_000
MAX_SWEEP_VALUES = 4096
MAX_CELLS = 20_000_000  # runs × (steps + 1): bounds the stored path to 320 MB
ARRIVAL_FRACTION = 1e-3
CLOCKS = ("steps", "examples")


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
    # "steps": row j of paths and losses is after j steps; "examples": after j examples processed
    # (samples drawn), each optimizer having taken the steps those examples paid for
    clock: str = "steps"
    # the examples in one epoch: a data surface's N, else the N_SAMPLES tilts of SPEC §3
    examples_per_epoch: int = N_SAMPLES
    # clock "examples": (n, steps + 1), the steps optimizer i has taken after j examples (with
    # clock "steps" it is simply j); its states (record_states) are indexed by its own steps
    steps_taken: np.ndarray | None = None
    # the learning-rate schedule (schedules.py) as its dict, {"kind": "constant"} without one;
    # cosine's T_max and the warm-up's length are explicit here (resolved for `steps`)
    schedule: dict = field(default_factory=lambda: {"kind": "constant"})
    # (steps,): update t of every optimizer used η·lr_factors[t − 1], η its own (settings)
    # learning rate; on the clock in examples t is the optimizer's own step. None: all ones
    lr_factors: np.ndarray | None = None

    @property
    def final_loss(self) -> np.ndarray:
        return self.losses[:, -1]

    def learning_rates(self, oid: str) -> np.ndarray:
        """(steps,): the η optimizer `oid` used at each of its updates, η·lr_factors[t − 1]."""
        lr = self.settings[oid]["lr"]
        return lr * self.lr_factors if self.lr_factors is not None else np.full(self.steps, lr)

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
            steps_taken=self.steps_taken[rows] if self.steps_taken is not None else None,
        )

    def step_at(self, i: int, frame: int) -> int:
        """The steps optimizer i has taken at row `frame` of its path."""
        return int(self.steps_taken[i, frame]) if self.steps_taken is not None else int(frame)

    def epochs(self, frame) -> np.ndarray | float:
        """Row `frame` (or rows) in epochs: examples processed / examples per epoch (clock "examples")."""
        if self.clock != "examples":
            raise ValueError("epochs are counted on the clock in examples")
        return np.asarray(frame) / self.examples_per_epoch

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
    schedule: dict = field(default_factory=lambda: {"kind": "constant"})  # as RolloutResult's


# -- argument checks -----------------------------------------------------------------------------
def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return int(value)


def examples_per_epoch(surface: Surface) -> int:
    """N: a data surface's examples, or the tilts a stochastic gradient samples (SPEC §3)."""
    return surface.n_examples if is_data(surface) else N_SAMPLES


def is_data(surface: Surface) -> bool:
    return getattr(surface, "examples", None) is not None


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
    if is_data(surface) and noise != 0:
        raise ValueError("on a data surface the gradient's noise comes from its examples: noise must be 0")
    batch_size = _check_int("batch_size", batch_size, 1, examples_per_epoch(surface))
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
    columns = [by_kind[ALL_OPTIMIZERS[oid].gradient] for oid in ids for _ in range(runs_per_id)]
    return np.stack(columns, axis=2)


def _batch_sizes(ids, runs_per_id, batch_size: int, n: int) -> np.ndarray:
    """(K,): the examples each run's step uses: N for GD, 1 for SGD, B for the others."""
    by_kind = {"full": n, "sample": 1, "batch": batch_size}
    return np.array([by_kind[ALL_OPTIMIZERS[oid].gradient] for oid in ids for _ in range(runs_per_id)], dtype=np.int64)


def _batches(surface, sizes: np.ndarray, run_steps: np.ndarray, seed: int) -> Batches | None:
    """How a data surface's runs draw their examples (None on other surfaces): each epoch one
    shuffle of the seed, shared by every run (common random numbers)."""
    if not is_data(surface):
        return None
    n = surface.n_examples
    per_epoch = -(-n // np.minimum(sizes, n))
    epochs = max(1, int(np.max(-(-run_steps // per_epoch))))
    return Batches(sizes, np.ascontiguousarray(epoch_orders(seed, epochs, n)))


def _steps_taken(sizes: np.ndarray, budget: int, n: int) -> np.ndarray:
    """(K, budget + 1): the steps run k has taken after j examples processed, for a run whose
    step uses sizes[k] examples (N or more: all of them) out of an epoch of n. Within an epoch
    its batches are consecutive slices, the last one shorter when the size does not divide n, so
    every epoch takes exactly n examples."""
    frames = np.arange(budget + 1)
    size = np.minimum(sizes, n)[:, None]
    per_epoch = -(-n // size)
    return (frames // n) * per_epoch + (frames % n) // size


def _expand(out: np.ndarray, losses: np.ndarray, steps_taken: np.ndarray):
    """Iterates and losses per step → per example processed: row j of run k is its row
    steps_taken[k, j]."""
    runs = np.arange(out.shape[2])
    index = steps_taken.T  # (frames, K)
    return out[index, :, runs[None, :]].transpose(0, 2, 1), losses[index, runs[None, :]]


@dataclass(frozen=True)
class _Outcome:
    losses: np.ndarray  # (steps + 1, K); garbage after a run's divergence
    diverged_at: np.ndarray  # (K,), -1 where the run never diverged
    arrived_at: np.ndarray  # (K,), -1 where the run never arrived
    settled_at: np.ndarray  # (K,), -1 unless the run is within the threshold from there to the end
    last_valid: np.ndarray  # (K,), the last step before divergence (or the last step)


def _settle(surface: Surface, out: np.ndarray, losses: np.ndarray) -> _Outcome:
    """Divergence and arrival (SPEC §4) of the raw iterates `out` (steps + 1, 2, K) and their
    losses (steps + 1, K): a run
    diverges at the first step whose point leaves the escape box or whose loss is not finite;
    it arrives at the first earlier step within the arrival threshold, and settles at the step
    from which it stays within it to the end (a run that diverged never settles)."""
    px, py = out[:, 0], out[:, 1]
    (bx0, bx1), (by0, by1) = surface.escape_box
    with np.errstate(all="ignore"):
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
    clock: str
    schedule: Schedule | None = None  # resolved for `steps`
    lr_factors: np.ndarray | None = None


def _checked_race(surface, start=None, steps=500, settings=None, optimizers=None, noise=0.0, batch_size=16,
                  seed=0, record_states=False, clock="steps", schedule=None) -> _Race:
    start, steps, noise, batch_size, seed = _check_common(surface, start, steps, noise, batch_size, seed)
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {str(clock)[:40]!r}")
    ids = check_optimizer_ids(optimizers)
    schedule, factors = _checked_schedule(schedule, steps)
    return _Race(surface, start, steps, ids, resolve_settings(settings, ids), noise, batch_size, seed,
                 bool(record_states), clock, schedule, factors)


def _checked_schedule(schedule, steps: int):
    """The schedule (None, a Schedule, its dict or text: schedules.parse) resolved for `steps`,
    and its factors (None without a schedule)."""
    schedule = parse_schedule(schedule)
    if schedule is None:
        return None, None
    factors = schedule.factors(steps)
    factors.flags.writeable = False
    return schedule.resolved(steps), factors


def _schedule_dict(schedule: Schedule | None) -> dict:
    return {"kind": "constant"} if schedule is None else schedule.to_dict()


def _race_result(race: _Race, out: np.ndarray, losses: np.ndarray, trace: dict | None,
                 steps_taken: np.ndarray | None = None) -> RolloutResult:
    """The RolloutResult of `race` from the loop's iterates and losses (and trace)."""
    outcome = _settle(race.surface, out, losses)
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
        rejected, race.clock, examples_per_epoch(race.surface), steps_taken,
        _schedule_dict(race.schedule), race.lr_factors,
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
    clock: str = "steps",
    schedule=None,
) -> RolloutResult:
    """Race the optimizers from `start` (default: the surface's) for `steps` steps.

    `settings` is a partial {optimizer id: {hyperparameter: value}} mapping; `optimizers` a list
    of ids (None: all nine, SPEC order); `noise` the σ of SPEC §3 (0 on a data surface, whose
    noise is its examples); `batch_size` the B of the mini-batch optimizers; `record_states`
    keeps every step's gradient and optimizer state.

    `clock="examples"` makes the race fair in work rather than steps: `steps` is then a budget
    of examples processed (samples drawn). Each optimizer takes the steps it can pay for (GD one
    per N examples, SGD one per example, the mini-batch ones one per batch of B), and row j of
    the result is where each stands after j examples (`steps_taken` says after how many steps).

    `schedule` changes every optimizer's η from step to step (schedules.py: a Schedule, its dict
    or its text; None keeps η constant): update t uses η·factor[t − 1], t counting the
    optimizer's own steps (on the clock in examples too). A constant schedule gives the paths of
    none, bit for bit.

    The same arguments give the same paths, bit for bit."""
    race = _checked_race(surface, start, steps, settings, optimizers, noise, batch_size, seed, record_states, clock,
                         schedule)
    runs = _runs([(oid, race.settings[oid]) for oid in race.ids])
    n = examples_per_epoch(race.surface)
    sizes = _batch_sizes(race.ids, 1, race.batch_size, n)
    steps_taken = _steps_taken(sizes, race.steps, n) if race.clock == "examples" else None
    run_steps = steps_taken[:, -1] if steps_taken is not None else np.full(len(runs), race.steps)
    longest = int(run_steps.max())
    table = _noise_table(race.ids, 1, longest, race.noise, race.batch_size, race.seed)
    trace = {} if race.record_states else None
    out, losses = integrate(race.surface, race.start, longest, run_table(runs), table, trace,
                            batches=_batches(race.surface, sizes, run_steps, race.seed), run_steps=run_steps,
                            lr_factors=race.lr_factors)
    if steps_taken is not None:
        out, losses = _expand(out, losses, steps_taken)
    return _race_result(race, out, losses, trace, steps_taken)


def rollout_many(races) -> list[RolloutResult]:
    """Several races: `races` is a list of dicts of `rollout`'s keyword arguments (surface
    included); every race is checked before any runs, and result i is `rollout(**races[i])`."""
    for i, race in enumerate(races):
        try:
            _checked_race(**race)
        except (TypeError, ValueError) as err:  # TypeError: a missing surface or an unknown keyword
            raise ValueError(f"race {i}: {err}") from None
    return [rollout(**race) for race in races]


def _runs(settings) -> list:
    """(optimizer id, hyperparameter values in its `defaults` order) for each (id, settings)."""
    return [(oid, [hp[k] for k in ALL_OPTIMIZERS[oid].defaults]) for oid, hp in settings]


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
    schedule=None,
) -> SweepResult:
    """Race every optimizer once per value of hyperparameter `param`, all in one loop.

    `optimizers=None` takes every optimizer that has `param`; `settings` fixes the others. Every
    run sees the same batches, so columns differ only by the value swept. `schedule` as in
    `rollout`: sweeping "lr" sweeps the η the schedule multiplies."""
    start, steps, noise, batch_size, seed = _check_common(surface, start, steps, noise, batch_size, seed)
    schedule, factors = _checked_schedule(schedule, steps)
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
        lacking = [oid for oid in ids if param not in ALL_OPTIMIZERS[oid].defaults]
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
    sizes = _batch_sizes(ids, V, batch_size, examples_per_epoch(surface))
    run_steps = np.full(len(runs), steps)
    out, losses = integrate(surface, start, steps, run_table(_runs(runs)), table,
                            batches=_batches(surface, sizes, run_steps, seed), run_steps=run_steps,
                            lr_factors=factors)
    outcome = _settle(surface, out, losses)
    final_loss = outcome.losses[outcome.last_valid, np.arange(len(runs))]
    valid = np.arange(steps + 1)[:, None] <= outcome.last_valid
    min_loss = np.min(outcome.losses, axis=0, where=valid, initial=np.inf)
    max_loss = np.max(outcome.losses, axis=0, where=valid, initial=-np.inf)
    shape = (len(ids), V)
    return SweepResult(
        surface.id, ids, param, values, start, steps, final_loss.reshape(shape),
        outcome.diverged_at.reshape(shape), outcome.arrived_at.reshape(shape),
        outcome.settled_at.reshape(shape), min_loss.reshape(shape), max_loss.reshape(shape), resolved,
        _schedule_dict(schedule),
    )
