"""Reading a user's uploaded or pasted CSV as the examples (x, y) of a two-parameter model.

    x, y = read_examples(content, "linear")        # content: str, or bytes from decode_upload
    content = decode_upload(upload_contents)        # dcc.Upload's "data:<mime>;base64,<payload>"
    text = examples_text(x, y, "logistic")          # the examples back as CSV text

What `read_examples` accepts:

* **Text**: a str, or bytes in UTF-8 (a leading UTF-8 byte-order mark is fine), at most
  `MAX_BYTES` bytes. No NUL characters. Unix, Windows or old Mac line endings.
* **Two columns per row**, separated by a comma, a semicolon, a tab, or a run of spaces. The
  separator is read off the first data row (a semicolon wins over a comma, a comma over a tab,
  and a line with none of them is split on runs of whitespace) and then holds for every row.
* **Numbers** written with the ASCII digits 0-9, an optional sign, a decimal point "." and an
  optional exponent (`-1.5e-3`); they may be wrapped in double quotes ("1.5"). Every number must
  be finite and lie within ±`MAX_MAGNITUDE`. Python's `float` accepts more (nan, inf,
  `1_000`, Arabic-Indic or fullwidth digits); none of those is a CSV number here.
* **Columns**: x and y for the "linear" model, x and a label that is exactly 0 or 1 for the
  "logistic" model, with both labels present.
* **An optional header row**: the first row is a header when neither of its two fields is a
  number ("petal_length,petal_width").
* Blank lines and lines starting with "#" are skipped. Between 2 and `MAX_ROWS` data rows, and x
  must not be the same in every row.

Anything else raises ValueError with one sentence for the user, naming the line (and column)
where that helps. No input raises any other exception.
"""

from __future__ import annotations

import base64
import binascii
import csv
import math
import re

import numpy as np

MAX_BYTES = 1_000_000  # 1 MB
MAX_ROWS = 10_000
MODELS = ("linear", "logistic")
# Examples are plotted and fitted at the scale of the app's maps; beyond this the loss surface of
# (slope, intercept) is dominated by a few huge values and shows nothing useful.
MAX_MAGNITUDE = 1e6
_MAGNITUDE_SHOWN = "1e6"  # MAX_MAGNITUDE as the messages write it

_NOT_TEXT = "this file is not text (binary data?): upload a CSV with two numeric columns"
_EMPTY = "the file is empty: upload or paste a CSV with two numeric columns"
_SECOND_COLUMN = {"linear": "x and y", "logistic": "x and a 0/1 label"}
_HEADER_LINE = {"linear": "x,y", "logistic": "x,label"}
_LONGEST_SHOWN_FIELD = 24  # characters of a bad field quoted back to the user
# A quoted section is skipped when looking for the separator, so `"length; cm",width` is a comma
# line. [^"]* cannot backtrack badly: the match is linear in the line's length.
_QUOTED = re.compile(r'"[^"]*"')
# "1,5" or "-12,75": a number written with a decimal comma.
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")


# -- public API ------------------------------------------------------------------------------------


