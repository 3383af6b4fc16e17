"""Browser tests run a real Dash server and Debian's headless Chromium (via dash[testing])."""

import json

import pytest
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


@pytest.fixture
def race_app():
    from app import create_app

    return create_app()
