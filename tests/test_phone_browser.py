"""The page on a phone, in a real headless Chromium laid out as a phone (360 × 740 and 390 × 844,
touch events): one column that never scrolls sideways and where nothing overlaps, a map wide
enough to use, a tap on it that sets the start, one map at a time in the side-by-side view, and
the settings in a sheet that opens, moves a slider by touch and closes."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains

from tests.checks import open_at_size, set_viewport
from tests.test_app_browser import console_errors, new_race, state, wait_for

pytestmark = pytest.mark.browser

PHONES = [(360, 740), (390, 844)]
# what must never overlap: the race, its playback, the leaderboard, the loss chart, the share buttons
PARTS = [".topbar", "#map-switch", ".map-host", ".playback", "#leaderboard", "#loss-chart", ".share"]


def open_phone(duo, app, size, query=""):
    open_at_size(duo, app, *size, query)
    return state(duo)


def page_width(duo) -> tuple[int, int]:
    return tuple(duo.driver.execute_script("return [document.scrollingElement.scrollWidth, innerWidth]"))


def rects(duo, selectors) -> dict:
    """Each element's box in page coordinates (left, top, right, bottom)."""
    return duo.driver.execute_script(
        """const out = {};
        for (const sel of arguments[0]) {
          const e = document.querySelector(sel);
          if (!e || e.hidden) continue;
          const r = e.getBoundingClientRect();
          out[sel] = [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY];
        }
        return out;""", selectors)


def overlaps(boxes: dict) -> list:
    names = list(boxes)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = boxes[a], boxes[b]
            w, h = min(r1, r2) - max(l1, l2), min(b1, b2) - max(t1, t2)
            if w > 0.5 and h > 0.5:
                found.append((a, b, round(w), round(h)))
    return found


def tap(duo, x, y):
    """A finger's tap at viewport point (x, y): touch events, as a phone sends them."""
    d = duo.driver
    d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def panels(duo) -> list:
    return duo.driver.execute_script(
        "const gd = document.querySelector('#race-map .js-plotly-plot');"
        "return gd && gd.layout.meta ? gd.layout.meta.panels : null;")


def sheet_open(duo) -> bool:
    return duo.driver.execute_script(
        """const s = document.getElementById('controls'), r = s.getBoundingClientRect();
        return getComputedStyle(s).visibility === 'visible' && Math.abs(r.bottom - innerHeight) < 1 && r.top < innerHeight;""")


def sheet_closed(duo) -> bool:
    return duo.driver.execute_script(
        """const s = document.getElementById('controls');
        return getComputedStyle(s).visibility === 'hidden' && s.getBoundingClientRect().top >= innerHeight - 1;""")


@pytest.mark.parametrize("size", PHONES, ids=["360x740", "390x844"])
def test_one_column_no_sideways_scroll_no_overlap(dash_duo, race_app, size):
    open_phone(dash_duo, race_app, size)
    d = dash_duo.driver
    width, inner = page_width(dash_duo)
    assert inner == size[0] and width <= inner, f"the page is {width} px wide in a {inner} px screen"
    boxes = rects(dash_duo, PARTS)
    assert set(boxes) == set(PARTS), boxes
    assert not overlaps(boxes), overlaps(boxes)
    for sel, (left, _, right, _) in boxes.items():
        assert left >= -0.5 and right <= inner + 0.5, (sel, left, right)
    # in this order, top to bottom: the race first
    tops = [boxes[s][1] for s in PARTS]
    assert tops == sorted(tops), dict(zip(PARTS, tops))
    # the map is big enough to use: one panel, its plot at least 300 px wide
    plot = d.execute_script("const xa = document.querySelector('#race-map .js-plotly-plot')._fullLayout.xaxis;"
                            "const ya = document.querySelector('#race-map .js-plotly-plot')._fullLayout.yaxis;"
                            "return [xa._length, ya._length];")
    assert plot[0] >= 290 and plot[1] >= 250, plot
    assert d.execute_script("return document.querySelector('.map-host').getBoundingClientRect().width") >= 300
    assert panels(dash_duo) == ["gd"]
    assert d.execute_script("return document.querySelectorAll('#race-map .imagelayer image').length") == 1  # one map
    # the leaderboard still ranks all nine, the loss chart draws all nine
    assert len(d.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")) == 9
    # with a lesson open (its text above the leaderboard), and in the overlay view
    open_phone(dash_duo, race_app, size, "?scenario=lr_too_high")
    dash_duo.wait_for_contains_text("#scenario-text", "Learning rate too high", timeout=10)
    assert page_width(dash_duo)[0] <= size[0]
    assert not overlaps(rects(dash_duo, PARTS + ["#scenario-text"]))
    d.find_element(By.CSS_SELECTOR, "#view input[value=overlay]").find_element(By.XPATH, "./ancestor::label[1]").click()
    wait_for(dash_duo, lambda: state(dash_duo)["view"] == "overlay", 5, "the overlay view")
    wait_for(dash_duo, lambda: d.execute_script("return document.getElementById('map-switch').hidden"), 5,
             "the switcher to hide")
    assert page_width(dash_duo)[0] <= size[0]
    assert not overlaps(rects(dash_duo, PARTS))
    assert not console_errors(dash_duo)


@pytest.mark.parametrize("size", PHONES, ids=["360x740", "390x844"])
def test_tap_sets_the_start_and_the_switcher_picks_the_map(dash_duo, race_app, size):
    open_phone(dash_duo, race_app, size)
    d = dash_duo.driver
    assert d.execute_script("return navigator.maxTouchPoints") > 0
    target = (0.5, 2.0)
    x, y = d.execute_script(
        """const gd = document.querySelector('#race-map .js-plotly-plot'), r = gd.getBoundingClientRect();
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        return [r.left + xa._offset + xa.c2p(arguments[0]), r.top + ya._offset + ya.c2p(arguments[1])];""", *target)
    s = new_race(dash_duo, lambda: tap(dash_duo, x, y))
    assert s["start"] == pytest.approx(target, abs=0.03)
    # a swipe over the map scrolls the page; it does not move the start
    before = d.execute_script("return scrollY")
    d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y + 60}]})
    for k in range(1, 9):
        d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y + 60 - 20 * k}]})
    d.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    wait_for(dash_duo, lambda: d.execute_script("return scrollY") > before, 5, "the page to scroll")
    assert state(dash_duo)["start"] == s["start"]
    d.execute_script("window.scrollTo(0, 0)")
    # the switcher: next, previous, a choice from its menu, a tap on a leaderboard row
    d.find_element(By.CSS_SELECTOR, "#map-switch .map-next").click()
    wait_for(dash_duo, lambda: panels(dash_duo) == ["sgd"], 5, "SGD's map")
    d.find_element(By.CSS_SELECTOR, "#map-switch .map-prev").click()
    d.find_element(By.CSS_SELECTOR, "#map-switch .map-prev").click()
    wait_for(dash_duo, lambda: panels(dash_duo) == ["adam"], 5, "Adam's map (it wraps round)")
    d.execute_script("const s = document.querySelector('#map-switch select'); s.value = 'nag';"
                     "s.dispatchEvent(new Event('change', {bubbles: true}))")
    wait_for(dash_duo, lambda: panels(dash_duo) == ["nag"], 5, "Nesterov's map")
    d.find_element(By.CSS_SELECTOR, "#leaderboard tr[data-id=adagrad]").click()
    wait_for(dash_duo, lambda: panels(dash_duo) == ["adagrad"], 5, "AdaGrad's map")
    assert d.find_element(By.CSS_SELECTOR, "#map-switch select").get_attribute("value") == "adagrad"
    # the map draws that optimizer's path; wider than a phone, the nine are back side by side
    assert d.execute_script("return window.OptimizerRace.state().view") == "grid"
    set_viewport(d, 1366, 768)
    wait_for(dash_duo, lambda: panels(dash_duo) == state(dash_duo)["ids"], 5, "nine panels")
    assert d.execute_script("return document.getElementById('map-switch').hidden")
    assert not console_errors(dash_duo)


