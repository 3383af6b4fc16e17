"""The JSON re-import: a `race_json` file (formats.py's schema) back to a race, re-run with this
library. On the same library, NumPy and SymPy the result equals the file's bit for bit."""

from __future__ import annotations

import json
import re

from optimizers import RolloutResult, rollout
from surfaces import SURFACES, Surface, from_data, get_surface, surface_from_formula
from surfaces.data import DataSurface

from .formats import FORMAT

_REQUIRED = ("surface", "start", "steps", "noise", "batch_size", "seed", "settings", "optimizers")


def surface_from_record(record: dict) -> Surface:
    """The surface a race file ran on: the built-in one with that id (whose formula must still
    be the file's), or else a custom surface rebuilt from the formula and domain."""
    try:
        sid, formula = record["id"], record["formula"]
    except (TypeError, KeyError):
        raise ValueError("the file's surface needs an id and a formula") from None
    if not isinstance(formula, str):
        raise ValueError(f"the surface formula must be text, not {formula!r}")
    if "model" in record:
        return _data_surface(record)
    if sid in SURFACES:
        surface = get_surface(sid)
        if str(surface.expr) != formula:
            raise ValueError(
                f"this race ran on a different {surface.name} surface (f = {formula}) than this "
                f"version of the app has (f = {surface.expr}); it cannot be reproduced exactly"
            )
        return surface
    # SymPy prints Euler's number as E; the formula parser calls it e (x and y are the only symbols)
    return surface_from_formula(re.sub(r"\bE\b", "e", formula), record.get("domain"))


def _data_surface(record: dict) -> DataSurface:
    """A data surface from its record: the built-in one if its examples are the file's, else
    rebuilt from the file's examples (ValueError for examples a data surface cannot use)."""
    examples = record.get("examples")
    if not isinstance(examples, dict):
        raise ValueError("the file's data surface lacks its examples")
    built = from_data(record["model"], examples.get("x"), examples.get("y"), id=str(record.get("id", "upload"))[:40],
                      name=str(record.get("name", ""))[:120] or None, domain=record.get("domain"),
                      source=str(record.get("source", ""))[:200])
    same = SURFACES.get(record.get("id"))
    if isinstance(same, DataSurface) and same.digest == built.digest:
        return same
    return built


def rollout_from_json(text: str | bytes) -> RolloutResult:
    """Re-run the race of a `race_json` file with this library and return the RolloutResult.
    On the same library, NumPy and SymPy the paths and losses are equal bit for bit to the
    file's. ValueError with a plain message for anything that is not such a file."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"not a race JSON file: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"not a race JSON file: expected format {FORMAT!r}, found {found!r}")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"the race file lacks {', '.join(missing)}")
    optimizers = data["optimizers"]
    if not isinstance(optimizers, list) or not all(isinstance(o, dict) and "id" in o for o in optimizers):
        raise ValueError("the race file's optimizers must be a list of records with an id")
    return rollout(
        surface_from_record(data["surface"]),
        start=data["start"],
        steps=data["steps"],
        settings=data["settings"],
        optimizers=[o["id"] for o in optimizers],
        noise=data["noise"],
        batch_size=data["batch_size"],
        seed=data["seed"],
        clock=data.get("clock", "steps"),
        schedule=data.get("schedule"),
    )
