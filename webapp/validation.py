"""Every callback input is untrusted JSON: these functions turn it into safe values, clamping or
falling back to a default, and say in plain words what they changed."""

from __future__ import annotations

import math
from typing import Any

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS
from surfaces import SURFACES, Surface

from .controls import SLIDERS

MAX_SEED = 2**31 - 1


class Problems(list):
    """Messages about inputs that were changed or ignored, shown to the user."""


def number(value: Any) -> float | None:
    """A finite float from a JSON value, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float, e.g. 10**400 in the JSON
        return None
    return value if math.isfinite(value) else None


def slider_value(slider_id: str, position: Any, problems: Problems) -> float:
    """The value a slider position stands for, the position clamped to the slider's range."""
    slider = SLIDERS[slider_id]
    p = number(position)
    if p is None:
        problems.append(f"{slider.label}: {position!r} is not a number; using the default")
        p = slider.default
    elif not slider.low <= p <= slider.high:
        problems.append(f"{slider.label}: {p:g} is out of range; clamped")
        p = min(max(p, slider.low), slider.high)
    return slider.value(p)


def surface_choice(surface_id: Any, problems: Problems, default: str) -> Surface:
    if isinstance(surface_id, str) and surface_id in SURFACES:
        return SURFACES[surface_id]
    problems.append(f"unknown surface {str(surface_id)[:40]!r}; showing {SURFACES[default].name}")
    return SURFACES[default]


def start_point(value: Any, surface: Surface, problems: Problems) -> tuple[float, float]:
    """A start inside the surface's domain: the surface's default start unless `value` is a
    pair of finite numbers (clamped into the domain)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        x, y = number(value[0]), number(value[1])
        if x is not None and y is not None:
            (x0, x1), (y0, y1) = surface.domain
            return (min(max(x, x0), x1), min(max(y, y0), y1))
    if value is not None:
        problems.append("the start point was not a pair of numbers; using the surface's start")
    return surface.start


def override_entries(ids: Any, values: Any) -> list[dict]:
    """Pair the panel's input ids ({"opt", "hp"}) with their values; malformed items drop out."""
    if not isinstance(ids, list) or not isinstance(values, list):
        return []
    return [
        {"opt": i.get("opt"), "hp": i.get("hp"), "value": v}
        for i, v in zip(ids, values)
        if isinstance(i, dict)
    ]


def overrides(entries: Any, problems: Problems) -> dict[str, dict[str, float]]:
    """Per-optimizer overrides from the panel's inputs: a list of {"opt", "hp", "value"}
    records; empty inputs mean "use the shared slider", bad ones are reported and ignored."""
    result: dict[str, dict[str, float]] = {}
    if not isinstance(entries, list):
        return result
    for entry in entries[:200]:
        if not isinstance(entry, dict):
            continue
        oid, key, value = entry.get("opt"), entry.get("hp"), entry.get("value")
        if value is None or value == "":
            continue
        known = isinstance(oid, str) and isinstance(key, str) and oid in ALL_OPTIMIZERS
        if not known or key not in ALL_OPTIMIZERS[oid].defaults:
            problems.append("ignored an override for an unknown optimizer or hyperparameter")
            continue
        name = ALL_OPTIMIZERS[oid].name
        try:
            result.setdefault(oid, {})[key] = HYPERPARAMETERS[key].check(value, name)
        except ValueError as err:
            problems.append(f"{err}; ignored")
    return result


def extras_choice(value: Any, problems: Problems) -> tuple[str, ...]:
    """The ticked opt-in extras (the "extras" checklist, untrusted JSON) in EXTRAS order: None or
    an empty list is none; unknown ids and anything that is not a list are reported and dropped."""
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append("the extras were not a list of optimizers; racing none")
        return ()
    unknown = [v for v in value if not (isinstance(v, str) and v in EXTRAS)]
    if unknown:
        problems.append(f"ignored unknown extras {', '.join(repr(v)[:30] for v in unknown[:3])}")
    return tuple(e for e in EXTRAS if e in value)


def seed_value(value: Any, problems: Problems) -> int:
    v = number(value)
    if v is None or v != int(v) or not 0 <= v <= MAX_SEED:
        if value is not None:
            problems.append("the noise seed was not a whole number; using 0")
        return 0
    return int(v)
