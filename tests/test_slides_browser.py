"""Slides in a real headless Chromium: the race recorded as a WebM video and as an animated GIF,
and the PNG, each with its header (title, η, step) burnt in; the player put back afterwards; the
share bar's Video and GIF buttons, their options, progress and Cancel."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.test_app_browser import console_errors, start, state, wait_for
from tests.test_truths_browser import open_page

pytestmark = pytest.mark.browser

HEADER_BAND = (31, 42, 55)  # slides.js drawHeader's band, #1f2a37


def paused_at(duo, step: int) -> dict:
    duo.driver.execute_script("window.OptimizerRace.pause(); window.OptimizerRace.setStep(arguments[0])", step)
    return wait_for(duo, lambda: (s := state(duo))["step"] == step and not s["playing"] and s, 5, f"paused at {step}")


def record(duo, kind: str, **options) -> tuple[bytes, dict]:
    """Runs OptimizerRaceSlides[kind](options) in the page, then reads the file it made (the
    download itself is the browser's)."""
    duo.driver.set_script_timeout(120)
    out = duo.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        window.OptimizerRaceSlides[arguments[0]](arguments[1]).then(
          (blob) => done(blob ? null : document.getElementById('slides-status').textContent),
          (err) => done(String(err)));""",
        kind, options or None)
    assert out is None, out
    return last_file(duo)


def last_file(duo) -> tuple[bytes, dict]:
    """The bytes of the last file slides.js made, and what it says about it (name, size …)."""
    out = duo.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const S = window.OptimizerRaceSlides;
        S.lastBlob.arrayBuffer().then((buffer) => {
          const bytes = new Uint8Array(buffer);
          let s = '';
          for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
          done({b64: btoa(s), name: S.lastName, info: S.lastInfo});
        });""")
    return base64.b64decode(out["b64"]), dict(out["info"], name=out["name"])


def progress(text: str) -> int:
    """The percentage in "Recording video… 40 %", or -1."""
    match = re.search(r"(\d+) %", text)
    return int(match.group(1)) if match else -1


def rgb(img: Image.Image, box) -> np.ndarray:
    return np.asarray(img.convert("RGB").crop(box), dtype=int)


def dark_share(img: Image.Image, box) -> float:
    """The share of pixels in `box` that are the header band's colour."""
    return float((np.abs(rgb(img, box) - HEADER_BAND).max(axis=2) < 24).mean())


def moved(a: Image.Image, b: Image.Image, box, by: int) -> int:
    """How many pixels in `box` differ by more than `by` in some channel between a and b."""
    return int((np.abs(rgb(a, box) - rgb(b, box)).max(axis=2) > by).sum())


def test_gif_of_a_short_race(dash_duo, race_app):
    open_page(dash_duo, "?surface=bowl&steps=40", race_app)
    before = paused_at(dash_duo, 17)
    data, info = record(dash_duo, "gif", width=320, height=180, speed=100)
    assert info["name"] == "optimizer-race-bowl.gif"
    assert data[:6] == b"GIF89a"
    assert int.from_bytes(data[6:8], "little") == 320 and int.from_bytes(data[8:10], "little") == 180
    # 40 steps at 100 steps/s and 20 frames/s: 2 s, 40 frames plus step 0
    gif = Image.open(io.BytesIO(data))
    assert gif.size == (320, 180) and gif.n_frames == info["frames"] == 9
    durations = []
    for k in range(gif.n_frames):
        gif.seek(k)
        durations.append(gif.info["duration"])
    assert durations[:-1] == [50] * 8 and durations[-1] == 1050  # the end is held a second
    gif.seek(0)
    first = gif.convert("RGB")
    gif.seek(gif.n_frames - 1)
    last = gif.convert("RGB")
    # the header band is there, with its text in white, in the first and the last frame
    for frame in (first, last):
        assert dark_share(frame, (0, 0, 320, 20)) > 0.6
        assert (rgb(frame, (0, 0, 320, 28)).min(axis=2) > 220).sum() > 20
        assert dark_share(frame, (0, 40, 320, 180)) < 0.05  # the map is not covered
    # the paths moved between the first frame and the last
    assert moved(first, last, (0, 30, 320, 180), 40) > 300
    # and the step in the header changed
    assert moved(first, last, (160, 0, 320, 28), 40) > 10
    # the player is back where it was, paused
    after = state(dash_duo)
    assert (after["step"], after["playing"]) == (before["step"], False) == (17, False)
    assert not console_errors(dash_duo)


