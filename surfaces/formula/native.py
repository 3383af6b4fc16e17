"""A typed formula's compiled loss and slope: numba compiles them in a worker process, within the
formula's time limit, and the server loads the machine code from numba's disk cache instead of
compiling them itself.

Why: numba compiles holding the GIL, so a compile in the server stalls every request of its
process, outside any time limit (and a formula with huge derivatives could stall it for long).
So:

1. `module_source` writes f, ∂f/∂x and ∂f/∂y as the text of a Python module, printed by SymPy's
   NumPy printer from the expression (built from text that passed the grammar) and its
   derivatives. The module's file is named by a hash of that text and of the numba and Python
   versions (`module_path`).
2. A worker (`compile_in_worker`, a job of the sandbox, sandbox.py) writes the text to that file
   in the cache directory and compiles the three functions with numba's `cfunc` with caching
   on, which stores the machine code beside the file (`__pycache__`). A compile that runs out
   of time refuses the formula (`TOO_SLOW_TO_COMPILE`).
3. The server (`load`) prints the same text from its own expression, checks that the file holds
   exactly those bytes, runs its own text (never the file's), and has numba load each
   function's machine code from the cache. It never compiles: a cache miss is a failure.

numba caches only functions defined in a real source file (it keys the cache on the file's
content, the function's line and its bytecode), hence the file.

Integrity: the cache directory (`cache_directory`: $XDG_CACHE_HOME or ~/.cache, then
optimizer-race/formulas; a private temporary directory where that will not do) is made mode 0700
and used only if it, numba's cache directory and every directory above them belong to this user
(or root) and no one else may write them (a sticky directory like /tmp aside). So no other user
can put a module or machine code there, or swap one. What is there was written by this user's
processes: the worker runs the server's own code, as the server's user. A module file whose
bytes differ from the server's text (tampered, or stale) is never run: the worker writes it
again and recompiles, and the server does not load it.

When anything else fails (numba missing, no usable directory, a cache that does not load) the
surface compiles its functions in the server as before (`compile_here`), or runs them as plain
Python where numba cannot compile the formula at all (the worker found so).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Callable

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..surface import Surface, compile_here, numba, x, y
from .analysis import REBUILD_BUDGET
from .grammar import expression
from .sandbox import TOO_SLOW

log = logging.getLogger(__name__)

# Seconds a worker may spend compiling one formula, and never more than its analysis left of
# JOB_TIMEOUT (sandbox.py). All that is left: the limit is wall-clock time, and on a busy
# machine a compile of a tenth of a second can take several times as long.
COMPILE_TIMEOUT = 1.5
TOO_SLOW_TO_COMPILE = "the formula took too long to compile; try a simpler one"
MAX_FORMULAS = 1000  # modules kept in the cache directory; past that the older half goes

FUNCTION_NAMES = ("loss", "slope_x", "slope_y")  # f, ∂f/∂x, ∂f/∂y, in Surface.scalar_functions' order
SIGNATURE = "float64(float64, float64)"
OPTIONS = {"error_model": "numpy"}  # x/0 is ±inf or NaN, as in the rest of the engine

# What a worker says of a formula's functions.
CACHED = "cached"  # compiled, and in numba's cache
UNCACHED = "uncached"  # compiled, but numba could not cache them: the server compiles them itself
UNCOMPILABLE = "uncompilable"  # numba cannot compile them: they run as plain Python

_HEADER = '''\
"""A typed formula's loss and slope, written by surfaces/formula/native.py for numba to compile
and cache. The server runs its own copy of this text, never this file."""
import numpy


'''


# -- the module's text ---------------------------------------------------------------------------
def module_source(expr: sp.Expr, gradient: tuple[sp.Expr, sp.Expr]) -> str:
    """The text of a module defining loss, slope_x and slope_y, each (x, y) -> value of `expr`
    and of its `gradient`, common subexpressions named once (x0, x1, ...), NumPy functions by
    their full names."""
    parts = zip(FUNCTION_NAMES, (expr, *gradient))
    return _HEADER + "\n\n\n".join(_function_source(name, part) for name, part in parts) + "\n"


class _Printer(NumPyPrinter):
    """SymPy's NumPy printer, with integers beyond 64 bits written as floats: numba has no such
    integers (it would refuse (1000000*x)^12), and NumPy turns them into floats anyway."""

    def _print_Integer(self, expr):
        return self._as_float(expr) if abs(expr.p) >= 2**63 else super()._print_Integer(expr)

    def _print_Rational(self, expr):
        return self._as_float(expr) if max(abs(expr.p), expr.q) >= 2**63 else super()._print_Rational(expr)

    def _as_float(self, expr):
        try:
            return repr(float(expr))
        except OverflowError:  # beyond any float: NumPy fails too, so the analysis refused it
            raise NotImplementedError(f"{expr} is too large for a float") from None


def _function_source(name: str, expr: sp.Expr) -> str:
    # strict: a node the printer cannot write in NumPy raises, rather than printing a comment
    printer = _Printer({"fully_qualified_modules": True, "allow_unknown_functions": False, "strict": True})
    assignments, (reduced,) = sp.cse(expr)
    lines = [f"def {name}(x, y):"]
    lines += [f"    {printer.doprint(symbol)} = {printer.doprint(value)}" for symbol, value in assignments]
    lines.append(f"    return {printer.doprint(reduced)}")
    if set(printer.module_imports) - {"numpy"}:
        raise NotImplementedError(f"the printed formula needs {sorted(printer.module_imports)}")
    return "\n".join(lines)


def module_path(directory: Path, source: str) -> Path:
    """Where `source` lives in `directory`: named by its hash and the versions that compile it
    (two numba versions sharing the directory then never overwrite each other's cache)."""
    versions = f"numba {numba.__version__ if numba else '-'}, {sys.implementation.cache_tag}"
    digest = hashlib.sha256(f"{versions}\n{source}".encode()).hexdigest()
    return directory / f"formula_{digest[:32]}.py"


# -- the cache directory -------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def cache_directory() -> Path | None:
    """This process's directory for compiled formulas, private (see the module docstring); None
    where numba is missing or no directory passes the checks (formulas then compile in the
    server)."""
    if numba is None or not hasattr(os, "geteuid"):  # no numba, or not POSIX (nor is the sandbox)
        return None
    for make in (_user_directory, _temporary_directory):
        try:
            directory = make()
            if _is_private(directory) and _is_private(_made_private(directory / "__pycache__")):
                return directory
            log.warning("%s is not private to this user: compiled formulas are not kept there", directory)
        except Exception as error:  # noqa: BLE001 - whatever the file system says, the server carries on
            log.warning("no directory for compiled formulas (%s)", error)
    return None


def _user_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: unset, or relative, means ~/.cache
        base = os.path.join(os.path.expanduser("~"), ".cache")
        if not os.path.isabs(base):
            raise OSError("there is no home directory")
    return _made_private(Path(base) / "optimizer-race" / "formulas")


def _temporary_directory() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="optimizer-race-formulas-"))  # mode 0700
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def _made_private(directory: Path) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(directory)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():  # not through a link
        os.chmod(directory, 0o700)
    return directory


