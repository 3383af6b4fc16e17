"""What the page says is what the race shows (server side): exports hold exactly the shown
optimizers and still re-run bit for bit; a link holds every number exactly as the race used it;
GD, SGD and Mini-batch SGD really do coincide when σ = 0 (the page says so then)."""

import csv
import io
import json
import math
import re
from urllib.parse import parse_qsl

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizers import HYPERPARAMETERS, OPTIMIZERS, rollout
from optimizers.engine import is_data
from surfaces import SURFACES, get_surface
from webapp import export
from webapp import state as link
from tests.checks import callback_request
from webapp.callbacks import NOTHING_SHOWN
from webapp.controls import PARTS, SLIDERS, VISIBLE, Problems, link_text
from webapp.export import race_csv, race_html, race_json, rollout_from_json
from webapp.race import race_result
from webapp.state import parse, race_settings

IDS = list(OPTIMIZERS)


def race(surface_id="rosenbrock", steps=150, noise=1.5, **kw):
    s = get_surface(surface_id)
    settings_ = race_settings({"lr": s.lr}, {"gd": {"lr": 5.0}, "adam": {"lr": 0.05}, "sgd": {"lr": 0.0015283067326587688}})
    return rollout(s, steps=steps, settings=settings_, noise=noise, batch_size=8, seed=11, **kw), s


# -- exports of the shown optimizers -----------------------------------------------------------------
SUBSETS = [["adagrad", "rmsprop"], ["sgd", "minibatch_sgd", "adam"], ["gd"], ["nag", "momentum", "adadelta", "adam"]]


@pytest.mark.parametrize("shown", SUBSETS)
def test_json_of_the_shown_optimizers_reruns_bit_for_bit(shown):
    full, s = race()
    part = full.only(shown)
    data = json.loads(race_json(part, s))
    ids = [o["id"] for o in data["optimizers"]]
    assert ids == [o for o in IDS if o in shown]  # the race's order, nothing hidden
    assert set(data["settings"]) == set(shown) and set(data["ranking"]) == set(shown)
    again = rollout_from_json(json.dumps(data))  # re-runs exactly the file's "optimizers"
    assert again.names == ids
    rows = [IDS.index(o) for o in ids]
    assert again.paths.tobytes() == full.paths[rows].tobytes()  # the app's race, bit for bit
    assert again.losses.tobytes() == full.losses[rows].tobytes()
    assert np.array_equal(again.diverged_at, full.diverged_at[rows])
    assert np.array_equal(again.arrived_at, full.arrived_at[rows])
    for o, path in zip(data["optimizers"], again.paths):
        assert np.array_equal(np.array(o["path"]), path)


def test_csv_and_html_hold_only_the_shown_optimizers():
    full, s = race(steps=60)
    shown = ["gd", "adagrad", "adam"]
    part = full.only(shown)
    text = race_csv(part, s)
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
    assert [r["optimizer_id"] for r in rows[:: 61]] == shown and len(rows) == 3 * 61
    page = race_html(part, s)
    payload = json.loads(re.search(r'<script type="application/json" id="race-data">(.*?)</script>', page, re.S).group(1))
    assert payload["ids"] == shown
    assert "SGD + Momentum" not in page.split('id="race-data"')[0]  # not in the settings table either


def test_visible_is_untrusted_json():
    def shown(raw):
        return list(VISIBLE.check(raw, Problems()))

    assert shown(["adam", 3, {"a": 1}, ["gd"], None, "nope", "gd", "adam"]) == ["gd", "adam"]
    assert shown("junk") == IDS and shown(None) == IDS and shown({"gd": 1}) == IDS
    assert shown([]) == [] and shown(["moon"]) == []


@pytest.fixture(scope="module")
def client():
    from app import create_app

    app = create_app()
    return app.server.test_client(), app


def _export_request(app, button, visible, surface="bowl", noise_position=1.0):
    """The export callback's request, as the page sends it for `button` (a per-optimizer η for
    SGD, seed 2, a clicked start)."""
    positions = {f"slider-{sid}": s.default for sid, s in SLIDERS.items()} | {"slider-noise": noise_position,
                                                                                "slider-steps": 60}
    return callback_request(app, "..download.data", {
        button: 1, "view": "grid", "visible": visible, "surface": surface, "start-point": [1.2345, -0.5],
        **positions, "overrides": {"sgd": {"lr": 0.0015283067326587688}}, "seed": 2,
    })


