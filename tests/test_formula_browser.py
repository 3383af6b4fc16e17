"""A typed formula in a real browser: the race runs on it, a bad one is explained and the old
race stays, and the formula survives in the link."""

import pytest

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import console_errors, new_race, start, state, wait_for

pytestmark = pytest.mark.browser


def type_formula(duo, text):
    box = duo.driver.find_element(By.ID, "formula")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text, Keys.ENTER)


def test_typed_formulas_race_and_bad_ones_are_explained(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    new_race(dash_duo, lambda: dash_duo.select_dcc_dropdown("#surface", "Your formula…"), timeout=20)
    s = new_race(dash_duo, lambda: type_formula(dash_duo, "(x - 1)^2 + 3*(y + 0.5)^2"), timeout=20)
    assert s["surface"] == "custom:(x - 1)**2 + 3*(y + 0.5)**2"
    dash_duo.wait_for_element("#surface-formula mjx-container", timeout=10)
    assert "f(x, y) = (x - 1)^2 + 3 * (y + 0.5)^2" in d.find_element(By.ID, "surface-description").text
    # the minimum the app found is the true one, so every optimizer can arrive there
    assert max(s["arrived_at"]) > 0
    good = state(dash_duo)

    for bad, words in [("x + z", "unknown name 'z'"), ("__import__('os')", "unknown function '__import__'"),
                       ("x^" + "9" * 9, "too"), ("sin(x", "could not read")]:
        type_formula(dash_duo, bad)
        dash_duo.wait_for_contains_text("#formula-error", words, timeout=10)
        assert state(dash_duo)["raceShownAt"] == good["raceShownAt"]  # the old race stays
        assert state(dash_duo)["surface"] == good["surface"]
    assert "custom" in d.current_url and "f=" in d.current_url

    # a formula with a hole: log is undefined for x ≤ 0; a path that steps there is stopped
    s = new_race(dash_duo, lambda: type_formula(dash_duo, "log(x) + y^2"), timeout=20)
    assert d.find_element(By.ID, "formula-error").text == ""
    link = d.current_url
    d.get("about:blank")
    d.get(link)
    wait_for(dash_duo, lambda: d.execute_script(
        RACE_ON_SCREEN), 20, "the race")
    again = state(dash_duo)
    assert again["surface"] == s["surface"] and again["settings"] == s["settings"]
    stopped = [i for i, k in enumerate(again["diverged_at"]) if k > 0]
    assert stopped, "some optimizer steps into x ≤ 0 at this learning rate"
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(500)")
    row = d.find_element(By.CSS_SELECTOR, f"#leaderboard tr[data-id={again['ids'][stopped[0]]}]")
    assert "stopped" in row.text and "undefined" in row.get_attribute("title")
    assert not console_errors(dash_duo)
