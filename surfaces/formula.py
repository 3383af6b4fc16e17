"""Custom surfaces from typed formulas: `surface_from_formula("x^2 + 10*y^2")`.

Typed text is hostile input. SymPy's `sympify` and `parse_expr` run `eval` and never see it; this
module reads the text itself:

1. **Text checks**: at most `MAX_LENGTH` characters, printable ASCII only (so Unicode look-alikes
   such as 'ｘ', Cyrillic 'х' or 'ｅｖａｌ', which Python would normalise to plain names, never
   reach the parser); `^` means power and is replaced by `**`.
2. **Syntax tree allowlist**: `ast.parse(text, mode="eval")` only builds a tree, it runs nothing.
   The tree may contain numbers (int or float, |n| ≤ `MAX_LITERAL`), the names x, y, pi and e
   (Euler's number), + − × ÷ and powers, unary ±, and calls of the functions in `FUNCTIONS` by
   bare name with exactly their number of positional arguments. Anything else (attributes,
   indexing, lambdas, comprehensions, strings, comparisons, keyword arguments, ...) is rejected
   with a message naming it. At most `MAX_NODES` parts and `MAX_DEPTH` levels of nesting.
3. **Size limits** that keep SymPy's exact arithmetic small: every constant part of the formula
   is folded in floating point and must stay within `MAX_CONSTANT` (so `9**9**9`, `exp(1000)`,
   `1e6**12` are rejected before SymPy sees them), constant exponents are limited to
   |p| ≤ `MAX_EXPONENT`, and exponents nested in exponents (whose coefficients SymPy multiplies
   out exactly) to a product of `MAX_NESTED_POWER`. There is no factorial.
4. **SymPy objects are built from the tree by this module** (`_build`): `sp.Integer` and
   `sp.Float` for numbers, Python operators on SymPy objects, and the SymPy functions of the
   allowlist. `abs` becomes `AbsValue`, whose second derivative is 0 rather than SymPy's
   `DiracDelta` (which NumPy cannot evaluate, so `Surface.hessian` would fail). A formula whose
   expression or derivatives still hold complex or undefined constants (log(x*0), (-2)^x, whose
   slope has log(-2)) is rejected, so NumPy never hands the engine complex numbers.

Time limit (why a worker process). Building, differentiating, lambdifying and test-evaluating
are bounded by `JOB_TIMEOUT` seconds. `signal.alarm` only works in the main thread and a Python
thread cannot be stopped, so this work runs in a separate worker process, which is killed when
it runs out of time (and replaced in the background). Workers are started with `subprocess`
(`python -I -c ...`), not `multiprocessing`'s spawn or forkserver, because those re-import the
server's `__main__` (`app.py`) in the child; a plain interpreter imports only this module.
A small pool (`WORKER_COUNT`) serves the web server's threads: a thread takes an idle worker
(or starts one, up to the pool size, or waits for one), so jobs never share a worker. Each worker
caps its address space at `WORKER_MEMORY` bytes (memory stays bounded) and disables SymPy's text
parser (defence in depth). Jobs go to the worker as pickles (trusted direction); results come
back as JSON of plain numbers, so the server never unpickles anything a worker sends. (POSIX
only: the worker inherits its socket through `pass_fds` and limits itself with `resource`.)
The worker returns only the domain, minima, start and learning rate; the server then rebuilds
the expression from the checked text and constructs the `Surface` (differentiation and
lambdify again). That rebuild is not under the time limit, but the worker has just done the same
deterministic work and rejects formulas for which it took more than `REBUILD_BUDGET` CPU seconds
(realistic formulas take 0.01-0.1 s; 15 nested sines 0.25 s, 29 are rejected).
A worker exits when the server's connection closes, or within a second of the server dying
even in the middle of a job. Successful results are cached (`CACHE_SIZE` formulas), so a Dash
callback that asks again gets the same Surface at once.

Measured on the 2-core development machine: a textbook formula takes 30-40 ms end to end with a
warm worker (median; about half in the worker, half rebuilding in the server), ~0.1 ms when
cached; the first formula after start-up ~0.4 s (a worker starts in ~0.3 s; `warm_up()` starts
the pool early); hostile text is rejected in ~0.01 ms by the text checks, in <30 ms when the
worker has to find out, and a job that runs out of time returns after ~1.6 s.

Domain rule (when none is typed): the smallest of the squares centred on the origin with
half-widths `SEARCH_HALF_WIDTHS` (5, 10, 20, 50) whose lowest grid point lies strictly inside it;
if there is none (the loss keeps falling outwards, e.g. x + y), the first of them where the loss
is finite anywhere. A typed domain ((xmin, xmax), (ymin, ymax)) must be finite, ordered, with
widths in [`MIN_WIDTH`, `MAX_WIDTH`] and bounds within ±`MAX_BOUND`.

Minima rule (NumPy only): the loss on a `GRID_POINTS`² grid of the domain; the grid's local
minima (best `CANDIDATES`) are refined by projected descent — each step tries the Newton step
(where the Hessian is positive definite) and the steepest-descent direction, at step lengths
1, 1/2, 1/4, ... (of the Newton step, or of the domain's diagonal), and keeps the lowest point.
`minima` are the refined points within 1e-10 (relative) of the best; other interior refined
points more than 1e-3 higher are `local_minima` (at most `MAX_MINIMA` each; points closer than
`SEPARATION` of the domain count as one, and among equal values the most central wins, so the
floor of a flat valley gives one minimum). If the loss is unbounded below on the domain
(x + y, log(x) near 0) the "minimum" is the lowest point found, often on the boundary, and
arrival (SPEC §4) is relative to its value.

Start rule: of the eight points at 70 % of the way from the domain's centre to its corners and
edge midpoints, the one farthest from every marked minimum where loss and gradient are finite
(ties: the first of upper-left, upper-right, lower-left, lower-right, top, bottom, left, right).
Learning rate rule: lr = 0.5 / λ, clipped to [`MIN_LR`, `MAX_LR`], where λ is the largest |Hessian
eigenvalue| on the segment from the start to the nearest global minimum — the stretch a race
covers; plain gradient descent is stable for lr < 2/λ, so this leaves it a 4× margin.

Non-finite regions (log of a negative number, 1/0) are NaN or ±inf in `Surface.grid()` (drawn
as gaps) and stop a path in the engine (SPEC §4); `stop_reason` says why in plain words.
"""

