"""What the page says is what the race shows, in a real headless Chromium: hidden optimizers
neither stretch the loss chart, nor reach the exports, nor leave empty panels; the σ = 0 note; a
typed formula's whole error; a clicked start that the link holds exactly."""

import json
import math
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from optimizers import OPTIMIZERS
from surfaces import get_surface
from tests.checks import RACE_ON_SCREEN
from tests.test_app_browser import console_errors, new_race, painted_pixels, slider_thumb, press, start, state, wait_for
from webapp.export import rollout_from_json
from webapp.controls import CUSTOM
from webapp.race import race_result
from webapp.scenarios import SCENARIOS
from webapp.state import surface_for
from webapp.theme import OPTIMIZER_COLORS

pytestmark = pytest.mark.browser
IDS = list(OPTIMIZERS)


def open_page(duo, query: str, app=None) -> dict:
    """A fresh page at `query`, once its race is on screen; the server is running, or is started
    with `app` (without loading the default page first)."""
    if app is not None:
        duo.start_server(app, navigate=False)
    d = duo.driver
    d.get("about:blank")
    d.get(duo.server.url + "/" + query)
    wait_for(duo, lambda: d.execute_script(RACE_ON_SCREEN),
             20, "the race")
    return state(duo)


def show_only(duo, shown):
    """Tick exactly `shown` in the per-optimizer checklist (as a click there does)."""
    duo.driver.execute_script("window.dash_clientside.set_props('visible', {value: arguments[0]})", list(shown))
    wait_for(duo, lambda: sorted(state(duo)["visible"]) == sorted(shown), 10, f"showing {shown}")


def grid(duo) -> dict:
    """The side-by-side figure as drawn: its panels' ids, axis domains, titles and contour images (one a panel)."""
    return duo.driver.execute_script(
        """const gd = document.querySelector('#race-map .js-plotly-plot');
        const fl = gd && gd._fullLayout;
        if (!fl || !gd.layout.meta) return null;
        const domains = [];
        for (let k = 1; ; k++) {
          const xa = fl['xaxis' + (k > 1 ? k : '')], ya = fl['yaxis' + (k > 1 ? k : '')];
          if (!xa || !ya) break;
          domains.push({x: xa.domain, y: ya.domain});
        }
        return {panels: gd.layout.meta.panels, domains: domains,
                titles: (gd.layout.annotations || []).map(a => a.text.replace(/<[^>]+>/g, '').replace('■ ', '')),
                layers: document.querySelectorAll('#race-map .imagelayer image').length};""")


def shape(g) -> tuple[int, int]:
    """(columns, rows) of the panels' domains (a last row that is not full is centred)."""
    rows: dict[float, int] = {}
    for d in g["domains"]:
        rows[round(d["y"][0], 4)] = rows.get(round(d["y"][0], 4), 0) + 1
    return max(rows.values()), len(rows)


def wait_for_grid(duo, shown) -> dict:
    expected = [o for o in IDS if o in shown]
    return wait_for(duo, lambda: (g := grid(duo)) and g["panels"] == expected and g["layers"] == len(expected) and g,
                    10, f"a grid of {expected}")


def head_colours(duo) -> dict:
    """The colour of the canvas under each panel's head: each panel must draw its own optimizer."""
    return duo.driver.execute_script(
        """const P = window.OptimizerRace, gd = P.graphDiv('race-map'), s = P.state();
        const c = gd.querySelector('canvas.race-overlay'), ctx = c.getContext('2d');
        const dpr = c.width / gd.clientWidth, out = {};
        gd.layout.meta.panels.forEach((id, k) => {
          const ax = P.axes(gd, k + 1), h = P.head(s.ids.indexOf(id));
          const x = ax.x(h[0]), y = ax.y(h[1]);
          if (x < ax.xa._offset || x > ax.xa._offset + ax.xa._length || y < ax.ya._offset || y > ax.ya._offset + ax.ya._length) return;
          out[id] = Array.from(ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data.slice(0, 3));
        });
        return out;""")


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def click_at(duo, panel: int, point) -> dict:
    """A real click at data coordinates `point` in grid panel `panel` (1-based); the new race."""
    d = duo.driver
    px, py = d.execute_script(
        """const P = window.OptimizerRace, gd = P.graphDiv('race-map'), ax = P.axes(gd, arguments[0]);
        return [ax.x(arguments[1]), ax.y(arguments[2])];""", panel, *point)
    gd = d.find_element(By.CSS_SELECTOR, "#race-map .js-plotly-plot")
    return new_race(duo, lambda: ActionChains(d).move_to_element_with_offset(gd, px, py).click().perform())


