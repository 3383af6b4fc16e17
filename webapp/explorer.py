"""The learning-rate explorer: final loss against learning rate for every optimizer, with a
verdict on every run and each optimizer's best learning rate η*.

Verdicts, per run (one optimizer at one η), from what the run did (SPEC §4: a run *arrives*
within 1e-3 of its starting gap f(start) − f_min):

- **diverged**: it diverged.
- **good**: it arrived and stayed: within the arrival threshold from some step to the end
  (`SweepResult.settled_at`). Nothing else is good, so on a surface where an optimizer never
  arrives and stays, it has no good η.
- **too high**: it overshoots. It arrived and left; or its loss rose more than 1 % (of the
  starting gap) above where it started; or it ends more than twice as far from f_min as its
  closest approach. A run that shows none of this is judged by the smaller η of the same
  optimizer: it is too high when it did not arrive although a smaller η arrived and stayed, or
  already overshoots or diverges (a smaller step did better, so this one is not short of step
  size), and when a smaller η came to rest ("stuck") while this one ends above its own lowest
  point (it bounces about a minimum). These rules catch runs that bounce every other step,
  across a valley or between two points, and end on the low side of the bounce: their final,
  lowest and highest losses alone look like a run still on its way down. On the sweeps of every
  built-in surface (at default settings, with noise σ = 0.5 and 3, with 150 and 2000 steps, and
  in every lesson), 446 of the 468 runs they mark still go up somewhere in the last fifth of the
  run; the other 22 came to rest above a lower point they had passed.
- **stuck**: it came to rest (ending at its lowest loss) at the same height as the run at the
  next η, to within a millionth of how far it descended: two step sizes that end at the same
  point have found a stationary point, a minimum that is not the lowest one (or a saddle).
- **too low**: the rest: it never arrived, shows no sign of overshooting, and is not at rest:
  it is still on its way down when the steps run out. (The sweep keeps only each run's final,
  lowest and highest loss, so a run that jitters about a minimum with no smaller η at rest
  beside it, such as RMSprop deep in a Rastrigin well, still reads as too low.)

The best learning rate η* is the middle of the widest run of neighbouring good values (in log η,
since the sweep is evenly spaced in log η; of an even run, the lower of the two middle values).
Ties go to the run whose middle value settles first, then to the lower η. The run must hold at
least three good values, so η* and the values on either side of it, a factor 1.25 lower and
higher, all arrive and stay: a good value alone among bad ones is a lucky draw, not a
recommendation. An optimizer with no such run has no η* (None in `best_learning_rates`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimizers import ALL_OPTIMIZERS, SweepResult
from surfaces import Surface

from .theme import OPTIMIZER_COLORS

BANDS = ("too low", "good", "too high", "diverged", "stuck")
TOO_LOW, GOOD, TOO_HIGH, DIVERGED, STUCK = range(len(BANDS))
BAND_COLORS = ("#9ecae1", "#44AA99", "#DDCC77", "#CC6677", "#BBBBBB")
LOSS_FLOOR = 1e-16  # final losses at the minimum are drawn here on the log axis

BOUNCE = 2.0  # too high: ends more than this many times farther from f_min than its closest approach
RISE = 0.01  # too high: its loss rose above the start by more than this share of the starting gap
REST = 1e-6  # stuck: neighbouring runs end this close, as a share of how far each descended
MIN_RUN = 3  # η* needs at least this many neighbouring good values


@dataclass(frozen=True)
class Verdicts:
    """Every run's verdict: `codes[i, j]` indexes BANDS for optimizer i at value j, `reasons[i][j]`
    says why in words; `best[i]` is the index of optimizer i's η*, or -1 where it has none."""

    codes: np.ndarray
    best: np.ndarray
    reasons: list[list[str]]


def _fmt(v: float) -> str:
    return f"{v:.2g}"


def best_index(good, settled_at=None) -> int:
    """The index of η* in one optimizer's row of verdicts (`good`: booleans in η order): the
    middle of the widest run of at least MIN_RUN neighbouring good values, of an even run the
    lower middle. Ties: the run whose middle settles first (`settled_at`, when given), then the
    lower η. -1 when there is no such run."""
    good = np.asarray(good, dtype=bool)
    runs, j = [], 0
    while j < good.size:
        if good[j]:
            k = j
            while k + 1 < good.size and good[k + 1]:
                k += 1
            middle = j + (k - j) // 2
            settle = int(settled_at[middle]) if settled_at is not None else 0
            runs.append((-(k - j + 1), settle, middle))
            j = k + 1
        else:
            j += 1
    runs = [r for r in runs if -r[0] >= MIN_RUN]
    return min(runs)[2] if runs else -1