from __future__ import annotations

import ast
import atexit
import functools
import json
import math
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass
from multiprocessing.connection import Connection
from numbers import Real
from typing import Callable

import numpy as np
import sympy as sp

from .surface import Surface, x, y

Interval = tuple[float, float]
Domain = tuple[Interval, Interval]

# -- limits on the text ------------------------------------------------------------------------
MAX_LENGTH = 300  # characters
MAX_NODES = 200  # numbers, names, operations and calls
MAX_DEPTH = 30  # levels of nesting
MAX_LITERAL = 1e6  # largest number that may be typed
MAX_CONSTANT = 1e15  # largest value of a constant part (e.g. 10^12)
MAX_EXPONENT = 12  # largest |p| of a constant exponent
MAX_NESTED_POWER = 144  # largest product of nested constant exponents, e.g. (x^12)^12

# -- limits on the work ------------------------------------------------------------------------
JOB_TIMEOUT = 1.5  # seconds a worker may spend on one formula (so a reply comes within 2 s)
REBUILD_BUDGET = 0.3  # CPU seconds the Surface construction may take (the server repeats it)
WORKER_COUNT = 2
WORKER_MEMORY = 1024**3  # bytes of address space per worker (~160 MB are used)
WORKER_START_TIMEOUT = 60.0  # seconds for a worker to import NumPy and SymPy
QUEUE_TIMEOUT = 10.0  # seconds a request may wait for a free worker
CACHE_SIZE = 32

# -- automatic domain, minima, start and learning rate -------------------------------------------
SEARCH_HALF_WIDTHS = (5.0, 10.0, 20.0, 50.0)
MIN_WIDTH, MAX_WIDTH, MAX_BOUND = 1e-3, 1e4, 1e5
GRID_POINTS = 161
CANDIDATES = 16
REFINE_ITERATIONS = 100
MAX_MINIMA = 8
# Minima closer than this fraction of the domain (in x and in y) are one: more than the spread of
# the CANDIDATES most central cells of a flat valley floor (±8 of 160 cells, 5 %), so a valley
# like that of x^2 gives one minimum, not a row of them.
SEPARATION = 0.06
START_FRACTION = 0.7
MIN_LR, MAX_LR = 1e-4, 0.5

TOO_SLOW = "the formula took too long to evaluate; try a simpler one"


# -- abs() with a derivative NumPy can evaluate ------------------------------------------------
class AbsValue(sp.Function):
    """|u|. SymPy's `Abs` differentiates to `sign` and then to `DiracDelta`, which lambdify
    cannot turn into NumPy; this one's second derivative is 0 (true everywhere but the kink)."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if not arg.free_symbols:
            return sp.Abs(arg)
        return None

    def fdiff(self, argindex=1):
        return SignOf(self.args[0])

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.abs')}({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\left|{printer._print(self.args[0])}\right|"

    def _sympystr(self, printer):
        return f"abs({printer._print(self.args[0])})"


class SignOf(sp.Function):
    """sign(u), the derivative of `AbsValue`, with derivative 0."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if not arg.free_symbols:
            return sp.sign(arg)
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _numpycode(self, printer):
        return f"{printer._module_format('numpy.sign')}({printer._print(self.args[0])})"

    def _sympystr(self, printer):
        return f"sign({printer._print(self.args[0])})"


# -- the grammar ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Function:
    symbolic: Callable  # builds the SymPy expression
    numeric: Callable  # folds a constant argument in floating point (math raises outside the domain)
    arity: int


_TRIG = {
    "sin": _Function(sp.sin, math.sin, 1),
    "cos": _Function(sp.cos, math.cos, 1),
    "tan": _Function(sp.tan, math.tan, 1),
    "asin": _Function(sp.asin, math.asin, 1),
    "acos": _Function(sp.acos, math.acos, 1),
    "atan": _Function(sp.atan, math.atan, 1),
    "atan2": _Function(sp.atan2, math.atan2, 2),
    "sinh": _Function(sp.sinh, math.sinh, 1),
    "cosh": _Function(sp.cosh, math.cosh, 1),
    "tanh": _Function(sp.tanh, math.tanh, 1),
    "asinh": _Function(sp.asinh, math.asinh, 1),
    "acosh": _Function(sp.acosh, math.acosh, 1),
    "atanh": _Function(sp.atanh, math.atanh, 1),
}
FUNCTIONS: dict[str, _Function] = {
    **_TRIG,
    **{"arc" + name[1:]: f for name, f in _TRIG.items() if name.startswith("a") and name != "atan2"},
    "exp": _Function(sp.exp, math.exp, 1),
    "log": _Function(sp.log, math.log, 1),
    "ln": _Function(sp.log, math.log, 1),
    "log10": _Function(lambda u: sp.log(u, 10), math.log10, 1),
    "log2": _Function(lambda u: sp.log(u, 2), math.log2, 1),
    "sqrt": _Function(sp.sqrt, math.sqrt, 1),
    "abs": _Function(AbsValue, abs, 1),
}
NAMES = {"x": x, "y": y, "pi": sp.pi, "e": sp.E}
_NAME_VALUES = {"pi": math.pi, "e": math.e}

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_FORBIDDEN_OPERATORS = {
    ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
}
_FORBIDDEN_NODES = {
    ast.Subscript: "indexing with [...] is not allowed",
    ast.Slice: "indexing with [...] is not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions ('for ... in ...') are not allowed",
    ast.SetComp: "comprehensions ('for ... in ...') are not allowed",
    ast.DictComp: "comprehensions ('for ... in ...') are not allowed",
    ast.GeneratorExp: "comprehensions ('for ... in ...') are not allowed",
    ast.List: "lists, tuples, sets and dicts are not allowed: write a single formula",
    ast.Tuple: "lists, tuples, sets and dicts are not allowed: write a single formula",
    ast.Set: "lists, tuples, sets and dicts are not allowed: write a single formula",
    ast.Dict: "lists, tuples, sets and dicts are not allowed: write a single formula",
    ast.Compare: "comparisons (<, >, ==, ...) are not allowed",
    ast.BoolOp: "'and' and 'or' are not allowed",
    ast.IfExp: "'if ... else' is not allowed",
    ast.NamedExpr: "assignments (':=') are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.JoinedStr: "text in quotes is not allowed",
    ast.FormattedValue: "text in quotes is not allowed",
    ast.Await: "'await' is not allowed",
}


