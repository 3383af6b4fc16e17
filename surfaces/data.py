"""Data surfaces: the training loss of a two-parameter model over real examples (SPEC §3, §5).

    from surfaces import from_data
    s = from_data("linear", x, y)       # f(w, b) = mean ½(w·xᵢ + b − yᵢ)²
    s = from_data("logistic", x, y01)   # f(w, b) = mean log(1 + exp(−sᵢ(w·xᵢ + b))), sᵢ = 2yᵢ − 1

The map's axes are the weight w (x axis) and the bias b (y axis). SymPy derives the gradient and
Hessian of one example's loss ℓᵢ(w, b); they are compiled (numba) and the engine averages them
over each step's examples: all of them for GD, one for SGD, B consecutive ones of the epoch's
shuffle for the mini-batch optimizers. The minimum is solved in closed form (linear) or by
Newton's method (logistic).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import sympy as sp

from .surface import Surface

try:
    import numba
except ImportError:  # pragma: no cover - the engine then runs uncompiled (optimizers/compiled.py)
    numba = None

w, b = sp.symbols("w b", real=True)  # the parameters: the map's x and y axes
x_i, y_i = sp.symbols("x_i y_i", real=True)  # one example
MAX_EXAMPLES = 10_000


# -- the two functions the logistic loss needs, with their derivatives for SymPy ----------------
class softplus(sp.Function):
    """log(1 + eᶻ), computed without overflow."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _latex(self, printer):
        return r"\log\left(1 + e^{%s}\right)" % printer._print(self.args[0])


