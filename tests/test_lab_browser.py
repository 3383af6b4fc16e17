"""The learning-rate lab (webapp/lab.py, assets/lab.js) in a real headless Chromium: each panel is
computed only once on screen and draws real data; the range test's suggestions are those of
`lr_range_test` and "Race at the suggested η" races at them; a click on the momentum map sets
the η and γ sliders and the race runs there; a link opens the chosen panel; a non-quadratic
surface says why it has no map; the sharpness panel draws 2/η; axe finds nothing serious."""

import math
import time

import pytest
from selenium.webdriver.common.by import By

from optimizers import ALL_OPTIMIZERS, OPTIMIZERS
from optimizers.lr_range import lr_range_test
from optimizers.momentum_map import theoretical_optimum
from surfaces import SURFACES
from tests.test_accessibility_browser import assert_no_serious_violations, open_page
from tests.test_app_browser import choose_surface, console_errors, new_race, state, wait_for
from webapp import edge_of_stability as eos
from webapp.state import RaceState

pytestmark = pytest.mark.browser

FIGURE = """const gd = document.querySelector('#lab-' + arguments[0] + '-graph .js-plotly-plot');
  if (!gd || !gd.data || !gd.data.length || !gd.layout.meta || !gd._fullLayout.xaxis) return null;
  return {meta: gd.layout.meta, traces: gd.data.map(t => ({type: t.type, name: t.name || '',
          n: (t.x || []).length, y: t.type === 'heatmap' ? null : t.y})),
          hidden: document.getElementById('lab-' + arguments[0]).hidden};"""


def figure(duo, panel):
    return duo.driver.execute_script(FIGURE, panel)


def show_lab(duo):
    duo.driver.execute_script("document.getElementById('lab').scrollIntoView()")


def drawn(duo, panel, surface, timeout=30):
    """The panel's figure once it is drawn for `surface`."""
    return wait_for(duo, lambda: (f := figure(duo, panel)) and f["meta"]["surface"] == surface and f, timeout,
                    f"the {panel} panel on {surface}")


def test_range_test_suggests_what_lr_range_test_does_and_races_there(dash_duo, race_app):
    open_page(dash_duo, race_app, "laptop", "?surface=bowl")
    d = dash_duo.driver
    time.sleep(1.0)
    assert figure(dash_duo, "range") is None  # off screen: nothing was asked of the server
    show_lab(dash_duo)
    f = drawn(dash_duo, "range", "bowl")
    assert not f["hidden"] and f["meta"]["panel"] == "range"
    lines = [t for t in f["traces"] if t["type"] == "scatter" and t["n"] == 100]
    assert len(lines) == 9  # a 100-update run per optimizer
    # the suggestions the page lists are lr_range_test's on this race (the default settings, η aside)
    key = RaceState("bowl").race_key()
    settings = {o: {k: v for k, v in hp.items() if k != "lr"} for o, hp in key.settings_dict().items()}
    rt = lr_range_test(SURFACES["bowl"], start=key.start, optimizers=list(OPTIMIZERS), settings=settings)
    listed = {li.get_attribute("data-opt"): li for li in d.find_elements(By.CSS_SELECTOR, "#lab-range-table li")}
    assert list(listed) == list(OPTIMIZERS)
    expected = {}
    for i, oid in enumerate(OPTIMIZERS):
        row = rt.row(oid)
        top_without_stop = row["stopped_at"] < 0 and rt.suggested_at[i] == rt.steps
        if top_without_stop:  # AdaDelta: the loss still fell fastest at η = 10
            assert listed[oid].get_attribute("data-lr") == "" and "no suggestion" in listed[oid].text
            continue
        expected[oid] = float(f"{row['suggested_lr']:.3g}")
        assert float(listed[oid].get_attribute("data-lr")) == expected[oid]
        assert f"suggested η = {expected[oid]:.3g}" in listed[oid].text
    assert expected["gd"] == 0.0453 and "adadelta" not in expected  # the docstring's numbers
    # race at them: each optimizer its own η, AdaDelta its own η = 1 as before
    new_race(dash_duo, lambda: d.find_element(By.ID, "btn-lab-suggested").click(), 15)
    settings = wait_for(dash_duo, lambda: (s := state(dash_duo)["settings"]) and s["gd"]["lr"] == 0.0453 and s,
                        10, "the race at the suggested η")
    for oid, lr in expected.items():
        assert settings[oid]["lr"] == pytest.approx(lr, rel=1e-12), oid
    assert settings["adadelta"]["lr"] == 1.0
    result = d.find_element(By.ID, "lab-range-result").text
    assert "Racing at the suggested η" in result and "No suggestion for AdaDelta: it keeps the shared η." in result
    # axe on the lab at laptop width, the lab on screen
    show_lab(dash_duo)
    assert d.find_element(By.ID, "lab-panel").get_attribute("aria-labelledby") == "lab-label"
    assert_no_serious_violations(dash_duo, "laptop, the lab's range test on screen")
    assert not console_errors(dash_duo)