# -- 1a: the loss chart fits the shown curves ----------------------------------------------------------
def test_hidden_optimizers_do_not_stretch_the_loss_chart(dash_duo, race_app):
    lesson = SCENARIOS["adagrad_stalls"].state
    s = open_page(dash_duo, "?scenario=adagrad_stalls", race_app)
    assert sorted(s["visible"]) == ["adagrad", "rmsprop"]
    # the same race on the server: the chart's top decade is the shown curves' highest loss
    r = race_result(lesson)
    surface = get_surface(lesson.surface)
    gaps = {o: (r.losses[i, : (r.diverged_at[i] if r.diverged_at[i] > 0 else r.steps + 1)] - surface.f_min).max()
            for i, o in enumerate(r.names)}
    def top(ids):
        return math.ceil(math.log10(max(gaps[o] for o in ids)) + 0.05)

    assert top(IDS) >= top(["adagrad", "rmsprop"]) + 3  # a hidden optimizer runs off, decades higher
    y_range = lambda: dash_duo.driver.execute_script(  # noqa: E731
        "return document.querySelector('#loss-chart .js-plotly-plot')._fullLayout.yaxis.range")
    wait_for(dash_duo, lambda: y_range()[1] == top(["adagrad", "rmsprop"]), 10, "the loss axis of the shown two")
    assert y_range()[1] <= 2
    # showing the one that runs off brings its decades back; hiding it again fits the two
    wild = max(gaps, key=gaps.get)
    show_only(dash_duo, ["adagrad", "rmsprop", wild])
    wait_for(dash_duo, lambda: y_range()[1] == top(["adagrad", "rmsprop", wild]), 10, "the axis with the wild one")
    show_only(dash_duo, ["adagrad", "rmsprop"])
    wait_for(dash_duo, lambda: y_range()[1] == top(["adagrad", "rmsprop"]), 10, "the axis of the two again")
    assert painted_pixels(dash_duo, "loss-chart") > 200
    assert not console_errors(dash_duo)


# -- 1c: a panel per shown optimizer, sized to the map ----------------------------------------------------
def test_the_grid_has_a_panel_per_shown_optimizer(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    g = wait_for_grid(dash_duo, IDS)
    assert shape(g) == (3, 3)
    # a real click in the checklist hides one: eight panels, no empty one
    d.find_element(By.CSS_SELECTOR, ".per-optimizer summary").click()
    d.find_element(By.CSS_SELECTOR, "#visible input[value=adagrad]").click()
    g = wait_for_grid(dash_duo, [o for o in IDS if o != "adagrad"])
    assert "AdaGrad" not in g["titles"]
    wide = d.execute_script("const m = document.getElementById('race-map'); return m.clientWidth > m.clientHeight")
    for shown, shapes in [
        (["gd", "momentum", "rmsprop", "adam"], [(2, 2)]),
        (["sgd", "adam"], [(2, 1)] if wide else [(1, 2)]),
        (["momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam"], [(3, 2), (2, 3)]),
        (["nag", "adagrad", "adam"], [(2, 2), (3, 1), (1, 3)]),
    ]:
        show_only(dash_duo, shown)
        g = wait_for_grid(dash_duo, shown)
        assert shape(g) in shapes, (shown, g["domains"])
        assert g["titles"] == [OPTIMIZERS[o].name for o in IDS if o in shown]
        for box in g["domains"]:  # inside the figure, none overlapping another
            assert 0 <= box["x"][0] < box["x"][1] <= 1 and 0 <= box["y"][0] < box["y"][1] <= 1
        overlaps = [(a, b) for a in g["domains"] for b in g["domains"] if a is not b
                    and a["x"][0] < b["x"][1] and b["x"][0] < a["x"][1] and a["y"][0] < b["y"][1] and b["y"][0] < a["y"][1]]
        assert not overlaps
        # each panel draws its own optimizer's path (its head's colour)
        d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(60)")
        colours = head_colours(dash_duo)
        assert colours, "no head inside its panel"
        for oid, pixel in colours.items():
            assert max(abs(a - b) for a, b in zip(pixel, rgb(OPTIMIZER_COLORS[oid]))) <= 40, (oid, pixel)
    # a click in the last panel sets the start (the click handler follows the panels)
    n = len(grid(dash_duo)["panels"])
    after = click_at(dash_duo, n, (0.5, 2.0))
    assert after["start"] == pytest.approx([0.5, 2.0], abs=0.03)
    # none shown: one map, saying why, and a click there still sets the start
    show_only(dash_duo, [])
    g = wait_for(dash_duo, lambda: (g := grid(dash_duo)) and g["panels"] == [] and g, 10, "the empty grid")
    assert g["layers"] == 1 and "No optimizer is shown" in g["titles"][0]
    after = click_at(dash_duo, 1, (-1.0, 0.5))
    assert after["start"] == pytest.approx([-1.0, 0.5], abs=0.03)
    assert not console_errors(dash_duo)


# -- 1b: the exports hold the shown optimizers -------------------------------------------------------------
def capture_downloads(duo):
    """Keep every file the page downloads (dcc.Download hands it to URL.createObjectURL)."""
    try:
        duo.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "deny"})
    except Exception:  # an older driver: the file is downloaded as well, which does no harm
        pass
    duo.driver.execute_script(
        """window.__downloads = [];
        const original = URL.createObjectURL.bind(URL);
        URL.createObjectURL = (blob) => { window.__downloads.push(blob); return original(blob); };""")


