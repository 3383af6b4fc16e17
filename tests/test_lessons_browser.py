"""Each lesson in a real browser: the page shows every claim, and the claims the leaderboard
and the map can show are read back from the page and hold there too."""

import re

import pytest

from selenium.webdriver.common.by import By

from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import console_errors, state, wait_for
from webapp.claims import DIVERGED, LEFT, MOVING, SETTLED, Standing
from webapp.scenarios import SCENARIOS

pytestmark = pytest.mark.browser

STATUS = [(re.compile(r"✓ arrived (?:after )?([\d.]+)"), SETTLED),
          (re.compile(r"✗ (?:diverged|stopped) (?:after )?([\d.]+)"), DIVERGED),
          (re.compile(r"↺ left"), LEFT)]


# each panel's badge, given when its status began as the page says it ("step 40", or on the clock
# in examples "2.4 epochs")
BADGE = {SETTLED: lambda at: f"arrived at {at}", LEFT: lambda at: f"arrived at {at}, left",
         DIVERGED: lambda at: f"diverged at {at}", MOVING: lambda at: ""}


def page_standings(duo) -> dict:
    """The standings at the last step as the page shows them: each leaderboard row's status and
    loss as text, and where each path's head is drawn."""
    d = duo.driver
    d.execute_script("const r = window.OptimizerRace; r.pause(); r.setStep(r.state().steps)")
    rows = d.execute_script(
        """return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(tr => ({
            id: tr.dataset.id, at: Number(tr.dataset.at), cells: Array.from(tr.cells).map(c => c.textContent),
            title: tr.title}));""")
    ends = d.execute_script("const r = window.OptimizerRace; return r.state().ids.map((_, i) => r.head(i));")
    ids = state(duo)["ids"]
    out = {}
    order = []
    for row in rows:
        rank, _name, loss, status_text = row["cells"]
        status, step = MOVING, -1
        for pattern, kind in STATUS:
            if m := pattern.search(status_text):
                status = kind
                step = row["at"]  # the row (step, or examples processed) its status began at
                if m.groups() and "epoch" not in status_text:  # the number it shows is that step
                    assert int(m.group(1)) == step, row
                break
        end = ends[ids.index(row["id"])]
        out[row["id"]] = Standing(status, step, float(loss), (end[0], end[1]))
        order.append(row["id"])
    return out, order


def ranked_by_merit(standings: dict, order: list) -> bool:
    """Arrived and stayed first (earliest first), diverged last, the rest between by loss."""
    group = {SETTLED: 0, LEFT: 1, MOVING: 1, DIVERGED: 2}
    keys = [(group[standings[o].status],
             standings[o].step if standings[o].status == SETTLED else
             -standings[o].step if standings[o].status == DIVERGED else standings[o].loss) for o in order]
    return keys == sorted(keys)


def test_every_lesson_shows_its_claims_and_the_leaderboard_bears_them_out(dash_duo, race_app):
    dash_duo.start_server(race_app, navigate=False)
    d = dash_duo.driver
    for sid, scenario in SCENARIOS.items():
        d.get(dash_duo.server.url + f"/?scenario={sid}")
        wait_for(dash_duo, lambda: d.execute_script(RACE_ON_SCREEN), 20, sid)
        s = state(dash_duo)
        assert s["steps"] == scenario.state.values.get("steps", 500), sid
        assert sorted(s["visible"]) == sorted(scenario.shown), sid
        wait_for(dash_duo, lambda: len(d.find_elements(By.CSS_SELECTOR, "#scenario-text li")) == len(scenario.claims),
                 5, f"{sid}'s claims")
        shown = [li.get_attribute("textContent") for li in d.find_elements(By.CSS_SELECTOR, "#scenario-text li")]
        assert shown == [c.text for c in scenario.claims], sid
        standings, order = page_standings(dash_duo)
        labels = d.execute_script("const r = window.OptimizerRace; return r.state().ids.map((_, i) => r.label(i));")
        for oid, standing in standings.items():  # each panel's badge says what its row says
            at = d.execute_script("return OptimizerRacePlayer.when(arguments[0])", standing.step)
            assert labels[s["ids"].index(oid)] == BADGE[standing.status](at), (sid, oid, labels)
        assert ranked_by_merit(standings, order), f"{sid}: leaderboard order {order}: {standings}"
        assert set(standings) == set(scenario.shown), sid  # hidden optimizers leave the leaderboard
        for claim in scenario.claims:
            if claim.on_page:
                assert claim.check(standings), f"{sid}: the page contradicts {claim.text!r}: {standings}"
    assert not console_errors(dash_duo)