# -- reading the text ----------------------------------------------------------------------------
# Python's parser warns about some typos ("1in") on stderr; typed formulas must not fill the
# server's log. (A filter for this file name only: `catch_warnings` is not thread-safe.)
_FILENAME = "<formula>"
warnings.filterwarnings("ignore", category=SyntaxWarning, module=_FILENAME)


def normalise_formula(text: str) -> str:
    """The canonical text of a formula (`^` for powers, Python's spacing and minimal brackets),
    for URLs and exports; ValueError with a plain message if the formula is not allowed.

        normalise_formula("x^2+10*y**2") == "x^2 + 10 * y^2"
    """
    return _unparse(_checked_tree(text))


def _unparse(tree: ast.Expression) -> str:
    # The tree holds no strings, so every " ** " is a power operator.
    return ast.unparse(tree).replace(" ** ", "^")


def _checked_tree(text) -> ast.Expression:
    """The syntax tree of `text` after every check of steps 1-3 of the module docstring."""
    source = _checked_text(text)
    try:
        tree = ast.parse(source, filename=_FILENAME, mode="eval")
    except SyntaxError as error:
        raise ValueError(_syntax_message(source, error)) from None
    except (ValueError, RecursionError, MemoryError):
        raise ValueError("could not read the formula") from None
    _Checker(source).visit(tree.body, depth=1)
    return tree


def _checked_text(text) -> str:
    if not isinstance(text, str):
        raise ValueError(f"the formula must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the formula is too long ({len(text)} characters; at most {MAX_LENGTH})")
    for char in text:
        if not (" " <= char <= "~" or char in "\t\n\r"):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ValueError(
                f"the character {char!r} ({name}) is not allowed: type the formula in plain "
                "ASCII letters, digits and + - * / ^ ( )"
            )
    if not text.strip():
        raise ValueError("the formula is empty")
    return text.strip().replace("^", "**")


def _syntax_message(source: str, error: SyntaxError) -> str:
    column = error.offset or 1
    near = source[max(column - 1, 0) : column + 9].replace("**", "^").strip()
    message = f"could not read the formula at character {column}"
    if near:
        message += f" ('{near}')"
    if any(a.isdigit() and b.isalpha() or a == ")" and b == "(" for a, b in zip(source, source[1:])):
        message += ": write products with *, e.g. 2*x"
    elif "!" in source:
        message += ": factorials are not supported"
    return message


@dataclass(frozen=True)
class _Facts:
    """What the checker knows about a part of the formula."""

    value: float | None  # its value if it is constant (no x or y), folded in floating point
    power: float  # the product of the constant exponents nested in it (1 when none)


