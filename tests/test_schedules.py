"""Learning-rate schedules (optimizers/schedules.py): their factors by hand, their checks and round
trips, the engine's use of them (a constant schedule changes nothing, bit for bit), and every
optimizer equal to torch.optim stepped by the matching lr_scheduler (Nesterov's look-ahead point
is torch's iterate)."""

import math

import numpy as np
import pytest

from optimizers import ALL_OPTIMIZERS, rollout, rollout_many, sweep
from optimizers.live import live_numbers
from optimizers.schedules import SCHEDULES, Schedule, parse
from surfaces import get_surface

# -- the factors, by hand ------------------------------------------------------------------------


def test_constant_is_all_ones():
    assert np.array_equal(Schedule().factors(5), np.ones(5))
    assert Schedule("constant") == Schedule()


def test_step_drops_by_gamma_every_step_size_updates():
    f = Schedule("step", step_size=10, gamma=0.5).factors(35)
    # update t uses the lr after t − 1 scheduler steps: the drop comes at update step_size + 1
    assert f[0] == 1.0 and f[9] == 1.0 and f[10] == 0.5 and f[19] == 0.5 and f[20] == 0.25 and f[34] == 0.125
    assert len(f) == 35


def test_exponential_is_gamma_to_the_updates_before():
    f = Schedule("exponential", gamma=0.9).factors(4)
    np.testing.assert_allclose(f, [1.0, 0.9, 0.81, 0.729], rtol=1e-15)
    assert Schedule("exponential", gamma=1.1).factors(3)[2] == pytest.approx(1.21)


def test_cosine_by_hand():
    f = Schedule("cosine", min_factor=0.2).factors(100)  # T_max = the race's 100 steps
    assert f[0] == 1.0
    assert f[50] == pytest.approx(0.2 + 0.8 * 0.5)  # half-way: the mean of 1 and 0.2
    assert f[99] == pytest.approx(0.2 + 0.8 * (1 + math.cos(math.pi * 99 / 100)) / 2)
    assert f[99] > 0.2  # ends one step short of η_min
    assert np.all(np.diff(f) < 0)
    # a shorter T_max reaches η_min at update T_max + 1 and climbs back, as torch's does
    g = Schedule("cosine", T_max=10, min_factor=0.0).factors(25)
    assert g[10] == pytest.approx(0.0, abs=1e-16) and g[20] == pytest.approx(1.0) and g[15] == pytest.approx(0.5)


def test_warmup_cosine_by_hand():
    f = Schedule("warmup_cosine", warmup=4, start_factor=0.2, min_factor=0.1).factors(14)
    np.testing.assert_allclose(f[:4], [0.2, 0.4, 0.6, 0.8], rtol=1e-15)  # linear from 0.2, step 0.8/4
    assert f[4] == 1.0  # the cosine starts at η after the warm-up
    assert f[9] == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the 10 cosine steps
    assert f[13] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 9 / 10)) / 2)
    # default warm-up: a tenth of the race
    assert Schedule("warmup_cosine").resolved(500).warmup == 50
    assert Schedule("warmup_cosine").resolved(5).warmup == 1


def test_factors_with_a_longer_horizon_continue_the_race_schedule():
    s = Schedule("cosine")
    assert np.array_equal(s.factors(30, horizon=30), s.factors(30))
    longer = s.factors(31, horizon=30)
    assert np.array_equal(longer[:30], s.factors(30)) and longer[30] == pytest.approx(0.0, abs=1e-16)


# -- checks and round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "cyclic"}, "unknown schedule 'cyclic'"),
    ({"kind": 3}, "unknown schedule"),
    ({"kind": "step", "gamma": -0.5}, r"gamma must be in \(0, ∞\)"),
    ({"kind": "step", "gamma": 0.0}, "gamma must be in"),
    ({"kind": "exponential", "gamma": float("nan")}, "gamma must be in"),
    ({"kind": "exponential", "gamma": float("inf")}, "gamma must be in"),
    ({"kind": "exponential", "gamma": "0.9"}, "gamma must be a number"),
    ({"kind": "exponential", "gamma": True}, "gamma must be a number"),
    ({"kind": "step", "step_size": 0}, "step_size must be in"),
    ({"kind": "step", "step_size": 2.5}, "step_size must be a whole number"),
    ({"kind": "cosine", "T_max": 0}, "T_max must be in"),
    ({"kind": "cosine", "min_factor": -0.1}, r"min_factor must be in \[0, ∞\)"),
    ({"kind": "warmup_cosine", "start_factor": 0.0}, r"start_factor must be in \(0, 1\]"),
    ({"kind": "warmup_cosine", "start_factor": 1.5}, "start_factor must be in"),
    ({"kind": "warmup_cosine", "warmup": 0}, "warmup must be in"),
    ({"kind": "step", "T_max": 10}, "schedule 'step' has no parameter 'T_max'; it takes step_size, gamma"),
    ({"kind": "constant", "gamma": 0.5}, "'constant' has no parameter 'gamma'; it takes no parameters"),
])
def test_bad_schedules_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)


