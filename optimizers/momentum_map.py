"""The momentum map (Goh, "Why Momentum Really Works", Distill 2017): how fast heavy-ball
momentum converges on a quadratic surface, over a grid of learning rates η and momenta γ,
measured on the engine and predicted from the Hessian's eigenvalues.

On a quadratic f with constant Hessian H (eigenvalues μ = λmin > 0, L = λmax, κ = L/μ) the
heavy ball θ_(t+1) = θ_t − η∇f(θ_t) + γ(θ_t − θ_(t−1)) (the engine's Momentum, rules.py, in
whichever state layout it keeps) moves each eigen-direction of H by the 2×2 matrix

    M(λ) = [[1 + γ − ηλ, −γ], [1, 0]]

so the distance to the minimum shrinks, per step and in the long run, by the spectral radius

    r(η, γ) = max over λ ∈ {μ, L} of ρ(M(λ)),

`predicted_rate`, with ρ(M(λ)) = √γ when (1 + γ − ηλ)² < 4γ (complex pair), else
(|1 + γ − ηλ| + √((1 + γ − ηλ)² − 4γ))/2; for γ = 0 (plain GD) that is max |1 − ηλ|. For the
2-D surfaces here μ and L are the Hessian's only two eigenvalues, so the maximum is exact.
Its minimum (Goh, Polyak) is at

    α* = (2/(√μ + √L))²,  β* = ((√κ − 1)/(√κ + 1))²,  r* = (√κ − 1)/(√κ + 1),

`theoretical_optimum`. On the ravine (x²/10 + 5y²: λ = 1/5 and 10, κ = 50) that is
α* ≈ 0.3070, β* ≈ 0.5657, r* ≈ 0.7521; GD's best, η = 2/(μ + L), has rate (κ − 1)/(κ + 1) ≈ 0.961.

`momentum_map` measures the rate of every cell of a 64 × 64 grid in ONE call of the compiled loop
(4096 Momentum runs, as `engine.sweep` builds them) and sets the prediction beside it.

**The measured rate** of a run (`measured_rates`) is the per-step contraction factor of the
distance to the minimum d_t = ‖θ_t − θ*‖ over the late part of the run:

    r = (D(T1) / D(T0)) ^ (1 / (T1 − T0)),   T0 = ⌊T1/4⌋,

where T1 is the last step (≤ `steps`) at which d_t is still ≥ FLOOR = 1e-200 (a fast run stops
being measured before its distance underflows; a run that never goes below stays T1 = steps),
and D(t) = max of d over the WINDOW = min(32, ⌈(T1 − T0)/4⌉) steps ending at t: an envelope, so a
spiralling path whose distance oscillates within a turn is measured by its peaks, not by where in
a turn the two ends fall. Dropping the first quarter lets the transients fade (the faster
eigen-direction, and the t·rᵗ factor of a double eigenvalue at the optimum, which biases the
estimate by only (T1/T0)^(1/(T1 − T0)) ≈ 1.004 at T1 = 500). A run whose distance falls below
FLOOR within 8 steps (or hits exactly 0, as GD at η = 1/λ on the bowl) gets (d_s/d_0)^(1/s) at that
step s instead. r ≥ 1: the run does not converge; a run that overflows (non-finite iterates or
distance) gets r = inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kernel import Batches, integrate, run_table
from .registry import ALL_OPTIMIZERS

GRID = 64  # cells per axis: 64 × 64 = 4096 runs, one loop call (engine.MAX_SWEEP_VALUES)
STEPS = 500  # steps per run of the map
FLOOR = 1e-200  # distances below this are not measured (far from float64's underflow at 1e-308)
WINDOW = 32  # the envelope's longest window, steps
LR_DECADES = 3.0  # η spans 10^-3 × (4/L) … 4/L
GAMMA_MAX = 0.999  # the grid's largest γ


@dataclass(frozen=True)
class MomentumMap:
    """Measured and predicted convergence rates of Momentum over a grid: rate[i, j] and
    predicted[i, j] are at (lrs[i], gammas[j]) (row i: learning rate, column j: momentum;
    gammas[0] = 0 is plain GD). `best` is the measured map's fastest cell, `optimum` = (α*, β*)
    and `optimum_cell` the cell nearest to it (nearest in log η and in γ)."""

    surface_id: str
    start: tuple[float, float]
    steps: int
    lrs: np.ndarray  # (64,) log-spaced
    gammas: np.ndarray  # (64,) 0 … GAMMA_MAX, denser near 1
    rate: np.ndarray  # (64, 64) measured per-step contraction (inf: overflowed)
    best: tuple[int, int]
    optimum: tuple[float, float]
    optimum_cell: tuple[int, int]
    predicted: np.ndarray  # (64, 64) spectral radius from the Hessian's eigenvalues
    optimal_rate: float  # r*
    eigenvalues: tuple[float, float]  # (μ, L)


# -- facts from the Hessian ---------------------------------------------------------------------
def eigenvalues(surface) -> tuple[float, float]:
    """(μ, L) = (λmin, λmax) of the constant Hessian of a quadratic surface; ValueError for a
    surface whose Hessian is not constant, or not positive definite (no minimum to converge to)."""
    if not surface.is_quadratic:
        raise ValueError(
            f"the momentum map needs a quadratic surface (a constant Hessian, as the bowl and the ravine); "
            f"{surface.name!r} curves differently from place to place, so it has no single rate"
        )
    point = surface.minima[0]
    H = np.asarray(surface.hessian(*point), dtype=float).reshape(2, 2)
    mu, L = (float(v) for v in np.linalg.eigvalsh(H))
    if not (mu > 0 and math.isfinite(L)):
        raise ValueError(f"the Hessian of {surface.name!r} has eigenvalues {mu:g} and {L:g}: it is not "
                         "positive definite, so there is no minimum to converge to")
    return mu, L


def theoretical_optimum(surface) -> tuple[float, float, float]:
    """(α*, β*, r*): Goh's optimal learning rate and momentum and the rate they give,
    α* = (2/(√μ + √L))², β* = ((√κ − 1)/(√κ + 1))², r* = (√κ − 1)/(√κ + 1)."""
    mu, L = eigenvalues(surface)
    s = math.sqrt(L / mu)
    return (2 / (math.sqrt(mu) + math.sqrt(L))) ** 2, ((s - 1) / (s + 1)) ** 2, (s - 1) / (s + 1)


def _radius(lam: float, lr, gamma) -> np.ndarray:
    """ρ([[1 + γ − ηλ, −γ], [1, 0]]), elementwise."""
    b = 1 + gamma - lr * lam
    disc = b * b - 4 * gamma
    with np.errstate(invalid="ignore"):
        real = (np.abs(b) + np.sqrt(np.maximum(disc, 0.0))) / 2
    return np.where(disc < 0, np.sqrt(np.maximum(gamma, 0.0)), real)


def predicted_rate(surface, lr, gamma) -> np.ndarray:
    """The long-run per-step contraction of the distance to the minimum, max over λ ∈ {μ, L} of
    the spectral radius of the heavy-ball matrix (module docstring); `lr` and `gamma` broadcast.
    γ = 0 gives GD's max |1 − ηλ|. ≥ 1: not convergent."""
    mu, L = eigenvalues(surface)
    lr, gamma = np.asarray(lr, dtype=float), np.asarray(gamma, dtype=float)
    return np.maximum(_radius(mu, lr, gamma), _radius(L, lr, gamma))


