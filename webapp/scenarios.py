"""Ready lessons: a surface, a start and settings, a few sentences on what to watch, and the
claims the race bears out. Each lesson is a RaceState, so it is also a link; every claim is
checked against the engine on the lesson's exact settings (tests/test_lessons_and_links.py),
and the claims the leaderboard shows are read back from the page in a real browser
(tests/test_lessons_browser.py). Where a picture and a sentence disagree, the lesson's settings
or text change, never the check."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES

from .claims import (MOVING, Claim, diverges, diverges_before, ends_near, first_step, leaves, loss_between, never_arrives,
                     on_engine, rms_distance, row, settles, settles_before, sign_changes, travel)
from .controls import DEFAULT_SURFACE
from .state import RaceState, decode
from . import edge_of_stability as _eos

_SPARSE_W = SURFACES["sparse"].minima[0][0]  # the best fit's weight on the sparse-feature set
_PLAIN = ("sgd", "minibatch_sgd")  # with σ = 0 they follow GD exactly: hidden where noise is off
_ADAPTIVE = ("adagrad", "adadelta", "rmsprop", "adam")


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    state: RaceState
    intro: str
    claims: tuple[Claim, ...]

    @property
    def shown(self) -> tuple[str, ...]:
        return tuple(o for o in OPTIMIZERS if o not in self.state.hidden)

    @property
    def text(self) -> str:
        """The whole lesson as plain text: the intro, then what to watch."""
        return " ".join([self.intro, *(c.text for c in self.claims)])


def _stability_limits(result, surface) -> bool:
    """GD, Momentum and Nesterov on the bowl (λ = 2, γ = 0.9): each converges at 0.97 of its
    theoretical limit and diverges at 1.03 of it (2/λ, 2(1 + γ)/λ, 2(1 + γ)/((1 + 2γ)λ))."""
    limits = {"gd": 1.0, "momentum": 1.9, "nag": 1.9 / 2.8}
    for oid, limit in limits.items():
        below, above = (rollout(surface, start=result.start, steps=result.steps, optimizers=[oid],
                                settings={oid: {"lr": f * limit}}) for f in (0.97, 1.03))
        if below.settled_at[0] < 0 or above.diverged_at[0] < 0:
            return False
    return True


def _constant_eta_keeps_jittering(result, surface) -> bool:
    constant = rollout(surface, start=result.start, steps=result.steps, settings=result.settings,
                       optimizers=result.names, noise=result.noise, batch_size=result.batch_size, seed=result.seed)
    sgd, batch = row(constant, "sgd"), row(constant, "minibatch_sgd")
    return bool(constant.settled_at[sgd] < 0 and constant.settled_at[batch] < 0
                and constant.final_loss[sgd] > 1000 * result.final_loss[row(result, "sgd")])


def _gd_wins_per_step(result, surface) -> bool:
    per_step = rollout(surface, start=result.start, steps=result.steps, settings=result.settings,
                       optimizers=["gd", "sgd"], batch_size=result.batch_size, seed=result.seed)
    return bool(per_step.final_loss[0] < per_step.final_loss[1])


def _bigger_batch_jitters_less(result, surface) -> bool:
    def jitter(batch):
        r = rollout(surface, start=result.start, steps=result.steps, settings=result.settings,
                    optimizers=["minibatch_sgd"], batch_size=batch, seed=result.seed)
        return rms_distance(r, "minibatch_sgd", surface.minima[0], 200)

    return jitter(64) < jitter(4)


def _jitter(result, oid: str, surface, axis: int, last: int = 300) -> float:
    """The root-mean-square distance of coordinate `axis` from the minimum's over the last steps."""
    values = result.paths[row(result, oid), -last:, axis]
    return float(np.sqrt(((values - surface.minima[0][axis]) ** 2).mean()))


def _adagrad_favours_the_rare_feature(result, surface) -> bool:
    r = rollout(surface, start=result.start, steps=result.steps, settings=result.settings, optimizers=["adagrad"],
                batch_size=result.batch_size, seed=result.seed, record_states=True)
    G_w, G_b = r.states["state"][0, -1, 0:2]  # AdaGrad's G on w and on b
    return bool(G_b > 4 * G_w)


