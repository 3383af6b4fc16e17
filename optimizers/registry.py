"""The nine optimizers (SPEC §1 order), the opt-in extras, their hyperparameters and how settings
are checked.

`OPTIMIZERS` is the default race, the nine: iterating it, `in` and `len` see only them. `EXTRAS`
are the opt-in optimizers (AMSGrad, AdamW, NAdam, RAdam), run only when named
(`rollout(..., optimizers=["adam", "adamw"])`); `ALL_OPTIMIZERS` is both, for looking an id up."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from . import rules
from .rules import Rule


def interval_text(low: float, high: float, low_inclusive: bool, high_inclusive: bool) -> str:
    """An interval as a message writes it: "(0, ∞)", "[0, 1)"."""
    high_text = "∞" if math.isinf(high) else f"{high:g}"
    return f"{'[' if low_inclusive else '('}{low:g}, {high_text}{']' if high_inclusive else ')'}"


@dataclass(frozen=True)
class Hyperparameter:
    key: str
    symbol: str  # as the app's formulas show it (LaTeX)
    text: str  # the same as plain text, for sliders, files and the command line
    label: str
    low: float
    high: float
    low_inclusive: bool
    high_inclusive: bool

    def check(self, value, owner: str) -> float:
        """`value` as a float, or ValueError saying what is wrong with it."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{owner}: {self.key} must be a number, not {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{owner}: {self.key} must be in {self.range_text}, not a {len(str(value))}-digit number") from None
        ok_low = value >= self.low if self.low_inclusive else value > self.low
        ok_high = value <= self.high if self.high_inclusive else value < self.high
        if not (math.isfinite(value) and ok_low and ok_high):
            raise ValueError(f"{owner}: {self.key} must be in {self.range_text}, not {value!r}")
        return value

    @property
    def range_text(self) -> str:
        return interval_text(self.low, self.high, self.low_inclusive, self.high_inclusive)