def test_checks_that_need_the_race_length():
    with pytest.raises(ValueError, match=r"warm-up \(100 steps\) must be shorter than the race \(100 steps\)"):
        Schedule("warmup_cosine", warmup=100).factors(100)
    with pytest.raises(ValueError, match="at least 2 steps"):
        Schedule("warmup_cosine").factors(1)
    with pytest.raises(ValueError, match="overflows at step"):
        Schedule("exponential", gamma=2.0).factors(2000)
    with pytest.raises(ValueError, match="steps must be"):
        Schedule().factors(0)
    with pytest.raises(ValueError, match="warm-up"):
        rollout(get_surface("bowl"), steps=10, schedule={"kind": "warmup_cosine", "warmup": 10})
    with pytest.raises(ValueError, match="race 1: .*unknown schedule"):
        rollout_many([{"surface": get_surface("bowl"), "steps": 5},
                      {"surface": get_surface("bowl"), "steps": 5, "schedule": "cyclic"}])
    with pytest.raises(ValueError, match="gamma must be in"):
        sweep(get_surface("bowl"), steps=5, values=[0.1], schedule={"kind": "step", "gamma": -1})


def test_from_dict_and_parse_errors():
    with pytest.raises(ValueError, match="needs a 'kind'"):
        Schedule.from_dict({"gamma": 0.5})
    with pytest.raises(ValueError, match="must be a dict"):
        Schedule.from_dict([("kind", "step")])
    with pytest.raises(ValueError, match="'step' has no parameter 'eta_min'; it takes step_size, gamma"):
        Schedule.from_dict({"kind": "step", "eta_min": 0.1})
    with pytest.raises(ValueError, match="expected key=value"):
        parse("step:gamma")
    with pytest.raises(ValueError, match="gamma is not a number"):
        parse("step:gamma=half")
    with pytest.raises(ValueError, match="must be None, a Schedule, a dict or text"):
        parse(0.5)


EXAMPLES = [
    Schedule(),
    Schedule("step", step_size=100, gamma=0.5),
    Schedule("step", step_size=3, gamma=1.0),
    Schedule("exponential", gamma=0.97),
    Schedule("exponential", gamma=1.0 / 3),
    Schedule("cosine"),
    Schedule("cosine", T_max=40, min_factor=0.05),
    Schedule("warmup_cosine"),
    Schedule("warmup_cosine", warmup=7, start_factor=0.1 + 0.2, min_factor=1e-3),
]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=lambda s: s.to_text())
def test_round_trips(schedule):
    d = schedule.to_dict()
    assert Schedule.from_dict(d) == schedule and parse(d) == schedule
    assert parse(schedule.to_text()) == schedule
    assert parse(schedule) is schedule
    import json

    assert Schedule.from_dict(json.loads(json.dumps(d))) == schedule


def test_dicts_and_text_by_example():
    assert Schedule.from_dict({"kind": "step", "step_size": 100, "gamma": 0.5}).to_dict() == {
        "kind": "step", "step_size": 100, "gamma": 0.5}
    assert Schedule("cosine").to_dict() == {"kind": "cosine", "min_factor": 0.0}  # T_max: the race's
    assert Schedule("cosine").resolved(300).to_dict() == {"kind": "cosine", "T_max": 300, "min_factor": 0.0}
    assert parse("cosine") == Schedule("cosine")
    assert parse("step:step_size=100,gamma=0.5") == Schedule("step", step_size=100, gamma=0.5)
    assert parse(" warmup_cosine : warmup = 50 ") == Schedule("warmup_cosine", warmup=50)
    assert parse("exponential:gamma=1").gamma == 1.0 and isinstance(parse("step:step_size=1e2").step_size, int)
    assert parse(None) is None


