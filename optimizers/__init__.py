"""The nine optimizers and the vectorised rollout engine (SPEC §2–§5).

    from optimizers import OPTIMIZERS, rollout, sweep
    r = rollout(surface, start=(x0, y0), steps=500, settings={"adam": {"lr": 0.05}})
    r.names, r.paths, r.losses, r.diverged_at, r.arrived_at
"""

from .engine import MAX_STEPS, RolloutResult, SweepResult, rollout, rollout_many, sweep
from .registry import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS, OptimizerSpec, resolve_settings

__all__ = [
    "ALL_OPTIMIZERS",
    "EXTRAS",
    "HYPERPARAMETERS",
    "MAX_STEPS",
    "OPTIMIZERS",
    "OptimizerSpec",
    "RolloutResult",
    "SweepResult",
    "resolve_settings",
    "rollout",
    "rollout_many",
    "sweep",
]
