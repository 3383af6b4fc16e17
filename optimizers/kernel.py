"""All nine rules of `rules.py` folded into one set of array operations, so a step of every run
(nine optimizers × any number of sweep values) costs about twenty NumPy calls in all.

Every rule of SPEC §2 is this one update with its own coefficients (one column per run):

    q = θ − a·v                                  where the gradient is taken (a = γ for NAG)
    v ← b1·v + c1·g                              velocity / first moment
    s ← b2·s + c2·g²                             sum or running average of squared gradients
    Δ = k1ₜ·v · √(u + e_u) / (√(k2ₜ·s + e_in) + e_out)
    u ← b3·u + c3·Δ²                             AdaDelta's running average of squared steps
    θ ← θ − η′·Δ

with k1ₜ = 1/(1 − β1ᵗ), k2ₜ = 1/(1 − β2ᵗ) for Adam's bias correction and 1 elsewhere. Unused
parts are made exact no-ops (a coefficient of 0, a root of exactly 1). `fold` gives each
optimizer's coefficients; tests check the folded rule against `rules.py` step by step.
"""

from __future__ import annotations

from itertools import chain
from typing import Callable, NamedTuple

import numpy as np


class Coefficients(NamedTuple):
    a: float = 0.0
    b1: float = 0.0
    c1: float = 1.0
    b2: float = 0.0
    c2: float = 0.0
    e_in: float = 1.0
    e_out: float = 0.0
    b3: float = 0.0
    c3: float = 0.0
    e_u: float = 1.0
    beta1: float = 0.0  # bias correction: k1ₜ = 1/(1 − beta1ᵗ), exactly 1 when beta1 = 0
    beta2: float = 0.0
    step_scale: float = 1.0  # η′


def _plain(lr, **_):
    return Coefficients(step_scale=lr)


def _momentum(lr, gamma, **_):
    return Coefficients(b1=gamma, c1=lr)


def _nesterov(lr, gamma, **_):
    return Coefficients(a=gamma, b1=gamma, c1=lr)


def _adagrad(lr, eps, **_):
    return Coefficients(b2=1.0, c2=1.0, e_in=0.0, e_out=eps, step_scale=lr)


def _adadelta(lr, rho, eps, **_):
    return Coefficients(b2=rho, c2=1 - rho, e_in=eps, b3=rho, c3=1 - rho, e_u=eps, step_scale=lr)


def _rmsprop(lr, rho, eps, **_):
    return Coefficients(b2=rho, c2=1 - rho, e_in=0.0, e_out=eps, step_scale=lr)


def _adam(lr, beta1, beta2, eps, **_):
    return Coefficients(
        b1=beta1, c1=1 - beta1, b2=beta2, c2=1 - beta2, e_in=0.0, e_out=eps,
        beta1=beta1, beta2=beta2, step_scale=lr,
    )


FOLD: dict[str, Callable[..., Coefficients]] = {
    "gd": _plain,
    "sgd": _plain,
    "minibatch_sgd": _plain,
    "momentum": _momentum,
    "nag": _nesterov,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
    "adam": _adam,
}


_TABLE_CELLS = 2**15  # bias-correction tables per chunk of steps: small enough to stay in cache


def coefficient_columns(runs: list[tuple[str, dict[str, float]]]) -> Coefficients:
    """One (K,) array per coefficient for runs given as (optimizer id, hyperparameters)."""
    width = len(Coefficients._fields)
    rows = np.fromiter(chain.from_iterable(FOLD[oid](**hp) for oid, hp in runs), float, len(runs) * width)
    return Coefficients(*rows.reshape(len(runs), width).T.copy())


def _bias_correction(beta: np.ndarray, first, count: int) -> np.ndarray:
    """1/(1 − βᵗ) for steps t = first+1 … first+count, shaped (count, *beta.shape); `first` is
    one number or one per run (runs that joined a loop late). Powers are taken once per distinct
    (β, first) (np.power is slow) and then spread over the runs."""
    pairs = beta.ravel() + 1j * np.broadcast_to(first, beta.shape).ravel()  # (β, first) as one sortable number
    distinct, where = np.unique(pairs, return_inverse=True)
    t = distinct.imag[None, :] + np.arange(1, count + 1)[:, None]
    table = 1 / (1 - distinct.real[None, :] ** t)
    return table[:, where.reshape(beta.shape)]


STATES = ("grad", "v", "s", "u")


class Moments(NamedTuple):
    """The folded rule's state, (2, K) each: velocity or first moment v, squared gradients s,
    AdaDelta's squared steps u."""

    v: np.ndarray
    s: np.ndarray
    u: np.ndarray


