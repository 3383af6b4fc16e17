"""The benchmarks' one way of timing: every job once to warm up (compiling, caches), then
`rounds` interleaved rounds, so that a shared machine's noise falls on every job alike; figures
are medians."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def interleaved(jobs: dict[str, Callable], rounds: int) -> tuple[dict[str, list[float]], dict]:
    """({name: [seconds per round]}, {name: the warm-up call's result})."""
    warm = {name: job() for name, job in jobs.items()}
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            t0 = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - t0)
    return times, warm


def median_ms(samples: list[float]) -> float:
    return 1e3 * statistics.median(samples)
