"""Accessibility in a real headless Chromium: axe-core (npm, pinned in tests/axe) finds no serious
or critical violation at phone, laptop and projector widths, on the default page, with a lesson
open and with the per-optimizer panel open; and what axe does not check: the Tab order skips the
formulas, every Tab stop shows a focus ring, the menus open from the keyboard, the chosen view
reads at ≥ 4.5:1 in every state, and no text is under 14 px on a 1920-wide projector."""

import json
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.checks import open_at_size
from tests.test_app_browser import console_errors, state, wait_for

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"phone": (390, 844), "laptop": (1366, 768), "projector": (1920, 1080)}


def open_page(duo, app, size, query=""):
    """The page at `query` in a viewport of `size`, once its race is on screen (paused, so that
    the page holds still) and its formulas are typeset."""
    open_at_size(duo, app, *SIZES[size], query)
    wait_for(duo, lambda: duo.driver.execute_script(
        "return document.querySelectorAll('.equation-card mjx-container').length >= 9"
        " && !!document.querySelector('#surface-formula mjx-container')"), 20, "the formulas")


def axe_violations(duo) -> list:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed ({AXE} is missing): run `make test` (which runs "
                    "`npm ci --prefix tests/axe`), or that npm command yourself")
    d = duo.driver
    d.execute_script(AXE.read_text())
    d.set_script_timeout(60)
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done(String(e)));")
    assert isinstance(result, list), f"axe.run failed: {result}"
    return [v for v in result if v["impact"] in ("serious", "critical")]


def readable(violations: list) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:8]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary[:300]}")
    return "\n".join(lines)


def assert_no_serious_violations(duo, where: str):
    found = axe_violations(duo)
    assert not found, f"axe-core, {where}:\n{readable(found)}"


def open_per_optimizer_panel(duo, size):
    d = duo.driver
    if SIZES[size][0] < 700:  # on a phone the settings are a sheet: open it first
        d.find_element(By.ID, "btn-controls").click()
        wait_for(duo, lambda: d.execute_script(
            "const s = document.getElementById('controls'); return getComputedStyle(s).visibility === 'visible'"
            " && Math.abs(s.getBoundingClientRect().bottom - innerHeight) < 1"), 5, "the sheet")
    summary = d.find_element(By.CSS_SELECTOR, ".per-optimizer summary")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    wait_for(duo, lambda: d.execute_script("return document.querySelector('.per-optimizer').open"), 5, "the panel")
    d.execute_script("arguments[0].scrollIntoView({block: 'start'})", summary)


@pytest.mark.parametrize("size", list(SIZES))
def test_axe_finds_nothing_serious(dash_duo, race_app, size):
    open_page(dash_duo, race_app, size)
    assert_no_serious_violations(dash_duo, f"{size}, the default page")
    open_per_optimizer_panel(dash_duo, size)
    assert_no_serious_violations(dash_duo, f"{size}, the per-optimizer panel open")
    open_page(dash_duo, race_app, size, "?scenario=lr_too_high")
    dash_duo.wait_for_contains_text("#scenario-text", "Learning rate too high", timeout=10)
    assert_no_serious_violations(dash_duo, f"{size}, the lesson lr_too_high open")
    assert not console_errors(dash_duo)


# What the element that has the focus shows: its focus ring (the outline of the element, or of
# the option around a radio or checkbox), and what it is.
FOCUSED = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const ringOf = (e) => { const cs = getComputedStyle(e);
  return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 ? cs.outlineWidth + ' ' + cs.outlineStyle + ' ' + cs.outlineColor : null; };
const option = el.closest('.dash-options-list-option');
return {tag: el.tagName.toLowerCase(), id: el.id, cls: String(el.className.baseVal ?? el.className),
        role: el.getAttribute('role'), text: (el.textContent || el.value || '').trim().slice(0, 30),
        ring: ringOf(el) || (option && ringOf(option))};
