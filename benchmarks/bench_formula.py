"""Benchmark: a typed formula's first race in a fresh server process, its loss and gradient
compiled in the server itself (numba, holding the GIL: the fall-back, and what every formula did
before) against compiled by the formula's worker process and loaded from numba's disk cache
(surfaces/formula/native.py), with that cache empty and with the formula already in it.

Each measurement is a fresh process that first does what a server does at start-up (the engine
compiled on a built-in surface, the formula workers started), then, with a thread ticking every
millisecond beside it, makes the surface and runs a 500-step race of the nine optimizers. It
reports the wait from formula to race, the server process's CPU time over it, and the longest
the ticking thread was held up (a stall every request of that process would share). The modes
run interleaved, round by round; medians and ratios are printed. Run:

    python -m benchmarks.bench_formula [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMULAS = {
    "Himmelblau + sin(xy)": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2 + sin(x*y)",
    "a large one": "(" + " + ".join(f"sin({k}*x + y^{k % 5 + 1})*exp(-{k}*x^2)" for k in range(1, 5)) + ")^2",
}
MODES = {
    "in the server": "numba compiles in the server process (as before)",
    "worker, new": "the worker compiles; the server loads from the cache",
    "worker, cached": "the formula was compiled before: both load from the cache",
}


def child(mode: str, formula: str) -> dict:
    """One measurement, in this (fresh) process."""
    sys.path.insert(0, str(ROOT))
    from optimizers import rollout
    from surfaces import get_surface, surface_from_formula
    from surfaces.formula import native, warm_up

    if mode == "in the server":
        native.cache_directory = lambda: None
    rollout(get_surface("bowl"), steps=2)  # a server's start-up: the engine's loop, compiled
    warm_up()
    surface_from_formula("x^2 + y^2")  # and a formula worker, started

    gaps, stop = [0.0], threading.Event()

    def tick():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    time.sleep(0.05)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = rollout(surface_from_formula(formula), steps=500)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    except ValueError as refusal:  # past the time limit, on a busy machine
        return {"refused": str(refusal)}
    finally:
        stop.set()
        ticker.join()
    assert result.losses.shape == (9, 501)
    return {"wait": wall, "cpu": cpu, "stall": max(gaps)}


def measure(mode: str, formula: str, cache_home: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": cache_home}
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_formula", "--child", mode, formula],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FORMULA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    samples = {(name, mode): [] for name in FORMULAS for mode in MODES}
    for _ in range(args.rounds):
        for name, formula in FORMULAS.items():
            with tempfile.TemporaryDirectory() as cache_home:  # an empty cache, then the same one
                for mode in MODES:
                    if mode == "worker, cached" and "refused" in samples[name, "worker, new"][-1]:
                        continue  # nothing was cached
                    samples[name, mode].append(measure(mode, formula, cache_home))

    print(f"a typed formula's first race (500 steps, nine optimizers) in a fresh server process, "
          f"{args.rounds} interleaved rounds, medians of the races run:")
    for mode, meaning in MODES.items():
        print(f"  {mode:15s} {meaning}")
    for name in FORMULAS:
        print(f"\n{name}:  {'formula → race':>15s} {'server CPU':>11s} {'longest stall':>14s}")
        raced = {mode: [s for s in samples[name, mode] if "refused" not in s] for mode in MODES}
        if not all(raced.values()):
            print("  (every round refused in some mode: no comparison)")
            continue
        median = {mode: {k: statistics.median(s[k] for s in raced[mode]) for k in ("wait", "cpu", "stall")}
                  for mode in MODES}
        for mode in MODES:
            m, refused = median[mode], len(samples[name, mode]) - len(raced[mode])
            print(f"  {mode:15s} {1e3 * m['wait']:12.0f} ms {1e3 * m['cpu']:8.0f} ms {1e3 * m['stall']:11.0f} ms"
                  + (f"   ({refused} of {len(samples[name, mode])} refused as too slow)" if refused else ""))
        before = median["in the server"]
        for mode in list(MODES)[1:]:
            after = median[mode]
            print(f"  in the server / {mode}: wait {before['wait'] / after['wait']:5.2f}×, "
                  f"server CPU {before['cpu'] / after['cpu']:5.2f}×, stall {before['stall'] / after['stall']:5.2f}×")


if __name__ == "__main__":
    main()
