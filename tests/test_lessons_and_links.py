"""Scenarios do what their text says; links round-trip; the explorer's bands and tuning."""

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES
from webapp import state as link
from webapp.explorer import bands, best_learning_rates, explorer_figure
from webapp.race import lr_sweep, race_result
from webapp.scenarios import SCENARIOS

IDS = list(OPTIMIZERS)


def race_of(state: link.RaceState):
    """The app's race of a state, and its key (the engine's arguments)."""
    key = state.race_key()
    return race_result(key), key


def test_links_round_trip():
    st = link.RaceState("ravine", (-5.0, 1.5), {"lr": 0.02, "noise": 0.5, "batch": 4, "steps": 700},
                        {"adam": {"lr": 0.3, "beta2": 0.99}}, ("sgd",), "overlay", "momentum_ravine", 7)
    problems = []
    back = link.decode(link.encode(st), "bowl", problems)
    assert problems == [] and back == st.complete()
    a, _ = race_of(st)
    b, _ = race_of(back)
    assert np.array_equal(a.paths, b.paths)


@pytest.mark.parametrize("query", [
    "?surface=nope", "?x=abc&y=1", "?lr=-1", "?lr=nan", "?beta2=1.5", "?set=adam.gamma:1,zzz",
    "?set=adam.lr:-5", "?view=4d", "?seed=-3", "?steps=1e300", "?" + "a" * 5000, "?%ff%fe=\x00",
])
def test_bad_links_are_reported_not_fatal(query):
    problems = []
    st = link.decode(query, "bowl", problems)
    assert st.surface in SURFACES
    race_of(st)  # still races
    if query != "?%ff%fe=\x00":  # a key the app does not know is ignored, as a link from a newer version's
        assert problems, f"{query[:30]!r} was not reported"


def test_bare_scenario_link_opens_the_lesson():
    states = {k: s.state for k, s in SCENARIOS.items()}
    lesson = SCENARIOS["saddle_escape"].state
    assert link.decode("?scenario=saddle_escape", "bowl", [], states) == lesson
    # with the browser's step, or a teacher's hide/lock/predict/present, it is still the lesson as written
    assert link.decode("?scenario=saddle_escape&step=60", "bowl", [], states) == lesson
    problems = []
    taught = link.decode("?scenario=saddle_escape&hide=explorer,noise&lock=lr&predict=1&present=1", "bowl", problems,
                         states)
    assert not problems and taught.surface == lesson.surface and taught.values == lesson.values
    assert (taught.hidden_parts, taught.locked_parts, taught.predict, taught.present) == (("noise", "explorer"),
                                                                                        ("lr",), True, True)
    # a link that hides an optimizer says something of the race: it is read as a whole race
    assert link.decode("?scenario=saddle_escape&hide=sgd", "bowl", [], states).hidden == ("sgd",)


def test_tuning_gives_every_optimizer_a_good_rate_and_all_arrive_and_stay_on_the_bowl():
    spec = link.RaceState("bowl").race_key()
    sw = lr_sweep(spec)
    codes, best = bands(sw, spec.surface)
    assert all(best[i] >= 0 and codes[i, best[i]] == 1 for i in range(len(IDS)))  # -1 would mean "no η*"
    tuned = best_learning_rates(sw, spec.surface)
    r = rollout(spec.surface, steps=spec.steps, settings={o: {"lr": lr} for o, lr in tuned.items()})
    assert (r.settled_at > 0).all(), dict(zip(r.names, r.settled_at))
    # GD's band stops at the stability limit 2/λmax = 1: diverged above, never good above
    gd = codes[0]
    assert (gd[sw.values > 1.0] == 3).all() and (gd[sw.values < 0.9] != 3).all()


@pytest.mark.parametrize("sid", list(SURFACES))
def test_explorer_draws_for_every_surface(sid):
    spec = link.RaceState(sid).race_key()
    fig = explorer_figure(lr_sweep(spec), spec.surface)
    import json

    json.dumps(fig, allow_nan=False)
    heat = [t for t in fig["data"] if t["type"] == "heatmap"][0]
    assert len(heat["z"]) == 9 and len(heat["z"][0]) == 64
