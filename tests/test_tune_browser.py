"""Tune never leaves the η slider dead without a sign: the page says which optimizers race at
their own η, moving η or one button hands η back to the slider, and tuned values do not follow
the user to another surface."""

import pytest
from selenium.webdriver.common.by import By

from tests.test_app_browser import choose_surface, console_errors, new_race, start, state, wait_for
from tests.test_explorer_browser import show_explorer

pytestmark = pytest.mark.browser


def notice(duo) -> str:
    el = duo.driver.find_element(By.ID, "lr-notice")
    return el.text if el.is_displayed() else ""


def explorer_label(duo) -> str:
    return duo.driver.execute_script(
        "const l = document.querySelector('#explorer-graph .explorer-line-label'); return l ? l.textContent : ''")


def tune(duo) -> dict:
    d = duo.driver
    show_explorer(duo)
    wait_for(duo, lambda: d.execute_script(
        "const gd = document.querySelector('#explorer-graph .js-plotly-plot');"
        "return !!(gd && gd.layout && gd.layout.meta && gd.layout.meta.surface === arguments[0])",
        state(duo)["surface"]), 20, "the explorer")
    best = wait_for(duo, lambda: d.execute_script(
        "const s = document.getElementById('btn-tune'); return s && true"), 5, "Tune")
    assert best
    return new_race(duo, lambda: d.find_element(By.ID, "btn-tune").click(), timeout=20)


def shared_lr_race(s, lr):
    """Every optimizer that follows the shared slider races at `lr`; AdaDelta keeps its own 1."""
    return all(hp["lr"] == pytest.approx(lr) for o, hp in s["settings"].items() if o != "adadelta") and \
        s["settings"]["adadelta"]["lr"] == 1.0


def test_tune_is_shown_and_moving_eta_hands_it_back(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    choose_surface(dash_duo, "bowl", "Bowl")
    assert notice(dash_duo) == ""
    s = tune(dash_duo)
    tuned = {o: hp["lr"] for o, hp in s["settings"].items()}
    assert len({round(v, 8) for v in tuned.values()}) >= 3, tuned  # each its own
    # the page says so: by the slider (dimmed) and on the explorer's line
    text = wait_for(dash_duo, lambda: notice(dash_duo), 5, "the notice by the η slider")
    assert "sets no optimizer now" in text and "Adam" in text
    assert "overridden" in d.find_element(By.ID, "control-lr").get_attribute("class")
    wait_for(dash_duo, lambda: explorer_label(dash_duo) == "race: each optimizer at its own η", 5, "the line")
    assert "each optimizer races at its own η*" in d.find_element(By.ID, "tune-result").text

    # moving the shared η gives every optimizer that η again, and says so
    s = new_race(dash_duo, lambda: d.execute_script("window.dash_clientside.set_props('slider-lr', {value: -1})"))
    assert shared_lr_race(s, 0.1), s["settings"]
    wait_for(dash_duo, lambda: notice(dash_duo) == "", 5, "the notice to go")
    assert "Back to one shared η" in d.find_element(By.ID, "tune-result").text
    assert "overridden" not in d.find_element(By.ID, "control-lr").get_attribute("class")
    wait_for(dash_duo, lambda: explorer_label(dash_duo) == "race: η = 0.1", 5, "the line at the shared η")
    assert "lr" not in d.current_url.split("set=")[-1] if "set=" in d.current_url else True

    # the button does the same at any time
    tune(dash_duo)
    wait_for(dash_duo, lambda: notice(dash_duo), 5, "the notice")
    s = new_race(dash_duo, lambda: d.find_element(By.ID, "btn-shared-lr").click())
    assert shared_lr_race(s, 0.1), s["settings"]
    wait_for(dash_duo, lambda: notice(dash_duo) == "", 5, "the notice to go")
    assert not console_errors(dash_duo)


def test_tuned_values_do_not_follow_to_another_surface(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    choose_surface(dash_duo, "bowl", "Bowl")
    tune(dash_duo)
    wait_for(dash_duo, lambda: notice(dash_duo), 5, "the notice")
    d.execute_script("window.scrollTo(0, 0)")
    s = choose_surface(dash_duo, "ravine", "Ravine")
    assert shared_lr_race(s, 0.09), s["settings"]  # the ravine's own η, for all
    wait_for(dash_duo, lambda: notice(dash_duo) == "", 5, "the notice to go")
    assert "Per-optimizer learning rates were cleared" in d.find_element(By.ID, "notes").text
    assert "set=" not in d.current_url


def test_a_manual_eta_override_is_named_by_the_slider(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    d.execute_script("document.querySelector('details.per-optimizer').open = true")
    box = d.find_element(By.CSS_SELECTOR, "input[id*='\"opt\":\"adam\"'][id*='\"hp\":\"lr\"']")
    new_race(dash_duo, lambda: (box.send_keys("0.05"), box.send_keys("\n")))
    text = wait_for(dash_duo, lambda: notice(dash_duo), 5, "the notice")
    assert text.startswith("Own η, not the slider's: Adam 0.05")
    show_explorer(dash_duo)
    wait_for(dash_duo, lambda: explorer_label(dash_duo).endswith("(own η: Adam)"), 20, "the explorer's line")
    # the slider still moves everyone else; Adam keeps its own η
    s = new_race(dash_duo, lambda: d.execute_script("window.dash_clientside.set_props('slider-lr', {value: -3})"))
    assert s["settings"]["adam"]["lr"] == 0.05 and s["settings"]["gd"]["lr"] == pytest.approx(1e-3)


def test_after_tune_every_starred_optimizer_arrives_and_stays_on_the_leaderboard(dash_duo, race_app):
    """The explorer's stars are recommendations the race bears out: on the default Rosenbrock
    race every optimizer with an η* shows "✓ arrived" at the end, and one without keeps the
    shared η and says so."""
    start(dash_duo, race_app)
    d = dash_duo.driver
    s = tune(dash_duo)
    labels = d.execute_script(
        "const gd = document.querySelector('#explorer-graph .js-plotly-plot');"
        "return gd.data.find(t => t.type === 'heatmap').y")
    starred = {s["ids"][i] for i, label in enumerate(labels) if "η* —" not in label}
    assert starred and starred != set(s["ids"]), labels  # some have a best η, RMSprop has none here
    assert "No good η for" in d.find_element(By.ID, "tune-result").text
    d.execute_script("const r = window.OptimizerRace; r.pause(); r.setStep(r.state().steps)")
    rows = d.execute_script(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(tr => [tr.dataset.id, tr.cells[3].textContent])")
    status = dict(rows)
    for oid in starred:
        assert status[oid].startswith("✓ arrived"), (oid, status)
    for oid in set(s["ids"]) - starred:
        assert s["settings"][oid]["lr"] == (1.0 if oid == "adadelta" else 0.001), (oid, s["settings"][oid])
