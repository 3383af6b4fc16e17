"""Exports of a race: CSV and JSON (everything needed to reproduce it) and one self-contained HTML
file that replays it offline, the JSON re-import, and a command line:

    python -m webapp.export --surface rosenbrock --lr 0.001 --steps 500 -o race.html
    python -m webapp.export --surface ravine --set adam.lr=0.05 --format json -o race.json
    python -m webapp.export --surface rosenbrock --hide sgd,minibatch_sgd -o race.csv
    python -m webapp.export --surface rosenbrock --extras adamw --set adamw.weight_decay=0.1 -o race.json

formats.py   race_csv, race_record / race_json (the JSON schema is in its docstring), race_html
             (templates/race.html.j2 and the files beside it)
reimport.py  rollout_from_json: a JSON file back to the race, re-run bit for bit
cli.py       the command line (main), run by __main__.py
"""

from .cli import export, main
from .formats import (
    APP_NAME, CSV_COLUMNS, CSV_FORMAT, EXTRA_HP_KEYS, FORMAT, HP_KEYS, HP_SYMBOLS, app_version, formula_text,
    hp_keys, race_csv, race_html, race_json, race_record, settings_summary,
)
from .reimport import rollout_from_json, surface_from_record

__all__ = [
    "APP_NAME", "CSV_COLUMNS", "CSV_FORMAT", "EXTRA_HP_KEYS", "FORMAT", "HP_KEYS", "HP_SYMBOLS", "app_version",
    "export", "formula_text", "hp_keys", "main", "race_csv", "race_html", "race_json", "race_record",
    "rollout_from_json", "settings_summary", "surface_from_record",
]
