"""The app's server side without a browser: input checks, race settings, payloads, and hostile
JSON posted to the real Dash callback endpoint."""

import base64
import json
import math

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES, get_surface
from webapp import state as link
from webapp import validation
from webapp.callbacks import on_race_inputs, on_surface
from webapp.controls import SLIDERS
from webapp.payload import pack_float32, race_payload, surface_payload
from webapp.race import race_settings


def decode(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def test_shared_sliders_reach_every_optimizer_that_has_them():
    shared = {"lr": 0.02, "gamma": 0.5, "rho": 0.8, "beta1": 0.7, "beta2": 0.99, "eps": 1e-7}
    s = race_settings(shared, {"adam": {"lr": 0.3}})
    assert s["gd"] == s["sgd"] == s["minibatch_sgd"] == {"lr": 0.02}
    assert s["momentum"] == s["nag"] == {"lr": 0.02, "gamma": 0.5}
    assert s["adagrad"] == {"lr": 0.02, "eps": 1e-7}
    assert s["adadelta"] == {"rho": 0.8}  # keeps its own η = 1 and ε = 1e-6
    assert s["rmsprop"] == {"lr": 0.02, "rho": 0.8, "eps": 1e-7}
    assert s["adam"] == {"lr": 0.3, "beta1": 0.7, "beta2": 0.99, "eps": 1e-7}


@pytest.mark.parametrize("sid", list(SLIDERS))
def test_slider_positions_round_trip_and_clamp(sid):
    slider = SLIDERS[sid]
    for p in (slider.low, slider.default, slider.high):
        value = slider.value(p)
        assert slider.position(value) == pytest.approx(p, abs=1e-9 if not slider.integer else 0.5)
    for hostile in (None, "x", True, [1], {"a": 1}, float("nan"), float("inf"), 1e308, -1e308):
        problems = validation.Problems()
        value = validation.slider_value(sid, hostile, problems)
        assert problems, hostile
        assert math.isfinite(value)
        assert slider.value(slider.low) <= value <= slider.value(slider.high)


def test_slider_values():
    assert SLIDERS["lr"].value(-3) == pytest.approx(1e-3)
    assert SLIDERS["beta2"].value(3) == pytest.approx(0.999)
    assert SLIDERS["batch"].value(4) == 16
    assert SLIDERS["steps"].value(500) == 500


def test_start_point_and_surface_choice():
    s = get_surface("bowl")
    problems = validation.Problems()
    assert validation.start_point([0.5, -0.5], s, problems) == (0.5, -0.5) and not problems
    assert validation.start_point([99, -99], s, problems) == (2.0, -2.0)  # clamped into the domain
    for hostile in ("x", [1], [None, 1], [float("nan"), 0], {"x": 1}, [True, 1]):
        assert validation.start_point(hostile, s, validation.Problems()) == s.start
    assert validation.surface_choice("nope", problems, "bowl") is s
    assert validation.surface_choice(["bowl"], problems, "bowl") is s


def test_overrides_accept_good_values_and_report_bad_ones():
    problems = validation.Problems()
    entries = validation.override_entries(
        [{"opt": "adam", "hp": "lr"}, {"opt": "adam", "hp": "gamma"}, {"opt": "x", "hp": "lr"},
         {"opt": "momentum", "hp": "gamma"}, {"opt": ["a"], "hp": {}}, "junk", {"opt": "sgd", "hp": "lr"}],
        [0.2, 0.9, 1.0, 1.5, 3, 4, None],
    )
    result = validation.overrides(entries, problems)
    assert result == {"adam": {"lr": 0.2}}
    assert len(problems) == 4  # gamma on adam, unknown optimizer, γ = 1.5, malformed ids
    assert validation.override_entries("junk", None) == []


def test_race_callback_survives_garbage():
    positions = [None, "x", float("nan"), 1e308, -1e308, True, [], {}, "5"]
    # the race's controls, then the link's own (lesson, shown optimizers, view)
    payload, messages, search = on_race_inputs({"not": "a surface"}, ["x"], "nowhere", *positions, "junk", -3, ["bogus", 7], None,
                                               42, "all", "sideways")
    assert payload["surface_id"] == "rosenbrock" and len(messages) > 0
    json.dumps(payload, allow_nan=False)
    assert search == link.encode(link.decode(search, "bowl", [], {}))  # a valid link of that race


def test_surface_callback_sends_finite_json():
    for sid in SURFACES:
        data, formula, description, box, error = on_surface(sid, None)
        assert box == {"display": "none"} and error == ""
        json.dumps(data, allow_nan=False)
        assert formula.startswith("$$f(x, y) = ") and description
        assert len(data["grid"]["z"]) == len(data["grid"]["y"])


def test_race_payload_is_compact_finite_and_exact_enough():
    s = get_surface("bowl")
    r = rollout(s, steps=1000, settings={"gd": {"lr": 1.5}, "adam": {"lr": 0.1}})
    p = race_payload(r, s)
    json.dumps(p, allow_nan=False)
    paths = decode(p["paths"]).reshape(9, 1001, 2)
    gaps = decode(p["gaps"]).reshape(9, 1001)
    assert np.isfinite(paths).all() and np.isfinite(gaps).all() and (gaps >= 0).all()
    np.testing.assert_allclose(paths, r.paths, rtol=1e-6, atol=1e-30)
    assert p["diverged_at"][0] > 0 and p["ids"] == list(OPTIMIZERS)
    assert len(json.dumps(p)) < 200_000  # before gzip; the browser benchmark measures the wire


def test_pack_float32_clips_to_float32_and_refuses_nan():
    assert decode(pack_float32(np.array([1e300, -1e300]))).tolist() == [
        pytest.approx(3.4028235e38), pytest.approx(-3.4028235e38)]
    with pytest.raises(ValueError):
        pack_float32(np.array([np.nan]))


def test_surface_payload_uses_log_levels():
    p = surface_payload(get_surface("bowl"))
    z = np.array(p["grid"]["z"], dtype=float)
    assert np.isfinite(z).all()
    xs, ys, floor = p["grid"]["x"], p["grid"]["y"], p["grid"]["floor"]
    assert z.min() >= math.log10(floor) - 1e-4
    for i, j in ((0, 0), (60, 17), (119, 119)):  # z[i][j] is the level at (x[j], y[i])
        expected = math.log10(xs[j] ** 2 + ys[i] ** 2 + floor)  # bowl: f − f_min = x² + y²
        assert z[i, j] == pytest.approx(expected, abs=1e-3)


@pytest.fixture(scope="module")
def client():
    from app import create_app

    return create_app().server.test_client()


def _race_request(surface, start, positions, override_values, reseed, extras=None):
    ids = [{"type": "override", "opt": o, "hp": k} for o, spec in OPTIMIZERS.items() for k in spec.defaults]
    inputs = [{"id": "surface", "property": "value", "value": surface},
              {"id": "formula", "property": "value", "value": surface},
              {"id": "start-point", "property": "data", "value": start}]
    inputs += [{"id": f"slider-{sid}", "property": "value", "value": p} for sid, p in zip(SLIDERS, positions)]
    inputs.append([{"id": i, "property": "value", "value": v} for i, v in zip(ids, override_values)])
    inputs.append({"id": "btn-reseed", "property": "n_clicks", "value": reseed})
    inputs.append({"id": "extras", "property": "value", "value": extras})
    return {
        "output": "..race-data.data...messages.children...link.data..",
        "outputs": [{"id": "race-data", "property": "data"}, {"id": "messages", "property": "children"},
                    {"id": "link", "property": "data"}],
        "inputs": inputs,
        "state": [[{"id": i, "property": "id", "value": i} for i in ids],
                  {"id": "scenario", "property": "value", "value": reseed},
                  {"id": "visible", "property": "value", "value": start},
                  {"id": "view", "property": "value", "value": surface}],
        "changedPropIds": ["slider-lr.value"],
    }


def test_hostile_json_to_the_callback_endpoint_never_500s(client):
    n_over = sum(len(s.defaults) for s in OPTIMIZERS.values())
    good = _race_request("bowl", [1, 1], [s.default for s in SLIDERS.values()], [None] * n_over, 0)
    response = client.post("/_dash-update-component", json=good)
    assert response.status_code == 200
    body = response.get_json()["response"]
    assert body["race-data"]["data"]["surface_id"] == "bowl"
    hostile_values = [None, "DROP TABLE", 1e308, -1e308, True, [1, 2], {"a": {"b": []}}, -1, 10**30]
    for value in hostile_values:
        payload = _race_request(value, value, [value] * len(SLIDERS), [value] * n_over, value, value)
        response = client.post("/_dash-update-component", json=payload)
        assert response.status_code in (200, 204), (value, response.status_code)
        text = response.get_data(as_text=True)
        assert "NaN" not in text and "Infinity" not in text


def test_oversized_requests_are_refused(client):
    response = client.post("/_dash-update-component", data=b"x" * 1_000_000,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
