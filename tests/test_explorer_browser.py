"""The learning-rate explorer, lessons, links, live numbers and the 3-D view in a real browser."""

import math
import time

import pytest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from surfaces import SURFACES
from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import (choose_surface, console_errors, new_race, painted_pixels, start, state,
                                    wait_for)
from webapp.payload import surface_payload
from webapp.scenarios import SCENARIOS
from webapp.theme import OPTIMIZER_COLORS

pytestmark = pytest.mark.browser


def explorer(duo) -> dict:
    """The explorer figure as drawn: current-η annotation and the band grid's size."""
    return duo.driver.execute_script(
        """const gd = document.querySelector('#explorer-graph .js-plotly-plot');
        if (!gd || !gd.data || !gd.layout.meta) return null;
        const heat = gd.data.find(t => t.type === 'heatmap');
        const label = document.querySelector('#explorer-graph .explorer-line-label');
        return {surface: gd.layout.meta.surface, race: label ? label.textContent : null,
                rows: heat ? heat.z.length : 0, cols: heat ? heat.z[0].length : 0};""")


def heads(duo) -> list:
    return duo.driver.execute_script(
        "const r = window.OptimizerRace; return r.state().ids.map((_, i) => r.head(i));")


def show_explorer(duo):
    duo.driver.execute_script("document.getElementById('explorer').scrollIntoView()")


def test_explorer_draws_only_on_screen_and_for_every_surface(dash_duo, race_app):
    start(dash_duo, race_app)
    time.sleep(1.0)
    assert explorer(dash_duo) is None  # off screen: no sweep was asked for
    show_explorer(dash_duo)
    for sid, surface in SURFACES.items():
        if state(dash_duo)["surface"] != sid:
            choose_surface(dash_duo, sid, surface.name)
            show_explorer(dash_duo)
        wait_for(dash_duo, lambda: (e := explorer(dash_duo)) and e["surface"] == sid and e, 20,
                 f"the explorer on {sid}")
        e = explorer(dash_duo)
        assert (e["rows"], e["cols"]) == (9, 64)
    assert not console_errors(dash_duo)


def test_clicking_the_explorer_and_tuning(dash_duo, race_app):
    start(dash_duo, race_app)
    choose_surface(dash_duo, "bowl", "Bowl")
    show_explorer(dash_duo)
    wait_for(dash_duo, lambda: (e := explorer(dash_duo)) and e["surface"] == "bowl" and e["race"] == "race: η = 0.05",
             20, "explorer")
    d = dash_duo.driver
    target = 0.2
    # a real click on the band grid at η = 0.2, in GD's row
    px, py = d.execute_script(
        """const gd = document.querySelector('#explorer-graph .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis2;
        const heat = gd.data.find(t => t.type === 'heatmap');
        const j = heat.x.reduce((b, v, k) => Math.abs(Math.log(v / arguments[0])) < Math.abs(Math.log(heat.x[b] / arguments[0])) ? k : b, 0);
        return [xa._offset + xa.l2p(Math.log10(heat.x[j])), ya._offset + ya.c2p(0)];""", target)
    gd = d.find_element(By.CSS_SELECTOR, "#explorer-graph .js-plotly-plot")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", gd)
    s = new_race(dash_duo, lambda: ActionChains(d).move_to_element_with_offset(gd, px, py).click().perform())
    assert s["settings"]["gd"]["lr"] == pytest.approx(target, rel=0.12)
    assert s["settings"]["adam"]["lr"] == s["settings"]["gd"]["lr"]
    # Tune: each optimizer its own best learning rate; on the bowl all of them then arrive
    s = new_race(dash_duo, lambda: d.find_element(By.ID, "btn-tune").click(), timeout=20)
    lrs = {o: hp["lr"] for o, hp in s["settings"].items()}
    assert len(set(round(v, 8) for v in lrs.values())) >= 4, lrs  # each its own
    assert all(a > 0 for a in s["arrived_at"]), s["arrived_at"]
    assert "each optimizer races at its own η*: Gradient Descent" in d.find_element(By.ID, "tune-result").text
    assert not console_errors(dash_duo)


