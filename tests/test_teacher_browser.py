"""Teacher mode in a real browser: a link hides and locks parts of the page, students predict the
winner before the race plays and see their tally, and the presenter view enlarges the page; the
teacher's panel writes each of these into the link."""

import time
from urllib.parse import parse_qs, urlparse

import pytest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import console_errors, start, state, wait_for
from tests.test_truths_browser import open_page
from webapp.controls import PARTS

pytestmark = pytest.mark.browser


def shown(duo, element_id) -> bool:
    """Whether the element takes room on the page (a part, display: contents, through its children)."""
    return duo.driver.execute_script(
        """const e = document.getElementById(arguments[0]); if (!e) return null;
        const boxes = getComputedStyle(e).display === 'contents' ? Array.from(e.children) : [e];
        return boxes.some((b) => { const r = b.getBoundingClientRect(); return r.width > 0 || r.height > 0; });""",
        element_id)


def query(duo) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(duo.driver.current_url).query).items()}


def test_a_link_hides_and_locks_what_it_names(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    assert shown(dash_duo, "teacher-panel")  # a plain page: the teacher's panel is there
    s = open_page(dash_duo, "?surface=bowl&steps=100&hide=sgd,noise,batch,explorer,equations&lock=lr,start,view")
    assert "sgd" not in s["visible"]  # hide= still hides optimizers, beside the parts
    for part in ("noise", "batch", "explorer", "equations"):
        wait_for(dash_duo, lambda: shown(dash_duo, PARTS[part].element) is False, 5, f"{part} hidden")
    for part in ("lr", "gamma", "steps", "leaderboard", "loss", "share"):
        assert shown(dash_duo, PARTS[part].element), part
    assert not shown(dash_duo, "teacher-panel")  # students do not get the panel that undoes it
    # locked: the η slider does not move, the view switch is disabled, a click on the map does nothing
    assert d.find_elements(By.CSS_SELECTOR, "#slider-lr [aria-disabled=true]")
    assert d.execute_script("return document.getElementById('part-view').disabled") is True
    assert d.find_element(By.CSS_SELECTOR, "#view input[value=overlay]").is_enabled() is False
    before = state(dash_duo)
    gd = d.find_element(By.CSS_SELECTOR, "#race-map .js-plotly-plot")
    ActionChains(d).move_to_element_with_offset(gd, 60, 60).click().perform()
    time.sleep(1.0)  # what a race would take to come back, had the click set a start
    after = state(dash_duo)
    assert after["start"] == before["start"] and after["raceShownAt"] == before["raceShownAt"]
    # unlocked controls still work
    assert not d.find_elements(By.CSS_SELECTOR, "#slider-gamma [aria-disabled=true]")
    assert console_errors(dash_duo) == []


def test_the_teachers_panel_writes_the_link(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.execute_script("document.getElementById('teacher-panel').open = true")
    for part, list_id in (("noise", "hidden-parts"), ("explorer", "hidden-parts"), ("lr", "locked-parts"),
                          ("predict", "predict"), ("present", "present")):
        box = d.find_element(By.CSS_SELECTOR, f"#{list_id} input[value={part}]")
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        box.click()
    q = wait_for(dash_duo, lambda: (q := query(dash_duo)).get("present") == "1" and q, 10, "the link")
    assert set(q["hide"].split(",")) == {"noise", "explorer"} and q["lock"] == "lr" and q["predict"] == "1"
    # the preview applies at once on the teacher's own page (the panel stays)
    wait_for(dash_duo, lambda: shown(dash_duo, PARTS["noise"].element) is False, 5, "noise hidden")
    assert shown(dash_duo, "teacher-panel")
    assert "presenter" in d.find_element(By.ID, "app-root").get_attribute("class")
    # the same link, opened by a student, shows the page that way
    url = d.current_url
    d.get("about:blank")
    d.get(url)
    wait_for(dash_duo, lambda: d.execute_script(RACE_ON_SCREEN),
             20, "the race")
    wait_for(dash_duo, lambda: shown(dash_duo, PARTS["explorer"].element) is False, 5, "explorer hidden")
    assert not shown(dash_duo, "teacher-panel")
    assert "presenter" in d.find_element(By.ID, "app-root").get_attribute("class")


def test_presenter_view_has_large_type(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    normal = d.execute_script("return parseFloat(getComputedStyle(document.querySelector('.leaderboard td')).fontSize)")
    open_page(dash_duo, "?scenario=lr_too_high&surface=bowl&lr=1.1&steps=300&present=1")
    wait_for(dash_duo, lambda: "presenter" in d.find_element(By.ID, "app-root").get_attribute("class"), 5, "presenter")
    big = d.execute_script("return parseFloat(getComputedStyle(document.querySelector('.leaderboard td')).fontSize)")
    lesson = d.execute_script("return parseFloat(getComputedStyle(document.querySelector('.scenario-text')).fontSize)")
    assert big >= 1.3 * normal and lesson >= 18
    assert "Learning rate too high" in d.find_element(By.ID, "scenario-text").text
    # another lesson from the menu: still the presenter view, and the link says so
    d.execute_script("window.dash_clientside.set_props('scenario', {value: 'lr_too_low'})")
    wait_for(dash_duo, lambda: "too low" in d.find_element(By.ID, "scenario-text").text.lower(), 10, "the lesson")
    assert "presenter" in d.find_element(By.ID, "app-root").get_attribute("class")
    wait_for(dash_duo, lambda: query(dash_duo).get("scenario") == "lr_too_low" and query(dash_duo).get("present") == "1",
             10, "the link")


def _predict_page(duo, query_string, app=None):
    open_page(duo, query_string, app)
    return wait_for(duo, lambda: shown(duo, "predict-panel"), 10, "the prediction card")


def test_students_predict_then_see_the_winner_and_their_tally(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.execute_script("window.localStorage.removeItem('optimizer-race-predictions')")
    q = "?surface=bowl&lr=0.1&steps=80&hide=sgd,minibatch_sgd,nag,adagrad,adadelta,rmsprop&predict=1"
    _predict_page(dash_duo, q)
    s = state(dash_duo)
    assert s["step"] == 0 and not s["playing"]  # the race waits for the pick
    names = [b.text for b in d.find_elements(By.CSS_SELECTOR, "#predict-panel .predict-choice")]
    assert names == [o["name"] for o in d.execute_script("return window.OptimizerRace.ranking(0)")]
    assert len(names) == 3  # the shown optimizers only
    winner = d.execute_script("return window.OptimizerRace.ranking()[0]")  # the leaderboard's first at the end
    loser = next(n for n in names if n != winner["name"])
    d.execute_script("window.OptimizerRace.setSpeed(1000)")
    next(b for b in d.find_elements(By.CSS_SELECTOR, "#predict-panel .predict-choice") if b.text == loser).click()
    wait_for(dash_duo, lambda: state(dash_duo)["playing"] or state(dash_duo)["step"] > 0, 5, "the race to play")
    text = wait_for(dash_duo, lambda: shown(dash_duo, "predict-panel") and d.find_element(By.ID, "predict-panel").text,
                    15, "the reveal")
    assert f"{winner['name']} won, not {loser}" in text and "0 right of 1" in text
    # the board agrees with the reveal
    first_row = d.find_element(By.CSS_SELECTOR, "#leaderboard tbody tr td:nth-child(2)").text
    assert first_row == winner["name"]
    # the next race: a right pick counts
    _predict_page(dash_duo, q.replace("lr=0.1", "lr=0.2"))
    d.execute_script("window.OptimizerRace.setSpeed(1000)")
    winner = d.execute_script("return window.OptimizerRace.ranking()[0]")
    next(b for b in d.find_elements(By.CSS_SELECTOR, "#predict-panel .predict-choice") if b.text == winner["name"]).click()
    text = wait_for(dash_duo, lambda: "right of" in d.find_element(By.ID, "predict-panel").text
                    and d.find_element(By.ID, "predict-panel").text, 15, "the reveal")
    assert text.startswith(f"✓ Right: {winner['name']} won.") and "1 right of 2" in text
    assert console_errors(dash_duo) == []


def test_just_watch_skips_the_prediction(dash_duo, race_app):
    d = dash_duo.driver
    _predict_page(dash_duo, "?surface=bowl&steps=60&predict=1", race_app)
    d.execute_script("window.OptimizerRace.setSpeed(1000)")
    next(b for b in d.find_elements(By.CSS_SELECTOR, "#predict-panel button") if b.text == "Just watch").click()
    wait_for(dash_duo, lambda: state(dash_duo)["step"] == 60, 10, "the race to end")
    assert not shown(dash_duo, "predict-panel")
