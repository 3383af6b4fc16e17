"""The momentum map (optimizers/momentum_map.py): Goh's optimum by hand, the measured map's best
cell beside it, measured rates against the Hessian's prediction, and refusals."""

import math

import numpy as np
import pytest

from optimizers import rollout
from optimizers.momentum_map import (GRID, grid, measured_rates, momentum_map, nearest_cell, predicted_distance,
                                     predicted_loss, predicted_rate, theoretical_optimum)
from surfaces import Surface, get_surface, x, y

# The ravine x²/10 + 5y²: Hessian diag(1/5, 10), so μ = 1/5, L = 10, κ = 50, and
#   α* = (2/(√(1/5) + √10))² = 4/(0.447214 + 3.162278)² = 4/13.028428 ≈ 0.307021
#   β* = ((√50 − 1)/(√50 + 1))² = (6.071068/8.071068)² ≈ 0.565807
#   r* = 6.071068/8.071068 ≈ 0.752201
MU, L = 0.2, 10.0
ALPHA = 4 / (math.sqrt(MU) + math.sqrt(L)) ** 2
BETA = ((math.sqrt(50) - 1) / (math.sqrt(50) + 1)) ** 2
R_STAR = (math.sqrt(50) - 1) / (math.sqrt(50) + 1)
# measured and predicted rates agree to this (absolute) wherever both are below 0.999: the
# largest gap on the ravine's and the bowl's 64 × 64 maps is 0.0055 and 0.0077 (the transients a
# 500-step window does not quite outlast: the slower direction's start, the factor t of a double
# eigenvalue)
RATE_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def ravine_map():
    return momentum_map(get_surface("ravine"))


def test_the_ravines_optimum_by_hand():
    alpha, beta, r = theoretical_optimum(get_surface("ravine"))
    assert alpha == pytest.approx(ALPHA, rel=1e-12) and alpha == pytest.approx(0.307021, abs=1e-6)
    assert beta == pytest.approx(BETA, rel=1e-12) and beta == pytest.approx(0.565807, abs=1e-6)
    assert r == pytest.approx(R_STAR, rel=1e-12) and r == pytest.approx(0.752201, abs=1e-6)
    assert r == pytest.approx(math.sqrt(beta))  # at the optimum every mode spirals at √β*
    assert predicted_rate(get_surface("ravine"), alpha, beta) == pytest.approx(r, rel=1e-6)
    # GD's best is η = 2/(μ + L), with rate (κ − 1)/(κ + 1) = 49/51
    assert predicted_rate(get_surface("ravine"), 2 / (MU + L), 0.0) == pytest.approx(49 / 51)


def test_the_map_is_a_64_by_64_grid_over_the_stable_region(ravine_map):
    m = ravine_map
    assert m.rate.shape == m.predicted.shape == (GRID, GRID) == (64, 64)
    assert m.lrs[-1] == pytest.approx(4 / L) and m.lrs[0] == pytest.approx(4e-3 / L)
    assert m.gammas[0] == 0.0 and m.gammas[-1] == pytest.approx(0.999)
    assert np.all(np.diff(m.gammas) > 0) and np.all(np.diff(np.diff(m.gammas)) < 0)  # denser towards 1
    assert m.lrs[0] < ALPHA < m.lrs[-1] and m.gammas[0] < BETA < m.gammas[-1]
    assert m.optimum == pytest.approx((ALPHA, BETA)) and m.optimal_rate == pytest.approx(R_STAR)
    assert m.eigenvalues == pytest.approx((MU, L))


def test_the_measured_best_cell_is_next_to_the_optimum(ravine_map):
    m = ravine_map
    i, j = m.optimum_cell
    assert (i, j) == nearest_cell(m.lrs, m.gammas, ALPHA, BETA)
    assert abs(m.best[0] - i) <= 1 and abs(m.best[1] - j) <= 1, (m.best, m.optimum_cell)
    # and no cell beats the optimum's rate (the optimum is the best any (η, γ) can do)
    assert m.rate[m.best] >= R_STAR * 0.99
    # GD (the γ = 0 column) is far slower: its best is 49/51 ≈ 0.96 at best
    assert m.rate[:, 0].min() > 0.95


