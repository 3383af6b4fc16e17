"""What a lesson says, as claims checked against the race it shows.

A claim is a sentence the student reads and a check of that sentence. Most checks read only what
the page shows at the end of the race, the `Standings`: each shown optimizer's status on the
leaderboard, the step of that status, its final loss and where its path ends. The engine's
result gives the standings (`standings`), and the browser tests read the same standings from
the page, so one check serves both. A few claims need the whole path or a second race (how often
a path crosses the valley, how long a first step is, where a rule stops being stable): those are
checked on the engine only (`on_page=False`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from optimizers import OPTIMIZERS, RolloutResult
from surfaces import Surface

SETTLED, LEFT, MOVING, DIVERGED = "settled", "left", "moving", "diverged"


@dataclass(frozen=True)
class Standing:
    """One optimizer at the end of a race, as the leaderboard shows it."""

    status: str  # SETTLED: arrived and stayed; LEFT: arrived, then left; MOVING: never arrived; DIVERGED
    step: int  # when that status began (settled at, arrived at, diverged at); -1 for MOVING
    loss: float  # f at the end (the last valid point of a diverged path)
    end: tuple[float, float]


Standings = dict  # optimizer id → Standing


def standings(result: RolloutResult) -> Standings:
    out = {}
    for i, oid in enumerate(result.names):
        if result.diverged_at[i] >= 0:
            status, step = DIVERGED, int(result.diverged_at[i])
        elif result.settled_at[i] >= 0:
            status, step = SETTLED, int(result.settled_at[i])
        elif result.arrived_at[i] >= 0:
            status, step = LEFT, int(result.arrived_at[i])
        else:
            status, step = MOVING, -1
        end = result.paths[i, -1]
        out[oid] = Standing(status, step, float(result.losses[i, -1]), (float(end[0]), float(end[1])))
    return out


@dataclass(frozen=True)
class Claim:
    """`text` is what the lesson says; `check` says whether the race bears it out. With
    `on_page`, `check` takes the Standings (engine or page); otherwise it takes the engine's
    RolloutResult and the Surface."""

    text: str
    check: Callable
    on_page: bool = True
    ids: tuple[str, ...] = ()  # the optimizers the claim is about (a lesson must show them)


def _names(ids) -> str:
    names = [OPTIMIZERS[o].name for o in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _status_claim(status: str, one: str, several: str) -> Callable[..., Claim]:
    """A maker of claims "<optimizers> <verb>: <why>" that hold when every optimizer named ends
    with `status`; `one` and `several` are the verb for one optimizer and for several."""

    def make(*ids: str, why: str) -> Claim:
        verb = one if len(ids) == 1 else several
        return Claim(f"{_names(ids)} {verb}: {why}", lambda s: all(s[o].status == status for o in ids), ids=ids)

    return make


settles = _status_claim(SETTLED, "arrives and stays", "arrive and stay")
leaves = _status_claim(LEFT, "arrives, then leaves again", "arrive, then leave again")
never_arrives = _status_claim(MOVING, "does not arrive", "do not arrive")
diverges = _status_claim(DIVERGED, "diverges", "diverge")


def settles_before(first: str, then: str, text: str, ratio: float = 1.0) -> Claim:
    """`first` arrives and stays, and `then` does so only later than `ratio` × its step (or not
    at all)."""

    def check(s):
        a, b = s[first], s[then]
        return a.status == SETTLED and (b.status != SETTLED or a.step <= ratio * b.step)

    return Claim(text, check, ids=(first, then))


def diverges_before(first: str, then: str, text: str) -> Claim:
    def check(s):
        a, b = s[first], s[then]
        return a.status == DIVERGED and (b.status != DIVERGED or a.step < b.step)

    return Claim(text, check, ids=(first, then))


def ends_near(ids: tuple[str, ...], point: tuple[float, float], within: float, text: str) -> Claim:
    return Claim(text, lambda s: all(math.dist(s[o].end, point) <= within for o in ids), ids=ids)


def loss_between(oid: str, low: float, high: float, text: str) -> Claim:
    return Claim(text, lambda s: low <= s[oid].loss <= high, ids=(oid,))


def on_engine(text: str, check: Callable[[RolloutResult, Surface], bool], *ids: str) -> Claim:
    return Claim(text, check, on_page=False, ids=ids)


# -- facts of a whole path, for on_engine claims ---------------------------------------------------
def row(result: RolloutResult, oid: str) -> int:
    return result.names.index(oid)


def sign_changes(result: RolloutResult, oid: str, axis: int, until: int | None = None) -> int:
    """How often the path's coordinate `axis` changes sign (crosses the valley floor) up to step
    `until` (default: the end)."""
    values = result.paths[row(result, oid), : None if until is None else until + 1, axis]
    signs = np.sign(values)
    return int((signs[1:] * signs[:-1] < 0).sum())


def first_step(result: RolloutResult, oid: str) -> np.ndarray:
    """|Δθ| of the first update, per coordinate."""
    p = result.paths[row(result, oid)]
    return np.abs(p[1] - p[0])


def travel(result: RolloutResult, oid: str, last: int) -> float:
    """How far the path moved (straight line) over its last `last` steps."""
    p = result.paths[row(result, oid)]
    return float(np.hypot(*(p[-1] - p[-1 - last])))


def rms_distance(result: RolloutResult, oid: str, point, last: int) -> float:
    """The root-mean-square distance from `point` over the last `last` steps."""
    p = result.paths[row(result, oid), -last:]
    return float(np.sqrt(((p - np.asarray(point)) ** 2).sum(axis=1).mean()))