def predicted_distance(surface, lr, gamma, steps: int, start=None) -> np.ndarray:
    """The predicted envelope of the distance to the minimum, d₀·rᵗ for t = 0 … steps, with d₀ the
    start's distance and r = predicted_rate: shape (*broadcast of lr and gamma, steps + 1). It is
    the long-run rate drawn from the start, not a bound: a path's early steps can sit above it
    (Momentum's transient growth, the factor t at a double eigenvalue) or below it (when the start
    has little of the slow direction)."""
    d0 = _start_distance(surface, start)
    r = predicted_rate(surface, lr, gamma)[..., None]
    t = np.arange(steps + 1)
    with np.errstate(over="ignore", under="ignore"):
        return d0 * r**t


def predicted_loss(surface, lr, gamma, steps: int, start=None) -> np.ndarray:
    """The predicted envelope of the loss for a loss chart: f_min + (f(start) − f_min)·r^(2t),
    t = 0 … steps (the loss gap of a quadratic is quadratic in the distance, so it shrinks by r²
    a step), shape (*broadcast of lr and gamma, steps + 1). Anchored at the start's loss gap; like
    `predicted_distance` it is the long-run rate, not a bound on every step."""
    start = surface.start if start is None else start
    gap = float(surface.f(*start)) - surface.f_min
    r = predicted_rate(surface, lr, gamma)[..., None]
    t = np.arange(steps + 1)
    with np.errstate(over="ignore", under="ignore"):
        return surface.f_min + gap * r ** (2 * t)


def _start_distance(surface, start) -> float:
    start = surface.start if start is None else start
    return math.dist(start, surface.minima[0])


