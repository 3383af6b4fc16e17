"""Classroom load test: N simulated students against the real WSGI server, on this machine only.

    python -m benchmarks.load_test --students 40 --changes 50     # steady, then burst
    python -m benchmarks.load_test --students 5 --changes 3       # quick check
    python -m benchmarks.load_test --mode burst --rounds 10
    python -m benchmarks.load_test --url http://127.0.0.1:8050    # a server already running
    python -m benchmarks.load_test --workers 1 --threads 8        # the same server, other settings
    python -m benchmarks.load_test --server-cmd "python wsgi.py --waitress --port {port}"
    python -m benchmarks.load_test --prop explorer-visible.data=true --prop-share 0.25

By default it starts the documented server on a free 127.0.0.1 port (what `make serve` runs:
`python -m gunicorn -c gunicorn.conf.py`, with `--bind` added), waits until its workers have
warmed up (compiled the engine: their CPU falls idle, as a teacher's server is before the class
comes), and stops it at the end. Each
student is a thread with its own connections (up to six, keep-alive where the server allows it;
the callbacks that are ready together go out in parallel, as in a browser) and its own copy of
the page's state (devtools/dash_client.py builds every request from the app's own
/_dash-layout and /_dash-dependencies, so every server-side callback a change triggers is
posted, new ones included):

- page load: GET /, /_dash-layout, /_dash-dependencies, then the initial callbacks;
- steady: `--changes` changes each, a think time of `--think` seconds (±50 %, uniform) before
  each: move a random slider to a random position (70 %), pick another surface (15 %, which
  posts the surface callback, then the race with the new start and learning rate), or click
  the map for a new start (15 %); students start staggered over one think time. Any control
  can go anywhere in its range: the slider is any of the page's sliders and the position any
  point of its grid (steps 20 to 3000, σ 0 to 10, batch 1 to 256, η 1e-5 to 10, ...), the
  surface any other entry of the menu (Your formula… included), the click anywhere in the map;
- burst: `--rounds` rounds in which every student changes something at the same instant.

Reported per phase: callback requests per second, latency p50/p95/p99/max per request and per
change (what a student waits for), response sizes on the wire (the browser's Accept-Encoding),
errors (any status other than 200/204, a timeout, a body that is not strict JSON — NaN or
Infinity count — or a refusal), validation messages shown for valid input, the server's CPU
time, the time spent inside the app against the time spent queueing (from the Server-Timing
header the app adds, webapp/timing.py) and the app's CPU per kind of callback, requests per
worker process, the most connections open at the server at once (in all, and in one worker
process), how busy the machine was (Linux PSI: other work on a shared machine shows there) and
the load generator's own CPU (it shares the machine with the server it measures). Bounded: at
most `--max-requests` requests and `--max-seconds` of wall time; only loopback addresses are
accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.dash_client import CALLBACK_PATH, Callback, DashApp, HttpClient, Response, Session, require_loopback
from devtools.server import Server, free_port, gunicorn_command

HARD_MAX_STUDENTS = 200
HARD_MAX_CHANGES = 1000
HARD_MAX_REQUESTS = 100_000
HARD_MAX_SECONDS = 1800.0
RACE_OUTPUT = "race-data.data"
ACTIONS = (("slider", 0.70), ("surface", 0.15), ("click", 0.15))


# ---------------------------------------------------------------------------------------------
# server


def server_cpu_seconds(server: Server) -> float | None:
    """User + system CPU seconds of the server's live processes (None off Linux)."""
    if not os.path.isdir("/proc"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in server.pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def server_connections(server: Server) -> dict[int, int] | None:
    """Open (established) TCP connections on the server's port, per server process (Linux
    /proc only; None elsewhere)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == server.port:
                        inodes.add(fields[9])
        except (OSError, StopIteration, IndexError, ValueError):
            if table == "/proc/net/tcp":
                return None
    counts = {}
    for pid in server.pids():
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        counts[pid] = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
    return counts


def wait_until_warm(server: Server, idle_share: float = 0.05, window: float = 1.0, limit: float = 180.0) -> float | None:
    """Wait until the server's processes use less than `idle_share` of a core over `window`
    seconds: each worker compiles the engine for every built-in surface in the background after
    it answers (webapp.race.start_warm_up), as a teacher's server does before the class arrives.
    The seconds waited (None off Linux, or after `limit`)."""
    t0 = time.monotonic()
    before = server_cpu_seconds(server)
    if before is None:
        return None
    while time.monotonic() - t0 < limit:
        time.sleep(window)
        now = server_cpu_seconds(server)
        if now - before < idle_share * window:
            return time.monotonic() - t0
        before = now
    return None


class ConnectionWatch:
    """Samples the server's open connections twice a second; `peak()` gives the highest total and
    the highest count in one process since the last call."""

    def __init__(self, server: Server):
        self.server, self.total, self.per_process = server, 0, 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            counts = server_connections(self.server)
            if counts is None:
                return
            with self._lock:
                self.total = max(self.total, sum(counts.values()))
                self.per_process = max([self.per_process, *counts.values()])

    def peak(self) -> dict:
        with self._lock:
            out = {"total": self.total, "one_process": self.per_process}
            self.total = self.per_process = 0
        return out

    def stop(self) -> None:
        self._stop.set()


# ---------------------------------------------------------------------------------------------
# measurement


class Budget:
    """Hard caps on requests and wall time, shared by every student."""

    class Spent(Exception):
        pass

    def __init__(self, max_requests: int, max_seconds: float):
        self.max_requests, self.deadline = max_requests, time.monotonic() + max_seconds
        self.used = 0
        self.exhausted = ""
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.used >= self.max_requests:
                self.exhausted = f"request cap ({self.max_requests}) reached"
            elif time.monotonic() > self.deadline:
                self.exhausted = "time cap reached"
            if self.exhausted:
                raise Budget.Spent(self.exhausted)
            self.used += 1

    def sleep(self, seconds: float) -> None:
        if time.monotonic() + seconds > self.deadline:
            self.exhausted = self.exhausted or "time cap reached"
            raise Budget.Spent(self.exhausted)
        time.sleep(seconds)


@dataclass
class Sample:
    phase: str
    kind: str  # "race", "surface", ... (first output id), or "page", "layout", "dependencies"
    status: int
    seconds: float
    wire_bytes: int
    body_bytes: int
    error: str = ""
    message: bool = False  # the app showed a validation message for this (valid) input
    app_ms: float | None = None  # from the Server-Timing header (webapp/timing.py): time in the app,
    cpu_ms: float | None = None  # CPU time of the worker thread,
    worker: str = ""  # and which worker process answered


TIMING = re.compile(r"(\w+);(?:dur=([\d.]+)|desc=(\w+))")


def server_timing(resp: Response) -> dict:
    out = {}
    for name, dur, desc in TIMING.findall(resp.headers.get("server-timing", "")):
        out[name] = float(dur) if dur else desc
    return {"app_ms": out.get("app"), "cpu_ms": out.get("cpu"), "worker": str(out.get("w", ""))}


@dataclass
class Change:
    phase: str
    action: str
    seconds: float  # until every callback the change triggered has answered
    requests: int
    ok: bool
    race_seconds: float | None = None  # until the new race had arrived (what a student waits for)


def callback_kind(cb: Callback) -> str:
    first = cb.outputs[0].id
    name = first if isinstance(first, str) else json.dumps(first, sort_keys=True)
    return name.removesuffix("-data")


def check_response(resp: Response) -> tuple[str, bool]:
    """(error, shows-a-message) for a callback response."""
    if resp.status == 204:
        return "", False
    if resp.status != 200:
        return f"HTTP {resp.status}", False
    try:
        data = resp.json(strict=True)
    except ValueError as err:
        return f"bad JSON: {str(err)[:80]}", False
    if not isinstance(data, dict) or "response" not in data:
        return "no 'response' in the body", False
    messages = data["response"].get("messages", {}).get("children")
    return "", bool(messages)


class Recorder:
    def __init__(self):
        self.samples: list[Sample] = []
        self.changes: list[Change] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def add(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)
            if sample.error and len(self.failures) < 20:
                self.failures.append(f"{sample.phase}/{sample.kind}: {sample.error}")

    def add_change(self, change: Change) -> None:
        with self._lock:
            self.changes.append(change)


class ConnectionPool:
    """A browser's connections to one server: up to six keep-alive connections, one request
    at a time each (callbacks that are ready together go out in parallel)."""

    def __init__(self, url: str, timeout: float, size: int = 6):
        self.url, self.timeout = url, timeout
        self.free: list[HttpClient] = []
        self.all: list[HttpClient] = []
        self.sem = threading.Semaphore(size)
        self.lock = threading.Lock()

    def request(self, fn):
        with self.sem:
            with self.lock:
                http = self.free.pop() if self.free else None
                if http is None:
                    http = HttpClient(self.url, timeout=self.timeout)
                    self.all.append(http)
            try:
                return fn(http)
            finally:
                with self.lock:
                    self.free.append(http)

    def close(self) -> None:
        for http in self.all:
            http.close()


def explorer_request():
    """assets/race.js explorerRequest, played in Python: a new count while the explorer is on
    screen (the page asks for the explorer then), no update while it is hidden."""
    count = [0]

    def request(visible, *_settings):
        if visible is not True:
            return None
        count[0] += 1
        return count[0]

    return request


class Student:
    def __init__(self, index: int, url: str, app: DashApp, recorder: Recorder, budget: Budget,
                 seed: int, timeout: float, only=None):
        self.rng = random.Random(seed * 1000 + index)
        self.pool = ConnectionPool(url, timeout)
        self.session = Session(app, self.rng, parallel=True, only=only,
                               clientside={"race.explorerRequest": explorer_request()})
        self.recorder, self.budget = recorder, budget
        self.phase = "load"
        self.props: dict = {}

    def _get(self, path: str, kind: str) -> None:
        self.budget.take()
        try:
            resp = self.pool.request(lambda http: self._guard(http, http.get, path))
        except OSError as err:
            self.recorder.add(Sample(self.phase, kind, 0, 0.0, 0, 0, f"{type(err).__name__}: {err}"))
            return
        error = "" if resp.status == 200 else f"HTTP {resp.status}"
        self.recorder.add(Sample(self.phase, kind, resp.status, resp.seconds, resp.wire_bytes, len(resp.body), error))

    def send(self, cb: Callback, body: dict) -> Response:
        self.budget.take()
        kind = callback_kind(cb)
        t0 = time.perf_counter()
        try:
            resp = self.pool.request(lambda http: self._guard(http, http.post_json, CALLBACK_PATH, body))
        except OSError as err:  # timeouts and refused connections are errors, not crashes
            self.recorder.add(Sample(self.phase, kind, 0, time.perf_counter() - t0, 0, 0,
                                     f"{type(err).__name__}: {err}"))
            return Response(0, {}, b"", 0, time.perf_counter() - t0)
        error, message = check_response(resp)
        self.recorder.add(Sample(self.phase, kind, resp.status, resp.seconds, resp.wire_bytes,
                                 len(resp.body), error, message, **server_timing(resp)))
        if error:
            return Response(resp.status, resp.headers, b"", resp.wire_bytes, resp.seconds)
        return resp

    @staticmethod
    def _guard(http: HttpClient, fn, *args) -> Response:
        try:
            return fn(*args)
        except OSError:
            http.close()  # a fresh connection next time
            raise

    def open_page(self) -> None:
        self.phase = "load"
        self.session.values.update(self.props)  # e.g. a panel this student keeps on screen
        self._get("/", "page")
        self._get("/_dash-layout", "layout")
        self._get("/_dash-dependencies", "dependencies")
        self.session.load(self.send)

    def one_change(self, phase: str) -> None:
        self.phase = phase
        r, acc = self.rng.random(), 0.0
        action = ACTIONS[-1][0]
        for name, weight in ACTIONS:
            acc += weight
            if r < acc:
                action = name
                break
        changes = {"slider": self.session.random_slider_change,
                   "surface": self.session.random_surface_change,
                   "click": self.session.random_start_click}[action]()
        t0 = time.perf_counter()
        steps = self.session.change(changes, self.send)
        seconds = time.perf_counter() - t0
        ok = all(s.response.status in (200, 204) for s in steps)
        race = [s.finished - t0 for s in steps if s.callback.has_output(RACE_OUTPUT)]
        self.recorder.add_change(Change(phase, action, seconds, len(steps), ok, max(race) if race else None))

    def close(self) -> None:
        self.pool.close()


def run_students(n: int, target, name: str) -> None:
    threads = [threading.Thread(target=target, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def steady(url: str, app: DashApp, args, recorder: Recorder, budget: Budget) -> float:
    """Every student opens the page, then makes `changes` changes with think time between."""

    def student(i: int) -> None:
        s = Student(i, url, app, recorder, budget, args.seed, args.timeout, args.only_filter)
        s.props = args.props if i < round(args.prop_share * args.students) else {}
        try:
            budget.sleep(s.rng.uniform(0, args.think))  # students arrive over one think time
            s.open_page()
            for _ in range(args.changes):
                budget.sleep(args.think * s.rng.uniform(0.5, 1.5))
                s.one_change("steady")
        except Budget.Spent:
            pass
        finally:
            s.close()

    t0 = time.perf_counter()
    run_students(args.students, student, "steady")
    return time.perf_counter() - t0


def burst(url: str, app: DashApp, args, recorder: Recorder, budget: Budget) -> tuple[float, list[float]]:
    """Every student has the page open; in each round all of them change something at once."""
    students = [Student(i, url, app, recorder, budget, args.seed + 7, args.timeout, args.only_filter)
                for i in range(args.students)]
    for i, s in enumerate(students):
        s.props = args.props if i < round(args.prop_share * args.students) else {}
    go = threading.Barrier(args.students + 1)
    done = threading.Barrier(args.students + 1)
    stop = threading.Event()

    def student(i: int) -> None:
        s = students[i]
        try:
            s.open_page()
        except Budget.Spent:
            stop.set()
        for _ in range(args.rounds):
            try:
                go.wait(timeout=args.timeout * 4)
            except threading.BrokenBarrierError:
                return
            try:
                if not stop.is_set():
                    s.one_change("burst")
            except Budget.Spent:
                stop.set()
            try:
                done.wait(timeout=args.timeout * 4)
            except threading.BrokenBarrierError:
                return

    threads = [threading.Thread(target=student, args=(i,), daemon=True) for i in range(args.students)]
    for t in threads:
        t.start()
    makespans = []
    t0 = time.perf_counter()
    try:
        for _ in range(args.rounds):
            budget.sleep(args.burst_pause)
            t_round = time.perf_counter()
            go.wait(timeout=args.timeout * 4)
            done.wait(timeout=args.timeout * 4)
            makespans.append(time.perf_counter() - t_round)
            if stop.is_set():
                break
    except (Budget.Spent, threading.BrokenBarrierError):
        stop.set()
        go.abort()
        done.abort()
    for t in threads:
        t.join(timeout=args.timeout * 4)
    for s in students:
        s.close()
    return time.perf_counter() - t0, makespans


# ---------------------------------------------------------------------------------------------
# report


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))
    return ordered[k]


def latency_stats(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 1), "p95_ms": round(pct(ms, 95), 1),
            "p99_ms": round(pct(ms, 99), 1), "max_ms": round(max(ms), 1),
            "mean_ms": round(statistics.fmean(ms), 1)}


def cpu_stall_us() -> int | None:
    """Linux PSI: total microseconds in which some runnable task waited for a CPU (machine-wide;
    other people's work on a shared machine shows up here)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().split("total=")[1])
    except (OSError, IndexError, ValueError):
        return None


def phase_report(phase: str, recorder: Recorder, wall: float, cpu: float | None) -> dict:
    samples = [s for s in recorder.samples if s.phase == phase]
    callbacks = [s for s in samples if s.kind not in ("page", "layout", "dependencies")]
    changes = [c for c in recorder.changes if c.phase == phase]
    kinds = sorted({s.kind for s in samples})
    report = {
        "phase": phase,
        "wall_s": round(wall, 2),
        "requests": len(samples),
        "callback_requests": len(callbacks),
        "callback_req_per_s": round(len(callbacks) / wall, 1) if wall > 0 else None,
        "errors": sum(1 for s in samples if s.error),
        "messages_for_valid_input": sum(1 for s in samples if s.message),
        "per_request": latency_stats([s.seconds for s in callbacks]),
        "per_change": latency_stats([c.seconds for c in changes]),
        "change_to_race": latency_stats([c.race_seconds for c in changes if c.race_seconds is not None]),
        "by_kind": {},
    }
    timed = [s for s in callbacks if s.app_ms is not None]
    if timed:
        workers = {}
        for s in timed:
            workers[s.worker] = workers.get(s.worker, 0) + 1
        report["server_side"] = {
            "app_ms": latency_stats([s.app_ms / 1000 for s in timed]),
            "cpu_ms": latency_stats([s.cpu_ms / 1000 for s in timed]),
            "waiting_ms": latency_stats([max(0.0, s.seconds - s.app_ms / 1000) for s in timed]),
            "requests_per_worker": sorted(workers.values(), reverse=True),
        }
    for kind in kinds:
        ks = [s for s in samples if s.kind == kind and not s.error]
        report["by_kind"][kind] = {
            **latency_stats([s.seconds for s in ks]),
            "wire_kB_mean": round(statistics.fmean([s.wire_bytes for s in ks]) / 1000, 1) if ks else None,
            "wire_kB_max": round(max((s.wire_bytes for s in ks), default=0) / 1000, 1),
            "body_kB_mean": round(statistics.fmean([s.body_bytes for s in ks]) / 1000, 1) if ks else None,
        }
        cpu_ms = [s.cpu_ms for s in ks if s.cpu_ms is not None]
        if cpu_ms:  # where the server's CPU goes: the app's CPU per request of this kind, and in all
            report["by_kind"][kind].update(app_cpu_ms_mean=round(statistics.fmean(cpu_ms), 2),
                                           app_cpu_s=round(sum(cpu_ms) / 1000, 2))
    if cpu is not None:
        report["server_cpu_s"] = round(cpu, 2)
        report["server_cores_busy"] = round(cpu / wall, 2) if wall > 0 else None
        if callbacks:
            report["server_cpu_ms_per_callback"] = round(1000 * cpu / len(callbacks), 1)
    return report


def print_report(r: dict) -> None:
    print(f"\n== {r['phase']} ==  {r['wall_s']} s wall, {r['requests']} requests "
          f"({r['callback_requests']} callbacks, {r['callback_req_per_s']} callback req/s), "
          f"errors: {r['errors']}, validation messages for valid input: {r['messages_for_valid_input']}")
    for label in ("per_request", "per_change", "change_to_race", "page_load"):
        st = r.get(label, {})
        if st.get("n"):
            print(f"  {label:<14} n={st['n']:<5} p50 {st['p50_ms']:7.1f} ms  p95 {st['p95_ms']:7.1f} ms  "
                  f"p99 {st['p99_ms']:7.1f} ms  max {st['max_ms']:7.1f} ms")
    for kind, st in r["by_kind"].items():
        if st.get("n"):
            print(f"  {kind:<14} n={st['n']:<5} p50 {st['p50_ms']:7.1f} ms  p95 {st['p95_ms']:7.1f} ms  "
                  f"max {st['max_ms']:7.1f} ms  wire {st['wire_kB_mean']:6.1f} kB mean, "
                  f"{st['wire_kB_max']:6.1f} kB max (decoded {st['body_kB_mean']:.1f} kB)"
                  + (f", app CPU {st['app_cpu_ms_mean']:.1f} ms mean, {st['app_cpu_s']:.1f} s in all"
                     if "app_cpu_s" in st else ""))
    side = r.get("server_side")
    if side:
        for label, what in (("app_ms", "in the app"), ("cpu_ms", "CPU in the app"),
                            ("waiting_ms", "queued + transfer")):
            st = side[label]
            print(f"  {what:<18} p50 {st['p50_ms']:7.1f} ms  p95 {st['p95_ms']:7.1f} ms  "
                  f"p99 {st['p99_ms']:7.1f} ms  max {st['max_ms']:7.1f} ms (server side, per callback)")
        print(f"  requests per worker process: {side['requests_per_worker']}")
    if r.get("cpu_stalled_share") is not None:
        print(f"  machine: some task was waiting for a CPU {100 * r['cpu_stalled_share']:.0f} % of the time "
              f"(Linux PSI; load average {r.get('load_average_1m')})")
    if "server_cpu_s" in r:
        print(f"  server CPU {r['server_cpu_s']} s ({r['server_cores_busy']} cores busy on average, "
              f"{r.get('server_cpu_ms_per_callback', '-')} ms per callback request)")
    if r.get("client_cpu_s") is not None:
        print(f"  the load generator's own CPU: {r['client_cpu_s']} s (on this machine too)")
    if r.get("open_connections_peak"):
        peak = r["open_connections_peak"]
        print(f"  open connections at the server: at most {peak['total']} at once, "
              f"{peak['one_process']} in one worker process (sampled twice a second)")
    if r.get("burst_rounds_s"):
        rounds = ", ".join(f"{x:.2f}" for x in r["burst_rounds_s"])
        print(f"  burst rounds: every student served in {rounds} s")


# ---------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--changes", type=int, default=50, help="changes per student in steady mode")
    p.add_argument("--think", type=float, default=1.0, help="mean think time between changes, s")
    p.add_argument("--mode", choices=("steady", "burst", "both"), default="both")
    p.add_argument("--rounds", type=int, default=5, help="burst rounds")
    p.add_argument("--burst-pause", type=float, default=1.0, help="pause before each burst round, s")
    p.add_argument("--url", help="a running server (127.0.0.1/localhost only); default: start one")
    p.add_argument("--workers", default="auto",
                   help="worker processes for the server this script starts (default: gunicorn.conf.py's)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per worker for that server (default: gunicorn.conf.py's)")
    p.add_argument("--server-cmd", help="another server command, with {host} and {port} "
                                        "(e.g. 'python wsgi.py --waitress --host {host} --port {port}')")
    p.add_argument("--only", help="post only the server-side callbacks whose outputs name one of "
                                  "these comma-separated component ids (e.g. 'race-data,surface-data'); "
                                  "default: every callback a change triggers, as the page does")
    p.add_argument("--prop", action="append", default=[], metavar="ID.PROP=JSON",
                   help="a prop to set in the page before its callbacks run, e.g. "
                        "'explorer-visible.data=true' (the explorer panel on screen); repeatable")
    p.add_argument("--prop-share", type=float, default=1.0,
                   help="the share of students whose page gets the --prop values (default all)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    p.add_argument("--max-requests", type=int, default=20_000)
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = p.parse_args(argv)
    for name, hard in (("students", HARD_MAX_STUDENTS), ("changes", HARD_MAX_CHANGES),
                       ("max_requests", HARD_MAX_REQUESTS), ("max_seconds", HARD_MAX_SECONDS),
                       ("rounds", HARD_MAX_CHANGES)):
        value = getattr(args, name)
        if not 1 <= value <= hard:
            p.error(f"--{name.replace('_', '-')} must be between 1 and {hard}")
    if not 0 <= args.think <= 60 or not 0 <= args.burst_pause <= 60:
        p.error("--think and --burst-pause must be between 0 and 60 s")
    args.props = {}
    for item in args.prop:
        key, sep, value = item.partition("=")
        try:
            args.props[key] = json.loads(value)
        except ValueError:
            sep = ""
        if not sep or "." not in key:
            p.error(f"--prop wants ID.PROP=JSON, not {item!r}")
    if not 0 <= args.prop_share <= 1:
        p.error("--prop-share must be between 0 and 1")
    args.only_filter = None
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        args.only_filter = lambda cb: any(str(o.id) in wanted for o in cb.outputs)
    if args.url:
        try:
            require_loopback(args.url)
        except ValueError as err:
            p.error(str(err))
    return args


def server_command(args, port: int) -> list[str]:
    if args.server_cmd:
        return shlex.split(args.server_cmd.format(host="127.0.0.1", port=port))
    return gunicorn_command(port, args.workers, args.threads)


def main(argv=None) -> int:
    args = parse_args(argv)
    server = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        port = free_port()
        cmd = server_command(args, port)
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"optimizer-race-load-{port}.log"
        print("starting:", " ".join(cmd), f"(log: {log_path})", flush=True)
        server = Server(cmd, port, log_path)
        url = server.url
    reports = []
    try:
        if server:
            server.wait_ready()
            warm = wait_until_warm(server)
            print("the server's workers warmed up (compiled) in " + (f"{warm:.1f} s" if warm is not None else
                  "an unknown time (no /proc, or over 180 s)") + " after it answered; the students come now", flush=True)
        probe = HttpClient(url)
        app = DashApp.fetch(probe)
        probe.close()
        print(f"{url}: {len(app.server_callbacks)} server-side callbacks, {len(app.sliders())} sliders; "
              f"{args.students} students, mode {args.mode}", flush=True)
        recorder = Recorder()
        budget = Budget(args.max_requests, args.max_seconds)

        def cpu():
            return server_cpu_seconds(server) if server else None

        watch = ConnectionWatch(server) if server and os.path.isdir("/proc") else None

        def machine(rep: dict, stall0: int | None) -> None:
            stall1 = cpu_stall_us()
            if stall0 is not None and stall1 is not None and rep["wall_s"] > 0:
                rep["cpu_stalled_share"] = round((stall1 - stall0) / 1e6 / rep["wall_s"], 3)
            if hasattr(os, "getloadavg"):
                rep["load_average_1m"] = round(os.getloadavg()[0], 2)

        if args.mode in ("steady", "both"):
            c0, client0, stall0 = cpu(), time.process_time(), cpu_stall_us()
            wall = steady(url, app, args, recorder, budget)
            c1 = cpu()
            rep = phase_report("steady", recorder, wall, None if c0 is None else c1 - c0)
            machine(rep, stall0)
            if watch:
                rep["open_connections_peak"] = watch.peak()
            load = [x.seconds for x in recorder.samples if x.phase == "load"]
            rep["page_load"] = latency_stats(load)
            rep["errors"] += sum(1 for x in recorder.samples if x.phase == "load" and x.error)
            rep["client_cpu_s"] = round(time.process_time() - client0, 2)
            reports.append(rep)
        if args.mode in ("burst", "both") and not budget.exhausted:
            recorder.samples = [s for s in recorder.samples if s.phase != "load"]
            c0, stall0 = cpu(), cpu_stall_us()
            wall, makespans = burst(url, app, args, recorder, budget)
            c1 = cpu()
            rep = phase_report("burst", recorder, wall, None if c0 is None else c1 - c0)
            machine(rep, stall0)
            if watch:
                rep["open_connections_peak"] = watch.peak()
            rep["burst_rounds_s"] = [round(m, 3) for m in makespans]
            reports.append(rep)
        if watch:
            watch.stop()
        for rep in reports:
            print_report(rep)
        if budget.exhausted:
            print(f"\nstopped early: {budget.exhausted}")
        if recorder.failures:
            print("\nfirst errors:\n  " + "\n  ".join(recorder.failures))
        summary = {"url": url, "students": args.students, "changes": args.changes,
                   "props": args.props, "prop_share": args.prop_share, "only": args.only,
                   "think_s": args.think, "server": " ".join(server_command(args, 0)) if server else url,
                   "cpus": os.cpu_count(), "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
                   "stopped_early": budget.exhausted, "phases": reports}
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
        errors = sum(r["errors"] for r in reports)
        return 1 if errors or budget.exhausted else 0
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