def test_the_table_describes_every_kind():
    assert list(SCHEDULES) == ["constant", "step", "exponential", "cosine", "warmup_cosine"]
    for kind, spec in SCHEDULES.items():
        assert spec.kind == kind and spec.description and spec.label and spec.torch
        defaults = Schedule(kind)  # every default is valid
        for p in spec.parameters:
            assert p.description and p.label and p.typical[0] <= p.typical[1]
            if p.default is not None:
                assert getattr(defaults, p.key) == p.default
                p.check(p.default, kind)
            p.check(p.typical[1], kind)
            if p.low_inclusive or p.integer:
                p.check(max(p.low, p.typical[0]), kind)


# -- the engine ----------------------------------------------------------------------------------

EVERY = list(ALL_OPTIMIZERS)


@pytest.mark.parametrize("sid, noise", [("rosenbrock", 0.0), ("ravine", 0.5), ("saddle", 0.2)])
def test_a_constant_schedule_changes_nothing_bit_for_bit(sid, noise):
    s = get_surface(sid)
    settings = {oid: {"lr": s.lr} for oid in EVERY if oid != "adadelta"}
    plain = rollout(s, steps=200, settings=settings, optimizers=EVERY, noise=noise, seed=3, record_states=True)
    const = rollout(s, steps=200, settings=settings, optimizers=EVERY, noise=noise, seed=3, record_states=True,
                    schedule="constant")
    assert np.array_equal(plain.paths, const.paths) and np.array_equal(plain.losses, const.losses)
    for key in plain.states:
        assert np.array_equal(plain.states[key], const.states[key])
    # a step schedule that never drops within the race, and γ = 1, multiply by 1.0 too
    for schedule in ({"kind": "step", "step_size": 500, "gamma": 0.1}, {"kind": "exponential", "gamma": 1.0}):
        other = rollout(s, steps=200, settings=settings, optimizers=EVERY, noise=noise, seed=3, schedule=schedule)
        assert np.array_equal(plain.paths, other.paths), schedule
    assert plain.schedule == {"kind": "constant"} and plain.lr_factors is None
    assert const.schedule == {"kind": "constant"} and np.array_equal(const.lr_factors, np.ones(200))


def test_a_constant_schedule_changes_nothing_on_a_data_surface_and_in_a_sweep():
    s = get_surface("iris")
    for clock in ("steps", "examples"):
        a = rollout(s, steps=300, optimizers=EVERY, clock=clock)
        b = rollout(s, steps=300, optimizers=EVERY, clock=clock, schedule=Schedule())
        assert np.array_equal(a.paths, b.paths), clock
    bowl = get_surface("bowl")
    a = sweep(bowl, steps=100, param="gamma", values=[0.5, 0.9])
    b = sweep(bowl, steps=100, param="gamma", values=[0.5, 0.9], schedule="constant")
    assert np.array_equal(a.final_loss, b.final_loss) and b.schedule == {"kind": "constant"}


def test_the_result_knows_its_schedule_and_each_learning_rate():
    s = get_surface("bowl")
    r = rollout(s, steps=50, settings={"adam": {"lr": 0.2}}, schedule={"kind": "cosine", "min_factor": 0.1})
    assert r.schedule == {"kind": "cosine", "T_max": 50, "min_factor": 0.1}
    np.testing.assert_array_equal(r.lr_factors, Schedule("cosine", min_factor=0.1).factors(50))
    np.testing.assert_array_equal(r.learning_rates("adam"), 0.2 * r.lr_factors)
    assert not r.lr_factors.flags.writeable
    assert r.only(["adam"]).schedule == r.schedule
    assert rollout(s, steps=5).learning_rates("gd").tolist() == [0.01] * 5


def test_gd_takes_exactly_the_scheduled_step():
    """On the bowl (g = 2θ) GD's update t is θ ← (1 − 2ηₜ)θ: the effective learning rate
    −Δθ/g of every update is η·factor[t − 1] (AdaDelta's η is scaled too: its whole Δ is)."""
    s = get_surface("bowl")
    schedule = Schedule("warmup_cosine", warmup=5, start_factor=0.2)
    r = rollout(s, start=(1.0, 0.5), steps=30, settings={"gd": {"lr": 0.3}}, optimizers=["gd", "adadelta"],
                schedule=schedule, record_states=True)
    f = schedule.factors(30)
    expected = np.cumprod(1 - 2 * 0.3 * f)
    np.testing.assert_allclose(r.paths[0, 1:, 0], expected, rtol=1e-13)
    for t in (1, 5, 6, 30):
        rows = {row["id"]: row for row in live_numbers(r, t)["rows"]}
        assert rows["gd"]["lr"] == pytest.approx(0.3 * f[t - 1], rel=1e-15)
        assert rows["gd"]["effective_lr"][0] == pytest.approx(0.3 * f[t - 1], rel=1e-12)
        assert rows["adadelta"]["lr"] == pytest.approx(f[t - 1], rel=1e-15)
    # AdaDelta with the schedule moves exactly f[t − 1] times the Δ of its rule
    plain = rollout(s, start=(1.0, 0.5), steps=1, optimizers=["adadelta"])
    moved = r.paths[1, 1] - r.paths[1, 0]
    np.testing.assert_allclose(moved, (plain.paths[0, 1] - plain.paths[0, 0]) * f[0], rtol=1e-9)  # θ − θ loses digits


