"""gunicorn settings for serving a class on Linux or macOS (see README, "Serving a class").

    make serve HOST=0.0.0.0 PORT=8050 [WORKERS=auto] [THREADS=16]
    HOST=0.0.0.0 PORT=8050 python -m gunicorn -c gunicorn.conf.py     # the same without make

Read from the environment: HOST (default 127.0.0.1: this machine only; 0.0.0.0: the whole
network), PORT (8050), WORKERS (`auto`: one per core, at most 8) and THREADS (16). gunicorn's
own command-line options override anything here (`--workers 3`, `--access-logfile -`, ...).
The app is `app:server`, a plain WSGI app. Windows has no fork and no gunicorn: `python wsgi.py`
serves there with waitress in one process.
"""

from __future__ import annotations

import os
import socket
import sys

# -- what is served, and where ------------------------------------------------------------------
wsgi_app = "app:server"
chdir = os.path.dirname(os.path.abspath(__file__))  # the repo: app.py imports from here, wherever gunicorn starts
_host = os.environ.get("HOST", "127.0.0.1")
_port = int(os.environ.get("PORT", "8050"))
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
backlog = 2048  # connections the kernel queues before a worker accepts them (gunicorn's default)


# -- processes and threads ------------------------------------------------------------------------
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # Linux: the cores this process may use (containers too)
    except AttributeError:
        return os.cpu_count() or 1  # macOS


# One process runs Python on one core at a time (the GIL): the compiled race loop releases it
# (optimizers/kernel.py), but Dash, Flask and encoding the response around each race hold it. So
# one worker per core; at most 8 by default: each worker holds its own copy of the app (about
# 200 MB) and its own caches, and 8 cores are more than a class needs.
_workers = os.environ.get("WORKERS", "auto")
workers = max(1, min(_cores(), 8)) if _workers == "auto" else int(_workers)
# gthread: a worker accepts connections in its main thread and serves requests on `threads`
# threads, so a slow request (a sweep, a typed formula, a client on a slow network) does not hold
# up the cheap ones (surface, link, lesson), and races in several threads run at once. 16 per
# worker, as the old waitress server had.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "16"))
# preload_app stays off: each worker imports the app after the fork. Importing it starts a thread
# that compiles the engine (webapp.race.start_warm_up); a thread does not survive a fork, and a
# lock it held at that moment (numba's compiler lock, say) would stay locked in the worker for
# good. So each worker builds its own app, warm-up, caches (compiled surfaces, last races and
# sweeps, typed formulas) and formula-evaluator processes; nothing is shared between workers.
# The cost (measured in README, "Caches, per worker"): more memory than with preloading, and a
# replaced worker imports the app itself before it answers.
preload_app = False


# -- time limits ----------------------------------------------------------------------------------
# The arbiter kills and replaces a worker whose main loop has not checked in for this long (a hung
# worker). A gthread worker checks in at least once a second even while its threads compute, and
# the slowest request (a typed formula) is bounded by the app's own time limits (surfaces/formula.py);
# 30 s is gunicorn's default.
timeout = 30
# On SIGTERM (or a restart), workers finish the requests in flight for at most this long, so
# Ctrl+C (SIGINT: quick shutdown) or a service stop does not hang for gunicorn's default 30 s.
graceful_timeout = 10
# Keep-alive: a browser reuses its connections (page, scripts, the callbacks of one change), and
# a connection idle for 2 s is closed (gunicorn's default): a student who watches the race for
# longer comes back on a new connection, handed to whichever worker accepts it first. Measured
# (README): closing every callback's connection, as the old server did, or keeping idle ones 5 s
# made no difference to latency here.
keepalive = 2


# -- limits ---------------------------------------------------------------------------------------
# Open connections per worker: 40 simulated students (browsers open up to 6 each) had at most
# ~120 open at once, ~95 in one worker (README): 500 holds 80 browsers' full six on one worker.
# The open-files limit is raised to fit (on_starting).
worker_connections = 500
# A request line holds the whole race in its query string when a shared link is opened: the app
# accepts links up to 4000 characters (webapp/state.py MAX_QUERY, longer ones are explained in
# the page), so allow gunicorn's maximum instead of its default 4094 bytes.
limit_request_line = 8190
limit_request_fields = 100  # gunicorn's defaults: a browser sends ~15 headers
limit_request_field_size = 8190
# Request bodies: gunicorn has no body limit of its own. The app refuses a body over its
# MAX_CONTENT_LENGTH (app.py MAX_REQUEST_BYTES, 1.5 MB: an upload of examples) with a plain 413:
# from the Content-Length before reading it, or once 1.5 MB of a chunked body are read (webapp/guard.py). `pre_request`
# below also closes the connection after such a request, so gunicorn does not read the rest of a
# body the app refused either (to reuse the connection). Browsers never send chunked bodies.
MAX_REQUEST_BYTES = 1536 * 1024  # = app.MAX_REQUEST_BYTES (tested); not imported: see preload_app


def pre_request(worker, req):
    headers = dict(req.headers)  # names in upper case
    length = headers.get("CONTENT-LENGTH", "")
    if "TRANSFER-ENCODING" in headers or (length.isdigit() and int(length) > MAX_REQUEST_BYTES):
        req.force_close()  # answered with "Connection: close": the rest of the body is never read


def on_starting(server):
    """Each connection is an open file: make sure the workers may hold `worker_connections` of
    them (macOS shells allow 256 by default, many Linux ones 1024)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ImportError, ValueError, OSError):
        pass


# -- logging: everything to stdout ----------------------------------------------------------------
# gunicorn's messages (start, workers booting, a worker that died and its replacement) and the
# app's warnings and tracebacks, with time, pid and level, one line each. No access log: 40
# students make ~50 requests a second, which would bury the rest (`--access-logfile -` adds it).
loglevel = "info"
_format = {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
           "datefmt": "[%Y-%m-%d %H:%M:%S %z]", "class": "logging.Formatter"}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"generic": _format},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "generic",
                            "stream": "ext://sys.stdout"}},
    "root": {"level": "WARNING", "handlers": ["stdout"]},  # the app's own loggers
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        # gunicorn.access is left alone: no handler unless --access-logfile gives it one
    },
}
proc_name = "optimizer-race"
# gunicorn 25.1+ opens a control socket for `gunicornc` in $XDG_RUNTIME_DIR or ~/.gunicorn by
# default; a class server needs none, and two servers on one machine would share its path.
control_socket_disable = True


# -- the addresses to give the students -----------------------------------------------------------
def _lan_addresses() -> list[str]:
    names = [socket.gethostname()]
    try:
        names += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    try:  # the address of the interface that leads to the network (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            names.append(s.getsockname()[0])
    except OSError:
        pass
    return [n for n in dict.fromkeys(names) if not n.startswith("127.")]


def when_ready(server):
    cfg = server.cfg
    for listener in server.LISTENERS:
        address = listener.sock.getsockname()
        host, port = address[0], address[1]
        print(f"Optimizer Race: gunicorn, {cfg.workers} worker processes × {cfg.threads} threads, "
              f"listening on {host}:{port}", flush=True)
        shown = f"[{host}]" if ":" in host else host
        for name in (_lan_addresses() if host in ("0.0.0.0", "::") else [shown]):
            print(f"  students open http://{name}:{port}", flush=True)
    sys.stdout.flush()
