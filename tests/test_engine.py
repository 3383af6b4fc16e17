"""The compiled engine: equal to each rule stepped one update at a time in plain Python, the
stochastic model of SPEC §3, divergence and arrival of SPEC §4, sweeps, and argument checking."""

import math

import numpy as np
import pytest

from optimizers import ALL_OPTIMIZERS, OPTIMIZERS, rollout, rollout_many, sweep
from optimizers import stochastic
from optimizers.compiled import plain
from surfaces import get_surface

IDS = list(OPTIMIZERS)


def reference_path(surface, oid, hp, start, steps, noise, batch_size, seed):
    """One optimizer stepped by its rule's plain Python functions (not the compiled loop), with
    SymPy's NumPy gradient and its batch noise taken sample by sample from the seeded tilts and
    shuffles (not from the engine's precomputed table)."""
    spec = ALL_OPTIMIZERS[oid]
    update, query = plain(spec.rule.update), plain(spec.rule.query)
    h = ([hp[k] for k in spec.defaults] + [0.0] * 5)[:5]
    tilts = stochastic.sample_tilts(seed, noise)
    size = {"full": None, "sample": 1, "batch": batch_size}[spec.gradient]
    orders = stochastic.epoch_orders(seed, steps + 1)
    theta = np.array(start, dtype=float)
    state = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # (a, b, c) per coordinate
    path = [theta.copy()]
    for t in range(steps):
        q = [query(theta[c], *state[c], *h) for c in range(2)]
        g = np.array([float(v) for v in surface.grad(q[0], q[1])])
        if size is not None and noise > 0:
            g = g + tilts[stochastic.batch_indices(t, size, orders)].mean(axis=0)
        step = []
        for c in range(2):
            delta, *state[c] = update(theta[c], g[c], *state[c], *h, t + 1)
            step.append(delta)
        theta = theta - np.array(step)
        path.append(theta.copy())
    return np.array(path)


@pytest.mark.parametrize("sid", ["bowl", "ravine", "saddle", "rosenbrock", "beale"])
@pytest.mark.parametrize("noise", [0.0, 0.7])
def test_engine_equals_the_pure_rules(sid, noise):
    s = get_surface(sid)
    rng = np.random.default_rng([len(sid), sum(map(ord, sid)), int(noise * 10)])  # stable across runs
    settings = {}
    for oid, spec in OPTIMIZERS.items():
        hp = {}
        for key in spec.defaults:
            hp[key] = {
                "lr": 10 ** rng.uniform(-4, -2.5), "gamma": rng.uniform(0, 0.95),
                "rho": rng.uniform(0.5, 0.99), "beta1": rng.uniform(0.5, 0.95),
                "beta2": rng.uniform(0.9, 0.9999), "eps": 10 ** rng.uniform(-9, -5),
            }[key]
        settings[oid] = hp
    settings["adadelta"]["lr"] = 1.0
    r = rollout(s, steps=60, settings=settings, noise=noise, batch_size=12, seed=3)
    assert (r.diverged_at == -1).all()
    for i, oid in enumerate(r.names):
        ref = reference_path(s, oid, r.settings[oid], s.start, 60, noise, 12, 3)
        np.testing.assert_allclose(r.paths[i], ref, rtol=1e-10, atol=1e-12, err_msg=oid)


def test_result_shapes_and_contract():
    s = get_surface("rosenbrock")
    r = rollout(s, start=(0.5, 0.5), steps=40)
    assert r.names == IDS
    assert r.paths.shape == (9, 41, 2) and r.losses.shape == (9, 41)
    assert r.diverged_at.shape == r.arrived_at.shape == (9,)
    assert np.all(r.paths[:, 0] == [0.5, 0.5])
    np.testing.assert_array_equal(r.losses, s.f(r.paths[..., 0], r.paths[..., 1]))
    assert rollout(s, steps=5, optimizers=["adam", "gd"]).names == ["adam", "gd"]
    assert r.settings["adadelta"] == {"lr": 1.0, "rho": 0.9, "eps": 1e-6}
    assert r.settings["adam"] == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def test_every_optimizer_converges_on_the_bowl():
    s = get_surface("bowl")
    settings = {oid: {"lr": 0.1} for oid in IDS}
    settings["adagrad"] = {"lr": 0.5}
    settings["adadelta"] = {"lr": 1.0, "rho": 0.95}
    settings["rmsprop"] = {"lr": 0.01}  # steps of about η: a large η keeps it circling
    r = rollout(s, steps=3000, settings=settings)
    assert (r.arrived_at >= 0).all(), dict(zip(r.names, r.arrived_at))
    assert (r.final_loss < 1e-3 * s.f(*s.start)).all()


