"""surfaces/examples_csv.py: reading a user's CSV as the examples of a two-parameter model."""

import base64
import random

import numpy as np
import pytest

from surfaces.examples_csv import (
    MAX_BYTES,
    MAX_ROWS,
    MODELS,
    decode_upload,
    examples_text,
    read_examples,
)

LINEAR_X = [1.0, 2.5, -3.0]
LINEAR_Y = [2.0, -0.5, 4.25]


def assert_examples(result, x, y):
    got_x, got_y = result
    assert got_x.dtype == np.float64 and got_y.dtype == np.float64
    assert got_x.tolist() == x
    assert got_y.tolist() == y


def error_of(content, model="linear") -> str:
    with pytest.raises(ValueError) as raised:
        read_examples(content, model)
    return str(raised.value)


def data_url(payload: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(payload).decode("ascii")


# -- files that are read ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "1,2\n2.5,-0.5\n-3,4.25\n",  # comma
        "1;2\n2.5;-0.5\n-3;4.25\n",  # semicolon
        "1\t2\n2.5\t-0.5\n-3\t4.25\n",  # tab
        "1 2\n2.5   -0.5\n  -3  4.25  \n",  # runs of spaces
        "1, 2\n2.5 ,-0.5\n -3 , 4.25\n",  # spaces around commas
        "1,\t2\n2.5,-0.5\n-3,4.25\n",  # a comma with a tab after it is still a comma line
        "x,y\n1,2\n2.5,-0.5\n-3,4.25\n",  # header
        "petal_length;petal_width\n1;2\n2.5;-0.5\n-3;4.25",  # header, no final newline
        '"x","y"\n"1","2"\n"2.5","-0.5"\n"-3","4.25"\n',  # quoted header and numbers
        ' "1" ; "2" \n2.5;"-0.5"\n-3;4.25\n',  # quotes with spaces around them
        "\ufeffx,y\n1,2\n2.5,-0.5\n-3,4.25\n",  # a byte-order mark in a str
        "x,y\r\n1,2\r\n2.5,-0.5\r\n-3,4.25\r\n",  # Windows line endings
        "x,y\r1,2\r2.5,-0.5\r-3,4.25\r",  # old Mac line endings
        "# iris, measured by hand\n\nx,y\n# first\n1,2\n\n   \n2.5,-0.5\n  # indented\n-3,4.25\n",
        "1e0,2E0\n+2.5,-5e-1\n-3.,4.25\n",  # exponents, signs, a trailing point
        "1,2\n2.5,-0.5\n-3,4.25\n\n\n",  # blank lines at the end
        "x y\n1,2\n2.5,-0.5\n-3,4.25\n",  # the data's separator comes from its first row
        "1 2\n2.5\t-0.5\n-3 \t 4.25\n",  # a space file may hold tabs too
    ],
)
def test_good_linear_files(content):
    assert_examples(read_examples(content, "linear"), LINEAR_X, LINEAR_Y)


def test_bytes_in_utf8_with_or_without_a_bom():
    text = "# é, ü: fine in a comment\nx,y\n1,2\n2.5,-0.5\n-3,4.25\n"
    assert_examples(read_examples(text.encode("utf-8"), "linear"), LINEAR_X, LINEAR_Y)
    bom = b"\xef\xbb\xbf" + text.encode("utf-8")
    assert_examples(read_examples(bom, "linear"), LINEAR_X, LINEAR_Y)


def test_a_quoted_field_may_hold_the_separator():
    # Only its number is wrong: the quotes keep it one field, so the message names it.
    message = error_of('x,y\n"1,5","2"\n3,4\n')
    assert message == "line 2, column 1: '1,5' is not a number (the decimal point must be '.')"
    # A separator inside a quoted header does not decide the separator.
    assert_examples(read_examples('"length; cm",width\n1,2\n3,4\n', "linear"), [1, 3], [2, 4])


def test_logistic_labels():
    content = "hours,passed\n0.5,0\n1.5,0\n2,1.0\n3,1\n4,1e0\n5,-0\n"
    x, y = read_examples(content, "logistic")
    assert x.tolist() == [0.5, 1.5, 2, 3, 4, 5]
    assert y.tolist() == [0, 0, 1, 1, 1, 0]


def test_extreme_values_within_the_bounds():
    content = "1e6,-1e6\n-1000000,1000000.0\n5e-324,1e-300\n"
    x, y = read_examples(content, "linear")
    assert x.tolist() == [1e6, -1e6, 5e-324]
    assert y.tolist() == [-1e6, 1e6, 1e-300]


