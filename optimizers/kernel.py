"""The loop over steps, compiled: every run of a race or a sweep steps its own rule (rules.py)
over its own columns, one coordinate at a time, in plain arithmetic.

A run is (rule, hyperparameters); the loop reaches each rule through a dispatch generated from
the registry, so one compiled loop serves every optimizer, and a new rule needs no change here. Runs never interact,
so the loop goes run by run: each run's state lives in a few registers and one small row.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

from .compiled import HAVE_NUMBA, compiled, compiled_function, plain
from .registry import ALL_OPTIMIZERS
from .rules import MAX_HYPERPARAMETERS, MAX_STATE

log = logging.getLogger(__name__)
STATE_WIDTH = 2 * MAX_STATE


class RunTable(NamedTuple):
    """What the loop needs to know of each run: its rule's index in RULES and its
    hyperparameters, (K,) and (K, MAX_HYPERPARAMETERS)."""

    kinds: np.ndarray
    hyperparameters: np.ndarray


# Every distinct rule, in registry order (the nine, then the extras); the loop reaches rule k
# through `_query`/`_update`.
RULES = list(dict.fromkeys((spec.rule.update, spec.rule.query) for spec in ALL_OPTIMIZERS.values()))


def _dispatch(name: str, arguments: str, functions: list):
    """A compiled `name(kind, *arguments)` that calls functions[kind](*arguments): a chain of
    ifs, generated from RULES so that adding an optimizer needs no change here. (A tuple of
    first-class functions would do the same, but numba types such an argument anew on every
    call, which costs a millisecond.)"""
    lines = [f"def {name}(kind, {arguments}):"]
    lines += [f"    if kind == {k}:\n        return F{k}({arguments})" for k in range(len(functions) - 1)]
    lines.append(f"    return F{len(functions) - 1}({arguments})")
    scope = {f"F{k}": fn for k, fn in enumerate(functions)}
    exec("\n".join(lines), scope)  # noqa: S102 - our own text, built from the registry
    return compiled(cache=False)(scope[name])


_HP = "h0, h1, h2, h3, h4"
_query = _dispatch("query", f"theta, a, b, c, {_HP}", [q for _, q in RULES])
_update = _dispatch("update", f"theta, g, a, b, c, {_HP}, t", [u for u, _ in RULES])


def run_table(runs) -> RunTable:
    """`runs` as (optimizer id, its hyperparameter values in `defaults` order)."""
    kinds = np.empty(len(runs), dtype=np.int64)
    hps = np.zeros((len(runs), MAX_HYPERPARAMETERS))
    for k, (oid, values) in enumerate(runs):
        rule = ALL_OPTIMIZERS[oid].rule
        kinds[k] = RULES.index((rule.update, rule.query))
        hps[k, : len(values)] = values
    return RunTable(kinds, hps)


@compiled(cache=False)
def _no_mean_loss(w, b, examples, expansion):
    return 0.0


@compiled(cache=False)
def _no_batch_gradient(w, b, examples, expansion, orders, batch, step):
    return 0.0, 0.0


@compiled(cache=False)
def _no_loss_and_gradient(w, b, examples, expansion):
    return 0.0, 0.0, 0.0


# Not cached on disk: numba would key the cache on this file alone, and keep running old rules
# after rules.py or the registry changed. So it is compiled once per process (webapp.race.warm_up
# does it at start-up), and once more per data model (numba specialises the loop for each
# model's functions, so they are inlined); nogil: requests race in threads at once.
@compiled(cache=False, nogil=True)
def _loop(loss, grad_x, grad_y, mean_loss, batch_gradient, loss_and_gradient, examples, expansion, orders,
          batches, kinds, hps, start, run_steps, noise, lr_factors, state, out, losses, trace_g, trace_s):
    """Run by run, step by step, each run's state in registers; every array is run-major (run
    k's steps are contiguous), so a run touches consecutive memory. state[k] is scratch for
    run k's final state (quantity j on coordinate i at [2j + i]).

    On a surface, the loss and gradient are `loss`, `grad_x`, `grad_y` (plus `noise[k, i]`); on
    a data surface (`examples` not empty) they are the mean over the examples (`mean_loss`) and
    the mean over the step's batch of `batches[k]` examples (`batch_gradient`). A run that sees
    every example and takes its gradient where it stands (all but Nesterov) gets the loss of
    its new point and the gradient there in one pass (`loss_and_gradient`): the same sums, half
    the passes. Run k takes `run_steps[k]` steps and then stays where it is. With a schedule
    (`lr_factors` not empty), every run's h0, its η, is multiplied by lr_factors[i] at its own
    step i (0-based), in the query and the update alike."""
    K = kinds.shape[0]
    data = examples.shape[1] > 0
    noisy = noise.shape[0] > 0
    record = trace_g.shape[0] > 0
    scheduled = lr_factors.shape[0] > 0
    for k in range(K):
        kind = kinds[k]
        h0, h1, h2, h3, h4 = hps[k, 0], hps[k, 1], hps[k, 2], hps[k, 3], hps[k, 4]
        ax, ay, bx, by, cx, cy = state[k, 0], state[k, 1], state[k, 2], state[k, 3], state[k, 4], state[k, 5]
        x, y = start[k, 0], start[k, 1]
        out[k, 0, 0], out[k, 0, 1] = x, y
        # fused: the gradient at (x, y) was computed with its loss (a full-batch run whose last
        # query was where it stood; a Nesterov run stops fusing after its first look-ahead)
        fused = data and batches[k] >= examples.shape[1]
        fx, fy = 0.0, 0.0
        if fused:
            losses[k, 0], fx, fy = loss_and_gradient(x, y, examples, expansion)
        else:
            losses[k, 0] = mean_loss(x, y, examples, expansion) if data else loss(x, y)
        own = run_steps[k]
        for i in range(own):
            eta = h0 * lr_factors[i] if scheduled else h0
            qx = _query(kind, x, ax, bx, cx, eta, h1, h2, h3, h4)
            qy = _query(kind, y, ay, by, cy, eta, h1, h2, h3, h4)
            if data:
                if fused and qx == x and qy == y:
                    gx, gy = fx, fy
                else:
                    fused = False
                    gx, gy = batch_gradient(qx, qy, examples, expansion, orders, batches[k], i)
            else:
                gx, gy = grad_x(qx, qy), grad_y(qx, qy)
            if noisy:
                gx += noise[k, i, 0]
                gy += noise[k, i, 1]
            t = i + 1
            dx, ax, bx, cx = _update(kind, x, gx, ax, bx, cx, eta, h1, h2, h3, h4, t)
            dy, ay, by, cy = _update(kind, y, gy, ay, by, cy, eta, h1, h2, h3, h4, t)
            x = x - dx
            y = y - dy
            out[k, i + 1, 0], out[k, i + 1, 1] = x, y
            if fused:
                losses[k, i + 1], fx, fy = loss_and_gradient(x, y, examples, expansion)
            else:
                losses[k, i + 1] = mean_loss(x, y, examples, expansion) if data else loss(x, y)
            if record:
                trace_g[k, i, 0], trace_g[k, i, 1] = gx, gy
                trace_s[k, i, 0], trace_s[k, i, 1], trace_s[k, i, 2] = ax, ay, bx
                trace_s[k, i, 3], trace_s[k, i, 4], trace_s[k, i, 5] = by, cx, cy
        for i in range(own, out.shape[1] - 1):  # its budget spent (clock in examples): it waits
            out[k, i + 1, 0], out[k, i + 1, 1] = x, y
            losses[k, i + 1] = losses[k, own]
        state[k, 0], state[k, 1], state[k, 2], state[k, 3], state[k, 4], state[k, 5] = ax, ay, bx, by, cx, cy


STATES = ("grad", "state")


def _unused(a, b):
    return 0.0


# What the loop's surface arguments get on a data surface (it never calls them there).
_UNUSED_SURFACE = (compiled_function(_unused),) * 3  # what a trace records: the gradient used, then the state after it
_NOTHING = np.empty((0, 0, 0))
_NO_SCHEDULE = np.empty(0)
_NO_EXAMPLES = np.empty((2, 0))
_NO_EXPANSION = np.empty(0)
_NO_ORDERS = np.empty((0, 0), dtype=np.int32)


class Batches(NamedTuple):
    """How a data surface's runs draw their examples: `sizes[k]` examples per step for run k
    (N or more: all of them, in stored order), slices of `orders[epoch]`, the epoch's shuffle."""

    sizes: np.ndarray  # (K,) int64
    orders: np.ndarray  # (epochs, N) int32