def test_the_measured_rate_at_the_optimum_is_r_star():
    rate = measured_rates(get_surface("ravine"), [ALPHA], [BETA])[0]
    assert rate == pytest.approx(R_STAR, rel=0.02)
    assert rate == pytest.approx(R_STAR, rel=0.006)  # what it is: 0.7554, the t·rᵗ of a double eigenvalue


@pytest.mark.parametrize("sid", ["ravine", "bowl"])
def test_measured_rates_agree_with_the_prediction(sid, ravine_map):
    m = ravine_map if sid == "ravine" else momentum_map(get_surface(sid))
    both = (m.rate < 0.999) & (m.predicted < 0.999)
    assert both.sum() > 0.7 * both.size
    gap = np.abs(m.rate - m.predicted)[both]
    assert gap.max() < RATE_TOLERANCE, gap.max()
    # where the prediction says it does not converge, the run does not converge either
    assert (m.rate[m.predicted > 1.01] >= 1).all()


def test_the_bowl_has_no_use_for_momentum():
    bowl = get_surface("bowl")  # x² + y²: Hessian 2I, κ = 1
    alpha, beta, r = theoretical_optimum(bowl)
    assert alpha == pytest.approx(1 / 2) and beta == pytest.approx(0.0, abs=1e-15) and r == pytest.approx(0.0, abs=1e-15)
    m = momentum_map(bowl)
    assert m.best == m.optimum_cell and m.gammas[m.best[1]] == 0.0  # GD's column, at η ≈ 1/λ
    assert measured_rates(bowl, [alpha], [beta])[0] < 1e-10  # one step lands on the minimum


def test_the_predicted_curves_start_at_the_start_and_shrink_by_the_rate():
    s = get_surface("ravine")
    d = predicted_distance(s, ALPHA, BETA, 10)
    assert d.shape == (11,) and d[0] == pytest.approx(math.hypot(-9, 2))
    assert d[10] / d[0] == pytest.approx(R_STAR**10)
    loss = predicted_loss(s, [0.1, 0.19], 0.0, 5)
    assert loss.shape == (2, 6) and loss[:, 0] == pytest.approx([28.1, 28.1])  # f(−9, 2) = 8.1 + 20
    # GD at η = 0.1: rate max(|1 − 0.02|, |1 − 1|) = 0.98, the loss gap by 0.98² a step
    assert loss[0, 5] == pytest.approx(28.1 * 0.98**10)


def test_gd_on_the_ravine_follows_the_predicted_envelope():
    """GD at η = 0.1 kills the steep direction in one step (1 − ηL = 0): from then on its
    distance is exactly 9·0.98ᵗ, the prediction's rate."""
    s = get_surface("ravine")
    r = rollout(s, steps=200, optimizers=["gd"], settings={"gd": {"lr": 0.1}})
    d = np.hypot(*r.paths[0, 1:].T)
    assert d == pytest.approx(9 * 0.98 ** np.arange(1, 201), rel=1e-9)


def test_non_quadratic_surfaces_are_refused():
    with pytest.raises(ValueError, match="quadratic"):
        momentum_map(get_surface("rosenbrock"))
    with pytest.raises(ValueError, match="quadratic"):
        theoretical_optimum(get_surface("saddle"))
    with pytest.raises(ValueError, match="positive definite"):
        predicted_rate(Surface("pass", "Saddle", "x² − y²", x**2 - y**2, ((-1, 1), (-1, 1)), ((0, 0),), (0.5, 0.5)),
                       0.1, 0.5)


def test_a_map_from_another_start():
    s = get_surface("ravine")
    m = momentum_map(s, start=(3.0, -1.0))
    assert m.start == (3.0, -1.0) and abs(m.best[0] - m.optimum_cell[0]) <= 1
    assert grid(s)[0] == pytest.approx(m.lrs)
