"""A `Server-Timing` header on every response: how long the app took, its CPU time, which worker.

    app;dur=41.3, cpu;dur=39.8, w;desc=12345

`app` is the wall time the app took for the request (ms), `cpu` the CPU time of the thread that
ran it (ms) and `w` the pid of the worker process. benchmarks/load_test.py reads it to tell
queueing (in the server, before the app sees the request) from computing, and to count requests
per worker; browsers show it in their network panel. It is installed on the Flask app itself
(`server.wsgi_app`), so `app:server` carries it under any WSGI server.
"""

from __future__ import annotations

import os
import time


def server_timing(wsgi_app):
    """WSGI middleware adding the header; the pid is read per request (gunicorn forks after
    import when `preload_app` is on, so it must not be read once at import)."""

    def wrapper(environ, start_response):
        t0, c0 = time.perf_counter(), time.thread_time()

        def timed_start_response(status, headers, exc_info=None):
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
            headers = list(headers) + [("Server-Timing", f"app;dur={wall:.1f}, cpu;dur={cpu:.1f}, w;desc={os.getpid()}")]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return wsgi_app(environ, timed_start_response)

    return wrapper