@pytest.mark.parametrize("size", PHONES, ids=["360x740", "390x844"])
def test_settings_sheet_opens_moves_a_slider_by_touch_and_closes(dash_duo, race_app, size):
    open_phone(dash_duo, race_app, size)
    d = dash_duo.driver
    toggle = d.find_element(By.ID, "btn-controls")
    assert toggle.is_displayed() and toggle.get_attribute("aria-expanded") == "false"
    assert sheet_closed(dash_duo)
    # closed, its controls are out of reach (not shown, not in the Tab order)
    thumb = d.find_element(By.CSS_SELECTOR, "#slider-lr [role=slider]")
    assert not thumb.is_displayed()
    toggle.click()
    wait_for(dash_duo, lambda: sheet_open(dash_duo), 5, "the sheet to open")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert d.execute_script("return document.activeElement.id") == "btn-close-controls"
    # the race stays in sight above the sheet: the map's top on screen
    top, sheet_top = d.execute_script("return [document.querySelector('.map-host').getBoundingClientRect().top,"
                                      " document.getElementById('controls').getBoundingClientRect().top]")
    assert 0 <= top < sheet_top - 150, (top, sheet_top)
    # nothing in the sheet sticks out sideways
    assert d.execute_script("const s = document.getElementById('controls'); return s.scrollWidth <= s.clientWidth")
    # a tap on the learning rate's track, three quarters along: a new race at a larger η
    before = state(dash_duo)["settings"]["gd"]["lr"]
    x, y = d.execute_script(
        """const t = document.querySelector('#slider-lr .dash-slider-track');
        t.scrollIntoView({block: 'center'});
        const r = t.getBoundingClientRect(); return [r.left + 0.75 * r.width, r.top + r.height / 2];""")
    s = new_race(dash_duo, lambda: tap(dash_duo, x, y))
    assert s["settings"]["gd"]["lr"] > before * 10, (before, s["settings"]["gd"]["lr"])
    readout = d.find_element(By.ID, "lr-readout").text
    assert float(readout.removeprefix("η = ")) == pytest.approx(s["settings"]["gd"]["lr"], rel=1e-3), readout
    assert wait_for(dash_duo, lambda: thumb.get_attribute("aria-valuetext") == readout, 5, "the handle's value text")
    # the per-optimizer panel opens in the sheet, and fits it
    summary = d.find_element(By.CSS_SELECTOR, ".per-optimizer summary")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    wait_for(dash_duo, lambda: d.execute_script("return document.querySelector('.per-optimizer').open"), 5, "the panel")
    assert d.execute_script("const s = document.getElementById('controls'); return s.scrollWidth <= s.clientWidth")
    assert page_width(dash_duo)[0] <= size[0]
    # Done closes it and gives the focus back; Escape closes it too
    d.find_element(By.ID, "btn-close-controls").click()
    wait_for(dash_duo, lambda: sheet_closed(dash_duo), 5, "the sheet to close")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert d.execute_script("return document.activeElement.id") == "btn-controls"
    toggle.click()
    wait_for(dash_duo, lambda: sheet_open(dash_duo), 5, "the sheet to open again")
    ActionChains(d).send_keys(Keys.ESCAPE).perform()
    wait_for(dash_duo, lambda: sheet_closed(dash_duo), 5, "Escape to close the sheet")
    assert not console_errors(dash_duo)
