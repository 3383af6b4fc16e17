"""Engine benchmark (SPEC §6): the compiled nine-optimizer rollout and a 64-value sweep, per
run-step, and, when PyTorch is installed, against the same work done with torch.optim.

Timings are taken side by side in one process, interleaved round by round, and reported as
medians and ratios, since absolute times on a shared machine are noise. Run:

    python -m benchmarks.bench_engine [--steps 500] [--rounds 15]

PyTorch is optional and never a requirement (pip install torch==2.13.0 to compare).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import interleaved, median_ms  # noqa: E402
from optimizers import OPTIMIZERS, rollout, sweep  # noqa: E402
from optimizers.torch_reference import torch_optimizer  # noqa: E402
from surfaces import get_surface  # noqa: E402

SURFACE = "rosenbrock"
LR = 1e-3  # one learning rate for every optimizer but AdaDelta (η = 1): a fair, stable race


def race_settings() -> dict:
    return {oid: {"lr": LR} for oid in OPTIMIZERS if oid != "adadelta"}


def torch_rollout(surface, steps: int, settings: dict):
    """The same nine runs with torch.optim: one parameter tensor per optimizer, its gradient set
    from the surface's SymPy gradient (all nine evaluated in one vectorised call per step, as
    our engine does), then `optimizer.step()`. Returns the iterates, (9, steps + 1, 2)."""
    import torch

    torch.set_default_dtype(torch.float64)
    hp = {oid: {**spec.defaults, **settings.get(oid, {})} for oid, spec in OPTIMIZERS.items()}
    params = [torch.tensor(surface.start, requires_grad=True) for _ in OPTIMIZERS]
    opts = [torch_optimizer(oid, p, hp[oid]) for oid, p in zip(OPTIMIZERS, params)]
    out = np.empty((len(params), steps + 1, 2))
    with torch.no_grad():
        stacked = torch.stack(params)
        out[:, 0] = stacked.numpy()
        for t in range(steps):
            gx, gy = surface.grad(stacked[:, 0].numpy(), stacked[:, 1].numpy())
            grads = torch.from_numpy(np.stack([gx, gy], axis=1))
            for p, opt, g in zip(params, opts, grads):
                p.grad = g
                opt.step()
            stacked = torch.stack(params)
            out[:, t + 1] = stacked.numpy()
    return out


def check_torch_agrees(ours, theirs, gamma: float) -> float:
    """Largest relative gap between our iterates and torch's. Torch's Nesterov iterate is our
    look-ahead point θ − γ·v = (1 + γ)·θ_k − γ·θ_(k−1)."""
    nag = list(OPTIMIZERS).index("nag")
    ours = ours.copy()
    ours[nag, 1:] = (1 + gamma) * ours[nag, 1:] - gamma * ours[nag, :-1]
    return float(np.max(np.abs(ours - theirs) / (1 + np.abs(theirs))))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    surface = get_surface(SURFACE)
    settings = race_settings()
    values = np.logspace(-5, 1, 64)
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False

    jobs = {
        "rollout (9 × steps)": lambda: rollout(surface, steps=args.steps, settings=settings),
        "sweep (9 × 64 lr × steps)": lambda: sweep(
            surface, steps=args.steps, param="lr", values=values, settings=settings
        ),
    }
    if have_torch:
        jobs["torch.optim (9 × steps)"] = lambda: torch_rollout(surface, args.steps, settings)
    times, _ = interleaved(jobs, args.rounds)  # warm-up: imports, lambdify caches, torch dispatch

    print(f"surface {SURFACE}, {args.steps} steps, {args.rounds} interleaved rounds, medians:")
    for name, samples in times.items():
        print(f"  {name:28s} {median_ms(samples):9.2f} ms")
    base = statistics.median(times["rollout (9 × steps)"])
    swept = statistics.median(times["sweep (9 × 64 lr × steps)"])
    print(f"sweep / rollout           = {swept / base:6.2f}×   (64× the runs)")
    print(f"per run-step: rollout {1e9 * base / (9 * args.steps):5.1f} ns, "
          f"sweep {1e9 * swept / (9 * 64 * args.steps):5.1f} ns (loop, divergence and arrival included)")
    if have_torch:
        speedup = statistics.median(times["torch.optim (9 × steps)"]) / base
        # Agreement is checked on the well-conditioned bowl: on Rosenbrock's narrow valley
        # a last-bit rounding difference grows by orders of magnitude within a few hundred steps.
        bowl = get_surface("bowl")
        gap = check_torch_agrees(
            rollout(bowl, steps=args.steps, settings=settings).paths,
            torch_rollout(bowl, args.steps, settings),
            OPTIMIZERS["nag"].defaults["gamma"],
        )
        print(f"torch.optim / rollout     = {speedup:6.2f}×   (bar: ≥ 150×)")
        # torch.optim steps each run on its own: 576 runs cost 64 times the nine of one race
        print(f"torch.optim (576 runs) / sweep = {64 * statistics.median(times['torch.optim (9 × steps)']) / swept:6.2f}×"
              "   (bar: ≥ 150×; torch's time is 64× its nine-run race)")
        print(f"largest relative gap to torch's iterates on the bowl: {gap:.2e}")
    else:
        print("torch.optim comparison skipped: PyTorch is not installed (pip install torch==2.13.0)")


if __name__ == "__main__":
    main()
