"""Custom surfaces from typed formulas: `surface_from_formula("x^2 + 10*y^2")`.

Typed text is hostile input, so it takes this way to a `Surface`:

1. `normalise_formula` (grammar.py) checks the text and its syntax tree against an allowlist and
   size limits, in the server; nothing is evaluated.
2. `analyse` (analysis.py) builds the SymPy expression from the checked tree, checks its
   derivatives, and chooses the domain, minima, start and learning rate, in a worker process
   with a time and a memory limit (sandbox.py). It returns plain numbers.
3. In the same worker, within the same time limit, numba compiles the loss and its gradient
   for the engine into a disk cache (native.py).
4. The server rebuilds the expression from the checked text and constructs the `Surface`,
   whose compiled functions it loads from that cache on the first race, without compiling.
   Successful results are cached (`CACHE_SIZE` formulas), so a Dash callback that asks again
   gets the same Surface at once; callbacks asking for a new formula at the same moment share
   one evaluation.

The functions a formula may call are listed once, in functions.py. `stop_reason`
(stop_reasons.py) says in plain words why a path stopped, on any surface. `warm_up` starts the
worker processes early.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import Future

import numpy as np

from ..surface import Surface
from . import native
from .analysis import Domain, analyse, checked_domain
from .grammar import expression, normalise_formula
from .sandbox import JOB_TIMEOUT, POOL, warm_up
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
    (sandbox.py) to evaluate and compile."""
    formula = normalise_formula(text)
    return _shared(formula, None if domain is None else checked_domain(domain))


_PENDING: dict[tuple, Future] = {}  # surfaces being made, by _custom_surface's arguments
_PENDING_LOCK = threading.Lock()


def _shared(formula: str, domain: Domain | None) -> Surface:
    """_custom_surface(formula, domain), made once for callers who ask at the same moment (a new
    formula reaches several callbacks at once; each would otherwise take a worker)."""
    key = (formula, domain)
    with _PENDING_LOCK:
        pending = _PENDING.get(key)
        if pending is None:
            _PENDING[key] = mine = Future()
    if pending is not None:
        return pending.result()  # the first caller's surface, or its ValueError
    try:
        mine.set_result(_custom_surface(formula, domain))
    except BaseException as error:
        mine.set_exception(error)
    finally:
        with _PENDING_LOCK:
            del _PENDING[key]
    return mine.result()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _custom_surface(formula: str, domain: Domain | None) -> Surface:
    directory = native.cache_directory()
    with POOL.session() as run:
        started = time.monotonic()
        facts = run(analyse, (formula, domain))
        if directory is not None:
            # the compile gets what is left of the formula's time, so a reply still comes in time
            left = max(0.0, JOB_TIMEOUT - (time.monotonic() - started))
            status = run(native.compile_in_worker, (formula, str(directory)),
                         min(native.COMPILE_TIMEOUT, left), native.TOO_SLOW_TO_COMPILE)
    compiler = None if directory is None else functools.partial(
        native.compiled_functions, status=status, directory=directory)

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
            compiler=compiler,
        )


__all__ = ["normalise_formula", "stop_reason", "surface_from_formula", "warm_up"]