def verdicts(sw: SweepResult, surface: Surface) -> Verdicts:
    """The verdict on every run of the sweep and each optimizer's η* (see the module docstring)."""
    f0 = float(surface.f(*sw.start))
    f_min = surface.f_min
    start_gap = max(f0 - f_min, 0.0)
    gap = np.maximum(sw.final_loss - f_min, 0.0)
    closest = np.maximum(sw.min_loss - f_min, 0.0)
    highest = np.maximum(sw.max_loss - f_min, 0.0)
    diverged = sw.diverged_at >= 0
    good = ~diverged & (sw.settled_at >= 0)
    left = ~diverged & ~good & (sw.arrived_at >= 0)
    rest = ~diverged & ~good & ~left
    rose = rest & (highest > (1 + RISE) * start_gap)
    bounced = rest & ~rose & (gap > BOUNCE * closest)
    calm = rest & ~rose & ~bounced
    # at rest: ends at its lowest, and the run at the next η ends at the same height
    descent = np.maximum(f0 - sw.final_loss, 0.0)
    tol = REST * descent
    lowest = calm & (descent > 0) & (sw.final_loss - sw.min_loss <= tol)
    same = lowest[:, :-1] & lowest[:, 1:] & (
        np.abs(np.diff(sw.final_loss, axis=1)) <= np.minimum(tol[:, :-1], tol[:, 1:]))
    stuck = np.zeros_like(calm)
    stuck[:, :-1] |= same
    stuck[:, 1:] |= same
    dipped = calm & ~stuck & (sw.final_loss - sw.min_loss > tol)  # ends above its own lowest point

    n, m = gap.shape
    values = sw.values
    codes = np.full((n, m), TOO_LOW, dtype=int)
    reasons = [[""] * m for _ in range(n)]
    best = np.full(n, -1, dtype=int)
    for i in range(n):
        # the nearest smaller η that arrived and stayed / that overshoots (in its own run) / that came to rest
        last_good = last_over = last_rest = -1
        for j in range(m):
            a, s = int(sw.arrived_at[i, j]), int(sw.settled_at[i, j])
            own = True  # the verdict rests on this run alone, not on a smaller η's
            if diverged[i, j]:
                code, why = DIVERGED, f"diverged at step {sw.diverged_at[i, j]}"
            elif good[i, j]:
                code = GOOD
                why = (f"arrived at step {a} and stayed" if s == a else
                       f"arrived at step {a}, and stays from step {s} on")
            elif left[i, j]:
                code, why = TOO_HIGH, f"arrived at step {a}, then left; ends {_fmt(gap[i, j])} above f_min"
            elif rose[i, j]:
                code = TOO_HIGH
                why = f"overshoots: rose to {_fmt(highest[i, j])} above f_min, over its start ({_fmt(start_gap)})"
            elif bounced[i, j]:
                code = TOO_HIGH
                why = f"bounces: came within {_fmt(closest[i, j])} of f_min, ends {_fmt(gap[i, j])} above"
            elif stuck[i, j]:
                k = j + 1 if j + 1 < m and same[i, j] else j - 1  # the neighbour that stops at the same height
                code = STUCK
                why = (f"came to rest {_fmt(gap[i, j])} above f_min, where η = {_fmt(values[k])} stops too: "
                       "another minimum or a saddle")
            elif last_rest >= 0 and dipped[i, j]:
                code = TOO_HIGH
                why = (f"bounces about a minimum: the smaller η = {_fmt(values[last_rest])} came to rest, this "
                       f"one ends {_fmt(gap[i, j])} above f_min, above its lowest ({_fmt(closest[i, j])})")
            elif last_good >= 0:
                code, own = TOO_HIGH, False
                why = (f"did not arrive in {sw.steps} steps, though the smaller η = {_fmt(values[last_good])} "
                       "arrived and stayed")
            elif last_over >= 0:
                code, own = TOO_HIGH, False
                why = f"did not arrive, and the smaller η = {_fmt(values[last_over])} already overshoots"
            else:
                code, why = TOO_LOW, f"still descending after {sw.steps} steps, {_fmt(gap[i, j])} above f_min"
            codes[i, j] = code
            reasons[i][j] = f"{BANDS[code]}: {why}"
            if code == GOOD:
                last_good = j
            elif code == STUCK:
                last_rest = j
            elif code in (TOO_HIGH, DIVERGED) and own:
                last_over = j
        best[i] = best_index(codes[i] == GOOD, sw.settled_at[i])
    return Verdicts(codes, best, reasons)


