"""The race's controls as data: each slider's range, scale and default. The layout builds the
sliders from this table and the callbacks read values back through it, clamped, so the two can
never disagree."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Slider:
    """A slider whose position maps to a value: `scale` is "linear", "log10" (position =
    log10 value), "log2" (position = log2 value) or "one_minus_log10" (value = 1 − 10^−position,
    for decay rates that live near 1)."""

    id: str
    label: str
    symbol: str
    low: float
    high: float
    step: float
    default: float  # a position
    scale: str = "linear"
    marks: dict = field(default_factory=dict)
    integer: bool = False

    def value(self, position: float) -> float:
        """The value at `position`, to 6 significant digits: what the readout and a link show,
        so a link reproduces the race exactly."""
        value = {
            "linear": lambda p: p,
            "log10": lambda p: 10.0**p,
            "log2": lambda p: 2.0**p,
            "one_minus_log10": lambda p: 1.0 - 10.0**-p,
        }[self.scale](position)
        return int(round(value)) if self.integer else float(f"{value:.6g}")

    def unclamped_position(self, value: float) -> float:
        """Where `value` sits on the slider's scale, which may be beyond its ends."""
        return {
            "linear": lambda v: v,
            "log10": math.log10,
            "log2": math.log2,
            "one_minus_log10": lambda v: -math.log10(1.0 - v),
        }[self.scale](value)

    def position(self, value: float) -> float:
        """The position that shows `value` (inverse of `value`), clamped to the slider."""
        return min(max(self.unclamped_position(value), self.low), self.high)


def _log_marks(lo: int, hi: int, every: int = 1) -> dict:
    return {p: f"1e{p}" for p in range(lo, hi + 1, every)}


SLIDERS: dict[str, Slider] = {
    s.id: s
    for s in (
        Slider("lr", "Learning rate", "η", -5.0, 1.0, 0.05, -2.0, "log10", _log_marks(-5, 1)),
        Slider("gamma", "Momentum", "γ", 0.0, 0.99, 0.01, 0.9, marks={0: "0", 0.5: "0.5", 0.9: "0.9"}),
        Slider("rho", "Decay", "ρ", 0.0, 0.999, 0.001, 0.9, marks={0: "0", 0.5: "0.5", 0.9: "0.9"}),
        Slider("beta1", "First moment", "β₁", 0.0, 0.99, 0.01, 0.9, marks={0: "0", 0.5: "0.5", 0.9: "0.9"}),
        Slider("beta2", "Second moment", "β₂", 1.0, 4.0, 0.05, 3.0, "one_minus_log10",
               {1: "0.9", 2: "0.99", 3: "0.999", 4: "0.9999"}),
        Slider("eps", "Floor", "ε", -12.0, -1.0, 0.5, -8.0, "log10", _log_marks(-12, -1, 3)),
        Slider("steps", "Steps", "", 20, 3000, 10, 500, marks={20: "20", 1000: "1000", 2000: "2000", 3000: "3000"}, integer=True),
        Slider("noise", "Gradient noise", "σ", 0.0, 10.0, 0.1, 0.0, marks={0: "0", 5: "5", 10: "10"}),
        Slider("batch", "Batch size", "B", 0, 8, 1, 4, "log2", {p: str(2**p) for p in range(9)}, integer=True),
    )
}

HYPERPARAMETER_SLIDERS = ("lr", "gamma", "rho", "beta1", "beta2", "eps")


# The playback and the views, shared by the app's page and the exported replay (webapp/export).
VIEWS = {"grid": "Side by side", "overlay": "Overlay", "3d": "3-D"}
EXPORT_VIEWS = ("grid", "overlay")  # the offline replay has no 3-D view
SPEEDS = (25, 50, 100, 200, 400, 1000)  # animation steps per second
DEFAULT_SPEED = 100
# (id, title) of each playback button; the icons are CSS masks on the ids (assets/style.css)
PLAYBACK_BUTTONS = (
    ("btn-restart", "Restart (Home)"),
    ("btn-back", "Step back (←, Shift+← for 10)"),
    ("btn-play", "Play / pause (Space)"),
    ("btn-forward", "Step forward (→, Shift+→ for 10)"),
)