# -- round trip ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_examples_text_round_trips_exactly(model):
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.normal(scale=10.0, size=200),
        rng.uniform(-1e6, 1e6, size=50),
        [1e6, -1e6, 0.1, 1 / 3, 5e-324, -0.0, 123456.789, 2.0**-40, 3e-20],
    ])
    if model == "logistic":
        y = (rng.uniform(size=x.size) < 0.5).astype(float)
    else:
        y = rng.normal(size=x.size) * 10.0 ** rng.integers(-12, 6, size=x.size)
    text = examples_text(x, y, model)
    assert text.splitlines()[0] == ("x,label" if model == "logistic" else "x,y")
    got_x, got_y = read_examples(text, model)
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)
    # Bit for bit too, -0.0 included (a label -0.0 reads back as label 0).
    assert got_x.tobytes() == x.tobytes()
    if model == "linear":
        assert got_y.tobytes() == y.tobytes()


def test_examples_text_writes_short_numbers():
    x = [1.0, 2.5, 0.1, 1e-5, 3e-20, -1e6]
    text = examples_text(x, [0.0, 1.0, 1.0, 0.0, 1.0, 0.0], "logistic")
    assert text == "x,label\n1,0\n2.5,1\n0.1,1\n1e-05,0\n3e-20,1\n-1000000,0\n"
    assert read_examples(text, "logistic")[0].tolist() == x


@pytest.mark.parametrize(
    "x, y, model, expected",
    [
        ([1, 2], [1, 2], "quadratic", "unknown model 'quadratic'; choose one of: linear, logistic"),
        ([1, 2], [1], "linear", "the same length"),
        ([[1, 2]], [[1, 2]], "linear", "one-dimensional"),
        ([1, float("nan")], [1, 2], "linear", "finite"),
        (["a", "b"], [1, 2], "linear", "arrays of numbers"),
    ],
)
def test_examples_text_refuses(x, y, model, expected):
    with pytest.raises(ValueError, match=expected):
        examples_text(x, y, model)


# -- files that are refused, each with its message -------------------------------------------------