_INF = math.inf
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.key: h
    for h in (
        Hyperparameter("lr", r"\eta", "η", "learning rate", 0.0, _INF, False, False),
        Hyperparameter("gamma", r"\gamma", "γ", "momentum", 0.0, 1.0, True, False),
        Hyperparameter("rho", r"\rho", "ρ", "decay of the squared-gradient average", 0.0, 1.0, True, False),
        Hyperparameter("beta1", r"\beta_1", "β₁", "decay of the first moment", 0.0, 1.0, True, False),
        Hyperparameter("beta2", r"\beta_2", "β₂", "decay of the second moment", 0.0, 1.0, True, False),
        Hyperparameter("eps", r"\varepsilon", "ε", "numerical floor", 0.0, _INF, False, False),
        Hyperparameter("weight_decay", r"\lambda", "λ", "decoupled weight decay", 0.0, _INF, True, False),
        Hyperparameter("momentum_decay", r"\psi", "ψ", "warm-up rate of the momentum schedule", 0.0, _INF, True, False),
    )
}


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer: its pure rule, which gradient it sees ("full", "sample" or "batch"),
    its hyperparameters with defaults, and the formula and lesson the app shows."""

    id: str
    name: str
    rule: Rule
    gradient: str
    defaults: Mapping[str, float]
    formula_tex: str  # lines separated by \\
    lesson: str

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        return tuple(self.defaults)


_PLAIN = r"\theta \leftarrow \theta - \eta\, g"
# the velocity in gradient units, as torch keeps it (its momentum buffer b; v = η·b)
_MOMENTUM = r"b \leftarrow \gamma b + g \\ \theta \leftarrow \theta - \eta\, b"

OPTIMIZERS: dict[str, OptimizerSpec] = {
    o.id: o
    for o in (
        OptimizerSpec(
            "gd", "Gradient Descent", rules.PLAIN, "full", {"lr": 0.01},
            _PLAIN + r",\quad g = \nabla f(\theta)",
            "Steps straight downhill with the exact gradient. Too small a learning rate crawls; "
            "above 2/λmax it oscillates and blows up; it zig-zags in ravines and stalls at saddles.",
        ),
        OptimizerSpec(
            "sgd", "SGD", rules.PLAIN, "sample", {"lr": 0.01},
            _PLAIN + r",\quad g = \nabla f_i(\theta)",
            "The same rule on one sample's gradient: cheap and noisy. The noise can shake it off "
            "a saddle, but it never settles exactly: it jitters around the minimum.",
        ),
        OptimizerSpec(
            "minibatch_sgd", "Mini-batch SGD", rules.PLAIN, "batch", {"lr": 0.01},
            _PLAIN + r",\quad g = \tfrac{1}{B}\textstyle\sum_{i \in \mathcal{B}} \nabla f_i(\theta)",
            "Averaging B samples cuts the noise by √B: a middle way between GD and SGD.",
        ),
        OptimizerSpec(
            "momentum", "SGD + Momentum", rules.MOMENTUM, "batch", {"lr": 0.01, "gamma": 0.9},
            _MOMENTUM,
            "Accumulates a velocity, so steps along a consistent direction grow and zig-zags "
            "cancel: it rolls through ravines. It can overshoot and circle the minimum.",
        ),
        OptimizerSpec(
            "nag", "Nesterov (NAG)", rules.NESTEROV, "batch", {"lr": 0.01, "gamma": 0.9},
            r"g = \nabla f(\theta - \gamma \eta\, b) \\ " + _MOMENTUM,
            "Momentum that looks before it leaps: the gradient taken at the look-ahead point "
            "brakes earlier, so it overshoots less than plain momentum.",
        ),
        OptimizerSpec(
            "adagrad", "AdaGrad", rules.ADAGRAD, "batch", {"lr": 0.01, "eps": 1e-8},
            r"G \leftarrow G + g^2 \\ \theta \leftarrow \theta - \frac{\eta\, g}{\sqrt{G} + \varepsilon}",
            "A learning rate per coordinate, scaled down by all past squared gradients: good for "
            "badly scaled problems, but G only grows, so its steps shrink until it stalls.",
        ),
        OptimizerSpec(
            "adadelta", "AdaDelta", rules.ADADELTA, "batch", {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
            r"E[g^2] \leftarrow \rho E[g^2] + (1-\rho) g^2 \\ "
            r"\Delta = \frac{\sqrt{E[\Delta^2] + \varepsilon}}{\sqrt{E[g^2] + \varepsilon}}\, g \\ "
            r"E[\Delta^2] \leftarrow \rho E[\Delta^2] + (1-\rho)\Delta^2 \\ "
            r"\theta \leftarrow \theta - \eta\,\Delta",
            "Fixes AdaGrad's decay with running averages and needs no learning rate (η = 1): the "
            "ratio of past step sizes to gradients sets the units. It starts slowly, from √ε.",
        ),
        OptimizerSpec(
            "rmsprop", "RMSprop", rules.RMSPROP, "batch", {"lr": 0.01, "rho": 0.9, "eps": 1e-8},
            r"E[g^2] \leftarrow \rho E[g^2] + (1-\rho) g^2 \\ "
            r"\theta \leftarrow \theta - \frac{\eta\, g}{\sqrt{E[g^2]} + \varepsilon}",
            "AdaGrad with a running average instead of a sum, so it never stalls: steps of about "
            "η in every direction, whatever the gradient's scale.",
        ),
        OptimizerSpec(
            "adam", "Adam", rules.ADAM, "batch",
            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
            r"m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\ "
            r"\hat m = \frac{m}{1-\beta_1^t},\quad \hat v = \frac{v}{1-\beta_2^t} \\ "
            r"\theta \leftarrow \theta - \frac{\eta\, \hat m}{\sqrt{\hat v} + \varepsilon}",
            "Momentum plus RMSprop's scaling, with bias correction so the first steps are not "
            "tiny: robust to the learning rate, but it can circle the minimum before settling.",
        ),
    )
}

_ADAM_MOMENTS = r"m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\ "


def _adam_step(v: str) -> str:
    """Adam's bias-corrected step, dividing by the second moment `v` (LaTeX)."""
    return rf"\theta \leftarrow \theta - \frac{{\eta}}{{1-\beta_1^t}}\,\frac{{m}}{{\sqrt{{{v}/(1-\beta_2^t)}} + \varepsilon}}"

