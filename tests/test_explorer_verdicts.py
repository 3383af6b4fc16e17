"""The learning-rate explorer's verdicts mean what they say: checked on the engine's own sweeps of
every built-in surface at its default settings (what the page shows first), on the races Tune
would run, and on small hand-made sweeps that pin each rule and the choice of η*."""

import json
from functools import cache

import numpy as np
import pytest

from optimizers import OPTIMIZERS, SweepResult
from surfaces import SURFACES, get_surface
from tests.test_lessons_and_links import race_of
from webapp import state as link
from webapp.explorer import (BANDS, DIVERGED, GOOD, MIN_RUN, STUCK, TOO_HIGH, TOO_LOW, bands, best_index,
                             best_learning_rates, explorer_figure, explorer_notes, verdicts)
from webapp.race import lr_sweep

IDS = list(OPTIMIZERS)


@cache
def default(sid):
    """The explorer of a surface at default settings: (spec, sweep, verdicts)."""
    _, spec = race_of(link.RaceState(sid))
    sw = lr_sweep(spec)
    return spec, sw, verdicts(sw, spec.surface)


def tuned_race(sid):
    """The race after Tune: each optimizer with an η* races at it (a per-optimizer override, as the
    page sends it, through JSON); the others keep the shared η."""
    spec, sw, _ = default(sid)
    best = json.loads(json.dumps(best_learning_rates(sw, spec.surface)))  # as the page stores it
    overrides = {o: {"lr": lr} for o, lr in best.items() if lr is not None}
    r, _ = race_of(link.RaceState(sid, overrides=overrides))
    return r, best