def _post(client, body):
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


def test_the_export_callback_exports_the_shown_optimizers(client):
    http, app = client
    visible = ["adam", 3, {"a": 1}, "nope", "sgd", "gd"]  # junk is dropped, order is the race's
    body = _post(http, _export_request(app, "btn-export-json", visible))
    data = json.loads(body["download"]["data"]["content"])
    assert [o["id"] for o in data["optimizers"]] == ["gd", "sgd", "adam"]
    assert data["settings"]["sgd"]["lr"] == 0.0015283067326587688 and data["start"] == [1.2345, -0.5]
    # the very race the app shows (same spec → the worker's cached race), those rows only
    spec, _ = parse({"surface": "bowl", "start": [1.2345, -0.5], "lr": SLIDERS["lr"].default, "noise": 1.0, "steps": 60, "seed": 2,
                     "overrides": {"sgd": {"lr": 0.0015283067326587688}}})
    shown = race_result(spec).only(["gd", "sgd", "adam"])
    again = rollout_from_json(body["download"]["data"]["content"])
    assert again.paths.tobytes() == shown.paths.tobytes() and again.noise == 1.0 and again.seed == 2

    body = _post(http, _export_request(app, "btn-export-csv", ["rmsprop"]))
    rows = [r for r in csv.reader(io.StringIO(body["download"]["data"]["content"])) if r and not r[0].startswith("#")]
    assert {r[0] for r in rows[1:]} == {"rmsprop"}

    body = _post(http, _export_request(app, "btn-export-html", ["nag", "adagrad"]))
    page = body["download"]["data"]["content"]
    payload = json.loads(re.search(r'id="race-data">(.*?)</script>', page, re.S).group(1))
    assert payload["ids"] == ["nag", "adagrad"]


@pytest.mark.parametrize("visible", [[], ["moon", 7], [None]])
def test_nothing_shown_exports_nothing_and_says_so(client, visible):
    http, app = client
    body = _post(http, _export_request(app, "btn-export-json", visible))
    assert "download" not in body
    assert NOTHING_SHOWN in json.dumps(body["messages"]["children"], ensure_ascii=False)


def test_the_command_line_leaves_hidden_optimizers_out(tmp_path):
    target = tmp_path / "race.json"
    assert export.main(["--surface", "ravine", "--steps", "40", "--noise", "1", "--seed", "3", "--hide", "sgd,adam",
                        "--hide", "nag", "--set", "gd.lr=0.0123", "-o", str(target)]) == 0
    data = json.loads(target.read_text())
    kept = [o for o in IDS if o not in ("sgd", "adam", "nag")]
    assert [o["id"] for o in data["optimizers"]] == kept
    full = rollout(get_surface("ravine"), steps=40, noise=1.0, seed=3, batch_size=16,
                   settings=race_settings({"lr": get_surface("ravine").lr}, {"gd": {"lr": 0.0123}}))
    assert rollout_from_json(target.read_text()).paths.tobytes() == full.only(kept).paths.tobytes()


