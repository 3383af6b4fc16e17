"""Exports: CSV and JSON hold the race exactly (JSON re-runs it bit for bit), the command line
writes each format and refuses bad arguments, and the HTML file replays the race in a real
headless Chromium opened from file:// with no server and no network."""

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from optimizers.engine import is_data
from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, OPTIMIZERS, rollout
from surfaces import SURFACES, get_surface, surface_from_formula
from webapp import export
from webapp.controls import (
    DEFAULT_SPEED, EXPORT_VIEWS, HYPERPARAMETER_SLIDERS, PLAYBACK_BUTTONS, SLIDERS, SPEEDS, VIEWS,
)
from webapp.export import (
    CSV_COLUMNS, EXTRA_HP_KEYS, FORMAT, HP_KEYS, HP_SYMBOLS, race_csv, race_html, race_json, race_record,
    rollout_from_json,
)
from webapp.export.formats import _inline_js, _inline_json
from webapp.payload import race_payload, surface_payload
from webapp.race import race_result
from webapp.state import parse, race_settings
from tests.checks import wait_until
from tests.conftest import requested_urls

ROOT = Path(__file__).resolve().parent.parent
WHEN = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone.utc)


def noisy_race(surface_id="rosenbrock", steps=120, **kw):
    """A race with noise, one diverging optimizer and one that arrives."""
    s = get_surface(surface_id)
    settings = race_settings({"lr": s.lr}, {"gd": {"lr": 5.0}, "adam": {"lr": 0.05, "beta2": 0.99}})
    args = dict(steps=steps, settings=settings, noise=0.0 if is_data(s) else 1.0, batch_size=8, seed=7)
    args.update(kw)
    return rollout(s, **args), s


