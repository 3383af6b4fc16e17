"""The page's first race plays before plotly.js has loaded (webapp/first_race.py,
assets/mapframe.js): on a map drawn at Plotly's own pixels, and without starting over when its
callback delivers it again."""

import pytest

from tests.checks import set_viewport, wait_until
from webapp.race import warm_up



@pytest.fixture(autouse=True)
def engine_compiled():
    """The engine compiled for every built-in surface (the server runs in this process): the
    pages carry their races."""
    warm_up()


def open_page(duo, app, query: str = ""):
    if not getattr(duo.server, "started", False):
        duo.start_server(app, navigate=False)
    d = duo.driver
    d.get(duo.server.url + "/" + query)
    return d


def first_frame(duo, app, query: str = ""):
    d = open_page(duo, app, query)
    wait_until(lambda: d.execute_script("return window.OptimizerRace && window.OptimizerRace.state().firstFrameAt"),
               20, "the first race's first frame")
    return d


def plotly_map_at(duo, app, query: str, size: tuple[int, int]):
    """The page at `query` in a `size` viewport, once Plotly's map is in."""
    set_viewport(duo.driver, *size, phone=size[0] < 700)
    d = first_frame(duo, app, query)
    plotly_map_in(d)
    return d


# Plotly's map and mapframe.js, in the page
MAP_AND_FRAME = "const gd = document.querySelector('#race-map .js-plotly-plot'); const F = window.OptimizerRaceMapFrame;"


def plotly_map_in(d):
    wait_until(lambda: d.execute_script(
        "const gd = document.querySelector('#race-map .js-plotly-plot');"
        "return !!(gd && gd._fullLayout && gd.layout.meta) && !window.OptimizerRace.state().early"),
        30, "Plotly's map and the race's callback")


@pytest.mark.cold_cache
@pytest.mark.parametrize("view", ["grid", "3d"])
def test_the_first_race_plays_on_its_own_map_while_plotly_is_held_up(dash_duo, race_app, view):
    d = dash_duo.driver
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*plotly.min.js*"]})
    d = first_frame(dash_duo, race_app, f"?view={view}")
    assert d.execute_script("return !!document.getElementById('first-race')")
    assert d.execute_script("return typeof (window.Plotly && window.Plotly.newPlot)") != "function"
    assert d.execute_script("return !document.querySelector('#race-map .js-plotly-plot')")
    s0 = d.execute_script("return window.OptimizerRace.state()")
    assert s0["playing"] and s0["surface"] == "rosenbrock"
    wait_until(lambda: d.execute_script("return window.OptimizerRace.state().step") > s0["step"] + 20, 10, "the race")
    # the map: the contour, the panels' titles and ticks and the paths, on a canvas over the map
    pixels = d.execute_script("""
        const c = document.querySelector('.map-host > canvas.race-overlay');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let drawn = 0, dark = 0, path = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 0) drawn++;
          if (data[i + 3] > 0 && data[i] < 90 && data[i + 1] < 90 && data[i + 2] < 90) dark++;
          // SGD + Momentum's green (#1b7a3a)
          if (Math.abs(data[i] - 27) < 25 && Math.abs(data[i + 1] - 122) < 25 && Math.abs(data[i + 2] - 58) < 25) path++;
        }
        return [drawn / (data.length / 4), dark, path];""")
    assert pixels[0] > (0.6 if view == "grid" else 0.1), pixels  # the nine maps, or the surface
    assert pixels[1] > 500 and pixels[2] > 30, pixels  # text and a path
    rows = d.execute_script("return document.querySelectorAll('#leaderboard tr[data-id]').length")
    assert rows == 9


@pytest.mark.parametrize("query, size", [
    ("", (1366, 768)),
    ("?view=overlay", (1366, 768)),
    ("?surface=iris", (1366, 768)),
    ("?surface=saddle&view=overlay", (1920, 1080)),
    ("?surface=wine", (1920, 1080)),
    ("", (390, 844)),
])
def test_the_map_drawn_before_plotly_is_at_plotlys_pixels(dash_duo, race_app, query, size):
    d = plotly_map_at(dash_duo, race_app, query, size)
    # the axes mapframe.js lays out for the figure on screen, against Plotly's: every panel's
    # place and size, and the ticks (values and labels)
    found = d.execute_script(MAP_AND_FRAME + """
        const fl = F.fullLayout(gd.layout, gd.clientWidth, gd.clientHeight);
        const out = [];
        for (let k = 1; ; k++) {
          const sfx = k > 1 ? String(k) : '';
          const ours = [fl['xaxis' + sfx], fl['yaxis' + sfx]];
          const theirs = [gd._fullLayout['xaxis' + sfx], gd._fullLayout['yaxis' + sfx]];
          if (!theirs[0] || !ours[0]) { out.push([!!theirs[0], !!ours[0]]); break; }
          ours.forEach((a, j) => {
            const b = theirs[j];
            const ticks = F.autoTicks(a, j === 1).map((t) => [Number(t.value.toFixed(9)), t.text]);
            const plotly = b.showticklabels ? (b._vals || []).map((t) => [Number(t.x.toFixed(9)), t.text]) : ticks;
            out.push([a._offset - b._offset, a._length - b._length, JSON.stringify(ticks) === JSON.stringify(plotly),
                      JSON.stringify(ticks), JSON.stringify(plotly)]);
          });
        }
        return out;""")
    assert found[-1] == [False, False], found[-1]  # the same number of panels
    assert len(found) > 2
    for dx, dlen, same, ours, plotly in found[:-1]:
        assert abs(dx) < 0.01 and abs(dlen) < 0.01, (dx, dlen)
        assert same, (ours, plotly)


