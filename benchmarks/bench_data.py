"""Data-surface benchmark: a race of the nine optimizers on a 1,000-example dataset (linear and
logistic regression), against the same work done with torch: autograd on the same batches,
torch.optim's rules, and the full-data loss after every step, as our engine records it.

Timings are taken side by side in one process, after a first call of each (our loop compiles
once per model; torch dispatches), interleaved round by round, and reported as medians and
ratios, since absolute times on a shared machine are noise. Run:

    python -m benchmarks.bench_data [--steps 500] [--rounds 9] [--batch-size 16] [--torch-threads 1]

PyTorch is optional and never a requirement (pip install torch to compare); without it only our
times are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import interleaved, median_ms  # noqa: E402
from optimizers import OPTIMIZERS, rollout  # noqa: E402
from optimizers.stochastic import epoch_orders  # noqa: E402
from optimizers.torch_reference import torch_optimizer  # noqa: E402
from surfaces import from_data  # noqa: E402
from surfaces.data import sparse_examples  # noqa: E402

N = 1000
SEED = 0
LR = {"linear": 0.05, "logistic": 0.5}  # every optimizer's but AdaDelta's (η = 1): stable on both sets


def logistic_examples(seed: int = 3, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """A seeded two-class set whose classes overlap (x ~ N(±0.75, 1)): the minimum is finite."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(float)
    return rng.normal(np.where(y == 1, 0.75, -0.75), 1.0), y


def surfaces() -> dict:
    return {
        "linear": from_data("linear", *sparse_examples(), id="bench-linear"),
        "logistic": from_data("logistic", *logistic_examples(), id="bench-logistic"),
    }


def race_settings(model: str) -> dict:
    return {oid: {"lr": LR[model]} for oid in OPTIMIZERS if oid != "adadelta"}


def ours(surface, steps: int, settings: dict, batch_size: int):
    return rollout(surface, steps=steps, settings=settings, batch_size=batch_size, seed=SEED)