class _Checker:
    """Walks the syntax tree once: the allowlist, the node and depth limits, and the size limits
    on constants and exponents. Pure Python on floats, so it is fast for any text."""

    def __init__(self, source: str):
        self.source = source
        self.nodes = 0

    def visit(self, node: ast.AST, depth: int) -> _Facts:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ValueError(f"the formula has too many parts (more than {MAX_NODES})")
        if depth > MAX_DEPTH:
            raise ValueError(f"the formula is nested too deeply (more than {MAX_DEPTH} levels)")
        visitor = {
            ast.Constant: self._constant, ast.Name: self._name, ast.UnaryOp: self._unary,
            ast.BinOp: self._binary, ast.Call: self._call,
        }.get(type(node), self._forbidden)
        return visitor(node, depth)

    def snippet(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source, node) or ast.unparse(node)
        text = " ".join(text.replace("**", "^").split())
        return text if len(text) <= 40 else text[:37] + "..."

    def _forbidden(self, node: ast.AST, depth: int) -> _Facts:
        if isinstance(node, ast.Attribute):
            raise ValueError(f"attributes like '.{node.attr}' are not allowed")
        message = _FORBIDDEN_NODES.get(type(node))
        raise ValueError(message or f"'{type(node).__name__}' is not allowed in a formula")

    def _constant(self, node: ast.Constant, depth: int) -> _Facts:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise ValueError(f"'{node.value}' is not a number: use numbers, x and y")
        if isinstance(value, (str, bytes)):
            raise ValueError("text in quotes is not allowed")
        if isinstance(value, complex):
            raise ValueError("complex numbers like 1j are not allowed")
        if not isinstance(value, (int, float)) or not abs(value) <= MAX_LITERAL:
            raise ValueError(f"the number {self.snippet(node)} is too large (at most {MAX_LITERAL:g})")
        return _Facts(float(value), 1.0)

    def _name(self, node: ast.Name, depth: int) -> _Facts:
        if node.id in ("x", "y"):
            return _Facts(None, 1.0)
        if node.id in _NAME_VALUES:
            return _Facts(_NAME_VALUES[node.id], 1.0)
        if node.id in FUNCTIONS:
            raise ValueError(f"'{node.id}' is a function: write {node.id}(...)")
        raise ValueError(f"unknown name '{node.id}': use x and y, and the constants pi and e")

    def _unary(self, node: ast.UnaryOp, depth: int) -> _Facts:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ValueError(f"the operator '{_FORBIDDEN_OPERATORS[type(node.op)]}' is not allowed")
        operand = self.visit(node.operand, depth + 1)
        if operand.value is None or isinstance(node.op, ast.UAdd):
            return operand
        return _Facts(-operand.value, operand.power)

    def _binary(self, node: ast.BinOp, depth: int) -> _Facts:
        if not isinstance(node.op, _OPERATORS):
            symbol = _FORBIDDEN_OPERATORS[type(node.op)]
            raise ValueError(f"the operator '{symbol}' is not allowed: use + - * / and ^")
        left = self.visit(node.left, depth + 1)
        right = self.visit(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return self._power(node, left, right)
        if isinstance(node.op, ast.Div) and right.value == 0:
            raise ValueError(f"'{self.snippet(node)}' divides by zero")
        power = max(left.power, right.power)
        if left.value is None or right.value is None:
            return _Facts(None, power)
        operation = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
                     ast.Div: float.__truediv__}[type(node.op)]
        return _Facts(self._folded(node, operation, left.value, right.value), power)

    def _power(self, node: ast.BinOp, base: _Facts, exponent: _Facts) -> _Facts:
        if exponent.value is None:
            return _Facts(None, max(base.power, exponent.power))
        if abs(exponent.value) > MAX_EXPONENT:
            raise ValueError(
                f"the exponent in '{self.snippet(node)}' is too large (at most {MAX_EXPONENT})"
            )
        power = base.power * max(1.0, abs(exponent.value))
        if power > MAX_NESTED_POWER:
            raise ValueError(
                f"'{self.snippet(node)}' nests powers too deeply (their exponents multiply to "
                f"{power:g}, more than {MAX_NESTED_POWER})"
            )
        if base.value is None:
            return _Facts(None, power)
        if base.value == 0 and exponent.value < 0:
            raise ValueError(f"'{self.snippet(node)}' divides by zero")
        return _Facts(self._folded(node, math.pow, base.value, exponent.value), power)

    def _call(self, node: ast.Call, depth: int) -> _Facts:
        if not isinstance(node.func, ast.Name):
            self.visit(node.func, depth + 1)  # names what is wrong with it, if anything
            raise ValueError("only functions like sin(...) can be called")
        name = node.func.id
        if name in ("x", "y", "pi", "e"):
            raise ValueError(f"'{name}' is not a function: write {name}*(...) for a product")
        if name not in FUNCTIONS:
            raise ValueError(
                f"unknown function '{name}': use one of {', '.join(FUNCTIONS)}"
            )
        if node.keywords:
            keyword = node.keywords[0].arg
            if keyword is None:
                raise ValueError("'**' unpacking is not allowed")
            raise ValueError(f"keyword arguments like '{keyword}=' are not allowed")
        function = FUNCTIONS[name]
        if len(node.args) != function.arity:
            plural = "s" if function.arity > 1 else ""
            raise ValueError(
                f"{name} takes {function.arity} argument{plural}, not {len(node.args)}"
            )
        args = [self.visit(arg, depth + 1) for arg in node.args]
        power = max(arg.power for arg in args)
        if any(arg.value is None for arg in args):
            return _Facts(None, power)
        return _Facts(self._folded(node, function.numeric, *(arg.value for arg in args)), power)

    def _folded(self, node: ast.AST, operation: Callable, *values: float) -> float:
        """The value of a constant part, which must be real and at most MAX_CONSTANT in size."""
        try:
            value = operation(*values)
        except ZeroDivisionError:
            raise ValueError(f"'{self.snippet(node)}' divides by zero") from None
        except OverflowError:
            value = math.inf
        except ValueError:  # math's domain errors: log(-1), sqrt(-1), (-8)^(1/3), asin(2)
            raise ValueError(f"'{self.snippet(node)}' has no real value") from None
        if not abs(value) <= MAX_CONSTANT:
            raise ValueError(f"'{self.snippet(node)}' is too large (more than {MAX_CONSTANT:g})")
        return float(value)


# -- building the SymPy expression ---------------------------------------------------------------
def _expression(formula: str) -> sp.Expr:
    """The SymPy expression of a formula, built from its checked syntax tree (never from text)."""
    expr = _build(_checked_tree(formula).body).replace(sp.Abs, AbsValue)
    if expr.has(sp.I):
        raise ValueError("the formula has complex values (a root or log of a negative constant?)")
    if expr.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
        raise ValueError("the formula is undefined (it divides by zero or takes log(0)?)")
    if not expr.free_symbols:
        raise ValueError("the formula is a constant: it must depend on x or y")
    return expr


