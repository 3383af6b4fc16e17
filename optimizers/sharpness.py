"""Sharpness along a path against the stability limit 2/η: the edge of stability (Cohen et al.,
"Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability", ICLR 2021).

The sharpness at θ is λmax of the Hessian there (the surface's SymPy Hessian, `Surface.hessian`).
Plain GD with learning rate η is stable near a minimum only where the sharpness is below 2/η
(its step multiplies the error along the sharpest direction by 1 − ηλmax). On a surface whose
curvature changes from place to place, GD with η just above 2/λmax(minimum) does not blow up: it
cannot settle at the minimum, so it is thrown to where the surface is flatter and hovers where
the sharpness is about 2/η.
"""

from __future__ import annotations

import numpy as np


def max_eigenvalue(hessian: np.ndarray) -> np.ndarray:
    """λmax of symmetric 2×2 matrices (2, 2, *shape) → (*shape): (a + c)/2 + √(((a − c)/2)² + b²)."""
    a, b, c = hessian[0, 0], hessian[0, 1], hessian[1, 1]
    return (a + c) / 2 + np.hypot((a - c) / 2, b)


def sharpness_at(surface, X, Y) -> np.ndarray:
    """λmax of the Hessian at (X, Y), broadcasting like a ufunc."""
    with np.errstate(all="ignore"):
        return max_eigenvalue(surface.hessian(X, Y))


def sharpness_along(result, surface) -> np.ndarray:
    """(n, rows) λmax of the Hessian at every point of each path of a RolloutResult (rows =
    steps + 1, row 0 at the start). A path that diverged has NaN from its `diverged_at` row on:
    the engine freezes such a path at its last valid point, where the optimizer no longer is,
    so no sharpness is shown there."""
    paths = np.asarray(result.paths, dtype=float)
    values = sharpness_at(surface, paths[..., 0], paths[..., 1])
    values = np.array(np.broadcast_to(values, paths.shape[:2]), dtype=float)
    rows = np.arange(paths.shape[1])
    for i, d in enumerate(np.asarray(result.diverged_at)):
        if d >= 0:
            values[i, rows >= d] = np.nan
    return values


def stability_limit(lr) -> np.ndarray | float:
    """2/η: the largest sharpness at which plain GD with learning rate η is stable. `lr` may be
    one η or an array of per-step learning rates ηₜ (a schedule: the base η times its factors),
    giving 2/ηₜ elementwise."""
    lr = np.asarray(lr, dtype=float)
    with np.errstate(divide="ignore"):
        limit = 2.0 / lr
    return float(limit) if limit.ndim == 0 else limit
