"""The update rules of SPEC §2, each written once, as what runs.

A rule is a pure function of one coordinate of θ (every rule is elementwise), state in,
state out:

    query(θ_i, a, b, c, h0, …, h4) -> the coordinate of the point where the gradient is taken
    update(θ_i, g_i, a, b, c, h0, …, h4, t) -> (Δ_i, a, b, c): θ_i ← θ_i − Δ_i, the new state

`a`, `b`, `c` are the rule's state quantities on that coordinate (up to three, each starting
at zero); h0 … h4 its hyperparameters in the order of its `defaults` (registry.py); t counts
updates from 1. Plain numbers in and out: the compiled loop (kernel.py) keeps them in
registers. The docstrings are the formulas computed, as torch.optim computes them.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from .compiled import compiled


class Rule(NamedTuple):
    """An optimizer's rule: its state quantities (symbol shown, what it is) in the order a, b, c,
    then `update` and `query` (see the module docstring)."""

    state: tuple[tuple[str, str], ...]
    update: Callable
    query: Callable


MAX_STATE = 3  # state quantities per coordinate (a, b, c)
MAX_HYPERPARAMETERS = 5  # h0 … h4


@compiled("QUERY")
def at_theta(theta, a, b, c, h0, h1, h2, h3, h4):
    """g = ∇f(θ): the gradient at the iterate itself."""
    return theta


@compiled("UPDATE")
def plain(theta, g, a, b, c, lr, h1, h2, h3, h4, t):
    """θ ← θ − η·g   (GD, SGD and Mini-batch SGD differ only in the gradient they see)"""
    return lr * g, a, b, c


@compiled("UPDATE")
def momentum(theta, g, v, b, c, lr, gamma, h2, h3, h4, t):
    """v ← γ·v + η·g ;  θ ← θ − v

    The same iterates as torch.optim.SGD(momentum=γ, dampening=0), whose buffer is v/η."""
    v = gamma * v + lr * g
    return v, v, b, c


@compiled("QUERY")
def look_ahead(theta, v, b, c, lr, gamma, h2, h3, h4):
    """g = ∇f(θ − γ·v): Nesterov's look-ahead point; then momentum's update. The look-ahead
    point is exactly the iterate of torch.optim.SGD(momentum=γ, nesterov=True)."""
    return theta - gamma * v


@compiled("UPDATE")
def adagrad(theta, g, G, b, c, lr, eps, h2, h3, h4, t):
    """G ← G + g² ;  θ ← θ − η·g / (√G + ε)   (ε outside the root, as torch)"""
    G = G + g * g
    return lr * g / (math.sqrt(G) + eps), G, b, c


@compiled("UPDATE")
def adadelta(theta, g, avg_sq_grad, avg_sq_delta, c, lr, rho, eps, h3, h4, t):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g ;
    E[Δ²] ← ρ·E[Δ²] + (1−ρ)·Δ² ;  θ ← θ − η·Δ

    (ε inside both roots, as torch; η = 1 by default: the rule needs no learning rate, the
    ratio of the two running averages carries the units)"""
    avg_sq_grad = rho * avg_sq_grad + (1 - rho) * g * g
    delta = math.sqrt(avg_sq_delta + eps) / math.sqrt(avg_sq_grad + eps) * g
    avg_sq_delta = rho * avg_sq_delta + (1 - rho) * delta * delta
    return lr * delta, avg_sq_grad, avg_sq_delta, c


@compiled("UPDATE")
def rmsprop(theta, g, avg_sq_grad, b, c, lr, rho, eps, h3, h4, t):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  θ ← θ − η·g / (√E[g²] + ε)

    (ε outside the root, as torch, whose ρ is called alpha)"""
    avg_sq_grad = rho * avg_sq_grad + (1 - rho) * g * g
    return lr * g / (math.sqrt(avg_sq_grad) + eps), avg_sq_grad, b, c


@compiled("UPDATE")
def adam(theta, g, m, v, c, lr, beta1, beta2, eps, h4, t):
    """m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  m̂ = m/(1−β1ᵗ) ;  v̂ = v/(1−β2ᵗ) ;
    θ ← θ − η·m̂ / (√v̂ + ε)

    (with bias correction and ε outside the root, as torch)"""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return lr * m_hat / (math.sqrt(v_hat) + eps), m, v, c


_VELOCITY = (("v", "velocity"),)
PLAIN = Rule((), plain, at_theta)
MOMENTUM = Rule(_VELOCITY, momentum, at_theta)
NESTEROV = Rule(_VELOCITY, momentum, look_ahead)
ADAGRAD = Rule((("G", "sum of squared gradients"),), adagrad, at_theta)
ADADELTA = Rule((("E[g²]", "running mean of g²"), ("E[Δ²]", "running mean of Δ²")), adadelta, at_theta)
RMSPROP = Rule((("E[g²]", "running mean of g²"),), rmsprop, at_theta)
ADAM = Rule((("m", "first moment"), ("v", "second moment")), adam, at_theta)