def integrate(gradients, start, steps: int, coef: Coefficients, noise_table=None, trace=None, first_step=0,
              moments: Moments | None = None) -> tuple[np.ndarray, Moments]:
    """Iterates of K runs, (steps + 1, 2, K) with [0] the start, and the moments after the last
    step. The iterates may hold non-finite values where a run blew up (the caller finds them).

    `gradients` is a list of (grad, columns): `grad(x, y)` returns (df/dx, df/dy) for the runs in
    the slice `columns`, so runs on different surfaces share one loop. `start` is one (x, y) for
    every run or a (2, K) array. `noise_table[t]` (2, K) is added to the gradient at step t
    (SPEC §3). A dict passed as `trace` receives, for every name in STATES, a (steps, 2, K)
    array: the gradient used by update t + 1 and the states after it.

    To go on with runs, pass their last iterate as `start`, their `moments` and `first_step`, the
    steps taken so far, one number or (K,) (Adam's bias correction counts from it); `noise_table`
    then starts at that step. The result is the same, bit for bit, as one longer call."""
    K = len(coef.a)
    first_step = np.asarray(first_step)
    # Every coefficient as a full (2, K) array: same-shape NumPy calls cost half a broadcast.
    c = Coefficients(*(np.array(np.broadcast_to(col, (2, K))) for col in coef))
    out = np.empty((steps + 1, 2, K))  # (2, K) per step: x and y rows stay contiguous
    out[0] = np.reshape(np.asarray(start, dtype=float), (2, -1))
    # The states stacked, [v, s, u], updated in place, so that v and s move in one call and the
    # two square roots are one: fewer NumPy calls per step, the same arithmetic.
    state = np.zeros((3, 2, K))
    if moments is not None:
        state[:] = moments
    v, s, u, vs, su = state[0], state[1], state[2], state[:2], state[1:]
    drive = np.empty((2, 2, K))  # [g, g²]
    g, g2 = drive[0], drive[1]
    decay, gain = np.stack([c.b1, c.b2]), np.stack([c.c1, c.c2])
    floors = np.stack([c.e_in, c.e_u])
    roots = np.empty((2, 2, K))  # [√(k2·s + e_in), √(u + e_u)]
    chunk = int(np.clip(_TABLE_CELLS // K, 16, 256))  # steps per chunk of bias corrections
    k2_and_one = np.ones((min(chunk, steps), 2, 2, K))  # [k2ₜ, 1] for the roots: one call for both
    q, scratch, delta, denominator = (np.empty((2, K)) for _ in range(4))
    paired = np.empty((2, 2, K))
    # Views made once: indexing costs as much as a small NumPy call.
    groups = [(grad, q[0, columns], q[1, columns], g[0, columns], g[1, columns]) for grad, columns in gradients]
    root_s, root_u = roots
    a, e_out, b3, c3, step_scale = c.a, c.e_out, c.b3, c.c3, c.step_scale
    lookahead = bool(np.any(a))
    if trace is not None:
        trace.update({name: np.empty((steps, 2, K)) for name in STATES})
    mul, add, sub, div, sqrt = np.multiply, np.add, np.subtract, np.divide, np.sqrt
    with np.errstate(all="ignore"):
        for step in range(steps):
            i = step % chunk
            if i == 0:  # bias corrections a chunk at a time: bounded memory
                count = min(chunk, steps - step)
                k1 = _bias_correction(c.beta1, first_step + step, count)
                k2_and_one[:count, 0] = _bias_correction(c.beta2, first_step + step, count)
            theta = out[step]
            if lookahead:
                sub(theta, mul(a, v, out=q), out=q)
            else:
                q[:] = theta
            for grad, x, y, gx, gy in groups:
                gx[...], gy[...] = grad(x, y)
            if noise_table is not None:
                add(g, noise_table[step], out=g)
            mul(g, g, out=g2)
            add(mul(decay, vs, out=vs), mul(gain, drive, out=paired), out=vs)  # v, s ← b·(v, s) + c·(g, g²)
            sqrt(add(mul(k2_and_one[i], su, out=roots), floors, out=roots), out=roots)
            mul(mul(k1[i], v, out=delta), root_u, out=delta)
            div(delta, add(root_s, e_out, out=denominator), out=delta)  # Δ
            add(mul(b3, u, out=u), mul(c3, mul(delta, delta, out=scratch), out=scratch), out=u)
            sub(theta, mul(step_scale, delta, out=scratch), out=out[step + 1])
            if trace is not None:
                for name, value in zip(STATES, (g, v, s, u)):
                    trace[name][step] = value
    return out, Moments(v.copy(), s.copy(), u.copy())
