"""The checks of the lesson "The edge of stability" (webapp/scenarios.py): GD on Rosenbrock with η
just above 2/λmax at the minimum does not blow up, but hovers where the sharpness is 2/η
(Cohen et al., ICLR 2021); just below, it converges. Each check takes the lesson's engine result
and the surface (claims.on_engine)."""

from __future__ import annotations

import math

import numpy as np

from optimizers import rollout
from optimizers.sharpness import sharpness_along, stability_limit

from .claims import row

# The Hessian of Rosenbrock at (1, 1) is [[802, −400], [−400, 200]]: trace 1002, determinant 400,
# so λmax = 501 + √(501² − 400) = 501 + √250601 ≈ 1001.6006 and 2/λmax ≈ 0.0019968.
SHARPNESS_AT_MINIMUM = 501 + math.sqrt(250601)
START = (1.1, 1.21)  # on the valley floor y = x², just beyond the minimum
ABOVE = 0.0021  # 1.052 × 2/λmax: the lesson's η
BELOW = 0.0019  # 0.951 × 2/λmax
STEPS = 2500
SETTLE = 150  # the steps of GD's first jump, before it lands on the valley floor


def _gd_sharpness(result, surface) -> np.ndarray:
    return sharpness_along(result, surface)[row(result, "gd")]


def bounded_after_first_jump(result, surface) -> bool:
    """GD never diverges; its loss peaks at 40–60 in its first SETTLE steps, and stays below 1.5
    after them."""
    i = row(result, "gd")
    losses = result.losses[i]
    return bool(result.diverged_at[i] < 0 and 40 < losses[:SETTLE].max() < 60 and losses[SETTLE:].max() < 1.5)


def ends_at_the_edge(result, surface) -> bool:
    """GD's sharpness at the end is within 2% of 2/η and below λmax at the minimum."""
    final = _gd_sharpness(result, surface)[-1]
    eta = result.settings["gd"]["lr"]
    return bool(abs(final / stability_limit(eta) - 1) < 0.02 and final < SHARPNESS_AT_MINIMUM)


def hovers_at_the_edge(result, surface) -> bool:
    """From step SETTLE on, every 50-step mean of GD's sharpness is within 5% of 2/η (and below
    λmax at the minimum); some are above 2/η by over 1% and some below it by over 1%."""
    sharp = _gd_sharpness(result, surface)[SETTLE:]
    windows = sharp[: 50 * (len(sharp) // 50)].reshape(-1, 50).mean(axis=1)
    limit = stability_limit(result.settings["gd"]["lr"])
    return bool((np.abs(windows / limit - 1) < 0.05).all() and (windows < SHARPNESS_AT_MINIMUM).all()
                and windows.max() > 1.01 * limit and windows.min() < 0.99 * limit)


def converges_below(result, surface) -> bool:
    """The same race at η = BELOW: GD arrives and stays, within 0.001 of (1, 1)."""
    again = rollout(surface, start=result.start, steps=result.steps, optimizers=["gd"],
                    settings={"gd": {"lr": BELOW}})
    return bool(again.settled_at[0] >= 0 and math.dist(again.paths[0, -1], surface.minima[0]) < 1e-3)
