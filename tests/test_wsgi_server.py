"""The documented classroom server, for real: gunicorn with the repo's gunicorn.conf.py (what
`make serve` runs) serves the page and races from several worker processes, refuses a body over its limit
cleanly, replaces a worker that dies, and stops with everything it started on SIGTERM and on
SIGINT (Ctrl+C). `python wsgi.py` hands over to the same gunicorn; its Windows path (waitress in
one process) is run here too, with --waitress."""

from __future__ import annotations

import io
import os
import runpy
import signal
import socket
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

from devtools.dash_client import CALLBACK_PATH, DashApp, HttpClient, Session, loads_strict
from devtools.server import Server, free_port, gunicorn_command
from tests.checks import wait_until, wsgi_server

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "gunicorn.conf.py"
LOGS = Path(os.environ.get("TMPDIR", "/tmp"))
posix_only = pytest.mark.skipif(os.name != "posix", reason="gunicorn needs fork")
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _config(**env) -> dict:
    """gunicorn.conf.py's settings as gunicorn reads them, with these environment variables."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    try:
        return runpy.run_path(str(CONFIG))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _race_and_surface_change(url: str) -> None:
    """A browser's page load (every initial callback), then another surface: all answered."""
    http = HttpClient(url)
    try:
        tab = Session(DashApp.fetch(http))
        steps = tab.load(lambda cb, body: http.post_json(CALLBACK_PATH, body))
        assert steps and all(s.response.status in (200, 204) for s in steps)
        race = tab.values["race-data.data"]
        assert race["ids"] and len(race["ids"]) == 9
        steps = tab.change(tab.random_surface_change(), lambda cb, body: http.post_json(CALLBACK_PATH, body))
        assert any(s.callback.has_output("race-data.data") for s in steps)
        for s in steps:
            assert s.response.status in (200, 204)
            if s.response.status == 200:
                loads_strict(s.response.text)
    finally:
        http.close()


@pytest.fixture(scope="module")
def served():
    with wsgi_server("gunicorn", workers=2, threads=2) as srv:
        yield srv


# -- the configuration ----------------------------------------------------------------------------


def test_the_config_reads_host_port_workers_and_threads_from_the_environment():
    conf = _config(HOST="0.0.0.0", PORT=8123, WORKERS=3, THREADS=6)
    assert conf["bind"] == ["0.0.0.0:8123"] and conf["workers"] == 3 and conf["threads"] == 6
    assert conf["wsgi_app"] == "app:server" and conf["worker_class"] == "gthread"
    assert conf["preload_app"] is False and conf["chdir"] == str(ROOT)
    auto = _config(HOST="::", PORT=8050, WORKERS="auto", THREADS=16)
    assert auto["bind"] == ["[::]:8050"] and 1 <= auto["workers"] <= 8 and auto["threads"] == 16


def test_the_config_refuses_the_bodies_the_app_refuses():
    import app

    conf = _config()
    assert conf["MAX_REQUEST_BYTES"] == app.MAX_REQUEST_BYTES == app.server.config["MAX_CONTENT_LENGTH"]

    def closes(headers, method="POST", path=CALLBACK_PATH) -> bool:
        req = SimpleNamespace(headers=headers, method=method, path=path, closed=False)
        req.force_close = lambda: setattr(req, "closed", True)
        conf["pre_request"](None, req)
        return req.closed

    assert closes([("CONTENT-LENGTH", str(app.MAX_REQUEST_BYTES + 1))])
    assert closes([("TRANSFER-ENCODING", "chunked")])
    assert not closes([("CONTENT-LENGTH", "3000")])
    assert not closes([], method="GET", path="/")


def test_when_ready_prints_the_addresses_to_give_the_students():
    conf = _config()

    def printed(address) -> str:
        listener = SimpleNamespace(sock=SimpleNamespace(getsockname=lambda: address))
        out = io.StringIO()
        with redirect_stdout(out):
            conf["when_ready"](SimpleNamespace(LISTENERS=[listener], cfg=SimpleNamespace(workers=2, threads=16)))
        return out.getvalue()

    local = printed(("127.0.0.1", 8050))
    assert "2 worker processes × 16 threads" in local and "students open http://127.0.0.1:8050" in local
    network = printed(("0.0.0.0", 8050))  # nothing is bound: only the text is checked
    assert f"students open http://{socket.gethostname()}:8050" in network
    assert "http://0.0.0.0" not in network and "http://127." not in network


