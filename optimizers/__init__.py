"""The nine optimizers and the vectorised rollout engine (SPEC §2–§5).

    from optimizers import OPTIMIZERS, rollout, sweep
    r = rollout(surface, start=(x0, y0), steps=500, settings={"adam": {"lr": 0.05}})
    r.names, r.paths, r.losses, r.diverged_at, r.arrived_at
    rollout(surface, schedule={"kind": "cosine", "min_factor": 0.01})   # schedules.py
    lr_range_test(surface)                                                # lr_range.py
"""

from .engine import MAX_STEPS, RolloutResult, SweepResult, rollout, rollout_many, sweep
from .lr_range import RangeTestResult, lr_range_test
from .registry import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS, OptimizerSpec, resolve_settings
from .schedules import SCHEDULES, Schedule

__all__ = [
    "ALL_OPTIMIZERS",
    "EXTRAS",
    "HYPERPARAMETERS",
    "MAX_STEPS",
    "OPTIMIZERS",
    "OptimizerSpec",
    "RangeTestResult",
    "SCHEDULES",
    "Schedule",
    "RolloutResult",
    "SweepResult",
    "resolve_settings",
    "rollout",
    "lr_range_test",
    "rollout_many",
    "sweep",
]