def read_examples(content: str | bytes, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) float64 arrays of equal length from CSV text with two numeric columns: x and y
    (linear), or x and a 0/1 label (logistic). ValueError with one clear sentence for the user
    otherwise."""
    _check_model(model)
    text = _as_text(content)
    if not text.strip():
        raise ValueError(_EMPTY)

    xs: list[float] = []
    ys: list[float] = []
    separator = None  # read off the first data row
    first_row_seen = False
    # Only \n splits lines (after \r\n and \r became \n): str.splitlines would also split on
    # form feeds, \x1c-\x1e and U+2028, and the line numbers would no longer match an editor's.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for line_number, raw_line in enumerate(lines, start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if not first_row_seen:
            first_row_seen = True
            fields = _split(line, _separator_of(line), line_number)
            _check_column_count(fields, line_number, model)
            if not any(_meant_as_number(field) for field in fields):
                continue  # a header row: its names are not needed
        if separator is None:
            separator = _separator_of(line)
        if len(xs) == MAX_ROWS:
            raise ValueError(
                f"the file has more than {MAX_ROWS:,} rows of examples; the limit is {MAX_ROWS:,}"
            )
        fields = _split(line, separator, line_number)
        _check_column_count(fields, line_number, model)
        x_text, y_text = fields
        xs.append(_number(x_text, line_number, 1))
        if model == "logistic":
            ys.append(_label(y_text, line_number))
        else:
            ys.append(_number(y_text, line_number, 2))

    if len(xs) < 2:
        rows = "no rows" if not xs else "only 1 row"
        raise ValueError(f"the file has {rows} of examples; at least 2 are needed")
    x = np.array(xs, dtype=np.float64)
    y = np.array(ys, dtype=np.float64)
    if np.all(x == x[0]):
        raise ValueError(
            f"x is the same in every row ({_number_text(x[0])}): the slope cannot be fitted"
        )
    if model == "logistic" and np.all(y == y[0]):
        raise ValueError(
            f"every label is {_number_text(y[0])}: "
            "logistic regression needs examples of both classes"
        )
    return x, y


def decode_upload(contents: str) -> bytes:
    """The bytes of a dcc.Upload `contents` value ("data:<mime>;base64,<payload>"); ValueError
    (clear message) for anything else, and for a payload whose decoded size would exceed
    MAX_BYTES (checked from the base64 length before decoding, so a huge upload costs nothing)."""
    not_an_upload = "the upload could not be read: expected a file sent as a base64 data URL"
    if not isinstance(contents, str) or not contents.startswith("data:"):
        raise ValueError(not_an_upload)
    if contents == "data:":
        return b""  # browsers send an empty file as a bare "data:"
    comma = contents.find(",")
    if comma < 0 or not contents.endswith(";base64", 0, comma):
        raise ValueError(not_an_upload)

    # Every 4 base64 characters hold 3 bytes, less one per "=" of padding at the end. Measured
    # in place: a huge payload is neither copied nor decoded.
    payload_length = len(contents) - comma - 1
    padding = 2 if contents.endswith("==") else 1 if contents.endswith("=") else 0
    decoded_size = payload_length // 4 * 3 - padding
    if decoded_size > MAX_BYTES:
        raise ValueError(_too_large(f"{decoded_size:,}"))
    try:
        return base64.b64decode(contents[comma + 1 :], validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters in the payload
        raise ValueError("the upload could not be read: its base64 data is damaged") from None


def examples_text(x, y, model) -> str:
    """The examples back as CSV text with a header row ("x,y" or "x,label"), each number in the
    shortest text that reads back as exactly the same float, so
    read_examples(examples_text(x, y, m), m) returns equal arrays."""
    _check_model(model)
    try:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("x and y must be arrays of numbers") from None
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("x and y must be one-dimensional and of the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite numbers")
    rows = [_HEADER_LINE[model]]
    rows.extend(f"{_number_text(a)},{_number_text(b)}" for a, b in zip(x.tolist(), y.tolist()))
    return "\n".join(rows) + "\n"


# -- text ------------------------------------------------------------------------------------------


def _check_model(model) -> None:
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")


def _too_large(size: str) -> str:
    return f"the file is too large ({size} bytes); the limit is {MAX_BYTES:,} bytes (1 MB)"


def _as_text(content) -> str:
    """The content as str, after the size check (made first, on the UTF-8 bytes of the content)."""
    if isinstance(content, str):
        # Every character is at least one byte in UTF-8: a str this long is too large without
        # encoding it.
        if len(content) > MAX_BYTES:
            raise ValueError(_too_large(f"at least {len(content):,}"))
        # "surrogatepass" lets a lone surrogate through to the decoding below, which refuses it
        # like any other invalid UTF-8.
        content = content.encode("utf-8", "surrogatepass")
    elif not isinstance(content, bytes):
        raise ValueError("expected the CSV as text or bytes")
    if len(content) > MAX_BYTES:
        raise ValueError(_too_large(f"{len(content):,}"))
    try:
        text = content.decode("utf-8-sig")  # -sig: drops a leading byte-order mark
    except UnicodeDecodeError:
        raise ValueError(_NOT_TEXT) from None
    if "\x00" in text:  # UTF-16 files and binary formats are full of NUL bytes
        raise ValueError(_NOT_TEXT)
    return text


# -- rows ------------------------------------------------------------------------------------------


def _separator_of(line: str) -> str | None:
    """The separator of a (stripped, non-empty) line; None means runs of whitespace.

    A semicolon wins over a comma because semicolon files are the ones with decimal commas
    ("1,5;2,5"); a comma wins over a tab because "1,\t2" is a comma line with padding."""
    unquoted = _QUOTED.sub("", line) if '"' in line else line
    for separator in (";", ",", "\t"):
        if separator in unquoted:
            return separator
    return None


def _split(line: str, separator: str | None, line_number: int) -> list[str]:
    """The fields of a line; when there are two, stripped of whitespace and of one pair of
    enclosing double quotes."""
    if separator is None:
        fields = line.split()
    elif '"' in line:
        # The csv module only where quotes are, so that a quoted field may hold the separator.
        try:
            fields = next(csv.reader([line], delimiter=separator))
        except csv.Error:  # a field longer than the csv module's limit (NUL was refused before)
            raise ValueError(
                f"line {line_number} could not be read: a quoted field is far too long"
            ) from None
    else:
        fields = line.split(separator)
    if len(fields) != 2:
        return fields  # only their number matters, for the error; a million need no cleaning
    return [_unquoted(field.strip()) for field in fields]


def _unquoted(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].strip()
    return field


def _check_column_count(fields: list[str], line_number: int, model: str) -> None:
    if len(fields) != 2:
        columns = "1 column" if len(fields) == 1 else f"{len(fields)} columns"
        raise ValueError(
            f"line {line_number} has {columns}; each row needs exactly two: "
            f"{_SECOND_COLUMN[model]}"
        )


# -- numbers ---------------------------------------------------------------------------------------


def _meant_as_number(field: str) -> bool:
    """Whether the field is written as some kind of number: one Python's float reads, or one
    with a decimal comma. A first row with such a field is data (and gets a precise error if the
    field is no CSV number, like '١٢', 'nan' or '1,5'), not a header."""
    if _DECIMAL_COMMA.fullmatch(field):
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True


def _finite_number(field: str, where: str) -> float:
    """The finite float that the field writes as a CSV number, else ValueError."""
    if not field:
        raise ValueError(f"{where} is empty: each row needs two numbers")
    try:
        value = float(field)
    except ValueError:
        hint = " (the decimal point must be '.')" if _DECIMAL_COMMA.fullmatch(field) else ""
        raise ValueError(f"{where}: {_shown(field)} is not a number{hint}") from None
    # float() also reads digits of other scripts ('١٢', '１２') and Python's '1_000'.
    if not field.isascii():
        raise ValueError(f"{where}: {_shown(field)} is not a number (use the digits 0-9)")
    if "_" in field:
        raise ValueError(f"{where}: {_shown(field)} is not a number (write it without '_')")
    if not math.isfinite(value):  # nan, inf, and overflows such as 1e999
        raise ValueError(f"{where}: {_shown(field)} is not a finite number")
    return value


def _number(field: str, line_number: int, column: int) -> float:
    """The finite float within ±MAX_MAGNITUDE that the field writes, else ValueError."""
    value = _finite_number(field, f"line {line_number}, column {column}")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(
            f"line {line_number}, column {column}: {_shown(field)} is too large; values must "
            f"lie between -{_MAGNITUDE_SHOWN} and {_MAGNITUDE_SHOWN}, beyond which the loss "
            "surface is meaningless at the map's scale"
        )
    return value


def _label(field: str, line_number: int) -> float:
    """A logistic label: a number equal to 0 or 1 ("0", "1.0", "1e0"), else ValueError."""
    value = _finite_number(field, f"line {line_number}, column 2")
    if value not in (0.0, 1.0):
        raise ValueError(f"line {line_number}, column 2: the label {_shown(field)} must be 0 or 1")
    return 1.0 if value == 1.0 else 0.0  # "-0" is label 0 too, written back as "0"


def _shown(field: str) -> str:
    """The field quoted for a message, cut short if long."""
    if len(field) > _LONGEST_SHOWN_FIELD:
        field = field[: _LONGEST_SHOWN_FIELD - 1] + "…"
    return repr(field)


def _number_text(value: float) -> str:
    """The shortest text that reads back as exactly this float (repr), without a trailing
    '.0': "3" rather than "3.0"."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