def test_every_lesson_loads_with_its_text(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    for sid, scenario in SCENARIOS.items():
        s = new_race(dash_duo, lambda: dash_duo.select_dcc_dropdown("#scenario", scenario.title), timeout=20)
        st = scenario.state
        assert s["surface"] == st.surface, sid
        if "lr" in st.values:
            assert s["settings"]["gd"]["lr"] == pytest.approx(st.values["lr"]), sid
        assert s["steps"] == st.values.get("steps", 500)
        assert sorted(s["visible"]) == sorted(o for o in s["ids"] if o not in st.hidden)
        if st.start is not None:
            assert s["start"] == pytest.approx(list(st.start))
        dash_duo.wait_for_contains_text("#scenario-text", scenario.intro[:40], timeout=5)
        assert f"scenario={sid}" in d.current_url
    assert not console_errors(dash_duo)


def test_a_copied_link_reproduces_the_race(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    choose_surface(dash_duo, "saddle", "Saddle")
    d.execute_script("window.dash_clientside.set_props('slider-noise', {value: 0.7})")
    wait_for(dash_duo, lambda: state(dash_duo)["noise"] == 0.7, 10, "noise")
    d.execute_script("window.dash_clientside.set_props('start-point', {data: [-1.5, 0.4]})")
    wait_for(dash_duo, lambda: state(dash_duo)["start"] == [-1.5, 0.4], 10, "start")
    d.execute_script("document.querySelector('#view input[value=overlay]').click()")
    wait_for(dash_duo, lambda: "view=overlay" in d.current_url, 10, "the view in the link")
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(137)")
    wait_for(dash_duo, lambda: "step=137" in d.current_url, 5, "the step in the link")
    url = d.current_url
    before = state(dash_duo)
    d.execute_script("window.OptimizerRace.setStep(400)")
    ends = heads(dash_duo)

    d.get("about:blank")
    d.get(url)  # a fresh page
    wait_for(dash_duo, lambda: d.execute_script(
        RACE_ON_SCREEN), 20, "the race")
    after = state(dash_duo)
    assert after["step"] == 137 and not after["playing"]
    # paused at step 137 in the overlay view, and drawn (the race may arrive before the plot)
    wait_for(dash_duo, lambda: painted_pixels(dash_duo, "race-map") > 1000, 10, "paths on the map")
    for key in ("surface", "start", "settings", "noise", "batch_size", "seed", "steps", "view"):
        assert after[key] == before[key], key
    d.execute_script("window.OptimizerRace.setStep(400)")
    assert heads(dash_duo) == ends  # the same paths, to the last bit

    # the back button returns to the previous state of the race
    d.execute_script("document.querySelector('#view input[value=grid]').click()")
    wait_for(dash_duo, lambda: "view=overlay" not in d.current_url, 10, "grid view link")
    d.back()
    wait_for(dash_duo, lambda: state(dash_duo)["view"] == "overlay", 10, "back to overlay")


def test_live_numbers_and_3d_view(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    choose_surface(dash_duo, "bowl", "Bowl")
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(1);"
                     "document.querySelector('.equations').scrollIntoView()")
    dash_duo.wait_for_contains_text("#live-adam", "update 1", timeout=10)
    text = d.find_element(By.ID, "live-adam").text
    assert "m̂" in text and "effective η" in text
    # Adam's first step is exactly η = 0.05 per coordinate: its Δθ row shows ±0.05
    assert text.count("0.05") >= 2
    d.execute_script("window.OptimizerRace.setStep(20)")
    dash_duo.wait_for_contains_text("#live-momentum", "update 20", timeout=10)

    d.execute_script("window.scrollTo(0, 0); document.querySelector('#view input[value=\"3d\"]').click()")
    wait_for(dash_duo, lambda: d.execute_script(
        "const gd = document.querySelector('#race-map .js-plotly-plot');"
        "return !!(gd && gd.data && gd.data[0].type === 'surface' && gd._fullLayout.scene._scene)"), 15, "the 3-D figure")
    d.execute_script("window.OptimizerRace.setStep(50)")
    # the paths are drawn over the surface on the canvas, where Plotly itself projects a point
    wait_for(dash_duo, lambda: painted_pixels(dash_duo, "race-map") > 500, 10, "3-D paths")
    assert_3d_head_where_plotly_puts_it(dash_duo)
    # turning the scene moves the paths with it
    d.execute_script("const gd = window.OptimizerRace.graphDiv('race-map');"
                     "window.Plotly.relayout(gd, {'scene.camera.eye': {x: 1.6, y: -1.2, z: 0.9}})")
    assert_3d_head_where_plotly_puts_it(dash_duo)
    time.sleep(0.5)
    assert not console_errors(dash_duo)


def assert_3d_head_where_plotly_puts_it(duo):
    """Adam's head (drawn last, on top) on the 3-D view's canvas is where Plotly draws a scene
    annotation at Adam's point (x, y, log10(f − f_min + floor)) with the scene's camera now."""
    d = duo.driver
    surface = SURFACES[state(duo)["surface"]]
    floor = surface_payload(surface)["grid"]["floor"]
    x, y = d.execute_script("const r = window.OptimizerRace; return r.head(r.state().ids.indexOf('adam'))")
    z = math.log10(max(float(surface.f(x, y)) - surface.f_min, 0.0) + floor)
    d.execute_script(
        "const gd = window.OptimizerRace.graphDiv('race-map');"
        "window.Plotly.relayout(gd, {'scene.annotations': [{x: arguments[0], y: arguments[1], z: arguments[2],"
        "  text: 'here', showarrow: false, xanchor: 'center', yanchor: 'middle', opacity: 0}]})", x, y, z)

    def pixel():
        return d.execute_script(
            """const gd = window.OptimizerRace.graphDiv('race-map');
            const a = gd.querySelector('.annotation-scene'), c = gd.querySelector('canvas.race-overlay');
            if (!a || !c) return null;
            const box = a.getBoundingClientRect(), g = gd.getBoundingClientRect(), ratio = c.width / c.clientWidth;
            const px = Math.round((box.left + box.width / 2 - g.left) * ratio), py = Math.round((box.top + box.height / 2 - g.top) * ratio);
            return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data);""")

    adam = tuple(int(OPTIMIZER_COLORS["adam"][k:k + 2], 16) for k in (1, 3, 5))
    wait_for(duo, lambda: (p := pixel()) and p[3] == 255 and all(abs(a - b) <= 8 for a, b in zip(p, adam)),
             5, f"Adam's colour at its projected point, not {pixel()}")


def test_the_gd_limit_is_marked_on_quadratics(dash_duo, race_app):
    start(dash_duo, race_app)
    choose_surface(dash_duo, "ravine", "Ravine")
    show_explorer(dash_duo)
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(
        """const gd = document.querySelector('#explorer-graph .js-plotly-plot');
        return !!(gd && gd.layout && (gd.layout.annotations || []).some(a => a.text.includes('2/λmax = 0.2')));"""), 20, "GD limit")
    notes = dash_duo.driver.find_element(By.ID, "explorer-notes").text
    assert "diverges" in notes
