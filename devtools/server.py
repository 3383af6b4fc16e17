"""The documented classroom server, started for real: gunicorn with the repo's gunicorn.conf.py
(what `make serve` runs) on a free 127.0.0.1 port, in its own process group, stopped with
everything it started.

    port = free_port()
    server = Server(gunicorn_command(port, workers=1, threads=4), port, Path("/tmp/server.log"))
    server.wait_ready()        # until /_dash-dependencies answers
    ...                        # server.url, server.pids()
    server.stop()              # SIGTERM to the process group, SIGKILL if it lingers
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .dash_client import HttpClient

ROOT = Path(__file__).resolve().parents[1]


def gunicorn_command(port: int, workers="auto", threads: int | None = None) -> list[str]:
    """The documented server (`make serve`): gunicorn with the repo's gunicorn.conf.py, on
    127.0.0.1:`port`; command-line options override the config's defaults."""
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]
    if str(workers) != "auto":
        cmd += ["--workers", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server command (the documented WSGI server by default, see `gunicorn_command`), in its own
    process group, serving on 127.0.0.1:`port`; its output goes to `log_path`."""

    def __init__(self, cmd: list[str], port: int, log_path: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=(os.name == "posix"))

    def wait_ready(self, timeout: float = 90.0) -> None:
        http = HttpClient(self.url, timeout=5)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if http.get("/_dash-dependencies").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                http.close()
        raise TimeoutError(f"the server did not answer within {timeout:.0f} s")

    def pids(self) -> list[int]:
        """The server's processes (the parent and its descendants), Linux /proc only."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            if os.name == "posix":
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this Server started
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                if os.name == "posix":
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()