def strict_loads(text):
    def refuse(token):
        raise AssertionError(f"non-strict JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


# -- CSV -----------------------------------------------------------------------------------------
def test_csv_parses_back_to_the_exact_arrays():
    r, s = noisy_race(steps=300)
    assert (r.diverged_at >= 0).any() and (r.arrived_at >= 0).any()
    text = race_csv(r, s, exported_at=WHEN)
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert lines[: len(comments)] == comments  # the comments lead
    meta = dict(line[2:].split(": ", 1) for line in comments[1:] if ": " in line)
    assert meta["surface"].startswith("rosenbrock")
    assert meta["formula"] == f"f(x, y) = {s.expr}"
    assert [float(v) for v in meta["start"].split(",")] == list(r.start)
    assert (int(meta["steps"]), float(meta["noise"]), int(meta["batch_size"]), int(meta["seed"])) == (
        r.steps, r.noise, r.batch_size, r.seed)
    assert "2026-03-14" in comments[0] and export.app_version() in comments[0]

    rows = list(csv.DictReader(io.StringIO("\n".join(lines[len(comments):]))))
    assert tuple(rows[0]) == CSV_COLUMNS
    n = len(r.names)
    assert len(rows) == n * (r.steps + 1)
    for i, oid in enumerate(r.names):
        block = rows[i * (r.steps + 1): (i + 1) * (r.steps + 1)]
        assert {row["optimizer_id"] for row in block} == {oid}
        assert {row["optimizer_name"] for row in block} == {OPTIMIZERS[oid].name}
        assert [int(row["step"]) for row in block] == list(range(r.steps + 1))
        xs = np.array([float(row["x"]) for row in block])
        ys = np.array([float(row["y"]) for row in block])
        loss = np.array([float(row["loss"]) for row in block])
        assert np.array_equal(xs, r.paths[i, :, 0]) and np.array_equal(ys, r.paths[i, :, 1])
        assert np.array_equal(loss, r.losses[i])
        for key in HP_KEYS:
            values = {row[key] for row in block}
            if key in r.settings[oid]:
                assert values == {repr(r.settings[oid][key])}
            else:
                assert values == {""}
        assert {int(row["diverged_at"]) for row in block} == {int(r.diverged_at[i])}
        assert {int(row["arrived_at"]) for row in block} == {int(r.arrived_at[i])}
        assert {int(row["settled_at"]) for row in block} == {int(r.settled_at[i])}


def test_exports_refuse_a_surface_that_did_not_run_the_race():
    r, _ = noisy_race(steps=5)
    for build in (race_csv, race_json, race_html):
        with pytest.raises(ValueError, match="rosenbrock"):
            build(r, get_surface("bowl"))
    with pytest.raises(ValueError, match="view"):
        race_html(r, get_surface("rosenbrock"), view="sideways")


# -- JSON ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("surface_id", list(SURFACES))
def test_json_is_strict_and_reproduces_the_race_bit_for_bit(surface_id):
    r, s = noisy_race(surface_id, steps=150)
    text = race_json(r, s, exported_at=WHEN)
    data = strict_loads(text)
    assert data["format"] == FORMAT == "optimizer-race/1"
    assert data["surface"] == {
        "id": s.id, "name": s.name, "formula": str(s.expr), "latex": s.latex,
        "domain": [list(s.domain[0]), list(s.domain[1])], "minima": [list(p) for p in s.minima],
        "local_minima": [list(p) for p in s.local_minima], "f_min": s.f_min,
        **({"model": s.model, "labels": list(s.labels), "source": s.source,
            "examples": {"x": s.examples[0].tolist(), "y": s.examples[1].tolist()}} if is_data(s) else {}),
    }
    assert data["generator"]["exported"] == "2026-03-14T15:09:26+00:00"
    assert (data["start"], data["steps"], data["noise"], data["batch_size"], data["seed"]) == (
        list(r.start), r.steps, r.noise, r.batch_size, r.seed)
    assert data["settings"] == r.settings
    assert [o["id"] for o in data["optimizers"]] == r.names
    assert data["ranking"] == r.ranking()
    for i, o in enumerate(data["optimizers"]):
        assert o["name"] == OPTIMIZERS[o["id"]].name and re.fullmatch(r"#[0-9A-Fa-f]{6}", o["color"])
        assert np.array_equal(np.array(o["path"]), r.paths[i])  # the file itself holds the exact race
        assert np.array_equal(np.array(o["loss"]), r.losses[i])
        assert (o["diverged_at"], o["arrived_at"], o["settled_at"]) == (r.diverged_at[i], r.arrived_at[i], r.settled_at[i])

    again = rollout_from_json(text)
    assert again.surface_id == r.surface_id and again.names == r.names
    assert again.settings == r.settings and again.start == r.start
    assert (again.steps, again.noise, again.batch_size, again.seed) == (r.steps, r.noise, r.batch_size, r.seed)
    assert np.array_equal(again.paths, r.paths) and np.array_equal(again.losses, r.losses)
    assert np.array_equal(again.diverged_at, r.diverged_at) and np.array_equal(again.arrived_at, r.arrived_at)
    assert again.paths.tobytes() == r.paths.tobytes()  # bit for bit, signed zeros included


def test_json_reproduces_a_subset_of_optimizers_and_a_custom_start():
    s = get_surface("saddle")
    r = rollout(s, start=(-2.0, 0.3), steps=40, optimizers=["nag", "adam"], noise=0.5, seed=3)
    again = rollout_from_json(race_json(r, s).encode("utf-8"))
    assert again.names == ["nag", "adam"]
    assert np.array_equal(again.paths, r.paths) and np.array_equal(again.losses, r.losses)


def test_json_of_a_custom_formula_reproduces_it():
    s = surface_from_formula("(x - 1)^2 + 3*y^2 + e*abs(x*y)/10")
    r = rollout(s, steps=60, noise=0.3)
    text = race_json(r, s)
    assert strict_loads(text)["surface"]["id"] == "custom"
    again = rollout_from_json(text)
    assert np.array_equal(again.paths, r.paths) and np.array_equal(again.losses, r.losses)


def test_json_reader_refuses_other_files_plainly():
    r, s = noisy_race(steps=10)
    record = race_record(r, s)
    bad = [
        ("not json at all", "not a race JSON file"),
        ("[1, 2]", "expected format"),
        (json.dumps({**record, "format": "something-else/9"}), "expected format"),
        (json.dumps({k: v for k, v in record.items() if k != "seed"}), "lacks seed"),
        (json.dumps({**record, "surface": {**record["surface"], "formula": "x**2 + y**2"}}), "different Rosenbrock"),
        (json.dumps({**record, "steps": -3}), "steps"),
        (json.dumps({**record, "settings": {"adam": {"lr": -1.0}}}), "lr"),
    ]
    for text, message in bad:
        with pytest.raises(ValueError, match=message):
            rollout_from_json(text)


# -- HTML without a browser ----------------------------------------------------------------------
def script_blocks(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)


def test_html_inlines_everything_and_escapes_script_ends():
    r, s = noisy_race(steps=50)
    title = "Week 3 </script><script>alert(1)</script> & more"
    page = race_html(r, s, view="overlay", title=title, exported_at=WHEN)
    assert page.count("<script") == page.count("</script>") == 5  # no block ended early
    blocks = script_blocks(page)
    data = {m.group(1): json.loads(body) for attrs, body in blocks
            if (m := re.search(r'id="([\w-]+)"', attrs))}
    assert data["surface-data"] == json.loads(json.dumps(surface_payload(s)))
    assert data["race-data"] == json.loads(json.dumps(race_payload(r, s)))
    player = (ROOT / "assets" / "player.js").read_text(encoding="utf-8")
    assert any(body == player for _, body in blocks)  # read from assets/ at export time
    assert "#btn-play" in page and "mask:" in page  # the icon rules of assets/style.css
    for element_id in ("race-map", "loss-chart", "leaderboard", "scrubber-host", "step-label", "speed",
                       "btn-restart", "btn-back", "btn-play", "btn-forward"):
        assert f'id="{element_id}"' in page
    assert "<title>Week 3 &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</title>" in page
    assert 'data-view="overlay"' in page and 'value="overlay" checked' in page
    assert "Exported from Optimizer Race on 2026-03-14" in page
    assert f"Rosenbrock</b>: f(x, y) = {export.formula_text(s)}" in page
    assert "η = 0.001" in page and "50 steps" in page and "seed 7" in page
    # nothing refers to the outside: no <link>, no src/href attributes, no URL outside plotly.js
    assert "plotly.js v" in blocks[2][1]
    ours = page.replace(blocks[2][1], "")
    # (a CSS url(…), not a name ending in "url(", such as canvas.toDataURL)
    assert not re.search(r"<link|\ssrc=|\shref=|@import|(?<!\w)url\((?!\"data:)", ours, flags=re.I)
    urls = set(re.findall(r"https?://[^\s'\")]+", ours))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls  # the SVG namespace of the icon masks
    assert "default-src 'none'" in page and "connect-src 'none'" in page


def test_inline_json_and_js_cannot_end_their_script():
    text = _inline_json({"a": "</script><!-- & >"})
    assert "<" not in text and ">" not in text and json.loads(text) == {"a": "</script><!-- & >"}
    assert "</script" not in _inline_js('var s = "</SCRIPT>"; // </script>').lower()


def test_html_playback_and_views_are_the_apps():
    r, s = noisy_race(steps=5)
    page = race_html(r, s, view="grid", exported_at=WHEN)
    buttons = re.findall(r'<button id="([\w-]+)" class="play-button" type="button" title="([^"]*)" aria-label="\2">', page)
    assert buttons == list(PLAYBACK_BUTTONS)
    options = re.findall(r'<option value="(\d+)"( selected)?>\1 steps/s</option>', page)
    assert options == [(str(v), " selected" if v == DEFAULT_SPEED else "") for v in SPEEDS]
    radios = re.findall(r'<input type="radio" name="view" value="(\w+)"( checked)?>([^<]*)</label>', page)
    assert radios == [(v, " checked" if v == "grid" else "", VIEWS[v]) for v in EXPORT_VIEWS]
    assert "3d" not in EXPORT_VIEWS  # the offline replay has no 3-D view, so the page offers none
    with pytest.raises(ValueError, match="view"):
        race_html(r, s, view="3d")


def test_hyperparameter_columns_and_symbols_come_from_the_registry():
    # the CSV's columns keep their order: the nine's hyperparameters, then the extras' own
    assert HP_KEYS == ("lr", "gamma", "rho", "beta1", "beta2", "eps")
    assert EXTRA_HP_KEYS == ("weight_decay", "momentum_decay")
    assert set(HP_KEYS + EXTRA_HP_KEYS) == set(HYPERPARAMETERS)
    assert HP_SYMBOLS == {"lr": "η", "gamma": "γ", "rho": "ρ", "beta1": "β₁", "beta2": "β₂", "eps": "ε",
                          "weight_decay": "λ", "momentum_decay": "ψ"}
    assert all(HP_SYMBOLS[k] == SLIDERS[k].symbol for k in HYPERPARAMETER_SLIDERS)  # as the sliders read


# -- command line --------------------------------------------------------------------------------
def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "webapp.export", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_writes_each_format(tmp_path):
    common = ["--surface", "ravine", "--lr", "0.05", "--steps", "40", "--noise", "1", "--batch-size", "4",
              "--seed", "2", "--start", "-8", "1.5", "--set", "adam.lr=0.2", "--set", "adadelta.eps=1e-5"]
    expected = rollout(
        get_surface("ravine"), start=(-8, 1.5), steps=40, noise=1.0, batch_size=4, seed=2,
        settings=race_settings({"lr": 0.05}, {"adam": {"lr": 0.2}, "adadelta": {"eps": 1e-5}}),
    )
    out = {}
    for fmt in ("json", "csv", "html"):
        path = tmp_path / f"race.{fmt}"
        done = run_cli(*common, "-o", str(path))  # format from the extension
        assert done.returncode == 0, done.stderr
        assert str(path) in done.stderr
        out[fmt] = path.read_text(encoding="utf-8")
    data = strict_loads(out["json"])
    assert data["settings"]["adam"]["lr"] == 0.2 and data["settings"]["gd"]["lr"] == 0.05
    assert data["settings"]["adadelta"] == {"lr": 1.0, "rho": 0.9, "eps": 1e-5}  # keeps its own η
    again = rollout_from_json(out["json"])
    assert np.array_equal(again.paths, expected.paths)
    rows = [row for row in csv.reader(io.StringIO(out["csv"])) if row and not row[0].startswith("#")]
    assert len(rows) == 1 + 9 * 41
    assert out["html"].startswith("<!DOCTYPE html>") and 'id="race-data"' in out["html"]

    explicit = tmp_path / "race.txt"
    done = run_cli("--surface", "bowl", "--steps", "5", "--format", "json", "--view", "overlay", "-o", str(explicit))
    assert done.returncode == 0 and strict_loads(explicit.read_text())["surface"]["id"] == "bowl"
    done = run_cli("--surface", "bowl", "--steps", "5", "--format", "csv", "-o", "-")
    assert done.returncode == 0 and done.stdout.startswith("# Optimizer Race")


def test_cli_races_the_extras_it_names(tmp_path):
    # the nine but the hidden, then the extras in EXTRAS order, whatever order they are named in
    surface = get_surface("ravine")
    common = ["--surface", "ravine", "--steps", "60", "--noise", "0.5", "--batch-size", "8", "--seed", "4",
              "--hide", "sgd", "--extras", "nadam,adamw", "--extras", "amsgrad",
              "--set", "adamw.weight_decay=0.1", "--set", "nadam.lr=0.02", "--set", "nadam.momentum_decay=0.01"]
    out = {}
    for fmt in ("json", "csv"):
        path = tmp_path / f"race.{fmt}"
        done = run_cli(*common, "-o", str(path))
        assert done.returncode == 0, done.stderr
        out[fmt] = path.read_text(encoding="utf-8")
    raced = [o for o in OPTIMIZERS if o != "sgd"] + ["amsgrad", "adamw", "nadam"]
    own = {"adamw": {"weight_decay": 0.1}, "nadam": {"lr": 0.02, "momentum_decay": 0.01}, "amsgrad": {}}
    data = strict_loads(out["json"])
    assert [o["id"] for o in data["optimizers"]] == raced
    assert data["settings"]["adamw"] == {**EXTRAS["adamw"].defaults, "lr": surface.lr, "weight_decay": 0.1}
    assert data["settings"]["nadam"] == {**EXTRAS["nadam"].defaults, "lr": 0.02, "momentum_decay": 0.01}
    rows = list(csv.DictReader(line for line in io.StringIO(out["csv"]) if not line.startswith("#")))
    assert tuple(rows[0])[6:14] == (*HP_KEYS, "weight_decay", "momentum_decay")
    assert [row["optimizer_id"] for row in rows] == [o for o in raced for _ in range(61)]
    for i, oid in enumerate(raced):
        if oid not in EXTRAS:
            continue
        # the extra's path is the library's for the same settings, raced alone (runs never interact)
        alone = rollout(surface, steps=60, noise=0.5, batch_size=8, seed=4, optimizers=[oid],
                        settings={oid: {"lr": surface.lr, **own[oid]}})
        assert np.array(data["optimizers"][i]["path"]).tobytes() == alone.paths[0].tobytes()
        assert np.array(data["optimizers"][i]["loss"]).tobytes() == alone.losses[0].tobytes()
        block = [row for row in rows if row["optimizer_id"] == oid]
        assert {row["optimizer_name"] for row in block} == {ALL_OPTIMIZERS[oid].name}
        assert np.array_equal([[float(row["x"]), float(row["y"])] for row in block], alone.paths[0])
        assert np.array_equal([float(row["loss"]) for row in block], alone.losses[0])
        for key in EXTRA_HP_KEYS:
            assert {row[key] for row in block} == {repr(alone.settings[oid][key]) if key in alone.settings[oid] else ""}
    assert {row["weight_decay"] for row in rows if row["optimizer_id"] == "adam"} == {""}
    again = rollout_from_json(out["json"])
    assert again.names == raced and again.paths.tobytes() == np.array([o["path"] for o in data["optimizers"]]).tobytes()


def test_cli_html_of_extras_shows_their_own_settings(tmp_path):
    target = tmp_path / "race.html"
    assert export.main(["--surface", "bowl", "--steps", "20", "--extras", "adamw", "--hide", "gd,sgd",
                        "--set", "adamw.weight_decay=0.25", "-o", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    race = json.loads(re.search(r'id="race-data">(.*?)</script>', page, flags=re.S).group(1))
    assert race["ids"] == [o for o in OPTIMIZERS if o not in ("gd", "sgd")] + ["adamw"]
    assert "λ = 0.25" in page and "<th>λ</th>" in page and "AdamW" in page


@pytest.mark.parametrize("args, message", [
    (["--surface", "moon"], "invalid choice"),
    (["--lr", "-1"], "not a usable learning rate"),
    (["--lr", "fast"], "not a usable learning rate"),
    (["--set", "adam.lr"], "OPTIMIZER.HYPERPARAMETER=VALUE"),
    (["--set", "adam.lr=quick"], "not a number"),
    (["--beta2", "1"], "not a usable second moment"),
    (["--batch-size", "0"], "not a usable batch size"),
    (["--view", "3d"], "invalid choice"),
    (["--set", "adamw.weight_decay=0.1"], "add --extras adamw"),
    (["--hide", ",".join(OPTIMIZERS)], "leaves no optimizer"),
    (["--format", "pdf"], "invalid choice"),
])
def test_cli_refuses_unusable_arguments_with_exit_code_2(args, message, tmp_path, capsys):
    target = tmp_path / "race.json"
    with pytest.raises(SystemExit) as stop:
        export.main([*args, "-o", str(target)])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize("args, raw, message", [
    (["--set", "moon.lr=1"], {}, "unknown optimizer 'moon'"),
    (["--set", "adam.rho=0.5"], {}, "Adam has no such hyperparameter"),
    (["--steps", "0"], {"steps": 20}, "Steps: 0 is out of range; using 20"),
    (["--noise", "-1"], {"noise": 0}, "Gradient noise: -1 is out of range; using 0"),
    (["--batch-size", "1000"], {"batch": 8}, "Batch size: 1000 is out of range; using 256"),
    (["--start", "50", "0"], {"start": [2, 0]}, "the start (50, 0) is outside the map"),
    (["--extras", "moon,adamw"], {"extras": ["adamw"]}, "unknown extras 'moon'"),
    (["--hide", "moon,gd"], {"visible": [o for o in OPTIMIZERS if o != "gd"]}, "unknown optimizers 'moon'"),
    (["--extras", "adamw", "--set", "adamw.weight_decay=-1"], {"extras": ["adamw"]}, "weight_decay must be in"),
])
def test_cli_replaces_what_the_app_replaces_and_says_so(args, raw, message, tmp_path, capsys):
    """The command line's values go through the app's own check (webapp.state.parse): what the
    app would replace (a value beyond a slider's end, a start off the map, an unknown id), the
    command line replaces the same way, with a note, and races what the app would race."""
    target = tmp_path / "race.json"
    assert export.main(["--surface", "bowl", "--steps", "30", *args, "-o", str(target)]) == 0
    assert message in capsys.readouterr().err
    app_state, _ = parse({"surface": "bowl", "steps": 30, "batch": 4, **raw})
    expected = race_result(app_state)
    again = rollout_from_json(target.read_text())
    shown = [o for o in OPTIMIZERS if o not in app_state.hidden] + list(app_state.extras)
    assert again.paths.tobytes() == expected.only(shown).paths.tobytes()


@pytest.mark.parametrize("args, message", [
    (["--set", "moon"], "OPTIMIZER.HYPERPARAMETER=VALUE"),
    (["--steps", "many"], "not a usable steps"),  # argparse's own check
])
def test_cli_process_exits_2_with_a_plain_message(args, message, tmp_path):
    target = tmp_path / "race.json"
    done = run_cli(*args, "-o", str(target))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()


# -- the HTML file in a real browser, from file://, with no server ---------------------------------
@pytest.fixture(scope="module")
def offline_race(tmp_path_factory):
    r, s = noisy_race(steps=300)
    path = tmp_path_factory.mktemp("export") / "race.html"
    path.write_text(race_html(r, s, view="grid"), encoding="utf-8")
    return path, r


@pytest.fixture(scope="module")
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                "--disable-sync", "--no-first-run", "--window-size=1600,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def wait_for(driver, script, timeout=15.0, what="condition"):
    return wait_until(lambda: driver.execute_script(script), timeout, what)


def painted_pixels(driver, graph_id):
    return driver.execute_script(
        """const c = document.querySelector('#' + arguments[0] + ' canvas.race-overlay');
        if (!c) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;""",
        graph_id,
    )


@pytest.mark.browser
def test_exported_html_replays_offline_in_chromium(chromium, offline_race):
    path, r = offline_race
    driver = chromium
    driver.get(path.as_uri())
    state = "return window.OptimizerRacePlayer && window.OptimizerRacePlayer.state()"
    first = wait_for(driver, "const P = window.OptimizerRacePlayer, s = P && P.state(); return s && s.steps ? s : null",
                     20, "the race to load")
    assert first["steps"] == r.steps == 300
    assert first["ids"] == r.names and first["surface"] == "rosenbrock" and first["view"] == "grid"
    assert first["diverged_at"] == r.diverged_at.tolist() and first["arrived_at"] == r.arrived_at.tolist()
    assert first["playing"]  # it autoplays
    step0 = driver.execute_script(state)["step"]
    wait_for(driver, f"return window.OptimizerRacePlayer.state().step > {step0 + 20}", 10, "the animation")
    assert driver.execute_script("return document.querySelectorAll('#race-map .imagelayer image').length") == 9
    assert painted_pixels(driver, "race-map") > 2000
    assert painted_pixels(driver, "loss-chart") > 200
    rows = driver.execute_script("return document.querySelectorAll('#leaderboard tbody tr').length")
    assert rows == 9
    # playback controls drive the player; the page fits the window
    driver.execute_script("document.getElementById('btn-play').click()")
    paused = driver.execute_script(state)
    assert not paused["playing"]
    driver.execute_script("document.getElementById('btn-forward').click()")
    assert driver.execute_script(state)["step"] == min(paused["step"] + 1, r.steps)
    assert driver.execute_script(
        "const d = document.documentElement; return d.scrollWidth <= d.clientWidth && d.scrollHeight <= d.clientHeight")
    # the view toggle re-plots the map as one overlay, same race
    driver.execute_script("document.querySelector('input[name=view][value=overlay]').click()")
    wait_for(driver, "return document.querySelectorAll('#race-map .imagelayer image').length === 1", 10, "the overlay")
    wait_for(driver, "return window.OptimizerRacePlayer.state().view === 'overlay'", 5, "the overlay view")
    driver.execute_script("window.OptimizerRacePlayer.setStep(arguments[0])", r.steps)
    assert painted_pixels(driver, "race-map") > 1000

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    outside = [u for u in requested_urls(driver) if not u.startswith(("file:", "data:", "blob:"))]
    assert outside == []
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in resources if not u.startswith(("file:", "data:", "blob:"))] == []


@pytest.mark.browser
def test_exported_html_of_the_shown_optimizers_has_a_panel_each(chromium, tmp_path):
    # the app exports the shown optimizers only (RolloutResult.only): four make a 2 × 2 grid,
    # and with σ = 0 SGD and Mini-batch SGD, at the same η, are said to move together (GD runs at
    # another η here)
    full, s = noisy_race(steps=200, noise=0.0)
    shown = ["gd", "sgd", "minibatch_sgd", "adam"]
    path = tmp_path / "four.html"
    path.write_text(race_html(full.only(shown), s, view="grid"), encoding="utf-8")
    driver = chromium
    driver.get(path.as_uri())
    wait_for(driver, "const P = window.OptimizerRacePlayer, s = P && P.state(); return s && s.steps", 20, "the race")
    grid = wait_for(driver, """const gd = document.getElementById('race-map');
        if (!gd || !gd._fullLayout || !gd.layout.meta) return null;
        const fl = gd._fullLayout, out = [];
        for (let k = 1; fl['xaxis' + (k > 1 ? k : '')]; k++) out.push(fl['xaxis' + (k > 1 ? k : '')].domain[0] + ',' + fl['yaxis' + (k > 1 ? k : '')].domain[0]);
        return {panels: gd.layout.meta.panels, boxes: out, layers: document.querySelectorAll('#race-map .imagelayer image').length};""",
                    10, "the grid")
    assert grid["panels"] == shown and grid["layers"] == 4
    xs = {b.split(",")[0] for b in grid["boxes"]}
    ys = {b.split(",")[1] for b in grid["boxes"]}
    assert len(xs) == 2 and len(ys) == 2  # 2 × 2, no empty panel
    assert driver.execute_script("return document.querySelectorAll('#leaderboard tbody tr').length") == 4
    note = driver.execute_script("return document.getElementById('race-note').textContent")
    assert note.startswith("Gradient noise σ = 0: SGD and Mini-batch SGD see the exact gradient")
    driver.execute_script("window.OptimizerRacePlayer.pause(); window.OptimizerRacePlayer.setStep(200)")
    assert painted_pixels(driver, "race-map") > 1000
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
