"""Data surfaces in a real headless Chromium: each built-in dataset races with its data panel (the
examples and every optimizer's model, in lockstep with the race), the clock switch counts
examples, a hovered leaderboard row picks a model out, and the user's examples come in by file
or paste; hostile files are refused beside the box and the race stays."""

from urllib.parse import unquote

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from surfaces import get_surface
from tests.checks import open_at_size, wait_until
from tests.test_accessibility_browser import assert_no_serious_violations, open_page
from tests.test_app_browser import choose_surface, console_errors, new_race, state

pytestmark = pytest.mark.browser

PANEL = """const P = window.OptimizerRacePlayer, R = P.race(), S = P.surfaceData();
  const panel = document.getElementById('data-panel'), c = document.getElementById('data-canvas');
  if (!R || !S || panel.hidden) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  for (let i = 0; i < d.length; i += 16) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
  return {surface: S.id, n: S.data.n, draws: S.data.draws, clock: R.clock, colours: colours.size,
          caption: document.getElementById('data-caption').textContent,
          head: P.head(0), step: P.state().step};"""


def open_race(duo, app, query: str) -> dict:
    open_at_size(duo, app, 1366, 900, query)
    return wait_until(lambda: duo.driver.execute_script(PANEL), 30, f"the data panel of {query}")


@pytest.mark.parametrize("dataset, draws", [("iris", "line"), ("wine", "sigmoid"), ("sparse", "line")])
def test_each_dataset_races_with_its_data_panel(dash_duo, race_app, dataset, draws):
    panel = open_race(dash_duo, race_app, f"?surface={dataset}&steps=200&step=200")
    surface = get_surface(dataset)
    assert panel["surface"] == dataset and panel["n"] == surface.n_examples and panel["draws"] == draws
    assert panel["colours"] > 20  # the examples and nine coloured models, not a blank canvas
    assert f"{surface.n_examples:,} examples" in panel["caption"]
    titles = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#race-map text[class$=title]')).map(t => t.textContent)")
    assert "w (weight)" in titles and "b (bias)" in titles
    note = dash_duo.find_element("#data-note").text
    assert "σ slider does not apply" in note and f"N = {surface.n_examples:,}" in note
    # the panel follows the race: the model drawn is the head of the path at the shown step
    dash_duo.driver.execute_script("OptimizerRacePlayer.setStep(0)")
    at_start = dash_duo.driver.execute_script(PANEL)
    assert at_start["step"] == 0 and at_start["head"] == pytest.approx(list(surface.start), abs=1e-6)
    assert not console_errors(dash_duo)


def test_the_menu_picks_each_dataset_and_your_data(dash_duo, race_app):
    open_race(dash_duo, race_app, "?surface=iris&steps=100")
    for dataset in ("wine", "sparse", "iris"):
        surface = get_surface(dataset)
        choose_surface(dash_duo, dataset, surface.name)
        panel = wait_until(lambda: (p := dash_duo.driver.execute_script(PANEL)) and p["surface"] == dataset and p,
                           15, f"{dataset}'s data panel")
        assert panel["n"] == surface.n_examples
        assert f"surface={dataset}" in dash_duo.driver.current_url
    choose_surface(dash_duo, "upload", "Your data (CSV)…")
    assert dash_duo.driver.execute_script("return document.getElementById('data-box').hidden") is False
    panel = wait_until(lambda: (p := dash_duo.driver.execute_script(PANEL)) and p["surface"].startswith("upload:") and p,
                       15, "the sample examples before any upload")
    assert panel["n"] == 15
    choose_surface(dash_duo, "bowl", "Bowl")
    wait_until(lambda: dash_duo.driver.execute_script(
        "return document.getElementById('data-panel').hidden && document.getElementById('data-box').hidden"), 10,
        "the data panel and box gone on a formula surface")


def test_the_clock_switch_counts_examples_and_epochs(dash_duo, race_app):
    open_race(dash_duo, race_app, "?surface=iris&steps=600")
    radio = dash_duo.driver.find_element(By.CSS_SELECTOR, "#clock input[value='examples']")
    new_race(dash_duo, radio.click)
    wait_until(lambda: dash_duo.driver.execute_script(PANEL)["clock"] == "examples", 10, "the clock in examples")
    dash_duo.driver.execute_script("OptimizerRacePlayer.pause(); OptimizerRacePlayer.setStep(600)")
    assert "600 / 600 examples (4 epochs)" in dash_duo.find_element("#step-label").text
    assert dash_duo.find_element("#leaderboard th:last-child").text == "work"
    axis = dash_duo.driver.execute_script("return document.querySelector('#loss-chart .xtitle').textContent")
    assert axis == "epochs (150 examples each)"
    # GD has taken 4 steps of 150 examples: its head moved exactly at 150, 300, 450, 600
    heads = dash_duo.driver.execute_script(
        "return [149, 150, 299, 300].map(k => { OptimizerRacePlayer.setStep(k); return OptimizerRacePlayer.head(0); })")
    assert heads[0] != heads[1] or heads[2] != heads[3]
    assert "clock=examples" in dash_duo.driver.current_url


def test_hovering_a_leaderboard_row_highlights_its_model(dash_duo, race_app):
    open_race(dash_duo, race_app, "?surface=iris&steps=100&step=100")
    row = dash_duo.find_element("#leaderboard tr[data-id='adam']")
    ActionChains(dash_duo.driver).move_to_element(row).perform()
    wait_until(lambda: dash_duo.driver.execute_script("return OptimizerRaceDataPanel.focus()") == "adam", 5,
               "Adam's model highlighted")


