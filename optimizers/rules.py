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
from fractions import Fraction
from typing import Callable, NamedTuple

from .compiled import HAVE_NUMBA, compiled


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
def momentum(theta, g, b, b2, c, lr, gamma, h2, h3, h4, t):
    """b ← γ·b + g ;  θ ← θ − η·b

    torch.optim.SGD(momentum=γ, dampening=0), whose momentum buffer is b: the velocity kept in
    gradient units, so that a learning rate that changes from step to step (a schedule, ηₜ)
    scales the whole step it is used in, as torch scales it. With a constant η these are the
    iterates of SPEC §2's v ← γ·v + η·g ; θ ← θ − v, with v = η·b."""
    b = gamma * b + g
    return lr * b, b, b2, c


@compiled("QUERY")
def look_ahead(theta, b, last_lr, c, lr, gamma, h2, h3, h4):
    """g = ∇f(θ − γ·ηₜ₋₁·b): Nesterov's look-ahead point (see `nesterov`)."""
    return theta - gamma * (last_lr * b)


@compiled("UPDATE")
def nesterov(theta, g, b, last_lr, c, lr, gamma, h2, h3, h4, t):
    """q = θ − γ·ηₜ₋₁·b ;  g = ∇f(q) ;  b ← γ·b + g ;  θ ← q − ηₜ·g

    The look-ahead point q is exactly the iterate of torch.optim.SGD(momentum=γ, nesterov=True)
    (whose step is φ ← φ − ηₜ·(g + γ·b) with the new b), with a constant η or a schedule: θ is
    torch's iterate plus the momentum part γ·ηₜ·b of the step just taken, and the look-ahead
    takes that part off again with the η it was made with, ηₜ₋₁, which the rule keeps in its
    second state slot (b starts at zero, so the first look-ahead is θ itself). θ is the gradient
    step from the look-ahead point (Sutskever's two phases: a momentum jump, then the gradient
    step where it lands).

    With a constant η it is Momentum's iterate sequence, θ ← θ − η·b with b ← γ·b + g(q): SPEC
    §2's v ← γ·v + η·g ; θ ← θ − v with the gradient at θ − γ·v, v = η·b. With a schedule the
    jump uses the previous η and the gradient step the current one."""
    delta = gamma * (last_lr * b) + lr * g
    b = gamma * b + g
    return delta, b, lr, c


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


_VELOCITY = (("b", "momentum buffer (velocity in gradient units: v = η·b)"),)
PLAIN = Rule((), plain, at_theta)
MOMENTUM = Rule(_VELOCITY, momentum, at_theta)
NESTEROV = Rule(_VELOCITY, nesterov, look_ahead)  # its second slot, ηₜ₋₁, is not shown
ADAGRAD = Rule((("G", "sum of squared gradients"),), adagrad, at_theta)
ADADELTA = Rule((("E[g²]", "running mean of g²"), ("E[Δ²]", "running mean of Δ²")), adadelta, at_theta)
RMSPROP = Rule((("E[g²]", "running mean of g²"),), rmsprop, at_theta)
ADAM = Rule((("m", "first moment"), ("v", "second moment")), adam, at_theta)


# -- the extras (SPEC §1): opt-in, off in the default race ---------------------------------------
# They follow torch.optim's single-tensor code (torch 2.x, CPU) operation by operation, in its
# order of rounding: m by torch.lerp and v by mul_ then addcmul_, each one fused multiply-add as
# torch's CPU kernels compute them; the step counter a float in the powers, and Python's pow
# where torch raises a number to 0.5; the bias corrections divided out where torch divides
# them; θ's new value computed as torch computes it, and Δ = θ − (that value), so θ − Δ is
# torch's value (exactly whenever the new value is within a factor 2 of θ: Sterbenz). With the
# same gradients the iterates are torch's bit for bit, but for two things: that round trip, and
# √ (IEEE's here; torch's CPU sqrt, MKL's, is off by an ulp about once in 150).