@pytest.mark.parametrize("hide, message", [
    (",".join(IDS), "leaves no optimizer"),
])
def test_the_command_line_refuses_a_bad_hide(hide, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        export.main(["--steps", "5", "--hide", hide, "-o", str(tmp_path / "x.json")])
    assert stop.value.code == 2 and message in capsys.readouterr().err


# -- links hold every number exactly --------------------------------------------------------------------
def _hp_values(key):
    hp = HYPERPARAMETERS[key]
    return st.floats(min_value=hp.low, max_value=None if math.isinf(hp.high) else hp.high,
                     exclude_min=not hp.low_inclusive, exclude_max=not hp.high_inclusive and not math.isinf(hp.high),
                     allow_nan=False, allow_infinity=False)


@st.composite
def race_states(draw):
    surface = draw(st.sampled_from(list(SURFACES)))
    (x0, x1), (y0, y1) = SURFACES[surface].domain  # on the map (outside it, a start is moved onto its edge)
    start = draw(st.none() | st.tuples(st.floats(x0, x1), st.floats(y0, y1)))
    values = {}
    for sid in draw(st.lists(st.sampled_from(list(SLIDERS)), unique=True)):
        slider = SLIDERS[sid]
        values[sid] = slider.value(draw(st.floats(slider.low, slider.high)))
    overrides = {}
    for oid in draw(st.lists(st.sampled_from(IDS), unique=True, max_size=9)):
        keys = draw(st.lists(st.sampled_from(list(OPTIMIZERS[oid].defaults)), unique=True, min_size=1))
        overrides[oid] = {k: draw(_hp_values(k)) for k in keys}
    hidden = tuple(o for o in IDS if o in draw(st.sets(st.sampled_from(IDS))))
    view = draw(st.sampled_from(list(link.VIEWS)))
    seed = draw(st.integers(0, 2**31 - 1))
    hidden_parts = tuple(p for p in PARTS if p in draw(st.sets(st.sampled_from(list(PARTS)))))
    lockable = [p.id for p in PARTS.values() if p.lockable]
    locked_parts = tuple(p for p in lockable if p in draw(st.sets(st.sampled_from(lockable))))
    return link.RaceState(surface, start, values, overrides, hidden, view, None, seed, hidden_parts=hidden_parts,
                          locked_parts=locked_parts, predict=draw(st.booleans()), present=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(race_states())
def test_links_carry_every_float_exactly(state):
    problems = []
    search = link.encode(state)
    back = link.decode(search, "bowl", problems)
    assert problems == [] and back == state.complete()
    if state.start is not None:  # bit for bit, the sign of zero included
        assert [math.copysign(1, v) for v in back.start] == [math.copysign(1, v) for v in state.start]
    assert len(search) <= link.MAX_QUERY


def test_hide_holds_optimizers_and_parts_and_says_an_unknown_name_once():
    problems = []
    state = link.decode("?surface=bowl&hide=sgd,noise,moon,explorer&lock=lr,loss,start&predict=1&present=2",
                        "bowl", problems)
    assert state.hidden == ("sgd",) and state.hidden_parts == ("noise", "explorer")
    assert state.locked_parts == ("lr", "start") and state.predict and not state.present
    assert problems == ["the link names unknown optimizers or parts 'moon'; ignored",
                        "the link names unknown parts to lock 'loss'; ignored",
                        "the link's present='2' is not 1 or 0; ignored"]
    assert "hide=sgd,noise,explorer&lock=lr,start&predict=1" in link.encode(state)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_is_written_as_short_as_reads_back_exactly(v):
    text = link_text(v)
    assert float(text) == v and math.copysign(1, float(text)) == math.copysign(1, v)
    if float(f"{v:.6g}") == v:
        assert text == f"{v:.6g}"  # what round numbers always looked like
    else:
        assert text == repr(v)


def test_a_clicked_start_and_a_tuned_rate_rerun_bit_for_bit():
    state = link.RaceState("rosenbrock", (-1.314102564, 2.0), {"noise": 0.5, "steps": 300},
                           {"adam": {"lr": 0.0015283067326587688}}, seed=4)
    search = link.encode(state)
    params = dict(parse_qsl(search[1:]))
    assert params["x"] == "-1.314102564" and params["y"] == "2"
    assert params["set"] == "adam.lr:0.0015283067326587688"
    back = link.decode(search, "bowl", [])

    def run(st_):
        return race_result(st_)

    a, b = run(state), run(back)
    assert a.start == b.start == (-1.314102564, 2.0)
    assert a.paths.tobytes() == b.paths.tobytes()
    # and 6 significant digits would not have been the same race
    rounded = link.RaceState("rosenbrock", (-1.3141, 2.0), state.values, state.overrides, seed=4)
    assert run(rounded).paths.tobytes() != a.paths.tobytes()


# -- the σ = 0 note tells the truth ----------------------------------------------------------------------
# (on a data surface the noise is the examples: there is no σ = 0)
@pytest.mark.parametrize("surface_id", [sid for sid in SURFACES if not is_data(SURFACES[sid])])
def test_plain_optimizers_coincide_exactly_when_sigma_is_zero(surface_id):
    s = get_surface(surface_id)
    plain = ["gd", "sgd", "minibatch_sgd"]
    exact = rollout(s, steps=200, settings=race_settings({"lr": s.lr}, {}), optimizers=plain, noise=0.0,
                    batch_size=4, seed=9)
    assert exact.paths[0].tobytes() == exact.paths[1].tobytes() == exact.paths[2].tobytes()
    noisy = rollout(s, steps=200, settings=race_settings({"lr": s.lr}, {}), optimizers=plain, noise=0.5,
                    batch_size=4, seed=9)
    assert not np.array_equal(noisy.paths[0], noisy.paths[1]) and not np.array_equal(noisy.paths[1], noisy.paths[2])
