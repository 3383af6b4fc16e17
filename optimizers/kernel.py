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

from .compiled import HAVE_NUMBA, compiled, plain
from .registry import OPTIMIZERS
from .rules import MAX_HYPERPARAMETERS, MAX_STATE

log = logging.getLogger(__name__)
STATE_WIDTH = 2 * MAX_STATE


class RunTable(NamedTuple):
    """What the loop needs to know of each run: its rule's index in RULES and its
    hyperparameters, (K,) and (K, MAX_HYPERPARAMETERS)."""

    kinds: np.ndarray
    hyperparameters: np.ndarray


# Every distinct rule, in registry order; the loop reaches rule k through `_query`/`_update`.
RULES = list(dict.fromkeys((spec.rule.update, spec.rule.query) for spec in OPTIMIZERS.values()))


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
        rule = OPTIMIZERS[oid].rule
        kinds[k] = RULES.index((rule.update, rule.query))
        hps[k, : len(values)] = values
    return RunTable(kinds, hps)


@compiled(cache=False)  # it calls the generated dispatch, which has no file to cache from
def _loop(gradient, kinds, hps, start, steps, noise, first, state, out, trace_g, trace_s):
    """Run by run, step by step, each run's state in registers; every array is run-major (run
    k's steps are contiguous), so a run touches consecutive memory. state[k] holds quantity j on
    coordinate c at [2j + c]."""
    K = kinds.shape[0]
    noisy = noise.shape[0] > 0
    record = trace_g.shape[0] > 0
    for k in range(K):
        kind = kinds[k]
        h0, h1, h2, h3, h4 = hps[k, 0], hps[k, 1], hps[k, 2], hps[k, 3], hps[k, 4]
        ax, ay, bx, by, cx, cy = state[k, 0], state[k, 1], state[k, 2], state[k, 3], state[k, 4], state[k, 5]
        x, y = start[k, 0], start[k, 1]
        out[k, 0, 0], out[k, 0, 1] = x, y
        for i in range(steps):
            qx = _query(kind, x, ax, bx, cx, h0, h1, h2, h3, h4)
            qy = _query(kind, y, ay, by, cy, h0, h1, h2, h3, h4)
            gx, gy = gradient(qx, qy)
            if noisy:
                gx += noise[k, i, 0]
                gy += noise[k, i, 1]
            t = first[k] + i + 1
            dx, ax, bx, cx = _update(kind, x, gx, ax, bx, cx, h0, h1, h2, h3, h4, t)
            dy, ay, by, cy = _update(kind, y, gy, ay, by, cy, h0, h1, h2, h3, h4, t)
            x = x - dx
            y = y - dy
            out[k, i + 1, 0], out[k, i + 1, 1] = x, y
            if record:
                trace_g[k, i, 0], trace_g[k, i, 1] = gx, gy
                trace_s[k, i, 0], trace_s[k, i, 1], trace_s[k, i, 2] = ax, ay, bx
                trace_s[k, i, 3], trace_s[k, i, 4], trace_s[k, i, 5] = by, cx, cy
        state[k, 0], state[k, 1], state[k, 2], state[k, 3], state[k, 4], state[k, 5] = ax, ay, bx, by, cx, cy


STATES = ("grad", "state")  # what a trace records: the gradient used, then the state after it
_NOTHING = np.empty((0, 0, 0))


def integrate(gradients, start, steps: int, table: RunTable, noise_table=None, trace=None, first_step=0,
              state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Iterates of K runs, (steps + 1, 2, K) with [0] the start, and each run's state after the
    last step, (K, STATE_WIDTH). Iterates may hold non-finite values where a run blew up (the
    caller finds them).

    `gradients` is a list of (gradient, columns): `gradient(x, y)` is a surface's compiled
    scalar gradient (Surface.scalar_grad) for the runs in the slice `columns`, so runs on
    different surfaces share one call. `start` is one (x, y) for every run or a (2, K) array.
    `noise_table[t]` (2, K) is added to the gradient at step t (SPEC §3). A dict passed as
    `trace` receives "grad" (steps, 2, K), the gradient used by update t + 1, and "state"
    (steps, STATE_WIDTH, K), the state after it.

    To go on with runs, pass their last iterate as `start`, their `state` and `first_step`, the
    steps taken so far, one number or (K,); `noise_table` then starts at that step. The result
    is the same, bit for bit, as one longer call."""
    K = len(table.kinds)
    out = np.empty((steps + 1, 2, K))
    begin = np.broadcast_to(np.reshape(np.asarray(start, dtype=float), (2, -1)), (2, K)).T
    first = np.broadcast_to(np.asarray(first_step, dtype=np.int64), (K,))
    state = np.zeros((K, STATE_WIDTH)) if state is None else np.array(state, dtype=float)
    if trace is not None:
        trace.update(grad=np.empty((steps, 2, K)), state=np.empty((steps, STATE_WIDTH, K)))
    for gradient, columns in gradients:
        # a gradient numba could not compile (Surface.scalar_grad says why) runs uncompiled
        loop = _loop if HAVE_NUMBA and hasattr(gradient, "py_func") else plain(_loop)
        cols = np.arange(K)[columns]
        n = len(cols)
        part = np.empty((n, steps + 1, 2))  # run-major inside the loop, step-major outside
        part_state = np.ascontiguousarray(state[cols])
        traced = [np.empty((n, steps, 2)), np.empty((n, steps, STATE_WIDTH))] if trace is not None \
            else [_NOTHING, _NOTHING]
        noise = np.ascontiguousarray(noise_table[:, :, cols].transpose(2, 0, 1)) if noise_table is not None \
            else _NOTHING
        loop(gradient, np.ascontiguousarray(table.kinds[cols]), np.ascontiguousarray(table.hyperparameters[cols]),
             np.ascontiguousarray(begin[cols]), steps, noise, np.ascontiguousarray(first[cols]), part_state, part,
             *traced)
        out[:, :, cols] = part.transpose(1, 2, 0)
        state[cols] = part_state
        if trace is not None:
            trace["grad"][:, :, cols] = traced[0].transpose(1, 2, 0)
            trace["state"][:, :, cols] = traced[1].transpose(1, 2, 0)
    return out, state
