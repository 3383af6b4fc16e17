"""Reading a typed formula: the checks on its text and syntax tree, its canonical text
(`normalise_formula`), and its SymPy expression (`expression`), built by this module.

Typed text is hostile input. SymPy's `sympify` and `parse_expr` run `eval` and never see it;
this module reads the text itself:

1. **Text checks**: at most `MAX_LENGTH` characters, printable ASCII only (so Unicode look-alikes
   such as 'ｘ', Cyrillic 'х' or 'ｅｖａｌ', which Python would normalise to plain names, never
   reach the parser); `^` means power and is replaced by `**`.
2. **Syntax tree allowlist**: `ast.parse(text, mode="eval")` only builds a tree, it runs nothing.
   The tree may contain numbers (int or float, |n| ≤ `MAX_LITERAL`), the names x, y, pi and e
   (Euler's number), + − × ÷ and powers, unary ±, and calls of the functions in `FUNCTIONS`
   (functions.py) by bare name with exactly their number of positional arguments. Anything else
   (attributes, indexing, lambdas, comprehensions, strings, comparisons, keyword arguments, ...)
   is rejected with a message naming it. At most `MAX_NODES` parts and `MAX_DEPTH` levels of
   nesting.
3. **Size limits** that keep SymPy's exact arithmetic small: every constant part of the formula
   is folded in floating point and must stay within `MAX_CONSTANT` (so `9**9**9`, `exp(1000)`,
   `1e6**12` are rejected before SymPy sees them), constant exponents are limited to
   |p| ≤ `MAX_EXPONENT`, and exponents nested in exponents (whose coefficients SymPy multiplies
   out exactly) to a product of `MAX_NESTED_POWER`. There is no factorial.
4. **SymPy objects are built from the tree by this module** (`_build`): `sp.Integer` and
   `sp.Float` for numbers, Python operators on SymPy objects, and the SymPy functions of the
   allowlist. `abs` becomes `AbsValue`, whose second derivative is 0 rather than SymPy's
   `DiracDelta` (which NumPy cannot evaluate, so `Surface.hessian` would fail). A formula whose
   expression still holds complex or undefined constants (log(x*0)) is rejected; analysis.py
   does the same for its derivatives, so NumPy never hands the engine complex numbers.

Steps 1-3 are pure Python on floats, fast for any text, and run in the server; step 4 runs in a
worker process under a time limit (sandbox.py), and again in the server for a formula the worker
accepted.
"""

from __future__ import annotations

import ast
import math
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .functions import FUNCTIONS, NAME_VALUES, NAMES, AbsValue

# -- limits on the text ------------------------------------------------------------------------
MAX_LENGTH = 300  # characters
MAX_NODES = 200  # numbers, names, operations and calls
MAX_DEPTH = 30  # levels of nesting
MAX_LITERAL = 1e6  # largest number that may be typed
MAX_CONSTANT = 1e15  # largest value of a constant part (e.g. 10^12)
MAX_EXPONENT = 12  # largest |p| of a constant exponent
MAX_NESTED_POWER = 144  # largest product of nested constant exponents, e.g. (x^12)^12

# -- what the syntax tree may hold (besides NAMES and FUNCTIONS) ---------------------------------
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
        if node.id in NAME_VALUES:
            return _Facts(NAME_VALUES[node.id], 1.0)
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
        if name in NAMES:
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
        return _Facts(self._folded(node, function.fold, *(arg.value for arg in args)), power)

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
def expression(formula: str) -> sp.Expr:
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
    return FUNCTIONS[node.func.id].sympy(*(_build(arg) for arg in node.args))


