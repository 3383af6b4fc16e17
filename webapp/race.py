"""From the controls' values to a race: shared sliders, per-optimizer overrides, one rollout."""

from __future__ import annotations

from optimizers import OPTIMIZERS, rollout
from surfaces import Surface

from .controls import HYPERPARAMETER_SLIDERS
from .payload import race_payload

# AdaDelta's η = 1 and ε = 1e-6 belong to the rule (it needs no learning rate, and its ε sets
# the size of its first steps): the shared η and ε sliders leave them alone; the per-optimizer
# panel can still override them.
KEEPS_OWN = {"adadelta": {"lr", "eps"}}


def race_settings(shared: dict[str, float], overrides: dict[str, dict[str, float]]) -> dict:
    """Every optimizer's hyperparameters: a shared slider's value where the optimizer has that
    hyperparameter (unless it keeps its own), then the optimizer's overrides on top."""
    settings = {}
    for oid, spec in OPTIMIZERS.items():
        own = KEEPS_OWN.get(oid, set())
        hp = {k: shared[k] for k in spec.defaults if k in shared and k not in own}
        hp.update(overrides.get(oid, {}))
        settings[oid] = hp
    return settings


def run_race(surface: Surface, start, shared: dict, overrides: dict, steps: int, noise: float,
             batch_size: int, seed: int) -> dict:
    """The browser payload of one race of all nine optimizers."""
    shared = {k: v for k, v in shared.items() if k in HYPERPARAMETER_SLIDERS}
    result = rollout(
        surface, start=start, steps=steps, settings=race_settings(shared, overrides),
        noise=noise, batch_size=batch_size, seed=seed,
    )
    return race_payload(result, surface)
