"""Browser benchmark (SPEC §6), side by side in one run against the real server and headless
Chromium (no GPU):

- animation frame interval with nine 1000-step paths, in each view (bar: median ≤ 18 ms,
  p95 ≤ 35 ms, contour still drawn);
- time from a slider change to the first frame of the new race (bar: p95 ≤ 300 ms);
- time from a slider change to the redrawn learning-rate explorer (a 64-value sweep of all nine);
- bytes on the wire per race update (bar: ≤ 150 kB) against the once-per-surface grid;
- requests that leave the app's own server (bar: none);
- page open → first race animating at 1366 × 768, a fresh browser each time, in the
  side-by-side, overlay and 3-D views (bar: 1 s; 3-D: 2 s), with the main thread's long tasks
  (over 50 ms) up to then, and when Plotly's map takes over from the one the page draws itself.

    python -m benchmarks.bench_browser [--rounds 20] [--port 8765] [--first-paint-runs 5]
    python -m benchmarks.bench_browser --only first-paint
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not start")


def browser(width: int, height: int) -> webdriver.Chrome:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options)


def wait_for(driver, script: str, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(script)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def set_prop_and_wait(driver, component: str, prop: str, value) -> float:
    """Change a control as the browser does and return the ms until the new race is drawn."""
    t0 = driver.execute_script(
        "const t0 = performance.now();"
        "window.dash_clientside.set_props(arguments[0], {[arguments[1]]: arguments[2]});"
        "return t0;", component, prop, value)
    shown = wait_for(driver, f"const s = window.OptimizerRace.state(); return s.raceShownAt > {t0} && s.raceShownAt;")
    return shown - t0


def explorer_latency(driver, slider: str, value) -> float:
    """ms from a slider change to the learning-rate explorer drawn again with the new sweep."""
    t0 = driver.execute_script(
        "const t0 = performance.now();"
        "window.dash_clientside.set_props(arguments[0], {value: arguments[1]});"
        "return t0;", slider, value)
    drawn = wait_for(driver, f"const t = window.OptimizerRaceExplorer.drawnAt; return t > {t0} && t;", 60)
    return drawn - t0


def frame_intervals(driver, view: str, speed: int) -> tuple[list[float], int]:
    driver.execute_script(
        "document.querySelector('#view input[value=\"' + arguments[0] + '\"]').click();", view)
    wait_for(driver, f"return window.OptimizerRace.state().view === '{view}'")
    time.sleep(1.0)  # let Plotly draw the new figure
    driver.execute_script(
        "const r = window.OptimizerRace; r.pause(); r.setStep(0); r.setSpeed(arguments[0]);"
        "r.clearFrameTimes(); r.play();", speed)
    wait_for(driver, "return !window.OptimizerRace.state().playing", 60)
    times = driver.execute_script("return window.OptimizerRace.frameTimes()")
    contours = driver.execute_script("return document.querySelectorAll('#race-map .imagelayer image').length")
    return [b - a for a, b in zip(times, times[1:])], contours


def race_transfers(driver) -> list[dict]:
    return driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('_dash-update-component'))"
        ".map(e => ({wire: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize}))")


def outside_requests(driver, port: int) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    own = (f"http://127.0.0.1:{port}", "data:", "blob:")
    return [u for u in urls if not u.startswith(own)]


# Injected before the page's own scripts: the long tasks (a PerformanceObserver misses those
# before it starts), and the first animation frame at which Plotly's map shows the asked view's
# figure (Plotly draws a figure, 3-D included, in one task: the next frame is the first that shows
# it). Until then a page that carries its first race draws the map itself (assets/mapframe.js).
FIRST_PAINT_PROBE = """
window.__paint = {longtasks: [], mapDrawn: 0};
try {
  new PerformanceObserver((list) => list.getEntries().forEach(
    (e) => window.__paint.longtasks.push([e.startTime, e.duration]))).observe({type: 'longtask'});
} catch (e) {}
(function watch() {
  const gd = document.querySelector('#race-map .js-plotly-plot');
  const meta = gd && gd._fullLayout && gd.layout && gd.layout.meta;
  if (meta && meta.view === VIEW) window.__paint.mapDrawn = performance.now();
  else requestAnimationFrame(watch);
})();
"""


def first_paint(port: int, view: str, width: int = 1366, height: int = 768) -> dict:
    """Open the page in a fresh browser (empty cache) and time, from navigation start: the first
    race's first step drawn on its map, the long tasks until then, where that race came from (the
    page itself or a callback), and when Plotly's map is in (it takes over the drawing)."""
    driver = browser(width, height)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                               {"source": FIRST_PAINT_PROBE.replace("VIEW", json.dumps(view))})
        query = "" if view == "grid" else f"?view={view}"
        driver.get(f"http://127.0.0.1:{port}/{query}")
        animating = wait_for(driver, "const s = window.OptimizerRace && window.OptimizerRace.state();"
                                     "return s && s.firstFrameAt;", 60)
        in_page = driver.execute_script("return !!document.getElementById('first-race')")
        plotly = wait_for(driver, "return window.__paint.mapDrawn", 60)
        paint = driver.execute_script("return window.__paint")
        assert driver.execute_script("return window.OptimizerRace.state().view") == view
    finally:
        driver.quit()
    tasks = [d for start, d in paint["longtasks"] if start < animating]
    return {"animating": animating, "plotly": plotly, "tasks": tasks, "in_page": in_page}