"""


def tab_stops(duo, limit=150) -> list:
    """Every element Tab reaches from the top of the page, in order (until the focus wraps)."""
    d = duo.driver
    d.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    stops = []
    for _ in range(limit):
        ActionChains(d).send_keys(Keys.TAB).perform()
        here = d.execute_script(FOCUSED)
        if here is None or (stops and here == stops[0]):
            break
        stops.append(here)
    return stops


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_tab_order_skips_formulas_and_every_stop_shows_a_ring(dash_duo, race_app, size):
    open_page(dash_duo, race_app, size)
    stops = tab_stops(dash_duo)
    kinds = {(s["tag"], s["role"]) for s in stops}
    assert {("button", None), ("input", None), ("select", None)} <= kinds, kinds
    assert not [s for s in stops if s["tag"].startswith("mjx")], "formulas are Tab stops"
    assert not [s for s in stops if "dash-dropdown-focus-target" in s["cls"]]
    no_ring = [s for s in stops if not s["ring"]]
    assert not no_ring, f"Tab stops without a visible focus ring: {no_ring}"
    ids = [s["id"] for s in stops]
    assert "surface" in ids and "btn-play" in ids and "speed" in ids and "btn-copy-link" in ids, ids
    sliders = [s for s in stops if s["role"] == "slider"]
    radios = [s for s in stops if s["tag"] == "input"]
    if size == "phone":  # the settings sheet is closed: its controls are out of the Tab order
        assert "btn-controls" in ids and not sliders and "scenario" not in ids, ids
    else:
        assert len(sliders) == 9 and "scenario" in ids, ids
    assert radios, "the view's radio items are not Tab stops"


def test_menus_and_views_from_the_keyboard(dash_duo, race_app):
    open_page(dash_duo, race_app, "laptop")
    d = dash_duo.driver

    def expanded(menu):
        return d.find_element(By.ID, menu).get_attribute("aria-expanded") == "true"

    for menu in ("surface", "scenario"):
        for key in (Keys.ENTER, Keys.SPACE):
            d.execute_script("arguments[0].focus()", d.find_element(By.ID, menu))
            ActionChains(d).send_keys(key).perform()
            wait_for(dash_duo, lambda: expanded(menu), 5, f"{menu} to open with {key!r}")
            ActionChains(d).send_keys(Keys.ESCAPE).perform()
            wait_for(dash_duo, lambda: not expanded(menu), 5, f"{menu} to close with Escape")
            assert not state(dash_duo)["playing"], "the key reached the player (Space plays)"
    # a lesson chosen with the keyboard alone: open, move to the first, Enter
    d.execute_script("arguments[0].focus()", d.find_element(By.ID, "scenario"))
    ActionChains(d).send_keys(Keys.SPACE).perform()
    wait_for(dash_duo, lambda: expanded("scenario"), 5, "the lesson menu")
    # the menu moves the focus to its first option a moment after it opens; a key pressed
    # before that goes to the menu's button (Enter there closes the menu, choosing nothing)
    wait_for(dash_duo, lambda: d.execute_script(
        "return !!document.activeElement.closest('.dash-dropdown-content')"), 5, "the focus in the lesson menu")
    ActionChains(d).send_keys(Keys.ARROW_DOWN).perform()
    ActionChains(d).send_keys(Keys.ENTER).perform()
    wait_for(dash_duo, lambda: d.find_element(By.ID, "scenario-text").text.strip(), 10, "a lesson")
    # and the names a screen reader gives the menus say what they set
    names = d.execute_script("""return ['surface', 'scenario'].map(id => document.getElementById(id)
        .getAttribute('aria-labelledby').split(' ').map(i => document.getElementById(i).textContent).join(', '));""")
    # (the focus starts on the first option, so ArrowDown reaches the second; either is a lesson)
    title = d.find_element(By.CSS_SELECTOR, "#scenario-text .lesson-title").text
    assert title in ("Learning rate too high", "Learning rate too low")
    assert names == ["Surface, Bowl", f"Lessons, {title}"], names
    # the view is a radio group: → chooses the next view (and does not step the race)
    step = state(dash_duo)["step"]
    d.execute_script("arguments[0].focus()", d.find_element(By.CSS_SELECTOR, "#view input:checked"))
    ActionChains(d).send_keys(Keys.ARROW_RIGHT).perform()
    wait_for(dash_duo, lambda: state(dash_duo)["view"] == "overlay", 5, "→ to choose the overlay view")
    assert state(dash_duo)["step"] == step


# The contrast of an element's text with the background it is drawn on (WCAG's ratio).
CONTRAST = """
const lum = (c) => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(x => x / 255)
  .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
