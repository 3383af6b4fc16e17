"""Checks and fixtures' helpers shared by several test files."""

import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def assert_gradient_matches_central_differences(surface, X, Y, h=1e-6):
    """The SymPy gradient against central differences of f, relative to the loss's scale."""
    fd_x = (surface.f(X + h, Y) - surface.f(X - h, Y)) / (2 * h)
    fd_y = (surface.f(X, Y + h) - surface.f(X, Y - h)) / (2 * h)
    gx, gy = surface.grad(X, Y)
    atol = 1e-5 * (1 + np.abs(surface.f(X, Y))).max()
    np.testing.assert_allclose(gx, fd_x, atol=atol, rtol=1e-6)
    np.testing.assert_allclose(gy, fd_y, atol=atol, rtol=1e-6)


def callback_request(app, output: str, values: dict) -> dict:
    """The body the browser would post to the callback whose outputs start with `output` (e.g.
    "..download.data"), each input and state set from `values` by component id (None if absent)."""
    key = next(k for k in app.callback_map if k.startswith(output))
    spec = app.callback_map[key]

    def entries(deps):
        return [{"id": d["id"], "property": d["property"], "value": values.get(d["id"])} for d in deps]

    return {
        "output": key,
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in spec["output"]],
        "inputs": entries(spec["inputs"]),
        "state": entries(spec["state"]),
        "changedPropIds": [f"{d['id']}.{d['property']}" for d in spec["inputs"] if values.get(d["id"]) is not None],
    }


# The page is ready: its race from the race callback (not only the one the page carries,
# webapp/first_race.py) on Plotly's map.
RACE_ON_SCREEN = ("const s = window.OptimizerRace && window.OptimizerRace.state();"
                  "const gd = document.querySelector('#race-map .js-plotly-plot');"
                  "return !!(s && s.steps && !s.early && gd && gd._fullLayout)")


def wait_until(predicate, timeout: float, what: str = "condition", interval: float = 0.05, detail=None):
    """The first truthy value of `predicate()`, polled every `interval` seconds; AssertionError
    after `timeout` seconds (with `detail()` appended, e.g. the app's state)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f"; {detail()}" if detail else ""))


@contextmanager
def wsgi_server(name: str, workers: int, threads: int):
    """The classroom server as `make serve` runs it (gunicorn with the repo's gunicorn.conf.py) on
    a free loopback port, stopped afterwards; its log goes to $TMPDIR/optimizer-race-<name>-<port>.log."""
    from devtools.server import Server, free_port, gunicorn_command

    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"optimizer-race-{name}-{port}.log"
    server = Server(gunicorn_command(port, workers, threads), port, log)
    try:
        server.wait_ready(timeout=90)
        yield server
    finally:
        server.stop()


def set_viewport(driver, width: int, height: int, phone: bool = False) -> None:
    """Lay the page out in a `width` × `height` viewport (CSS pixels), whatever the browser's
    window; `phone`: as a phone does (the page at device width, touch events, no mouse hover)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": phone})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": phone, "maxTouchPoints": 5})


def open_at_size(duo, app, width: int, height: int, query: str = "") -> None:
    """The page at `query` (the server started if it is not yet) in a `width` × `height` viewport,
    as a phone under 700 px wide, once its race is on screen, paused so that the page holds still."""
    set_viewport(duo.driver, width, height, phone=width < 700)
    if not getattr(duo.server, "started", False):
        duo.start_server(app, navigate=False)  # the page at `query` is the first one loaded
    d = duo.driver
    d.get(duo.server.url + "/" + query)
    wait_until(lambda: d.execute_script(RACE_ON_SCREEN),
               20, "the race")
    d.execute_script("window.OptimizerRace.pause()")