def test_a_link_opens_the_momentum_map_and_a_click_races_at_the_cell(dash_duo, race_app):
    open_page(dash_duo, race_app, "laptop", "?surface=ravine&lab=map")
    d = dash_duo.driver
    assert d.execute_script("return document.querySelector('#lab-panel input[value=map]').checked")
    assert d.find_element(By.ID, "lab-range").get_attribute("hidden") is not None
    show_lab(dash_duo)
    f = drawn(dash_duo, "map", "ravine")
    heat = [t for t in f["traces"] if t["type"] == "heatmap"]
    assert len(heat) == 2 and heat[0]["n"] == 64
    alpha, beta, r_star = theoretical_optimum(SURFACES["ravine"])
    star = next(t for t in f["traces"] if t["name"].startswith("(α*, β*)"))
    assert star["y"] == [pytest.approx(beta)]
    caption = d.find_element(By.ID, "lab-map-caption").text
    assert f"α* = (2/(√μ + √L))² = {alpha:.3g}" in caption and f"{r_star:.4f}" in caption and "κ = L/μ = 50" in caption
    # click a converging cell away from the edges: the sliders take its η and γ, and Momentum races there
    i, j = 45, 30
    cell = d.execute_script(
        """const gd = document.querySelector('#lab-map-graph .js-plotly-plot'), fl = gd._fullLayout;
        const t = gd.data[0], i = arguments[0], j = arguments[1];
        return {lr: t.customdata[j][i][0], gamma: t.customdata[j][i][1],
                px: fl.xaxis._offset + fl.xaxis.l2p(t.x[i]), py: fl.yaxis._offset + fl.yaxis.l2p(t.y[j])};""",
        i, j)
    gd = d.find_element(By.CSS_SELECTOR, "#lab-map-graph .js-plotly-plot")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", gd)

    def click():
        # mouse events at the cell's point, through Plotly's own handlers (a WebDriver pointer action
        # does not reach Plotly under the viewport emulation that open_page uses)
        d.execute_script(
            """const r = arguments[0].getBoundingClientRect(), x = r.left + arguments[1], y = r.top + arguments[2];
            const el = document.elementFromPoint(x, y);
            for (const type of ['mousemove', 'mousedown', 'mouseup', 'click'])
              el.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true, view: window}));""",
            gd, cell["px"], cell["py"])

    new_race(dash_duo, click, 15)
    momentum = wait_for(dash_duo, lambda: (s := state(dash_duo)["settings"]["momentum"])
                        and s["gamma"] != 0.9 and s, 10, "the race at the clicked cell")
    assert momentum["lr"] == pytest.approx(cell["lr"], rel=1e-5)  # the slider's value: 6 significant digits
    assert momentum["gamma"] == pytest.approx(cell["gamma"], rel=1e-5)
    # the map marks the race's (η, γ) once it is asked again
    wait_for(dash_duo, lambda: (f := figure(dash_duo, "map")) and any(
        t["name"] == "Momentum in the race" and t["y"] == [pytest.approx(momentum["gamma"])] for t in f["traces"]),
        15, "the race's (η, γ) on the map")
    # a surface that is not quadratic has no map, and says why
    choose_surface(dash_duo, "rosenbrock", SURFACES["rosenbrock"].name)
    show_lab(dash_duo)
    wait_for(dash_duo, lambda: "No momentum map here" in d.find_element(By.ID, "lab-map-caption").text, 15,
             "the reason there is no map")
    assert "Hessian is not constant" in d.find_element(By.ID, "lab-map-caption").text
    assert d.find_element(By.ID, "lab-map-plot").get_attribute("hidden") is not None
    assert not console_errors(dash_duo)


def test_the_edge_of_stability_lesson_opens_the_sharpness_panel_with_2_over_eta(dash_duo, race_app):
    open_page(dash_duo, race_app, "laptop", "?scenario=edge_of_stability")
    d = dash_duo.driver
    assert d.execute_script("return document.querySelector('#lab-panel input[value=sharpness]').checked")
    show_lab(dash_duo)
    f = drawn(dash_duo, "sharpness", "rosenbrock")
    limit = 2 / eos.ABOVE  # GD and Momentum share η = 0.0021
    line = next(t for t in f["traces"] if t["name"].startswith("2/η"))
    assert line["name"] == "2/η = 952 (Gradient Descent and SGD + Momentum)"
    assert all(v == pytest.approx(limit) for v in line["y"])
    assert f["meta"]["limits"] == {"gd,momentum": pytest.approx(limit)}
    gd = next(t for t in f["traces"] if t["name"] == ALL_OPTIMIZERS["gd"].name)
    late = [v for v in gd["y"][-100:] if v]
    assert late and all(abs(v / limit - 1) < 0.1 for v in late)  # GD hovers at the edge, 2/η
    notes = d.find_element(By.ID, "lab-sharpness-notes").text
    assert "2/η = 952" in notes and f"of its {eos.STEPS + 1:,} rows" in notes  # 2,501 rows drawn at 1,000
    assert math.isclose(len(gd["y"]), 1000, abs_tol=2)
    assert not console_errors(dash_duo)
