"""The racing app in a real headless Chromium against a real Dash server."""

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.checks import RACE_ON_SCREEN, wait_until
from tests.conftest import requested_urls

pytestmark = pytest.mark.browser


def state(duo) -> dict:
    return duo.driver.execute_script("return window.OptimizerRace.state()")


def wait_for(duo, predicate, timeout=10.0, what="condition"):
    return wait_until(predicate, timeout, what, detail=lambda: f"state: {state(duo)}")


def start(duo, app) -> dict:
    duo.start_server(app)
    wait_for(duo, lambda: duo.driver.execute_script(
        RACE_ON_SCREEN), 20, "the first race")
    return state(duo)


def new_race(duo, action, timeout=10.0) -> dict:
    """Do `action`, then wait until a different race is on screen."""
    before = state(duo)["raceShownAt"]
    action()
    return wait_for(duo, lambda: (s := state(duo))["raceShownAt"] != before and s, timeout, "a new race")


def painted_pixels(duo, graph_id: str) -> int:
    return duo.driver.execute_script(
        """const c = document.querySelector('#' + arguments[0] + ' canvas.race-overlay');
        if (!c) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;""",
        graph_id,
    )


def console_errors(duo) -> list:
    return [e for e in duo.driver.get_log("browser") if e["level"] == "SEVERE"]


def slider_thumb(duo, slider_id):
    return duo.driver.find_element(By.CSS_SELECTOR, f"#slider-{slider_id} [role=slider]")


def press(duo, element, *keys):
    element.click()
    element.send_keys(*keys)


def choose_surface(duo, surface_id, name):
    return new_race(duo, lambda: duo.select_dcc_dropdown("#surface", name))


@pytest.mark.cold_cache  # every request the page makes, none served from an earlier test's cache
def test_page_loads_with_all_nine_racing(dash_duo, race_app):
    s = start(dash_duo, race_app)
    assert s["ids"] == ["gd", "sgd", "minibatch_sgd", "momentum", "nag", "adagrad", "adadelta",
                        "rmsprop", "adam"]
    assert s["surface"] == "rosenbrock" and s["view"] == "grid" and s["playing"]
    wait_for(dash_duo, lambda: state(dash_duo)["step"] > 30, 10, "the animation to advance")
    rows = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    assert len(rows) == 9
    assert painted_pixels(dash_duo, "race-map") > 2000
    assert painted_pixels(dash_duo, "loss-chart") > 200
    # nine panels, one per optimizer, each over the contour image, with the formula rendered
    assert dash_duo.driver.execute_script(
        "return document.querySelectorAll('#race-map .imagelayer image').length") == 9
    dash_duo.wait_for_element("#surface-formula mjx-container", timeout=10)
    assert not console_errors(dash_duo)
    outside = [u for u in requested_urls(dash_duo.driver)
               if not u.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:"))]
    assert outside == [], outside


SLIDER_EFFECTS = {
    "lr": lambda s: s["settings"]["gd"]["lr"],
    "gamma": lambda s: s["settings"]["momentum"]["gamma"],
    "rho": lambda s: s["settings"]["rmsprop"]["rho"],
    "beta1": lambda s: s["settings"]["adam"]["beta1"],
    "beta2": lambda s: s["settings"]["adam"]["beta2"],
    "eps": lambda s: s["settings"]["adam"]["eps"],
    "steps": lambda s: s["steps"],
    "noise": lambda s: s["noise"],
    "batch": lambda s: s["batch_size"],
}


def test_every_slider_changes_the_race(dash_duo, race_app):
    start(dash_duo, race_app)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)  # let the page's own requests after loading finish
    requested_urls(dash_duo.driver)  # drain the log: count from here
    for slider_id, read in SLIDER_EFFECTS.items():
        before = read(state(dash_duo))
        after = read(new_race(dash_duo, lambda: press(dash_duo, slider_thumb(dash_duo, slider_id), Keys.ARROW_RIGHT)))
        assert after != before, slider_id
        assert after > before, (slider_id, before, after)
    s = state(dash_duo)
    assert s["settings"]["adadelta"]["lr"] == 1.0  # AdaDelta keeps its own η
    assert not console_errors(dash_duo)
    # One request per slider change (the race brings its link; the explorer, off screen, is
    # not asked for): what a class of forty costs the server.
    explorer_on_screen = dash_duo.driver.execute_script(
        "return document.getElementById('explorer').getBoundingClientRect().top < window.innerHeight")
    callbacks = [u for u in requested_urls(dash_duo.driver) if "/_dash-update-component" in u]
    assert not explorer_on_screen and len(callbacks) == len(SLIDER_EFFECTS), callbacks


