"""Learning-rate schedules in a real headless Chromium: a lesson opens with its schedule, the
menu and its parameters change the race and the link, the small plot draws ηₜ, the loss chart
marks where η halves, a schedule the race cannot run is explained, and on a quadratic the loss
chart shows the rates the Hessian predicts for GD and Momentum."""

from urllib.parse import unquote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from optimizers.schedules import Schedule
from tests.checks import RACE_ON_SCREEN, open_at_size, wait_until
from tests.test_app_browser import console_errors, new_race, state
from webapp.payload import lr_marks

pytestmark = pytest.mark.browser

LOSS = """const gd = document.getElementById('loss-chart').querySelector('.js-plotly-plot');
  return {marks: (gd.layout.shapes || []).filter(s => s.line && s.line.dash === 'dash').map(s => s.x0),
          predicted: gd.data.filter(t => (t.name || '').startsWith('predicted')).map(t => t.name),
          plot: !document.getElementById('schedule-plot').hidden,
          schedule: OptimizerRacePlayer.race().raw.schedule};"""


def loss_chart(duo):
    return duo.driver.execute_script(LOSS)


def test_a_lesson_opens_with_its_schedule_and_the_menu_changes_it(dash_duo, race_app):
    open_at_size(dash_duo, race_app, 1366, 900, "?scenario=cosine_annealing")
    wait_until(lambda: state(dash_duo)["steps"] == 600 and loss_chart(dash_duo)["schedule"]["kind"] == "cosine", 20,
               "the lesson's race")
    chart = loss_chart(dash_duo)
    assert chart["plot"] and "Cosine annealing" in dash_duo.find_element("#schedule-kind").text
    expected = [t for t, _ in lr_marks(Schedule("cosine").factors(600))]
    assert chart["marks"] == expected and len(expected) >= 5  # η halves again and again on the way down
    # step decay, every 50 steps: the race, its marks and its link change
    new_race(dash_duo, lambda: dash_duo.select_dcc_dropdown("#schedule-kind", "Step decay"))
    size = dash_duo.driver.find_element(By.CSS_SELECTOR, "#schedule-fields-step input")
    new_race(dash_duo, lambda: (size.send_keys("50"), size.send_keys(Keys.ENTER)))
    wait_until(lambda: loss_chart(dash_duo)["schedule"] == {"kind": "step", "step_size": 50, "gamma": 0.5}, 10,
               "step decay every 50 steps")
    assert loss_chart(dash_duo)["marks"] == [50 * k for k in range(1, 12)]  # 11 halvings, one per 50 steps
    wait_until(lambda: "schedule=step:step_size=50" in unquote(dash_duo.driver.current_url), 10, "the link")
    # the link reopens the same race
    url = dash_duo.driver.current_url
    dash_duo.driver.get(url)
    wait_until(lambda: dash_duo.driver.execute_script(RACE_ON_SCREEN)
               and loss_chart(dash_duo)["schedule"].get("step_size") == 50, 20,
               "the linked schedule")
    assert dash_duo.driver.find_element(By.CSS_SELECTOR, "#schedule-fields-step input").get_attribute("value") == "50"
    assert not console_errors(dash_duo)


def test_a_schedule_the_race_cannot_run_is_explained(dash_duo, race_app):
    open_at_size(dash_duo, race_app, 1366, 900, "?surface=bowl&steps=100&schedule=warmup_cosine:warmup=400")
    wait_until(lambda: "must be shorter than the race" in dash_duo.find_element("#messages").text, 20, "the message")
    assert loss_chart(dash_duo)["schedule"] == {"kind": "constant"} and not loss_chart(dash_duo)["plot"]


def test_the_loss_chart_shows_the_predicted_rates_on_a_quadratic(dash_duo, race_app):
    open_at_size(dash_duo, race_app, 1366, 900, "?surface=ravine")
    chart = wait_until(lambda: (c := loss_chart(dash_duo))["predicted"] and c, 20, "the predicted rates")
    assert sorted(chart["predicted"]) == ["predicted gd", "predicted momentum"]
    open_at_size(dash_duo, race_app, 1366, 900, "?surface=rosenbrock")  # not quadratic: none
    wait_until(lambda: state(dash_duo)["surface"] == "rosenbrock", 20, "Rosenbrock")
    assert loss_chart(dash_duo)["predicted"] == []