def test_webm_video_of_a_short_race(dash_duo, race_app):
    d = dash_duo.driver
    open_page(dash_duo, "?surface=bowl&steps=40", race_app)
    assert d.execute_script("return MediaRecorder.isTypeSupported('video/webm')")
    paused_at(dash_duo, 23)
    data, info = record(dash_duo, "video", width=320, height=180, speed=200)
    assert info["name"] == "optimizer-race-bowl.webm" and info["mimeType"].startswith("video/webm")
    assert data[:4] == bytes.fromhex("1A45DFA3") and len(data) > 2000  # EBML: a WebM file
    assert (state(dash_duo)["step"], state(dash_duo)["playing"]) == (23, False)
    # Chromium plays the file back: its first frame has the header, its last shows the paths moved
    d.set_script_timeout(30)
    seen = d.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const v = document.createElement('video');
        v.muted = true;
        v.src = URL.createObjectURL(window.OptimizerRaceSlides.lastBlob);
        v.style.cssText = 'position:fixed;left:0;top:0;width:320px;height:180px;z-index:9999';
        document.body.appendChild(v);
        const c = document.createElement('canvas');
        c.width = 320; c.height = 180;
        const ctx = c.getContext('2d');
        const grab = () => { ctx.drawImage(v, 0, 0); return Array.from(ctx.getImageData(0, 0, 320, 180).data); };
        const first = new Promise((r) => v.requestVideoFrameCallback(() => r(grab())));
        const ended = new Promise((r) => (v.onended = r));
        v.play().then(async () => {
          const a = await first;
          await ended;
          const b = grab();
          v.remove();
          done({size: [v.videoWidth, v.videoHeight], duration: v.duration, first: a, last: b});
        }, (err) => done({error: String(err)}));""")
    assert "error" not in seen, seen
    assert seen["size"] == [320, 180]
    # 40 steps at 200 steps/s is 0.2 s, then the end is held a second
    assert 1.0 < seen["duration"] < 1.6, seen["duration"]
    first = Image.frombytes("RGBA", (320, 180), bytes(seen["first"])).convert("RGB")
    last = Image.frombytes("RGBA", (320, 180), bytes(seen["last"])).convert("RGB")
    for frame in (first, last):
        assert dark_share(frame, (0, 0, 320, 20)) > 0.5
        assert dark_share(frame, (0, 40, 320, 180)) < 0.05
    assert moved(first, last, (0, 30, 320, 180), 60) > 80  # thin paths, blurred a little by VP9
    assert not console_errors(dash_duo)


def test_png_has_the_header_above_the_whole_map(dash_duo, race_app):
    d = dash_duo.driver
    open_page(dash_duo, "?scenario=lr_too_high", race_app)
    paused_at(dash_duo, 40)
    slides = "window.OptimizerRaceSlides"
    assert d.execute_script(f"return {slides}.title()") == "Bowl · Learning rate too high"
    assert d.execute_script(f"return {slides}.eta()") == "η = 1.1"
    d.find_element(By.ID, "btn-export-png").click()
    wait_for(dash_duo, lambda: d.execute_script(f"return {slides}.lastName"), 20, "the PNG")
    data, info = last_file(dash_duo)
    assert info["name"] == "optimizer-race-bowl-step40.png"
    img = Image.open(io.BytesIO(data))
    map_w, map_h = d.execute_script(
        "const gd = window.OptimizerRace.graphDiv('race-map'); return [gd.clientWidth, gd.clientHeight]")
    header, margin = info["header"], round(info["header"] * 0.2)
    # twice the map on screen, with the header band above it and a margin around it
    assert img.size == (info["width"], info["height"]) == (2 * map_w + 2 * margin, 2 * map_h + header + 2 * margin)
    assert dark_share(img, (0, 0, img.width, header)) > 0.6
    assert dark_share(img, (0, header + margin, img.width, img.height)) < 0.05
    assert (state(dash_duo)["step"], state(dash_duo)["playing"]) == (40, False)


def test_lesson_eta_and_own_learning_rates_in_the_header(dash_duo, race_app):
    d = dash_duo.driver
    open_page(dash_duo, "?surface=ravine", race_app)
    assert d.execute_script("return window.OptimizerRaceSlides.title()") == "Ravine · Optimizer Race"
    lr = state(dash_duo)["settings"]["gd"]["lr"]
    eta = d.execute_script("return window.OptimizerRaceSlides.eta()")
    assert eta.startswith("η = ") and float(eta[4:]) == pytest.approx(lr, rel=1e-3)
    # one optimizer with its own η: the shared value, and how many have their own
    open_page(dash_duo, "?surface=ravine&set=adam.lr:0.05")
    assert d.execute_script("return window.OptimizerRaceSlides.eta()").endswith("(1 with their own)")
    # each shown optimizer at its own η: no shared value to name
    open_page(dash_duo, "?surface=bowl&set=gd.lr:0.1,momentum.lr:0.2,nag.lr:0.3"
                        "&hide=sgd,minibatch_sgd,adagrad,adadelta,rmsprop,adam")
    assert d.execute_script("return window.OptimizerRaceSlides.eta()") == "η per optimizer"
    # a typed formula is named by its formula
    open_page(dash_duo, "?surface=custom&f=x^2%2B3*y^2")
    assert d.execute_script("return window.OptimizerRaceSlides.title()").startswith("f(x, y) = x**2 + 3*y**2")


def test_gif_frames_are_capped_and_3d_is_refused(dash_duo, race_app):
    start(dash_duo, race_app)
    d = dash_duo.driver
    plan = d.execute_script("return window.OptimizerRaceSlides.frameSteps(3000, 25, 20, 300)")
    assert len(plan["steps"]) == 300 and plan["steps"][0] == 0 and plan["steps"][-1] == 3000 and plan["spedUp"]
    plan = d.execute_script("return window.OptimizerRaceSlides.frameSteps(40, 100, 20, 300)")
    assert plan["steps"] == list(range(0, 41, 5)) and not plan["spedUp"]
    assert "at most 300 frames" in d.find_element(By.CSS_SELECTOR, ".slides-hint").text
    open_page(dash_duo, "?surface=bowl&steps=40&view=3d")
    assert state(dash_duo)["view"] == "3d"
    for kind in ("video", "gif"):
        out = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.OptimizerRaceSlides[arguments[0]]({width: 320, height: 180}).then((b) => done(b === null));", kind)
        assert out is True
        assert "switch to Side by side or Overlay" in d.find_element(By.ID, "slides-status").text
    # a PNG of the 3-D view works: Plotly's picture holds the paths
    data, info = record(dash_duo, "png")
    assert Image.open(io.BytesIO(data)).size == (info["width"], info["height"])


def test_recording_leaves_the_link_and_the_prediction_alone(dash_duo, race_app):
    """The player is driven frame by frame: the link is written once, at the end (a replaceState
    per frame gets throttled by the browser, and the link then holds a wrong step), and reaching
    the last step does not reveal the winner of a race students are still predicting."""
    d = dash_duo.driver
    open_page(dash_duo, "?surface=bowl&steps=40&predict=1", race_app)
    wait_for(dash_duo, lambda: d.find_element(By.ID, "predict-panel").is_displayed(), 10, "the prediction card")
    assert d.execute_script("return window.OptimizerRaceTeacher.prediction.revealed") is False
    paused_at(dash_duo, 0)
    d.execute_script("""window.__replaced = 0;
        const replace = history.replaceState.bind(history);
        history.replaceState = (...args) => { window.__replaced += 1; return replace(...args); };""")
    record(dash_duo, "gif", width=320, height=180, speed=100)
    assert d.execute_script("return window.__replaced") <= 1
    assert "step=0" in d.execute_script("return location.search")
    assert d.execute_script("return window.OptimizerRaceTeacher.prediction.revealed") is False
    assert d.find_element(By.ID, "predict-panel").is_displayed()
    assert "Who will win?" in d.find_element(By.ID, "predict-panel").text


def test_buttons_options_progress_and_cancel(dash_duo, race_app):
    d = dash_duo.driver
    open_page(dash_duo, "?surface=bowl&steps=300", race_app)
    wait_for(dash_duo, lambda: state(dash_duo)["playing"], 5, "the race playing")
    for id_, text in (("btn-export-png", "PNG"), ("btn-export-video", "Video"), ("btn-export-gif", "GIF")):
        button = d.find_element(By.ID, id_)
        assert button.text == text and button.get_attribute("title")
    # the options are labelled menus: Size and Speed
    for id_, label in (("slides-size", "Size"), ("slides-speed", "Speed")):
        menu = d.find_element(By.ID, id_)
        assert menu.find_element(By.XPATH, "./ancestor::label").text.startswith(label)
    Select(d.find_element(By.ID, "slides-size")).select_by_value("640x360")
    Select(d.find_element(By.ID, "slides-speed")).select_by_value("25")  # 300 steps: 12 s of video
    d.find_element(By.ID, "btn-export-video").click()
    status = d.find_element(By.ID, "slides-status")
    wait_for(dash_duo, lambda: "Recording video…" in status.text, 10, "the recording's progress")
    cancel = d.find_element(By.ID, "btn-slides-cancel")
    assert cancel.is_displayed() and d.switch_to.active_element == cancel
    assert not d.find_element(By.ID, "btn-export-gif").is_enabled()
    wait_for(dash_duo, lambda: progress(status.text) >= 10, 10, "some progress")
    d.switch_to.active_element.send_keys(Keys.SPACE)  # presses Cancel, and does not reach the player
    wait_for(dash_duo, lambda: status.text == "Recording cancelled.", 10, "the cancel")
    assert not cancel.is_displayed() and d.find_element(By.ID, "btn-export-gif").is_enabled()
    assert d.switch_to.active_element == d.find_element(By.ID, "btn-export-video")  # focus back where it was
    # the GIF from the keyboard; Esc cancels it
    d.switch_to.active_element.send_keys(Keys.TAB)
    assert d.switch_to.active_element == d.find_element(By.ID, "btn-export-gif")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(dash_duo, lambda: "Making the GIF…" in status.text, 10, "the GIF's progress")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(dash_duo, lambda: status.text == "GIF cancelled.", 20, "the cancel")
    assert d.switch_to.active_element == d.find_element(By.ID, "btn-export-gif")
    assert d.execute_script("return window.OptimizerRaceSlides.lastBlob") is None
    # the race was playing before: it plays again
    wait_for(dash_duo, lambda: state(dash_duo)["playing"], 5, "the race playing again")
    assert not console_errors(dash_duo)
