"""The app's server side without a browser: input checks, race settings, payloads, and hostile
JSON posted to the real Dash callback endpoint."""

import base64
import json
import math

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES, get_surface
from devtools.dash_client import loads_strict
from webapp import state as link
from webapp.callbacks import on_race_inputs, on_surface
from webapp.controls import OVERRIDES, PAGE_CONTROLS, RACE_CONTROLS, SLIDERS, START, SURFACE, Problems
from webapp.payload import pack_float32, race_payload, surface_payload
from webapp.state import race_settings


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
    for hostile in ("x", True, [1], {"a": 1}, float("nan"), float("inf"), 1e308, -1e308):
        problems = Problems()
        value = slider.check(hostile, problems)
        assert problems, hostile
        assert math.isfinite(value)
        assert slider.value(slider.low) <= value <= slider.value(slider.high)
    problems = Problems()
    assert slider.check(None, problems) == slider.value(slider.default) and not problems  # not given: the default


def test_slider_values():
    assert SLIDERS["lr"].value(-3) == pytest.approx(1e-3)
    assert SLIDERS["beta2"].value(3) == pytest.approx(0.999)
    assert SLIDERS["batch"].value(4) == 16
    assert SLIDERS["steps"].value(500) == 500


def test_start_point_and_surface_choice():
    s = get_surface("bowl")
    problems = Problems()
    assert START.check([0.5, -0.5], problems, s.domain) == (0.5, -0.5) and not problems
    assert START.check(None, problems, s.domain) is None and not problems  # not given: the surface's own
    assert START.check([99, -99], problems, s.domain) == (2.0, -2.0)  # moved onto the map's edge, and said
    assert problems == ["the start (99, -99) is outside the map (x in [-2, 2], y in [-2, 2]); starting at (2, -2)"]
    for hostile in ("x", [1], [None, 1], [float("nan"), 0], {"x": 1}, [True, 1]):
        problems = Problems()
        assert START.check(hostile, problems, s.domain) is None and problems
    assert SURFACE.check("nope", problems) == SURFACE.check(["bowl"], problems) == "rosenbrock"
    assert SURFACE.check("bowl", problems) == "bowl"


def test_overrides_accept_good_values_and_report_bad_ones():
    problems = Problems()
    raw = {"adam": {"lr": 0.2, "gamma": 0.9}, "x": {"lr": 1.0}, "momentum": {"gamma": 1.5}, "sgd": {"lr": None},
           "rmsprop": "junk", "amsgrad": {"lr": 0.1}}
    assert OVERRIDES.check(raw, problems, raced={"adam", "momentum", "sgd", "rmsprop"}) == {"adam": {"lr": 0.2}}
    assert len(problems) == 4  # gamma on adam, unknown optimizer, γ = 1.5, a malformed entry
    assert OVERRIDES.check(raw, Problems())["amsgrad"] == {"lr": 0.1}  # raced: kept
    problems = Problems()
    assert OVERRIDES.check("junk", problems) == {} and problems


def test_race_callback_survives_garbage():
    positions = [None, "x", float("nan"), 1e308, -1e308, True, [], {}, "5"]
    # the race's controls, then the link's own (lesson, shown optimizers, view)
    out = on_race_inputs(surface={"not": "a surface"}, formula=["x"], start="nowhere",
                         **dict(zip(SLIDERS, positions)), overrides="junk", seed=-3, extras=["bogus", 7],
                         scenario=42, visible="all", view="sideways")
    payload, messages, search = out["race"], out["messages"], out["link"]
    assert payload["surface_id"] == "rosenbrock" and len(messages) > 0
    json.dumps(payload, allow_nan=False)
    assert search == link.encode(link.decode(search, "bowl", [], {}))  # a valid link of that race


def test_surface_callback_sends_finite_json():
    for sid in SURFACES:
        out = on_surface(surface=sid, formula=None, examples=None)
        data, formula, description, box, error = (out[k] for k in ("surface", "formula", "description", "box", "error"))
        assert box == {"display": "none"} and error == ""
        json.dumps(data, allow_nan=False)
        variables = "w, b" if data["data"] else "x, y"  # a data surface's parameters are a model's
        assert formula.startswith(f"$$f({variables}) = ") and description
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


def _race_request(values: dict) -> dict:
    """The race callback's request with `values` (by control id) for its controls."""
    return {
        "output": "..race-data.data...messages.children...link.data..",
        "outputs": [{"id": "race-data", "property": "data"}, {"id": "messages", "property": "children"},
                    {"id": "link", "property": "data"}],
        "inputs": [{"id": c.component, "property": c.prop, "value": values.get(c.id)} for c in RACE_CONTROLS],
        "state": [{"id": c.component, "property": c.prop, "value": values.get(c.id)} for c in PAGE_CONTROLS],
        "changedPropIds": ["slider-lr.value"],
    }


def test_hostile_json_to_the_callback_endpoint_never_500s(client):
    good = _race_request({"surface": "bowl", "start": [1, 1], **{sid: s.default for sid, s in SLIDERS.items()},
                          "overrides": {"adam": {"lr": 0.1}}, "seed": 0})
    response = client.post("/_dash-update-component", json=good)
    assert response.status_code == 200
    body = response.get_json()["response"]
    assert body["race-data"]["data"]["surface_id"] == "bowl"
    assert "set=adam.lr:0.1" in body["link"]["data"]
    hostile_values = [None, "DROP TABLE", 1e308, -1e308, True, [1, 2], {"a": {"b": []}}, {"adam": {"lr": [1]}},
                      -1, 10**30]
    for value in hostile_values:
        payload = _race_request({c.id: value for c in (*RACE_CONTROLS, *PAGE_CONTROLS)})
        response = client.post("/_dash-update-component", json=payload)
        assert response.status_code in (200, 204), (value, response.status_code)
        if response.status_code == 200:  # strict JSON: a NaN or Infinity would raise (not a search for
            loads_strict(response.get_data())  # "NaN", which base64 paths may spell by chance)


def test_oversized_requests_are_refused(client):
    response = client.post("/_dash-update-component", data=b"x" * 2_000_000,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_layout_is_encoded_once_and_served_exactly_as_dash_encodes_it():
    """/_dash-layout sends Dash's own encoding of the layout (webapp/static_layout.py), and the
    second page opened gets it without the layout being encoded again."""
    from dash import Dash
    from dash._utils import to_json

    from webapp.layout import build_layout
    from webapp.static_layout import install_static_layout

    app = Dash(__name__)
    app.layout = build_layout()
    expected = to_json(app.get_layout())
    install_static_layout(app)
    client = app.server.test_client()
    first = client.get("/_dash-layout")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.get_data(as_text=True) == expected
    app.get_layout = lambda: pytest.fail("the layout was encoded again")
    second = client.get("/_dash-layout")
    assert second.get_data(as_text=True) == expected
    made_per_request = Dash(__name__)
    made_per_request.layout = build_layout
    with pytest.raises(ValueError, match="per request"):
        install_static_layout(made_per_request)
