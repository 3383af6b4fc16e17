"""Learning-rate schedules: η changing from step to step, as torch.optim.lr_scheduler changes it.

A schedule is a multiplier on each optimizer's own η. `Schedule.factors(steps)` is an array f of
`steps` numbers and update t (counted from 1) uses

    ηₜ = η · f[t − 1]

for every optimizer of the race (AdaDelta's η too). That is torch's arrangement with the
scheduler stepped after every optimizer step: the η of update t is the scheduler's lr after
t − 1 scheduler steps. Writing e = t − 1 (the scheduler's `last_epoch`):

    constant       f = 1
    step           f = γ^⌊e / step_size⌋                     StepLR(step_size, gamma)
    exponential    f = γ^e                                   ExponentialLR(gamma)
    cosine         f = m + (1 − m)·(1 + cos(π·e / T_max))/2  CosineAnnealingLR(T_max, eta_min = m·η)
    warmup_cosine  f = s + (1 − s)·e / w                     for e < w, then
                   f = m + (1 − m)·(1 + cos(π·(e − w) / (steps − w)))/2
                   SequentialLR([LinearLR(start_factor=s, end_factor=1, total_iters=w),
                                 CosineAnnealingLR(T_max=steps − w, eta_min=m·η)], milestones=[w])

These are torch's closed forms (`_get_closed_form_lr`); torch's `step()` reaches the same
numbers by a recursion, so the two differ by rounding only (about 1e-14 relative over a race).
As in torch, a cosine whose T_max is shorter than the race climbs back up after T_max (it is
periodic: no restarts, no clamping); T_max defaults to the race's steps, so by default it ends
one step short of m. cosine's m = η_min/η is a fraction of each optimizer's own η.

    Schedule("step", step_size=100, gamma=0.5).factors(500)
    Schedule.from_dict({"kind": "cosine", "min_factor": 0.01})
    parse("warmup_cosine:warmup=50,start_factor=0.1")      # the text form, for links
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Mapping, NamedTuple

import numpy as np

from .registry import interval_text

MAX_SCHEDULE_STEPS = 100_000  # as engine.MAX_STEPS (not imported: the engine imports this module)


class ScheduleParameter(NamedTuple):
    """One parameter of a schedule kind: its valid range and, for controls, a typical one."""

    key: str
    text: str  # as plain text, for sliders, files and the command line
    label: str
    default: float | int | None  # None: decided by the race's steps (see `description`)
    low: float
    high: float
    low_inclusive: bool
    high_inclusive: bool
    integer: bool
    typical: tuple[float, float]  # a sensible range for a control
    description: str

    @property
    def range_text(self) -> str:
        return interval_text(self.low, self.high, self.low_inclusive, self.high_inclusive)

    def check(self, value, kind: str):
        """`value` as an int or a float, or ValueError saying what is wrong with it."""
        where = f"schedule {kind!r}: {self.key}"
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{where} must be a number, not {str(value)[:40]!r}")
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(f"{where} must be in {self.range_text}, not a {len(str(value))}-digit number") from None
        if self.integer:
            if not (math.isfinite(number) and number == int(number)):
                raise ValueError(f"{where} must be a whole number of steps, not {value!r}")
            number = int(number)
        ok_low = number >= self.low if self.low_inclusive else number > self.low
        ok_high = number <= self.high if self.high_inclusive else number < self.high
        if not (math.isfinite(number) and ok_low and ok_high):
            raise ValueError(f"{where} must be in {self.range_text}, not {value!r}")
        return number


class ScheduleKind(NamedTuple):
    kind: str
    label: str
    description: str  # one line
    torch: str  # the torch.optim.lr_scheduler counterpart
    parameters: tuple[ScheduleParameter, ...]


_INF = math.inf
_GAMMA_STEP = ScheduleParameter(
    "gamma", "γ", "decay per drop", 0.5, 0.0, _INF, False, False, False, (0.1, 1.0),
    "η is multiplied by γ every step_size steps")
_STEP_SIZE = ScheduleParameter(
    "step_size", "steps", "steps between drops", 100, 1, MAX_SCHEDULE_STEPS, True, True, True, (10, 1000),
    "the number of steps η stays constant before each drop")
_GAMMA_EXP = ScheduleParameter(
    "gamma", "γ", "decay per step", 0.99, 0.0, _INF, False, False, False, (0.9, 1.0),
    "η is multiplied by γ after every step (γ > 1 grows it)")
_T_MAX = ScheduleParameter(
    "T_max", "T_max", "steps of the half cosine", None, 1, MAX_SCHEDULE_STEPS, True, True, True, (10, 5000),
    "η reaches η_min after T_max steps (default: the race's steps), and climbs back after that")
_MIN_FACTOR = ScheduleParameter(
    "min_factor", "η_min/η", "final fraction of η", 0.0, 0.0, _INF, True, False, False, (0.0, 1.0),
    "where the cosine ends, as a fraction of each optimizer's own η")
_WARMUP = ScheduleParameter(
    "warmup", "warm-up", "warm-up steps", None, 1, MAX_SCHEDULE_STEPS, True, True, True, (1, 1000),
    "steps of linear warm-up (default: a tenth of the race's steps, at least 1); fewer than the race's steps")
_START_FACTOR = ScheduleParameter(
    "start_factor", "start", "first fraction of η", 0.1, 0.0, 1.0, False, True, False, (0.01, 1.0),
    "the warm-up starts at this fraction of η and rises linearly to η")

SCHEDULES: dict[str, ScheduleKind] = {
    k.kind: k
    for k in (
        ScheduleKind("constant", "Constant", "η stays the same at every step.", "(none)", ()),
        ScheduleKind("step", "Step decay", "η drops by a factor γ every step_size steps.",
                     "StepLR(step_size, gamma)", (_STEP_SIZE, _GAMMA_STEP)),
        ScheduleKind("exponential", "Exponential decay", "η shrinks by a factor γ after every step.",
                     "ExponentialLR(gamma)", (_GAMMA_EXP,)),
        ScheduleKind("cosine", "Cosine annealing",
                     "η follows half a cosine from η down to η_min over T_max steps.",
                     "CosineAnnealingLR(T_max, eta_min=min_factor·η)", (_T_MAX, _MIN_FACTOR)),
        ScheduleKind("warmup_cosine", "Warm-up, then cosine",
                     "η rises linearly from start_factor·η to η over the warm-up, then anneals by a cosine "
                     "to η_min over the remaining steps.",
                     "SequentialLR([LinearLR(start_factor, 1.0, warmup), CosineAnnealingLR(steps − warmup, "
                     "eta_min=min_factor·η)], milestones=[warmup])",
                     (_WARMUP, _START_FACTOR, _MIN_FACTOR)),
    )
}


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise ValueError(f"steps must be a whole number, not {steps!r}")
    if not 1 <= steps <= MAX_SCHEDULE_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_SCHEDULE_STEPS}, not {steps}")
    return int(steps)


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule (see the module docstring). Parameters a kind does not take
    must be left None; those it takes and are None get their default (T_max and warmup stay
    None: they follow the race's steps until `resolved`)."""

    kind: str = "constant"
    step_size: int | None = None
    gamma: float | None = None
    T_max: int | None = None
    min_factor: float | None = None
    warmup: int | None = None
    start_factor: float | None = None

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {str(self.kind)[:40]!r}; choose from: {', '.join(SCHEDULES)}")
        spec = SCHEDULES[self.kind]
        taken = {p.key: p for p in spec.parameters}
        for f in fields(self)[1:]:
            value = getattr(self, f.name)
            if f.name not in taken:
                if value is not None:
                    takes = ", ".join(taken) if taken else "no parameters"
                    raise ValueError(f"schedule {self.kind!r} has no parameter {f.name!r}; it takes {takes}")
                continue
            parameter = taken[f.name]
            value = parameter.default if value is None else parameter.check(value, self.kind)
            object.__setattr__(self, f.name, value)

    # -- the round trip (links, exports) --------------------------------------------------------
    def to_dict(self) -> dict:
        """{"kind": …, parameter: value, …}: the parameters this kind takes, without those left
        to the race's steps (None). `Schedule.from_dict(s.to_dict()) == s`."""
        out = {"kind": self.kind}
        for parameter in SCHEDULES[self.kind].parameters:
            value = getattr(self, parameter.key)
            if value is not None:
                out[parameter.key] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> "Schedule":
        if not isinstance(data, Mapping):
            raise ValueError(f"a schedule must be a dict with a 'kind', not {str(data)[:60]!r}")
        if "kind" not in data:
            raise ValueError(f"a schedule needs a 'kind' (one of {', '.join(SCHEDULES)})")
        names = {f.name for f in fields(cls)}
        unknown = [key for key in data if key not in names]
        if unknown:
            kind = data["kind"]
            takes = ", ".join(p.key for p in SCHEDULES[kind].parameters) if kind in SCHEDULES else "?"
            raise ValueError(f"schedule {str(kind)[:40]!r} has no parameter {str(unknown[0])[:40]!r}; it takes {takes}")
        return cls(**dict(data))

    def to_text(self) -> str:
        """The compact text form, e.g. "step:step_size=100,gamma=0.5" (floats as repr, so the
        round trip through `parse` is exact)."""
        items = [f"{k}={v!r}" for k, v in self.to_dict().items() if k != "kind"]
        return self.kind + (":" + ",".join(items) if items else "")

    # -- the multipliers ------------------------------------------------------------------------
    def resolved(self, steps: int) -> "Schedule":
        """This schedule with the parameters that follow the race's steps made explicit (cosine's
        T_max, the warm-up's length); ValueError if it cannot run `steps` steps."""
        steps = _check_steps(steps)
        if self.kind == "cosine" and self.T_max is None:
            return Schedule("cosine", T_max=steps, min_factor=self.min_factor)
        if self.kind == "warmup_cosine":
            warmup = max(1, steps // 10) if self.warmup is None else self.warmup
            if warmup >= steps:
                raise ValueError(
                    f"schedule 'warmup_cosine': the warm-up ({warmup} steps) must be shorter than the race "
                    f"({steps} steps)" + (": the race needs at least 2 steps" if steps < 2 else ""))
            return Schedule("warmup_cosine", warmup=warmup, start_factor=self.start_factor,
                            min_factor=self.min_factor)
        return self

    def factors(self, steps: int, horizon: int | None = None) -> np.ndarray:
        """(steps,): f[t − 1] multiplies η at update t. `horizon` is the race's steps, which
        cosine's default T_max and the warm-up schedule follow (default: `steps`); a longer
        `steps` continues the schedule past the race. ValueError if a factor overflows."""
        steps = _check_steps(steps)
        s = self.resolved(steps if horizon is None else horizon)
        e = np.arange(steps, dtype=float)  # the scheduler's last_epoch for each update
        if s.kind == "constant":
            f = np.ones(steps)
        elif s.kind == "step":
            f = s.gamma ** (np.arange(steps) // s.step_size).astype(float)
        elif s.kind == "exponential":
            with np.errstate(over="ignore"):
                f = s.gamma**e
        elif s.kind == "cosine":
            f = _cosine(e, s.T_max, s.min_factor)
        else:  # warmup_cosine
            w = s.warmup
            total = (steps if horizon is None else horizon) - w
            f = np.where(e < w, s.start_factor + (1 - s.start_factor) * e / w,
                         _cosine(e - w, total, s.min_factor))
        if not np.all(np.isfinite(f)):
            bad = int(np.argmin(np.isfinite(f)))
            raise ValueError(f"schedule {s.kind!r}: its factor overflows at step {bad + 1}; use a γ nearer 1 or fewer steps")
        return f


def _cosine(e: np.ndarray, T_max: int, m: float) -> np.ndarray:
    """torch's closed form of CosineAnnealingLR with base 1 and eta_min m."""
    return m + (1 - m) * (1 + np.cos(np.pi * e / T_max)) / 2


CONSTANT = Schedule("constant")


def parse(value) -> Schedule | None:
    """A Schedule from None (None: no schedule, η constant), a Schedule, a dict (`from_dict`) or
    text: a kind alone ("cosine") or the `to_text` form ("step:step_size=100,gamma=0.5")."""
    if value is None or isinstance(value, Schedule):
        return value
    if isinstance(value, Mapping):
        return Schedule.from_dict(value)
    if isinstance(value, str):
        kind, _, rest = value.strip().partition(":")
        data: dict = {"kind": kind.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, text = item.partition("=")
            if not sep:
                raise ValueError(f"schedule text {value[:60]!r}: expected key=value, not {item[:40]!r}")
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"schedule text {value[:60]!r}: {key.strip()[:40]} is not a number") from None
            data[key.strip()] = int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
        return Schedule.from_dict(data)
    raise ValueError(f"a schedule must be None, a Schedule, a dict or text, not {str(value)[:60]!r}")
