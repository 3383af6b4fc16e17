"""Serve Optimizer Race to a class: gunicorn on Linux and macOS, waitress in one process on Windows.

    python wsgi.py --host 0.0.0.0 --port 8050 [--workers auto] [--threads 16]
    make serve HOST=0.0.0.0 PORT=8050                # Linux, macOS: the same gunicorn command

- Linux and macOS: this script only hands over to gunicorn. It replaces itself (exec) with
  `python -m gunicorn -c gunicorn.conf.py`, passing HOST, PORT, WORKERS and THREADS in the
  environment; every setting, and why, is in gunicorn.conf.py.
- Windows has no fork, so gunicorn does not run there: waitress serves `app:server` in this one
  process with `--threads` threads (one core at most for the races; fine for a small class, see
  README, "Serving a class"). requirements.txt installs waitress on Windows only; `--waitress`
  takes this path on any system (the tests use it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WINDOWS = os.name == "nt"
DEFAULT_THREADS = 16


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Serve Optimizer Race to a class (gunicorn; waitress on Windows).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on: 127.0.0.1 (this machine only, default) or 0.0.0.0 (the whole network)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--workers", default="auto",
                   help="gunicorn worker processes (default 'auto': one per core, at most 8; Windows: always 1)")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"threads per worker (default {DEFAULT_THREADS})")
    p.add_argument("--waitress", action="store_true",
                   help="serve with waitress in this one process (the default on Windows)")
    args = p.parse_args(argv)
    if args.workers != "auto" and not (args.workers.isdigit() and 1 <= int(args.workers) <= 64):
        p.error("--workers must be 'auto' or a whole number between 1 and 64")
    if not 1 <= args.threads <= 256:
        p.error("--threads must be between 1 and 256")
    if not 0 <= args.port <= 65535:
        p.error("--port must be between 0 and 65535")
    return args


def exec_gunicorn(args: argparse.Namespace) -> None:
    """Linux, macOS: become `python -m gunicorn -c gunicorn.conf.py` (same pid, so Ctrl+C and
    SIGTERM go straight to gunicorn's arbiter)."""
    env = {**os.environ, "HOST": args.host, "PORT": str(args.port), "WORKERS": args.workers,
           "THREADS": str(args.threads)}
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")], env)


def serve_with_waitress(args: argparse.Namespace) -> None:
    """Windows: waitress, one process, `--threads` threads."""
    try:
        import waitress  # imported here: installed on Windows only (requirements.txt)
    except ImportError:
        sys.exit("waitress is not installed: pip install waitress (on Linux and macOS, use make serve)")
    if args.workers not in ("auto", "1"):
        print("note: several worker processes need gunicorn (Linux, macOS); serving with one process",
              file=sys.stderr)
    sys.path.insert(0, str(ROOT))
    from app import server

    print(f"Optimizer Race: waitress, 1 process × {args.threads} threads, listening on {args.host}:{args.port}",
          flush=True)
    waitress.serve(
        server,
        host=args.host,
        port=args.port,
        threads=args.threads,
        connection_limit=500,  # 30 browsers keep up to ~6 connections each (and < 512 sockets for select)
        max_request_body_size=4 * 1024 * 1024,  # waitress stops reading there; the app refuses > 1.5 MB with 413
        channel_timeout=60,  # idle connections close after 60 s
        clear_untrusted_proxy_headers=True,
        ident="optimizer-race",
    )


def main(argv=None) -> None:
    args = _parse(argv)
    if args.waitress or WINDOWS:
        serve_with_waitress(args)
    else:
        exec_gunicorn(args)


if __name__ == "__main__":
    main()
