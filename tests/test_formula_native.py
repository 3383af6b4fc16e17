"""A typed formula's compiled functions (surfaces/formula/native.py): compiled in the worker within
the time limit, loaded by the server from numba's cache without compiling, equal to the NumPy
functions, refused when the compile is too slow, never run from a tampered or foreign file, and
compiled in the server as before where the cache cannot be used."""

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numba.core.compiler
import numpy as np
import pytest

from optimizers import rollout
from surfaces import get_surface, surface_from_formula
from surfaces.formula import _custom_surface, native, sandbox, warm_up
from surfaces.formula.sandbox import POOL

from .test_formula import TEXTBOOK, TIME_LIMIT

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"


@pytest.fixture(autouse=True, scope="module")
def warm():
    warm_up()
    surface_from_formula("x^2 + y^2")  # waits for a worker
    rollout(get_surface("bowl"), steps=2)  # the engine's loop, compiled once per process


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh private cache directory in place of the user's, and no surface made before."""
    directory = native._made_private(tmp_path / "formulas")
    native._made_private(directory / "__pycache__")
    monkeypatch.setattr(native, "cache_directory", lambda: directory)
    _custom_surface.cache_clear()
    yield directory
    _custom_surface.cache_clear()


@pytest.fixture
def compiles(monkeypatch):
    """The names of the functions numba compiles in this process while the test runs."""
    compiled = []
    real = numba.core.compiler.compile_extra

    def recording(typingctx, targetctx, func, *args, **kwargs):
        compiled.append(func.__name__)
        return real(typingctx, targetctx, func, *args, **kwargs)

    monkeypatch.setattr(numba.core.compiler, "compile_extra", recording)
    numba.cfunc("float64(float64)")(lambda a: a + 1.0)  # the recorder sees a compile
    assert compiled == ["<lambda>"]
    compiled.clear()
    return compiled


def module_of(surface, directory) -> Path:
    return native.module_path(directory, native.module_source(surface.expr, surface.grad_expr))


def values(functions, points):
    return np.array([[fn.ctypes(a, b) for fn in functions] for a, b in points])


def numpy_values(surface, points):
    X, Y = points[:, 0], points[:, 1]
    return np.stack([surface.f(X, Y), *surface.grad(X, Y)], axis=1)


# -- the server loads, the worker compiles ----------------------------------------------------------
def test_the_first_race_of_a_typed_formula_compiles_nothing_in_the_server(cache, compiles):
    surface = surface_from_formula(HIMMELBLAU + " + sin(x*y)")
    result = rollout(surface, steps=200)
    assert compiles == [], "the server compiled"
    functions = surface.scalar_functions
    assert all(fn.cache_hits == 1 for fn in functions), "loaded from numba's cache"
    assert np.isfinite(result.losses).all()
    module = module_of(surface, cache)
    assert module.exists() and sorted(p.suffix for p in (cache / "__pycache__").glob(f"{module.stem}.*")) == (
        [".nbc"] * 3 + [".nbi"] * 3)


def test_the_cache_directory_and_files_are_this_users_alone(cache):
    surface = surface_from_formula("x^2 + 4*y^2 - x*y")
    surface.scalar_functions
    for path in [cache, cache / "__pycache__", *cache.iterdir(), *(cache / "__pycache__").iterdir()]:
        info = path.stat()
        assert info.st_uid == os.geteuid() and info.st_mode & 0o077 == 0, path


def test_a_formula_compiled_before_is_loaded_by_the_worker_too(cache, compiles):
    surface_from_formula("x^2 + 5*y^2 + x")
    assert native.compile_in_worker("x^2 + 5*y^2 + x", str(cache)) == native.CACHED  # here, as a worker would
    assert compiles == []


