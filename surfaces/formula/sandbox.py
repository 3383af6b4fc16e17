"""The sandbox for work on typed formulas: a small pool of worker processes with a time and a
memory limit (`POOL.run(function, args)`), and `warm_up` to start them early.

Why a worker process: building, differentiating, lambdifying, test-evaluating and compiling a
formula are bounded by `JOB_TIMEOUT` seconds, but `signal.alarm` only works in the main thread
and a Python thread cannot be stopped, so this work runs in a separate worker process, which is
killed when it runs out of time (and replaced in the background). Workers are started with
`subprocess` (`python -I -c ...`), not `multiprocessing`'s spawn or forkserver, because those
re-import the server's `__main__` (`app.py`) in the child; a plain interpreter imports only this
package.

A small pool (`WORKER_COUNT`) serves the web server's threads: a thread takes an idle worker
(or starts one, up to the pool size, or waits for one), so jobs never share a worker. Each worker
caps its address space at `WORKER_MEMORY` bytes (memory stays bounded) and disables SymPy's text
parser (defence in depth). Jobs go to the worker as pickles (trusted direction); results come
back as JSON of plain numbers, so the server never unpickles anything a worker sends. The one
other thing a worker hands the server is a formula's machine code, in numba's disk cache
(native.py says what that trusts). (POSIX only: the worker inherits its socket through
`pass_fds` and limits itself with `resource`.)
A worker exits when the server's connection closes, or within a second of the server dying
even in the middle of a job.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import warnings
from multiprocessing.connection import Connection
from typing import Callable

import numpy as np

# -- limits on the work ------------------------------------------------------------------------
JOB_TIMEOUT = 1.5  # seconds a worker may spend on one formula, analysis and compile (reply within 2 s)
WORKER_COUNT = 2
WORKER_MEMORY = 1024**3  # bytes of address space per worker (a fresh one takes ~420 MB of it)
WORKER_START_TIMEOUT = 60.0  # seconds for a worker to import NumPy, SymPy and numba
QUEUE_TIMEOUT = 10.0  # seconds a request may wait for a free worker
# Jobs a worker does before it is replaced: numba never frees compiled code, so each formula a
# worker compiles (native.py) keeps about 1.4 MB, and WORKER_MEMORY would run out after ~450.
WORKER_JOBS = 200

# What a job that runs out of time says (analysis.py says it too, for a slow rebuild).
TOO_SLOW = "the formula took too long to evaluate; try a simpler one"


# -- the worker processes ------------------------------------------------------------------------
_SURFACES_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The worker imports this package through a stand-in `surfaces` package, skipping
# surfaces/__init__.py: it needs Surface but not the built-in catalog, which solves for the
# built-in surfaces' minima on import and would slow every worker start.
_WORKER_BOOT = """\
import sys, types
package = types.ModuleType("surfaces")
package.__path__ = [sys.argv[1]]
sys.modules["surfaces"] = package
from surfaces.formula.sandbox import _serve
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
    from .native import start_compiler

    start_compiler()  # before "ready": no formula's time limit pays for setting numba up
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
                [sys.executable, "-I", "-c", _WORKER_BOOT, _SURFACES_DIR, str(theirs.fileno())],
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
        self.jobs = 0
        if not self._ready():
            self.kill()
            raise _WorkerFailed("the worker did not start")

    def _ready(self) -> bool:
        """Whether the worker said it is ready (once it has imported NumPy and SymPy)."""
        try:
            return self._connection.poll(WORKER_START_TIMEOUT) and bool(self._connection.recv_bytes())
        except (EOFError, OSError):
            return False

    def call(self, function: Callable, args: tuple, timeout: float, too_slow: str = TOO_SLOW) -> dict:
        self.jobs += 1
        try:
            self._connection.send((function, args))
            if not self._connection.poll(timeout):
                raise _WorkerFailed(too_slow)
            return json.loads(self._connection.recv_bytes())
        except (EOFError, OSError) as error:
            raise _WorkerFailed(f"the formula evaluator stopped unexpectedly ({error})") from None

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()
        self._connection.close()


class _WorkerPool:
    """At most `size` workers shared by the server's threads; each job has a worker to itself.
    A worker that runs out of time, or has done WORKER_JOBS jobs, is killed and a fresh one is
    started in the background."""

    def __init__(self, size: int):
        self._size = size
        self._idle: list[_Worker] = []
        self._live = 0  # idle + busy + starting
        self._changed = threading.Condition()

    def run(self, function: Callable, args: tuple, timeout: float = JOB_TIMEOUT):
        """`function(*args)` in a worker; its result, or ValueError with the worker's message,
        or ValueError(TOO_SLOW) after `timeout` seconds."""
        with self.session() as run:
            return run(function, args, timeout)

    @contextlib.contextmanager
    def session(self):
        """One worker for several jobs in a row (a formula's analysis, then its compile: the
        second needs no new turn in the queue). Yields run(function, args, timeout,
        too_slow=TOO_SLOW), which behaves as `run` above, saying `too_slow` when it runs out of
        time; after a failed job the worker is gone and run refuses further jobs."""
        worker = self._acquire()
        failed = False

        def run(function: Callable, args: tuple, timeout: float = JOB_TIMEOUT, too_slow: str = TOO_SLOW):
            nonlocal failed
            if failed:
                raise ValueError("the formula evaluator stopped")
            try:
                reply = worker.call(function, args, timeout, too_slow)
            except _WorkerFailed as failure:
                failed = True
                raise ValueError(str(failure)) from None
            if "error" in reply:
                raise ValueError(reply["error"])
            return reply["ok"]

        try:
            yield run
        finally:
            if failed or worker.jobs >= WORKER_JOBS:
                self._discard(worker)
            else:
                self._release(worker)

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


POOL = _WorkerPool(WORKER_COUNT)
atexit.register(POOL.close)


def warm_up() -> None:
    """Start the worker processes in the background, so that the first formula a user types
    does not wait for them to import NumPy and SymPy. Optional: workers also start on demand."""
    for _ in range(WORKER_COUNT):
        threading.Thread(target=POOL.start_spare, daemon=True).start()


