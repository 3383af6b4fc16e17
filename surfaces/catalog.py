"""The built-in surfaces, in menu order. Each is data: an expression, a domain, its minima, a
start that makes a good race and a learning rate that shows the optimizers apart."""

from __future__ import annotations

import sympy as sp

from .surface import Surface, x, y

R = sp.Rational


def _polished(expr: sp.Expr, guesses: tuple[tuple[float, float], ...]) -> tuple:
    """Stationary points of `expr` near `guesses`, solved to full double precision (for minima
    that have no closed form)."""
    gradient = [sp.diff(expr, x), sp.diff(expr, y)]
    return tuple(
        tuple(float(v) for v in sp.nsolve(gradient, (x, y), guess, prec=30)) for guess in guesses
    )


_HIMMELBLAU = (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

# Four Gaussian wells of different depth on a gentle bowl; the deepest (at about (1.3, 1.2)) is
# the global minimum. Centres and depths are exact rationals so the surface is exact data.
_WELLS = (((-R(3, 2), 1), 1), ((R(13, 10), R(6, 5)), R(8, 5)), ((R(2, 5), -R(7, 5)), R(13, 10)),
          ((-R(3, 2), -R(13, 10)), R(4, 5)))
_MULTI_MINIMA = (x**2 + y**2) / 20 - sum(
    depth * sp.exp(-((x - cx) ** 2 + (y - cy) ** 2) / R(18, 25)) for (cx, cy), depth in _WELLS
)
_GLOBAL, *_LOCAL = _polished(_MULTI_MINIMA, ((1.3, 1.2), (0.4, -1.4), (-1.5, 1.0), (-1.5, -1.3)))

BUILTIN_SURFACES: tuple[Surface, ...] = (
    Surface(
        id="bowl",
        name="Bowl",
        description="An isotropic quadratic: every direction curves the same, the easy case.",
        expr=x**2 + y**2,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=((0.0, 0.0),),
        start=(-1.6, 1.3),
        lr=0.05,
    ),
    Surface(
        id="ravine",
        name="Ravine",
        description="An ill-conditioned quadratic (condition number 50): plain descent zig-zags "
        "across the steep walls and crawls along the floor; momentum rolls through.",
        expr=x**2 / 10 + 5 * y**2,
        domain=((-10.0, 10.0), (-3.0, 3.0)),
        minima=((0.0, 0.0),),
        start=(-9.0, 2.0),
        lr=0.09,
    ),
    Surface(
        id="saddle",
        name="Saddle",
        description="A saddle point at the origin with two minima beyond it: started near the "
        "ridge, plain descent stalls at the saddle while noise or momentum escapes.",
        expr=x**2 + y**4 / 4 - y**2 / 2,
        domain=((-2.5, 2.5), (-2.0, 2.0)),
        minima=((0.0, -1.0), (0.0, 1.0)),
        start=(-2.2, 0.01),
        lr=0.05,
    ),
    Surface(
        id="rosenbrock",
        name="Rosenbrock",
        description="A long, narrow, curved valley: easy to reach, slow to follow to the "
        "minimum at (1, 1).",
        expr=(1 - x) ** 2 + 100 * (y - x**2) ** 2,
        domain=((-2.0, 2.0), (-1.0, 3.0)),
        minima=((1.0, 1.0),),
        start=(-1.2, 1.0),
        lr=0.001,
    ),
    Surface(
        id="multi_minima",
        name="Several minima",
        description="Four basins of different depth: which minimum an optimizer ends in "
        "depends on its rule and its step size.",
        expr=_MULTI_MINIMA,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        minima=(_GLOBAL,),
        local_minima=tuple(_LOCAL),
        start=(-1.0, -2.4),
        lr=0.3,
    ),
    Surface(
        id="beale",
        name="Beale",
        description="Flat plateaus and steep walls: gradients range over orders of magnitude, "
        "which adaptive methods handle and plain descent does not.",
        expr=(R(3, 2) - x + x * y) ** 2
        + (R(9, 4) - x + x * y**2) ** 2
        + (R(21, 8) - x + x * y**3) ** 2,
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        minima=((3.0, 0.5),),
        start=(1.0, 1.5),
        lr=0.01,
    ),
    Surface(
        id="rastrigin",
        name="Rastrigin",
        description="A bowl covered in ripples: a local minimum at every integer point, the "
        "global one at the origin.",
        expr=20 + x**2 + y**2 - 10 * sp.cos(2 * sp.pi * x) - 10 * sp.cos(2 * sp.pi * y),
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        minima=((0.0, 0.0),),
        start=(-3.3, 2.6),
        lr=0.002,
    ),
    Surface(
        id="himmelblau",
        name="Himmelblau",
        description="Four global minima of equal depth: the same race can end in four places.",
        expr=_HIMMELBLAU,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=_polished(_HIMMELBLAU, ((3.0, 2.0), (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8))),
        start=(0.0, -0.5),
        lr=0.01,
    ),
)