def download(duo, button: str) -> str:
    d = duo.driver
    count = d.execute_script("return window.__downloads.length")
    d.find_element(By.ID, button).click()
    wait_for(duo, lambda: d.execute_script("return window.__downloads.length") > count, 20, f"the {button} file")
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1]; window.__downloads[arguments[0]].text().then(done);", count)


def test_exports_hold_the_shown_optimizers(dash_duo, race_app):
    d = dash_duo.driver
    s = open_page(dash_duo, "?surface=bowl&noise=0.7&steps=120&seed=5&hide=gd,nag,adadelta,adam", race_app)
    shown = ["sgd", "minibatch_sgd", "momentum", "adagrad", "rmsprop"]
    assert [o for o in s["ids"] if o in s["visible"]] == shown
    capture_downloads(dash_duo)
    data = json.loads(download(dash_duo, "btn-export-json"))
    assert [o["id"] for o in data["optimizers"]] == shown and sorted(data["settings"]) == sorted(shown)
    assert sorted(data["ranking"]) == sorted(shown)
    # it re-runs bit for bit, and it is the race on the page (the page's paths are float32)
    again = rollout_from_json(json.dumps(data))
    heads = d.execute_script("const P = window.OptimizerRace; P.pause(); P.setStep(120);"
                             "return P.state().ids.map((_, i) => P.head(i));")
    for k, oid in enumerate(again.names):
        assert again.paths[k, -1].astype("float32").tolist() == heads[s["ids"].index(oid)]
        assert again.paths[k].tolist() == data["optimizers"][k]["path"]
    text = download(dash_duo, "btn-export-csv")
    ids = {line.split(",")[0] for line in text.splitlines()[1:] if line and not line.startswith("#")}
    assert ids - {"optimizer_id"} == set(shown)
    page = download(dash_duo, "btn-export-html")
    payload = json.loads(re.search(r'id="race-data">(.*?)</script>', page, re.S).group(1))
    assert payload["ids"] == shown
    # nothing shown: no file, and the page says why
    show_only(dash_duo, [])
    count = d.execute_script("return window.__downloads.length")
    d.find_element(By.ID, "btn-export-json").click()
    dash_duo.wait_for_contains_text("#messages", "nothing to export", timeout=10)
    time.sleep(0.5)
    assert d.execute_script("return window.__downloads.length") == count
    assert not console_errors(dash_duo)


# -- 2: σ = 0 says why GD, SGD and Mini-batch SGD are identical ---------------------------------------------
def note(duo) -> str:
    return duo.driver.execute_script(
        "const n = document.getElementById('race-note'); return n && n.offsetParent !== null ? n.textContent : ''")


