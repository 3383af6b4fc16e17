"""Browser tests run a real Dash server and Debian's headless Chromium (via dash[testing]).

`dash_duo` here is dash[testing]'s, on one Chromium and one Dash server for the whole run instead
of a new pair per test: launching Chromium, and the first load of the page's JavaScript into an
empty cache, cost each test about three seconds. Each test still gets a fresh page: a new tab
(no history, no JS state, no sessionStorage, no device emulation left over), the origin's cookies,
localStorage and IndexedDB cleared, the window at its launch size, selenium's timeouts and the
download folder reset, and the console and network logs drained. What it shares with the tests
before it is the HTTP cache and the server, which serves `race_app`, one app for the run (the app
keeps no state between requests; its caches are module-level, shared by every app in the process
anyway).

    @pytest.mark.cold_cache    the browser's HTTP cache emptied first (a test of what the page
                               requests from where)
    @pytest.mark.own_browser   dash[testing]'s own dash_duo: a new Chromium and a new server
"""

import json

import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.browser import Browser
from dash.testing.composite import DashComposite
from selenium.webdriver.chrome.options import Options


class _ChromeOptions(Options):
    # dash[testing] forces {"browser": "SEVERE"} logging after this hook runs; keep every console
    # message and the network log, which the tests read.
    def set_capability(self, name, value):
        if name == "goog:loggingPrefs":
            value = {"browser": "ALL", "performance": "ALL"}
        super().set_capability(name, value)


def pytest_setup_options():
    options = _ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
        "--disable-sync", "--no-first-run", "--window-size=1600,1000",
    ):
        options.add_argument(arg)
    return options


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for so far (drains the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.fixture(scope="session")
def race_app():
    """The app, as `make run` builds it; one for the run (see the module's docstring)."""
    from app import create_app

    return create_app()


def _browser_options(config) -> dict:
    """What dash[testing]'s fixtures give its Browser (pytest options and the setup hook)."""
    return dict(browser=config.getoption("webdriver"), remote=config.getoption("remote"),
                remote_url=config.getoption("remote_url"), headless=config.getoption("headless"),
                options=config.hook.pytest_setup_options(), percy_assets_root=config.getoption("percy_assets"),
                percy_finalize=config.getoption("nopercyfinalize"), pause=config.getoption("pause"))


class _Shared:
    """The run's Chromium (launched on first use, relaunched if it stops answering) and Dash server
    (started with the first app a test hands it; another app gets a server of its own)."""

    def __init__(self, config, download_path: str):
        self.config = config
        self.download_path = download_path
        self.browser = None
        self.window = None  # its rect at launch
        self.runner = None
        self.app = None
        self.run_kwargs = None

    def fresh_page(self, download_path: str, cold_cache: bool):
        """The driver, in a new tab that is its only one, everything a page leaves behind reset."""
        try:
            return self._fresh_page(download_path, cold_cache)
        except Exception:  # a test left it unusable (closed, crashed …): a new one
            self.quit_browser()
            return self._fresh_page(download_path, cold_cache)

    def _fresh_page(self, download_path, cold_cache):
        if self.browser is None:
            self.browser = Browser(download_path=self.download_path, **_browser_options(self.config))
            self.window = self.browser.driver.get_window_rect()
        d = self.browser.driver
        old = d.window_handles
        d.switch_to.new_window("tab")  # no history, JS state, sessionStorage or device emulation left over
        fresh = d.current_window_handle
        for handle in old:
            d.switch_to.window(handle)
            d.close()
        d.switch_to.window(fresh)
        d.execute_cdp_cmd("Page.bringToFront", {})
        if self.runner is not None:
            for host in ("localhost", "127.0.0.1"):
                d.execute_cdp_cmd("Storage.clearDataForOrigin", {
                    "origin": f"http://{host}:{self.runner.port}",
                    "storageTypes": "cookies,local_storage,indexeddb,websql,file_systems,service_workers,cache_storage"})
        if cold_cache:
            d.execute_cdp_cmd("Network.clearBrowserCache", {})
        d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_path})
        if d.get_window_rect() != self.window:
            d.set_window_rect(**self.window)
        d.set_script_timeout(30)  # selenium's defaults; dash[testing]'s implicit wait
        d.set_page_load_timeout(300)
        d.implicitly_wait(2)
        for log in ("browser", "performance"):
            d.get_log(log)  # drained
        return d

    def server(self, app, kwargs):
        if self.runner is None or self.app is not app or self.run_kwargs != kwargs or not self.runner.started:
            self.stop_server()
            self.runner = ThreadedRunner()
            self.runner.start(app, **kwargs)
            self.app, self.run_kwargs = app, kwargs
        return self.runner

    def stop_server(self):
        if self.runner is not None:
            self.runner.__exit__(None, None, None)
        self.runner = self.app = None

    def quit_browser(self):
        if self.browser is not None:
            try:
                self.browser.__exit__(None, None, None)
            except Exception:  # already gone
                pass
        self.browser = None


class SharedDashDuo(DashComposite):
    """dash[testing]'s DashComposite on the run's Chromium and server, with a fresh page."""

    def __init__(self, shared: _Shared, download_path: str, cold_cache: bool):
        self._shared = shared
        self._cold_cache = cold_cache
        super().__init__(server=None, download_path=download_path, **_browser_options(shared.config))

    def get_webdriver(self):
        return self._shared.fresh_page(self.download_path, self._cold_cache)

    def start_server(self, app, navigate=True, **kwargs):
        self.server = self._shared.server(app, kwargs)
        if navigate:
            self.server_url = self.server.url

    def __exit__(self, exc_type, exc_val, traceback):
        try:
            self.driver.get("about:blank")  # the page stops asking the server
        except Exception:
            self._shared.quit_browser()


@pytest.fixture(scope="session")
def _shared_browser_and_server(request, tmp_path_factory):
    shared = _Shared(request.config, str(tmp_path_factory.mktemp("download")))
    yield shared
    shared.stop_server()
    shared.quit_browser()


@pytest.fixture
def dash_duo(request, tmpdir, _shared_browser_and_server):
    """dash[testing]'s dash_duo, on the run's Chromium and server (see the module's docstring)."""
    if request.node.get_closest_marker("own_browser"):
        with ThreadedRunner() as server, DashComposite(
                server=server, download_path=tmpdir.mkdir("download").strpath, **_browser_options(request.config)) as dc:
            yield dc
        return
    with SharedDashDuo(_shared_browser_and_server, tmpdir.mkdir("download").strpath,
                       cold_cache=bool(request.node.get_closest_marker("cold_cache"))) as dc:
        yield dc