class sigmoid(sp.Function):
    """σ(z) = 1 / (1 + e⁻ᶻ), computed without overflow."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z):
    # exp(−|z|) as softplus computes it, so that where one example's loss and gradient are
    # computed together the compiler takes one exponential for both
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def _np_softplus(z):
    return np.logaddexp(0.0, z)


def _np_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _jit(fn, cache: bool = False):
    """`fn` compiled with NumPy's float semantics (x/0 is inf, not an error); itself without numba.
    Generated functions (lambdify's, closures) cannot be cached on disk: they compile once per
    process, when a data surface is first used."""
    return numba.njit(error_model="numpy", cache=cache)(fn) if numba else fn


_SCALAR = {"softplus": _jit(_softplus, cache=True), "sigmoid": _jit(_sigmoid, cache=True)}
_VECTOR = {"softplus": _np_softplus, "sigmoid": _np_sigmoid}


class Model(NamedTuple):
    id: str
    name: str
    loss: sp.Expr  # one example's loss ℓᵢ(w, b; xᵢ, yᵢ)
    prediction: str  # what the data panel draws for (w, b): "line" or "sigmoid"
    y_label: str
    formula_tex: str  # f(w, b) as the page shows it
    text: str  # one example's loss as plain text (files, the command line)


MODELS: dict[str, Model] = {
    m.id: m
    for m in (
        Model("linear", "linear regression", (w * x_i + b - y_i) ** 2 / 2, "line", "y",
              r"\frac{1}{N}\sum_{i} \tfrac12\,(w x_i + b - y_i)^2", "½(w·xᵢ + b − yᵢ)²"),
        Model("logistic", "logistic regression", softplus(-(2 * y_i - 1) * (w * x_i + b)), "sigmoid", "label",
              r"\frac{1}{N}\sum_{i} \log\!\left(1 + e^{-s_i (w x_i + b)}\right),\ s_i = 2y_i - 1",
              "log(1 + exp(−sᵢ(w·xᵢ + b))), sᵢ = 2yᵢ − 1"),
    )
}


class Derivatives(NamedTuple):
    """One example's loss ℓᵢ, gradient and Hessian, derived by SymPy, as NumPy functions of
    (w, b, x, y) that broadcast (the gradient a list of 2, the Hessian a 2 × 2 nested list)."""

    expressions: tuple  # (ℓᵢ, [∂ℓᵢ/∂w, ∂ℓᵢ/∂b], Hessian rows)
    example_loss: Callable
    example_gradient: Callable
    example_hessian: Callable


class ModelFunctions(NamedTuple):
    """One model's compiled loops, what the engine's loop calls: `mean_loss(w, b, examples,
    expansion)`, `batch_gradient(w, b, examples, expansion, orders, batch, step)` and
    `loss_and_gradient(w, b, examples, expansion)`, the mean loss and the full gradient in one
    pass; `grid_loss` fills a map. `expansion` is DataSurface.expansion: for a model whose loss
    is quadratic in (w, b) the mean loss and the full gradient come from it, at any N in a few
    operations; otherwise it is empty and they are summed over the examples."""

    mean_loss: Callable
    batch_gradient: Callable
    loss_and_gradient: Callable
    grid_loss: Callable


_ARGUMENTS = (w, b, x_i, y_i)


def _derive(model: Model) -> Derivatives:
    gradient = [sp.diff(model.loss, v) for v in (w, b)]
    hessian = sp.hessian(model.loss, (w, b)).tolist()
    vector = [sp.lambdify(_ARGUMENTS, e, modules=[_VECTOR, "numpy"], cse=True) for e in (model.loss, gradient, hessian)]
    return Derivatives((model.loss, gradient, hessian), *vector)


DERIVATIVES: dict[str, Derivatives] = {m: _derive(model) for m, model in MODELS.items()}


def is_quadratic_model(model_id: str) -> bool:
    """Whether one example's loss is a polynomial of degree at most 2 in (w, b) (SymPy decides):
    then so is the mean loss, and its second-order expansion is exact."""
    try:
        return sp.Poly(MODELS[model_id].loss, w, b).total_degree() <= 2
    except sp.PolynomialError:
        return False


def _compile_model(model_id: str) -> ModelFunctions:
    """ℓᵢ and ∇ℓᵢ compiled together for one example (one function, so that the loss and the
    gradient share their work and every loop below sums the very same numbers), then averaged
    in compiled loops."""
    loss, gradient, _ = DERIVATIVES[model_id].expressions
    example = _jit(sp.lambdify(_ARGUMENTS, (loss, *gradient), modules=[_SCALAR, "math"], cse=True))

    @_jit
    def expanded(wv, bv, q):
        """f and ∇f at (w, b) from the exact expansion q = (w*, b*, f*, ∂f/∂w*, ∂f/∂b*, Hww, Hwb,
        Hbb) about the minimum: f* + g*·δ + ½ δᵀHδ, δ = (w, b) − (w*, b*). Near the minimum this
        is more accurate than a sum over the examples, whose terms cancel."""
        dw, db = wv - q[0], bv - q[1]
        gw = q[3] + q[5] * dw + q[6] * db
        gb = q[4] + q[6] * dw + q[7] * db
        rise = q[3] * dw + q[4] * db + 0.5 * (q[5] * dw * dw + 2.0 * q[6] * dw * db + q[7] * db * db)
        return q[2] + rise, gw, gb

    @_jit
    def loss_and_gradient(wv, bv, examples, expansion):
        """f(w, b) and its gradient, the means over every example in their stored order."""
        if expansion.shape[0] > 0:
            return expanded(wv, bv, expansion)
        n = examples.shape[1]
        total, gw, gb = 0.0, 0.0, 0.0
        for j in range(n):
            lj, gwj, gbj = example(wv, bv, examples[0, j], examples[1, j])
            total += lj
            gw += gwj
            gb += gbj
        return total / n, gw / n, gb / n

    @_jit
    def mean_loss(wv, bv, examples, expansion):
        """f(w, b): the mean loss over every example, in their stored order."""
        if expansion.shape[0] > 0:
            return expanded(wv, bv, expansion)[0]
        n = examples.shape[1]
        total = 0.0
        for j in range(n):
            total += example(wv, bv, examples[0, j], examples[1, j])[0]
        return total / n

    @_jit
    def batch_gradient(wv, bv, examples, expansion, orders, batch, step):
        """The mean gradient of the examples used at `step` (0-based): all of them, in stored
        order, when `batch` ≥ N; else the step's slice of its epoch's shuffle `orders[epoch]`
        (consecutive slices of `batch`, the epoch's last one shorter when `batch` does not
        divide N)."""
        n = examples.shape[1]
        if batch >= n:
            _, gw, gb = loss_and_gradient(wv, bv, examples, expansion)
            return gw, gb
        gw, gb = 0.0, 0.0
        per_epoch = (n + batch - 1) // batch
        epoch, slot = step // per_epoch, step % per_epoch
        low = slot * batch
        high = min(low + batch, n)
        for j in range(low, high):
            e = orders[epoch, j]
            _, gwj, gbj = example(wv, bv, examples[0, e], examples[1, e])
            gw += gwj
            gb += gbj
        return gw / (high - low), gb / (high - low)

    @_jit
    def grid_loss(ws, bs, examples, expansion, out):
        for k in range(ws.shape[0]):
            out[k] = mean_loss(ws[k], bs[k], examples, expansion)

    return ModelFunctions(mean_loss, batch_gradient, loss_and_gradient, grid_loss)


_COMPILED: dict[str, ModelFunctions] = {}


def model_functions(model_id: str) -> ModelFunctions:
    """The model's functions, compiled on first use (once per process)."""
    if model_id not in _COMPILED:
        _COMPILED[model_id] = _compile_model(model_id)
    return _COMPILED[model_id]


# -- the surface ---------------------------------------------------------------------------------
def _full_like(values, shape):
    return np.array(np.broadcast_to(np.asarray(values, dtype=float), shape))


@dataclass(frozen=True, eq=False)
class DataSurface(Surface):
    """A Surface whose loss is a model's mean loss over `examples` (2, N): x in row 0, y (or the
    0/1 label) in row 1. `expr` is f written as a sum over the examples (for reading); the numbers
    come from the compiled per-example functions (`functions`)."""

    model: str = "linear"
    examples: np.ndarray = field(default=None, repr=False)
    source: str = ""  # where the examples come from (shown under the data panel)
    labels: tuple[str, str] = ("x", "y")  # what x and y are (the data panel's axes)
    expansion: np.ndarray = field(init=False, default=None, repr=False)  # set in __post_init__

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__  # frozen dataclass: derived fields are set once, here
        (x0, x1), (y0, y1) = self.domain
        setattr_(self, "domain", ((float(x0), float(x1)), (float(y0), float(y1))))
        setattr_(self, "minima", tuple((float(a), float(c)) for a, c in self.minima))
        setattr_(self, "start", (float(self.start[0]), float(self.start[1])))
        n = self.examples.shape[1]
        i = sp.Idx("i", n)
        xs, ys = sp.IndexedBase("x"), sp.IndexedBase("y")
        mean = sp.Sum(MODELS[self.model].loss.subs({x_i: xs[i], y_i: ys[i]}), (i, 0, n - 1)) / n
        setattr_(self, "expr", mean)
        setattr_(self, "grad_expr", (sp.diff(mean, w), sp.diff(mean, b)))
        setattr_(self, "hessian_expr", sp.hessian(mean, (w, b)))
        setattr_(self, "f_min", self.mean_loss(*self.minima[0]))
        setattr_(self, "expansion", self._expansion())

    def _expansion(self) -> np.ndarray:
        """(w*, b*, f*, ∂f/∂w*, ∂f/∂b*, Hww, Hwb, Hbb) at the minimum when the model's loss is
        quadratic in (w, b), where this second-order expansion is f itself (the gradient at the
        minimum is zero but for rounding, and kept); empty otherwise (ModelFunctions)."""
        if not is_quadratic_model(self.model):
            return np.empty(0)
        wv, bv = self.minima[0]
        gw, gb = self.grad(wv, bv)
        H = self.hessian(wv, bv)
        return np.array([wv, bv, self.f_min, gw, gb, H[0, 0], H[0, 1], H[1, 1]], dtype=float)

    @property
    def functions(self) -> ModelFunctions:
        """The compiled loops (compiled on first use)."""
        return model_functions(self.model)

    @property
    def derivatives(self) -> Derivatives:
        return DERIVATIVES[self.model]

    def mean_loss(self, wv: float, bv: float) -> float:
        """f(w, b) in NumPy (no compiling): for the minimum and f_min."""
        return float(np.mean(np.broadcast_to(self.derivatives.example_loss(wv, bv, *self.examples), self.n_examples)))

    @property
    def n_examples(self) -> int:
        return int(self.examples.shape[1])

    @cached_property
    def digest(self) -> str:
        """A short hash of the model and the examples' exact bytes (cache keys, file names)."""
        return hashlib.sha256(self.model.encode() + self.examples.tobytes()).hexdigest()[:16]

    def f(self, X, Y) -> np.ndarray:
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        shape = np.broadcast_shapes(X.shape, Y.shape)
        ws, bs = (np.ascontiguousarray(np.broadcast_to(v, shape)).ravel() for v in (X, Y))
        out = np.empty(ws.shape)
        self.functions.grid_loss(ws, bs, self.examples, self.expansion, out)
        return out.reshape(shape)

    def _mean(self, entries: Callable, X, Y) -> np.ndarray:
        """The mean over the examples of `entries(w, b, x, y)` (a flat list of values that
        broadcast) at (X, Y): an array (number of entries, *broadcast shape of X and Y)."""
        X, Y = np.asarray(X, dtype=float)[..., None], np.asarray(Y, dtype=float)[..., None]
        shape = np.broadcast_shapes(X.shape[:-1], Y.shape[:-1])
        total = 0.0
        for low in range(0, self.n_examples, 1024):  # bounded memory on big grids
            xe, ye = self.examples[0, low : low + 1024], self.examples[1, low : low + 1024]
            total = total + np.array([_full_like(v, (*shape, len(xe))).sum(axis=-1) for v in entries(X, Y, xe, ye)])
        return total / self.n_examples

    def grad(self, X, Y):
        mean = self._mean(self.derivatives.example_gradient, X, Y)
        return mean[0], mean[1]

    def hessian(self, X, Y) -> np.ndarray:
        mean = self._mean(lambda *a: [v for row in self.derivatives.example_hessian(*a) for v in row], X, Y)
        return mean.reshape(2, 2, *mean.shape[1:])

    @cached_property
    def scalar_functions(self):
        # The engine's loop reads a data surface through `functions`, not these (kernel.py).
        raise AttributeError("a data surface's loss is computed from its examples; see DataSurface.functions")

    @property
    def latex(self) -> str:
        return MODELS[self.model].formula_tex

    @property
    def is_quadratic(self) -> bool:
        return self.model == "linear"

    @property
    def max_curvature(self) -> float | None:
        if not self.is_quadratic:
            return None
        return float(np.linalg.eigvalsh(self.hessian(0.0, 0.0)).max())


# -- the minimum -----------------------------------------------------------------------------------
def _least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The line through the examples by least squares, from centred moments (exact formula)."""
    xm, ym = x.mean(), y.mean()
    dx = x - xm
    slope = float(np.dot(dx, y - ym) / np.dot(dx, dx))
    return slope, float(ym - slope * xm)


_SEPARABLE = ("x separates the two classes, so the logistic loss has no minimum (it keeps falling as |w| "
              "grows): add examples where the classes overlap")


def _newton(examples: np.ndarray, derivatives: Derivatives) -> tuple[float, float]:
    """The logistic loss's minimum by Newton's method from (0, 0), halving any step that would
    raise the loss; ValueError where the classes are separable (the loss then falls forever as
    |w| grows, so there is no minimum)."""
    xe, ye = examples

    def mean(values) -> np.ndarray:
        return np.array([np.mean(np.broadcast_to(v, xe.shape)) for v in values])

    def loss(theta) -> float:
        return float(mean([derivatives.example_loss(theta[0], theta[1], xe, ye)])[0])

    theta = np.zeros(2)
    current = loss(theta)
    for _ in range(100):
        g = mean(derivatives.example_gradient(theta[0], theta[1], xe, ye))
        H = mean([v for row in derivatives.example_hessian(theta[0], theta[1], xe, ye) for v in row]).reshape(2, 2)
        direction = np.linalg.lstsq(H, g, rcond=None)[0]
        step = 1.0
        while step > 1e-10:
            trial = theta - step * direction
            value = loss(trial)
            if value <= current:
                break
            step /= 2
        if step <= 1e-10 or np.array_equal(trial, theta):  # no lower point: the minimum, to rounding
            break
        theta, current = trial, value
        if np.max(np.abs(theta)) > 1e6:
            raise ValueError(_SEPARABLE)
    g = mean(derivatives.example_gradient(theta[0], theta[1], xe, ye))
    if np.max(np.abs(g)) > 1e-8:
        raise ValueError(_SEPARABLE)
    return float(theta[0]), float(theta[1])


def optimum(model: str, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(w*, b*): the minimum of the model's mean loss over the examples."""
    if model == "linear":
        return _least_squares(x, y)
    return _newton(np.stack([x, y]), DERIVATIVES[model])


# -- building one -----------------------------------------------------------------------------------
def _check_examples(model: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    try:
        x = np.array(x, dtype=float).reshape(-1)
        y = np.array(y, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError("x and y must be sequences of numbers") from None
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} values and y {len(y)}: they must pair up")
    if not 2 <= len(x) <= MAX_EXAMPLES:
        raise ValueError(f"a data surface needs 2 to {MAX_EXAMPLES} examples, not {len(x)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite numbers (no NaN or infinity)")
    if np.ptp(x) == 0:
        raise ValueError("x is the same in every example, so the weight w cannot be fitted")
    if model == "logistic":
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("logistic regression needs labels y that are 0 or 1")
        if y.min() == y.max():
            raise ValueError(f"every label is {int(y[0])}: logistic regression needs examples of both classes")
        zeros, ones = x[y == 0], x[y == 1]
        if zeros.max() <= ones.min() or ones.max() <= zeros.min():  # touching is separable too
            raise ValueError(_SEPARABLE)
    return x, y


def _auto_domain(best: tuple[float, float], start: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """A box holding the start and the minimum with a margin on every side."""
    box = []
    for c_best, c_start in zip(best, start):
        low, high = min(c_best, c_start), max(c_best, c_start)
        margin = max(0.5 * (high - low), 0.25 * max(abs(c_best), 1.0))
        box.append((low - margin, high + margin))
    return tuple(box)


def from_data(model: str, x, y, *, id: str = "data", name: str | None = None, description: str = "",
              source: str = "", domain=None, start=(0.0, 0.0), lr: float | None = None,
              labels: tuple[str, str] | None = None) -> DataSurface:
    """The surface of `model` ("linear" or "logistic") trained on the examples (x, y): f(w, b) is
    the mean per-example loss, with its minimum found (closed form for linear, Newton for
    logistic). ValueError for bad examples (too few, non-finite, constant x, labels not 0/1,
    one class, separable classes)."""
    x, y = _check_examples(model, x, y)
    best = optimum(model, x, y)
    start = (float(start[0]), float(start[1]))
    surface = DataSurface(
        id=id, name=name or f"Your data: {MODELS[model].name}",
        description=description or f"{MODELS[model].name.capitalize()} on {len(x)} examples: the map's axes are "
        "the weight w and the bias b.",
        expr=sp.S.Zero, domain=domain or _auto_domain(best, start), minima=(best,), start=start,
        lr=lr or 0.01, model=model, examples=np.ascontiguousarray(np.stack([x, y])), source=source,
        labels=labels or ("x", MODELS[model].y_label),
    )
    if lr is None:  # 1/λmax of the loss at the minimum: GD's fastest steady step on that curvature
        curvature = float(np.linalg.eigvalsh(surface.hessian(*best)).max())
        object.__setattr__(surface, "lr", float(f"{1.0 / curvature:.2g}") if curvature > 0 else 0.01)
    return surface


# -- the built-in datasets ------------------------------------------------------------------------------
_DATASETS = Path(__file__).with_name("datasets")


def read_dataset(filename: str) -> tuple[np.ndarray, np.ndarray]:
    """A stored dataset's two columns (datasets/README.md says where each comes from)."""
    table = np.loadtxt(_DATASETS / filename, delimiter=",", skiprows=1)
    return table[:, 0], table[:, 1]


def sparse_examples(seed: int = 7, n: int = 1000, density: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """A sparse-feature regression set: x is non-zero in about `density` of the examples (drawn
    from 0.5 to 1.5 there), y = 2x + 1 + 0.5·noise (standard normal). The bias b sees a gradient
    from every example, the weight w only from the few where x ≠ 0: the setting in which
    AdaGrad's per-coordinate step sizes help the rare feature (its sum of squared gradients
    stays small, so its steps stay large; the lesson "AdaGrad on sparse features")."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    x = np.where(rng.random(n) < density, rng.uniform(0.5, 1.5, n), 0.0)
    y = 2.0 * x + 1.0 + 0.5 * rng.standard_normal(n)
    return x, y


def _builtin_data_surfaces() -> tuple[DataSurface, ...]:
    iris, wine = read_dataset("iris_petals.csv"), read_dataset("wine_flavanoids.csv")
    return (
        from_data(
            "linear", *iris, id="iris", name="Iris petals (linear regression)",
            description="Fit petal width = w·length + b to 150 iris flowers. The lengths are far from 0, so "
            "w and b pull against each other: a long, narrow valley (condition number 105) across which "
            "plain descent zig-zags.",
            source="Fisher's iris data (1936), UCI Machine Learning Repository, CC BY 4.0",
            domain=((-0.4, 1.0), (-1.2, 1.4)), start=(0.0, 1.0), lr=0.05,
            labels=("petal length (cm)", "petal width (cm)"),
        ),
        from_data(
            "logistic", *wine, id="wine", name="Wine (logistic regression)",
            description="Tell two cultivars of 130 Italian wines apart by their flavanoids. The classes "
            "overlap, so the minimum is finite, but the loss is flat near it: a shallow, tilted valley.",
            source="Forina et al.'s wine data (1988), UCI Machine Learning Repository, CC BY 4.0",
            domain=((-5.0, 1.5), (-2.0, 12.0)), start=(0.0, 0.0), lr=0.5,
            labels=("flavanoids", "cultivar 2 (1) or 1 (0)"),
        ),
        from_data(
            "linear", *sparse_examples(), id="sparse", name="Sparse feature (linear regression)",
            description="1,000 generated examples in which x is non-zero in only 57: the bias b learns from "
            "every example, the weight w from a few. AdaGrad's per-coordinate steps favour the rare one.",
            source="generated by surfaces.data.sparse_examples (seed 7)",
            domain=((-1.0, 3.5), (-1.0, 2.5)), start=(0.0, 0.0), lr=0.05,
            labels=("x (rarely non-zero)", "y"),
        ),
    )


BUILTIN_DATA_SURFACES = _builtin_data_surfaces()