def badge_pixel(duo, oid) -> list:
    """The canvas colour inside the "= GD here" badge's corner of `oid`'s grid panel."""
    return duo.driver.execute_script(
        """const P = window.OptimizerRace, gd = P.graphDiv('race-map');
        const k = gd.layout.meta.panels.indexOf(arguments[0]), ax = P.axes(gd, k + 1);
        const c = gd.querySelector('canvas.race-overlay'), dpr = c.width / gd.clientWidth;
        const x = ax.xa._offset + 9, y = ax.ya._offset + ax.ya._length - 21;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);""", oid)


NOTE = "Gradient noise σ = 0: GD, SGD and Mini-batch SGD see the exact gradient and move together."


def test_sigma_zero_says_why_the_plain_three_coincide(dash_duo, race_app):
    s = start(dash_duo, race_app)
    d = dash_duo.driver
    assert s["noise"] == 0
    wait_for(dash_duo, lambda: NOTE in note(dash_duo), 10, "the σ = 0 note")
    assert "Raise σ to see them differ." in note(dash_duo)
    assert state(dash_duo)["twins"] == ["gd", "sgd", "minibatch_sgd"]
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(200)")
    assert dash_duo.driver.execute_script("return window.OptimizerRace.head(0)") == d.execute_script(
        "return window.OptimizerRace.head(1)")  # they really coincide
    badge = [238, 244, 251]
    for oid in ("sgd", "minibatch_sgd"):  # "= GD here: σ = 0" in their panels, not in GD's
        assert max(abs(a - b) for a, b in zip(badge_pixel(dash_duo, oid)[:3], badge)) <= 6, oid
    assert max(abs(a - b) for a, b in zip(badge_pixel(dash_duo, "gd")[:3], badge)) > 6
    # σ > 0: they differ, and nothing says otherwise
    new_race(dash_duo, lambda: press(dash_duo, slider_thumb(dash_duo, "noise"), Keys.ARROW_RIGHT))
    wait_for(dash_duo, lambda: note(dash_duo) == "", 5, "no note")
    assert state(dash_duo)["twins"] == []
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(200)")
    assert max(abs(a - b) for a, b in zip(badge_pixel(dash_duo, "sgd")[:3], badge)) > 6
    # back to σ = 0, the note is back; it names only the shown ones, and needs two of them
    new_race(dash_duo, lambda: press(dash_duo, slider_thumb(dash_duo, "noise"), Keys.ARROW_LEFT))
    wait_for(dash_duo, lambda: NOTE in note(dash_duo), 5, "the note again")
    show_only(dash_duo, ["sgd", "minibatch_sgd", "adam"])
    wait_for(dash_duo, lambda: note(dash_duo).startswith("Gradient noise σ = 0: SGD and Mini-batch SGD see"), 5,
             "the note of two")
    show_only(dash_duo, ["minibatch_sgd", "adam"])
    wait_for(dash_duo, lambda: note(dash_duo) == "", 5, "no note for one")
    # another learning rate for SGD: they no longer coincide, and the note goes
    show_only(dash_duo, IDS)
    wait_for(dash_duo, lambda: NOTE in note(dash_duo), 5, "the note of three")
    d.find_element(By.CSS_SELECTOR, ".per-optimizer summary").click()
    box = d.find_element(By.CSS_SELECTOR, "input[id*='\"opt\":\"sgd\"'][id*='\"hp\":\"lr\"']")
    new_race(dash_duo, lambda: (box.send_keys("0.002"), box.send_keys(Keys.TAB)))
    wait_for(dash_duo, lambda: note(dash_duo).startswith("Gradient noise σ = 0: GD and Mini-batch SGD see"), 5,
             "the note without SGD")
    # the overlay view keeps the note
    d.execute_script("document.querySelector('#view input[value=overlay]').click()")
    wait_for(dash_duo, lambda: state(dash_duo)["view"] == "overlay", 5, "the overlay")
    assert note(dash_duo).startswith("Gradient noise σ = 0: GD and Mini-batch SGD")
    assert not console_errors(dash_duo)


# -- 3: a typed formula's whole error, at three screen sizes ---------------------------------------------------
BAD_FORMULA = "x^2 + exp(y) * foo(x) + zz"


