"""Sharpness along a path (optimizers/sharpness.py) and the edge of stability on Rosenbrock:
GD just above 2/λmax(minimum) does not blow up but hovers where the sharpness is 2/η; just
below, it converges to (1, 1)."""

import math

import numpy as np
import pytest

from optimizers import rollout
from optimizers.sharpness import max_eigenvalue, sharpness_along, sharpness_at, stability_limit
from surfaces import get_surface

ROSENBROCK = get_surface("rosenbrock")
# Hessian of (1 − x)² + 100(y − x²)²: [[2 − 400y + 1200x², −400x], [−400x, 200]]. At (1, 1):
# [[802, −400], [−400, 200]], trace 1002, determinant 160400 − 160000 = 400, so
#   λmax = 501 + √(501² − 400) = 501 + √250601 ≈ 1001.6006,  2/λmax ≈ 0.0019968
LAMBDA_MIN_POINT = 501 + math.sqrt(250601)
START = (1.1, 1.21)  # on the valley floor y = x², a little beyond the minimum
ABOVE, BELOW = 0.0021, 0.0019  # 1.052 and 0.951 × 2/λmax
STEPS = 2500


def hessian_by_hand(x, y):
    return np.array([[2 - 400 * y + 1200 * x**2, -400 * x], [-400 * x, 200.0]])


def test_the_sharpness_at_the_minimum_by_hand():
    assert LAMBDA_MIN_POINT == pytest.approx(1001.6006392, rel=1e-10)
    assert sharpness_at(ROSENBROCK, 1.0, 1.0) == pytest.approx(LAMBDA_MIN_POINT, rel=1e-12)
    assert np.linalg.eigvalsh(hessian_by_hand(1, 1)).max() == pytest.approx(LAMBDA_MIN_POINT, rel=1e-12)
    assert stability_limit(LAMBDA_MIN_POINT / 2) == pytest.approx(2 / (LAMBDA_MIN_POINT / 2))
    assert 2 / LAMBDA_MIN_POINT == pytest.approx(0.0019968, rel=1e-4)
    assert ABOVE / (2 / LAMBDA_MIN_POINT) == pytest.approx(1.0517, abs=1e-4)
    assert BELOW / (2 / LAMBDA_MIN_POINT) == pytest.approx(0.9515, abs=1e-4)


@pytest.mark.parametrize("point", [(1.0, 1.0), (-1.2, 1.0), (0.5, 0.25), (1.1, 1.21), (0.0, 2.0)])
def test_sharpness_is_the_hessians_largest_eigenvalue(point):
    expected = np.linalg.eigvalsh(hessian_by_hand(*point)).max()
    assert sharpness_at(ROSENBROCK, *point) == pytest.approx(expected, rel=1e-12)
    assert max_eigenvalue(hessian_by_hand(*point)) == pytest.approx(expected, rel=1e-12)


def test_sharpness_along_a_race():
    r = rollout(ROSENBROCK, start=START, steps=30, optimizers=["gd", "momentum"],
                settings={"gd": {"lr": BELOW}, "momentum": {"lr": BELOW}})
    sharp = sharpness_along(r, ROSENBROCK)
    assert sharp.shape == (2, 31)
    for i, t in [(0, 0), (0, 7), (1, 30)]:
        x, y = r.paths[i, t]
        assert sharp[i, t] == pytest.approx(np.linalg.eigvalsh(hessian_by_hand(x, y)).max(), rel=1e-12)
    assert stability_limit(np.array([0.1, 0.2])) == pytest.approx([20.0, 10.0])


def test_sharpness_is_nan_after_divergence():
    bowl = get_surface("bowl")
    r = rollout(bowl, steps=100, optimizers=["gd", "adam"], settings={"gd": {"lr": 1.5}})
    d = r.diverged_at[0]
    assert d > 0 and r.diverged_at[1] < 0
    sharp = sharpness_along(r, bowl)
    assert (sharp[0, :d] == 2.0).all() and np.isnan(sharp[0, d:]).all() and (sharp[1] == 2.0).all()


@pytest.fixture(scope="module")
def above():
    return rollout(ROSENBROCK, start=START, steps=STEPS, optimizers=["gd"], settings={"gd": {"lr": ABOVE}})


def test_above_the_limit_gd_does_not_blow_up(above):
    assert above.diverged_at[0] < 0 and np.isfinite(above.losses).all()
    # its first steps are thrown far up the walls (loss ≈ 51), then its loss stays below 1.5
    assert 40 < above.losses[0, :150].max() < 60
    assert above.losses[0, 150:].max() < 1.5
    assert above.settled_at[0] < 0 and above.arrived_at[0] < 0  # and it never gets to (1, 1)


def test_above_the_limit_the_sharpness_hovers_at_two_over_eta(above):
    sharp = sharpness_along(above, ROSENBROCK)[0]
    limit = stability_limit(ABOVE)  # ≈ 952.4
    assert limit == pytest.approx(952.38, abs=0.01)
    assert sharp[-1] == pytest.approx(limit, rel=0.02) and sharp[-1] < LAMBDA_MIN_POINT
    # from step 150 on, every 50-step average of the sharpness is within 5% of 2/η, and below λmax(1, 1)
    windows = sharp[150:150 + 50 * ((STEPS - 149) // 50)].reshape(-1, 50).mean(axis=1)
    assert (np.abs(windows / limit - 1) < 0.05).all() and (windows < LAMBDA_MIN_POINT).all()
    # it did reach the edge, and was thrown back each time: above 2/η and below it again, repeatedly
    assert windows.max() > 1.01 * limit and windows.min() < 0.99 * limit
    # where it ends it is on the valley floor, short of (1, 1)
    x, y = above.paths[0, -1]
    assert 0.95 < x < 0.99 and abs(y - x**2) < 1e-3


def test_below_the_limit_gd_arrives_at_the_minimum():
    r = rollout(ROSENBROCK, start=START, steps=STEPS, optimizers=["gd"], settings={"gd": {"lr": BELOW}})
    assert r.diverged_at[0] < 0 and r.settled_at[0] >= 0
    assert math.dist(r.paths[0, -1], (1.0, 1.0)) < 1e-3
    assert sharpness_along(r, ROSENBROCK)[0, -1] == pytest.approx(LAMBDA_MIN_POINT, rel=1e-3)