def _is_private(directory: Path) -> bool:
    """Whether no other user can write `directory` or swap it for another: it belongs to this
    user, and it and every directory above it (links resolved) belong to this user or root and
    are writable by no one else, unless sticky (in /tmp only an entry's owner may rename it)."""
    me = os.geteuid()
    real = Path(os.path.realpath(directory))
    for above, path in enumerate([real, *real.parents]):
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in {me, 0} or (not above and info.st_uid != me):
            return False
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (above and info.st_mode & stat.S_ISVTX):
            return False
    return True


# -- compiling (in a worker) ---------------------------------------------------------------------
def start_compiler() -> None:
    """Compile a trivial function, so that numba has set itself up (the first compile in a
    process costs several times a formula's) before any formula's time limit runs."""
    if numba is not None:
        numba.cfunc(SIGNATURE, **OPTIONS)(lambda a, b: a + b)


def compile_in_worker(formula: str, directory: str) -> str:
    """A job for a worker process: the formula's module written to `directory` (if it does not
    hold exactly our text already) and compiled into numba's cache there. Returns CACHED,
    UNCACHED or UNCOMPILABLE."""
    started = time.process_time()
    expr = expression(formula)
    try:
        source = module_source(expr, (sp.diff(expr, x), sp.diff(expr, y)))
    except NotImplementedError:  # a part SymPy cannot print for NumPy (nor could lambdify)
        return UNCOMPILABLE
    if time.process_time() - started > REBUILD_BUDGET:  # the server prints the text again, untimed
        raise ValueError(TOO_SLOW)
    previous = os.umask(0o077)  # numba's cache files too: this user's alone
    try:
        return _cached(module_path(Path(directory), source), source)
    except OSError:  # say, the disk is full: the server compiles the formula itself
        return UNCACHED
    finally:
        os.umask(previous)