def test_the_callbacks_race_does_not_start_the_first_race_over(dash_duo, race_app):
    d = first_frame(dash_duo, race_app, "?surface=saddle")
    s0 = d.execute_script("return window.OptimizerRace.state()")
    assert d.execute_script("return !!document.getElementById('first-race')")
    plotly_map_in(d)
    s1 = d.execute_script("return window.OptimizerRace.state()")
    assert s1["raceShownAt"] == s0["raceShownAt"]  # the same race: not shown anew
    assert s1["step"] >= s0["step"] or not s1["playing"]
    assert s1["surface"] == "saddle" and not s1["early"]
    # and the overlay's canvas has moved into Plotly's map
    assert d.execute_script("return !document.querySelector('.map-host > canvas.race-overlay')"
                            " && !!document.querySelector('#race-map .js-plotly-plot canvas.race-overlay')")


def test_a_link_to_a_paused_step_opens_there(dash_duo, race_app):
    d = open_page(dash_duo, race_app, "?surface=bowl&step=40")
    wait_until(lambda: d.execute_script("return window.OptimizerRace && window.OptimizerRace.state().steps"), 20, "the race")
    for _ in range(2):  # the page's own race, then the callback's
        s = d.execute_script("return window.OptimizerRace.state()")
        assert s["step"] == 40 and not s["playing"] and s["surface"] == "bowl"
        plotly_map_in(d)


@pytest.mark.parametrize("query, size", [
    ("?view=3d", (1366, 768)),
    ("?view=3d&surface=iris", (1920, 1080)),
    ("?view=3d&surface=himmelblau", (390, 844)),
])
def test_the_3d_scene_drawn_before_plotly_has_plotlys_camera_and_ticks(dash_duo, race_app, query, size):
    d = plotly_map_at(dash_duo, race_app, query, size)
    found = d.execute_script(MAP_AND_FRAME + """
        const scene = gd._fullLayout.scene._scene;
        const ours = F.layoutOf({data: gd.data, layout: gd.layout}, gd.clientWidth, gd.clientHeight).scene;
        const theirs = scene.glplot.cameraParams, mine = ours._scene.glplot.cameraParams;
        const gap = (a, b) => Math.max(...Array.from(a).map((v, i) => Math.abs(v - b[i])));
        const ticks = scene.glplot.axes.ticks.map((axis) => axis.map((t) => t.text));
        const ourTicks = ours.spans.map((range) => F.ticksFor(range, 9).map((t) => t.text));
        return {model: gap(theirs.model, mine.model), view: gap(theirs.view, mine.view),
                projection: gap(theirs.projection, mine.projection),
                dataScale: gap(scene.dataScale, ours._scene.dataScale),
                ticks: JSON.stringify(ticks), ourTicks: JSON.stringify(ourTicks)};""")
    for key in ("model", "view", "projection", "dataScale"):
        assert found[key] < 1e-6, (key, found)
    assert found["ticks"] == found["ourTicks"]


@pytest.mark.cold_cache
def test_a_phone_switches_the_map_before_plotly_has_loaded(dash_duo, race_app):
    d = dash_duo.driver
    set_viewport(d, 390, 844, phone=True)
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*plotly.min.js*"]})
    d = first_frame(dash_duo, race_app, "?surface=saddle")
    d.execute_script("window.OptimizerRace.pause(); window.OptimizerRacePlayer.setStep(200)")

    def colour_pixels():
        # pixels of each optimizer's colour on the map drawn before Plotly (one panel on a phone)
        return d.execute_script("""
            const R = window.OptimizerRacePlayer.race();
            const c = document.querySelector('.map-host > canvas.race-overlay');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            return R.colors.map((hex) => {
              const [r, g, b] = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
              let n = 0;
              for (let i = 0; i < data.length; i += 4)
                if (Math.abs(data[i] - r) < 6 && Math.abs(data[i + 1] - g) < 6 && Math.abs(data[i + 2] - b) < 6) n++;
              return n;
            });""")

    ids = d.execute_script("return window.OptimizerRace.state().ids")
    shown = wait_until(lambda: (n := colour_pixels())[0] > 30 and n, 10, "Gradient Descent's panel")
    assert shown[1] < 5  # SGD is not drawn: one panel at a time
    assert d.execute_script("return document.querySelector('#map-switch select').value") == ids[0]
    d.find_element("css selector", "#map-switch .map-next").click()
    after = wait_until(lambda: (n := colour_pixels())[1] > 30 and n, 10, "SGD's panel")
    assert after[0] < 5, after
