"""The nine optimizers (SPEC §1 order), their hyperparameters and how settings are checked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from . import rules
from .rules import Rule


@dataclass(frozen=True)
class Hyperparameter:
    key: str
    symbol: str  # as shown in the app (LaTeX)
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
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        high = "∞" if math.isinf(self.high) else f"{self.high:g}"
        return f"{left}{self.low:g}, {high}{right}"


_INF = math.inf
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.key: h
    for h in (
        Hyperparameter("lr", r"\eta", "learning rate", 0.0, _INF, False, False),
        Hyperparameter("gamma", r"\gamma", "momentum", 0.0, 1.0, True, False),
        Hyperparameter("rho", r"\rho", "decay of the squared-gradient average", 0.0, 1.0, True, False),
        Hyperparameter("beta1", r"\beta_1", "decay of the first moment", 0.0, 1.0, True, False),
        Hyperparameter("beta2", r"\beta_2", "decay of the second moment", 0.0, 1.0, True, False),
        Hyperparameter("eps", r"\varepsilon", "numerical floor", 0.0, _INF, False, False),
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
_MOMENTUM = r"v \leftarrow \gamma v + \eta\, g \\ \theta \leftarrow \theta - v"

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
            r"g = \nabla f(\theta - \gamma v) \\ " + _MOMENTUM,
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


def check_optimizer_ids(optimizers) -> list[str]:
    """The ids to run, in SPEC order of the caller's list; None means all nine."""
    if optimizers is None:
        return list(OPTIMIZERS)
    if isinstance(optimizers, str) or not hasattr(optimizers, "__iter__"):
        raise ValueError(f"optimizers must be a list of ids or None, not {optimizers!r}")
    ids = list(optimizers)
    if not ids:
        raise ValueError("optimizers is empty: name at least one of " + ", ".join(OPTIMIZERS))
    for oid in ids:
        if oid not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {oid!r}; choose from: {', '.join(OPTIMIZERS)}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"optimizers lists an id twice: {ids}")
    return ids


def resolve_settings(settings: Mapping | None, ids: list[str]) -> dict[str, dict[str, float]]:
    """Every hyperparameter of each optimizer in `ids`: its default unless `settings` (a partial
    {optimizer id: {key: value}} mapping) overrides it. Unknown optimizers, unknown keys and
    out-of-range values raise ValueError."""
    settings = {} if settings is None else settings
    if not isinstance(settings, Mapping):
        raise ValueError(f"settings must be a dict of {{optimizer id: {{key: value}}}}, not {settings!r}")
    for oid, overrides in settings.items():
        if oid not in OPTIMIZERS:
            raise ValueError(f"settings name an unknown optimizer {oid!r}; choose from: {', '.join(OPTIMIZERS)}")
        if not isinstance(overrides, Mapping):
            raise ValueError(f"settings[{oid!r}] must be a dict of hyperparameters, not {overrides!r}")
        allowed = OPTIMIZERS[oid].hyperparameters
        for key in overrides:
            if key not in allowed:
                raise ValueError(
                    f"{OPTIMIZERS[oid].name} has no hyperparameter {key!r}; it takes {', '.join(allowed)}"
                )
    resolved = {}
    for oid in ids:
        spec, overrides = OPTIMIZERS[oid], settings.get(oid, {})
        resolved[oid] = {
            key: HYPERPARAMETERS[key].check(overrides.get(key, default), spec.name)
            for key, default in spec.defaults.items()
        }
    return resolved
