"""Every lesson's claims hold on the engine, on the lesson's exact settings (the race the app
runs for it), and every lesson says why a shown optimizer diverges."""

import pytest

from optimizers import OPTIMIZERS
from surfaces import SURFACES
from tests.test_lessons_and_links import race_of
from webapp.claims import DIVERGED, standings
from webapp.scenarios import SCENARIOS


def shown_standings(sid):
    scenario = SCENARIOS[sid]
    result, spec = race_of(scenario.state)
    return result, spec.surface, {o: v for o, v in standings(result).items() if o in scenario.shown}


def test_there_are_ten_lessons_each_with_an_intro_and_claims():
    assert len(SCENARIOS) >= 10
    for sid, sc in SCENARIOS.items():
        assert sc.state.surface in SURFACES and sc.state.scenario == sid and sc.title
        assert len(sc.intro) > 40 and sc.intro.endswith(".")
        assert len(sc.claims) >= 2, sid
        assert any(c.on_page for c in sc.claims), f"{sid}: no claim the page shows"
        for c in sc.claims:
            assert set(c.ids) <= set(sc.shown), f"{sid}: a claim about a hidden optimizer: {c.text}"
            assert c.text.endswith("."), c.text


@pytest.mark.parametrize("sid", list(SCENARIOS))
def test_every_claim_of_a_lesson_holds_on_the_engine(sid):
    result, surface, shown = shown_standings(sid)
    failed = [c.text for c in SCENARIOS[sid].claims
              if not (c.check(shown) if c.on_page else c.check(result, surface))]
    assert not failed, f"{sid}: the race contradicts {failed}; standings: {shown}"


@pytest.mark.parametrize("sid", list(SCENARIOS))
def test_a_lesson_says_why_each_shown_optimizer_diverges(sid):
    _, _, shown = shown_standings(sid)
    for oid, standing in shown.items():
        if standing.status == DIVERGED:
            said = [c for c in SCENARIOS[sid].claims if oid in c.ids and "diverge" in c.text]
            assert said, f"{sid}: {OPTIMIZERS[oid].name} diverges at step {standing.step} and no claim says why"


def test_a_claim_can_fail():
    """The checks are real: the same claims on another lesson's race fail."""
    _, _, high = shown_standings("lr_too_high")
    low = SCENARIOS["lr_too_low"]
    on_page = [c for c in low.claims if c.on_page and set(c.ids) <= set(high)]
    assert on_page and not all(c.check(high) for c in on_page)
