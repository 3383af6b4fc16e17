"""The user's examples, kept on the server's disk by their digest.

A small set travels with the page (the examples store holds its CSV, so a race request carries
it); a larger one is written here once, and the page holds only its model, digest and row count,
so a slider change does not send up to a megabyte again. The directory is shared by the worker
processes of one machine (`make serve`), private to the server's user (mode 0700, files 0600),
and written atomically (a temporary file, then a rename), so workers never read half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from surfaces import from_data
from surfaces.data import DataSurface, MODELS
from surfaces.examples_csv import read_examples

INLINE_LIMIT = 16_000  # characters of CSV the page holds itself
KEPT = 500  # files kept; the oldest go first
_DIGEST = re.compile(r"[0-9a-f]{32}")


@lru_cache(maxsize=1)
def directory() -> Path:
    """$XDG_CACHE_HOME (else ~/.cache)/optimizer-race/examples, or a private temporary directory."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    try:
        path = Path(base) / "optimizer-race" / "examples"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path
    except OSError:
        return Path(tempfile.mkdtemp(prefix="optimizer-race-examples-"))


@lru_cache(maxsize=16)
def examples_surface(model: str, text) -> DataSurface:
    """The data surface of the user's examples, `text` a CSV (str or bytes); ValueError, in plain
    words, for examples it cannot be built from. Cached: every race request asks for it."""
    x, y = read_examples(text, model)
    return from_data(model, x, y, id="upload",  # the surface menu's entry (controls.UPLOAD)
                     name=f"Your data ({MODELS[model].name}, {len(x)} examples)", source="your examples")


def digest(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()[:32]


def keep(model: str, text: str) -> str:
    """Write the checked examples under their digest (once) and return it."""
    key = digest(model, text)
    path = directory() / f"{key}.csv"
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=directory(), suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"{model}\n{text}")
        os.replace(temporary, path)
        _prune()
    return key


def load(key) -> tuple[str, str]:
    """(model, CSV) kept under `key`; ValueError when the key is not a digest or nothing is kept
    under it (another machine's, or pruned)."""
    if not (isinstance(key, str) and _DIGEST.fullmatch(key)):
        raise ValueError("the examples' key is not valid")
    try:
        model, _, text = (directory() / f"{key}.csv").read_text(encoding="utf-8").partition("\n")
    except OSError:
        raise ValueError("these examples are no longer on the server: upload them again") from None
    if digest(model, text) != key:
        raise ValueError("the examples kept on the server are damaged: upload them again")
    return model, text


def store_value(model: str, text: str) -> dict:
    """What the page's examples store holds for checked examples."""
    if len(text) <= INLINE_LIMIT:
        return {"model": model, "csv": text}
    return {"model": model, "digest": keep(model, text), "rows": len(text.splitlines()) - 1}


def _prune() -> None:
    files = sorted(directory().glob("*.csv"), key=lambda p: p.stat().st_mtime)
    for old in files[:-KEPT]:
        try:
            old.unlink()
        except OSError:
            pass
