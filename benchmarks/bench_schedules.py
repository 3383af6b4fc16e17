"""What a learning-rate schedule costs: the nine-optimizer race and a 64-value sweep, each run
with no schedule, a constant schedule (the factors passed, every η multiplied by 1.0) and a
cosine schedule, side by side in one process, interleaved round by round; medians and ratios
(absolute times on a shared machine are noise). Also the learning-rate range test. Run:

    python -m benchmarks.bench_schedules [--steps 500] [--rounds 15]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import interleaved, median_ms  # noqa: E402
from optimizers import ALL_OPTIMIZERS, rollout, sweep  # noqa: E402
from optimizers.lr_range import lr_range_test  # noqa: E402
from surfaces import get_surface  # noqa: E402

SCHEDULES = {"none": None, "constant": {"kind": "constant"}, "cosine": {"kind": "cosine", "min_factor": 0.01}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    surface = get_surface("rosenbrock")
    settings = {oid: {"lr": 1e-3} for oid in ALL_OPTIMIZERS if oid != "adadelta"}
    values = np.geomspace(1e-4, 1e-2, 64)
    work = {}
    for name, schedule in SCHEDULES.items():
        work[f"race 9 × {args.steps}, {name}"] = lambda s=schedule: rollout(
            surface, steps=args.steps, settings=settings, schedule=s)
        work[f"race 13 × {args.steps}, {name}"] = lambda s=schedule: rollout(
            surface, steps=args.steps, settings=settings, optimizers=list(ALL_OPTIMIZERS), schedule=s)
        work[f"sweep 8 × 64 × {args.steps}, {name}"] = lambda s=schedule: sweep(
            surface, steps=args.steps, param="lr", values=values, schedule=s)
    work["range test 13 × 100"] = lambda: lr_range_test(surface, optimizers=list(ALL_OPTIMIZERS))
    samples, _ = interleaved(work, args.rounds)  # warm-up: compiling
    median = {key: median_ms(v) for key, v in samples.items()}
    print(f"Rosenbrock, {args.rounds} rounds, median ms (ratio to no schedule)")
    for key, ms in median.items():
        base_key = key.rsplit(", ", 1)[0] + ", none"
        ratio = f"  ×{ms / median[base_key]:.3f}" if base_key in median and base_key != key else ""
        print(f"  {key:36s} {ms:8.3f}{ratio}")
    a = rollout(surface, steps=args.steps, settings=settings)
    b = rollout(surface, steps=args.steps, settings=settings, schedule="constant")
    print("constant schedule identical to none:", bool(np.array_equal(a.paths, b.paths)))


if __name__ == "__main__":
    main()
