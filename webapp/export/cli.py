"""The exports' command line, `python -m webapp.export ...`: race the nine optimizers (and any
opt-in extras) on a built-in surface and write the race as HTML, CSV or JSON (formats.py).
Bad arguments exit with code 2 and a plain message, as argparse's own do."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from optimizers import EXTRAS, HYPERPARAMETERS, OPTIMIZERS, rollout
from surfaces import SURFACES

from ..controls import EXPORT_VIEWS, HYPERPARAMETER_SLIDERS, SLIDERS, Problems
from ..state import RaceState, parse
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


def _slider_value(slider_id: str):
    """An argparse type: a number the slider's scale can hold (a value beyond the slider's ends
    is then moved onto them, with a note, as in the app)."""
    slider = SLIDERS[slider_id]

    def read(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = None
        if not slider.usable(value) or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a usable {slider.label.lower()}")
        return value

    return read


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
    p.add_argument("--lr", type=_slider_value("lr"),
                   help=f"shared learning rate η, {SLIDERS['lr'].range_text} (default: the surface's)")
    for key in SHARED:
        default = next(o.defaults[key] for o in OPTIMIZERS.values() if key in o.defaults)
        p.add_argument(f"--{key}", type=_slider_value(key), help=f"shared {HP_SYMBOLS[key]}, "
                       f"{HYPERPARAMETERS[key].label}, {SLIDERS[key].range_text} (default {default:g})")
    p.add_argument("--set", dest="overrides", metavar="OPT.HP=VALUE", type=_override, action="append",
                   default=[], help="override one optimizer's hyperparameter, e.g. adam.lr=0.05, or a raced "
                   "extra's own, e.g. adamw.weight_decay=0.1 (repeatable)")
    p.add_argument("--steps", type=_slider_value("steps"), default=500,
                   help=f"number of steps, {SLIDERS['steps'].range_text} (default 500)")
    p.add_argument("--noise", type=_slider_value("noise"), default=0.0,
                   help=f"gradient noise σ, {SLIDERS['noise'].range_text} (default 0)")
    p.add_argument("--batch-size", type=_slider_value("batch"), default=16,
                   help=f"mini-batch size B, {SLIDERS['batch'].range_text} (default 16)")
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


# -- parsed arguments → the race --------------------------------------------------------------------
# The arguments are the app's controls by other means: they go through the same check as the
# page's values and a link's (webapp.state.parse), so a value out of a slider's range or a start
# off the map is handled exactly as in the app, and said (on standard error).
def _ids(items: list[str]) -> list[str]:
    return [oid.strip() for item in items for oid in item.split(",") if oid.strip()]


def race_state(args, problems: Problems) -> RaceState:
    """The race state the parsed arguments describe (what had to change is added to `problems`);
    ValueError for a --set of an extra that is not raced."""
    raw = {"surface": args.surface, "extras": _ids(args.extras), "seed": args.seed,
           "visible": [o for o in OPTIMIZERS if o not in _ids(args.hide)]}
    unknown = [o for o in _ids(args.hide) if o not in OPTIMIZERS]
    if unknown:
        problems.append(f"--hide: ignored unknown optimizers {', '.join(map(repr, unknown[:3]))}; "
                        f"choose from: {', '.join(OPTIMIZERS)}")
    values = {"lr": args.lr, **{k: getattr(args, k) for k in SHARED}, "steps": args.steps, "noise": args.noise,
              "batch": args.batch_size}
    for sid, value in values.items():
        if value is not None:
            raw[sid] = SLIDERS[sid].unclamped_position(value)  # positive by the arguments' types
    if args.start is not None:
        raw["start"] = list(args.start)
    overrides: dict[str, dict[str, float]] = {}
    for oid, key, value in args.overrides:
        if oid in EXTRAS and oid not in raw["extras"]:  # the app would drop it without a word
            raise ValueError(f"--set names {oid!r}, an extra that is not raced: add --extras {oid}")
        overrides.setdefault(oid, {})[key] = value
    raw["overrides"] = overrides
    return parse(raw, problems)[0]


def export(args, problems: Problems | None = None) -> tuple[str, str]:
    """(text, format) of the race the parsed arguments describe; ValueError when there is nothing
    to race."""
    state = race_state(args, Problems() if problems is None else problems)
    shown = [o for o in OPTIMIZERS if o not in state.hidden] + list(state.extras)
    if not shown:
        raise ValueError("--hide leaves no optimizer to race")
    # the full race without the hidden rows is the race of the shown ones (RolloutResult.only)
    result, surface = rollout(**state.race_key().rollout_arguments()).only(shown), state.surface_model
    fmt = _format_of(args)
    if fmt == "html":
        return race_html(result, surface, view=args.view, title=args.title), fmt
    return FORMATS[fmt](result, surface), fmt


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # bad arguments: usage and exit code 2
    problems = Problems()
    try:
        text, fmt = export(args, problems)
    except ValueError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    for problem in problems:
        print(f"{parser.prog}: note: {problem}", file=sys.stderr)
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
