"""The exports' command line, `python -m webapp.export ...`: race the nine optimizers (and any
opt-in extras) on a built-in surface and write the race as HTML, CSV or JSON (formats.py).
Bad arguments exit with code 2 and a plain message, as argparse's own do."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optimizers import ALL_OPTIMIZERS, EXTRAS, HYPERPARAMETERS, MAX_STEPS, OPTIMIZERS, rollout
from surfaces import SURFACES, get_surface

from ..controls import EXPORT_VIEWS, HYPERPARAMETER_SLIDERS
from ..race import race_settings
from .formats import HP_SYMBOLS, race_csv, race_html, race_json

FORMATS = {"html": race_html, "csv": race_csv, "json": race_json}
# the shared hyperparameters, as the app's sliders; the learning rate's default is the surface's
SHARED = tuple(k for k in HYPERPARAMETER_SLIDERS if k != "lr")


def _override(text: str) -> tuple[str, str, float]:
    """`adam.lr=0.05` → ("adam", "lr", 0.05)."""
    target, sep, value = text.partition("=")
    oid, dot, key = target.strip().partition(".")
    if not (sep and dot and oid and key):
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form OPTIMIZER.HYPERPARAMETER=VALUE (e.g. adam.lr=0.05)")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    return oid, key.strip(), number


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m webapp.export",
        description="Run a race of the nine optimizers (and any opt-in extras) and export it as a "
        "self-contained HTML replay (works offline), CSV or JSON. Shared hyperparameters apply to "
        "every optimizer that has them, as the app's sliders do (AdaDelta keeps its own η = 1 and "
        "ε = 1e-6); --set overrides one optimizer.",
        epilog="example: python -m webapp.export --surface rosenbrock --lr 0.001 --steps 500 "
        "--set adam.lr=0.05 -o race.html",
    )
    p.add_argument("--surface", default="rosenbrock", choices=list(SURFACES), metavar="ID",
                   help=f"surface: {', '.join(SURFACES)} (default rosenbrock)")
    p.add_argument("--lr", type=float, help="shared learning rate η (default: the surface's)")
    for key in SHARED:
        default = next(o.defaults[key] for o in OPTIMIZERS.values() if key in o.defaults)
        p.add_argument(f"--{key}", type=float,
                       help=f"shared {HP_SYMBOLS[key]}, {HYPERPARAMETERS[key].label} (default {default:g})")
    p.add_argument("--set", dest="overrides", metavar="OPT.HP=VALUE", type=_override, action="append",
                   default=[], help="override one optimizer's hyperparameter, e.g. adam.lr=0.05, or a raced "
                   "extra's own, e.g. adamw.weight_decay=0.1 (repeatable)")
    p.add_argument("--steps", type=int, default=500, help="number of steps (default 500)")
    p.add_argument("--noise", type=float, default=0.0, help="gradient noise σ (default 0)")
    p.add_argument("--batch-size", type=int, default=16, help="mini-batch size B (default 16)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--hide", metavar="ID[,ID...]", action="append", default=[],
                   help="leave optimizers out of the file, as the app's checklist hides them "
                   f"(comma-separated, repeatable): {', '.join(OPTIMIZERS)}")
    p.add_argument("--extras", metavar="ID[,ID...]", action="append", default=[],
                   help="race opt-in extras besides the nine, as the app's Extras checklist does "
                   f"(comma-separated, repeatable): {', '.join(EXTRAS)}")
    p.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"), help="start point (default: the surface's)")
    p.add_argument("--view", choices=EXPORT_VIEWS, default="grid", help="HTML view to open in (default grid)")
    p.add_argument("--title", help="HTML page title")
    p.add_argument("--format", choices=list(FORMATS), help="html, csv or json (default: from the -o extension, else html)")
    p.add_argument("-o", "--output", help="file to write; - for standard output "
                   "(default optimizer-race-SURFACE.FORMAT)")
    return p


def _format_of(args) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output and args.output != "-" else ""
    return {"htm": "html", "html": "html", "csv": "csv", "json": "json"}.get(suffix, "html")


# -- the checks: parsed arguments → the race -----------------------------------------------------
# Everything the command line checks beyond argparse's types happens in race_arguments and the
# helper above it; the values' ranges (hyperparameters, noise, batch size) are rollout's to check.
def _ids(items: list[str], flag: str, what: str, allowed) -> list[str]:
    """The ids of a comma-separated, repeatable option, each one of `allowed`."""
    ids = [oid.strip() for item in items for oid in item.split(",") if oid.strip()]
    unknown = [oid for oid in ids if oid not in allowed]
    if unknown:
        raise ValueError(f"{flag} names an unknown {what} {unknown[0]!r}; choose from: {', '.join(allowed)}")
    return ids


def race_arguments(args) -> dict:
    """`rollout`'s keyword arguments for the race the parsed arguments describe: the nine but the
    hidden ones, then the named extras (in EXTRAS order). ValueError for bad values."""
    surface = get_surface(args.surface)
    shared = {"lr": surface.lr if args.lr is None else args.lr}
    shared.update({k: getattr(args, k) for k in SHARED if getattr(args, k) is not None})
    extras = _ids(args.extras, "--extras", "extra", EXTRAS)
    overrides: dict[str, dict[str, float]] = {}
    for oid, key, value in args.overrides:
        if oid not in ALL_OPTIMIZERS:
            raise ValueError(f"--set names an unknown optimizer {oid!r}; choose from: {', '.join(OPTIMIZERS)} "
                             f"(or a raced extra: {', '.join(EXTRAS)})")
        if oid in EXTRAS and oid not in extras:  # else race_settings would drop it without a word
            raise ValueError(f"--set names {oid!r}, an extra that is not raced: add --extras {oid}")
        overrides.setdefault(oid, {})[key] = value
    if not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"--steps must be between 1 and {MAX_STEPS}, not {args.steps}")
    start = surface.start if args.start is None else tuple(args.start)
    (x0, x1), (y0, y1) = surface.domain
    if not (x0 <= start[0] <= x1 and y0 <= start[1] <= y1):
        raise ValueError(f"--start {start[0]:g} {start[1]:g} is outside the map of {surface.name}: "
                         f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]")
    hidden = _ids(args.hide, "--hide", "optimizer", OPTIMIZERS)
    settings = race_settings(shared, overrides, extras)  # the nine, then the extras, in race order
    shown = [oid for oid in settings if oid not in hidden]
    if not shown:
        raise ValueError("--hide leaves no optimizer to race")
    # the race of the shown ones alone is the full race without the hidden rows (RolloutResult.only)
    return dict(surface=surface, start=start, steps=args.steps, settings=settings, optimizers=shown,
                noise=args.noise, batch_size=args.batch_size, seed=args.seed)


# -- running ---------------------------------------------------------------------------------------
def export(args) -> tuple[str, str]:
    """(text, format) of the race the parsed arguments describe; ValueError for bad values."""
    race = race_arguments(args)
    result = rollout(**race)
    fmt = _format_of(args)
    if fmt == "html":
        return race_html(result, race["surface"], view=args.view, title=args.title), fmt
    return FORMATS[fmt](result, race["surface"]), fmt


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # bad arguments: usage and exit code 2
    try:
        text, fmt = export(args)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    output = args.output or f"optimizer-race-{args.surface}.{fmt}"
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as err:
        parser.exit(1, f"{parser.prog}: error: cannot write {output}: {err.strerror or err}\n")
    size = len(text.encode("utf-8"))
    print(f"wrote {output} ({size / 1e6:.2f} MB, {fmt})", file=sys.stderr)
    return 0
