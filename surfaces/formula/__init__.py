"""Custom surfaces from typed formulas: `surface_from_formula("x^2 + 10*y^2")`.

Typed text is hostile input, so it takes this way to a `Surface`:

1. `normalise_formula` (grammar.py) checks the text and its syntax tree against an allowlist and
   size limits, in the server; nothing is evaluated.
2. `analyse` (analysis.py) builds the SymPy expression from the checked tree, checks its
   derivatives, and chooses the domain, minima, start and learning rate, in a worker process
   with a time and a memory limit (sandbox.py). It returns plain numbers.
3. The server rebuilds the expression from the checked text and constructs the `Surface`.
   Successful results are cached (`CACHE_SIZE` formulas), so a Dash callback that asks again
   gets the same Surface at once.

The functions a formula may call are listed once, in functions.py. `stop_reason`
(stop_reasons.py) says in plain words why a path stopped, on any surface. `warm_up` starts the
worker processes early.
"""

from __future__ import annotations

import functools

import numpy as np

from ..surface import Surface
from .analysis import Domain, analyse, checked_domain
from .grammar import expression, normalise_formula
from .sandbox import POOL, warm_up
from .stop_reasons import stop_reason

CACHE_SIZE = 32


def surface_from_formula(text: str, domain=None) -> Surface:
    """A `Surface` (same contract as the built-ins) for a typed formula in x and y.

    `text` uses numbers, x, y, pi, e, + - * / ^ (or **) and the functions in `FUNCTIONS`
    (functions.py), e.g. "(x^2 + y - 11)^2 + (x + y^2 - 7)^2". `domain` is ((xmin, xmax),
    (ymin, ymax)), or None to choose it automatically. The surface has id "custom", name "Custom",
    a description echoing the normalised formula, numerically found minima, a default start and
    learning rate (see analysis.py for the rules). Raises ValueError with a plain message for any
    formula or domain that is not allowed, and for one that takes longer than `JOB_TIMEOUT` s
    (sandbox.py) to evaluate."""
    formula = normalise_formula(text)
    return _custom_surface(formula, None if domain is None else checked_domain(domain))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _custom_surface(formula: str, domain: Domain | None) -> Surface:
    facts = POOL.run(analyse, (formula, domain))

    def points(rows):
        return tuple((float(a), float(b)) for a, b in rows)

    (x0, x1), (y0, y1) = facts["domain"]
    with np.errstate(all="ignore"):  # Surface evaluates f at the minima, where a part may overflow
        return Surface(
            id="custom",
            name="Custom",
            description=f"f(x, y) = {formula}",
            expr=expression(formula),
            domain=((x0, x1), (y0, y1)),
            minima=points(facts["minima"]),
            local_minima=points(facts["local_minima"]),
            start=tuple(facts["start"]),
            lr=float(facts["lr"]),
        )


__all__ = ["normalise_formula", "stop_reason", "surface_from_formula", "warm_up"]
