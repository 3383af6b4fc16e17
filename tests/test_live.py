"""Live numbers: recorded states agree with the rules worked by hand and never change a path."""

import json

import numpy as np
import pytest

from optimizers import rollout
from optimizers.live import live_numbers
from surfaces import get_surface

SETTINGS = {o: {"lr": 0.1} for o in ("gd", "momentum", "nag", "adagrad", "rmsprop", "adam")}


def test_recording_states_changes_nothing_else():
    s = get_surface("rosenbrock")
    a = rollout(s, steps=200, noise=0.5, seed=4)
    b = rollout(s, steps=200, noise=0.5, seed=4, record_states=True)
    assert np.array_equal(a.paths, b.paths) and a.states is None
    assert b.states["grad"].shape == (9, 200, 2)


def test_states_match_hand_values_on_the_bowl():
    r = rollout(get_surface("bowl"), start=(1.0, 0.0), steps=3, settings=SETTINGS, record_states=True)
    rows = {row["id"]: row for row in live_numbers(r, 2)["rows"]}
    # momentum keeps torch's buffer b = v/η: b1 = 2, θ1 = 0.8, g2 = 1.6, b2 = 0.9·2 + 1.6 = 3.4
    # (v2 = η·b2 = 0.34); both updates used η = 0.1
    assert rows["momentum"]["grad"][0] == pytest.approx(1.6)
    assert rows["momentum"]["state"][0]["symbol"] == "b"
    assert rows["momentum"]["state"][0]["value"][0] == pytest.approx(3.4)
    assert rows["momentum"]["lr"] == 0.1
    # Nesterov's next look-ahead θ2 − γ·η·b2 (q0 = 1, b1 = 2, θ1 = 0.8; q1 = 0.62, b2 = 3.04, θ2 = 0.496)
    nag = {q["symbol"]: q["value"][0] for q in rows["nag"]["state"]}
    assert nag["b"] == pytest.approx(3.04) and nag["θ − γηb"] == pytest.approx(0.496 - 0.9 * 0.304)
    # Adam after two updates: m = 0.36, v = 0.007236, m̂ = 0.36/0.19, v̂ = 0.007236/0.001999
    adam = {q["symbol"]: q["value"][0] for q in rows["adam"]["state"]}
    assert adam["m"] == pytest.approx(0.36) and adam["v"] == pytest.approx(0.007236)
    assert adam["m̂"] == pytest.approx(0.36 / 0.19)
    assert adam["v̂"] == pytest.approx(0.007236 / 0.001999)
    # GD's effective learning rate is exactly its η; y never moves, so it has none
    assert rows["gd"]["effective_lr"] == [pytest.approx(0.1), None]
    # AdaGrad: G = 2² + 1.8² after two updates
    assert rows["adagrad"]["state"][0]["value"][0] == pytest.approx(4 + 1.8**2, rel=1e-8)


def test_live_numbers_of_a_diverged_run_are_finite_and_flagged():
    r = rollout(get_surface("bowl"), steps=300, settings={"gd": {"lr": 3.0}}, record_states=True)
    d = r.diverged_at[0]
    assert d > 0
    numbers = live_numbers(r, 300)
    gd = numbers["rows"][0]
    assert gd["diverged"] and gd["update"] == d - 1
    json.dumps(numbers, allow_nan=False)
    with pytest.raises(ValueError, match="record_states"):
        live_numbers(rollout(get_surface("bowl"), steps=3), 1)
