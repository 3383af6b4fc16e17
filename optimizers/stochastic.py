"""The stochastic-gradient model of SPEC §3.

The surface f is the mean of N per-sample losses f_i(θ) = f(θ) + ξ_i·θ, with tilts ξ_i drawn from
a seeded generator, centred to mean zero and scaled to standard deviation σ per coordinate. So
∇f_i = ∇f + ξ_i, the full-batch gradient is exactly ∇f, and a batch gradient is ∇f plus the batch's
mean tilt. Each epoch reshuffles the samples; batches are consecutive slices of the shuffled order
(the last one shorter when B does not divide N). Every reader of the same seed sees the same
shuffles, so all optimizers meet the same batch at the same step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

N_SAMPLES = 256


def sample_tilts(seed: int, noise: float, n: int = N_SAMPLES) -> np.ndarray:
    """The tilts ξ (n, 2): mean exactly zero (up to rounding), per-coordinate std exactly σ."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    z = rng.standard_normal((n, 2))
    z -= z.mean(axis=0)
    z /= z.std(axis=0)
    return noise * z


_ORDERS: OrderedDict[tuple[int, int], tuple[np.random.Generator, np.ndarray]] = OrderedDict()
_ORDERS_LOCK = threading.Lock()
ORDERS_KEPT = 16  # seeds whose shuffles are kept (a class mostly races seed 0)


def epoch_orders(seed: int, epochs: int, n: int = N_SAMPLES) -> np.ndarray:
    """The shuffled sample order of each epoch, (epochs, n), read-only; the same for every batch
    size. The epochs of a seed are one sequence of permutations, so fewer epochs are a prefix of
    more: each seed's are kept (the last ORDERS_KEPT seeds) and extended as needed. A 3000-step
    race with a large batch needs one shuffle per step, which would otherwise dominate its cost."""
    with _ORDERS_LOCK:
        rng, orders = _ORDERS.pop((seed, n), (None, None))
        if rng is None:
            rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
            orders = np.empty((0, n), dtype=np.int32)
        if len(orders) < epochs:
            more = np.array([rng.permutation(n) for _ in range(epochs - len(orders))], dtype=np.int32)
            orders = np.concatenate([orders, more.reshape(-1, n)])
            orders.flags.writeable = False
        _ORDERS[(seed, n)] = (rng, orders)
        while len(_ORDERS) > ORDERS_KEPT:
            _ORDERS.popitem(last=False)
    return orders[:epochs]


def batch_indices(step: int, batch_size: int, orders: np.ndarray) -> np.ndarray:
    """The sample indices of the batch used at `step` (0-based)."""
    n = orders.shape[1]
    per_epoch = -(-n // batch_size)
    epoch, slot = divmod(step, per_epoch)
    return orders[epoch, slot * batch_size : (slot + 1) * batch_size]


def batch_noise(tilts: np.ndarray, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """The mean tilt of the batch at each step, (steps, 2): what the batch gradient adds to ∇f."""
    n = len(tilts)
    if batch_size >= n:
        return np.zeros((steps, 2))
    per_epoch = -(-n // batch_size)
    epochs = -(-steps // per_epoch)
    orders = epoch_orders(seed, epochs, n)
    starts = np.arange(0, n, batch_size)
    sizes = np.minimum(starts + batch_size, n) - starts
    shuffled = tilts[orders]  # (epochs, n, 2)
    sums = np.add.reduceat(shuffled, starts, axis=1)  # (epochs, per_epoch, 2)
    means = sums / sizes[None, :, None]
    return means.reshape(-1, 2)[:steps]
