"""The opt-in extras in a real headless Chromium: ticking AMSGrad and RAdam races eleven, the link
carries them and reopens the same race; unticking gives the nine again."""

import os
from urllib.parse import parse_qs, urlparse

import pytest

from selenium.webdriver.common.by import By

from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import console_errors, new_race, start, state, wait_for

pytestmark = pytest.mark.browser

NINE = ["gd", "sgd", "minibatch_sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam"]


def panels(duo) -> int:
    return duo.driver.execute_script("return document.querySelectorAll('#race-map .imagelayer image').length")


def rows(duo) -> int:
    return len(duo.driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr"))


def tick(duo, oid):
    box = duo.driver.find_element(By.CSS_SELECTOR, f"#extras input[value='{oid}']")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()


def open_panel(duo):
    summary = duo.driver.find_element(By.CSS_SELECTOR, ".per-optimizer summary")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()


def test_extras_tick_link_reload_untick(dash_duo, race_app):
    d = dash_duo.driver
    start(dash_duo, race_app)
    assert state(dash_duo)["ids"] == NINE and rows(dash_duo) == 9 and panels(dash_duo) == 9
    cards = d.find_elements(By.CSS_SELECTOR, "#card-amsgrad, #card-radam, #override-row-amsgrad")
    assert cards and not any(c.is_displayed() for c in cards)
    open_panel(dash_duo)
    assert not any(b.is_selected() for b in d.find_elements(By.CSS_SELECTOR, "#extras input"))

    tick(dash_duo, "amsgrad")
    wait_for(dash_duo, lambda: "amsgrad" in state(dash_duo)["ids"], 10, "AMSGrad raced")
    tick(dash_duo, "radam")
    wait_for(dash_duo, lambda: state(dash_duo)["ids"] == NINE + ["amsgrad", "radam"], 10, "eleven raced")
    wait_for(dash_duo, lambda: rows(dash_duo) == 11 and panels(dash_duo) == 11, 10, "11 rows and 11 panels")
    wait_for(dash_duo, lambda: parse_qs(urlparse(d.current_url).query).get("extras") == ["amsgrad,radam"], 10,
             "extras in the link")
    assert d.find_element(By.ID, "override-row-radam").is_displayed()
    assert not d.find_element(By.ID, "override-row-adamw").is_displayed()
    assert d.find_element(By.ID, "card-amsgrad").get_attribute("class") == "equation-card"
    names = d.execute_script("return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
                             ".map(r => r.dataset.id)")
    assert set(names) == set(NINE) | {"amsgrad", "radam"}
    if os.environ.get("EXTRAS_SCREENSHOT"):
        d.set_window_size(1366, 768)
        wait_for(dash_duo, lambda: panels(dash_duo) == 11, 5, "panels")
        d.execute_script("window.scrollTo(0, 0)")
        import time
        time.sleep(1.5)
        d.save_screenshot(os.environ["EXTRAS_SCREENSHOT"])
    ticked = state(dash_duo)
    url = d.current_url

    # the link reopens the same race
    d.get(url)
    wait_for(dash_duo, lambda: d.execute_script(
        RACE_ON_SCREEN), 20, "the race again")
    wait_for(dash_duo, lambda: state(dash_duo)["ids"] == NINE + ["amsgrad", "radam"], 10, "eleven again")
    wait_for(dash_duo, lambda: rows(dash_duo) == 11 and panels(dash_duo) == 11, 10, "11 rows and 11 panels again")
    again = state(dash_duo)
    for key in ("ids", "surface", "steps", "start", "settings", "seed", "noise", "diverged_at", "arrived_at"):
        if key in ticked:
            assert again[key] == ticked[key], key
    open_panel(dash_duo)
    checked = [b.get_attribute("value") for b in d.find_elements(By.CSS_SELECTOR, "#extras input") if b.is_selected()]
    assert checked == ["amsgrad", "radam"]

    # untick both: the nine again, and the link without extras
    tick(dash_duo, "amsgrad")
    tick(dash_duo, "radam")
    wait_for(dash_duo, lambda: state(dash_duo)["ids"] == NINE, 10, "the nine again")
    wait_for(dash_duo, lambda: rows(dash_duo) == 9 and panels(dash_duo) == 9, 10, "9 rows and 9 panels")
    wait_for(dash_duo, lambda: "extras" not in parse_qs(urlparse(d.current_url).query), 10, "no extras in the link")
    assert not console_errors(dash_duo)


def test_a_link_with_unknown_extras_opens_with_a_message(dash_duo, race_app):
    dash_duo.start_server(race_app, navigate=False)
    d = dash_duo.driver
    d.get(dash_duo.server.url + "/?surface=bowl&extras=nadam,bogus")
    wait_for(dash_duo, lambda: d.execute_script(RACE_ON_SCREEN)
             and d.execute_script("return window.OptimizerRace.state().ids.length === 10"), 20, "ten raced")
    assert state(dash_duo)["ids"] == NINE + ["nadam"]
    wait_for(dash_duo, lambda: "unknown extras" in d.find_element(By.ID, "notes").text, 10, "the message")
