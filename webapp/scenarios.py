"""Ready lessons: a surface, a start and settings, and what to watch. Each is a RaceState, so a
scenario is also a link; tests check that each race does what its text says."""

from __future__ import annotations

from dataclasses import dataclass

from .state import RaceState

_PLAIN = ("gd", "sgd", "minibatch_sgd")


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    state: RaceState
    text: str


SCENARIOS: dict[str, Scenario] = {
    s.id: s
    for s in (
        Scenario(
            "lr_too_high", "Learning rate too high",
            RaceState("bowl", values={"lr": 1.1, "steps": 300}, scenario="lr_too_high"),
            "The bowl curves with λ = 2 in every direction, so plain descent is stable only for "
            "η < 2/λ = 1. At η = 1.1 every GD step overshoots the minimum by more than it was "
            "away: the error grows by |1 − 2η| = 1.2 per step and GD diverges. Momentum tolerates "
            "more; the adaptive methods take steps of about η whatever the gradient, so they "
            "bounce around the minimum instead of blowing up.",
        ),
        Scenario(
            "lr_too_low", "Learning rate too low",
            RaceState("bowl", values={"lr": 1e-3, "steps": 500}, scenario="lr_too_low"),
            "With η = 0.001 plain descent shrinks the error by only 0.2% per step: after 500 "
            "steps it is still far from the minimum. Momentum accumulates speed and gets there; "
            "RMSprop and Adam step about η per step, so they crawl too. Raise η and watch.",
        ),
        Scenario(
            "momentum_ravine", "Momentum through the ravine",
            RaceState("ravine", values={"lr": 0.15, "steps": 300}, scenario="momentum_ravine"),
            "The ravine is 50 times steeper across than along. A learning rate large enough to "
            "matter along the floor makes GD zig-zag across the steep walls while it crawls "
            "along the valley. Momentum averages the zig-zags away and keeps the speed along the "
            "floor: it arrives in about half the steps.",
        ),
        Scenario(
            "saddle_escape", "Escaping the saddle",
            RaceState("saddle", start=(-2.2, 0.0), values={"lr": 0.05, "noise": 0.3, "steps": 400},
                      scenario="saddle_escape"),
            "The start lies exactly on the ridge y = 0. GD sees the exact gradient, which has no "
            "y-component there: it slides straight into the saddle point at the origin and stays. "
            "The stochastic optimizers see noisy gradients that nudge them off the ridge; the "
            "saddle then pushes them away, down into one of the two minima.",
        ),
        Scenario(
            "rosenbrock_valley", "The Rosenbrock valley",
            RaceState("rosenbrock", values={"lr": 1e-3, "steps": 1500}, scenario="rosenbrock_valley"),
            "Everyone reaches the curved valley quickly; following its nearly flat floor to the "
            "minimum at (1, 1) is the hard part. Plain descent slows to a crawl, since the floor's "
            "gradient is tiny; momentum keeps its speed along the floor and gets there first.",
        ),
        Scenario(
            "which_minimum", "Which minimum?",
            RaceState("multi_minima", scenario="which_minimum"),
            "Four wells of different depth. From the same start the optimizers end in different "
            "wells: plain descent takes the nearest one, momentum's speed carries it over a ridge, "
            "the adaptive methods' normalised steps take them elsewhere again. None of them knows "
            "where the deepest well is.",
        ),
        Scenario(
            "adagrad_stalls", "Why AdaGrad stalls",
            RaceState("rosenbrock", values={"lr": 0.01, "steps": 1000},
                      hidden=_PLAIN + ("momentum", "nag", "adadelta"), scenario="adagrad_stalls"),
            "AdaGrad divides by the root of the sum of every squared gradient so far. The steep "
            "walls at the start make that sum large, and it never shrinks: its steps become tiny "
            "and it stalls in the valley. RMSprop uses a running average instead, forgets the "
            "walls and keeps moving; Adam adds momentum to that.",
        ),
        Scenario(
            "adadelta_no_lr", "AdaDelta without a learning rate",
            RaceState("bowl", values={"lr": 0.05, "steps": 500}, hidden=("sgd", "minibatch_sgd", "nag"),
                      scenario="adadelta_no_lr"),
            "AdaDelta has no learning rate (η = 1): its step is √(E[Δ²]+ε)/√(E[g²]+ε)·g, the RMS "
            "of its own past steps over the RMS of the gradients. Its first steps are tiny, a few "
            "thousandths, set by √ε = 0.001; it speeds up as its own past steps grow. Set its ε to "
            "1e-4 in the per-optimizer panel and it starts ten times faster.",
        ),
        Scenario(
            "adam_bias", "Adam's bias correction",
            RaceState("bowl", values={"lr": 0.1, "steps": 100}, hidden=_PLAIN + ("adagrad", "adadelta"),
                      scenario="adam_bias"),
            "Adam's averages m and v start at zero, so after the first step m = 0.1·g and "
            "v = 0.001·g²: far too small. Dividing by 1 − β₁ᵗ and 1 − β₂ᵗ undoes that, so the "
            "first step is exactly η in each coordinate. Pause at step 1 and compare m with m̂ "
            "and v with v̂ in the live numbers under Adam's rule.",
        ),
        Scenario(
            "noise_and_batches", "Noise: one sample or a batch",
            RaceState("bowl", values={"lr": 0.05, "noise": 3.0, "batch": 16, "steps": 300},
                      hidden=("adagrad", "adadelta", "rmsprop", "adam"), scenario="noise_and_batches"),
            "Each sample's gradient is the true gradient plus a tilt of spread σ = 3. GD uses "
            "all samples and moves smoothly. SGD uses one and jitters around the minimum without "
            "settling; a batch of 16 averages the tilts and cuts the jitter by √16 = 4.",
        ),
    )
}
