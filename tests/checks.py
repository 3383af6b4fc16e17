"""Checks shared by several test files."""

import numpy as np


def assert_gradient_matches_central_differences(surface, X, Y, h=1e-6):
    """The SymPy gradient against central differences of f, relative to the loss's scale."""
    fd_x = (surface.f(X + h, Y) - surface.f(X - h, Y)) / (2 * h)
    fd_y = (surface.f(X, Y + h) - surface.f(X, Y - h)) / (2 * h)
    gx, gy = surface.grad(X, Y)
    atol = 1e-5 * (1 + np.abs(surface.f(X, Y))).max()
    np.testing.assert_allclose(gx, fd_x, atol=atol, rtol=1e-6)
    np.testing.assert_allclose(gy, fd_y, atol=atol, rtol=1e-6)
