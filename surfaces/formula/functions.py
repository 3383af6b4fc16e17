"""What a typed formula may name: the variables and constants (`NAMES`) and the functions
(`FUNCTIONS`), each function written once.

A row of the table says everything the other modules need about one function: the name typed
(and its aliases), how many arguments it takes, how to build it in SymPy (grammar.py), how to
fold constant arguments in floating point (the checker, grammar.py), how to evaluate its SymPy
node at a point with NumPy and what to say when it is undefined there (stop_reasons.py).

`abs` builds `AbsValue`, not SymPy's `Abs`: see its docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from ..surface import x, y


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


# -- why a function is undefined at a point (for stop reasons) ---------------------------------
def _log_undefined(name: str, u: float) -> str:
    return "log of zero" if u == 0 else "log of a negative number"


def _outside_domain(name: str, *args: float) -> str:
    return f"{name} of a number outside its domain"


# -- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Function:
    """One function a formula may call."""

    name: str  # as typed, and as named in messages
    sympy: Callable  # builds the SymPy expression from SymPy arguments
    fold: Callable  # its value for constant arguments (math raises ValueError outside the domain)
    # Its value at a point, for the node `sympy` builds; None where `sympy` builds other nodes
    # (log10(u) is log(u)/log(10), sqrt(u) a power), which are evaluated as those.
    numpy: Callable | None
    # (name, *arguments) -> why its value is not finite though its arguments are; None where
    # that can only be an overflow.
    undefined: Callable[..., str] | None = None
    arity: int = 1
    aliases: tuple[str, ...] = ()


TABLE = (
    Function("sin", sp.sin, math.sin, np.sin),
    Function("cos", sp.cos, math.cos, np.cos),
    Function("tan", sp.tan, math.tan, np.tan),
    Function("asin", sp.asin, math.asin, np.arcsin, _outside_domain, aliases=("arcsin",)),
    Function("acos", sp.acos, math.acos, np.arccos, _outside_domain, aliases=("arccos",)),
    Function("atan", sp.atan, math.atan, np.arctan, aliases=("arctan",)),
    Function("atan2", sp.atan2, math.atan2, np.arctan2, arity=2),
    Function("sinh", sp.sinh, math.sinh, np.sinh),
    Function("cosh", sp.cosh, math.cosh, np.cosh),
    Function("tanh", sp.tanh, math.tanh, np.tanh),
    Function("asinh", sp.asinh, math.asinh, np.arcsinh, aliases=("arcsinh",)),
    Function("acosh", sp.acosh, math.acosh, np.arccosh, _outside_domain, aliases=("arccosh",)),
    Function("atanh", sp.atanh, math.atanh, np.arctanh, _outside_domain, aliases=("arctanh",)),
    Function("exp", sp.exp, math.exp, np.exp),
    Function("log", sp.log, math.log, np.log, _log_undefined, aliases=("ln",)),
    Function("log10", lambda u: sp.log(u, 10), math.log10, None),
    Function("log2", lambda u: sp.log(u, 2), math.log2, None),
    Function("sqrt", sp.sqrt, math.sqrt, None),
    Function("abs", AbsValue, abs, np.abs),
)

# Every name that may be called, aliases included, in the order of the table (error messages
# list them).
FUNCTIONS: dict[str, Function] = {
    name: function for function in TABLE for name in (function.name, *function.aliases)
}

# The SymPy node a function builds -> its row, for evaluating a built expression node by node.
BY_NODE: dict[type, Function] = {
    function.sympy: function for function in TABLE if function.numpy is not None
}

# The names that are not functions: the variables and two constants.
NAMES = {"x": x, "y": y, "pi": sp.pi, "e": sp.E}
# The constants' values as floats (float(sp.pi) is math.pi), for folding constant parts.
NAME_VALUES = {name: float(value) for name, value in NAMES.items() if not value.free_symbols}