@pytest.mark.parametrize("sid", list(SURFACES))
def test_every_best_learning_rate_arrives_and_stays_in_the_race_tune_runs(sid):
    spec, sw, v = default(sid)
    r, best = tuned_race(sid)
    assert set(best) == set(IDS)
    for i, oid in enumerate(IDS):
        b = v.best[i]
        if b < 0:
            assert best[oid] is None, oid
            continue
        assert best[oid] == sw.values[b]
        # in the good band, with good neighbours on both sides
        assert (v.codes[i, b - (MIN_RUN - 1) // 2: b + MIN_RUN // 2 + 1] == GOOD).all(), oid
        assert r.settled_at[IDS.index(oid)] >= 0, (sid, oid, best[oid])
        assert r.settings[oid]["lr"] == best[oid]


@pytest.mark.parametrize("sid", list(SURFACES))
def test_each_verdict_is_what_the_run_did(sid):
    spec, sw, v = default(sid)
    codes = v.codes
    assert ((codes == GOOD) == (sw.settled_at >= 0)).all()  # good: arrived and stayed, nothing else
    assert ((codes == DIVERGED) == (sw.diverged_at >= 0)).all()
    # too low and stuck never arrived; a run that arrived and left is too high
    assert (sw.arrived_at[(codes == TOO_LOW) | (codes == STUCK)] < 0).all()
    assert (codes[(sw.arrived_at >= 0) & (sw.settled_at < 0) & (sw.diverged_at < 0)] == TOO_HIGH).all()
    # too low: still on its way down, so it ends at its lowest and never rose above its start
    low = codes == TOO_LOW
    f0 = float(spec.surface.f(*spec.start))
    assert (sw.max_loss[low] <= f0 + 0.01 * (f0 - spec.surface.f_min)).all()
    assert (sw.final_loss[low] - spec.surface.f_min <= 2 * (sw.min_loss[low] - spec.surface.f_min)).all()
    # every cell says why, starting with its verdict
    for i in range(len(IDS)):
        for j, c in enumerate(codes[i]):
            assert v.reasons[i][j].startswith(BANDS[c] + ": ")


@pytest.mark.parametrize("sid", list(SURFACES))
def test_bands_run_from_too_low_to_too_high_as_eta_grows(sid):
    """No too-low run lies to the right of a good, too-high or diverged one of the same optimizer."""
    _, sw, v = default(sid)
    for i, oid in enumerate(IDS):
        row = v.codes[i]
        beyond = np.flatnonzero(np.isin(row, (GOOD, TOO_HIGH, DIVERGED)))
        if beyond.size:
            assert (row[beyond[0]:] != TOO_LOW).all(), (sid, oid, "".join(str(c) for c in row))


def test_the_issue_on_the_default_rosenbrock_race():
    spec, sw, v = default("rosenbrock")
    at = lambda eta: int(np.argmin(np.abs(np.log(sw.values / eta))))  # noqa: E731
    row = {oid: v.codes[i] for i, oid in enumerate(IDS)}
    best = best_learning_rates(sw, spec.surface)
    # AdaGrad and Adam between η = 2 and 10: not "too low" (they overshoot)
    for oid in ("adagrad", "adam"):
        assert (row[oid][(sw.values >= 2) & (sw.values <= 10)] != TOO_LOW).all(), oid
    # RMSprop at the old η* = 0.72 bounces across the map and never stays: too high, and its race says so
    rms = IDS.index("rmsprop")
    assert row["rmsprop"][at(0.72)] == TOO_HIGH
    r, _ = race_of(link.RaceState("rosenbrock", overrides={"rmsprop": {"lr": float(sw.values[at(0.72)])}}))
    assert r.settled_at[rms] < 0
    # RMSprop arrives and stays at its η*, if it has one; here none of its 64 runs stays, so it has none
    tuned, _ = tuned_race("rosenbrock")
    if best["rmsprop"] is not None:
        assert tuned.settled_at[rms] >= 0
    assert (best["rmsprop"] is None) == (not (sw.settled_at[rms] >= 0).any())
    # GD at the old η* = 0.003 never arrives in 500 steps: not good, no fallback, no η*
    gd = IDS.index("gd")
    assert row["gd"][at(0.003)] != GOOD and (sw.settled_at[gd] < 0).all() and best["gd"] is None
    # the figure says "η* —" for them, and stars only the others
    fig = explorer_figure(sw, spec.surface)
    heat = next(t for t in fig["data"] if t["type"] == "heatmap")
    assert heat["y"][gd].endswith("η* —") and heat["y"][rms].endswith("η* —")
    star = fig["data"][-1]
    assert star["marker"]["symbol"] == "star"
    assert sorted(star["y"]) == sorted(label for label in heat["y"] if "η* =" in label)
    json.dumps(fig, allow_nan=False)


def test_the_best_is_the_middle_of_the_widest_good_run():
    row = np.zeros(20, dtype=bool)
    row[2:5] = True  # width 3: indices 2, 3, 4
    row[8:13] = True  # width 5: indices 8..12, middle 10
    assert best_index(row) == 10
    row[15:20] = True  # another width 5 (middle 17): a tie goes to the lower η ...
    assert best_index(row) == 10
    settled = np.full(20, 100)
    settled[17] = 40  # ... unless the other's middle settles first
    assert best_index(row, settled) == 17
    even = np.zeros(10, dtype=bool)
    even[3:7] = True  # width 4: the lower of the two middle values
    assert best_index(even) == 4
    lonely = np.zeros(10, dtype=bool)
    lonely[[1, 4, 5, 8]] = True  # good values, but never MIN_RUN = 3 in a row: a lucky draw is no η*
    assert MIN_RUN == 3 and best_index(lonely) == -1
    assert best_index(np.zeros(10, dtype=bool)) == -1


def _sweep(surface, rows: dict[str, list[dict]], steps=100) -> SweepResult:
    """A hand-made sweep: per optimizer, per η the run's outcome: "final", "min" (default: final)
    and "max" (default: the start) as gaps above f_min in shares of the starting gap; "arrived",
    "settled", "diverged" as steps (absent: never)."""
    g0 = float(surface.f(*surface.start)) - surface.f_min
    names = list(rows)

    def table(get):
        return np.array([[get(run) for run in rows[o]] for o in names])

    def loss(get):
        return surface.f_min + g0 * table(get).astype(float)

    return SweepResult(
        surface.id, names, "lr", np.logspace(-3, 0, len(rows[names[0]])), surface.start, steps,
        final_loss=loss(lambda r: r["final"]), min_loss=loss(lambda r: r.get("min", r["final"])),
        max_loss=loss(lambda r: r.get("max", 1.0)), diverged_at=table(lambda r: r.get("diverged", -1)),
        arrived_at=table(lambda r: r.get("arrived", -1)), settled_at=table(lambda r: r.get("settled", -1)),
    )


def test_each_rule_on_hand_made_runs():
    s = get_surface("bowl")
    low = [{"final": g, "min": g} for g in (0.2, 0.19, 0.18, 0.17, 0.16, 0.15, 0.14)]  # each further down
    good = {"final": 1e-5, "min": 1e-5, "arrived": 30, "settled": 30}
    rows = {
        # too low, good ×3, too high (no arrival though a smaller η stayed), arrived and left, diverged
        "gd": [low[0], good, good, good, {"final": 0.1, "min": 0.1}, {"final": 0.01, "min": 1e-4, "arrived": 20},
               {"final": 0.3, "min": 0.3, "diverged": 12}],
        # rose above its start; bounced (ends more than twice as far as its closest); calm runs after them
        "adam": [low[0], {"final": 0.1, "min": 0.1, "max": 1.5}, {"final": 0.1, "min": 0.04}, *low[3:]],
        # two neighbours at rest at the same height (another minimum), then still descending
        "adagrad": [{"final": 0.3, "min": 0.3}, {"final": 0.3, "min": 0.3}, *low[2:]],
        # at rest, then a run that ends a little above its own lowest point: it bounces about the minimum
        "adadelta": [{"final": 0.3, "min": 0.3}, {"final": 0.3, "min": 0.3}, {"final": 0.31, "min": 0.3}, *low[3:]],
    }
    sw = _sweep(s, rows)
    v = verdicts(sw, s)
    TL, G, TH, D, ST = TOO_LOW, GOOD, TOO_HIGH, DIVERGED, STUCK
    assert v.codes[0].tolist() == [TL, G, G, G, TH, TH, D]
    assert v.codes[1].tolist() == [TL, TH, TH, TH, TH, TH, TH]
    assert v.codes[2].tolist() == [ST, ST, TL, TL, TL, TL, TL]
    assert v.codes[3].tolist() == [ST, ST, TH, TH, TH, TH, TH]
    assert "bounces about a minimum" in v.reasons[3][2] and "already overshoots" in v.reasons[3][3]
    assert "then left" in v.reasons[0][5] and "arrived and stayed" in v.reasons[0][4]
    assert "over its start" in v.reasons[1][1] and "already overshoots" in v.reasons[1][3]
    assert "another minimum" in v.reasons[2][0]
    codes, best = bands(sw, s)
    assert (codes == v.codes).all() and best.tolist() == [2, -1, -1, -1]
    assert best_learning_rates(sw, s) == {"gd": sw.values[2], "adam": None, "adagrad": None, "adadelta": None}


def test_notes_explain_the_rule():
    spec, sw, _ = default("bowl")
    notes = explorer_notes(sw, spec.surface)
    for words in ("arrived and stayed", "widest", f"at least {MIN_RUN}", "(—)", *(f"**{b}**" for b in BANDS)):
        assert words in notes, words
