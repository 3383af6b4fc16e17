"""The update rules of SPEC §2 as small pure functions, in the style of optax's init/update pairs.

Every rule works elementwise on arrays of any shape, and every hyperparameter may be a scalar or
an array that broadcasts against the parameters (that is how the engine runs a whole sweep in one
call). `update(g, state, **hp)` returns `(step, new_state)` and the caller applies
θ ← θ − step; nothing is modified in place. States start at zero.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Rule(NamedTuple):
    """An optimizer as a pure pair: `init(θ) -> state`, `update(g, state, **hp) -> (step,
    state)`, and optionally `query(θ, state, **hp)`: the point where the gradient is taken
    (θ itself when None)."""

    init: Callable
    update: Callable
    query: Callable | None = None


# -- plain gradient descent (GD, SGD, Mini-batch SGD differ only in the gradient they see) ----
class NoState(NamedTuple):
    pass


def sgd_init(theta: np.ndarray) -> NoState:
    return NoState()


def sgd_update(g, state: NoState, *, lr):
    """θ ← θ − η·g"""
    return lr * g, state


# -- momentum and Nesterov ----------------------------------------------------------------------
class MomentumState(NamedTuple):
    velocity: np.ndarray


def momentum_init(theta: np.ndarray) -> MomentumState:
    return MomentumState(np.zeros_like(theta))


def momentum_update(g, state: MomentumState, *, lr, gamma):
    """v ← γ·v + η·g ;  θ ← θ − v   (defaults γ = 0.9).

    The same iterates as torch.optim.SGD(momentum=γ, dampening=0), whose buffer is v/η.
    For Nesterov the caller takes g at the look-ahead point `nesterov_query`."""
    velocity = gamma * state.velocity + lr * g
    return velocity, MomentumState(velocity)


def nesterov_query(theta, state: MomentumState, *, gamma, **_):
    """g = ∇J(θ − γ·v): Nesterov's look-ahead point, then v ← γ·v + η·g ; θ ← θ − v.

    The look-ahead point is exactly the iterate of torch.optim.SGD(momentum=γ, nesterov=True)."""
    return theta - gamma * state.velocity


# -- AdaGrad --------------------------------------------------------------------------------------
class AdaGradState(NamedTuple):
    sum_sq_grad: np.ndarray


def adagrad_init(theta: np.ndarray) -> AdaGradState:
    return AdaGradState(np.zeros_like(theta))


def adagrad_update(g, state: AdaGradState, *, lr, eps):
    """G ← G + g² ;  θ ← θ − η·g / (√G + ε)   (ε outside the root, as torch; ε = 1e-8)."""
    sum_sq = state.sum_sq_grad + g * g
    return lr * g / (np.sqrt(sum_sq) + eps), AdaGradState(sum_sq)


# -- AdaDelta -------------------------------------------------------------------------------------
class AdaDeltaState(NamedTuple):
    avg_sq_grad: np.ndarray
    avg_sq_delta: np.ndarray


def adadelta_init(theta: np.ndarray) -> AdaDeltaState:
    return AdaDeltaState(np.zeros_like(theta), np.zeros_like(theta))


def adadelta_update(g, state: AdaDeltaState, *, lr, rho, eps):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  Δ ← √(E[Δ²] + ε) / √(E[g²] + ε) · g ;
    E[Δ²] ← ρ·E[Δ²] + (1−ρ)·Δ² ;  θ ← θ − η·Δ

    ε inside both roots, as torch; defaults ρ = 0.9, ε = 1e-6 and η = 1.0 (the rule needs no
    learning rate: the ratio of the two running averages carries the units)."""
    avg_sq_grad = rho * state.avg_sq_grad + (1 - rho) * g * g
    delta = np.sqrt(state.avg_sq_delta + eps) / np.sqrt(avg_sq_grad + eps) * g
    avg_sq_delta = rho * state.avg_sq_delta + (1 - rho) * delta * delta
    return lr * delta, AdaDeltaState(avg_sq_grad, avg_sq_delta)


# -- RMSprop --------------------------------------------------------------------------------------
class RMSpropState(NamedTuple):
    avg_sq_grad: np.ndarray


def rmsprop_init(theta: np.ndarray) -> RMSpropState:
    return RMSpropState(np.zeros_like(theta))


def rmsprop_update(g, state: RMSpropState, *, lr, rho, eps):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  θ ← θ − η·g / (√E[g²] + ε)

    ε outside the root, as torch (whose ρ is called alpha); defaults ρ = 0.9, ε = 1e-8."""
    avg_sq_grad = rho * state.avg_sq_grad + (1 - rho) * g * g
    return lr * g / (np.sqrt(avg_sq_grad) + eps), RMSpropState(avg_sq_grad)


# -- Adam -----------------------------------------------------------------------------------------
class AdamState(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    count: int


def adam_init(theta: np.ndarray) -> AdamState:
    return AdamState(np.zeros_like(theta), np.zeros_like(theta), 0)


def adam_update(g, state: AdamState, *, lr, beta1, beta2, eps):
    """m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  m̂ = m/(1−β1ᵗ) ;  v̂ = v/(1−β2ᵗ) ;
    θ ← θ − η·m̂ / (√v̂ + ε)

    With bias correction and ε outside the root, as torch; defaults β1 = 0.9, β2 = 0.999,
    ε = 1e-8; t counts updates from 1."""
    t = state.count + 1
    m = beta1 * state.m + (1 - beta1) * g
    v = beta2 * state.v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return lr * m_hat / (np.sqrt(v_hat) + eps), AdamState(m, v, t)


SGD = Rule(sgd_init, sgd_update)
MOMENTUM = Rule(momentum_init, momentum_update)
NESTEROV = Rule(momentum_init, momentum_update, nesterov_query)
ADAGRAD = Rule(adagrad_init, adagrad_update)
ADADELTA = Rule(adadelta_init, adadelta_update)
RMSPROP = Rule(rmsprop_init, rmsprop_update)
ADAM = Rule(adam_init, adam_update)