if HAVE_NUMBA:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    _DOUBLE = ir.DoubleType()

    @intrinsic
    def _llvm_fma(typingctx, x, y, z):
        def codegen(context, builder, signature, args):
            fn = builder.module.declare_intrinsic("llvm.fma", [_DOUBLE], ir.FunctionType(_DOUBLE, [_DOUBLE] * 3))
            return builder.call(fn, args)

        return types.float64(types.float64, types.float64, types.float64), codegen

    @intrinsic
    def _libm_pow(typingctx, x, y):
        def codegen(context, builder, signature, args):
            fn = builder.module.globals.get("pow")
            if fn is None:
                fn = ir.Function(builder.module, ir.FunctionType(_DOUBLE, [_DOUBLE] * 2), "pow")
            fn.attributes.add("nobuiltin")  # keep the call: no pow(x, 0.5) → √x
            return builder.call(fn, args)

        return types.float64(types.float64, types.float64), codegen

    @compiled()
    def fma(x, y, z):
        """x·y + z rounded once (LLVM's fma: the processor's instruction, or libm's)."""
        return _llvm_fma(x, y, z)

    @compiled()
    def power(x, y):
        """x ** y as Python computes a float power: libm's pow. (Compiled, x ** 0.5 would become
        √x, which rounds differently from pow about once in 1500.)"""
        return _libm_pow(x, y)

else:  # pragma: no cover - exercised only where numba is missing

    def fma(x, y, z):
        """x·y + z rounded once (exact rational arithmetic, then one rounding)."""
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
            return x * y + z
        return float(Fraction(x) * Fraction(y) + Fraction(z))

    def power(x, y):
        """x ** y as libm's pow computes it (Python raises, or goes complex, where pow gives
        inf or NaN)."""
        if x < 0 and not float(y).is_integer():
            return math.nan
        try:
            return x**y
        except (OverflowError, ZeroDivisionError):
            return math.inf


@compiled()
def _lerp(start, end, weight):
    """start + weight·(end − start) as torch.lerp computes it: one fused multiply-add from the
    nearer end."""
    if abs(weight) < 0.5:
        return fma(weight, end - start, start)
    return fma(weight - 1, end - start, end)


@compiled()
def _second_moment(v, g, beta2):
    """β2·v + (1−β2)·g² as torch's v.mul_(β2).addcmul_(g, g, value=1−β2): β2·v rounded, then
    one fused multiply-add."""
    return fma((1 - beta2) * g, g, v * beta2)


@compiled()
def _adam_corrections(lr, beta1, beta2, t):
    """torch's Adam step size η/(1−β1ᵗ) and √(1−β2ᵗ), computed as torch computes them (the step
    count as a float, the root through pow)."""
    step = float(t)
    return lr / (1 - beta1**step), power(1 - beta2**step, 0.5)


@compiled("UPDATE")
def amsgrad(theta, g, m, v, v_max, lr, beta1, beta2, eps, h4, t):
    """m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  v_max ← max(v_max, v) ;
    θ ← θ − η/(1−β1ᵗ) · m / (√v_max / √(1−β2ᵗ) + ε)

    torch.optim.Adam(amsgrad=True), in its order: m by lerp, the maximum kept of the
    *uncorrected* v, then divided by √(1−β2ᵗ) (so v̂_max = v_max/(1−β2ᵗ)); a NaN v propagates
    into v_max as torch.maximum propagates it."""
    m = _lerp(m, g, 1 - beta1)
    v = _second_moment(v, g, beta2)
    step_size, bias_correction2_sqrt = _adam_corrections(lr, beta1, beta2, t)
    if v > v_max or math.isnan(v):
        v_max = v
    denom = math.sqrt(v_max) / bias_correction2_sqrt + eps
    return step_size * m / denom, m, v, v_max


