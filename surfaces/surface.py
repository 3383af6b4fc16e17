"""The `Surface` type: a 2-D loss as a SymPy expression plus the data a race needs.

Gradient and Hessian are derived symbolically once, then lambdified into vectorised NumPy
functions that broadcast like ordinary ufuncs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import sympy as sp

try:
    import numba
except ImportError:  # pragma: no cover - the engine then runs uncompiled (optimizers/compiled.py)
    numba = None

log = logging.getLogger(__name__)

x, y = sp.symbols("x y", real=True)

# A path that leaves a box this many times the domain (about its centre) has diverged (SPEC §4).
ESCAPE_FACTOR = 100.0

Interval = tuple[float, float]
Point = tuple[float, float]


def _lambdify(expr: sp.Expr) -> Callable:
    return sp.lambdify((x, y), expr, modules="numpy", cse=True)


def _compiled(expr: sp.Expr, what: str):
    """`expr` of (x, y) as a compiled C function float64(float64, float64) (numba's cfunc: the
    engine's loop calls it through a pointer, so one compiled loop serves every surface), or
    None when numba is missing or cannot compile it."""
    if numba is None:
        return None
    try:
        raw = numba.njit(error_model="numpy")(sp.lambdify((x, y), expr, modules="numpy", cse=True))

        def scalar(a, b):
            return float(raw(a, b))

        return numba.cfunc("float64(float64, float64)", error_model="numpy")(scalar)
    except Exception as err:  # numba's errors have no common base class worth naming
        log.warning("the %s %s could not be compiled (%s); it runs uncompiled", what, expr, err)
        return None


def compile_here(surface: "Surface") -> tuple[Callable, Callable, Callable] | None:
    """The surface's (f, ∂f/∂x, ∂f/∂y) compiled in this process, or None where numba cannot."""
    parts = zip((surface.expr, *surface.grad_expr), ("loss", "∂f/∂x", "∂f/∂y"))
    compiled = [_compiled(e, what) for e, what in parts]
    return tuple(compiled) if all(c is not None for c in compiled) else None


def _full(value, shape: tuple[int, ...]) -> np.ndarray:
    """`value` as a float array of `shape` (lambdify returns a bare scalar for constants)."""
    if type(value) is np.ndarray and value.shape == shape and value.dtype == np.float64:
        return value
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), shape))


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface f(x, y) with its plotting domain, known minima and a default race.

    `minima` are the global minima (all at the same value, `f_min`); `local_minima` are other
    minima worth marking on the map. `lr` is a learning rate that makes a good default race.
    """

    id: str
    name: str
    description: str
    expr: sp.Expr
    domain: tuple[Interval, Interval]
    minima: tuple[Point, ...]
    start: Point
    lr: float = 0.01
    local_minima: tuple[Point, ...] = ()
    # Where `scalar_functions` gets compiled code: surface -> (f, ∂f/∂x, ∂f/∂y) or None (then
    # they run as plain Python). None here means `compile_here`; a typed formula's functions
    # were compiled by its worker process and are loaded from disk (formula/native.py).
    compiler: Callable[["Surface"], tuple | None] | None = field(default=None, repr=False)
    f_min: float = field(init=False)
    grad_expr: tuple[sp.Expr, sp.Expr] = field(init=False)
    hessian_expr: sp.Matrix = field(init=False)
    _f: Callable = field(init=False, repr=False)
    _grad: Callable = field(init=False, repr=False)
    _hessian: Callable = field(init=False, repr=False)

    def __post_init__(self) -> None:
        expr = self.expr
        if not isinstance(expr, sp.Expr):  # never sympify text here: that runs eval
            raise TypeError(f"surface {self.id!r}: expr must be a SymPy expression")
        if not expr.free_symbols <= {x, y}:
            raise ValueError(f"surface {self.id!r} uses symbols other than x and y")
        (x0, x1), (y0, y1) = self.domain
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"surface {self.id!r} has an empty domain {self.domain}")
        if not self.minima:
            raise ValueError(f"surface {self.id!r} lists no global minimum")
        gradient = (sp.diff(expr, x), sp.diff(expr, y))
        hessian = sp.hessian(expr, (x, y))
        setattr_ = object.__setattr__  # frozen dataclass: derived fields are set once, here
        setattr_(self, "domain", ((float(x0), float(x1)), (float(y0), float(y1))))
        setattr_(self, "minima", tuple((float(a), float(b)) for a, b in self.minima))
        setattr_(self, "local_minima", tuple((float(a), float(b)) for a, b in self.local_minima))
        setattr_(self, "start", (float(self.start[0]), float(self.start[1])))
        setattr_(self, "grad_expr", gradient)
        setattr_(self, "hessian_expr", hessian)
        setattr_(self, "_f", _lambdify(expr))
        setattr_(self, "_grad", _lambdify(list(gradient)))
        setattr_(self, "_hessian", _lambdify(hessian.tolist()))
        values = [float(self.f(a, b)) for a, b in self.minima]
        if max(values) - min(values) > 1e-9 * max(1.0, abs(min(values))):
            raise ValueError(f"surface {self.id!r}: its global minima differ in value {values}")
        setattr_(self, "f_min", min(values))

    # -- vectorised NumPy evaluation ---------------------------------------------------------
    def f(self, X, Y) -> np.ndarray:
        """The loss at (X, Y), broadcasting like a ufunc."""
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        return _full(self._f(X, Y), np.broadcast_shapes(X.shape, Y.shape))

    def grad(self, X, Y) -> tuple[np.ndarray, np.ndarray]:
        """(df/dx, df/dy) at (X, Y), derived by SymPy, broadcasting like a ufunc."""
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        shape = np.broadcast_shapes(X.shape, Y.shape)
        gx, gy = self._grad(X, Y)
        return _full(gx, shape), _full(gy, shape)

    @cached_property
    def scalar_functions(self) -> tuple[Callable, Callable, Callable]:
        """(f, ∂f/∂x, ∂f/∂y) at one point, (x, y) -> float, compiled with numba on first use
        (the engine's loop calls them; see `compiler`); plain Python where numba cannot compile
        them."""
        compiled = (self.compiler or compile_here)(self)
        if compiled is not None:
            return compiled
        f, grad = self._f, self._grad
        return (lambda a, b: float(f(a, b)), lambda a, b: float(grad(a, b)[0]), lambda a, b: float(grad(a, b)[1]))

    def hessian(self, X, Y) -> np.ndarray:
        """The Hessian at (X, Y): an array of shape (2, 2, *broadcast shape)."""
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        shape = np.broadcast_shapes(X.shape, Y.shape)
        rows = self._hessian(X, Y)
        return np.array([[_full(v, shape) for v in row] for row in rows])

    # -- facts for the app and the engine ---------------------------------------------------
    @property
    def latex(self) -> str:
        """The formula in LaTeX, with fractions folded onto one line (so it fits a header)."""
        return sp.latex(self.expr, fold_short_frac=True, fold_frac_powers=True)

    @property
    def is_quadratic(self) -> bool:
        """True when the Hessian is constant, so curvature facts hold everywhere."""
        return all(not entry.free_symbols for entry in self.hessian_expr)

    @property
    def max_curvature(self) -> float | None:
        """λmax of the (constant) Hessian on a quadratic surface, else None."""
        if not self.is_quadratic:
            return None
        return float(np.linalg.eigvalsh(np.array(self.hessian_expr, dtype=float)).max())

    @property
    def gd_lr_limit(self) -> float | None:
        """The largest stable plain-GD learning rate 2/λmax on a quadratic surface, else None."""
        lam = self.max_curvature
        return 2.0 / lam if lam is not None and lam > 0 else None

    @property
    def escape_box(self) -> tuple[Interval, Interval]:
        """The box, ESCAPE_FACTOR times the domain about its centre, beyond which a path has
        diverged (SPEC §4)."""
        box = []
        for lo, hi in self.domain:
            centre, half = (lo + hi) / 2, (hi - lo) / 2
            box.append((centre - ESCAPE_FACTOR * half, centre + ESCAPE_FACTOR * half))
        return tuple(box)

    def grid(self, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Axis coordinates xs (n,), ys (n,) and the loss Z (n, n) over the domain, for contours.
        Z[i, j] is the loss at (xs[j], ys[i]), as plotly's contour expects."""
        (x0, x1), (y0, y1) = self.domain
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        with np.errstate(all="ignore"):
            Z = self.f(xs[None, :], ys[:, None])
        return xs, ys, Z
