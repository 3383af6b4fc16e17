"""The first three steps of every optimizer on f = x² + y² from (1, 0), worked out by hand.

g = 2θ. Each expected value is the rule of SPEC §2 unrolled in scalar arithmetic; y stays 0
because its gradient is 0 at every step. The same numbers come from torch.optim (checked once
by benchmarks/bench_engine.py against the whole engine).
"""

import math

import numpy as np
import pytest

from optimizers import rollout
from surfaces import get_surface

sqrt = math.sqrt


def _gd():
    return [0.8, 0.64, 0.512]  # θ ← θ − 0.1·2θ = 0.8θ


def _momentum():
    # v1 = 0.2, θ1 = 0.8 ; v2 = 0.18 + 0.16 = 0.34, θ2 = 0.46 ; v3 = 0.306 + 0.092, θ3 = 0.062
    return [0.8, 0.46, 0.062]


def _nesterov():
    # look-ahead q = θ − 0.9v: q0 = 1 → v1 = 0.2, θ1 = 0.8 ; q1 = 0.62 → v2 = 0.18 + 0.124 = 0.304,
    # θ2 = 0.496 ; q2 = 0.496 − 0.2736 = 0.2224 → v3 = 0.2736 + 0.04448 = 0.31808, θ3 = 0.17792
    return [0.8, 0.496, 0.17792]


def _adagrad(eps=1e-8):
    t1 = 1 - 0.1 * 2 / (sqrt(4) + eps)
    G2 = 4 + (2 * t1) ** 2
    t2 = t1 - 0.1 * 2 * t1 / (sqrt(G2) + eps)
    G3 = G2 + (2 * t2) ** 2
    return [t1, t2, t2 - 0.1 * 2 * t2 / (sqrt(G3) + eps)]  # 0.9, 0.8331035…, 0.7804562…


def _rmsprop(eps=1e-8):
    E1 = 0.1 * 4
    t1 = 1 - 0.1 * 2 / (sqrt(E1) + eps)
    E2 = 0.9 * E1 + 0.1 * (2 * t1) ** 2
    t2 = t1 - 0.1 * 2 * t1 / (sqrt(E2) + eps)
    E3 = 0.9 * E2 + 0.1 * (2 * t2) ** 2
    return [t1, t2, t2 - 0.1 * 2 * t2 / (sqrt(E3) + eps)]  # 0.6837722…, 0.4988706…, 0.3691806…


def _adam(eps=1e-8):
    theta, m, v, out = 1.0, 0.0, 0.0, []
    for t in (1, 2, 3):
        g = 2 * theta
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= 0.1 * (m / (1 - 0.9**t)) / (sqrt(v / (1 - 0.999**t)) + eps)
        out.append(theta)
    return out  # 0.9, 0.8004122…, 0.7015863…


def _adadelta(eps=1e-6):
    theta, Eg, Ed, out = 1.0, 0.0, 0.0, []
    for _ in range(3):
        g = 2 * theta
        Eg = 0.9 * Eg + 0.1 * g * g
        delta = sqrt(Ed + eps) / sqrt(Eg + eps) * g
        Ed = 0.9 * Ed + 0.1 * delta * delta
        theta -= 1.0 * delta
        out.append(theta)
    return out  # 0.9968377…, 0.9935982…, 0.9903090…


CASES = {
    "gd": ({"lr": 0.1}, _gd()),
    "sgd": ({"lr": 0.1}, _gd()),
    "minibatch_sgd": ({"lr": 0.1}, _gd()),
    "momentum": ({"lr": 0.1, "gamma": 0.9}, _momentum()),
    "nag": ({"lr": 0.1, "gamma": 0.9}, _nesterov()),
    "adagrad": ({"lr": 0.1}, _adagrad()),
    "adadelta": ({}, _adadelta()),  # defaults: η = 1, ρ = 0.9, ε = 1e-6
    "rmsprop": ({"lr": 0.1, "rho": 0.9}, _rmsprop()),
    "adam": ({"lr": 0.1}, _adam()),
}


def test_hand_values_are_the_published_ones():
    # pin a few of the unrolled values to decimals computed on paper, so a slip in the
    # unrolled arithmetic above cannot hide
    assert _adagrad()[0] == pytest.approx(0.9)
    assert _adagrad()[1] == pytest.approx(0.9 - 0.18 / sqrt(7.24))
    assert _rmsprop()[0] == pytest.approx(1 - 0.2 / sqrt(0.4))
    assert _adam()[0] == pytest.approx(0.9)  # bias correction: the first step is exactly η
    assert _adadelta()[0] == pytest.approx(1 - 1e-3 / sqrt(0.4 + 1e-6) * 2)


@pytest.mark.parametrize("oid", list(CASES))
def test_first_three_steps_match_hand_values(oid):
    hp, expected = CASES[oid]
    r = rollout(get_surface("bowl"), start=(1.0, 0.0), steps=3, settings={oid: hp}, optimizers=[oid])
    np.testing.assert_allclose(r.paths[0, 1:, 0], expected, rtol=1e-12, atol=1e-15)
    assert np.all(r.paths[0, :, 1] == 0.0)
    assert r.paths[0, 0].tolist() == [1.0, 0.0]