def _choose_upload(duo):
    duo.driver.execute_script("document.getElementById('data-box').hidden = false")


def test_an_uploaded_csv_races_and_a_hostile_one_is_refused(dash_duo, race_app, tmp_path):
    open_race(dash_duo, race_app, "?surface=iris&steps=100")
    good = tmp_path / "fuel.csv"
    good.write_text("weight,mpg\n" + "\n".join(f"{1 + i / 10},{30 - i / 3 + (i % 3) / 5}" for i in range(40)))
    _choose_upload(dash_duo)
    file_input = dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]")
    file_input.send_keys(str(good))
    panel = wait_until(lambda: (p := dash_duo.driver.execute_script(PANEL)) and p["n"] == 40 and p, 15,
                       "the uploaded examples racing")
    assert panel["surface"].startswith("upload:")
    assert "Racing on 40 examples from fuel.csv" in dash_duo.find_element("#data-status").text
    assert "data=1:30,1.1:29.866666666666667," in unquote(dash_duo.driver.current_url)  # 40 examples fit in a link
    before = state(dash_duo)["raceShownAt"]
    for name, content, message in [
        ("nan.csv", "x,y\n1,2\nnan,3\n", "is not a finite number"),
        ("three.csv", "1,2,3\n4,5,6\n", "each row needs exactly two"),
        ("blob.csv", "\x00\x01\x02binary", "not text"),
        ("empty.csv", "", "empty"),
        ("flat.csv", "x,y\n2,1\n2,5\n", "x is the same in every row"),
    ]:
        bad = tmp_path / name
        bad.write_bytes(content.encode("latin-1"))
        file_input.send_keys(str(bad))
        wait_until(lambda: message in dash_duo.find_element("#data-error").text, 10, f"the refusal of {name}")
        assert dash_duo.driver.execute_script(PANEL)["n"] == 40  # the race stays
    assert state(dash_duo)["raceShownAt"] == before
    # logistic regression needs both classes; pasted text goes through the same check
    dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-model input[value='logistic']").click()
    paste = dash_duo.find_element("#data-paste")
    paste.send_keys("x,label\n1,1\n2,1\n3,1")
    dash_duo.find_element("#btn-data-paste").click()
    wait_until(lambda: "every label is 1" in dash_duo.find_element("#data-error").text, 10, "the one-class refusal")
    paste.send_keys(Keys.CONTROL, "a")
    paste.send_keys(Keys.DELETE)  # (clear() bypasses React's change event)
    paste.send_keys("x,label\n1,0\n2,1\n3,0\n4,1\n5,1")
    dash_duo.find_element("#btn-data-paste").click()
    panel = wait_until(lambda: (p := dash_duo.driver.execute_script(PANEL)) and p["n"] == 5 and p, 15,
                       "the pasted examples racing")
    assert panel["draws"] == "sigmoid" and dash_duo.find_element("#data-error").text == ""
    assert not console_errors(dash_duo)


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_axe_finds_nothing_serious_on_your_data(dash_duo, race_app, size):
    """The page of the user's examples: the upload box, the data panel and the clock switch."""
    open_page(dash_duo, race_app, size, "?surface=upload&clock=examples")
    wait_until(lambda: dash_duo.driver.execute_script(PANEL), 20, "the data panel")
    assert dash_duo.driver.execute_script("return document.getElementById('data-box').hidden") is False
    assert_no_serious_violations(dash_duo, f"{size}, Your data")


def test_a_large_upload_is_kept_on_the_server_and_races_by_its_key(dash_duo, race_app, tmp_path):
    """10,000 rows (about 0.4 MB): the upload fits the request limit, and after it the page holds
    only the examples' key, so a slider change sends a few kB, not the examples again."""
    open_race(dash_duo, race_app, "?surface=iris&steps=100")
    rows = "\n".join(f"{i / 1000:.3f},{2 * i / 1000 + 1 + (i * 7919 % 100) / 250:.4f}" for i in range(10_000))
    big = tmp_path / "big.csv"
    big.write_text("x,y\n" + rows)
    _choose_upload(dash_duo)
    dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(big))
    panel = wait_until(lambda: (p := dash_duo.driver.execute_script(PANEL)) and p["n"] == 10_000 and p, 30,
                       "10,000 examples racing")
    assert panel["surface"].startswith("upload:")
    assert "too many for a link" in dash_duo.find_element("#messages").text
    assert "data=" not in dash_duo.driver.current_url
    dash_duo.driver.execute_script(  # record the size of every callback request from now on
        """window.__sent = []; const fetch0 = window.fetch;
        window.fetch = (url, options) => { if (String(url).includes('_dash-update-component'))
          window.__sent.push(String((options && options.body) || '').length); return fetch0(url, options); };""")
    steps = dash_duo.driver.find_element(By.CSS_SELECTOR, "#slider-steps [role=slider]")
    new_race(dash_duo, lambda: steps.send_keys(Keys.ARROW_RIGHT), timeout=20)
    sent = dash_duo.driver.execute_script("return window.__sent")
    assert sent and max(sent) < 20_000, sent  # the key, not 0.2 MB of examples
    assert dash_duo.driver.execute_script(PANEL)["n"] == 10_000
