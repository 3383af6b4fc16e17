"""Why a path stopped (`stop_reason`), in plain words for the page.

Non-finite regions (log of a negative number, 1/0) are NaN or ±inf in `Surface.grid()` (drawn
as gaps) and stop a path in the engine (SPEC §4). To say why, the surface's expression is
evaluated node by node at the rejected point with NumPy, and the innermost part that is not
finite although its arguments are is described: the table in functions.py says how to evaluate
each function and what makes it undefined. Works for any Surface, built-in or typed.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..surface import Surface, x, y
from .functions import BY_NODE


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
    if node.func in BY_NODE:
        return float(BY_NODE[node.func].numpy(*args))
    return None


def _describe_failure(node: sp.Basic, args: list[float], value: float) -> str:
    undefined = "the loss is undefined here ({})".format
    function = BY_NODE.get(node.func)
    if function is not None and function.undefined is not None:
        return undefined(function.undefined(function.name, *args))
    if node.is_Pow and args[0] == 0 and args[1] < 0:
        return undefined("division by zero")
    if node.is_Pow and args[0] < 0:
        return undefined("square root or fractional power of a negative number")
    if math.isinf(value):
        return "the loss overflowed"
    return undefined("infinity minus infinity, or zero times infinity")