const el = arguments[0];
let bg = el, color = getComputedStyle(el).color;
while (bg && (getComputedStyle(bg).backgroundColor === 'rgba(0, 0, 0, 0)' || getComputedStyle(bg).backgroundColor === 'transparent')) bg = bg.parentElement;
const back = bg ? getComputedStyle(bg).backgroundColor : 'rgb(255, 255, 255)';
const [a, b] = [lum(color), lum(back)].sort((x, y) => y - x);
return [(a + 0.05) / (b + 0.05), color, back];
"""


def test_the_view_switch_reads_in_every_state(dash_duo, race_app):
    open_page(dash_duo, race_app, "laptop")
    d = dash_duo.driver
    far = d.find_element(By.ID, "leaderboard")
    for value in ("grid", "overlay"):
        radio = d.find_element(By.CSS_SELECTOR, f"#view input[value={value}]")
        label = radio.find_element(By.XPATH, "./ancestor::label[1]")
        selected = radio.is_selected()
        states = {}
        d.execute_script("arguments[0].focus()", radio)  # selected + focused
        states["focused"] = d.execute_script(CONTRAST, label)
        ActionChains(d).move_to_element(label).perform()
        states["focused and hovered"] = d.execute_script(CONTRAST, label)
        d.execute_script("arguments[0].blur()", radio)
        states["hovered"] = d.execute_script(CONTRAST, label)
        ActionChains(d).move_to_element(far).perform()
        states["at rest"] = d.execute_script(CONTRAST, label)
        for name, (ratio, color, back) in states.items():
            assert ratio >= 4.5, f"{value} (selected: {selected}), {name}: {color} on {back} is {ratio:.2f}:1"
    # the chosen view is white on the page's blue
    ratio, color, back = d.execute_script(CONTRAST, d.find_element(By.CSS_SELECTOR, "#view label:has(input:checked)"))
    assert color == "rgb(255, 255, 255)" and ratio >= 4.5, (color, back)


# Every piece of visible text, its font size in CSS pixels (Plotly's SVG text included; MathJax
# draws its formulas as paths, and text hidden for screen readers only is not shown).
TEXT_SIZES = """
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const text = n.textContent.trim();
  const el = n.parentElement;
  if (!text || !el || el.closest('script, style, mjx-assistive-mml, .visually-hidden, #js-plotly-tester')) continue;
  const r = el.getBoundingClientRect();
  const cs = getComputedStyle(el);
  if (!r.width || !r.height || cs.visibility !== 'visible' || !el.checkVisibility({opacityProperty: true})) continue;
  out.push([parseFloat(cs.fontSize), el.closest('[id]') ? el.closest('[id]').id : el.tagName, text.slice(0, 40)]);
}
return out;
"""


def test_no_text_under_14px_on_a_projector(dash_duo, race_app):
    open_page(dash_duo, race_app, "projector")
    d = dash_duo.driver
    # the explorer, on screen, draws its figure; the per-optimizer panel open
    d.execute_script("document.getElementById('explorer').scrollIntoView()")
    wait_for(dash_duo, lambda: d.execute_script(
        "return document.querySelectorAll('#explorer-graph .y2tick text').length > 0"), 60, "the explorer's figure")
    d.execute_script("document.querySelector('.per-optimizer').open = true")
    sizes = d.execute_script(TEXT_SIZES)
    where = {w for _, w, _ in sizes}
    assert {"race-map", "loss-chart", "explorer-graph", "leaderboard", "controls"} <= where, where
    ticks = [s for s in sizes if s[1] in ("race-map", "loss-chart", "explorer-graph")]
    assert len(ticks) > 50, ticks
    small = sorted(s for s in sizes if s[0] < 14)
    assert not small, f"text under 14 px at 1920 × 1080: {json.dumps(small[:20], ensure_ascii=False)}"