def bands(sw: SweepResult, surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """(codes, best): codes[i, j] indexes BANDS for optimizer i at value j; best[i] is the index
    of optimizer i's η*, or -1 where it has none."""
    v = verdicts(sw, surface)
    return v.codes, v.best


def best_learning_rates(sw: SweepResult, surface: Surface) -> dict[str, float | None]:
    """{optimizer id: η*}, None for an optimizer with no η* (see the module docstring)."""
    _, best = bands(sw, surface)
    return {oid: float(sw.values[b]) if b >= 0 else None for oid, b in zip(sw.names, best)}


def explorer_figure(sw: SweepResult, surface: Surface) -> dict:
    """Two panels sharing the learning-rate axis: final f − f_min per optimizer (diverged runs as
    ✕ along the top), and the verdict on every run, with η* starred and in the row's label ("η* —"
    where there is none). Hovering a run says why it got its verdict. (The race's own learning
    rate is marked by the browser over this figure, so moving it needs no new figure.)"""
    v = verdicts(sw, surface)
    codes, best = v.codes, v.best
    gap = np.maximum(sw.final_loss - surface.f_min, LOSS_FLOOR)
    finite = gap[sw.diverged_at < 0]
    top = math.log10(finite.max()) + 0.6 if finite.size else 1.0
    bottom = max(math.log10(finite.min()) - 0.4, -16.5) if finite.size else -16.5
    lrs = sw.values.tolist()
    names = [ALL_OPTIMIZERS[o].name for o in sw.names]
    traces = []
    for i, oid in enumerate(sw.names):
        ok = sw.diverged_at[i] < 0
        color = OPTIMIZER_COLORS[oid]
        why = v.reasons[i]
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": names[i], "legendgroup": oid,
            "x": [lr if k else None for lr, k in zip(lrs, ok)],
            "y": [float(g) if k else None for g, k in zip(gap[i], ok)],
            "line": {"color": color, "width": 2}, "marker": {"size": 4, "color": color},
            "customdata": [BANDS[c] for c in codes[i]], "xaxis": "x", "yaxis": "y",
            "hovertemplate": f"<b>{names[i]}</b><br>η = %{{x:.3g}}<br>f − f_min = %{{y:.3g}}"
                             "<br>%{customdata}<extra></extra>",
        })
        if (~ok).any():
            traces.append({
                "type": "scatter", "mode": "markers", "name": names[i] + " diverged",
                "legendgroup": oid, "showlegend": False,
                "x": [lr for lr, k in zip(lrs, ok) if not k], "y": [10**top] * int((~ok).sum()),
                "marker": {"symbol": "x-thin", "size": 9, "line": {"width": 2, "color": color}},
                "customdata": [w for w, k in zip(why, ok) if not k], "xaxis": "x", "yaxis": "y",
                "hovertemplate": f"<b>{names[i]}</b><br>η = %{{x:.3g}}<br>%{{customdata}}<extra></extra>",
            })
    labels = [f"{names[i]}  η* = {_fmt(sw.values[b])}" if b >= 0 else f"{names[i]}  η* —"
              for i, b in enumerate(best)]
    k = len(BANDS)
    # the verdicts' rows 24 px each (room for their 14 px labels, for nine optimizers or thirteen),
    # the losses 300 px above them; 40 px more for a legend that wraps
    rows_px, losses_px, gap_px = 24 * len(names), 300, 36
    plot_px = losses_px + gap_px + rows_px
    traces.append({
        "type": "heatmap", "x": lrs, "y": labels, "z": codes.tolist(), "xaxis": "x", "yaxis": "y2",
        "zmin": -0.5, "zmax": k - 0.5, "showscale": False, "xgap": 1, "ygap": 2,
        "colorscale": [[b / k, c] for a, c in enumerate(BAND_COLORS) for b in (a, a + 1)],
        "customdata": v.reasons,
        "hovertemplate": "%{y}<br>η = %{x:.3g}<br>%{customdata}<extra></extra>",
    })
    starred = [i for i, b in enumerate(best) if b >= 0]
    traces.append({
        "type": "scatter", "mode": "markers", "x": [lrs[best[i]] for i in starred], "y": [labels[i] for i in starred],
        "xaxis": "x", "yaxis": "y2", "showlegend": False, "hoverinfo": "skip",
        "marker": {"symbol": "star", "size": 11, "color": "#ffffff", "line": {"color": "#1f2630", "width": 1}},
    })
    shapes, annotations = [], []
    limit = surface.gd_lr_limit
    if limit is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": limit, "x1": limit, "y0": 0,
                       "y1": 1, "line": {"color": "#a01c2c", "width": 1.5}})
        annotations.append({"x": math.log10(limit), "xref": "x", "y": 0.97, "yref": "paper",
                            "xanchor": "left", "text": f" GD limit 2/λmax = {_fmt(limit)}",
                            "showarrow": False, "font": {"size": 14, "color": "#a01c2c"}})
    return {
        "data": traces,
        "layout": {
            # text at 14 px (read on a projector); the verdict rows' labels set the left margin
            "margin": {"l": 60, "r": 20, "t": 40, "b": 48},
            "height": plot_px + 40 + 48 + 40,
            "hovermode": "closest",
            "clickmode": "event",
            "dragmode": False,
            "meta": {"surface": sw.surface_id},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            "font": {"family": "system-ui, sans-serif", "size": 14, "color": "#1f2630"},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},  # above the plot, which it pushes down when it wraps
            "xaxis": {"type": "log", "domain": [0, 1], "anchor": "y2", "title": {"text": "learning rate η"}, "dtick": 1,
                      "range": [math.log10(lrs[0]) - 0.05, math.log10(lrs[-1]) + 0.05],
                      "showline": True, "linecolor": "#c5ced8", "fixedrange": True},
            "yaxis": {"type": "log", "domain": [(rows_px + gap_px) / plot_px, 1], "title": {"text": "final f − f_min"},
                      "range": [bottom, top + 0.1], "exponentformat": "power", "dtick": 2,
                      "showline": True, "linecolor": "#c5ced8", "fixedrange": True, "automargin": True},
            "yaxis2": {"domain": [0, rows_px / plot_px], "autorange": "reversed", "fixedrange": True, "automargin": True},
            "shapes": shapes,
            "annotations": annotations,
        },
    }