def test_on_the_clock_in_examples_each_optimizer_follows_the_schedule_by_its_own_steps():
    s = get_surface("iris")
    schedule = {"kind": "step", "step_size": 3, "gamma": 0.5}
    budget = 8 * s.n_examples
    r = rollout(s, steps=budget, optimizers=["gd", "minibatch_sgd"], clock="examples", schedule=schedule,
                batch_size=32)
    for i, oid in enumerate(r.names):
        own = int(r.steps_taken[i, -1])
        alone = rollout(s, steps=own, optimizers=[oid], schedule=schedule, batch_size=32)
        frames = np.searchsorted(r.steps_taken[i], np.arange(own + 1))
        np.testing.assert_array_equal(r.paths[i, frames], alone.paths[0], err_msg=oid)
    assert int(r.steps_taken[0, -1]) == 8  # GD: one step per epoch, so it saw factors 1, 1, 1, ½, ½, ½, ¼, ¼


def test_a_sweep_with_a_schedule_is_the_races_with_it():
    s = get_surface("ravine")
    schedule = {"kind": "exponential", "gamma": 0.99}
    values = [0.01, 0.05, 0.09]
    sw = sweep(s, steps=150, param="lr", values=values, optimizers=["gd", "momentum", "adam"], schedule=schedule)
    assert sw.schedule == {"kind": "exponential", "gamma": 0.99}
    for j, lr in enumerate(values):
        r = rollout(s, steps=150, settings={o: {"lr": lr} for o in sw.names}, optimizers=sw.names, schedule=schedule)
        np.testing.assert_array_equal(sw.final_loss[:, j], r.final_loss)


def _nesterov_by_hand(surface, start, lr, gamma, factors):
    """The documented rule: q = θ − γ·ηₜ₋₁·b ; g = ∇f(q) ; b ← γb + g ; θ ← q − ηₜ·g."""
    theta, b, last = np.array(start, dtype=float), np.zeros(2), 0.0
    path, looks = [theta.copy()], []
    for f in factors:
        eta = lr * f
        q = theta - gamma * (last * b)
        g = np.array([float(v) for v in surface.grad(*q)])
        b = gamma * b + g
        theta = q - eta * g
        last = eta
        path.append(theta.copy())
        looks.append(q)
    return np.array(path), np.array(looks)


@pytest.mark.parametrize("schedule", EXAMPLES[1:], ids=lambda s: s.to_text())
def test_nesterov_with_a_schedule_takes_the_documented_steps(schedule):
    s = get_surface("ravine")
    r = rollout(s, steps=120, settings={"nag": {"lr": 0.02, "gamma": 0.9}}, optimizers=["nag"], schedule=schedule,
                record_states=True)
    expected, looks = _nesterov_by_hand(s, s.start, 0.02, 0.9, schedule.factors(120))
    np.testing.assert_allclose(r.paths[0], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.states["grad"][0], [[float(v) for v in s.grad(*q)] for q in looks], rtol=1e-10)
    # live numbers' look-ahead is the next update's query point, θₜ − γ·ηₜ·bₜ
    for t in (1, 30, 31, 119):
        nag = {q["symbol"]: q["value"] for q in live_numbers(r, t)["rows"][0]["state"]}
        np.testing.assert_allclose(nag["θ − γηb"], looks[t], rtol=1e-12, atol=1e-14)