def _build(node: ast.AST) -> sp.Expr:
    """The SymPy expression of a checked syntax tree node."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int):
            return sp.Integer(node.value)
        # Not an exact Rational: 2.25e-51 would become one with a 53-digit denominator, and SymPy
        # takes ages over powers of such numbers.
        return sp.Float(node.value)
    if isinstance(node, ast.Name):
        return NAMES[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _build(node.left), _build(node.right)
        return {
            ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
            ast.Mult: lambda: left * right, ast.Div: lambda: left / right,
            ast.Pow: lambda: left**right,
        }[type(node.op)]()
    assert isinstance(node, ast.Call)  # the checker let nothing else through
    return FUNCTIONS[node.func.id].symbolic(*(_build(arg) for arg in node.args))


# -- facts about the surface (computed in the worker) ------------------------------------------
def _analyse(formula: str, domain: Domain | None) -> dict:
    """Everything `surface_from_formula` needs besides the expression, as plain numbers.
    Runs in a worker process, under the time limit."""
    expr = _expression(formula)
    started = time.process_time()  # CPU time: what the server's rebuild costs, whatever the load
    surface = Surface(
        "custom", "Custom", formula, expr, domain=((-1.0, 1.0), (-1.0, 1.0)), minima=((0.0, 0.0),),
        start=(0.0, 0.0),
    )  # a probe: its f, grad and hessian are all that is used
    if time.process_time() - started > REBUILD_BUDGET:
        raise ValueError(TOO_SLOW)
    derivatives = (*surface.grad_expr, *surface.hessian_expr)
    if any(part.has(sp.I) for part in derivatives):
        # e.g. d/dx (-2)^x = (-2)^x (log 2 + iπ): NumPy would hand the engine complex gradients
        raise ValueError(
            "the formula's slope has complex values (a power of a negative number, like (-2)^x?)"
        )
    if any(part.has(sp.zoo, sp.nan) for part in derivatives):
        raise ValueError("the formula's slope is undefined (a power of zero, like 0^x?)")
    if domain is None:
        domain = _choose_domain(surface)
    minima, local_minima = _find_minima(surface, domain)
    start = _default_start(surface, domain, minima + local_minima)
    return {
        "domain": domain,
        "minima": minima,
        "local_minima": local_minima,
        "start": start,
        "lr": _default_lr(surface, start, minima),
    }


def _loss(surface: Surface, X, Y) -> np.ndarray:
    """The loss with every non-finite value (NaN, ±inf) replaced by +inf: never a minimum."""
    Z = surface.f(X, Y)
    return np.where(np.isfinite(Z), Z, np.inf)


def _grid(domain: Domain, n: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = domain
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def _square(half_width: float) -> Domain:
    return ((-half_width, half_width), (-half_width, half_width))


def _choose_domain(surface: Surface) -> Domain:
    """The domain rule of the module docstring."""
    fallback = None
    for half_width in SEARCH_HALF_WIDTHS:
        Z = _loss(surface, *_grid(_square(half_width)))
        if not np.isfinite(Z).any():
            continue
        fallback = fallback or _square(half_width)
        i, j = np.unravel_index(Z.argmin(), Z.shape)
        if 0 < i < Z.shape[0] - 1 and 0 < j < Z.shape[1] - 1:
            return _square(half_width)
    if fallback is None:
        raise ValueError(
            f"the loss is not defined anywhere within ±{SEARCH_HALF_WIDTHS[-1]:g} of the origin"
        )
    return fallback


def _find_minima(surface: Surface, domain: Domain) -> tuple[list, list]:
    """(global minima, local minima) as lists of [x, y]: the minima rule of the module docstring."""
    X, Y = _grid(domain)
    Z = _loss(surface, X, Y)
    if not np.isfinite(Z).any():
        raise ValueError("the loss is not defined anywhere in the domain")
    centre_distance = _centre_distance(domain)
    cells = _grid_minima(Z, centre_distance(X, Y))
    points, values = _refine(surface, np.stack([X.flat[cells], Y.flat[cells]], axis=1), domain)
    best = values.min()
    tolerance = 1e-10 * max(1.0, abs(best))
    (x0, x1), (y0, y1) = domain
    scale = np.array([x1 - x0, y1 - y0])
    minima, local_minima = [], []
    for k in np.lexsort((centre_distance(points[:, 0], points[:, 1]), values)):
        point = points[k]
        if any(np.all(np.abs(point - p) < SEPARATION * scale) for p in minima + local_minima):
            continue  # the same minimum reached from another grid cell, or a flat valley's floor
        if values[k] <= best + tolerance:
            if len(minima) < MAX_MINIMA:
                minima.append(point)
        elif values[k] > best + 1e-3 and _is_interior(point, domain):
            if len(local_minima) < MAX_MINIMA:
                local_minima.append(point)
    return [p.tolist() for p in minima], [p.tolist() for p in local_minima]


def _centre_distance(domain: Domain) -> Callable:
    """(X, Y) -> distance from the domain's centre, in units of its half-widths: breaks ties
    between equal values (a valley floor) in favour of the middle of the picture."""
    (x0, x1), (y0, y1) = domain
    return lambda X, Y: np.hypot((2 * X - x0 - x1) / (x1 - x0), (2 * Y - y0 - y1) / (y1 - y0))


def _grid_minima(Z: np.ndarray, centre_distance: np.ndarray) -> np.ndarray:
    """Flat indices of the grid points no higher than their eight neighbours, lowest (then most
    central) first, at most CANDIDATES. The lowest grid point is always one of them."""
    n, m = Z.shape
    padded = np.pad(Z, 1, constant_values=np.inf)
    is_minimum = np.isfinite(Z)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_minimum &= Z <= padded[1 + di : 1 + di + n, 1 + dj : 1 + dj + m]
    cells = np.flatnonzero(is_minimum)
    return cells[np.lexsort((centre_distance.flat[cells], Z.flat[cells]))][:CANDIDATES]


_TRIAL_STEPS = 2.0 ** -np.arange(53)  # fractions of a step tried, down to machine precision


def _refine(surface: Surface, points: np.ndarray, domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """Projected descent from every point at once (K points, shape (K, 2)): each iteration moves
    a point to the lowest of its trial points along the Newton and steepest-descent directions,
    and stops when no point gets lower."""
    low = np.array([domain[0][0], domain[1][0]])
    high = np.array([domain[0][1], domain[1][1]])
    reach = float(np.hypot(*(high - low)))
    p = points.astype(float)
    values = _loss(surface, p[:, 0], p[:, 1])
    columns = np.arange(len(p))
    for _ in range(REFINE_ITERATIONS):
        directions = _descent_directions(surface, p, reach)  # (2, K, 2)
        trials = np.clip(p + _TRIAL_STEPS[:, None, None, None] * directions, low, high)
        trials = trials.reshape(-1, len(p), 2)  # (2T, K, 2)
        trial_values = _loss(surface, trials[..., 0], trials[..., 1])
        best = trial_values.argmin(axis=0)
        improved = trial_values[best, columns] < values
        if not improved.any():
            break
        p[improved] = trials[best, columns][improved]
        values[improved] = trial_values[best, columns][improved]
    return p, values


def _descent_directions(surface: Surface, p: np.ndarray, reach: float) -> np.ndarray:
    """(Newton step, steepest-descent step of length `reach`) at each point, shape (2, K, 2).
    The Newton step is zero where the Hessian is not positive definite, and at most `reach` long."""
    gx, gy = surface.grad(p[:, 0], p[:, 1])
    (a, b), (_, d) = surface.hessian(p[:, 0], p[:, 1])
    det = a * d - b * b
    newton = -np.stack([d * gx - b * gy, a * gy - b * gx], axis=1) / det[:, None]
    newton[~((a > 0) & (det > 0))] = 0.0
    length = np.hypot(newton[:, 0], newton[:, 1])
    newton *= np.minimum(1.0, reach / np.maximum(length, 1e-300))[:, None]
    gradient = np.stack([gx, gy], axis=1)
    steepest = -gradient * (reach / np.hypot(gx, gy))[:, None]  # NaN at a zero gradient: never chosen
    return np.stack([newton, steepest])


def _is_interior(point: np.ndarray, domain: Domain) -> bool:
    margins = [1e-9 * (hi - lo) for lo, hi in domain]
    return all(lo + m < v < hi - m for v, (lo, hi), m in zip(point, domain, margins))


# Upper-left, upper-right, lower-left, lower-right, top, bottom, left, right.
_START_DIRECTIONS = np.array(
    [(-1, 1), (1, 1), (-1, -1), (1, -1), (0, 1), (0, -1), (-1, 0), (1, 0)], dtype=float
)


def _default_start(surface: Surface, domain: Domain, marked: list) -> list:
    """The start rule of the module docstring (falling back to any grid point where loss and
    gradient are finite)."""
    (x0, x1), (y0, y1) = domain
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    candidates = centre + START_FRACTION * half * _START_DIRECTIONS
    usable = _finite_loss_and_gradient(surface, candidates)
    if not usable.any():
        X, Y = _grid(domain, 41)
        candidates = np.stack([X.ravel(), Y.ravel()], axis=1)
        usable = _finite_loss_and_gradient(surface, candidates)
    if not usable.any():
        raise ValueError("there is no point in the domain where the loss and its gradient are finite")
    candidates = candidates[usable]
    offsets = (candidates[:, None, :] - np.array(marked)[None, :, :]) / half
    nearest = np.hypot(offsets[..., 0], offsets[..., 1]).min(axis=1)
    return candidates[nearest.argmax()].tolist()


def _finite_loss_and_gradient(surface: Surface, points: np.ndarray) -> np.ndarray:
    gx, gy = surface.grad(points[:, 0], points[:, 1])
    return np.isfinite(surface.f(points[:, 0], points[:, 1])) & np.isfinite(gx) & np.isfinite(gy)


def _default_lr(surface: Surface, start: list, minima: list) -> float:
    """The learning-rate rule of the module docstring."""
    start = np.array(start)
    target = min(minima, key=lambda m: np.hypot(*(np.array(m) - start)))
    t = np.linspace(0.0, 1.0, 33)[:, None]
    segment = start + t * (np.array(target) - start)
    H = surface.hessian(segment[:, 0], segment[:, 1]).transpose(2, 0, 1)
    H = H[np.isfinite(H).all(axis=(1, 2))]
    curvature = float(np.abs(np.linalg.eigvalsh(H)).max()) if len(H) else 0.0
    if not curvature > 0:
        return MAX_LR
    return float(np.clip(0.5 / curvature, MIN_LR, MAX_LR))


# -- the worker processes ------------------------------------------------------------------------
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# The worker imports this module through a stand-in package, skipping surfaces/__init__.py: it
# needs Surface but not the built-in catalog, which would add ~0.7 s to every worker start.
_WORKER_BOOT = """\
import sys, types
package = types.ModuleType("surfaces")
package.__path__ = [sys.argv[1]]
sys.modules["surfaces"] = package
from surfaces.formula import _serve
_serve(int(sys.argv[2]))
"""


class _WorkerFailed(Exception):
    """A worker ran out of time, died, or could not start: it must be replaced."""


def _serve(fd: int) -> None:
    """The worker's loop: receive (function, args), reply with JSON {"ok": result} or
    {"error": message}; exit when the server closes the connection."""
    import resource  # POSIX only (as is pass_fds); imported here so the module loads anywhere

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    np.seterr(all="ignore")
    warnings.simplefilter("ignore")
    _disable_text_parsing()
    threading.Thread(target=_exit_with_server, args=(os.getppid(),), daemon=True).start()
    connection = Connection(fd)
    connection.send_bytes(b'"ready"')
    while True:
        try:
            function, args = connection.recv()
            connection.send_bytes(json.dumps(_reply(function, args)).encode())
        except (EOFError, OSError):  # the server closed the connection or exited
            return


def _reply(function: Callable, args: tuple) -> dict:
    try:
        return {"ok": function(*args)}
    except ValueError as error:
        return {"error": str(error)}
    except MemoryError:
        return {"error": "the formula needs too much memory to evaluate"}
    except Exception as error:  # noqa: BLE001 - any failure of SymPy or NumPy on a formula
        return {"error": f"the formula could not be evaluated ({type(error).__name__})"}


def _exit_with_server(server_pid: int) -> None:
    """End the worker once the server is gone, even in the middle of a job (an idle worker
    would notice the closed connection anyway, a busy one only when its job ends)."""
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)


def _disable_text_parsing() -> None:
    """Make SymPy's eval-based text parser fail in the worker, whoever calls it (sympify of a
    string goes through parse_expr)."""
    from sympy.parsing import sympy_parser

    def refuse(*args, **kwargs):
        raise RuntimeError("parsing text with SymPy is disabled in the formula worker")

    sympy_parser.parse_expr = refuse


class _Worker:
    """One worker process and the socket to it."""

    def __init__(self):
        ours, theirs = multiprocessing.Pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _WORKER_BOOT, _PACKAGE_DIR, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the server's terminal is for the server only
                # One BLAS thread: the jobs are small, and several workers share the cores.
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"},
            )
        finally:
            theirs.close()
        self._connection = ours
        if not self._ready():
            self.kill()
            raise _WorkerFailed("the worker did not start")

    def _ready(self) -> bool:
        """Whether the worker said it is ready (once it has imported NumPy and SymPy)."""
        try:
            return self._connection.poll(WORKER_START_TIMEOUT) and bool(self._connection.recv_bytes())
        except (EOFError, OSError):
            return False

    def call(self, function: Callable, args: tuple, timeout: float) -> dict:
        try:
            self._connection.send((function, args))
            if not self._connection.poll(timeout):
                raise _WorkerFailed(TOO_SLOW)
            return json.loads(self._connection.recv_bytes())
        except (EOFError, OSError) as error:
            raise _WorkerFailed(f"the formula evaluator stopped unexpectedly ({error})") from None

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()
        self._connection.close()


class _WorkerPool:
    """At most `size` workers shared by the server's threads; each job has a worker to itself.
    A worker that runs out of time is killed and a fresh one is started in the background."""

    def __init__(self, size: int):
        self._size = size
        self._idle: list[_Worker] = []
        self._live = 0  # idle + busy + starting
        self._changed = threading.Condition()

    def run(self, function: Callable, args: tuple, timeout: float = JOB_TIMEOUT):
        """`function(*args)` in a worker; its result, or ValueError with the worker's message,
        or ValueError(TOO_SLOW) after `timeout` seconds."""
        worker = self._acquire()
        try:
            reply = worker.call(function, args, timeout)
        except _WorkerFailed as failure:
            self._discard(worker)
            raise ValueError(str(failure)) from None
        self._release(worker)
        if "error" in reply:
            raise ValueError(reply["error"])
        return reply["ok"]

    def start_spare(self) -> None:
        """Start one more worker, if the pool is not full (for warming up and replacements)."""
        with self._changed:
            if self._live >= self._size:
                return
            self._live += 1
        self._add_new()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._live -= len(idle)
        for worker in idle:
            worker.kill()

    def _acquire(self) -> _Worker:
        deadline = time.monotonic() + QUEUE_TIMEOUT
        with self._changed:
            while not self._idle and self._live >= self._size:
                if not self._changed.wait(deadline - time.monotonic()):
                    raise ValueError("the server is busy evaluating other formulas; try again")
            if self._idle:
                return self._idle.pop()
            self._live += 1
        try:
            return _Worker()
        except (_WorkerFailed, OSError) as failure:  # OSError: no pipe or process to be had
            self._forget_one()
            raise ValueError(f"could not start the formula evaluator ({failure})") from None

    def _add_new(self) -> None:
        try:
            worker = _Worker()
        except (_WorkerFailed, OSError):
            self._forget_one()
            return
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        with self._changed:
            self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._forget_one()
        threading.Thread(target=self.start_spare, daemon=True).start()

    def _forget_one(self) -> None:
        with self._changed:
            self._live -= 1
            self._changed.notify()


_POOL = _WorkerPool(WORKER_COUNT)
atexit.register(_POOL.close)


def warm_up() -> None:
    """Start the worker processes in the background (~0.5 s each), so that the first formula a
    user types does not wait for them. Optional: workers also start on demand."""
    for _ in range(WORKER_COUNT):
        threading.Thread(target=_POOL.start_spare, daemon=True).start()


# -- public API ----------------------------------------------------------------------------------
def surface_from_formula(text: str, domain=None) -> Surface:
    """A `Surface` (same contract as the built-ins) for a typed formula in x and y.

    `text` uses numbers, x, y, pi, e, + - * / ^ (or **) and the functions in `FUNCTIONS`, e.g.
    "(x^2 + y - 11)^2 + (x + y^2 - 7)^2". `domain` is ((xmin, xmax), (ymin, ymax)), or None to
    choose it automatically. The surface has id "custom", name "Custom", a description echoing
    the normalised formula, numerically found minima, a default start and learning rate (see the
    module docstring for the rules). Raises ValueError with a plain message for any formula or
    domain that is not allowed, and for one that takes longer than JOB_TIMEOUT s to evaluate."""
    formula = normalise_formula(text)
    return _custom_surface(formula, None if domain is None else _checked_domain(domain))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _custom_surface(formula: str, domain: Domain | None) -> Surface:
    facts = _POOL.run(_analyse, (formula, domain))

    def points(rows):
        return tuple((float(a), float(b)) for a, b in rows)

    (x0, x1), (y0, y1) = facts["domain"]
    with np.errstate(all="ignore"):  # Surface evaluates f at the minima, where a part may overflow
        return Surface(
            id="custom",
            name="Custom",
            description=f"f(x, y) = {formula}",
            expr=_expression(formula),
            domain=((x0, x1), (y0, y1)),
            minima=points(facts["minima"]),
            local_minima=points(facts["local_minima"]),
            start=tuple(facts["start"]),
            lr=float(facts["lr"]),
        )


def _checked_domain(domain) -> Domain:
    """A typed domain ((xmin, xmax), (ymin, ymax)) as floats, or ValueError saying what is wrong."""
    shape = "the domain must be ((xmin, xmax), (ymin, ymax)) with numbers"
    try:
        (x0, x1), (y0, y1) = domain
    except (TypeError, ValueError):
        raise ValueError(shape) from None
    checked = []
    for axis, (lo, hi) in (("x", (x0, x1)), ("y", (y0, y1))):
        if not all(isinstance(v, Real) and not isinstance(v, bool) for v in (lo, hi)):
            raise ValueError(shape)
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"the {axis}-range must be finite, not ({lo}, {hi})")
        if not lo < hi:
            raise ValueError(f"the {axis}-range must go from low to high, not ({lo:g}, {hi:g})")
        if not MIN_WIDTH <= hi - lo <= MAX_WIDTH:
            raise ValueError(f"the {axis}-range must be between {MIN_WIDTH:g} and {MAX_WIDTH:g} wide")
        if max(abs(lo), abs(hi)) > MAX_BOUND:
            raise ValueError(f"the {axis}-range must lie within ±{MAX_BOUND:g}")
        checked.append((lo, hi))
    return tuple(checked)


# -- why a path stopped ------------------------------------------------------------------------
_NUMPY_FUNCTIONS = {
    sp.sin: np.sin, sp.cos: np.cos, sp.tan: np.tan, sp.asin: np.arcsin, sp.acos: np.arccos,
    sp.atan: np.arctan, sp.atan2: np.arctan2, sp.sinh: np.sinh, sp.cosh: np.cosh,
    sp.tanh: np.tanh, sp.asinh: np.arcsinh, sp.acosh: np.arccosh, sp.atanh: np.arctanh,
    sp.exp: np.exp, sp.log: np.log, AbsValue: np.abs, SignOf: np.sign,
}


def stop_reason(surface: Surface, point) -> str:
    """Why a path stopped at `point`, the first iterate the engine rejected (SPEC §4), in words
    for the page: "left the plotted region", "the step blew up (...)", "the loss is undefined
    here (log of a negative number)", "the loss overflowed", ... ValueError if a path would not
    stop at `point`. (The engine's result repeats the last valid point from the divergence on,
    so the rejected iterate must come from the engine.)"""
    try:
        px, py = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(f"point must be a pair of numbers (x, y), not {point!r}") from None
    if not (math.isfinite(px) and math.isfinite(py)):
        return "the step blew up (the gradient was infinite or undefined)"
    (bx0, bx1), (by0, by1) = surface.escape_box
    if not (bx0 < px < bx1 and by0 < py < by1):
        return "left the plotted region"
    with np.errstate(all="ignore"):
        value = float(surface.f(px, py))
        if math.isfinite(value):
            raise ValueError(f"the loss is finite at ({px:g}, {py:g}): a path does not stop there")
        cause = _undefined_part(surface.expr, px, py)
    if cause is not None:
        return cause
    return "the loss overflowed" if math.isinf(value) else "the loss is undefined here"


def _undefined_part(expr: sp.Expr, px: float, py: float) -> str | None:
    """What makes `expr` non-finite at (px, py): its innermost part that is not finite although
    its arguments are, described in words; None if that cannot be told."""
    values: dict[sp.Basic, float] = {}
    for node in sp.postorder_traversal(expr):
        if node in values:
            continue
        args = [values[a] for a in node.args]
        value = _numeric_value(node, args, px, py)
        if value is None:
            return None
        if not math.isfinite(value):
            return _describe_failure(node, args, value)
        values[node] = value
    return None


def _numeric_value(node: sp.Basic, args: list[float], px: float, py: float) -> float | None:
    if node == x:
        return px
    if node == y:
        return py
    if node.is_Number or node.is_NumberSymbol:
        return float(node)
    if node.is_Add:
        return float(np.sum(args))
    if node.is_Mul:
        return float(np.prod(args))
    if node.is_Pow:
        return float(np.power(*args))
    if node.func in _NUMPY_FUNCTIONS:
        return float(_NUMPY_FUNCTIONS[node.func](*args))
    return None


def _describe_failure(node: sp.Basic, args: list[float], value: float) -> str:
    undefined = "the loss is undefined here ({})".format
    if node.func is sp.log:
        return undefined("log of zero" if args[0] == 0 else "log of a negative number")
    if node.is_Pow and args[0] == 0 and args[1] < 0:
        return undefined("division by zero")
    if node.is_Pow and args[0] < 0:
        return undefined("square root or fractional power of a negative number")
    if node.func in (sp.asin, sp.acos, sp.acosh, sp.atanh):
        return undefined(f"{node.func.__name__} of a number outside its domain")
    if math.isinf(value):
        return "the loss overflowed"
    return undefined("infinity minus infinity, or zero times infinity")
