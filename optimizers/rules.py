"""The update rules of SPEC §2, each written once, as what runs.

A rule is a pure function of one coordinate c of θ (every rule is elementwise), state in,
state out:

    query(θ_c, a, b, h0, h1, h2, h3) -> the coordinate of the point where the gradient is taken
    update(g_c, a, b, h0, h1, h2, h3, t) -> (Δ_c, a, b): θ_c ← θ_c − Δ_c, and the new state

`a` and `b` are the rule's state quantities on that coordinate (up to two, each starting at
zero); h0 … h3 its hyperparameters in the order of its `defaults` (registry.py); t counts
updates from 1. Plain numbers in and out: the compiled loop (kernel.py) keeps them in
registers. The docstrings are the formulas computed, as torch.optim computes them.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from .compiled import compiled


class Rule(NamedTuple):
    """An optimizer's rule: its state quantities (symbol shown, what it is) in the order a, b,
    then `update` and `query` (see the module docstring)."""

    state: tuple[tuple[str, str], ...]
    update: Callable
    query: Callable


MAX_STATE = 2  # state quantities per coordinate (a, b)
MAX_HYPERPARAMETERS = 4  # h0 … h3


@compiled("QUERY")
def at_theta(theta, a, b, h0, h1, h2, h3):
    """g = ∇f(θ): the gradient at the iterate itself."""
    return theta


@compiled("UPDATE")
def plain(g, a, b, lr, h1, h2, h3, t):
    """θ ← θ − η·g   (GD, SGD and Mini-batch SGD differ only in the gradient they see)"""
    return lr * g, a, b


@compiled("UPDATE")
def momentum(g, v, b, lr, gamma, h2, h3, t):
    """v ← γ·v + η·g ;  θ ← θ − v

    The same iterates as torch.optim.SGD(momentum=γ, dampening=0), whose buffer is v/η."""
    v = gamma * v + lr * g
    return v, v, b


@compiled("QUERY")
def look_ahead(theta, v, b, lr, gamma, h2, h3):
    """g = ∇f(θ − γ·v): Nesterov's look-ahead point; then momentum's update. The look-ahead
    point is exactly the iterate of torch.optim.SGD(momentum=γ, nesterov=True)."""
    return theta - gamma * v


@compiled("UPDATE")
def adagrad(g, G, b, lr, eps, h2, h3, t):
    """G ← G + g² ;  θ ← θ − η·g / (√G + ε)   (ε outside the root, as torch)"""
    G = G + g * g
    return lr * g / (math.sqrt(G) + eps), G, b


@compiled("UPDATE")
def adadelta(g, avg_sq_grad, avg_sq_delta, lr, rho, eps, h3, t):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  Δ = √(E[Δ²] + ε) / √(E[g²] + ε) · g ;
    E[Δ²] ← ρ·E[Δ²] + (1−ρ)·Δ² ;  θ ← θ − η·Δ

    (ε inside both roots, as torch; η = 1 by default: the rule needs no learning rate, the
    ratio of the two running averages carries the units)"""
    avg_sq_grad = rho * avg_sq_grad + (1 - rho) * g * g
    delta = math.sqrt(avg_sq_delta + eps) / math.sqrt(avg_sq_grad + eps) * g
    avg_sq_delta = rho * avg_sq_delta + (1 - rho) * delta * delta
    return lr * delta, avg_sq_grad, avg_sq_delta


@compiled("UPDATE")
def rmsprop(g, avg_sq_grad, b, lr, rho, eps, h3, t):
    """E[g²] ← ρ·E[g²] + (1−ρ)·g² ;  θ ← θ − η·g / (√E[g²] + ε)

    (ε outside the root, as torch, whose ρ is called alpha)"""
    avg_sq_grad = rho * avg_sq_grad + (1 - rho) * g * g
    return lr * g / (math.sqrt(avg_sq_grad) + eps), avg_sq_grad, b


@compiled("UPDATE")
def adam(g, m, v, lr, beta1, beta2, eps, t):
    """m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  m̂ = m/(1−β1ᵗ) ;  v̂ = v/(1−β2ᵗ) ;
    θ ← θ − η·m̂ / (√v̂ + ε)

    (with bias correction and ε outside the root, as torch)"""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return lr * m_hat / (math.sqrt(v_hat) + eps), m, v


_VELOCITY = (("v", "velocity"),)
PLAIN = Rule((), plain, at_theta)
MOMENTUM = Rule(_VELOCITY, momentum, at_theta)
NESTEROV = Rule(_VELOCITY, momentum, look_ahead)
ADAGRAD = Rule((("G", "sum of squared gradients"),), adagrad, at_theta)
ADADELTA = Rule((("E[g²]", "running mean of g²"), ("E[Δ²]", "running mean of Δ²")), adadelta, at_theta)
RMSPROP = Rule((("E[g²]", "running mean of g²"),), rmsprop, at_theta)
ADAM = Rule((("m", "first moment"), ("v", "second moment")), adam, at_theta)
