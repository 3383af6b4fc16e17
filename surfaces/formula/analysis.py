"""What a custom surface needs besides its expression: the domain (when none is typed), the
global and local minima, the default start and learning rate (`analyse`), and the check of a
typed domain (`checked_domain`).

`analyse` runs in a worker process under the time limit (sandbox.py) and returns plain numbers
only. It also checks the derivatives: a formula whose slope holds complex or undefined
constants ((-2)^x, whose slope has log(-2)) is rejected, so NumPy never hands the engine complex
numbers. The server rebuilds the Surface from the checked text afterwards, outside the time
limit; the worker has just done the same deterministic work, and rejects formulas for which it
took more than `REBUILD_BUDGET` CPU seconds.

Domain rule (when none is typed): the smallest of the squares centred on the origin with
half-widths `SEARCH_HALF_WIDTHS` (5, 10, 20, 50) whose lowest grid point lies strictly inside it;
if there is none (the loss keeps falling outwards, e.g. x + y), the first of them where the loss
is finite anywhere. A typed domain ((xmin, xmax), (ymin, ymax)) must be finite, ordered, with
widths in [`MIN_WIDTH`, `MAX_WIDTH`] and bounds within ±`MAX_BOUND`.

Minima rule (NumPy only): the loss on a `GRID_POINTS`² grid of the domain; the grid's local
minima (best `CANDIDATES`) are refined by projected descent — each step tries the Newton step
(where the Hessian is positive definite) and the steepest-descent direction, at step lengths
1, 1/2, 1/4, ... (of the Newton step, or of the domain's diagonal), and keeps the lowest point.
`minima` are the refined points within 1e-10 (relative) of the best; other interior refined
points more than 1e-3 higher are `local_minima` (at most `MAX_MINIMA` each; points closer than
`SEPARATION` of the domain count as one, and among equal values the most central wins, so the
floor of a flat valley gives one minimum). If the loss is unbounded below on the domain
(x + y, log(x) near 0) the "minimum" is the lowest point found, often on the boundary, and
arrival (SPEC §4) is relative to its value.

Start rule: of the eight points at 70 % of the way from the domain's centre to its corners and
edge midpoints, the one farthest from every marked minimum where loss and gradient are finite
(ties: the first of upper-left, upper-right, lower-left, lower-right, top, bottom, left, right).

Learning rate rule: lr = 0.5 / λ, clipped to [`MIN_LR`, `MAX_LR`], where λ is the largest |Hessian
eigenvalue| on the segment from the start to the nearest global minimum — the stretch a race
covers; plain gradient descent is stable for lr < 2/λ, so this leaves it a 4× margin.
"""

from __future__ import annotations

import math
import time
from numbers import Real
from typing import Callable

import numpy as np
import sympy as sp

from ..surface import Surface
from .grammar import expression
from .sandbox import TOO_SLOW

Interval = tuple[float, float]
Domain = tuple[Interval, Interval]

# CPU seconds the Surface construction may take in the worker (the server repeats it untimed)
REBUILD_BUDGET = 0.3

# -- automatic domain, minima, start and learning rate -------------------------------------------
SEARCH_HALF_WIDTHS = (5.0, 10.0, 20.0, 50.0)
MIN_WIDTH, MAX_WIDTH, MAX_BOUND = 1e-3, 1e4, 1e5
GRID_POINTS = 161
CANDIDATES = 16
REFINE_ITERATIONS = 100
MAX_MINIMA = 8
# Minima closer than this fraction of the domain (in x and in y) are one: more than the spread of
# the CANDIDATES most central cells of a flat valley floor (±8 of 160 cells, 5 %), so a valley
# like that of x^2 gives one minimum, not a row of them.
SEPARATION = 0.06
START_FRACTION = 0.7
MIN_LR, MAX_LR = 1e-4, 0.5


# -- facts about the surface (computed in the worker) ------------------------------------------
def analyse(formula: str, domain: Domain | None) -> dict:
    """Everything `surface_from_formula` needs besides the expression, as plain numbers.
    Runs in a worker process, under the time limit."""
    expr = expression(formula)
    started = time.process_time()  # CPU time: what the server's rebuild costs, whatever the load
    surface = Surface(
        "custom", "Custom", formula, expr, domain=((-1.0, 1.0), (-1.0, 1.0)), minima=((0.0, 0.0),),
        start=(0.0, 0.0),
    )  # a probe: its f, grad and hessian are all that is used
    if time.process_time() - started > REBUILD_BUDGET:
        raise ValueError(TOO_SLOW)
    derivatives = (*surface.grad_expr, *surface.hessian_expr)
    if any(part.has(sp.I) for part in derivatives):
        # e.g. d/dx (-2)^x = (-2)^x (log 2 + iπ): NumPy would hand the engine complex gradients
        raise ValueError(
            "the formula's slope has complex values (a power of a negative number, like (-2)^x?)"
        )
    if any(part.has(sp.zoo, sp.nan) for part in derivatives):
        raise ValueError("the formula's slope is undefined (a power of zero, like 0^x?)")
    if domain is None:
        domain = _choose_domain(surface)
    minima, local_minima = _find_minima(surface, domain)
    start = _default_start(surface, domain, minima + local_minima)
    return {
        "domain": domain,
        "minima": minima,
        "local_minima": local_minima,
        "start": start,
        "lr": _default_lr(surface, start, minima),
    }