@pytest.mark.parametrize(
    "content, model, expected",
    [
        (b"\xff\xfe1\x00,\x002\x00", "linear", "this file is not text (binary data?)"),  # UTF-16
        (b"\x89PNG\r\n\x1a\n\x00\x00", "linear", "this file is not text (binary data?)"),
        (b"1,2\n3,\xe94\n", "linear", "this file is not text"),  # Latin-1, not UTF-8
        (b"1,2\n3,4\x00\n", "linear", "this file is not text"),  # valid UTF-8, but a NUL
        ("1,2\n3,4\x00", "linear", "this file is not text"),
        ("1,2\n3,\ud8004", "linear", "this file is not text"),  # a lone surrogate
        ("", "linear", "the file is empty: "),
        (b"", "linear", "the file is empty: "),
        (" \n\t\r\n  ", "linear", "the file is empty: "),
        ("\ufeff", "linear", "the file is empty: "),
        (
            "1,2\n3,4,5\n6,7\n",
            "linear",
            "line 2 has 3 columns; each row needs exactly two: x and y",
        ),
        ("x\n1\n", "linear", "line 1 has 1 column; each row needs exactly two: x and y"),
        (
            "1,0\n2\n",
            "logistic",
            "line 2 has 1 column; each row needs exactly two: x and a 0/1 label",
        ),
        ("1;2\n3,4\n", "linear", "line 2 has 1 column;"),  # the separator is the first row's
        ("1,2\n\n# note\n3,4,\n", "linear", "line 4 has 3 columns"),  # physical line numbers
        ("1,2\r\n3,4\r\n5 6\r\n", "linear", "line 3 has 1 column"),
        ("1,2\n3,abc\n", "linear", "line 2, column 2: 'abc' is not a number"),
        ("x,y\n1,2\n3,4\n4,y\n", "linear", "line 4, column 2: 'y' is not a number"),
        ("x,1\n2,3\n", "linear", "line 1, column 1: 'x' is not a number"),  # half a header
        ("1,2\n3,\n", "linear", "line 2, column 2 is empty"),
        ('1,2\n"",3\n', "linear", "line 2, column 1 is empty"),
        ("1,2\nnan,3\n", "linear", "line 2, column 1: 'nan' is not a finite number"),
        ("1,2\n3,-inf\n", "linear", "line 2, column 2: '-inf' is not a finite number"),
        ("1,2\n3,Infinity\n", "linear", "line 2, column 2: 'Infinity' is not a finite number"),
        ("1,2\n1e999,3\n", "linear", "line 2, column 1: '1e999' is not a finite number"),
        ("1,2\n1_000,3\n", "linear", "line 2, column 1: '1_000' is not a number"),
        ("1,2\n٣,4\n", "linear", "line 2, column 1: '٣' is not a number (use the digits 0-9)"),
        ("١٢,٣\n1,2\n3,4\n", "linear", "line 1, column 1: '١٢' is not a number"),
        ("1,2\n3,４\n", "linear", "line 2, column 2: '４' is not a number (use the digits 0-9)"),
        ("1;2\n3;4,5\n", "linear", "line 2, column 2: '4,5' is not a number (the decimal point"),
        ("1,2\n0x10,3\n", "linear", "line 2, column 1: '0x10' is not a number"),
        ("1,2\n3,4 # four\n", "linear", "line 2, column 2: '4 # four' is not a number"),
        ("1,2\n3," + "7" * 400 + "x\n", "linear", "line 2, column 2: '77777777777777777777777…'"),
        ("1,2\n2e6,3\n", "linear", "line 2, column 1: '2e6' is too large; values must lie "
                                   "between -1e6 and 1e6"),
        ("1,2\n3,-1000000.5\n", "linear", "line 2, column 2: '-1000000.5' is too large"),
        ("x,y\n", "linear", "the file has no rows of examples; at least 2 are needed"),
        ("# only a comment\n", "linear", "the file has no rows of examples"),
        ("x,y\n1,2\n", "linear", "the file has only 1 row of examples; at least 2 are needed"),
        ("2,1\n2,5\n2.0,7\n", "linear",
         "x is the same in every row (2): the slope cannot be fitted"),
        ("0.5,0\n0.5,1\n", "logistic", "x is the same in every row (0.5)"),
        ("1,0\n2,2\n", "logistic", "line 2, column 2: the label '2' must be 0 or 1"),
        ("1,0\n2,0.5\n", "logistic", "line 2, column 2: the label '0.5' must be 0 or 1"),
        ("1,0\n2,-1\n", "logistic", "line 2, column 2: the label '-1' must be 0 or 1"),
        ("1,0\n2,2e6\n", "logistic", "line 2, column 2: the label '2e6' must be 0 or 1"),
        ("1,0\n2,true\n", "logistic", "line 2, column 2: 'true' is not a number"),
        ("1,0\n2,nan\n", "logistic", "line 2, column 2: 'nan' is not a finite number"),
        ("1,0\n2,0\n3,0.0\n", "logistic",
         "every label is 0: logistic regression needs examples of both classes"),
        ("1,1\n2,1\n", "logistic", "every label is 1: logistic regression needs examples"),
        ("1,2\n3,4\n", "quadratic", "unknown model 'quadratic'; choose one of: linear, logistic"),
        ("1,2\n3,4\n", None, "unknown model None"),
        (None, "linear", "expected the CSV as text or bytes"),
        (123, "linear", "expected the CSV as text or bytes"),
        (bytearray(b"1,2\n3,4"), "linear", "expected the CSV as text or bytes"),
    ],
)
def test_refused_files(content, model, expected):
    message = error_of(content, model)
    assert expected in message
    assert "\n" not in message


def test_the_model_is_checked_before_the_content():
    assert "unknown model" in error_of(b"\x00\x01", "ridge")


def test_a_header_only_on_the_first_row():
    assert "line 3, column 1: 'x' is not a number" in error_of("x,y\n1,2\nx,y\n3,4\n")


# -- limits ----------------------------------------------------------------------------------------