def _gd_error_grows_by(factor: float):
    def check(result, surface):
        p = result.paths[row(result, "gd")]
        steps = int(result.diverged_at[row(result, "gd")]) - 1
        ratios = np.abs(p[1:steps, 0] / p[: steps - 1, 0])
        return steps > 5 and np.allclose(ratios, factor, rtol=1e-9)

    return check


def _adadelta_with_eps(eps: float):
    def check(result, surface):
        faster = rollout(surface, start=result.start, steps=result.steps, optimizers=["adadelta"],
                         settings={"adadelta": {"eps": eps}})
        ratio = first_step(faster, "adadelta") / first_step(result, "adadelta")
        arrived = faster.settled_at[0]
        return bool(np.allclose(ratio, 10, rtol=0.01)) and 0 <= arrived < result.settled_at[row(result, "adadelta")] / 3

    return check


def _nesterov_at(lr: float):
    """The ravine race again at `lr`: Nesterov settles, within a step or two of Momentum and in at
    most half GD's steps."""

    def check(result, surface):
        ids = ["gd", "momentum", "nag"]
        again = rollout(surface, start=result.start, steps=result.steps, optimizers=ids,
                        settings={o: {**result.settings[o], "lr": lr} for o in ids})
        gd, momentum, nag = (int(k) for k in again.settled_at)
        return nag >= 0 and momentum >= 0 and abs(nag - momentum) <= 2 and 2 * nag <= gd

    return check


def _valley_floor_by(step: int):
    """GD is on the valley floor (|y − x²| < 0.05) from `step` on."""

    def check(result, surface):
        p = result.paths[row(result, "gd"), step:]
        return bool((np.abs(p[:, 1] - p[:, 0] ** 2) < 0.05).all())

    return check



# -- the learning-rate lab's lessons (webapp/lab.py) ----------------------------------------------
_RAVINE_MU, _RAVINE_L = 0.2, 10.0  # the ravine's curvatures: x²/10 + 5y²


def _measured_rate(result, oid: str, surface) -> float:
    """The per-step contraction of the distance to the minimum over a path, measured as the
    momentum map measures a cell (optimizers.momentum_map.rates_of)."""
    from optimizers.momentum_map import rates_of

    p = result.paths[row(result, oid)]
    d = np.hypot(p[:, 0] - surface.minima[0][0], p[:, 1] - surface.minima[0][1])
    return float(rates_of(d[:, None])[0])


def _rates_match_theory(result, surface) -> bool:
    """Momentum's measured rate within 2% of r* = (√κ − 1)/(√κ + 1) (0.763 over the lesson's 150 steps: at
    the optimum the two directions' rates coincide, which adds a slowly fading factor t), GD's within 1% of
    (κ − 1)/(κ + 1)."""
    kappa = _RAVINE_L / _RAVINE_MU
    s = math.sqrt(kappa)
    return (abs(_measured_rate(result, "momentum", surface) / ((s - 1) / (s + 1)) - 1) < 0.02
            and abs(_measured_rate(result, "gd", surface) / ((kappa - 1) / (kappa + 1)) - 1) < 0.01)


def _is_goh_optimum(result, surface) -> bool:
    """The lesson's (η, γ) for Momentum are α* and β* to 3 digits, GD's η is 2/(μ + L)."""
    from optimizers.momentum_map import theoretical_optimum

    alpha, beta, _ = theoretical_optimum(surface)
    m = result.settings["momentum"]
    return (abs(m["lr"] - alpha) < 5e-4 and abs(m["gamma"] - beta) < 5e-4
            and abs(result.settings["gd"]["lr"] - 2 / (_RAVINE_MU + _RAVINE_L)) < 5e-4)


def _range_test_of(result, surface, oid: str):
    from optimizers.lr_range import lr_range_test

    settings = {oid: {k: v for k, v in result.settings[oid].items() if k != "lr"}}
    return lr_range_test(surface, start=result.start, optimizers=[oid], settings=settings).row(oid)


def _range_test_says(oid: str, suggested: float, stop: float):
    """The range test of `oid` on the lesson's surface and start suggests `suggested` and stops
    at `stop`, each to within 3%."""

    def check(result, surface):
        r = _range_test_of(result, surface, oid)
        return (r["suggested_lr"] is not None and abs(r["suggested_lr"] / suggested - 1) < 0.03
                and r["stop_lr"] is not None and abs(r["stop_lr"] / stop - 1) < 0.03)

    return check