def explorer_notes(sw: SweepResult, surface: Surface) -> str:
    """What the chart shows and how it judges, in a few sentences (Markdown with maths)."""
    text = (
        f"Each optimizer ran {sw.steps} steps at {len(sw.values)} learning rates from "
        f"{sw.values[0]:.0e} to {sw.values[-1]:.0e}, everything else as in the race. Each run's verdict "
        "(hover a cell to see why):\n\n"
        "- **good**: arrived and stayed, within the arrival threshold from some step to the end;\n"
        "- **too high**: overshoots: it arrived and left, rose above its start, ends more than twice as "
        "far from the minimum as it once was, did not arrive although a smaller η did (or already "
        "overshoots), or bounces about a minimum where a smaller η came to rest;\n"
        "- **too low**: still on its way down when the steps run out;\n"
        "- **stuck**: came to rest where the next η also stops, in a minimum that is not the lowest "
        "(or at a saddle);\n"
        "- **diverged**: blew up or left the map (✕ along the top of the chart).\n\n"
        f"**★ η\\***, the best learning rate: the middle of the widest stretch of at least {MIN_RUN} "
        "good learning rates in a row, so η\\* and its neighbours on both sides all arrive and stay; "
        "without such a stretch an optimizer has no η\\* (—). Click a point to race at that learning "
        "rate; **Tune** gives every optimizer its own η\\* for a fair race."
    )
    lam = surface.max_curvature
    if lam is not None and surface.gd_lr_limit is not None:
        text += (
            f"\n\nOn this quadratic surface the largest curvature is $\\lambda_{{max}} = {lam:g}$. A GD "
            f"step multiplies the error along that direction by $1 - \\eta\\lambda_{{max}}$, which "
            f"exceeds 1 in size once $\\eta > 2/\\lambda_{{max}} = {surface.gd_lr_limit:g}$: GD then "
            "oscillates with growing amplitude and diverges."
        )
    return text