def file_of_size(size: int, filler: str = "a") -> str:
    """A good CSV whose UTF-8 encoding is exactly `size` bytes, padded by a comment."""
    head = "x,y\n1,2\n3,4\n#"
    padding_bytes = size - len(head.encode("utf-8")) - 1  # - 1: the final newline
    filler_bytes = len(filler.encode("utf-8"))
    assert padding_bytes % filler_bytes == 0
    text = head + filler * (padding_bytes // filler_bytes) + "\n"
    assert len(text.encode("utf-8")) == size
    return text


@pytest.mark.parametrize("as_bytes", [False, True])
def test_size_limit_exactly_at_and_one_over(as_bytes):
    at_limit = file_of_size(MAX_BYTES)
    over = file_of_size(MAX_BYTES + 1)
    if as_bytes:
        at_limit, over = at_limit.encode("utf-8"), over.encode("utf-8")
    assert_examples(read_examples(at_limit, "linear"), [1, 3], [2, 4])
    message = error_of(over)
    assert "the file is too large" in message and "the limit is 1,000,000 bytes (1 MB)" in message


def test_size_is_measured_in_utf8_bytes_not_characters():
    at_limit = file_of_size(MAX_BYTES, filler="é")  # 2 bytes a character
    assert_examples(read_examples(at_limit, "linear"), [1, 3], [2, 4])
    over = file_of_size(MAX_BYTES + 2, filler="é")
    assert len(over) < MAX_BYTES  # characters
    assert "the file is too large (1,000,002 bytes)" in error_of(over)


def test_size_is_checked_first():
    # Far too large and not text either: the size is what the user hears about.
    assert "too large" in error_of(b"\x00" * (MAX_BYTES + 1))
    assert "too large (at least 2,000,000 bytes)" in error_of("\x00" * (2 * MAX_BYTES))


def rows_text(count: int, header: bool = True) -> str:
    rows = [f"{i},{i % 7}" for i in range(count)]
    return ("x,y\n" if header else "") + "\n".join(rows) + "\n"


@pytest.mark.parametrize("header", [False, True])
def test_row_limit_exactly_at_and_one_over(header):
    x, y = read_examples(rows_text(MAX_ROWS, header), "linear")
    assert len(x) == len(y) == MAX_ROWS and x[-1] == MAX_ROWS - 1
    message = error_of(rows_text(MAX_ROWS + 1, header))
    assert message == "the file has more than 10,000 rows of examples; the limit is 10,000"


def test_comments_and_blank_lines_are_not_rows():
    content = "# note\n\n" * 1000 + rows_text(MAX_ROWS)
    assert len(read_examples(content, "linear")[0]) == MAX_ROWS


def test_ten_thousand_rows_read_back_exactly():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=MAX_ROWS), rng.normal(size=MAX_ROWS)
    read_x, read_y = read_examples(examples_text(x, y, "linear"), "linear")
    assert read_x.tobytes() == x.tobytes() and read_y.tobytes() == y.tobytes()


