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


_CHUNK = 256


def coefficient_columns(runs: list[tuple[str, dict[str, float]]]) -> Coefficients:
    """One (K,) array per coefficient for runs given as (optimizer id, hyperparameters)."""
    rows = [FOLD[oid](**hp) for oid, hp in runs]
    return Coefficients(*(np.array(column, dtype=float) for column in zip(*rows)))


def _bias_correction(beta: np.ndarray, first: int, count: int) -> np.ndarray:
    """1/(1 − βᵗ) for steps t = first+1 … first+count, shaped (count, *beta.shape). Powers are
    taken once per distinct β (np.power is slow) and then spread over the runs."""
    distinct, where = np.unique(beta, return_inverse=True)
    t = np.arange(first + 1, first + count + 1)[:, None]
    table = 1 / (1 - distinct[None, :] ** t)
    return table[:, where.reshape(beta.shape)]


STATES = ("grad", "v", "s", "u")


def integrate(grad, start, steps: int, coef: Coefficients, noise_table=None, trace=None) -> np.ndarray:
    """Iterates of K runs from `start`: (steps + 1, 2, K), [0] the start. May hold non-finite
    values where a run blew up (the caller finds them).

    `grad(x, y)` returns (df/dx, df/dy) for (K,) arrays; `noise_table[t]` (2, K) is added to the
    gradient at step t (SPEC §3). A dict passed as `trace` receives, for every name in STATES, a
    (steps, 2, K) array: the gradient used by update t + 1 and the states after it."""
    K = len(coef.a)
    # Every coefficient as a full (2, K) array: same-shape NumPy calls cost half a broadcast.
    c = Coefficients(*(np.array(np.broadcast_to(col, (2, K))) for col in coef))
    out = np.empty((steps + 1, 2, K))  # (2, K) per step: x and y rows stay contiguous
    out[0, 0], out[0, 1] = start
    theta = out[0]
    v, s, u = np.zeros((2, K)), np.zeros((2, K)), np.zeros((2, K))
    g = np.empty((2, K))
    lookahead = bool(np.any(c.a))
    if trace is not None:
        trace.update({name: np.empty((steps, 2, K)) for name in STATES})
    with np.errstate(all="ignore"):
        for step in range(steps):
            if step % _CHUNK == 0:  # bias corrections a chunk at a time: bounded memory
                count = min(_CHUNK, steps - step)
                k1 = _bias_correction(c.beta1, step, count)
                k2 = _bias_correction(c.beta2, step, count)
            q = theta - c.a * v if lookahead else theta
            g[0], g[1] = grad(q[0], q[1])
            if noise_table is not None:
                g += noise_table[step]
            v = c.b1 * v + c.c1 * g
            s = c.b2 * s + c.c2 * (g * g)
            i = step % _CHUNK
            delta = (k1[i] * v) * np.sqrt(u + c.e_u) / (np.sqrt(k2[i] * s + c.e_in) + c.e_out)
            u = c.b3 * u + c.c3 * (delta * delta)
            theta = np.subtract(theta, c.step_scale * delta, out=out[step + 1])
            if trace is not None:
                for name, value in zip(STATES, (g, v, s, u)):
                    trace[name][step] = value
    return out