def integrate(surface, start, steps: int, table: RunTable, noise_table=None, trace=None, batches=None,
              run_steps=None, lr_factors=None):
    """Iterates of K runs, (steps + 1, 2, K) with [0] the start, and their losses (steps + 1, K);
    both may hold non-finite values where a run blew up (the caller finds them).

    The loop calls the surface's compiled loss and gradient (Surface.scalar_functions), or on a
    data surface its model's functions over its examples, drawn as `batches` says. `start` is
    one (x, y) for every run. `noise_table[t]` (2, K) is added to the gradient at step t (SPEC
    §3). `run_steps` (K,) stops run k after its own number of steps (default: all `steps`); it
    then stays put. A dict passed as `trace` receives "grad" (steps, 2, K), the gradient used by
    update t + 1, and "state" (steps, STATE_WIDTH, K), the state after it (quantity j of a rule
    on coordinate i at row 2j + i). `lr_factors` (at least `steps` numbers, schedules.py)
    multiplies every run's η at each of its own steps: ηₜ = η·lr_factors[t − 1]; None keeps η
    constant (and the loop multiplies nothing)."""
    K = len(table.kinds)
    # Every array the loop takes is C-contiguous and writeable: numba compiles the loop once per
    # argument type, and a read-only or strided array is another type (half a second each time).
    factors = _NO_SCHEDULE if lr_factors is None else np.require(lr_factors, dtype=float, requirements=["C", "W"])
    if lr_factors is not None and (factors.ndim != 1 or len(factors) < steps):
        raise ValueError(f"lr_factors must be one number per step ({steps}), not shape {factors.shape}")
    own = np.full(K, steps, dtype=np.int64) if run_steps is None else np.require(run_steps, np.int64, ["C", "W"])
    begin = np.ascontiguousarray(np.broadcast_to(np.asarray(start, dtype=float), (K, 2)))
    out = np.empty((K, steps + 1, 2))  # run-major inside the loop, step-major outside
    losses = np.empty((K, steps + 1))
    traced = [np.zeros((K, steps, 2)), np.zeros((K, steps, STATE_WIDTH))] if trace is not None else [_NOTHING] * 2
    noise = np.ascontiguousarray(noise_table.transpose(2, 0, 1)) if noise_table is not None else _NOTHING
    examples = getattr(surface, "examples", None)
    if examples is not None:  # a data surface (surfaces/data.py)
        functions = _UNUSED_SURFACE
        fns = surface.functions
        model = (fns.mean_loss, fns.batch_gradient, fns.loss_and_gradient)
        data = (examples, surface.expansion, batches.orders, np.asarray(batches.sizes, dtype=np.int64))
    else:
        functions = surface.scalar_functions
        model = (_no_mean_loss, _no_batch_gradient, _no_loss_and_gradient)
        data = (_NO_EXAMPLES, _NO_EXPANSION, _NO_ORDERS, np.zeros(K, dtype=np.int64))
    # a surface numba could not compile (Surface.scalar_functions says why) runs uncompiled
    compiled = HAVE_NUMBA and all(hasattr(fn, "address") for fn in functions)
    loop = _loop if compiled else plain(_loop)
    loop(*functions, *model, *data, table.kinds, table.hyperparameters, begin, own, noise, factors,
         np.zeros((K, STATE_WIDTH)), out, losses, *traced)
    if trace is not None:
        trace.update(grad=traced[0].transpose(1, 2, 0), state=traced[1].transpose(1, 2, 0))
    return out.transpose(1, 2, 0), losses.T