@pytest.mark.parametrize(
    "content, expected",
    [
        ("1" + "," * (MAX_BYTES - 1), f"line 1 has {MAX_BYTES} columns"),
        ("1 " * (MAX_BYTES // 2), f"line 1 has {MAX_BYTES // 2} columns"),
        ("1," + "9" * (MAX_BYTES - 2), "line 1, column 2: '99999999999999999999999…' is not a "
                                         "finite number"),
        ('1,"' + "9" * (MAX_BYTES - 4) + '"', "line 1 could not be read: a quoted field"),
        ("1,2\n" + "0" * (MAX_BYTES - 10) + "1,3\n", "x is the same"),  # 1, then 000…001
        ("\n" * MAX_BYTES, "the file is empty"),
        ("#\n" * (MAX_BYTES // 2), "the file has no rows of examples"),
    ],
)
def test_pathological_files_get_their_message(content, expected):
    assert expected in error_of(content)


# -- decode_upload ---------------------------------------------------------------------------------


def test_decode_upload_returns_the_file_bytes():
    content = "x,y\n1,2\n3,4\n".encode("utf-8")
    assert decode_upload(data_url(content)) == content
    assert decode_upload(data_url(content, "application/vnd.ms-excel")) == content
    assert decode_upload(data_url(content, "text/csv;charset=utf-8")) == content
    assert decode_upload(data_url(content, "")) == content
    assert decode_upload("data:") == b""  # how a browser sends an empty file
    assert decode_upload("data:text/csv;base64,") == b""
    assert read_examples(decode_upload(data_url(content)), "linear")[1].tolist() == [2, 4]


def test_decode_upload_size_limit_exactly_at_and_one_over():
    for size in (MAX_BYTES - 2, MAX_BYTES - 1, MAX_BYTES):  # every amount of padding
        assert len(decode_upload(data_url(b"1" * size))) == size
    for size in (MAX_BYTES + 1, MAX_BYTES + 2, MAX_BYTES + 3):
        with pytest.raises(ValueError, match=f"too large \\({size:,} bytes\\)"):
            decode_upload(data_url(b"1" * size))


def test_decode_upload_checks_the_size_before_decoding():
    # Not base64 at all: decoding would fail, so "too large" proves nothing was decoded.
    huge = "data:text/csv;base64," + "!" * (10 * MAX_BYTES)
    with pytest.raises(ValueError, match="the file is too large"):
        decode_upload(huge)


@pytest.mark.parametrize(
    "contents, expected",
    [
        (None, "expected a file sent as a base64 data URL"),
        (b"data:text/csv;base64,MSwy", "expected a file sent as a base64 data URL"),
        ("", "expected a file sent as a base64 data URL"),
        ("1,2\n3,4\n", "expected a file sent as a base64 data URL"),
        ("MSwyCjMsNAo=", "expected a file sent as a base64 data URL"),
        ("data:text/csv,1,2", "expected a file sent as a base64 data URL"),  # not base64
        ("data:text/csv;base64", "expected a file sent as a base64 data URL"),
        ("DATA:text/csv;base64,MSwy", "expected a file sent as a base64 data URL"),
        ("data:text/csv;base64,MSw", "its base64 data is damaged"),  # length not a multiple of 4
        ("data:text/csv;base64,MS*y", "its base64 data is damaged"),
        ("data:text/csv;base64,MS wy", "its base64 data is damaged"),
        ("data:text/csv;base64,MSé=", "its base64 data is damaged"),
        ("data:text/csv;base64,====", "its base64 data is damaged"),
    ],
)
def test_decode_upload_refuses(contents, expected):
    with pytest.raises(ValueError, match=expected):
        decode_upload(contents)


# -- fuzz ------------------------------------------------------------------------------------------

_INTERESTING = list("0123456789.,;\t \"#\n\r-+eE_xnaif") + [
    "\x00", "\ufeff", "\u00a0", "\u2028", "\x0c", "\x1c", "é", "٣", "４", "\ud800", "1e999",
    "nan", "inf", "1_0", ",,,,", "\r\n", '"1,5"', "1e6", "-0", "𝟙",
]


def mutated(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        where = rng.randint(0, len(chars))
        action = rng.random()
        if action < 0.4:
            chars.insert(where, rng.choice(_INTERESTING))
        elif action < 0.7 and where < len(chars):
            del chars[where]
        elif where < len(chars):
            chars[where] = rng.choice(_INTERESTING)
    return "".join(chars)


def fuzz_inputs(seed: int = 20240611):
    rng = random.Random(seed)
    good = [
        "x,y\n1,2\n2.5,-0.5\n-3,4.25\n",
        "1;0\n2;1\n3;0\n4;1\n",
        "# c\n1\t1\n2\t0\n",
        '"a","b"\n"1","0"\n"2","1"\n',
        "1 0\r\n2 1\r\n3 1\r\n",
    ]
    for _ in range(150):  # random bytes: mostly not UTF-8
        yield bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
    for _ in range(100):  # random bytes from a CSV-ish alphabet
        yield bytes(rng.choice(b"0123456789.,;\t \n\r-e\"#") for _ in range(rng.randint(0, 300)))
    for _ in range(100):  # random code points, surrogates included
        yield "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 60)))
    for _ in range(300):  # mutated good files, as str and as bytes
        text = mutated(rng.choice(good), rng)
        yield text
        yield text.encode("utf-8", "surrogatepass")
    yield "1," * 5_000 + "\n2,3"  # a long line
    yield ("1,0\n" + "2," * 100_000)[:MAX_BYTES]


@pytest.mark.parametrize("model", MODELS)
def test_fuzz_only_value_error_or_valid_examples(model):
    accepted = 0
    for content in fuzz_inputs():
        try:
            x, y = read_examples(content, model)
        except ValueError as error:
            message = str(error)
            assert message and "\n" not in message, repr(content)
            continue
        except Exception as error:  # noqa: BLE001 - anything but ValueError is the failure
            pytest.fail(f"{type(error).__name__}: {error} for {content!r}")
        accepted += 1
        assert x.dtype == y.dtype == np.float64 and x.shape == y.shape and x.ndim == 1
        assert 2 <= len(x) <= MAX_ROWS
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
        assert np.all(np.abs(x) <= 1e6) and np.all(np.abs(y) <= 1e6)
        assert not np.all(x == x[0])
        if model == "logistic":
            assert set(y.tolist()) == {0.0, 1.0}
        # What was accepted round-trips.
        again = read_examples(examples_text(x, y, model), model)
        assert np.array_equal(again[0], x) and np.array_equal(again[1], y)
    assert accepted > 20  # the mutations leave enough good files to test the accepted path


def test_fuzz_decode_upload_only_value_error():
    rng = random.Random(5)
    good = data_url(b"x,y\n1,2\n3,4\n")
    for _ in range(300):
        contents = mutated(good, rng)
        try:
            result = decode_upload(contents)
        except ValueError:
            continue
        assert isinstance(result, bytes) and len(result) <= MAX_BYTES