def _held(oid: str, lr: float, settled_by: int):
    """`oid` held at η = `lr` on the lesson's race arrives and stays by step `settled_by`."""

    def check(result, surface):
        again = rollout(surface, start=result.start, steps=result.steps, optimizers=[oid],
                        settings={oid: {**result.settings[oid], "lr": lr}})
        return 0 <= again.settled_at[0] <= settled_by

    return check

_WELLS = {"nearest": (-1.5, -1.3), "top_left": (-1.5, 1.0), "bottom_middle": (0.4, -1.4), "deepest": (1.3, 1.2)}

SCENARIOS: dict[str, Scenario] = {
    s.id: s
    for s in (
        Scenario(
            "lr_too_high", "Learning rate too high",
            RaceState("bowl", values={"lr": 1.1, "steps": 300}, hidden=_PLAIN + ("adadelta",),
                      scenario="lr_too_high"),
            "The bowl curves with λ = 2 in every direction. Plain descent is stable only for "
            "η < 2/λ = 1; here η = 1.1. Momentum changes that limit, and not always upwards.",
            (
                diverges("gd", why="every step multiplies the distance to the minimum by 1 − ηλ = −1.2, so "
                                   "it overshoots by more than it was away, further each time."),
                on_engine("GD's distance along x grows by exactly 1.2 per step until it leaves the map.",
                          _gd_error_grows_by(1.2), "gd"),
                diverges_before("nag", "gd",
                                "Nesterov diverges first: at γ = 0.9 its look-ahead makes it stable only for "
                                "η < 2(1 + γ)/((1 + 2γ)λ) ≈ 0.68, a smaller η than GD tolerates."),
                settles("momentum", why="heavy-ball momentum stays stable up to η < 2(1 + γ)/λ = 1.9, so it "
                                        "spirals in."),
                on_engine("Each limit holds on the engine: GD, Momentum and Nesterov converge at 0.97× their "
                          "limit and diverge at 1.03× it.", _stability_limits, "gd", "momentum", "nag"),
                leaves("rmsprop", why="its steps are about η long whatever the gradient, so it bounces around "
                                      "the minimum without blowing up."),
                settles("adagrad", "adam",
                        why="AdaGrad's growing sum shrinks its steps; Adam's average of past gradients "
                            "cancels the bouncing."),
            ),
        ),
        Scenario(
            "lr_too_low", "Learning rate too low",
            RaceState("bowl", values={"lr": 1e-3, "steps": 500}, hidden=_PLAIN, scenario="lr_too_low"),
            "With η = 0.001 plain descent shrinks the distance to the minimum by only 1 − ηλ = 0.2% per "
            "step. Raise η and watch who benefits.",
            (
                never_arrives("gd", why="after 500 steps its loss is still (1 − 2η)^1000 ≈ 13.5% of where it "
                                        "started."),
                loss_between("gd", 0.99 * 4.25 * 0.998**1000, 1.01 * 4.25 * 0.998**1000,
                             "GD's loss at the end: 4.25 × 0.998^1000 ≈ 0.574, as the formula says."),
                settles("momentum", "nag", why="γ = 0.9 lets the steps build up to η/(1 − γ) = 10η."),
                never_arrives("rmsprop", "adam",
                              why="they step about η = 0.001 per coordinate, so in 500 steps they can move only "
                                  "about 0.5 of the 1.6 to go along x."),
                on_engine("RMSprop and Adam each move less than 0.55 along x and along y in the 500 steps.",
                          lambda r, s: all((np.abs(r.paths[row(r, o), -1] - r.paths[row(r, o), 0]) < 0.55).all()
                                           for o in ("rmsprop", "adam")), "rmsprop", "adam"),
                never_arrives("adagrad", why="its steps start at η and shrink as its sum of squared gradients "
                                             "grows: it has barely left the start."),
                settles("adadelta", why="it has no learning rate (its η stays 1), so a low η does not slow it."),
            ),
        ),
        Scenario(
            "momentum_ravine", "Momentum through the ravine",
            RaceState("ravine", values={"lr": 0.19, "gamma": 0.5, "steps": 150},
                      hidden=_PLAIN + _ADAPTIVE, scenario="momentum_ravine"),
            "The ravine curves 50 times more steeply across (λ = 10) than along (λ = 0.2). At η = 0.19, "
            "GD's step across the valley is 1 − ηλ = −0.9 times the last: it zig-zags from wall to wall, "
            "while along the floor it shrinks the distance by only 3.8% a step.",
            (
                on_engine("GD zig-zags: it crosses the valley floor on every one of its first 50 steps.",
                          lambda r, s: sign_changes(r, "gd", 1, until=50) == 50, "gd"),
                settles_before("momentum", "gd",
                               "Momentum (γ = 0.5) arrives and stays in less than half GD's steps: the "
                               "zig-zags cancel in its velocity while the pushes along the floor add up.",
                               ratio=0.5),
                on_engine("Momentum crosses the valley floor less than a third as often as GD before arriving.",
                          lambda r, s: 3 * sign_changes(r, "momentum", 1, until=int(r.arrived_at[row(r, "momentum")]))
                          < sign_changes(r, "gd", 1, until=int(r.arrived_at[row(r, "gd")])), "momentum", "gd"),
                diverges("nag", why="its look-ahead is stable across the walls only for ηλ < (2 + 2γ)/(1 + 2γ) = "
                                    "1.5, and here ηλ = 1.9."),
                on_engine("Lower η to 0.14 (ηλ = 1.4) and Nesterov arrives and stays, a step behind Momentum "
                          "and in half GD's steps.", _nesterov_at(0.14), "nag"),
            ),
        ),
        Scenario(
            "saddle_escape", "Escaping the saddle",
            RaceState("saddle", start=(-2.2, 0.0), values={"lr": 0.05, "noise": 0.05, "steps": 400},
                      scenario="saddle_escape"),
            "The start lies exactly on the ridge y = 0, and the saddle point is at the origin. The two "
            "minima are at (0, ±1). The gradient noise σ = 0.05 is small, but it is not zero.",
            (
                ends_near(("gd",), (0.0, 0.0), 1e-3,
                          "GD slides straight into the saddle point and stays: the exact gradient has no "
                          "y-component on the ridge."),
                never_arrives("gd", why="the saddle point is a flat spot, not a minimum."),
                settles("sgd", "minibatch_sgd", "momentum", "nag", "rmsprop", "adam",
                        why="their noisy gradients nudge them off the ridge, and the saddle then pushes them "
                            "down into one of the two minima."),
                never_arrives("adagrad", "adadelta",
                              why="they leave the ridge too, but AdaGrad's steps shrink as its sum grows and "
                                  "AdaDelta starts from tiny steps, so both are still on their way along x."),
                ends_near(("adagrad", "adadelta"), (-0.63, 0.0), 1.05,
                          "Both end beside a minimum (|y| ≈ 1), short of it along x."),
            ),
        ),
        Scenario(
            "rosenbrock_valley", "The Rosenbrock valley",
            RaceState("rosenbrock", values={"lr": 1e-3, "steps": 1500}, hidden=_PLAIN + _ADAPTIVE,
                      scenario="rosenbrock_valley"),
            "Reaching the curved valley is easy; following its nearly flat floor to the minimum at (1, 1) "
            "is the hard part, since the floor's gradient is tiny.",
            (
                on_engine("GD is on the valley floor (|y − x²| < 0.05) from step 100 on.", _valley_floor_by(100),
                          "gd"),
                never_arrives("gd", why="on the flat floor its steps are tiny, and after 1500 steps it is "
                                        "still short of (1, 1)."),
                ends_near(("gd",), (0.6, 0.36), 0.05, "GD ends around (0.6, 0.36), on the floor."),
                settles_before("momentum", "nag",
                               "Momentum arrives first and stays, Nesterov just after: their velocity keeps "
                               "the speed that the floor's small gradient cannot give."),
            ),
        ),
        Scenario(
            "which_minimum", "Which minimum?",
            RaceState("multi_minima", hidden=_PLAIN + ("adadelta",), scenario="which_minimum"),
            "Four wells of different depth; the deepest is top right, at about (1.3, 1.2). From the "
            "same start the optimizers end in different wells, and none of them knows where the "
            "deepest one is.",
            (
                ends_near(("gd", "nag"), _WELLS["nearest"], 0.15,
                          "GD takes the nearest well, bottom left; Nesterov brakes early and ends there too."),
                ends_near(("momentum",), _WELLS["top_left"], 0.15,
                          "Momentum's speed carries it over a ridge into the top-left well."),
                ends_near(("adagrad", "adam"), _WELLS["bottom_middle"], 0.15,
                          "AdaGrad and Adam take normalised steps of about η = 0.3 in each coordinate, "
                          "which take them to a third well, bottom middle."),
                ends_near(("rmsprop",), _WELLS["bottom_middle"], 0.3,
                          "RMSprop heads there too but keeps bouncing around it: its steps stay about "
                          "η long."),
                Claim("Nobody arrives: arrival means the global minimum, and nobody reaches the deepest well.",
                      lambda s: all(v.status == MOVING for v in s.values())),
            ),
        ),
        Scenario(
            "adagrad_stalls", "Why AdaGrad stalls",
            RaceState("rosenbrock", values={"lr": 0.006, "steps": 1500},
                      hidden=tuple(o for o in OPTIMIZERS if o not in ("adagrad", "rmsprop")),
                      scenario="adagrad_stalls"),
            "AdaGrad divides each step by the root of the sum of every squared gradient so far. The "
            "steep walls at the start make that sum large, and it never shrinks. RMSprop divides by a "
            "running average instead, which forgets the walls.",
            (
                never_arrives("adagrad", why="its steps shrink like η/√t, so it stalls near the start."),
                on_engine("AdaGrad moves less than 0.02 in its last 500 steps.",
                          lambda r, s: travel(r, "adagrad", 500) < 0.02, "adagrad"),
                loss_between("adagrad", 4.0, 5.0, "AdaGrad's loss stays above 4 (it started at 24)."),
                settles("rmsprop", why="its average forgets the walls, so its steps stay about η long all the "
                                       "way to (1, 1)."),
            ),
        ),
        Scenario(
            "adadelta_no_lr", "AdaDelta without a learning rate",
            RaceState("bowl", values={"lr": 0.05, "steps": 500}, hidden=_PLAIN + ("nag",),
                      scenario="adadelta_no_lr"),
            "AdaDelta has no learning rate (η = 1): its step is √(E[Δ²]+ε)/√(E[g²]+ε)·g, the RMS of its "
            "own past steps over the RMS of the gradients. Its first steps are set by ε alone.",
            (
                on_engine("AdaDelta's first step is √ε/√(1 − ρ) ≈ 0.003 in each coordinate.",
                          lambda r, s: bool(np.allclose(first_step(r, "adadelta"), math.sqrt(1e-6 / 0.1), rtol=1e-3)),
                          "adadelta"),
                settles("adadelta", why="it speeds up as its own past steps grow, and arrives last of those "
                                        "that arrive."),
                Claim("It arrives after every other optimizer that arrives.",
                      lambda s: all(v.step < s["adadelta"].step for o, v in s.items()
                                    if o != "adadelta" and v.status == "settled"), ids=("adadelta",)),
                on_engine("Set its ε to 1e-4 in the per-optimizer panel and its first step is ten times "
                          "longer: it arrives more than three times sooner.", _adadelta_with_eps(1e-4), "adadelta"),
                never_arrives("adagrad", why="at η = 0.05 its shrinking steps are too short to get there in "
                                             "500 steps."),
            ),
        ),
        Scenario(
            "adam_bias", "Adam's bias correction",
            RaceState("bowl", values={"lr": 0.1, "steps": 100}, hidden=_PLAIN + ("gd", "adagrad", "adadelta"),
                      scenario="adam_bias"),
            "Adam's averages m and v start at zero, so after the first step m = 0.1·g and "
            "v = 0.001·g²: far too small. Dividing by 1 − β₁ᵗ and 1 − β₂ᵗ undoes that. Pause at step 1 "
            "and compare m with m̂ and v with v̂ in the live numbers under Adam's rule.",
            (
                on_engine("Adam's first step is exactly η = 0.1 in each coordinate.",
                          lambda r, s: bool(np.allclose(first_step(r, "adam"), 0.1, rtol=1e-6)), "adam"),
                on_engine("RMSprop has no bias correction: its first step is η/√(1 − ρ) ≈ 0.32, three times "
                          "longer.", lambda r, s: bool(np.allclose(first_step(r, "rmsprop"), 0.1 / math.sqrt(0.1),
                                                                     rtol=1e-6)), "rmsprop"),
                settles("adam", why="with the corrected averages its steps shrink smoothly near the minimum."),
                settles_before("nag", "adam", "Nesterov arrives and stays before Adam: on a round bowl the "
                                              "gradient already points at the minimum."),
            ),
        ),
        Scenario(
            "work_done", "GD vs SGD by the work done",
            RaceState("iris", values={"lr": 0.05, "batch": 16, "steps": 1500}, clock="examples",
                      hidden=("momentum", "nag", *_ADAPTIVE), scenario="work_done"),
            "The clock counts examples processed, not steps: 1,500 examples are 10 epochs of the 150 "
            "flowers. GD's one step reads all 150, SGD's reads one, Mini-batch SGD's 16.",
            (
                on_engine("In that work GD takes 10 steps, Mini-batch SGD 100 and SGD 1,500.",
                          lambda r, s: [r.step_at(row(r, o), r.steps) for o in ("gd", "minibatch_sgd", "sgd")]
                          == [10, 100, 1500], "gd", "minibatch_sgd", "sgd"),
                Claim("So SGD ends with the lowest loss, Mini-batch SGD next and GD last: cheap, noisy steps "
                      "win when the work is what counts.",
                      lambda s: s["sgd"].loss < s["minibatch_sgd"].loss < s["gd"].loss,
                      ids=("gd", "minibatch_sgd", "sgd")),
                on_engine("Counted per step instead (switch the clock), GD's 1,500 exact steps end lower than "
                          "SGD's 1,500 noisy ones.", _gd_wins_per_step, "gd", "sgd"),
            ),
        ),
        Scenario(
            "batch_size", "Mini-batch size",
            RaceState("iris", values={"lr": 0.05, "batch": 16, "steps": 600},
                      hidden=("momentum", "nag", *_ADAPTIVE), scenario="batch_size"),
            "On real data a step's gradient is the mean over its batch: SGD takes one flower, Mini-batch "
            "SGD 16 (the B slider), GD all 150. The noise is the examples themselves.",
            (
                on_engine("Over the last 200 steps SGD stays more than twice as far from the best fit as "
                          "Mini-batch SGD: the mean of 16 examples varies much less than one.",
                          lambda r, s: rms_distance(r, "sgd", s.minima[0], 200)
                          > 2 * rms_distance(r, "minibatch_sgd", s.minima[0], 200), "sgd", "minibatch_sgd"),
                on_engine("Larger batches jitter less: with B = 64 Mini-batch SGD stays closer still than with "
                          "B = 4.", _bigger_batch_jitters_less, "minibatch_sgd"),
                settles("gd", why="its gradient is exact, so it stops at the best fit."),
            ),
        ),
        Scenario(
            "sparse_adagrad", "AdaGrad on sparse features",
            RaceState("sparse", values={"lr": 0.05, "batch": 1, "steps": 1000},
                      overrides={"adagrad": {"lr": 0.5}},
                      hidden=("gd", "minibatch_sgd", "momentum", "nag", "adadelta", "rmsprop", "adam"),
                      scenario="sparse_adagrad"),
            "x is non-zero in only 57 of the 1,000 examples, so the weight w learns from few of them "
            "while the bias b learns from every one. Both take one example per step (B = 1); SGD at "
            "η = 0.05, AdaGrad at η = 0.5.",
            (
                on_engine("AdaGrad's sum of squared gradients G ends over 4 times smaller for w than for b, so "
                          "its steps for the rare feature are over twice as large as for b.",
                          _adagrad_favours_the_rare_feature, "adagrad"),
                Claim("After 1,000 steps AdaGrad's w is within 0.01 of the best fit; SGD's is more than 0.05 "
                      "away: it learns w only on the few steps whose example has x ≠ 0.",
                      lambda s: abs(s["adagrad"].end[0] - _SPARSE_W) < 0.01 < 0.05 < abs(s["sgd"].end[0] - _SPARSE_W),
                      ids=("adagrad", "sgd")),
                on_engine("And AdaGrad's b jitters less than SGD's over the last 300 steps: its step for b "
                          "has shrunk as b's gradients piled up.",
                          lambda r, s: _jitter(r, "adagrad", s, 1) < _jitter(r, "sgd", s, 1), "adagrad", "sgd"),
            ),
        ),
        Scenario(
            "cosine_annealing", "Annealing the learning rate",
            RaceState("bowl", values={"lr": 0.05, "noise": 3.0, "batch": 16, "steps": 600},
                      schedule={"kind": "cosine"}, hidden=("momentum", "nag", *_ADAPTIVE),
                      scenario="cosine_annealing"),
            "The gradient is noisy (σ = 3), and η follows half a cosine from 0.05 down to 0 over the race "
            "(torch's CosineAnnealingLR): big steps early, ever smaller ones late. The small plot under the "
            "schedule menu shows ηₜ.",
            (
                settles("minibatch_sgd", "sgd", why="as η shrinks, each noisy step moves them less, so they come "
                                                    "to rest at the minimum."),
                settles_before("minibatch_sgd", "sgd", "Mini-batch SGD comes to rest first: the mean of 16 "
                                                       "samples is less noisy than one."),
                on_engine("With a constant η (the same race, schedule off) neither of them arrives and stays, and "
                          "SGD ends with a loss over 1,000 times higher.", _constant_eta_keeps_jittering,
                          "sgd", "minibatch_sgd"),
            ),
        ),
        Scenario(
            "noise_and_batches", "Noise: one sample or a batch",
            RaceState("bowl", values={"lr": 0.05, "noise": 3.0, "batch": 16, "steps": 300},
                      hidden=_ADAPTIVE, scenario="noise_and_batches"),
            "Each sample's gradient is the true gradient plus a tilt of spread σ = 3. GD uses all "
            "samples, SGD one, Mini-batch SGD a batch of 16.",
            (
                settles("gd", why="its gradient is exact, so it moves smoothly and stops at the minimum."),
                leaves("sgd", why="one sample's gradient is noisy, so it reaches the minimum, then jitters "
                                  "around it without settling."),
                on_engine("Over the last 200 steps SGD stays more than 2.5 times farther from the minimum than "
                          "Mini-batch SGD: averaging 16 samples cuts the noise by √16 = 4.",
                          lambda r, s: rms_distance(r, "sgd", (0, 0), 200)
                          > 2.5 * rms_distance(r, "minibatch_sgd", (0, 0), 200), "sgd", "minibatch_sgd"),
                leaves("momentum", "nag", why="their velocity sums the noisy gradients too, so they jitter "
                                              "like SGD with a larger step."),
            ),
        ),
        Scenario(
            "edge_of_stability", "The edge of stability",
            RaceState("rosenbrock", start=_eos.START, values={"lr": _eos.ABOVE, "steps": _eos.STEPS},
                      hidden=tuple(o for o in OPTIMIZERS if o not in ("gd", "momentum")),
                      scenario="edge_of_stability", lab="sharpness"),
            "Near the minimum (1, 1) the valley's sharpness, the largest eigenvalue of the Hessian "
            "[[802, −400], [−400, 200]], is λmax = 501 + √250601 ≈ 1001.6, so plain descent is stable "
            "there only for η < 2/λmax ≈ 0.0019968. Here η = 0.0021, 5% more, and the race starts on the "
            "valley floor just beyond the minimum. Down the valley the floor is flatter.",
            (
                never_arrives("gd", why="η is above 2/λmax at the minimum, so GD cannot stay at (1, 1): its "
                                        "zig-zag across the valley grows there."),
                on_engine("GD does not diverge either: after its first jump up the walls (the loss reaches "
                          "about 51), its loss stays below 1.5.", _eos.bounded_after_first_jump, "gd"),
                on_engine("It hovers where the sharpness is 2/η ≈ 952: from step 150 on, the sharpness averaged "
                          "over every 50 steps is within 5% of 2/η, and below the minimum's 1001.6. It creeps "
                          "along the floor until λmax passes 2/η, then its zig-zag grows and throws it back "
                          "down the valley, again and again.", _eos.hovers_at_the_edge, "gd"),
                on_engine("It ends on the valley floor with a sharpness within 2% of 2/η.", _eos.ends_at_the_edge,
                          "gd"),
                on_engine("Lower η to 0.0019, 5% below 2/λmax, and GD arrives at (1, 1) and stays.",
                          _eos.converges_below, "gd"),
                settles("momentum", why="heavy-ball momentum with γ = 0.9 is stable for ηλ < 2(1 + γ) = 3.8, "
                                        "and here ηλmax = 2.1: the minimum is no edge for it."),
            ),
        ),
        Scenario(
            "best_momentum", "The best momentum",
            RaceState("ravine", values={"lr": 0.196, "gamma": 0.566, "steps": 150}, overrides={"momentum": {"lr": 0.307}},
                      hidden=tuple(o for o in OPTIMIZERS if o not in ("gd", "momentum")), scenario="best_momentum",
                      lab="map"),
            "On a quadratic surface the fastest heavy-ball momentum is known in advance from the smallest and "
            "largest curvature alone (Goh, Polyak): on the ravine, μ = 0.2 and L = 10, so κ = 50, "
            "α* = (2/(√μ + √L))² ≈ 0.307 and β* = ((√κ − 1)/(√κ + 1))² ≈ 0.566. Momentum races at (α*, β*), GD "
            "at its own best η = 2/(μ + L) ≈ 0.196. The momentum map below shows every (η, γ).",
            (
                on_engine("Momentum races at Goh's optimum (α*, β*), and GD at its best η = 2/(μ + L).",
                          _is_goh_optimum, "gd", "momentum"),
                settles_before("momentum", "gd",
                               "Momentum arrives and stays in less than a third of GD's steps, though GD is at its "
                               "own best η.", ratio=1 / 3),
                on_engine("Each shrinks its distance to the minimum by the rate theory says: Momentum by "
                          "r* = (√κ − 1)/(√κ + 1) ≈ 0.752 a step, GD by only (κ − 1)/(κ + 1) ≈ 0.961 "
                          "(measured on this race: 0.763 and 0.961).", _rates_match_theory, "gd", "momentum"),
            ),
        ),
        Scenario(
            "range_test", "The learning-rate range test",
            RaceState("bowl", values={"lr": 0.045, "steps": 300}, overrides={"momentum": {"lr": 1.0}, "adam": {"lr": 0.42}},
                      hidden=tuple(o for o in OPTIMIZERS if o not in ("gd", "momentum", "adam")), scenario="range_test",
                      lab="range"),
            "The range test (Smith; fast.ai's lr_find) runs each optimizer once with an η that grows every "
            "update, suggests the η at which the loss fell fastest and stops where the loss climbs. Here GD "
            "races at its suggestion, η = 0.045; Momentum at η = 1 and Adam at η = 0.42, where the test "
            "stopped them. The range test panel below shows the test of this race.",
            (
                on_engine("On the bowl the test suggests η ≈ 0.045 for GD and stops it at η ≈ 1.56, two "
                          "updates after η passes GD's limit 2/λ = 1.", _range_test_says("gd", 0.0453, 1.556), "gd"),
                settles("gd", why="at the suggested η each step shrinks its distance to the minimum by 1 − 2η = 0.91."),
                on_engine("But held at η = 0.5 GD reaches the minimum in one step: the test's steepest drop is "
                          "where η first makes progress along one moving run, not the best η to hold.",
                          _held("gd", 0.5, 1), "gd"),
                on_engine("The test stops Momentum at η ≈ 0.012 (and suggests 0.005), reading its overshoot as "
                          "divergence; and Adam at η ≈ 0.42.", lambda r, s: _range_test_says("momentum", 0.00486, 0.01233)(r, s)
                          and _range_test_says("adam", 0.1385, 0.4229)(r, s), "momentum", "adam"),
                settles("momentum", "adam",
                        why="Momentum at η = 1, 80 times where the test stopped it (it is stable up to "
                            "2(1 + γ)/λ = 1.9), and Adam at η = 0.42 overshoot and come back."),
                on_engine("Momentum held at η = 1.8, 150 times where the test stopped it, still arrives and "
                          "stays within 100 steps.", _held("momentum", 1.8, 100), "momentum"),
            ),
        ),
    )
}

LESSON_STATES: dict[str, RaceState] = {k: s.state for k, s in SCENARIOS.items()}


def decode_link(search: str | None, problems=None) -> RaceState:
    """The state a page's link describes (state.decode), a lesson's link (`?scenario=…`) opening
    the lesson as written. ValueError for a typed formula that is not allowed."""
    return decode(search, DEFAULT_SURFACE, problems, LESSON_STATES)