def test_callers_asking_at_once_share_one_evaluation(cache, monkeypatch):
    sessions = []
    real = POOL.session

    def counted():
        sessions.append(1)
        return real()

    monkeypatch.setattr(POOL, "session", counted)
    results = []
    threads = [threading.Thread(target=lambda: results.append(surface_from_formula("x^2 + 6*y^2 + y")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert len(sessions) == 1


# -- the compiled functions are the formula's -----------------------------------------------------
@pytest.mark.parametrize("text", [t for t, _, _ in TEXTBOOK])
def test_compiled_functions_equal_the_numpy_ones(text):
    surface = surface_from_formula(text)
    functions = surface.scalar_functions
    assert all(hasattr(fn, "address") for fn in functions), "compiled"
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(11)
    points = np.stack([rng.uniform(x0, x1, 300), rng.uniform(y0, y1, 300)], axis=1)
    with np.errstate(all="ignore"):
        expected = numpy_values(surface, points)
    for actual, wanted in zip(values(functions, points).T, expected.T):  # loss, ∂f/∂x, ∂f/∂y
        scale = np.nanmax(np.abs(wanted))  # where terms cancel, rounding is relative to them
        np.testing.assert_allclose(actual, wanted, rtol=1e-12, atol=1e-13 * scale, equal_nan=True)


def test_compiled_functions_by_hand(cache):
    bowl = surface_from_formula("x^2 + 10*y^2")
    np.testing.assert_array_equal(values(bowl.scalar_functions, [(1.0, 2.0), (-3.0, 0.5)]),
                                  [[41.0, 2.0, 40.0], [11.5, -6.0, 10.0]])
    himmelblau = surface_from_formula(HIMMELBLAU)
    # f(3, 2) = 0 at a minimum; at (0, 0): f = 121 + 49, ∂f/∂x = 4x(…) + 2(x + y² − 7) = −14,
    # ∂f/∂y = 2(x² + y − 11) + 4y(…) = −22
    np.testing.assert_array_equal(values(himmelblau.scalar_functions, [(3.0, 2.0), (0.0, 0.0)]),
                                  [[0.0, 0.0, 0.0], [170.0, -14.0, -22.0]])
    # division by zero follows NumPy (error_model="numpy"), it raises nothing
    log_surface = surface_from_formula("log(x^2 + y^2)")
    loss, slope_x, _ = log_surface.scalar_functions
    assert loss.ctypes(0.0, 0.0) == -np.inf and np.isnan(slope_x.ctypes(0.0, 0.0))


def test_integers_beyond_64_bits_compile_as_floats(cache):
    surface = surface_from_formula("(1000000*x)^12 + y^2")  # 10^72 x^12: numba has no such integer
    assert all(hasattr(fn, "address") for fn in surface.scalar_functions)
    assert surface.scalar_functions[0].ctypes(0.5, 1.0) == pytest.approx(1e72 * 0.5**12 + 1)
    assert np.isfinite(rollout(surface, steps=20, optimizers=["gd"]).paths).all()


def test_the_module_text_is_the_same_in_every_process():
    """The server checks the worker's file against its own text: the text must not depend on
    the process (say, on the order of a set under another hash seed)."""
    formula = "sin(x*y)*exp(-x^2) + cos(x + y)^2*log(1 + x^2 + y^2) + atan2(x, y)*abs(x - y)"
    script = ("import sys, sympy as sp; from surfaces.formula.grammar import expression;"
              "from surfaces.formula.native import module_source; from surfaces.surface import x, y;"
              "e = expression(sys.argv[1]); print(module_source(e, (sp.diff(e, x), sp.diff(e, y))), end='')")
    theirs = subprocess.run([sys.executable, "-c", script, formula], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONHASHSEED": "0"}).stdout  # this process's seed is random
    surface = surface_from_formula(formula)
    assert theirs == native.module_source(surface.expr, surface.grad_expr)


# -- the time limit --------------------------------------------------------------------------------
def test_a_formula_too_slow_to_compile_is_refused_and_never_compiled_in_the_server(cache, compiles, monkeypatch):
    monkeypatch.setattr(native, "COMPILE_TIMEOUT", 0.005)  # any compile of three functions is slower
    started = time.perf_counter()
    with pytest.raises(ValueError, match="took too long to compile"):
        surface_from_formula(HIMMELBLAU + " + cos(x - y)")
    assert time.perf_counter() - started < TIME_LIMIT
    assert compiles == []
    monkeypatch.undo()  # the limit as it is; the pool has replaced the stopped worker
    surface = surface_from_formula(HIMMELBLAU + " + cos(x - y)")
    assert all(fn.cache_hits == 1 for fn in surface.scalar_functions)


# -- integrity -----------------------------------------------------------------------------------
TAMPERED = '''\
import pathlib
pathlib.Path({canary!r}).touch()


def loss(x, y):
    return 42.0
'''


def test_a_tampered_module_is_never_run(cache, tmp_path, compiles):
    canary = tmp_path / "canary"
    surface = surface_from_formula("x^2 + 7*y^2")
    module = module_of(surface, cache)
    source = native.module_source(surface.expr, surface.grad_expr)
    module.write_text(TAMPERED.format(canary=str(canary)))
    os.chmod(module, 0o600)
    # the server does not load it ...
    assert native.load(source, cache) is None
    # ... and compiles the formula itself instead (as before there was a cache)
    functions = native.compiled_functions(surface, native.CACHED, cache)
    assert compiles and values(functions, [(1.0, 1.0)]).tolist() == [[8.0, 2.0, 14.0]]
    # the worker writes the module again and recompiles it: the server loads that
    compiles.clear()
    _custom_surface.cache_clear()
    again = surface_from_formula("x^2 + 7*y^2")
    assert values(again.scalar_functions, [(1.0, 1.0)]).tolist() == [[8.0, 2.0, 14.0]]
    assert compiles == [] and module.read_text() == source
    assert not canary.exists()


def test_a_damaged_cache_file_is_not_loaded_and_is_compiled_again(cache, compiles):
    surface = surface_from_formula("x^2 + 8*y^2")
    module = module_of(surface, cache)
    source = native.module_source(surface.expr, surface.grad_expr)
    for data in (cache / "__pycache__").glob(f"{module.stem}.*.nbc"):
        data.write_bytes(b"not numba's" + data.read_bytes()[40:])
    assert native.load(source, cache) is None
    assert POOL.run(native.compile_in_worker, ("x^2 + 8*y^2", str(cache))) == native.CACHED  # afresh
    assert values(native.load(source, cache), [(1.0, 1.0)]).tolist() == [[9.0, 2.0, 16.0]]
    assert compiles == []


def test_a_module_others_may_write_or_a_link_is_not_loaded(cache):
    surface = surface_from_formula("x^2 + 9*y^2")
    module = module_of(surface, cache)
    source = native.module_source(surface.expr, surface.grad_expr)
    assert native.load(source, cache) is not None
    os.chmod(module, 0o620)
    assert native.load(source, cache) is None
    os.chmod(module, 0o600)
    moved = module.rename(module.with_suffix(".moved"))
    module.symlink_to(moved)
    assert native.load(source, cache) is None


def test_directories_others_may_write_are_not_used(tmp_path):
    private = native._made_private(tmp_path / "mine")
    assert native._is_private(private)
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    os.chmod(open_to_all, 0o777)
    assert not native._is_private(open_to_all)
    below = open_to_all / "below"  # private itself, but its parent can swap it
    below.mkdir(mode=0o700)
    assert not native._is_private(below)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)  # like /tmp: only an entry's owner may rename it
    assert native._is_private(native._made_private(sticky / "below"))


def test_the_cache_directory_is_made_private_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    native.cache_directory.cache_clear()
    try:
        directory = native.cache_directory()
        assert directory == tmp_path / "xdg" / "optimizer-race" / "formulas"
        assert directory.stat().st_mode & 0o777 == 0o700
        os.chmod(directory.parent, 0o777)  # another user could swap the directory: a private one instead
        fallback = native.cache_directory.__wrapped__()
        assert fallback is not None and fallback != directory and native._is_private(fallback)
    finally:
        native.cache_directory.cache_clear()


# -- fall-backs ------------------------------------------------------------------------------------
def test_without_a_cache_directory_the_server_compiles_as_before(monkeypatch, compiles):
    monkeypatch.setattr(native, "cache_directory", lambda: None)
    _custom_surface.cache_clear()
    try:
        surface = surface_from_formula("x^2 + 11*y^2")
        assert surface.compiler is None
        assert np.isfinite(rollout(surface, steps=50).losses).all()
        assert compiles, "compiled here"
    finally:
        _custom_surface.cache_clear()


def test_what_numba_cannot_compile_runs_as_plain_python(cache, compiles):
    """Where the worker found that numba cannot compile the formula, the server does not try."""
    surface = surface_from_formula("x^2 + 12*y^2")
    uncompilable = dataclasses.replace(surface, compiler=functools.partial(
        native.compiled_functions, status=native.UNCOMPILABLE, directory=cache))
    assert not any(hasattr(fn, "address") for fn in uncompilable.scalar_functions)
    assert np.isfinite(rollout(uncompilable, steps=50, optimizers=["gd", "adam"]).losses).all()
    assert compiles == []


def test_a_worker_is_replaced_after_its_share_of_jobs(monkeypatch):
    """numba never frees what it compiled, so a worker does at most WORKER_JOBS jobs."""
    monkeypatch.setattr(sandbox, "WORKER_JOBS", 2)
    with POOL.session() as run:
        pid = run(os.getpid, ())
        assert run(os.getpid, ()) == pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    monkeypatch.undo()
    assert surface_from_formula("x^2 + 13*y^2").minima == ((0.0, 0.0),)  # the pool carries on


def test_a_cache_cleared_while_the_server_runs_is_made_again(cache, compiles):
    surface_from_formula("x^2 + 14*y^2")
    shutil.rmtree(cache)
    _custom_surface.cache_clear()
    surface = surface_from_formula("x^2 + 14*y^2")
    assert all(fn.cache_hits == 1 for fn in surface.scalar_functions)
    assert compiles == [] and cache.stat().st_mode & 0o777 == 0o700