# The opt-in extras (SPEC §1): torch.optim's rules with its defaults, off in the default race.
EXTRAS: dict[str, OptimizerSpec] = {
    o.id: o
    for o in (
        OptimizerSpec(
            "amsgrad", "AMSGrad", rules.AMSGRAD, "batch",
            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
            _ADAM_MOMENTS + r"v_{\max} \leftarrow \max(v_{\max}, v) \\ " + _adam_step(r"v_{\max}"),
            "Adam that never forgets its largest second moment: the step divides by the biggest v "
            "seen so far, so a rare large gradient keeps later steps cautious and the step size "
            "can only shrink, which fixes Adam's failure to converge on some problems and makes it "
            "circle less. The price: after a steep stretch it keeps the small steps, so it is "
            "slower than Adam across the flat valley that follows (Rosenbrock).",
        ),
        OptimizerSpec(
            "adamw", "AdamW", rules.ADAMW, "batch",
            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
            r"\theta \leftarrow \theta\,(1 - \eta\lambda) \\ " + _ADAM_MOMENTS + _adam_step("v"),
            "Adam with decoupled weight decay: every step first shrinks θ toward the origin by the "
            "factor 1 − ηλ, outside the gradient, so the pull is not rescaled by Adam's "
            "per-coordinate step sizes as an L2 term in the loss would be. It regularises rather "
            "than optimises: the loss does not know of the pull, so where the minimum is away from "
            "the origin AdamW settles a little short of it, nearer (0, 0); λ = 0 gives Adam.",
        ),
        OptimizerSpec(
            "nadam", "NAdam", rules.NADAM, "batch",
            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "momentum_decay": 4e-3},
            r"\mu_t = \beta_1 \big(1 - \tfrac12\, 0.96^{t\psi}\big),\quad "
            r"\Pi_t = \textstyle\prod_{i \le t} \mu_i \\ " + _ADAM_MOMENTS
            + r"\theta \leftarrow \theta - \eta\,\frac{\frac{1-\mu_t}{1-\Pi_t}\, g"
            r" + \frac{\mu_{t+1}}{1-\Pi_t \mu_{t+1}}\, m}{\sqrt{v/(1-\beta_2^t)} + \varepsilon}",
            "Adam with Nesterov's look-ahead: the step uses next step's momentum and mixes in the "
            "fresh gradient, so it reacts to a bend a step sooner than Adam. Its momentum μₜ is "
            "scheduled: with torch's ψ = 0.004 it starts near β1/2 (0.45) and climbs toward β1 only "
            "over thousands of steps (0.52 at step 1000), so in a race it carries less momentum "
            "than Adam: it overshoots and circles less, but usually arrives a little later.",
        ),
        OptimizerSpec(
            "radam", "RAdam", rules.RADAM, "batch",
            {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
            r"\rho_\infty = \tfrac{2}{1-\beta_2} - 1,\quad "
            r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t} \\ " + _ADAM_MOMENTS
            + r"\hat m = \frac{m}{1-\beta_1^t},\quad "
            r"r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}} \\ "
            r"\theta \leftarrow \theta - \eta\,\hat m\, r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \varepsilon}"
            r"\ \text{ if } \rho_t > 5, \text{ else } \theta \leftarrow \theta - \eta\,\hat m",
            "Adam with a built-in warm-up: while v rests on too few gradients to trust (ρₜ ≤ 5: the "
            "first 5 steps at β2 = 0.999) it takes plain momentum steps η·m̂, then Adam's step "
            "damped by rₜ, which grows toward 1 only slowly (0.2 at step 100, 0.6 at step 1000). "
            "That tames Adam's erratic start without a schedule, but makes it the slowest of the "
            "Adam family in a race. And those first steps are η times the raw gradient: on a steep "
            "surface (Rosenbrock, Beale) an η that suits Adam jumps far, or diverges, before the "
            "rectification starts.",
        ),
    )
}

ALL_OPTIMIZERS: dict[str, OptimizerSpec] = {**OPTIMIZERS, **EXTRAS}


def _choices() -> str:
    return f"{', '.join(OPTIMIZERS)} (or the extras {', '.join(EXTRAS)})"


def check_optimizer_ids(optimizers) -> list[str]:
    """The ids to run, in the caller's order; None means the nine (the extras run only when
    named)."""
    if optimizers is None:
        return list(OPTIMIZERS)
    if isinstance(optimizers, str) or not hasattr(optimizers, "__iter__"):
        raise ValueError(f"optimizers must be a list of ids or None, not {optimizers!r}")
    ids = list(optimizers)
    if not ids:
        raise ValueError("optimizers is empty: name at least one of " + _choices())
    for oid in ids:
        if not isinstance(oid, str) or oid not in ALL_OPTIMIZERS:
            raise ValueError(f"unknown optimizer {oid!r}; choose from: {_choices()}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"optimizers lists an id twice: {ids}")
    return ids


def resolve_settings(settings: Mapping | None, ids: list[str]) -> dict[str, dict[str, float]]:
    """Every hyperparameter of each optimizer in `ids`: its default unless `settings` (a partial
    {optimizer id: {key: value}} mapping) overrides it. Unknown optimizers, unknown keys and
    out-of-range values raise ValueError, and so does an empty `ids` (a sweep of a
    hyperparameter that only extras have, with none named)."""
    if not ids:
        raise ValueError("there is no optimizer to run: name at least one of " + _choices())
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise ValueError(f"settings must be a dict of {{optimizer id: {{key: value}}}}, not {settings!r}")
    for oid, overrides in settings.items():
        if not isinstance(oid, str) or oid not in ALL_OPTIMIZERS:
            raise ValueError(f"settings name an unknown optimizer {oid!r}; choose from: {_choices()}")
        if not isinstance(overrides, Mapping):
            raise ValueError(f"settings[{oid!r}] must be a dict of hyperparameters, not {overrides!r}")
        allowed = ALL_OPTIMIZERS[oid].hyperparameters
        for key in overrides:
            if key not in allowed:
                raise ValueError(
                    f"{ALL_OPTIMIZERS[oid].name} has no hyperparameter {key!r}; it takes {', '.join(allowed)}"
                )
    resolved = {}
    for oid in ids:
        spec, overrides = ALL_OPTIMIZERS[oid], settings.get(oid, {})
        resolved[oid] = {
            key: HYPERPARAMETERS[key].check(overrides.get(key, default), spec.name)
            for key, default in spec.defaults.items()
        }
    return resolved