def torch_race(surface, steps: int, settings: dict, batch_size: int):
    """The nine runs with torch: one parameter tensor per optimizer; each step the loss over the
    examples our engine gives that optimizer at that step (all N for GD, one for SGD, the
    epoch's slice of B for the rest), torch's own loss (½·MSELoss, BCEWithLogitsLoss), backward,
    `optimizer.step()`, then the full-data loss without gradient. Returns (iterates (9, steps +
    1, 2), losses (9, steps + 1)); Nesterov's iterate is torch's, the look-ahead point."""
    import torch

    x, y = (torch.from_numpy(np.ascontiguousarray(row)) for row in surface.examples)
    if surface.model == "linear":
        mse = torch.nn.MSELoss()

        def loss_fn(z, t):
            return 0.5 * mse(z, t)
    else:
        loss_fn = torch.nn.BCEWithLogitsLoss()
    n = surface.n_examples
    hp = {oid: {**spec.defaults, **settings.get(oid, {})} for oid, spec in OPTIMIZERS.items()}
    everything = torch.arange(n)
    paths = torch.empty((len(OPTIMIZERS), steps + 1, 2))
    losses = torch.empty((len(OPTIMIZERS), steps + 1))
    for k, (oid, spec) in enumerate(OPTIMIZERS.items()):
        size = {"full": n, "sample": 1, "batch": batch_size}[spec.gradient]
        per_epoch = -(-n // size)
        orders = torch.from_numpy(epoch_orders(SEED, -(-steps // per_epoch), n).astype(np.int64))
        p = torch.tensor(surface.start, requires_grad=True)
        opt = torch_optimizer(oid, p, hp[oid])
        with torch.no_grad():
            paths[k, 0] = p
            losses[k, 0] = loss_fn(p[0] * x + p[1], y)
        for t in range(steps):
            if size >= n:
                idx = everything
            else:
                epoch, slot = divmod(t, per_epoch)
                idx = orders[epoch, slot * size : min((slot + 1) * size, n)]
            opt.zero_grad()
            loss_fn(p[0] * x[idx] + p[1], y[idx]).backward()
            opt.step()
            with torch.no_grad():
                paths[k, t + 1] = p
                losses[k, t + 1] = loss_fn(p[0] * x + p[1], y)
    return paths.numpy(), losses.numpy()


def largest_gap(result, theirs: np.ndarray, their_losses: np.ndarray) -> tuple[float, float]:
    """Largest relative gap between our iterates and torch's, and between our losses and
    torch's (Nesterov's left out of the losses: torch's iterate is our look-ahead point
    θ − γ·v = (1 + γ)·θ_k − γ·θ_(k−1), where it takes its loss)."""
    paths = result.paths.copy()
    nag = result.names.index("nag")
    gamma = result.settings["nag"]["gamma"]
    paths[nag, 1:] = (1 + gamma) * result.paths[nag, 1:] - gamma * result.paths[nag, :-1]
    path_gap = np.max(np.abs(paths - theirs) / (1 + np.abs(theirs)))
    keep = [i for i, oid in enumerate(result.names) if oid != "nag"]
    loss_gap = np.max(np.abs(result.losses[keep] - their_losses[keep]) / (1 + np.abs(their_losses[keep])))
    return float(path_gap), float(loss_gap)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch's intra-op threads (default 1: the tensors hold 1,000 numbers at most, "
                        "and our loop runs on one core)")
    args = parser.parse_args()

    try:
        import torch

        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(args.torch_threads)
        have_torch = True
    except ImportError:
        have_torch = False

    data = surfaces()
    jobs = {}
    for model, surface in data.items():
        settings = race_settings(model)
        jobs[("ours", model)] = lambda s=surface, st=settings: ours(s, args.steps, st, args.batch_size)
        if have_torch:
            jobs[("torch", model)] = lambda s=surface, st=settings: torch_race(s, args.steps, st, args.batch_size)
    times, warm = interleaved(jobs, args.rounds)  # the first calls: our loop compiles per model

    print(f"{len(OPTIMIZERS)} optimizers × {args.steps} steps on {N} examples, batch {args.batch_size} "
          f"(GD all {N}, SGD 1), full-data loss after every step; {args.rounds} interleaved rounds, medians")
    print("  linear:   sparse_examples() (seed 7), ½(w·x + b − y)²;  "
          "logistic: x ~ N(±0.75, 1), seed 3, log(1 + e^(−s(w·x + b)))")
    if have_torch:
        print(f"  torch {torch.__version__}, float64, {torch.get_num_threads()} thread(s)")
    header = f"{'model':10s} {'ours (ms)':>10s}"
    if have_torch:
        header += f" {'torch (ms)':>11s} {'torch/ours':>11s} {'path gap':>9s} {'loss gap':>9s}"
    print(header)
    for model in data:
        base = median_ms(times[("ours", model)])
        row = f"{model:10s} {base:10.2f}"
        if have_torch:
            theirs = median_ms(times[("torch", model)])
            path_gap, loss_gap = largest_gap(warm[("ours", model)], *warm[("torch", model)])
            row += f" {theirs:11.1f} {theirs / base:10.1f}× {path_gap:9.1e} {loss_gap:9.1e}"
        print(row)
    per_step = {model: 1e9 * statistics.median(times[("ours", model)]) / (len(OPTIMIZERS) * args.steps)
                for model in data}
    print("ours per run-step (batch gradient + the loss over all examples): "
          + ", ".join(f"{model} {ns:,.0f} ns" for model, ns in per_step.items()))
    if have_torch:
        print("gaps: the largest relative difference between our iterates (losses) and torch's, over "
              "every step of the nine")
    else:
        print("torch comparison skipped: PyTorch is not installed (pip install torch to compare)")


if __name__ == "__main__":
    main()