def test_nesterov_moves_like_momentum_with_a_constant_eta():
    """With a constant η NAG's θ steps θ ← θ − η·b like Momentum (b summing look-ahead
    gradients); with a schedule its momentum jump keeps the previous update's η."""
    s = get_surface("bowl")
    r = rollout(s, start=(1.0, 0.0), steps=3, settings={"nag": {"lr": 0.1, "gamma": 0.9}}, optimizers=["nag"],
                record_states=True)
    b = r.states["state"][0, :, 0]
    np.testing.assert_allclose(np.diff(r.paths[0, :, 0]), -0.1 * b, rtol=1e-12)
    step = rollout(s, start=(1.0, 0.0), steps=3, settings={"nag": {"lr": 0.1, "gamma": 0.9}}, optimizers=["nag"],
                   schedule={"kind": "step", "step_size": 2, "gamma": 0.5}, record_states=True)
    # updates 1, 2 are unscheduled (η = 0.1); update 3 uses η = 0.05 for its gradient step but
    # jumps by γ·0.1·b₂ first: q₃ = θ₂ − 0.9·0.1·b₂ (b₂ = 3.04, θ₂ = 0.496), θ₃ = q₃ − 0.05·2q₃
    q3 = 0.496 - 0.9 * 0.1 * 3.04
    assert step.paths[0, 3, 0] == pytest.approx(q3 * 0.9, rel=1e-12)


# -- torch.optim with torch's schedulers ---------------------------------------------------------

SCHEDULE_CASES = [
    Schedule("step", step_size=30, gamma=0.5),
    Schedule("step", step_size=7, gamma=0.8),
    Schedule("exponential", gamma=0.98),
    Schedule("exponential", gamma=1.005),  # growing (at 1.01 NAG on Rosenbrock turns unstable near step 100: its
    # paths then part from torch's by amplified rounding alone)
    Schedule("cosine"),
    Schedule("cosine", T_max=50, min_factor=0.1),
    Schedule("warmup_cosine", warmup=20, start_factor=0.1),
    Schedule("warmup_cosine", start_factor=0.5, min_factor=0.05),
]
STEPS = 120


def _torch_path(torch, surface, oid, hp, schedule, steps):
    from optimizers.torch_reference import torch_optimizer, torch_scheduler

    p = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(oid, p, hp)
    scheduler = torch_scheduler(schedule, opt, steps)
    path, lrs = [p.detach().numpy().copy()], []
    for _ in range(steps):
        gx, gy = surface.grad(*p.detach().numpy())
        p.grad = torch.tensor([float(gx), float(gy)], dtype=torch.float64)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        path.append(p.detach().numpy().copy())
        if scheduler is not None:
            scheduler.step()
    return np.array(path), np.array(lrs)


@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(previous)


@pytest.mark.parametrize("sid", ["bowl", "rosenbrock", "ravine"])
@pytest.mark.parametrize("schedule", SCHEDULE_CASES, ids=lambda s: s.to_text())
def test_every_optimizer_equals_torch_with_its_scheduler(torch64, sid, schedule):
    import warnings

    surface = get_surface(sid)
    ids = list(ALL_OPTIMIZERS)
    lr = {"bowl": 0.05, "rosenbrock": 0.001, "ravine": 0.02}[sid]
    settings = {oid: {"lr": lr if oid != "adadelta" else 1.0} for oid in ids}
    r = rollout(surface, steps=STEPS, settings=settings, optimizers=ids, schedule=schedule, record_states=True)
    assert list(r.diverged_at) == [-1] * len(ids)
    for i, oid in enumerate(r.names):
        ours = r.paths[i]
        if oid == "nag":  # torch's iterate is the look-ahead point θₜ − γ·ηₜ·bₜ (ηₜ: the rule's 2nd slot)
            state = r.states["state"][i]
            ours = ours.copy()
            ours[1:] -= r.settings[oid]["gamma"] * (state[:, 2:4] * state[:, 0:2])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch: "step() before optimizer.step()" etc.
            theirs, lrs = _torch_path(torch64, surface, oid, r.settings[oid], schedule, STEPS)
        np.testing.assert_allclose(r.learning_rates(oid), lrs, rtol=1e-13, err_msg=f"{sid} {oid} η")
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, err_msg=f"{sid} {oid}")


def test_nesterov_with_a_constant_eta_still_equals_torch(torch64):
    surface = get_surface("ravine")
    hp = {"lr": 0.02, "gamma": 0.9}
    r = rollout(surface, steps=STEPS, settings={"nag": hp}, optimizers=["nag"], record_states=True,
                schedule="constant")
    ours = r.paths[0].copy()
    ours[1:] -= 0.9 * (0.02 * r.states["state"][0, :, 0:2])  # torch's iterate: the look-ahead point
    theirs, _ = _torch_path(torch64, surface, "nag", r.settings["nag"], None, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