def test_clicking_the_map_moves_the_start(dash_duo, race_app):
    start(dash_duo, race_app)
    target = (0.5, 2.0)
    # pixel position of the target point in the first panel, from Plotly's own axis transform
    px, py = dash_duo.driver.execute_script(
        """const gd = document.querySelector('#race-map .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return [xa._offset + xa.c2p(arguments[0]), ya._offset + ya.c2p(arguments[1])];""",
        *target,
    )
    gd = dash_duo.driver.find_element(By.CSS_SELECTOR, "#race-map .js-plotly-plot")

    def click():  # selenium 4.2 measures the offset from the element's top-left corner
        ActionChains(dash_duo.driver).move_to_element_with_offset(gd, px, py).click().perform()

    s = new_race(dash_duo, click)
    assert s["start"] == pytest.approx(target, abs=0.03)
    assert dash_duo.driver.execute_script("return window.OptimizerRace.head(0)") is not None


def test_playback_controls(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.find_element(By.ID, "btn-play").click()
    assert not state(dash_duo)["playing"]
    at = state(dash_duo)["step"]
    d.find_element(By.ID, "btn-forward").click()
    assert state(dash_duo)["step"] == at + 1
    d.find_element(By.ID, "btn-back").click()
    d.find_element(By.ID, "btn-back").click()
    assert state(dash_duo)["step"] == at - 1
    # keyboard: arrows step, Space plays and pauses, End and Home jump
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert state(dash_duo)["step"] == at
    body.send_keys(Keys.SHIFT, Keys.ARROW_RIGHT)
    assert state(dash_duo)["step"] == at + 10
    body.send_keys(Keys.END)
    assert state(dash_duo)["step"] == 500
    body.send_keys(Keys.SPACE)
    assert state(dash_duo)["playing"]  # from the end, play starts over
    wait_for(dash_duo, lambda: 0 < state(dash_duo)["step"] < 500, 5, "a replay")
    body.send_keys(Keys.SPACE)
    assert not state(dash_duo)["playing"]
    # the scrubber sets the step
    d.execute_script(
        "const s = document.getElementById('scrubber'); s.value = 123;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));")
    assert state(dash_duo)["step"] == 123
    assert d.find_element(By.ID, "step-label").text == "step 123 / 500"
    d.find_element(By.ID, "btn-restart").click()
    s = state(dash_duo)
    assert s["playing"] and s["step"] < 123


def test_switching_views_and_surfaces(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.find_element(By.CSS_SELECTOR, "#view input[value=overlay]").click()
    wait_for(dash_duo, lambda: state(dash_duo)["view"] == "overlay", 5, "overlay view")
    wait_for(dash_duo, lambda: d.execute_script(
        "return document.querySelectorAll('#race-map .imagelayer image').length === 1"), 5, "one map")
    assert painted_pixels(dash_duo, "race-map") > 2000
    s = choose_surface(dash_duo, "saddle", "Saddle")
    assert s["surface"] == "saddle" and s["start"] == [-2.2, 0.01]
    dash_duo.wait_for_contains_text("#surface-description", "saddle point", timeout=5)
    d.find_element(By.CSS_SELECTOR, "#view input[value=grid]").click()
    wait_for(dash_duo, lambda: d.execute_script(
        "return document.querySelectorAll('#race-map .imagelayer image').length === 9"), 5, "nine maps")
    assert state(dash_duo)["surface"] == "saddle"
    assert not console_errors(dash_duo)


def test_learning_rate_far_too_high_shows_gd_diverged(dash_duo, race_app):
    start(dash_duo, race_app)
    choose_surface(dash_duo, "bowl", "Bowl")
    s = new_race(dash_duo, lambda: press(dash_duo, slider_thumb(dash_duo, "lr"), Keys.END))
    assert s["settings"]["gd"]["lr"] == pytest.approx(10.0)
    assert s["diverged_at"][0] > 0
    d = dash_duo.driver
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    gd_row = d.find_element(By.CSS_SELECTOR, "#leaderboard tr[data-id=gd]")
    assert "diverged" in gd_row.get_attribute("class")
    assert f"diverged {s['diverged_at'][0]}" in gd_row.text
    assert painted_pixels(dash_duo, "race-map") > 2000 and painted_pixels(dash_duo, "loss-chart") > 100
    assert not console_errors(dash_duo)


def test_hiding_an_optimizer_and_overriding_one(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.find_element(By.CSS_SELECTOR, ".per-optimizer summary").click()
    d.find_element(By.CSS_SELECTOR, "#visible input[value=adam]").click()
    wait_for(dash_duo, lambda: "adam" not in state(dash_duo)["visible"], 5, "Adam hidden")
    wait_for(dash_duo, lambda: len(d.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")) == 8, 5, "8 rows")
    before = state(dash_duo)["settings"]
    box = d.find_element(By.CSS_SELECTOR, "input[id*='\"opt\":\"rmsprop\"'][id*='\"hp\":\"lr\"']")
    s = new_race(dash_duo, lambda: (box.send_keys("0.05"), box.send_keys(Keys.TAB)))
    assert s["settings"]["rmsprop"]["lr"] == pytest.approx(0.05)
    assert s["settings"]["gd"] == before["gd"] and s["settings"]["adam"] == before["adam"]