def test_gd_stability_limit_on_the_bowl():
    s = get_surface("bowl")
    limit = s.gd_lr_limit  # 2/λmax = 1
    stable = rollout(s, steps=400, settings={"gd": {"lr": 0.95 * limit}}, optimizers=["gd"])
    assert stable.diverged_at[0] == -1 and stable.arrived_at[0] > 0
    unstable = rollout(s, steps=400, settings={"gd": {"lr": 1.05 * limit}}, optimizers=["gd"])
    k = unstable.diverged_at[0]
    assert k > 0, "η above 2/λmax must diverge"
    assert np.isfinite(unstable.paths).all() and np.isfinite(unstable.losses).all()
    # |θ_k| = |1 − 2η|^k |θ_0| = 1.1^k · |θ_0| first leaves the escape box at step k
    box = s.escape_box[0][1]
    radius0 = np.abs(np.array(s.start))
    assert (1.1**k * radius0 >= box).any() and not (1.1 ** (k - 1) * radius0 >= box).any()
    # frozen at the last valid point
    assert (unstable.paths[0, k:] == unstable.paths[0, k - 1]).all()
    assert unstable.arrived_at[0] == -1


def test_overflow_to_inf_and_nan_is_caught():
    s = get_surface("rosenbrock")
    r = rollout(s, steps=50, settings={"gd": {"lr": 10.0}, "momentum": {"lr": 1e6}})
    assert r.diverged_at[IDS.index("gd")] > 0 and r.diverged_at[IDS.index("momentum")] > 0
    assert np.isfinite(r.paths).all() and np.isfinite(r.losses).all()


def test_noise_free_gd_sgd_and_minibatch_coincide():
    s = get_surface("rosenbrock")
    r = rollout(s, steps=300, settings={o: {"lr": 1e-3} for o in IDS[:3]}, noise=0.0)
    assert np.array_equal(r.paths[0], r.paths[1]) and np.array_equal(r.paths[0], r.paths[2])


def test_noise_makes_them_differ_and_seed_reproduces_bit_for_bit():
    s = get_surface("bowl")
    kw = dict(steps=200, noise=0.5, batch_size=8)
    a, b, c = rollout(s, seed=11, **kw), rollout(s, seed=11, **kw), rollout(s, seed=12, **kw)
    assert np.array_equal(a.paths, b.paths) and np.array_equal(a.losses, b.losses)
    assert not np.array_equal(a.paths, c.paths)
    gd, sgd, mb = a.paths[:3]
    assert not np.array_equal(gd, sgd) and not np.array_equal(sgd, mb)
    # mini-batch noise is smaller than single-sample noise: its path hugs GD's more closely
    assert np.abs(mb - gd).mean() < np.abs(sgd - gd).mean()


