"""The maps as a visitor sees them: every panel shows the surface in the contour colours, and a
click in any panel sets the start where it was clicked."""

import math

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from surfaces import SURFACES
from tests.test_app_browser import new_race, start, state, wait_for
from webapp.payload import surface_payload

pytestmark = pytest.mark.browser

# The map's colour scale (low loss white, high grey-blue) and its 22 bands, as the page promises.
SCALE = [(0.0, "#ffffff"), (0.45, "#e6edf4"), (0.8, "#c2cfdc"), (1.0, "#a3b3c4")]
BANDS = 22
BACKGROUND = (0xFB, 0xFC, 0xFD)  # the plot's own background, where no map is drawn


def rgb(hex_color: str) -> tuple[int, ...]:
    return tuple(int(hex_color[k:k + 2], 16) for k in (1, 3, 5))


def scale_color(s: float) -> tuple[float, ...]:
    for (s0, c0), (s1, c1) in zip(SCALE, SCALE[1:]):
        if s <= s1:
            f = (s - s0) / (s1 - s0)
            return tuple(a + (b - a) * f for a, b in zip(rgb(c0), rgb(c1)))
    return rgb(SCALE[-1][1])


def sample_points(surface_id: str, count: int = 8) -> list[tuple[float, float, tuple[float, ...]]]:
    """Grid points well inside one band (no level line near them) and away from the minima's
    stars, spread over the bands: (x, y, the band's colour)."""
    grid = surface_payload(SURFACES[surface_id])["grid"]
    surface = SURFACES[surface_id]
    z = grid["z"]
    values = [v for row in z for v in row if v is not None]
    lo, hi = min(values), max(values)
    size = (hi - lo) / BANDS
    levels = math.floor((hi + size / 1e6 - lo) / size) + 1
    span = max(surface.domain[0][1] - surface.domain[0][0], surface.domain[1][1] - surface.domain[1][0])
    by_band: dict[int, tuple] = {}
    for r in range(2, len(z) - 2, 3):
        for c in range(2, len(z[0]) - 2, 3):
            near = [z[r + i][c + j] for i in (-1, 0, 1) for j in (-1, 0, 1)]
            if any(v is None for v in near):
                continue
            band = math.floor((z[r][c] - lo) / size)
            within = (z[r][c] - lo) / size - band
            x, y = grid["x"][c], grid["y"][r]
            if (any(math.floor((v - lo) / size) != band for v in near) or not 0.15 < within < 0.85
                    or any(math.dist((x, y), m) < 0.12 * span for m in surface.minima + surface.local_minima)):
                continue
            by_band.setdefault(band, (x, y, scale_color((band + 1) / levels)))
    assert len(by_band) >= 4, by_band
    picked = sorted(by_band)
    step = max(1, len(picked) // count)
    return [by_band[b] for b in picked[::step]]


SCREEN_COLORS = """
const [points, done] = [arguments[0], arguments[arguments.length - 1]];
const P = window.OptimizerRace, gd = P.graphDiv('race-map'), box = gd.getBoundingClientRect();
const img = new Image();
img.onload = () => {
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const ratio = img.width / window.innerWidth, out = [];
  for (let k = 1; P.axes(gd, k); k++) {
    const ax = P.axes(gd, k);
    out.push(points.map(([x, y]) => Array.from(ctx.getImageData(
      Math.floor((box.left + ax.x(x)) * ratio), Math.floor((box.top + ax.y(y)) * ratio), 1, 1).data).slice(0, 3)));
  }
  done(out);
};
img.src = 'data:image/png;base64,' + arguments[1];
"""


def panel_colors(duo, points) -> list[list[list[int]]]:
    """The colours on screen at each point in each panel, the paths' canvas hidden."""
    d = duo.driver
    d.execute_script("window.scrollTo(0, 0); window.OptimizerRace.pause();"
                     "document.querySelector('#race-map canvas.race-overlay').style.visibility = 'hidden'")
    shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    d.execute_script("document.querySelector('#race-map canvas.race-overlay').style.visibility = ''")
    return d.execute_async_script(SCREEN_COLORS, [[x, y] for x, y, _ in points], shot)


def assert_maps_show(duo, surface_id, panels):
    points = sample_points(surface_id)
    colors = panel_colors(duo, points)
    assert len(colors) == panels
    for k, panel in enumerate(colors, start=1):
        for (x, y, expected), got in zip(points, panel):
            assert all(abs(a - b) <= 4 for a, b in zip(got, expected)), (k, x, y, got, expected)
        # not blank: the colours change over the domain, and none is the bare background
        assert len({tuple(c) for c in panel}) >= 4 and tuple(BACKGROUND) not in {tuple(c) for c in panel}


def test_every_panel_shows_the_surface_in_the_contour_colours(dash_duo, race_app):
    start(dash_duo, race_app)
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(
        "return document.querySelectorAll('#race-map .imagelayer image').length") == 9, 10, "nine maps")
    assert_maps_show(dash_duo, "rosenbrock", 9)
    # the overlay view: one larger map, with its colour bar
    dash_duo.driver.find_element(By.CSS_SELECTOR, "#view input[value=overlay]").click()
    wait_for(dash_duo, lambda: dash_duo.driver.execute_script(
        "return document.querySelectorAll('#race-map .imagelayer image').length === 1"
        " && !!document.querySelector('#race-map .colorbar')"), 10, "the overlay map")
    assert_maps_show(dash_duo, "rosenbrock", 1)


@pytest.mark.parametrize("panel", [5, 9])
def test_a_click_in_any_panel_sets_the_start_there(dash_duo, race_app, panel):
    start(dash_duo, race_app)
    target = (0.5, 2.0)
    d = dash_duo.driver
    px, py = d.execute_script(
        "const P = window.OptimizerRace, gd = P.graphDiv('race-map'), ax = P.axes(gd, arguments[0]);"
        "return [ax.x(arguments[1]), ax.y(arguments[2])];", panel, *target)
    gd = d.find_element(By.CSS_SELECTOR, "#race-map .js-plotly-plot")
    s = new_race(dash_duo, lambda: ActionChains(d).move_to_element_with_offset(gd, px, py).click().perform())
    assert s["start"] == pytest.approx(target, abs=0.03)
    assert state(dash_duo)["surface"] == "rosenbrock"