@compiled("UPDATE")
def adamw(theta, g, m, v, c, lr, beta1, beta2, eps, weight_decay, t):
    """θ ← θ·(1 − η·λ) ;  m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;
    θ ← θ − η/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)

    torch.optim.AdamW(weight_decay=λ), in its order: the decoupled decay first (param.mul_),
    on θ itself and not through the gradient, then Adam's step on the decayed θ; Δ is θ minus
    that result."""
    decayed = theta * (1 - lr * weight_decay)
    m = _lerp(m, g, 1 - beta1)
    v = _second_moment(v, g, beta2)
    step_size, bias_correction2_sqrt = _adam_corrections(lr, beta1, beta2, t)
    denom = math.sqrt(v) / bias_correction2_sqrt + eps
    return theta - (decayed - step_size * m / denom), m, v, c


@compiled("UPDATE")
def nadam(theta, g, m, v, mu_product, lr, beta1, beta2, eps, momentum_decay, t):
    """μₜ = β1·(1 − ½·0.96^(t·ψ)) ;  Πₜ = Πₜ₋₁·μₜ (Π₀ = 1) ;  m ← β1·m + (1−β1)·g ;
    v ← β2·v + (1−β2)·g² ;  d = √(v/(1−β2ᵗ)) + ε ;
    θ ← θ − η·(1−μₜ)/(1−Πₜ) · g/d − η·μₜ₊₁/(1−Πₜ·μₜ₊₁) · m/d

    torch.optim.NAdam(momentum_decay=ψ), in its order: the two terms are added to θ one after
    the other, as torch's two addcdiv_. Π is torch's mu_product, one number for the whole
    parameter: every coordinate keeps its own copy (the same value), which starts at zero here
    and is read as 1 at t = 1. torch keeps it in its default dtype: these are its float64
    numbers (torch.set_default_dtype(torch.float64))."""
    step = float(t)
    bias_correction2 = 1 - beta2**step
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    if t == 1:
        mu_product = 1.0
    mu_product = mu_product * mu
    m = _lerp(m, g, 1 - beta1)
    v = _second_moment(v, g, beta2)
    denom = math.sqrt(v / bias_correction2)
    mu_product_next = mu_product * mu_next
    denom = denom + eps
    moved = theta + (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    moved = moved + ((-lr * mu_next) / (1.0 - mu_product_next)) * m / denom
    return theta - moved, m, v, mu_product


@compiled("UPDATE")
def radam(theta, g, m, v, c, lr, beta1, beta2, eps, h4, t):
    """m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g² ;  m̂ = m/(1−β1ᵗ) ;
    ρ∞ = 2/(1−β2) − 1 ;  ρₜ = ρ∞ − 2t·β2ᵗ/(1−β2ᵗ) ;
    if ρₜ > 5:  rₜ = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)) ;
                θ ← θ − m̂·η · (1/(√v + ε))·√(1−β2ᵗ) · rₜ
    else:       θ ← θ − m̂·η   (v is too young to trust: a momentum-SGD step)

    torch.optim.RAdam(), in its order (ε is added to the uncorrected √v, as torch adds it)."""
    m = _lerp(m, g, 1 - beta1)
    v = _second_moment(v, g, beta2)
    step = float(t)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    bias_corrected_m = m / bias_correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho_t > 5.0:
        rect = power((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.5)
        adaptive_lr = 1.0 / (math.sqrt(v) + eps) * power(bias_correction2, 0.5)  # torch: c / tensor = c·(1/tensor)
        return bias_corrected_m * lr * adaptive_lr * rect, m, v, c
    return bias_corrected_m * lr, m, v, c


_MOMENTS = (("m", "first moment"), ("v", "second moment"))
AMSGRAD = Rule(_MOMENTS + (("v_max", "largest v so far"),), amsgrad, at_theta)
ADAMW = Rule(_MOMENTS, adamw, at_theta)
NADAM = Rule(_MOMENTS + (("Πμ", "product of the momentum schedule μ₁ … μₜ"),), nadam, at_theta)
RADAM = Rule(_MOMENTS, radam, at_theta)