def test_batch_gradients_average_exactly_to_the_full_gradient():
    tilts = stochastic.sample_tilts(seed=5, noise=2.0)
    assert tilts.shape == (stochastic.N_SAMPLES, 2)
    np.testing.assert_allclose(tilts.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(tilts.std(axis=0), 2.0, rtol=1e-12)
    for batch_size in (1, 7, 16, 256):
        per_epoch = math.ceil(stochastic.N_SAMPLES / batch_size)
        means = stochastic.batch_noise(tilts, 3 * per_epoch, batch_size, seed=5)
        sizes = np.diff(np.append(np.arange(0, 256, batch_size), 256))
        for e in range(3):  # every sample once per epoch: the size-weighted mean tilt is zero
            epoch = means[e * per_epoch : (e + 1) * per_epoch]
            np.testing.assert_allclose((epoch * sizes[:, None]).sum(axis=0), 0.0, atol=1e-12)
    # a batch gradient is ∇f plus its batch's mean tilt, independently recomputed
    orders = stochastic.epoch_orders(5, 40)
    means = stochastic.batch_noise(tilts, 40, 16, seed=5)
    for t in (0, 15, 16, 39):
        expect = tilts[stochastic.batch_indices(t, 16, orders)].mean(axis=0)
        np.testing.assert_allclose(means[t], expect, rtol=1e-13, atol=1e-15)


def test_a_seeds_shuffles_are_one_sequence_however_they_are_asked_for():
    """The kept shuffles (stochastic.epoch_orders) are the seed's permutations in order, whether
    asked for short then long, long then short, or after the seed was dropped from the cache."""
    def fresh(seed, epochs):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        return np.array([rng.permutation(stochastic.N_SAMPLES) for _ in range(epochs)])

    seed = 987_654
    short = stochastic.epoch_orders(seed, 7).copy()
    long = stochastic.epoch_orders(seed, 300)
    np.testing.assert_array_equal(short, fresh(seed, 7))
    np.testing.assert_array_equal(long, fresh(seed, 300))
    np.testing.assert_array_equal(stochastic.epoch_orders(seed, 5), fresh(seed, 5))
    assert not long.flags.writeable  # shared between requests: nobody may change it
    for other in range(stochastic.ORDERS_KEPT + 1):  # push the seed out of the cache
        stochastic.epoch_orders(10_000 + other, 2)
    np.testing.assert_array_equal(stochastic.epoch_orders(seed, 300), fresh(seed, 300))


def test_all_optimizers_see_the_same_batches():
    # With γ = 0 momentum and Nesterov reduce to mini-batch SGD; with common random numbers
    # they must then follow exactly the same noisy path.
    s = get_surface("ravine")
    settings = {o: {"lr": 0.05} for o in ("minibatch_sgd", "momentum", "nag")}
    settings["momentum"]["gamma"] = settings["nag"]["gamma"] = 0.0
    r = rollout(s, steps=300, settings=settings, noise=1.0, batch_size=4, seed=9)
    mb, mom, nag = (r.paths[IDS.index(o)] for o in ("minibatch_sgd", "momentum", "nag"))
    np.testing.assert_allclose(mom, mb, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(nag, mb, rtol=1e-13, atol=1e-14)


def test_the_loss_drawn_is_the_full_loss():
    s = get_surface("bowl")
    r = rollout(s, steps=50, noise=3.0)
    np.testing.assert_array_equal(r.losses, s.f(r.paths[..., 0], r.paths[..., 1]))


def test_arrival_and_ranking():
    s = get_surface("bowl")
    r = rollout(s, steps=400, settings={"gd": {"lr": 0.4}, "sgd": {"lr": 0.05}, "adam": {"lr": 5.0}},
                optimizers=["sgd", "gd", "adam"])
    threshold = s.f_min + 1e-3 * (s.f(*s.start) - s.f_min)
    for i in range(3):
        k = r.arrived_at[i]
        if k >= 0:
            assert r.losses[i, k] <= threshold and (r.losses[i, :k] > threshold).all()
        else:
            assert (r.losses[i] > threshold).all()
    assert r.ranking()[0] == "gd"  # η = 0.4: a factor 0.2 per step, first to arrive
    order = r.ranking()
    assert order.index("gd") < order.index("sgd")


def _settled_by_hand(losses, threshold, diverged):
    """The step from which `losses` stay within `threshold` to the end, by a plain loop."""
    if diverged or losses[-1] > threshold:
        return -1
    k = len(losses) - 1
    while k > 0 and losses[k - 1] <= threshold:
        k -= 1
    return k


def test_a_path_that_arrives_and_leaves_is_not_settled_and_ranks_below_one_that_stays():
    # η = 1.1 on the bowl (λ = 2): RMSprop's steps stay about η long, so it comes within the
    # threshold and bounces out again; Momentum spirals in and stays; GD diverges.
    s = get_surface("bowl")
    r = rollout(s, steps=300, settings={o: {"lr": 1.1} for o in IDS})
    threshold = s.f_min + 1e-3 * (s.f(*s.start) - s.f_min)
    for i in range(len(IDS)):
        assert r.settled_at[i] == _settled_by_hand(r.losses[i], threshold, r.diverged_at[i] >= 0)
    rms, mom = IDS.index("rmsprop"), IDS.index("momentum")
    assert r.arrived_at[rms] >= 0 and r.settled_at[rms] == -1 and r.final_loss[rms] > threshold
    assert r.arrived_at[mom] <= r.settled_at[mom] and r.settled_at[mom] > 0
    order = r.ranking()
    assert order.index("momentum") < order.index("rmsprop") < order.index("gd")
    settled = [o for o in order if r.settled_at[IDS.index(o)] >= 0]
    assert order[: len(settled)] == settled  # arrived and stayed first, earliest to settle first
    assert [r.settled_at[IDS.index(o)] for o in settled] == sorted(r.settled_at[IDS.index(o)] for o in settled)


def test_only_keeps_the_rows_of_the_optimizers_named():
    s = get_surface("rosenbrock")
    r = rollout(s, steps=80, noise=1.0, record_states=True)
    part = r.only(["adam", "gd"])
    alone = rollout(s, steps=80, noise=1.0, optimizers=["gd", "adam"], record_states=True)
    assert part.names == alone.names == ["gd", "adam"]
    for name in ("paths", "losses", "diverged_at", "arrived_at", "settled_at"):
        np.testing.assert_array_equal(getattr(part, name), getattr(alone, name))
    for name, value in alone.states.items():
        np.testing.assert_array_equal(part.states[name], value)
    assert part.ranking() == alone.ranking() and set(part.settings) == {"gd", "adam"}


def test_sweep_columns_equal_single_rollouts():
    s = get_surface("rosenbrock")
    values = np.logspace(-5, 0, 12)
    sw = sweep(s, steps=150, param="lr", values=values)
    assert sw.names == IDS and sw.final_loss.shape == (9, 12) and sw.diverged_at.shape == (9, 12)
    assert (sw.diverged_at[0, -3:] > 0).all() and (sw.diverged_at[0, :3] == -1).all()
    for j in (0, 5, 11):
        r = rollout(s, steps=150, settings={o: {"lr": values[j]} for o in IDS})
        np.testing.assert_array_equal(sw.final_loss[:, j], r.final_loss)
        np.testing.assert_array_equal(sw.diverged_at[:, j], r.diverged_at)
        np.testing.assert_array_equal(sw.arrived_at[:, j], r.arrived_at)
        np.testing.assert_array_equal(sw.settled_at[:, j], r.settled_at)
        np.testing.assert_array_equal(sw.min_loss[:, j], r.losses.min(axis=1))
        np.testing.assert_array_equal(sw.max_loss[:, j], r.losses.max(axis=1))
    assert np.isfinite(sw.final_loss).all()


MANY = [  # races of different surfaces, lengths, settings, noise and optimizer lists
    dict(surface="rosenbrock", steps=300, settings={"adam": {"lr": 0.05}}),
    dict(surface="multi_minima", steps=40, noise=0.8, batch_size=8, seed=5),
    dict(surface="rosenbrock", start=(0.3, -0.4), steps=700, noise=2.0, seed=1, optimizers=["nag", "adadelta"]),
    dict(surface="rastrigin", steps=250, settings={o: {"lr": 0.02} for o in ("gd", "momentum", "rmsprop")}),
    dict(surface="bowl", steps=120, settings={"gd": {"lr": 1.5}}, record_states=True),  # gd diverges
    dict(surface="himmelblau", steps=500, noise=0.3, batch_size=1, seed=2**40),
]


def test_many_races_equal_each_race_alone():
    races = [{**race, "surface": get_surface(race["surface"])} for race in MANY]
    together = rollout_many(races)
    assert len(together) == len(races)
    assert together[4].diverged_at[0] > 0
    for race, got in zip(races, together):
        alone = rollout(**race)
        assert got.names == alone.names and got.steps == alone.steps and got.surface_id == alone.surface_id
        for field in ("paths", "losses", "diverged_at", "arrived_at"):
            np.testing.assert_array_equal(getattr(got, field), getattr(alone, field), err_msg=field)
        assert got.rejected == alone.rejected
        assert (got.states is None) == (alone.states is None)
        for key in alone.states or {}:
            np.testing.assert_array_equal(got.states[key], alone.states[key], err_msg=key)


def test_many_races_are_all_checked_before_any_runs():
    bowl = get_surface("bowl")
    assert rollout_many([]) == []
    with pytest.raises(ValueError, match="steps must be between"):
        rollout_many([dict(surface=bowl, steps=10), dict(surface=bowl, steps=0)])
    with pytest.raises(ValueError, match="race 1: .*unexpected keyword"):
        rollout_many([dict(surface=bowl), dict(surface=bowl, colour="red")])
    with pytest.raises(ValueError, match="race 2: "):  # checked before any runs
        rollout_many([dict(surface=bowl, steps=100_000)] * 2 + [dict(surface=bowl, noise=-1)])


def test_sweep_of_a_hyperparameter_only_some_have():
    sw = sweep(get_surface("ravine"), steps=100, param="gamma", values=[0.0, 0.5, 0.9])
    assert sw.names == ["momentum", "nag"]
    with pytest.raises(ValueError, match="no hyperparameter 'gamma'"):
        sweep(get_surface("ravine"), steps=10, param="gamma", values=[0.5], optimizers=["adam"])


BAD_CALLS = [
    (dict(optimizers=["adam", "lion"]), "unknown optimizer 'lion'"),
    (dict(optimizers=[]), "empty"),
    (dict(optimizers="adam"), "list of ids"),
    (dict(optimizers=["gd", "gd"]), "twice"),
    (dict(settings={"adam": {"gamma": 0.9}}), "Adam has no hyperparameter 'gamma'"),
    (dict(settings={"nope": {}}), "unknown optimizer"),
    (dict(settings=[1, 2]), "settings must be a dict"),
    (dict(settings={"adam": 0.1}), "must be a dict"),
    (dict(settings={"adam": {"lr": -1}}), "lr must be in"),
    (dict(settings={"adam": {"lr": float("nan")}}), "lr must be in"),
    (dict(settings={"adam": {"lr": "0.1"}}), "must be a number"),
    (dict(settings={"adam": {"lr": True}}), "must be a number"),
    (dict(settings={"momentum": {"gamma": 1.0}}), "gamma must be in"),
    (dict(settings={"adam": {"beta2": 1.5}}), "beta2 must be in"),
    (dict(settings={"adam": {"eps": 0}}), "eps must be in"),
    (dict(steps=0), "steps must be between"),
    (dict(steps=10**9), "steps must be between"),
    (dict(steps=2.5), "whole number"),
    (dict(noise=-1), "noise"),
    (dict(noise=float("inf")), "noise"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=257), "batch_size"),
    (dict(seed=-1), "seed"),
    (dict(start=(float("nan"), 0)), "start"),
    (dict(start=(1e9, 0)), "start"),
    (dict(start="here"), "start"),
    (dict(start=(1, 2, 3)), "start"),
    (dict(start=(10**400, 0)), "start"),  # integers beyond any float, as JSON can carry
    (dict(noise=10**400), "noise"),
    (dict(settings={"adam": {"lr": 10**400}}), "lr must be in"),
]


@pytest.mark.parametrize("kwargs, message", BAD_CALLS)
def test_bad_arguments_raise_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rollout(get_surface("bowl"), **{"steps": 10, **kwargs})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(param="alpha", values=[1]), "unknown hyperparameter 'alpha'"),
        (dict(values=None), "values is required"),
        (dict(values=[]), "1 to"),
        (dict(values=[[0.1, 0.2]]), "flat list"),
        (dict(values=[0.1, -0.1]), "lr must be in"),
        (dict(values=["a"]), "list of numbers"),
        (dict(values=np.ones(64), steps=100_000), "too large"),
    ],
)
def test_bad_sweeps_raise_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sweep(get_surface("bowl"), **{"steps": 10, **kwargs})


def test_surface_argument_is_checked():
    with pytest.raises(ValueError, match="Surface"):
        rollout("bowl")


def test_every_clock_and_schedule_takes_the_loop_the_warm_up_compiled():
    """numba compiles the loop once per type of its arguments, and a strided or read-only array is
    another type: half a second of a worker's CPU for the first student who flips the clock or
    picks a schedule. Every race takes the loop webapp.race.warm_up compiled."""
    pytest.importorskip("numba")
    from optimizers import kernel
    from webapp import state as link
    from webapp.race import warm_up

    warm_up()
    compiled = list(kernel._loop.signatures)
    for query in ["surface=rosenbrock&steps=50&clock=examples", "surface=bowl&schedule=step:step_size=10,gamma=0.5",
                  "surface=iris&steps=80&clock=examples&schedule=cosine", "surface=wine&steps=60&clock=examples",
                  "surface=beale&noise=2&batch=4&clock=examples&extras=adamw", "surface=sparse&schedule=exponential"]:
        state = link.parse(link.decode(query).controls())[0]
        for record_states in (False, True):
            rollout(**state.race_key().rollout_arguments(record_states=record_states))
    assert list(kernel._loop.signatures) == compiled