def test_make_serve_runs_gunicorn_with_the_config():
    out = subprocess.run(["make", "-n", "serve", "HOST=0.0.0.0", "PORT=8123", "WORKERS=3", "THREADS=6"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "HOST=0.0.0.0 PORT=8123 WORKERS=3 THREADS=6 .venv/bin/python -m gunicorn -c gunicorn.conf.py" in out.stdout


def test_bad_arguments_are_refused_plainly():
    out = subprocess.run([sys.executable, "wsgi.py", "--workers", "lots"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--workers" in out.stderr


# -- the running server ---------------------------------------------------------------------------


@posix_only
def test_serves_the_page_and_a_race(served):
    http = HttpClient(served.url)
    page = http.get("/")
    assert page.status == 200 and b"Optimizer Race" in page.body
    assert page.headers.get("server") == "gunicorn"
    assert "w;desc=" in page.headers.get("server-timing", "")  # webapp/timing.py
    assert page.headers.get("connection") == "keep-alive"
    http.close()
    _race_and_surface_change(served.url)
    log = Path(served.log.name).read_text()
    assert "Using worker: gthread" in log and f"listening on 127.0.0.1:{served.port}" in log


@posix_only
def test_a_body_over_the_limit_gets_a_clean_413_and_its_connection_closes(served):
    http = HttpClient(served.url)
    resp = http.post(CALLBACK_PATH, b"x" * 2_000_000)
    assert resp.status == 413 and len(resp.body) < 5000 and b"Traceback" not in resp.body
    assert resp.headers.get("connection") == "close"  # gunicorn reads no more of that body
    assert http.get("/_dash-dependencies").status == 200  # and the server carries on
    http.close()


@posix_only
@needs_proc
def test_workers_are_separate_processes_and_a_dead_one_is_replaced(served):
    master = served.proc.pid
    workers = wait_until(lambda: len(c := _children(master)) == 2 and c, 30, "2 workers")
    http = HttpClient(served.url)
    answered_by = {http.get("/_dash-dependencies").headers["server-timing"].rsplit("=", 1)[1] for _ in range(5)}
    assert answered_by <= {str(w) for w in workers}  # the workers answer, not the arbiter
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(lambda: victim not in (c := _children(master)) and len(c) == 2 and c, 30,
                          "a replacement worker")
    assert wait_until(lambda: http.get("/_dash-dependencies").status == 200, 30, "service after the kill")
    http.close()
    new = (set(replaced) - set(workers)).pop()
    wait_until(lambda: f"Booting worker with pid: {new}" in Path(served.log.name).read_text(), 30,
               "the arbiter's log line for the new worker")
    # the new worker imports the app and serves (its own caches): poll until it answers a race
    wait_until(lambda: _answers_from(served.url, new), 60, f"an answer from the new worker {new}")


def _answers_from(url: str, pid: int) -> bool:
    http = HttpClient(url)  # a new connection each time: gunicorn hands it to whichever worker accepts
    try:
        return http.get("/_dash-layout").headers.get("server-timing", "").endswith(f"w;desc={pid}")
    finally:
        http.close()


@posix_only
@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_cleanly_with_its_workers(sig):
    port = free_port()
    log = LOGS / f"optimizer-race-stop-{sig.name}-{port}.log"
    srv = Server(gunicorn_command(port, workers=2, threads=2), port, log)
    try:
        srv.wait_ready(timeout=90)
        workers = wait_until(lambda: len(c := _children(srv.proc.pid)) == 2 and c, 30, "2 workers")
        srv.proc.send_signal(sig)  # the arbiter only: it must stop its workers
        assert srv.proc.wait(timeout=20) == 0
        for pid in workers:
            wait_until(lambda: _gone(pid), 20, f"worker {pid} to exit")
        text = log.read_text()
        assert f"Handling signal: {sig.name[3:].lower()}" in text and "Shutting down: Master" in text
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        srv.stop()


@posix_only
def test_wsgi_py_hands_over_to_gunicorn():
    port = free_port()
    log = LOGS / f"optimizer-race-wsgi-py-{port}.log"
    srv = Server([sys.executable, "wsgi.py", "--port", str(port), "--workers", "1", "--threads", "2"], port, log)
    try:
        srv.wait_ready(timeout=90)
        text = log.read_text()
        assert "Using worker: gthread" in text and "1 worker processes × 2 threads" in text
        assert f"Listening at: http://127.0.0.1:{port} ({srv.proc.pid})" in text  # exec: the same pid
    finally:
        srv.stop()


def test_the_windows_path_serves_with_waitress_in_one_process():
    pytest.importorskip("waitress")  # installed on Windows, and by requirements-dev.txt
    port = free_port()
    log = LOGS / f"optimizer-race-waitress-{port}.log"
    srv = Server([sys.executable, "wsgi.py", "--waitress", "--port", str(port), "--threads", "4"], port, log)
    try:
        srv.wait_ready(timeout=90)
        http = HttpClient(srv.url)
        page = http.get("/")
        assert page.status == 200 and page.headers.get("server") == "optimizer-race"
        resp = http.post(CALLBACK_PATH, b"x" * 2_000_000)  # over the 1.5 MB limit
        assert resp.status == 413 and len(resp.body) < 5000
        http.close()
        _race_and_surface_change(srv.url)
        assert "waitress, 1 process × 4 threads" in log.read_text()
    finally:
        srv.stop()
