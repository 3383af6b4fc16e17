"""Surfaces: SymPy gradients against central differences and hand values, minima, broadcasting."""

import numpy as np
import pytest

from surfaces import SURFACES, get_surface
from tests.checks import assert_gradient_matches_central_differences

MENU = ["bowl", "ravine", "saddle", "rosenbrock", "multi_minima", "beale", "rastrigin", "himmelblau"]
DATA_MENU = ["iris", "wine", "sparse"]  # data surfaces, after the formulas (tests/test_data_surfaces.py)


def test_menu_order_and_ids():
    assert list(SURFACES) == MENU + DATA_MENU
    for sid, s in SURFACES.items():
        assert s.id == sid and s.name and s.description


@pytest.mark.parametrize("sid", MENU)
def test_gradient_matches_central_differences(sid):
    s = get_surface(sid)
    rng = np.random.default_rng(1)
    (x0, x1), (y0, y1) = s.domain
    assert_gradient_matches_central_differences(s, rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200))


@pytest.mark.parametrize("sid", MENU)
def test_minima_are_stationary_and_global(sid):
    s = get_surface(sid)
    for mx, my in s.minima + s.local_minima:
        gx, gy = s.grad(mx, my)
        assert abs(gx) < 1e-9 and abs(gy) < 1e-9, (mx, my, gx, gy)
        assert np.all(np.linalg.eigvalsh(s.hessian(mx, my)) > 0), "not a minimum"
    for mx, my in s.minima:
        assert s.f(mx, my) == pytest.approx(s.f_min, abs=1e-12)
    for mx, my in s.local_minima:
        assert s.f(mx, my) > s.f_min + 1e-3
    _, _, Z = s.grid(301)
    assert Z.min() >= s.f_min - 1e-9, "a grid point lies below the listed global minimum"


def test_hand_derived_values():
    r = get_surface("rosenbrock")
    # f = (1-x)^2 + 100(y-x^2)^2: df/dx = -2(1-x) - 400x(y-x^2), df/dy = 200(y-x^2)
    assert r.f(-1.2, 1.0) == pytest.approx(4.84 + 100 * 0.44**2)
    gx, gy = r.grad(-1.2, 1.0)
    assert gx == pytest.approx(-2 * 2.2 - 400 * -1.2 * -0.44)
    assert gy == pytest.approx(200 * -0.44)
    b = get_surface("bowl")
    assert b.grad(0.5, -3.0) == (pytest.approx(1.0), pytest.approx(-6.0))
    assert get_surface("saddle").f_min == pytest.approx(-0.25)
    mm = get_surface("multi_minima")  # the deepest of four wells, depths 1.6 > 1.3 > 1 > 0.8
    assert len(mm.local_minima) == 3 and mm.minima[0] == pytest.approx((1.27, 1.17), abs=0.01)
    assert sorted(mm.f(*p) for p in mm.local_minima) == pytest.approx([-1.2026, -0.8439, -0.6250], abs=1e-3)


def test_curvature_facts():
    assert get_surface("bowl").gd_lr_limit == pytest.approx(1.0)  # Hessian 2I
    assert get_surface("ravine").gd_lr_limit == pytest.approx(0.2)  # Hessian diag(0.2, 10)
    ravine = np.linalg.eigvalsh(np.array(get_surface("ravine").hessian_expr, dtype=float))
    assert ravine.max() / ravine.min() == pytest.approx(50)
    assert get_surface("rosenbrock").gd_lr_limit is None
    saddle = np.linalg.eigvalsh(get_surface("saddle").hessian(0.0, 0.0))
    assert saddle.min() < 0 < saddle.max(), "the origin must be a real saddle"


def test_broadcasting():
    s = get_surface("bowl")
    X, Y = np.zeros((3, 1)), np.ones(4)
    assert s.f(X, Y).shape == (3, 4)
    gx, gy = s.grad(X, Y)
    assert gx.shape == gy.shape == (3, 4) and np.all(gy == 2)
    assert s.hessian(X, Y).shape == (2, 2, 3, 4)  # constant entries broadcast too
    assert np.ndim(s.f(1.0, 2.0)) == 0


def test_starts_lie_in_the_domain():
    for s in SURFACES.values():
        (x0, x1), (y0, y1) = s.domain
        assert x0 < s.start[0] < x1 and y0 < s.start[1] < y1


def test_unknown_surface_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown surface 'nope'.*bowl"):
        get_surface("nope")
    with pytest.raises(ValueError):
        get_surface(None)
