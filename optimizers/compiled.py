"""numba, and what the engine does without it.

Every update rule and the loop over steps are compiled with numba (`njit`, the rules cached on
disk). Where numba cannot be imported the same functions run as plain Python, with a warning:
slow, but the same arithmetic and the same results.
"""

from __future__ import annotations

import logging
import warnings

log = logging.getLogger(__name__)

try:
    import numba
    from numba import types
    from numba.core.errors import NumbaExperimentalFeatureWarning

    # The rules are passed to the loop as first-class functions (one compiled loop for all).
    warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = types = None
    HAVE_NUMBA = False
    log.warning("numba is not installed: the optimizers run as plain Python (correct, but slow)")

if HAVE_NUMBA:
    _F, _I = types.float64, types.int64
    # query(θ_c, a, b, c, h0 … h4) -> where coordinate c's gradient is taken
    QUERY = _F(_F, _F, _F, _F, _F, _F, _F, _F, _F)
    # update(θ_c, g_c, a, b, c, h0 … h4, t) -> (Δ_c, a, b, c): θ_c ← θ_c − Δ_c and the new state
    UPDATE = types.UniTuple(_F, 4)(_F, _F, _F, _F, _F, _F, _F, _F, _F, _F, _I)
    # gradient(x, y) -> (∂f/∂x, ∂f/∂y)
    GRADIENT = types.UniTuple(_F, 2)(_F, _F)


def compiled(signature_name: str | None = None, cache: bool = True, nogil: bool = False):
    """`njit` with the named signature (QUERY, UPDATE, GRADIENT) and NumPy's float semantics
    (x/0 is ±inf or NaN, never an exception); the plain function without numba."""

    def wrap(fn):
        if not HAVE_NUMBA:
            return fn
        signature = globals()[signature_name] if signature_name else None
        options = dict(cache=cache, error_model="numpy", nogil=nogil)
        return numba.njit(signature, **options)(fn) if signature is not None else numba.njit(**options)(fn)

    return wrap


def plain(fn):
    """The uncompiled Python function behind a compiled one (itself without numba)."""
    return getattr(fn, "py_func", fn)


def compiled_function(fn):
    """`fn(a, b) -> float` as a C function pointer (numba's cfunc), the type of the surface
    functions the loop takes; the plain function without numba."""
    if not HAVE_NUMBA:
        return fn
    return numba.cfunc("float64(float64, float64)", error_model="numpy")(fn)
