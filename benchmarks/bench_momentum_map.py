"""Momentum-map benchmark: the 64 × 64 map of the ravine (4096 Momentum runs of 500 steps in one
call of the compiled loop, then the measured rates) beside one race (the nine optimizers, the
ravine's default 500 steps), and the map's parts (the loop alone, the rates from its distances).

Timings are taken side by side in one process, interleaved round by round, and reported as
medians, since absolute times on a shared machine are noise. The issue's bar: the map in under
1 s. Run:

    python -m benchmarks.bench_momentum_map [--rounds 15] [--steps 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import interleaved  # noqa: E402
from optimizers import rollout  # noqa: E402
from optimizers.momentum_map import distances, grid, momentum_map, rates_of  # noqa: E402
from surfaces import get_surface  # noqa: E402

SURFACE = "ravine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    surface = get_surface(SURFACE)
    lrs, gammas = grid(surface)
    L, G = (a.ravel() for a in np.meshgrid(lrs, gammas, indexing="ij"))
    d = distances(surface, L, G, args.steps)
    jobs = {
        "race (9 × steps)": lambda: rollout(surface, steps=args.steps),
        "momentum map (64 × 64)": lambda: momentum_map(surface, steps=args.steps),
        "  its loop (distances)": lambda: distances(surface, L, G, args.steps),
        "  its rates": lambda: rates_of(d),
    }
    times, _ = interleaved(jobs, args.rounds)  # warm-up: the compiled loop, lambdify caches

    print(f"surface {SURFACE}, {args.steps} steps, {args.rounds} interleaved rounds, medians:")
    for name, samples in times.items():
        print(f"  {name:26s} {1e3 * statistics.median(samples):9.2f} ms   (min {1e3 * min(samples):.2f})")
    race = statistics.median(times["race (9 × steps)"])
    mapped = statistics.median(times["momentum map (64 × 64)"])
    print(f"map / race = {mapped / race:6.1f}×   (455× the runs)")
    print(f"per run-step: race {1e9 * race / (9 * args.steps):5.1f} ns, map {1e9 * mapped / (4096 * args.steps):5.1f} ns")
    print(f"the map in {mapped:.3f} s   (bar: < 1 s)")


if __name__ == "__main__":
    main()
