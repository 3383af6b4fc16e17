"""The learning-rate range test (Smith 2017, "Cyclical learning rates"; fast.ai's lr_find) on a
race surface.

Each optimizer makes one run whose η grows exponentially, from `low` at the first update to
`high` at the last (an exponential schedule, schedules.py: ηₜ = low·γ^(t−1), γ =
(high/low)^(1/(steps−1))), and the loss is recorded after every update. A run stops at the first
update whose loss exceeds `stop_factor` times the best loss so far (the start's loss included),
or where it diverges (SPEC §4: a non-finite loss or a point outside the escape box). Losses are
counted above the surface's minimum, f − f_min, so that the rule "loss > 4 × best" means the same
on a surface whose minimum is not 0 (on the bowl, f_min = 0, it is the raw loss).

The suggestion is fast.ai's "steep" one: the η at which the loss fell fastest against log10 η,
before the stop. Update t (η = ηₜ) moves the loss from Lₜ₋₁ to Lₜ, so its slope is
(Lₜ − Lₜ₋₁)/(log10 ηₜ − log10 ηₜ₋₁) = (Lₜ − Lₜ₋₁)/log10 γ, and the suggestion is the ηₜ of the
most negative slope. fast.ai smooths its losses (an exponential moving average, β = 0.98, with
debiasing) because they are mini-batch losses, noisy by nature; the losses here are the full
loss at each iterate, exact even when the gradient is noisy, so by default they are not smoothed
(`smoothing=0`; `smoothing=0.98` gives fast.ai's average, which over a 100-step test lags the
loss by tens of steps and moves the suggestion to larger η). The stop rule always reads the
raw losses.

What it finds, and where it misleads on a 2-D surface
------------------------------------------------------
(Every number below is what `lr_range_test` gives with its defaults, 1e-7 to 10 over 100 steps;
tests/test_lr_range.py checks the bowl's by hand.)

It finds the η range in which a run of this length, from this start, makes its fastest progress,
and an η at which the loss climbs. On a one-scale problem that is a fair guide: GD on the bowl
f = x² + y² (curvature λ = 2, stable for η < 2/λ = 1; each update multiplies the loss by
(1 − 2ηₜ)²) is suggested η ≈ 0.045 (update 71), a twentieth of the stable limit, and stops at
update 90 (η ≈ 1.56), two updates after η first passes 1, when the loss has grown to more than 4
times its best.

But it measures the drop of the loss along one moving trajectory, not the worth of an η held
constant:

* Every update starts where the earlier, smaller η left the run: Lₜ owes as much to η₁ … ηₜ₋₁ as
  to ηₜ. The steepest drop comes where η first makes real progress while the loss is still large
  (GD on the bowl: 0.045), not at the η that converges fastest (0.5, which would reach the bowl's
  minimum in one step). With fast.ai's smoothing (β = 0.98) the suggestion lags to 0.14.
* The stop rule reads any climb of the loss as divergence. Momentum (γ = 0.9) overshoots and
  comes back: on the bowl, held at any of 60 values of η from 0.005 to 1.8, its loss climbs to
  more than 1000 times its best on the way, and it converges at every one of them (it is
  stable up to 2(1 + γ)/λ = 1.9). The test stops it at
  η ≈ 0.012, 150 times below its limit, and suggests 0.005. Adam's steps are about η long, so
  its loss climbs once η is comparable to the distance left: it stops at η ≈ 0.42 on the bowl,
  an η at which, held constant, it converges (to 5e-23 in 500 steps).
* On a ravine the steepest drop comes from the steep walls. On f = x²/10 + 5y² (curvatures 0.2 and
  10) from (−9, 2), GD is suggested η ≈ 0.010, where the steep y term drains (7.2 → 5.8 in that
  update), a twentieth of the stable limit 2/10 = 0.2 that the walls set. At that η the floor (x)
  shrinks by 0.2 % a step: held constant it has not arrived after 1000 steps, where η = 0.19
  arrives in 74. And the stop comes at η ≈ 1.07, five times past that limit: by the time η passes
  0.2 the y term is drained to 1e-10, and the unstable direction needs eight updates to grow
  back to 4 times the best loss.
* The suggestion is tied to the start and to the budget. For GD on a quadratic it does not depend
  on the distance to the minimum (the loss scales by r², the slope's minimum stays put: 0.045
  from (−1.6, 1.3), from (−16, 13) and from (1, 0) alike), but it does on the direction. For the
  optimizers whose step is about η whatever the gradient (RMSprop, Adam and its family), it is set
  by the distance: the loss falls fastest when the steps have grown to the distance still to go
  (Adam on the bowl: 0.095 from (1, 0), 0.14 from (−1.6, 1.3), 1.3 from (−16, 13)). A test of more
  or fewer steps spaces the η more finely or coarsely and moves the suggestion too.
* AdaDelta's step is η times a step it learns itself, starting near √ε = 1e-3 whatever η is: on
  the bowl its steps are 5e-10 long at η = 1e-7 and still 0.06 at η = 10. It never stops, and its
  steepest drop is its last update, at the top of the range (η = 10): the test says nothing
  about AdaDelta, whose η is usually left at 1. (AdaGrad, whose steps shrink as it goes, never
  stops on the bowl either.)

So read the suggestion as the order of magnitude at which a run of this length makes progress from
this start, not as the η to race with: on a 2-D surface a sweep of constant η (`sweep`) answers
that directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Mapping

from .engine import rollout
from .registry import check_optimizer_ids
from .schedules import Schedule

MAX_RANGE_STEPS = 10_000


@dataclass(frozen=True)
class RangeTestResult:
    """One row per optimizer (`names`); columns are updates t = 1 … steps (index t − 1)."""

    surface_id: str
    names: list[str]
    start: tuple[float, float]
    low: float
    high: float
    steps: int
    stop_factor: float
    smoothing: float
    schedule: dict  # the exponential schedule run (schedules.py)
    lrs: np.ndarray  # (steps,): the η of update t, the same for every optimizer (AdaDelta's too)
    start_loss: np.ndarray  # (n,): the loss at the start (every optimizer's is the same)
    losses: np.ndarray  # (n, steps): the loss after update t, NaN from where the run diverged
    smoothed: np.ndarray  # (n, steps): what the suggestion reads (`losses` when smoothing = 0)
    stopped_at: np.ndarray  # (n,): the update t at which the run stopped, -1 if it never did
    stop_reason: tuple  # per run: "loss" (> stop_factor × best), "diverged", or None
    best_loss: np.ndarray  # (n,): the lowest loss before the stop (the start's included)
    suggested_at: np.ndarray  # (n,): the update t whose η is suggested, -1 where none is
    suggested_lr: np.ndarray  # (n,): that η, NaN where none is (a run that stopped at once)

    def row(self, oid: str) -> dict:
        """One optimizer's outcome as plain numbers (JSON-safe but for the arrays)."""
        i = self.names.index(oid)
        return {
            "id": oid,
            "stopped_at": int(self.stopped_at[i]),
            "stop_reason": self.stop_reason[i],
            "stop_lr": float(self.lrs[self.stopped_at[i] - 1]) if self.stopped_at[i] > 0 else None,
            "suggested_lr": None if math.isnan(self.suggested_lr[i]) else float(self.suggested_lr[i]),
            "best_loss": float(self.best_loss[i]),
        }


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, not {str(value)[:40]!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
    return value


def smooth(losses: np.ndarray, beta: float) -> np.ndarray:
    """fast.ai's smoothing: an exponential moving average avg ← β·avg + (1−β)·L, debiased
    (divided by 1 − βᵗ after t values); β = 0 returns the losses."""
    if beta == 0:
        return np.array(losses, dtype=float)
    out = np.empty(len(losses))
    avg = 0.0
    for t, value in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * value
        out[t - 1] = avg / (1 - beta**t)
    return out


def lr_range_test(
    surface,
    start=None,
    optimizers=None,
    settings=None,
    low: float = 1e-7,
    high: float = 10.0,
    steps: int = 100,
    stop_factor: float = 4.0,
    smoothing: float = 0.0,
    noise: float = 0.0,
    batch_size: int = 16,
    seed: int = 0,
) -> RangeTestResult:
    """Run the range test for each optimizer (None: the nine) from `start` (default: the
    surface's); `settings` fixes the hyperparameters other than η (the test sets η itself).
    `noise`, `batch_size` and `seed` are rollout's. See the module docstring."""
    low, high = _positive("low", low), _positive("high", high)
    if not low < high:
        raise ValueError(f"low ({low:g}) must be smaller than high ({high:g})")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 2 <= steps <= MAX_RANGE_STEPS:
        raise ValueError(f"steps must be a whole number from 2 to {MAX_RANGE_STEPS}, not {steps!r}")
    stop_factor = _positive("stop_factor", stop_factor)
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must be greater than 1, not {stop_factor!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1), not {smoothing!r}")
    settings = dict(settings or {})
    for oid, overrides in settings.items():
        if not isinstance(overrides, Mapping):
            raise ValueError(f"settings[{oid!r}] must be a dict of hyperparameters, not {str(overrides)[:40]!r}")
        if "lr" in overrides:
            raise ValueError(f"settings[{oid!r}] sets lr: the range test sets η itself (from low to high)")
    steps = int(steps)
    gamma = (high / low) ** (1 / (steps - 1))
    schedule = Schedule("exponential", gamma=gamma)
    ids = check_optimizer_ids(optimizers)
    run_settings = {**settings, **{oid: {**settings.get(oid, {}), "lr": low} for oid in ids}}
    r = rollout(surface, start=start, steps=steps, settings=run_settings, optimizers=ids, noise=noise,
                batch_size=batch_size, seed=seed, schedule=schedule)
    lrs = low * r.lr_factors  # ηₜ = low·γ^(t−1)
    f_min = float(surface.f_min)
    n = len(ids)
    excess = r.losses - f_min  # (n, steps + 1), frozen after a divergence
    losses = excess[:, 1:].copy()
    stopped_at = np.full(n, -1)
    reasons: list = [None] * n
    best = np.empty(n)
    for i in range(n):
        d = int(r.diverged_at[i])
        if d >= 0:
            losses[i, d - 1 :] = np.nan
        running = np.minimum.accumulate(excess[i, :-1])  # best before update t, t = 1 … steps
        over = np.flatnonzero(losses[i] > stop_factor * running)
        stop = int(over[0]) + 1 if len(over) else -1
        if d >= 0 and (stop < 0 or d <= stop):
            stop, reasons[i] = d, "diverged"
        elif stop > 0:
            reasons[i] = "loss"
        stopped_at[i] = stop
        end = stop - 1 if stop > 0 else steps  # the updates before the stop: 1 … end
        best[i] = min(excess[i, 0], np.min(losses[i, :end], initial=np.inf))
    smoothed = np.array([smooth(row, smoothing) for row in losses]) if smoothing else losses.copy()
    suggested_at = np.full(n, -1)
    suggested_lr = np.full(n, np.nan)
    step_log = math.log10(gamma)
    for i in range(n):
        end = stopped_at[i] - 1 if stopped_at[i] > 0 else steps
        if end < 1:
            continue
        previous = np.concatenate([[excess[i, 0]], smoothed[i, : end - 1]])
        slopes = (smoothed[i, :end] - previous) / step_log
        t = int(np.argmin(slopes)) + 1
        suggested_at[i], suggested_lr[i] = t, lrs[t - 1]
    return RangeTestResult(
        surface.id, ids, r.start, low, high, steps, stop_factor, float(smoothing), schedule.to_dict(), lrs,
        excess[:, 0] + f_min, losses + f_min, smoothed + f_min, stopped_at, tuple(reasons), best + f_min,
        suggested_at, suggested_lr,
    )