def _cached(path: Path, source: str) -> str:
    """CACHED once numba's cache beside `path` holds the functions of `source`, loaded as the
    server will load them or else compiled now; or UNCACHED, or UNCOMPILABLE."""
    _made_private(path.parent / "__pycache__")  # should someone have cleared the cache meanwhile
    written = _write(path, source)
    try:
        _cfuncs(source, path, may_compile=False)
        return CACHED
    except _NotCached:
        pass
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - a damaged cache file: compile afresh
        _forget(path)
    try:
        _cfuncs(source, path, may_compile=True)
    except MemoryError:
        raise  # the sandbox says so in plain words
    except (OSError, _NotCached):
        return UNCACHED
    except Exception:  # noqa: BLE001 - numba's errors have no common base class worth naming
        return UNCOMPILABLE
    if written:
        _prune(path.parent)
    return CACHED


def _write(path: Path, source: str) -> bool:
    """Make `path` hold `source`, atomically; False where it did already."""
    text = source.encode()
    if _holds(path, text):
        return False
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-", suffix=".py")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def _prune(directory: Path) -> None:
    """Keep at most MAX_FORMULAS modules: past that, the older half goes, with its cache."""
    modules = sorted(directory.glob("formula_*.py"), key=lambda p: p.stat().st_mtime)
    if len(modules) <= MAX_FORMULAS:
        return
    for module in modules[: len(modules) - MAX_FORMULAS // 2]:
        _forget(module)
        module.unlink(missing_ok=True)


def _forget(module: Path) -> None:
    """Remove numba's cache files of `module`."""
    for cached in (module.parent / "__pycache__").glob(f"{module.stem}.*"):
        cached.unlink(missing_ok=True)


# -- loading (in the server) ---------------------------------------------------------------------
def compiled_functions(surface: Surface, status: str, directory: Path) -> tuple | None:
    """`Surface.compiler` for a typed formula whose worker said `status`: the functions loaded
    from the cache, or None (plain Python) where numba could not compile them; compiled here,
    as before, where the cache does not load."""
    if status == UNCOMPILABLE:
        return None
    if status == CACHED:
        loaded = load(module_source(surface.expr, surface.grad_expr), directory)
        if loaded is not None:
            return loaded
    log.warning("the compiled functions of %s did not load from the cache: compiling them here", surface.expr)
    return compile_here(surface)


def load(source: str, directory: Path) -> tuple | None:
    """The three functions of `source` loaded from numba's cache in `directory`, or None: the
    module file does not hold exactly `source`, or is not this user's alone, or the cache
    misses. Nothing is compiled."""
    path = module_path(directory, source)
    if not _holds(path, source.encode()):
        return None
    try:
        return _cfuncs(source, path, may_compile=False)
    except Exception as error:  # noqa: BLE001 - a cache that does not load, whyever
        log.warning("the compiled formula in %s did not load (%s)", path, error)
        return None


def _holds(path: Path, text: bytes) -> bool:
    """Whether `path` is a file of this user's, writable by no one else, holding exactly `text`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return False
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
        return file.read(len(text) + 1) == text


class _NotCached(Exception):
    """numba's cache did not have a function that may not be compiled here."""


_MODULES = threading.Lock()  # one formula module at a time under its name in sys.modules


def _cfuncs(source: str, path: Path, may_compile: bool) -> tuple:
    """loss, slope_x and slope_y of `source` (defined as if in `path`) as numba cfuncs, each
    from numba's cache, else compiled (and cached) where `may_compile`, else _NotCached."""
    name = f"_optimizer_race_{path.stem}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our own text
    with _MODULES:
        # numba's cached code names the module of the function's globals and imports it to load
        sys.modules[name] = module
        try:
            return tuple(_cfunc(getattr(module, n), may_compile) for n in FUNCTION_NAMES)
        finally:
            del sys.modules[name]


def _cfunc(function: Callable, may_compile: bool):
    """What `numba.cfunc(SIGNATURE, cache=True, **OPTIONS)` makes of `function`, except that
    a cache miss raises _NotCached unless `may_compile`."""
    signature = sigutils.normalize_signature(SIGNATURE)
    compiled = _CachedCFunc(function, signature, locals={}, options=dict(OPTIONS))
    compiled.may_compile = may_compile
    compiled.enable_caching()
    cache = Path(compiled._cache.cache_path)  # __pycache__ beside the module, or NUMBA_CACHE_DIR's
    if not _is_private(cache):
        raise _NotCached(f"numba's cache directory {cache} is not private to this user")
    compiled.compile()
    return compiled


if numba is not None:
    from numba.core import sigutils
    from numba.core.ccallback import CFunc

    class _CachedCFunc(CFunc):
        """numba's cfunc (`numba.cfunc` makes one, then compiles it), which raises _NotCached
        where it would compile and `may_compile` is off."""

        may_compile = True

        def _compile_uncached(self):
            if not self.may_compile:
                raise _NotCached(self.__qualname__)
            return super()._compile_uncached()