def _loss(surface: Surface, X, Y) -> np.ndarray:
    """The loss with every non-finite value (NaN, ±inf) replaced by +inf: never a minimum."""
    Z = surface.f(X, Y)
    return np.where(np.isfinite(Z), Z, np.inf)


def _grid(domain: Domain, n: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = domain
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def _square(half_width: float) -> Domain:
    return ((-half_width, half_width), (-half_width, half_width))


def _choose_domain(surface: Surface) -> Domain:
    """The domain rule of the module docstring."""
    fallback = None
    for half_width in SEARCH_HALF_WIDTHS:
        Z = _loss(surface, *_grid(_square(half_width)))
        if not np.isfinite(Z).any():
            continue
        fallback = fallback or _square(half_width)
        i, j = np.unravel_index(Z.argmin(), Z.shape)
        if 0 < i < Z.shape[0] - 1 and 0 < j < Z.shape[1] - 1:
            return _square(half_width)
    if fallback is None:
        raise ValueError(
            f"the loss is not defined anywhere within ±{SEARCH_HALF_WIDTHS[-1]:g} of the origin"
        )
    return fallback


def _find_minima(surface: Surface, domain: Domain) -> tuple[list, list]:
    """(global minima, local minima) as lists of [x, y]: the minima rule of the module docstring."""
    X, Y = _grid(domain)
    Z = _loss(surface, X, Y)
    if not np.isfinite(Z).any():
        raise ValueError("the loss is not defined anywhere in the domain")
    centre_distance = _centre_distance(domain)
    cells = _grid_minima(Z, centre_distance(X, Y))
    points, values = _refine(surface, np.stack([X.flat[cells], Y.flat[cells]], axis=1), domain)
    best = values.min()
    tolerance = 1e-10 * max(1.0, abs(best))
    (x0, x1), (y0, y1) = domain
    scale = np.array([x1 - x0, y1 - y0])
    minima, local_minima = [], []
    for k in np.lexsort((centre_distance(points[:, 0], points[:, 1]), values)):
        point = points[k]
        if any(np.all(np.abs(point - p) < SEPARATION * scale) for p in minima + local_minima):
            continue  # the same minimum reached from another grid cell, or a flat valley's floor
        if values[k] <= best + tolerance:
            if len(minima) < MAX_MINIMA:
                minima.append(point)
        elif values[k] > best + 1e-3 and _is_interior(point, domain):
            if len(local_minima) < MAX_MINIMA:
                local_minima.append(point)
    return [p.tolist() for p in minima], [p.tolist() for p in local_minima]


def _centre_distance(domain: Domain) -> Callable:
    """(X, Y) -> distance from the domain's centre, in units of its half-widths: breaks ties
    between equal values (a valley floor) in favour of the middle of the picture."""
    (x0, x1), (y0, y1) = domain
    return lambda X, Y: np.hypot((2 * X - x0 - x1) / (x1 - x0), (2 * Y - y0 - y1) / (y1 - y0))


def _grid_minima(Z: np.ndarray, centre_distance: np.ndarray) -> np.ndarray:
    """Flat indices of the grid points no higher than their eight neighbours, lowest (then most
    central) first, at most CANDIDATES. The lowest grid point is always one of them."""
    n, m = Z.shape
    padded = np.pad(Z, 1, constant_values=np.inf)
    is_minimum = np.isfinite(Z)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_minimum &= Z <= padded[1 + di : 1 + di + n, 1 + dj : 1 + dj + m]
    cells = np.flatnonzero(is_minimum)
    return cells[np.lexsort((centre_distance.flat[cells], Z.flat[cells]))][:CANDIDATES]


_TRIAL_STEPS = 2.0 ** -np.arange(53)  # fractions of a step tried, down to machine precision


def _refine(surface: Surface, points: np.ndarray, domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """Projected descent from every point at once (K points, shape (K, 2)): each iteration moves
    a point to the lowest of its trial points along the Newton and steepest-descent directions,
    and stops when no point gets lower."""
    low = np.array([domain[0][0], domain[1][0]])
    high = np.array([domain[0][1], domain[1][1]])
    reach = float(np.hypot(*(high - low)))
    p = points.astype(float)
    values = _loss(surface, p[:, 0], p[:, 1])
    columns = np.arange(len(p))
    for _ in range(REFINE_ITERATIONS):
        directions = _descent_directions(surface, p, reach)  # (2, K, 2)
        trials = np.clip(p + _TRIAL_STEPS[:, None, None, None] * directions, low, high)
        trials = trials.reshape(-1, len(p), 2)  # (2T, K, 2)
        trial_values = _loss(surface, trials[..., 0], trials[..., 1])
        best = trial_values.argmin(axis=0)
        improved = trial_values[best, columns] < values
        if not improved.any():
            break
        p[improved] = trials[best, columns][improved]
        values[improved] = trial_values[best, columns][improved]
    return p, values


def _descent_directions(surface: Surface, p: np.ndarray, reach: float) -> np.ndarray:
    """(Newton step, steepest-descent step of length `reach`) at each point, shape (2, K, 2).
    The Newton step is zero where the Hessian is not positive definite, and at most `reach` long."""
    gx, gy = surface.grad(p[:, 0], p[:, 1])
    (a, b), (_, d) = surface.hessian(p[:, 0], p[:, 1])
    det = a * d - b * b
    newton = -np.stack([d * gx - b * gy, a * gy - b * gx], axis=1) / det[:, None]
    newton[~((a > 0) & (det > 0))] = 0.0
    length = np.hypot(newton[:, 0], newton[:, 1])
    newton *= np.minimum(1.0, reach / np.maximum(length, 1e-300))[:, None]
    gradient = np.stack([gx, gy], axis=1)
    steepest = -gradient * (reach / np.hypot(gx, gy))[:, None]  # NaN at a zero gradient: never chosen
    return np.stack([newton, steepest])


def _is_interior(point: np.ndarray, domain: Domain) -> bool:
    margins = [1e-9 * (hi - lo) for lo, hi in domain]
    return all(lo + m < v < hi - m for v, (lo, hi), m in zip(point, domain, margins))


# Upper-left, upper-right, lower-left, lower-right, top, bottom, left, right.
_START_DIRECTIONS = np.array(
    [(-1, 1), (1, 1), (-1, -1), (1, -1), (0, 1), (0, -1), (-1, 0), (1, 0)], dtype=float
)


def _default_start(surface: Surface, domain: Domain, marked: list) -> list:
    """The start rule of the module docstring (falling back to any grid point where loss and
    gradient are finite)."""
    (x0, x1), (y0, y1) = domain
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    candidates = centre + START_FRACTION * half * _START_DIRECTIONS
    usable = _finite_loss_and_gradient(surface, candidates)
    if not usable.any():
        X, Y = _grid(domain, 41)
        candidates = np.stack([X.ravel(), Y.ravel()], axis=1)
        usable = _finite_loss_and_gradient(surface, candidates)
    if not usable.any():
        raise ValueError("there is no point in the domain where the loss and its gradient are finite")
    candidates = candidates[usable]
    offsets = (candidates[:, None, :] - np.array(marked)[None, :, :]) / half
    nearest = np.hypot(offsets[..., 0], offsets[..., 1]).min(axis=1)
    return candidates[nearest.argmax()].tolist()


def _finite_loss_and_gradient(surface: Surface, points: np.ndarray) -> np.ndarray:
    gx, gy = surface.grad(points[:, 0], points[:, 1])
    return np.isfinite(surface.f(points[:, 0], points[:, 1])) & np.isfinite(gx) & np.isfinite(gy)


def _default_lr(surface: Surface, start: list, minima: list) -> float:
    """The learning-rate rule of the module docstring."""
    start = np.array(start)
    target = min(minima, key=lambda m: np.hypot(*(np.array(m) - start)))
    t = np.linspace(0.0, 1.0, 33)[:, None]
    segment = start + t * (np.array(target) - start)
    H = surface.hessian(segment[:, 0], segment[:, 1]).transpose(2, 0, 1)
    H = H[np.isfinite(H).all(axis=(1, 2))]
    curvature = float(np.abs(np.linalg.eigvalsh(H)).max()) if len(H) else 0.0
    if not curvature > 0:
        return MAX_LR
    return float(np.clip(0.5 / curvature, MIN_LR, MAX_LR))


# -- a typed domain ----------------------------------------------------------------------------
def checked_domain(domain) -> Domain:
    """A typed domain ((xmin, xmax), (ymin, ymax)) as floats, or ValueError saying what is wrong."""
    shape = "the domain must be ((xmin, xmax), (ymin, ymax)) with numbers"
    try:
        (x0, x1), (y0, y1) = domain
    except (TypeError, ValueError):
        raise ValueError(shape) from None
    checked = []
    for axis, (lo, hi) in (("x", (x0, x1)), ("y", (y0, y1))):
        if not all(isinstance(v, Real) and not isinstance(v, bool) for v in (lo, hi)):
            raise ValueError(shape)
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"the {axis}-range must be finite, not ({lo}, {hi})")
        if not lo < hi:
            raise ValueError(f"the {axis}-range must go from low to high, not ({lo:g}, {hi:g})")
        if not MIN_WIDTH <= hi - lo <= MAX_WIDTH:
            raise ValueError(f"the {axis}-range must be between {MIN_WIDTH:g} and {MAX_WIDTH:g} wide")
        if max(abs(lo), abs(hi)) > MAX_BOUND:
            raise ValueError(f"the {axis}-range must lie within ±{MAX_BOUND:g}")
        checked.append((lo, hi))
    return tuple(checked)

