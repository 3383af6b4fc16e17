"""The learning-rate range test (optimizers/lr_range.py): its η sequence, its stop rule, and GD's
outcome on the bowl worked out by hand."""

import math

import numpy as np
import pytest

from optimizers import ALL_OPTIMIZERS, rollout
from optimizers.lr_range import lr_range_test, smooth
from optimizers.schedules import Schedule
from surfaces import get_surface


def test_eta_grows_exactly_exponentially_from_low_to_high():
    r = lr_range_test(get_surface("bowl"), optimizers=["gd"])
    assert r.lrs.shape == (100,) and r.lrs[0] == 1e-7
    assert r.lrs[-1] == pytest.approx(10.0, rel=1e-12)
    ratios = r.lrs[1:] / r.lrs[:-1]
    np.testing.assert_allclose(ratios, 1e8 ** (1 / 99), rtol=1e-12)
    np.testing.assert_allclose(np.log10(r.lrs), np.linspace(-7, 1, 100), rtol=0, atol=1e-12)
    assert r.schedule == {"kind": "exponential", "gamma": 1e8 ** (1 / 99)}
    # the first update used η = 1e-7: the bowl's loss falls by the factor (1 − 2·1e-7)²
    assert r.losses[0, 0] == pytest.approx(r.start_loss[0] * (1 - 2e-7) ** 2, rel=1e-15)
    other = lr_range_test(get_surface("bowl"), optimizers=["gd"], low=1e-3, high=1.0, steps=4)
    np.testing.assert_allclose(other.lrs, [1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)


def _gd_on_the_bowl_by_hand(lrs, start_loss):
    """GD on f = x² + y²: each update multiplies θ by 1 − 2ηₜ, so the loss by (1 − 2ηₜ)²."""
    losses = start_loss * np.cumprod((1 - 2 * lrs) ** 2)
    previous = np.concatenate([[start_loss], losses[:-1]])
    best = np.minimum.accumulate(previous)
    stop = int(np.flatnonzero(losses > 4 * best)[0]) + 1
    drops = losses[: stop - 1] - previous[: stop - 1]  # L_t − L_(t−1) = −L_(t−1)·4ηₜ(1 − ηₜ)
    return losses, stop, int(np.argmin(drops)) + 1


def test_gd_on_the_bowl_by_hand():
    s = get_surface("bowl")  # λ = 2: GD is stable for η < 2/λ = 1
    r = lr_range_test(s, optimizers=["gd"])
    losses, stop, suggested = _gd_on_the_bowl_by_hand(r.lrs, 1.6**2 + 1.3**2)
    np.testing.assert_allclose(r.losses[0, : stop], losses[:stop], rtol=1e-9)
    assert r.stopped_at[0] == stop == 90 and r.stop_reason == ("loss",)
    # the stop comes two updates after η first passes 1: the loss grows by (2η − 1)² > 1 a step
    first_above = int(np.argmax(r.lrs > 1)) + 1
    assert first_above == 88 and r.lrs[first_above - 2] < 1 < r.lrs[first_above - 1]
    assert stop == first_above + 2
    assert r.lrs[stop - 1] == pytest.approx(10 ** (-7 + 8 * 89 / 99))  # ≈ 1.56
    # its suggestion: the steepest drop, well below the stable limit (a twentieth of it)
    assert r.suggested_at[0] == suggested == 71
    assert r.suggested_lr[0] == pytest.approx(10 ** (-7 + 8 * 70 / 99))
    assert 0.02 < r.suggested_lr[0] < 0.1
    # on a quadratic GD's suggestion does not depend on the distance to the minimum
    for start in [(-16.0, 13.0), (0.3, 0.0)]:
        assert lr_range_test(s, start=start, optimizers=["gd"]).suggested_at[0] == 71
    # and GD held at the suggestion converges on the bowl
    assert rollout(s, steps=500, settings={"gd": {"lr": float(r.suggested_lr[0])}}, optimizers=["gd"]).settled_at[0] > 0


def test_the_stop_rule_is_exactly_loss_above_4_times_the_best_so_far():
    for sid in ("bowl", "ravine", "rosenbrock", "saddle"):
        s = get_surface(sid)
        r = lr_range_test(s, optimizers=list(ALL_OPTIMIZERS))
        for i, oid in enumerate(r.names):
            excess = np.concatenate([[r.start_loss[i]], r.losses[i]]) - s.f_min
            stop = r.stopped_at[i]
            end = stop if stop > 0 else r.steps + 1
            for t in range(1, end):  # no update before the stop broke the rule
                assert not excess[t] > 4 * np.min(excess[:t]), (sid, oid, t)
            if r.stop_reason[i] == "loss":
                assert excess[stop] > 4 * np.min(excess[:stop]), (sid, oid)
            assert r.best_loss[i] - s.f_min == pytest.approx(np.min(excess[:end]), rel=1e-12)
            if r.suggested_at[i] > 0:
                assert r.suggested_at[i] < end


def test_a_lower_stop_factor_stops_sooner_and_divergence_stops_too():
    s = get_surface("bowl")
    loose = lr_range_test(s, optimizers=["gd"], stop_factor=100.0)
    tight = lr_range_test(s, optimizers=["gd"], stop_factor=1.5)
    assert tight.stopped_at[0] <= 90 <= loose.stopped_at[0]
    # with no stop by loss GD runs until it leaves the escape box: it diverges, and the losses
    # from there are NaN
    far = lr_range_test(s, optimizers=["gd"], stop_factor=1e300, high=100.0, steps=200)
    assert far.stop_reason == ("diverged",)
    d = far.stopped_at[0]
    assert np.isnan(far.losses[0, d - 1 :]).all() and np.isfinite(far.losses[0, : d - 1]).all()


def test_the_suggestion_reads_the_steepest_slope_against_log_eta():
    s = get_surface("ravine")
    r = lr_range_test(s, optimizers=["gd", "adam", "rmsprop"])
    for i in range(len(r.names)):
        end = r.stopped_at[i] - 1 if r.stopped_at[i] > 0 else r.steps
        L = np.concatenate([[r.start_loss[i]], r.losses[i, :end]])
        slopes = np.diff(L) / np.diff(np.log10(np.concatenate([[r.lrs[0] / (r.lrs[1] / r.lrs[0])], r.lrs[:end]])))
        assert r.suggested_at[i] == int(np.argmin(slopes)) + 1


def test_smoothing_is_fastais_debiased_moving_average():
    values = np.array([4.0, 2.0, 1.0])
    beta = 0.98
    a1 = 0.02 * 4
    a2 = beta * a1 + 0.02 * 2
    a3 = beta * a2 + 0.02 * 1
    np.testing.assert_allclose(smooth(values, beta), [a1 / (1 - beta), a2 / (1 - beta**2), a3 / (1 - beta**3)])
    assert smooth(values, beta)[0] == pytest.approx(4.0)  # debiased: the first value itself
    r = lr_range_test(get_surface("bowl"), optimizers=["gd"], smoothing=0.98)
    plain = lr_range_test(get_surface("bowl"), optimizers=["gd"])
    assert r.stopped_at[0] == plain.stopped_at[0]  # the stop reads the raw losses
    assert r.suggested_lr[0] > plain.suggested_lr[0]  # the average lags: a larger η


def test_the_range_test_is_a_race_with_an_exponential_schedule():
    s = get_surface("rosenbrock")
    r = lr_range_test(s, optimizers=["adam", "momentum"], settings={"momentum": {"gamma": 0.5}}, noise=0.3, seed=2)
    gamma = 1e8 ** (1 / 99)
    race = rollout(s, steps=100, settings={"adam": {"lr": 1e-7}, "momentum": {"lr": 1e-7, "gamma": 0.5}},
                   optimizers=["adam", "momentum"], noise=0.3, seed=2, schedule=Schedule("exponential", gamma=gamma))
    for i in range(2):
        end = r.stopped_at[i] - 1 if r.stopped_at[i] > 0 else 100
        np.testing.assert_array_equal(r.losses[i, :end], race.losses[i, 1 : end + 1])


def test_adadelta_barely_moves_and_is_suggested_the_top_of_the_range():
    r = lr_range_test(get_surface("bowl"), optimizers=["adadelta"])
    assert r.stopped_at[0] == -1 and r.stop_reason == (None,)
    assert r.suggested_at[0] == 100 and r.suggested_lr[0] == pytest.approx(10.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"low": 0.0}, "low must be a finite number > 0"),
    ({"high": math.inf}, "high must be a finite number > 0"),
    ({"low": 1.0, "high": 0.5}, r"low \(1\) must be smaller than high \(0.5\)"),
    ({"steps": 1}, "steps must be a whole number from 2"),
    ({"steps": 50.0}, "steps must be a whole number"),
    ({"stop_factor": 1.0}, "stop_factor must be greater than 1"),
    ({"smoothing": 1.0}, r"smoothing must be a number in \[0, 1\)"),
    ({"settings": {"adam": {"lr": 0.1}}}, "the range test sets η itself"),
    ({"settings": {"adam": 0.1}}, "must be a dict"),
    ({"optimizers": ["nope"]}, "unknown optimizer"),
    ({"settings": {"adam": {"beta1": 2.0}}}, "beta1 must be in"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lr_range_test(get_surface("bowl"), **kwargs)


def test_rows_are_plain_numbers():
    import json

    r = lr_range_test(get_surface("bowl"), optimizers=["gd", "adadelta"])
    rows = [r.row(oid) for oid in r.names]
    json.dumps(rows, allow_nan=False)
    assert rows[0]["stop_lr"] == pytest.approx(r.lrs[89]) and rows[1]["stop_lr"] is None
