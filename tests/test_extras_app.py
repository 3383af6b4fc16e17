"""The opt-in extras in the app (SPEC §1): the race spec with extras, the link round trip and the
exports; every input untrusted, the default race unchanged when none is ticked."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from optimizers import EXTRAS, OPTIMIZERS
from webapp import state as link
from webapp.controls import EXTRAS_CHOICE, SLIDERS, Problems
from webapp.export import race_csv, race_html, race_json, rollout_from_json
from webapp.race import lr_sweep, race_result
from webapp.state import parse, race_settings

DEFAULTS = [s.default for s in SLIDERS.values()]
NINE = list(OPTIMIZERS)


def _spec(extras=None, overrides=None, problems=None, surface="bowl"):
    """The race key of the app's controls at their defaults but 80 steps, σ = 1 and seed 3."""
    raw = {"surface": surface, "steps": 80, "noise": 1.0, "seed": 3, "extras": extras, "overrides": overrides}
    return parse(raw, problems)[0].race_key()


def test_no_extras_is_the_default_race():
    for extras in (None, []):
        spec = _spec(extras)
        assert spec == _spec() and spec.ids == NINE and spec.extras == ()
    assert race_settings({"lr": 0.1}, {}) == race_settings({"lr": 0.1}, {}, ())


def test_race_spec_with_extras_races_them_after_the_nine():
    spec = _spec(["radam", "amsgrad"])  # the race's order is EXTRAS' order, whatever the ticks' order
    assert spec.ids == NINE + ["amsgrad", "radam"] and spec.extras == ("amsgrad", "radam")
    result = race_result(spec)
    assert list(result.names) == spec.ids
    # the nine run exactly as without extras (runs never interact)
    plain = race_result(_spec())
    assert np.array_equal(result.paths[:9], plain.paths) and np.array_equal(result.losses[:9], plain.losses)


def test_shared_sliders_set_the_extras():
    spec = parse({"surface": "bowl", "lr": -1.5, "beta1": 0.8, "eps": -6.0, "extras": ["adamw", "nadam"]})[0].race_key()
    hp = spec.settings_dict()
    for oid in ("adamw", "nadam"):
        assert hp[oid]["lr"] == hp["adam"]["lr"] == SLIDERS["lr"].value(-1.5)
        assert hp[oid]["beta1"] == 0.8 and hp[oid]["eps"] == 1e-6
        assert hp[oid]["beta2"] == hp["adam"]["beta2"]
    # λ and ψ have no shared slider: the per-optimizer panel sets them
    spec = _spec(["adamw", "nadam"], {"adamw": {"weight_decay": 0.5}, "nadam": {"momentum_decay": 0.01}})
    assert spec.settings_dict()["adamw"]["weight_decay"] == 0.5
    assert spec.settings_dict()["nadam"]["momentum_decay"] == 0.01


def test_unknown_extras_are_dropped_with_a_message():
    for hostile in (["amsgrad", "adam", "nope", 3, None, {"a": 1}, ["radam"]], "amsgrad", 7, {"amsgrad": 1}):
        problems = Problems()
        chosen = EXTRAS_CHOICE.check(hostile, problems)
        assert chosen == (("amsgrad",) if isinstance(hostile, list) else ()) and problems
    problems = Problems()
    spec = _spec(["gd", "moon", "radam"], problems=problems)
    assert spec.extras == ("radam",) and any("unknown extras" in p for p in problems)
    # an override of an extra that is not raced changes nothing
    spec = _spec(None, {"adamw": {"weight_decay": 0.5}})
    assert spec.ids == NINE


def test_link_round_trip_with_extras():
    spec = _spec(["amsgrad", "radam"], {"radam": {"lr": 0.0015283067326587688}})
    state = link.RaceState("bowl", spec.start, {"steps": 80, "noise": 1.0}, {"radam": {"lr": 0.0015283067326587688}},
                           ("sgd",), "overlay", None, 3, "", spec.extras)
    search = link.encode(state)
    assert "extras=amsgrad,radam" in search and "radam.lr:0.0015283067326587688" in search
    problems = []
    back = link.decode(search, "rosenbrock", problems)
    assert back == state.complete() and not problems
    # old links (no extras) open the nine, exactly as before
    old = link.decode("?surface=bowl&lr=0.05", "rosenbrock", [])
    assert old.extras == () and "extras" not in link.encode(old)


def test_link_drops_unknown_extras_and_their_settings():
    problems = []
    state = link.decode("?surface=bowl&extras=radam,adam,%3Cscript%3E,radam&set=adamw.weight_decay:0.5,radam.lr:0.1",
                        "rosenbrock", problems)
    assert state.extras == ("radam",)
    assert state.overrides == {"radam": {"lr": 0.1}}  # AdamW is not raced: its setting is ignored
    assert any("unknown extras" in p for p in problems) and any("adamw.weight_decay" in p for p in problems)


def test_exports_include_the_raced_extras_and_rerun_bit_for_bit():
    spec = _spec(["adamw", "nadam"], {"adamw": {"weight_decay": 0.25}})
    result = race_result(spec)
    surface = spec.surface
    data = json.loads(race_json(result, surface))
    assert [o["id"] for o in data["optimizers"]] == NINE + ["adamw", "nadam"]
    assert data["optimizers"][-1]["name"] == "NAdam" and data["settings"]["adamw"]["weight_decay"] == 0.25
    again = rollout_from_json(race_json(result, surface))
    assert list(again.names) == list(result.names)
    assert np.array_equal(again.paths, result.paths) and np.array_equal(again.losses, result.losses)
    text = race_csv(result, surface)
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
    assert {r["optimizer_id"] for r in rows} == set(NINE) | {"adamw", "nadam"}
    adamw = next(r for r in rows if r["optimizer_id"] == "adamw")
    assert adamw["optimizer_name"] == "AdamW" and float(adamw["weight_decay"]) == 0.25 and adamw["momentum_decay"] == ""
    page = race_html(result, surface)
    assert "AdamW" in page and "NAdam" in page and "λ" in page


def test_csv_of_the_nine_keeps_its_columns():
    text = race_csv(race_result(_spec()), _spec().surface)
    header = next(l for l in text.splitlines() if not l.startswith("#"))
    assert "weight_decay" not in header and "momentum_decay" not in header


def test_explorer_sweeps_the_raced_extras():
    sweep = lr_sweep(_spec(["amsgrad"]))
    assert list(sweep.names) == NINE + ["amsgrad"]
    assert list(lr_sweep(_spec()).names) == NINE
    assert set(EXTRAS) >= {"amsgrad"}
