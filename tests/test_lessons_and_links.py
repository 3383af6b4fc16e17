"""Scenarios do what their text says; links round-trip; the explorer's bands and tuning."""

import numpy as np
import pytest

from optimizers import OPTIMIZERS, rollout
from surfaces import SURFACES
from webapp import state as link
from webapp.explorer import bands, best_learning_rates, explorer_figure
from webapp.race import lr_sweep, race_result, race_spec
from webapp.scenarios import SCENARIOS
from webapp.validation import Problems

IDS = list(OPTIMIZERS)


def race_of(state: link.RaceState):
    positions = state.positions()
    ids = [{"opt": o, "hp": k} for o, hp in state.overrides.items() for k in hp]
    values = [state.overrides[i["opt"]][i["hp"]] for i in ids]
    spec = race_spec(state.surface, state.formula, state.start, [positions[s] for s in positions], ids,
                     values, state.seed, Problems())
    return race_result(spec), spec


def test_there_are_at_least_eight_lessons_each_with_text():
    assert len(SCENARIOS) >= 8
    for sid, sc in SCENARIOS.items():
        assert sc.state.surface in SURFACES and sc.state.scenario == sid
        assert len(sc.text.split(". ")) >= 2 and sc.title


def _end(r, oid):
    return r.paths[IDS.index(oid), -1]


def _arrived(r, oid):
    return r.arrived_at[IDS.index(oid)]


def _diverged(r, oid):
    return r.diverged_at[IDS.index(oid)] >= 0


EXPECTATIONS = {
    # GD diverges above 2/λ = 1; momentum and the adaptive methods survive
    "lr_too_high": lambda r: _diverged(r, "gd") and not _diverged(r, "momentum")
    and not _diverged(r, "adam") and not _diverged(r, "rmsprop"),
    # nobody plain gets there; momentum does
    "lr_too_low": lambda r: _arrived(r, "gd") < 0 and _arrived(r, "rmsprop") < 0 and _arrived(r, "momentum") > 0,
    # momentum arrives in about half GD's steps, and GD zig-zags across the ravine (y changes sign)
    "momentum_ravine": lambda r: 0 < _arrived(r, "momentum") <= 0.6 * _arrived(r, "gd")
    and (np.diff(np.sign(r.paths[0, :30, 1])) != 0).sum() >= 10,
    # GD ends at the saddle point, the noisy optimizers in a minimum (y = ±1)
    "saddle_escape": lambda r: np.allclose(_end(r, "gd"), (0, 0), atol=1e-3)
    and all(abs(abs(_end(r, o)[1]) - 1) < 0.1 for o in ("sgd", "minibatch_sgd", "momentum", "nag", "adam")),
    # momentum arrives, GD does not in 1500 steps but reached the valley (loss below 1)
    "rosenbrock_valley": lambda r: _arrived(r, "momentum") > 0 and _arrived(r, "gd") < 0
    and r.final_loss[0] < 1,
    # the optimizers end in at least three different wells
    "which_minimum": lambda r: len({tuple(np.round(p, 1)) for p in r.paths[:, -1]}) >= 3,
    # AdaGrad stalls far from the minimum while RMSprop gets close
    "adagrad_stalls": lambda r: r.final_loss[IDS.index("adagrad")] > 10 * r.final_loss[IDS.index("rmsprop")]
    and abs(r.paths[IDS.index("adagrad"), -1] - r.paths[IDS.index("adagrad"), -200]).max() < 0.05,
    # AdaDelta's first steps are a few thousandths long (√ε/√(1−ρ)), and it arrives
    "adadelta_no_lr": lambda r: np.abs(r.paths[IDS.index("adadelta"), 1] - r.paths[IDS.index("adadelta"), 0]).max() < 5e-3
    and _arrived(r, "adadelta") > 0,
    # bias correction: Adam's first step is η in every coordinate
    "adam_bias": lambda r: np.allclose(np.abs(r.paths[IDS.index("adam"), 1] - r.paths[IDS.index("adam"), 0]), 0.1),
    # SGD jitters more around the minimum than mini-batch SGD, which jitters more than GD
    "noise_and_batches": lambda r: r.losses[1, -100:].mean() > r.losses[2, -100:].mean() > r.losses[0, -100:].mean(),
}


@pytest.mark.parametrize("sid", list(SCENARIOS))
def test_each_lesson_does_what_it_says(sid):
    r, _ = race_of(SCENARIOS[sid].state)
    assert EXPECTATIONS[sid](r), sid


def test_links_round_trip():
    st = link.RaceState("ravine", (-5.0, 1.5), {"lr": 0.02, "noise": 0.5, "batch": 4, "steps": 700},
                        {"adam": {"lr": 0.3, "beta2": 0.99}}, ("sgd",), "overlay", "momentum_ravine", 7)
    problems = []
    back = link.decode(link.encode(st), "bowl", problems)
    assert problems == [] and back == st
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


def test_bare_scenario_link_opens_the_lesson():
    states = {k: s.state for k, s in SCENARIOS.items()}
    assert link.decode("?scenario=saddle_escape", "bowl", [], states) == SCENARIOS["saddle_escape"].state


def test_tuning_gives_every_optimizer_a_good_rate_and_all_arrive_on_the_bowl():
    spec = race_spec("bowl", None, None, [], None, None, 0, Problems())
    sw = lr_sweep(spec)
    codes, best = bands(sw, spec.surface)
    assert all(codes[i, best[i]] == 1 for i in range(len(IDS)))
    tuned = best_learning_rates(sw, spec.surface)
    r = rollout(spec.surface, steps=spec.steps, settings={o: {"lr": lr} for o, lr in tuned.items()})
    assert (r.arrived_at > 0).all(), dict(zip(r.names, r.arrived_at))
    # GD's band stops at the stability limit 2/λmax = 1: diverged above, never good above
    gd = codes[0]
    assert (gd[sw.values > 1.0] == 3).all() and (gd[sw.values < 0.9] != 3).all()


@pytest.mark.parametrize("sid", list(SURFACES))
def test_explorer_draws_for_every_surface(sid):
    spec = race_spec(sid, None, None, [], None, None, 0, Problems())
    fig = explorer_figure(lr_sweep(spec), spec.surface)
    import json

    json.dumps(fig, allow_nan=False)
    heat = [t for t in fig["data"] if t["type"] == "heatmap"][0]
    assert len(heat["z"]) == 9 and len(heat["z"][0]) == 64
