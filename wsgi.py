"""Serve Optimizer Race to a class with a real WSGI server (waitress), on Linux, macOS and Windows.

    python wsgi.py --host 0.0.0.0 --port 8050 [--workers auto] [--threads 16]
    make serve HOST=0.0.0.0 PORT=8050 WORKERS=2

Why this shape (see README, "Serving a class"):

- waitress is pure Python and runs everywhere a teacher's laptop does (gunicorn is POSIX-only).
- One Python process runs Python code on one core at a time (the GIL), and a race is ~10-70 ms
  of NumPy calls that hold it. So on Linux and macOS this script binds the listening socket
  once, then forks `--workers` processes (default: one per core) that each run waitress on
  that shared socket: whichever worker accepts a connection first serves it, and a worker busy
  computing is slow to accept. Callback responses close their connection (`_close_after_callbacks`),
  so each callback is placed afresh; with keep-alive, a student would stay on the worker their
  connection first landed on, busy or not (measured: p95 about halved under load).
  The fork happens *before* the app is imported, so each worker builds its own app, its own
  caches (compiled surfaces, typed-formula cache and worker pool) and its own threads; nothing is
  shared between workers, and the only state shared between users inside a worker is read-only
  caches. On Windows (no fork) one process serves with `--threads` threads.
- Threads: 16 per worker. A thread whose race is running waits for the worker's shared engine
  loop (webapp/race_queue.py) without using the CPU; cheap callbacks (surface, link, lesson)
  need a free thread meanwhile instead of queueing behind races.
- The parent process only supervises: it restarts a worker that dies, and stops them all on
  Ctrl+C / SIGTERM. Each worker exits by itself if the parent disappears.
- Request bodies: the app refuses anything over its `MAX_CONTENT_LENGTH` (256 kB) with a plain
  413; waitress never buffers more than `MAX_BODY_BYTES` (4 MB) of a body before refusing it.

`app:server` stays a plain WSGI callable, so `waitress-serve app:server` or
`gunicorn -w 2 app:server` work too; this script only adds the multi-process part and settings.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
import traceback

DEFAULT_THREADS = 16
CONNECTION_LIMIT = 500  # per worker: 30 browsers keep up to ~6 connections each
# waitress stops reading a body past this and drops the connection; smaller oversized bodies are
# read and then refused with a plain 413 by the app (MAX_CONTENT_LENGTH), which every client
# (browser, requests, curl) reads cleanly.
MAX_BODY_BYTES = 4 * 1024 * 1024
POSIX = hasattr(os, "fork")
CALLBACK_PATH = "/_dash-update-component"


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8)) if POSIX else 1


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Serve Optimizer Race with waitress (one or more worker processes).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on: 127.0.0.1 (this machine only, default) or 0.0.0.0 (the whole network)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--workers", default="auto",
                   help="worker processes (default 'auto': one per core on Linux/macOS, 1 on Windows)")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"threads per worker (default {DEFAULT_THREADS})")
    args = p.parse_args(argv)
    if args.workers == "auto":
        args.workers = default_workers()
    else:
        try:
            args.workers = int(args.workers)
        except ValueError:
            p.error("--workers must be a whole number or 'auto'")
    if not 1 <= args.workers <= 64:
        p.error("--workers must be between 1 and 64")
    if not 1 <= args.threads <= 256:
        p.error("--threads must be between 1 and 256")
    if not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    if args.workers > 1 and not POSIX:
        print("note: several worker processes need fork (Linux/macOS); serving with one process",
              file=sys.stderr)
        args.workers = 1
    return args


def _address(host: str, port: int) -> tuple[int, tuple]:
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return family, address


def _listening_socket(host: str, port: int) -> socket.socket:
    family, address = _address(host, port)
    sock = socket.create_server(address, family=family, backlog=1024)
    sock.set_inheritable(True)
    return sock


def timed(app):
    """WSGI middleware: a `Server-Timing` header with the time the app took for the request
    (`app`, wall ms), the CPU time of its thread (`cpu`, ms) and the worker's pid (`w`). The load
    test reads it to tell queueing from computing; browsers show it in their network panel."""
    pid = os.getpid()

    def wrapper(environ, start_response):
        t0, c0 = time.perf_counter(), time.thread_time()

        def timed_start_response(status, headers, exc_info=None):
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
            headers = list(headers) + [("Server-Timing", f"app;dur={wall:.1f}, cpu;dur={cpu:.1f}, w;desc={pid}")]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return app(environ, timed_start_response)

    return wrapper


def _close_after_callbacks() -> None:
    """Answer each Dash callback request with `Connection: close` (pages, scripts and styles keep
    their keep-alive connections). The browser opens a new connection for its next callback
    (a TCP handshake: well under a millisecond on a LAN), so every callback is handed to a
    worker afresh instead of staying with the worker its connection first landed on: with a
    shared socket, the worker that accepts first is the one with a free moment. (A WSGI app may
    not set this hop-by-hop header itself, so this is done in waitress's task class.)"""
    from waitress import channel

    base = channel.HTTPChannel.task_class
    if not (hasattr(base, "build_response_header") and hasattr(base, "set_close_on_finish")):
        return  # another waitress: keep its defaults

    class CallbackTask(base):
        def build_response_header(self):
            request = self.request
            if getattr(request, "command", "") == "POST" and getattr(request, "path", "").endswith(CALLBACK_PATH):
                self.set_close_on_finish()
            return super().build_response_header()

    channel.HTTPChannel.task_class = CallbackTask


def _serve(sock: socket.socket, threads: int, several: bool) -> None:
    """One worker: build the app (its own caches), then serve on the shared socket."""
    import waitress

    if several:
        _close_after_callbacks()

    from app import server

    waitress.serve(
        timed(server),
        sockets=[sock],
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,  # no FD_SETSIZE limit with many connections
        max_request_body_size=MAX_BODY_BYTES,
        channel_timeout=60,
        clear_untrusted_proxy_headers=True,
        ident="optimizer-race",
        _quiet=True,
    )


def _worker(sock: socket.socket, threads: int, parent: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    def orphan_watch():  # the parent died without stopping us (e.g. SIGKILL): stop too
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphan_watch, daemon=True).start()
    try:
        _serve(sock, threads, several=True)
    except BaseException:  # e.g. the app fails to import: say why in the log, then exit
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


def _urls(host: str, port: int) -> list[str]:
    if host in ("0.0.0.0", "::", ""):
        names = [socket.gethostname()]
        try:
            names += [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        except OSError:
            pass
        return [f"http://{n}:{port}" for n in dict.fromkeys(names)]
    return [f"http://{host}:{port}"]


def main(argv=None) -> None:
    args = _parse(argv)
    sock = _listening_socket(args.host, args.port)  # shared by the workers
    port = sock.getsockname()[1]
    print(f"Optimizer Race: waitress, {args.workers} worker process(es) × {args.threads} threads, "
          f"listening on {args.host}:{port}", flush=True)
    for url in _urls(args.host, port):
        print(f"  students open {url}", flush=True)
    if args.workers == 1:  # Windows, or asked for: no supervisor needed
        _serve(sock, args.threads, several=False)
        return

    parent = os.getpid()
    children: dict[int, float] = {}
    stopping = False
    restarts: list[float] = []

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _worker(sock, args.threads, parent)
        children[pid] = time.monotonic()

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    for _ in range(args.workers):
        spawn()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, stop)

    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.pop(pid, None)
        if stopping:
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > 5:
            print("workers keep dying (see the log above); stopping", file=sys.stderr, flush=True)
            stop(signal.SIGTERM, None)
            continue
        print(f"worker {pid} exited ({status}); starting another", file=sys.stderr, flush=True)
        spawn()
    sock.close()


if __name__ == "__main__":
    main()