# -- the grid -------------------------------------------------------------------------------------
def grid(surface, n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """(lrs, gammas) of the map. η: n values log-spaced over 10^-3·(4/L) … 4/L; every stable η,
    0 < η < 2(1 + γ)/L ≤ 4/L, lies below the top, and so does α* (between 1/L, for κ = 1, and
    4/L as κ grows); a cell is a factor 10^(3/63) ≈ 1.12 wide. γ: 1 − (1 − u)² for u evenly spaced
    over 0 … 1 − √(1 − GAMMA_MAX), so γ runs 0 (GD, the first column) … 0.999 and √(1 − γ) is
    evenly spaced: the cells crowd towards γ = 1, where the ill-conditioned optima lie
    (β* = 1 − 4/(√κ + 1)² …); at β* = 0.566 (the ravine) a cell is about 0.02 wide."""
    _, L = eigenvalues(surface)
    lrs = (4 / L) * np.logspace(-LR_DECADES, 0, n)
    u = np.linspace(0.0, 1.0 - math.sqrt(1.0 - GAMMA_MAX), n)
    return lrs, 1.0 - (1.0 - u) ** 2


def nearest_cell(lrs: np.ndarray, gammas: np.ndarray, lr: float, gamma: float) -> tuple[int, int]:
    """The cell whose (η, γ) is nearest to (lr, gamma): in log η, and in γ."""
    return int(np.argmin(np.abs(np.log(lrs) - math.log(lr)))), int(np.argmin(np.abs(gammas - gamma)))


def momentum_runs(lrs, gammas) -> list:
    """(optimizer id, values in its defaults order) of Momentum at each (lrs[k], gammas[k]); any
    other hyperparameter it may have keeps its default."""
    defaults = ALL_OPTIMIZERS["momentum"].defaults
    return [("momentum", [{**defaults, "lr": float(a), "gamma": float(g)}[key] for key in defaults])
            for a, g in zip(lrs, gammas)]


def _full_batches(surface, K: int) -> Batches | None:
    """On a (linear) data surface: every run's step reads all the examples (the exact gradient)."""
    examples = getattr(surface, "examples", None)
    if examples is None:
        return None
    n = examples.shape[1]
    return Batches(np.full(K, n, dtype=np.int64), np.arange(n, dtype=np.int32)[None, :])


def distances(surface, lrs, gammas, steps: int = STEPS, start=None) -> np.ndarray:
    """‖θ_t − θ*‖ of Momentum at each (lrs[k], gammas[k]) from `start` (default: the surface's),
    (steps + 1, K): one call of the compiled loop."""
    eigenvalues(surface)  # the checks
    start = surface.start if start is None else tuple(float(v) for v in start)
    lrs, gammas = np.broadcast_arrays(np.asarray(lrs, dtype=float).ravel(), np.asarray(gammas, dtype=float).ravel())
    table = run_table(momentum_runs(lrs, gammas))
    out, _ = integrate(surface, start, steps, table, batches=_full_batches(surface, len(lrs)))
    minimum = np.asarray(surface.minima[0])
    with np.errstate(all="ignore"):
        return np.hypot(out[:, 0] - minimum[0], out[:, 1] - minimum[1])


def rates_of(d: np.ndarray) -> np.ndarray:
    """The measured rate (module docstring) of each column of distances d (steps + 1, K)."""
    T = d.shape[0] - 1
    K = d.shape[1]
    runs = np.arange(K)
    if not (d[0] >= FLOOR).all():
        raise ValueError("the start is at the minimum: there is no distance to shrink")
    finite = np.isfinite(d).all(axis=0)
    with np.errstate(invalid="ignore"):
        below = d < FLOOR  # NaN: not below
    ever = below.any(axis=0)
    first_below = np.where(ever, below.argmax(axis=0), T + 1)
    t1 = first_below - 1  # the last measured step
    t0 = t1 // 4
    span = t1 - t0
    window = np.clip(-(-span // 4), 1, WINDOW)
    offsets = np.arange(WINDOW)[:, None]

    def envelope(t):
        idx = np.clip(t[None, :] - offsets, 0, None)
        values = np.where(offsets < window[None, :], d[idx, runs[None, :]], -np.inf)
        return values.max(axis=0)

    with np.errstate(all="ignore"):
        late = (envelope(t1) / envelope(t0)) ** (1.0 / np.maximum(span, 1))
        s = np.minimum(first_below, T)
        quick = (d[s, runs] / d[0]) ** (1.0 / s)
    rate = np.where(ever & (first_below <= 8), quick, late)
    return np.where(finite, rate, np.inf)


def measured_rates(surface, lrs, gammas, steps: int = STEPS, start=None) -> np.ndarray:
    """The measured rate of Momentum at each (lrs[k], gammas[k]) (module docstring), (K,)."""
    return rates_of(distances(surface, lrs, gammas, steps, start))


def momentum_map(surface, start=None, steps: int = STEPS, n: int = GRID) -> MomentumMap:
    """The n × n momentum map of a quadratic surface (ValueError for any other): the measured
    rate of every (η, γ) cell of `grid`, all n² runs in one call of the compiled loop, beside
    `predicted_rate` and Goh's optimum."""
    lrs, gammas = grid(surface, n)
    start = surface.start if start is None else (float(start[0]), float(start[1]))
    L_grid, G_grid = np.meshgrid(lrs, gammas, indexing="ij")
    rate = measured_rates(surface, L_grid.ravel(), G_grid.ravel(), steps, start).reshape(n, n)
    alpha, beta, r_star = theoretical_optimum(surface)
    best = np.unravel_index(int(np.argmin(np.where(np.isfinite(rate), rate, np.inf))), rate.shape)
    return MomentumMap(
        surface.id, start, steps, lrs, gammas, rate, (int(best[0]), int(best[1])), (alpha, beta),
        nearest_cell(lrs, gammas, alpha, beta), predicted_rate(surface, L_grid, G_grid), r_star, eigenvalues(surface),
    )