def warm(port: int) -> None:
    """One page open, not counted: the server compiles a surface's functions on its first race."""
    first_paint(port, "grid")


def report_first_paint(port: int, runs: int) -> None:
    print(f"  page open → first race animating, 1366 × 768, fresh browser, median of {runs} "
          f"(bar: 1000 ms; 3-D: 2000 ms):")
    for view in ("grid", "overlay", "3d"):
        results = [first_paint(port, view) for _ in range(runs)]
        longest = [max(r["tasks"], default=0) for r in results]
        total = [sum(r["tasks"]) for r in results]
        source = "in the page" if all(r["in_page"] for r in results) else "from a callback"
        print(f"    {view:8s}: animating {statistics.median(r['animating'] for r in results):6.0f} ms "
              f"(range {min(r['animating'] for r in results):.0f}–{max(r['animating'] for r in results):.0f}; "
              f"first race {source}), Plotly's map in at {statistics.median(r['plotly'] for r in results):6.0f} ms; "
              f"long tasks until animating: {statistics.median(len(r['tasks']) for r in results):.0f}, "
              f"{statistics.median(total):.0f} ms in all, longest {statistics.median(longest):.0f} ms (medians)")
        for r in results:
            print(f"              run: {r['animating']:6.0f} ms; tasks {[round(t) for t in r['tasks']]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="slider changes to time")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--speed", type=int, default=200, help="animation steps per second")
    parser.add_argument("--first-paint-runs", type=int, default=5, help="page opens to time per view")
    parser.add_argument("--only", choices=["first-paint"], help="run this part only")
    args = parser.parse_args()
    port = args.port or free_port()
    server = start_server(port)
    if args.only == "first-paint":
        try:
            warm(port)
            print("Browser benchmark: real server, headless Chromium")
            report_first_paint(port, args.first_paint_runs)
        finally:
            server.kill()
        return
    driver = browser(1600, 1000)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        wait_for(driver, "return window.OptimizerRace && window.OptimizerRace.state().steps")
        set_prop_and_wait(driver, "slider-steps", "value", 1000)
        assert driver.execute_script("return window.OptimizerRace.state().steps") == 1000

        frames = {view: frame_intervals(driver, view, args.speed) for view in ("3d", "grid", "overlay")}

        driver.execute_script("performance.clearResourceTimings(); window.OptimizerRace.pause();")
        latencies = []
        for i in range(args.rounds):
            latencies.append(set_prop_and_wait(driver, "slider-lr", "value", -3.0 + 0.05 * (i % 2 + 1)))
        per_race = race_transfers(driver)

        # the explorer: a noise change means a new sweep (a learning-rate change does not)
        driver.execute_script("document.getElementById('explorer').scrollIntoView()")
        sweeps = [explorer_latency(driver, "slider-noise", 0.1 * (i % 2 + 1)) for i in range(max(4, args.rounds // 4))]

        driver.execute_script("performance.clearResourceTimings()")
        set_prop_and_wait(driver, "surface", "value", "beale")
        per_surface = race_transfers(driver)
        outside = outside_requests(driver, port)
    finally:
        driver.quit()
    try:
        print("Browser benchmark: real server, headless Chromium, 9 optimizers × 1000 steps")
        report_first_paint(port, args.first_paint_runs)
    finally:
        server.kill()

    for view, (intervals, contours) in frames.items():
        print(f"  frame interval, {view:8s} view: median {statistics.median(intervals):5.1f} ms, "
              f"p95 {percentile(intervals, 0.95):5.1f} ms over {len(intervals)} frames; "
              f"contour images drawn: {contours}   (bar: median ≤ 18, p95 ≤ 35)")
    print(f"  slider change → first frame of the new race: median {statistics.median(latencies):5.1f} ms, "
          f"p95 {percentile(latencies, 0.95):5.1f} ms over {len(latencies)} changes   (bar: p95 ≤ 300)")
    print(f"  slider change → explorer redrawn (sweep of 64 η × 9 optimizers × 1000 steps): median "
          f"{statistics.median(sweeps):6.1f} ms, p95 {percentile(sweeps, 0.95):6.1f} ms over {len(sweeps)} changes")
    wire = [t["wire"] for t in per_race]
    decoded = [t["decoded"] for t in per_race]
    print(f"  bytes per race update: {max(wire) / 1000:.1f} kB on the wire (max of {len(wire)}), "
          f"{max(decoded) / 1000:.1f} kB decoded   (bar: ≤ 150 kB)")
    print(f"  a surface change (grid + race): {sum(t['wire'] for t in per_surface) / 1000:.1f} kB on the wire "
          f"in {len(per_surface)} responses")
    print(f"  requests outside the app's server: {len(outside)} {outside[:3]}   (bar: 0)")


if __name__ == "__main__":
    main()