@pytest.mark.parametrize("width, height", [(1920, 1080), (1366, 768), (390, 844)])
def test_a_formula_error_is_shown_whole(dash_duo, race_app, width, height):
    try:
        surface_for(CUSTOM, BAD_FORMULA)
    except ValueError as err:
        message = str(err)
    assert len(message) > 150  # a long one: the list of allowed functions
    d = dash_duo.driver
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        open_page(dash_duo, "?surface=custom&f=x%5E2%2By%5E2", race_app)
        header = d.execute_script("return document.querySelector('.topbar').getBoundingClientRect().height")
        box = d.find_element(By.ID, "formula")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(BAD_FORMULA, Keys.ENTER)
        dash_duo.wait_for_contains_text("#formula-error", "unknown function 'foo'", timeout=10)
        shown = d.execute_script(
            """const e = document.getElementById('formula-error'), r = e.getBoundingClientRect();
            const hit = document.elementFromPoint((r.left + r.right) / 2, r.bottom - 4);
            return {text: e.innerText, scroll: e.scrollHeight, client: e.clientHeight, left: r.left, right: r.right,
                    top: r.top, bottom: r.bottom, onTop: e.contains(hit),
                    header: document.querySelector('.topbar').getBoundingClientRect().height,
                    input: document.getElementById('formula').getBoundingClientRect().bottom,
                    width: window.innerWidth, height: window.innerHeight};""")
        assert " ".join(shown["text"].split()) == message  # all of it
        assert shown["scroll"] <= shown["client"] + 1  # nothing cut off
        assert shown["onTop"]  # not hidden under the race
        assert shown["top"] >= shown["input"] and 0 <= shown["left"] and shown["right"] <= shown["width"]
        assert shown["bottom"] <= shown["height"]
        assert shown["header"] == header  # the header keeps its height and layout
        # a good formula clears it
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys("x^2 + 3*y^2", Keys.ENTER)
        wait_for(dash_duo, lambda: d.execute_script(
            "const e = document.getElementById('formula-error'); return e.textContent === '' && e.offsetParent === null"),
            10, "the error to go")
    finally:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# -- 4: a clicked start, and any number, exactly in the link -----------------------------------------------------
def query(duo) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(duo.driver.current_url).query).items()}


def ends(duo) -> list:
    return duo.driver.execute_script(
        "const P = window.OptimizerRace; P.pause(); P.setStep(P.state().steps); return P.state().ids.map((_, i) => P.head(i));")


def test_a_clicked_start_is_rounded_and_the_link_is_exact(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    target = (0.123456, 1.987654)
    s = click_at(dash_duo, 5, target)  # a panel in the middle of the grid
    x, y = s["start"]
    assert (x, y) == pytest.approx(target, abs=0.03)
    assert round(x, 4) == x and round(y, 4) == y  # 1e-4 of Rosenbrock's span of 4
    wait_for(dash_duo, lambda: "x" in query(dash_duo) and float(query(dash_duo)["x"]) == x, 10, "the start in the link")
    q = query(dash_duo)
    assert float(q["x"]) == x and float(q["y"]) == y  # the very numbers the race used
    assert len(q["x"]) <= 7 and len(q["y"]) <= 7  # and short
    # a tuned η with all its digits: the link keeps every one
    lr = 0.0015283067326587688
    d.find_element(By.CSS_SELECTOR, ".per-optimizer summary").click()
    box = d.find_element(By.CSS_SELECTOR, "input[id*='\"opt\":\"adam\"'][id*='\"hp\":\"lr\"']")
    s = new_race(dash_duo, lambda: (box.send_keys(repr(lr)), box.send_keys(Keys.TAB)))
    assert s["settings"]["adam"]["lr"] == lr
    wait_for(dash_duo, lambda: f"adam.lr:{lr!r}" in query(dash_duo).get("set", ""), 10, "η in the link")
    before, url, heads = state(dash_duo), d.current_url, ends(dash_duo)
    # the link opens the same race, to the last bit
    after = open_page(dash_duo, url[len(dash_duo.server_url) + 1:])
    for key in ("start", "settings", "noise", "steps", "seed", "surface"):
        assert after[key] == before[key], key
    assert ends(dash_duo) == heads
    assert not console_errors(dash_duo)
