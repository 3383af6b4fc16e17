"""Live numbers: what each optimizer computed at one update, named as in its rule.

For update k (θ_(k−1) → θ_k) of a race run with `record_states=True`: the gradient g it used,
its state after the update (momentum buffer, accumulated squares, moments) and the effective learning
rate per coordinate, −Δθ/g: the step it actually took per unit of gradient.
"""

from __future__ import annotations

import math

import numpy as np

from .engine import RolloutResult
from .registry import ALL_OPTIMIZERS


def _pair(values) -> list:
    return [float(v) if math.isfinite(v) else None for v in values]


def _position_after(result: RolloutResult, i: int, update: int) -> np.ndarray:
    """Optimizer i's iterate after its `update`-th step (rows are examples on that clock)."""
    if result.steps_taken is None:
        return result.paths[i, update]
    return result.paths[i, int(np.searchsorted(result.steps_taken[i], update))]


def _lr_of(result: RolloutResult, lr: float, update: int) -> float:
    """The η that update `update` (from 1) used: η times its schedule's factor."""
    return lr * float(result.lr_factors[update - 1]) if result.lr_factors is not None else lr


def live_numbers(result: RolloutResult, step: int) -> dict:
    """The numbers behind update `step` (clamped to 1 … steps) for every optimizer; a diverged
    run shows its last valid update. On the clock in examples, `step` is a row (examples
    processed) and each optimizer shows its own latest update there. JSON-safe: non-finite
    values become None."""
    if result.states is None:
        raise ValueError("live numbers need a rollout run with record_states=True")
    k = min(max(int(step), 1), result.steps)
    rows = []
    for i, oid in enumerate(result.names):
        last = result.diverged_at[i] - 1 if result.diverged_at[i] >= 0 else result.steps
        ki = max(result.step_at(i, min(k, last)), 1)
        g = result.states["grad"][i, ki - 1]
        moved = _position_after(result, i, ki) - _position_after(result, i, ki - 1)
        with np.errstate(all="ignore"):
            effective = np.where(np.abs(g) > 1e-300, -moved / g, np.nan)
        state = result.states["state"][i, ki - 1]  # quantity j of the rule at [2j], [2j + 1]
        quantities = [
            {"symbol": sym, "label": label, "value": _pair(state[2 * j : 2 * j + 2])}
            for j, (sym, label) in enumerate(ALL_OPTIMIZERS[oid].rule.state)
        ]
        hp = result.settings[oid]
        if oid == "adam":  # the bias-corrected moments the step actually uses
            m, v = state[0:2], state[2:4]
            quantities += [
                {"symbol": "m̂", "label": "corrected m", "value": _pair(m / (1 - hp["beta1"] ** ki))},
                {"symbol": "v̂", "label": "corrected v", "value": _pair(v / (1 - hp["beta2"] ** ki))},
            ]
        if oid == "nag":  # where update ki + 1 takes its gradient: θ − γ·η·b with this update's η
            # (the rule's second slot), torch's iterate
            quantities.append({"symbol": "θ − γηb", "label": "look-ahead point",
                               "value": _pair(_position_after(result, i, ki) - hp["gamma"] * (state[2:4] * state[0:2]))})
        rows.append({
            "id": oid,
            "update": int(ki),
            "diverged": bool(result.diverged_at[i] >= 0 and k >= result.diverged_at[i]),
            "grad": _pair(g),
            "step": _pair(moved),
            "effective_lr": _pair(effective),
            "lr": _lr_of(result, hp["lr"], ki),  # the η this update used (its schedule's ηₜ)
            "state": quantities,
        })
    return {"update": k, "rows": rows}
