"""The documented classroom server (`python wsgi.py`, waitress in worker processes), for real:
it serves the page and races, spreads over its workers, replaces a worker that dies, refuses a
1 MB body cleanly, and stops with everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.dash_client import CALLBACK_PATH, DashApp, HttpClient, Session, loads_strict
from benchmarks.load_test import Server, free_port
from tests.checks import wait_until, wsgi_server

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="several workers need fork")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []




@pytest.fixture(scope="module")
def served():
    with wsgi_server("wsgi", workers=2, threads=2) as srv:
        yield srv


def test_serves_the_page_and_a_race(served):
    http = HttpClient(served.url)
    page = http.get("/")
    assert page.status == 200 and b"Optimizer Race" in page.body
    assert page.headers.get("server") == "optimizer-race"  # waitress, with our settings
    app = DashApp.fetch(http)
    tab = Session(app)
    steps = tab.load(lambda cb, body: http.post_json(CALLBACK_PATH, body))
    assert steps and all(s.response.status in (200, 204) for s in steps)
    race = tab.values["race-data.data"]
    assert race["ids"] and len(race["ids"]) == 9
    # with several workers each callback closes its connection (so the next one goes to whichever
    # worker is free); the page itself keeps its connection
    assert steps[-1].response.headers.get("connection") == "close"
    assert http.get("/").headers.get("connection") != "close"
    steps = tab.change(tab.random_surface_change(), lambda cb, body: http.post_json(CALLBACK_PATH, body))
    assert any(s.callback.has_output("race-data.data") for s in steps)
    for s in steps:
        assert s.response.status in (200, 204)
        if s.response.status == 200:
            loads_strict(s.response.text)
    http.close()


def test_a_one_megabyte_body_gets_a_clean_413(served):
    http = HttpClient(served.url)
    resp = http.post(CALLBACK_PATH, b"x" * 1_000_000)
    assert resp.status == 413 and len(resp.body) < 5000
    assert http.get("/_dash-dependencies").status == 200  # and the server carries on
    http.close()


@posix_only
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_workers_are_separate_processes_and_a_dead_one_is_replaced(served):
    workers = wait_until(lambda: len(_children(served.proc.pid)) == 2 and _children(served.proc.pid), 30, "2 workers")
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in (c := _children(served.proc.pid)) and len(c) == 2, 30, "a replacement worker")
    http = HttpClient(served.url)
    assert wait_until(lambda: http.get("/_dash-dependencies").status == 200, 60, "service after the restart")
    http.close()


@posix_only
def test_stops_cleanly_with_its_workers():
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"optimizer-race-wsgi-stop-{port}.log"
    srv = Server([sys.executable, "wsgi.py", "--port", str(port), "--workers", "2"], port, log)
    try:
        srv.wait_ready(timeout=90)
        workers = _children(srv.proc.pid)
        srv.proc.send_signal(signal.SIGTERM)  # the parent only: it must stop its workers
        srv.proc.wait(timeout=20)
        for pid in workers:
            wait_until(lambda: not os.path.exists(f"/proc/{pid}") or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
                  20, f"worker {pid} to exit")
        text = Path(log).read_text()
        assert "2 worker process(es)" in text and "127.0.0.1:%d" % port in text
    finally:
        srv.stop()


def test_make_serve_runs_the_documented_command():
    out = subprocess.run(["make", "-n", "serve", "HOST=0.0.0.0", "PORT=8123", "WORKERS=3", "THREADS=6"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "wsgi.py --host 0.0.0.0 --port 8123 --workers 3 --threads 6" in out.stdout


def test_bad_arguments_are_refused_plainly():
    out = subprocess.run([sys.executable, "wsgi.py", "--workers", "lots"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--workers" in out.stderr
