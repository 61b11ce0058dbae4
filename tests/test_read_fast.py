"""read_data's fast CSV path (pandas' C engine) against the csv-module path.

Every file is read twice: as ``read_data`` reads it (the fast path where the
byte scan allows it) and with the fast path switched off. The two must give the
same frame (values, dtypes, index, report) or the same ``DataError`` message.
Where a file is plain, the fast path must be the one taken: there the csv path
is made to fail, so that a silent fallback would fail the test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpeval
from cpeval._format import is_missing
from cpeval.io import ReadReport, _csv_fast, _read, read_data

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _outcome(path: Path, **options) -> pd.DataFrame | str:
    try:
        return read_data(path, **options)
    except cpeval.DataError as exc:
        return str(exc)


def _slow(path: Path, **options) -> pd.DataFrame | str:
    """The outcome with the fast path switched off (the csv module reads)."""
    with mock.patch.object(_read, "_fast_text", return_value=None):
        return _outcome(path, **options)


def _fast_only(path: Path, **options) -> pd.DataFrame | str:
    """The outcome when the csv path is not allowed to run."""
    refuse = AssertionError("the csv path was taken")
    with mock.patch.object(_read, "_csv_text", side_effect=refuse):
        return _outcome(path, **options)


def _assert_same(fast: pd.DataFrame | str, slow: pd.DataFrame | str) -> None:
    if isinstance(slow, str):
        assert fast == slow
        return
    assert not isinstance(fast, str), fast
    pd.testing.assert_frame_equal(fast, slow, check_dtype=True, check_exact=True)
    assert fast.attrs == slow.attrs
    for column in slow.columns:
        ours, theirs = fast[column].to_numpy(), slow[column].to_numpy()
        if theirs.dtype.kind == "f":  # -0.0 and 0.0 compare equal
            assert np.array_equal(np.signbit(ours), np.signbit(theirs)), column
        else:
            assert [type(v) for v in ours] == [type(v) for v in theirs], column


def _check(path: Path, fast: bool, **options) -> pd.DataFrame | str:
    """Both paths agree; ``fast``: the fast path is the one taken."""
    slow = _slow(path, **options)
    result = _fast_only(path, **options) if fast else _outcome(path, **options)
    _assert_same(result, slow)
    if not fast:  # the fast path must decline, not merely agree
        with pytest.raises(AssertionError, match="csv path was taken"):
            _fast_only(path, **options)
    return result


def _write(folder: Path, data: bytes | str, name: str = "a.csv") -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ------------------------------------------------------------ written by hand

FAST = [
    ("plain", "id,age,q1\nP1,34,1\nP2,-99,2\nP3,51,\n"),
    ("crlf", "id,x\r\nP1,1.5\r\nP2,2\r\n"),
    ("crlf and lf mixed", "id,x\r\nP1,1.5\nP2,2\r\n"),
    ("no final line break", "id,x\nP1,1\nP2,2"),
    ("bom", "\ufeffid,x\nP1,1\n"),
    ("bom at a data line", "id,x\n\ufeffP1,1\n\ufeff2,3\n"),
    ("na strings", "a,b,c\nNA,1,x\n N/A ,null,NULL\n.,2,nan\nNaN, ,y\n"),
    ("na strings only", "a,b\nNA,.\n,null\n"),
    ("text in a number column", "a,b\n1,2\nx,3\n4,5\n"),
    ("numbers with spaces", "a,b\n 1 ,2\n\t3,4 \n"),
    (
        "odd numbers",
        "a,b,c,d\n+5,.5,1e5,inf\n-0,5.,1E-3,-Infinity\n0005,-.5,1e400,iNf\n",
    ),
    ("nan spellings", "a,b\nNAN,1\n-nan,2\n"),
    ("booleans", "a,b,c\nTrue,1,TRUE\nfalse,2,x\n"),
    ("huge integers", "a,b\n18446744073709551616,-9223372036854775809\n1,2\n"),
    ("uint64", "a\n18446744073709551615\n1\n"),
    ("long decimals", "a\n0.1234567890123456789012345\n1.7976931348623159e308\n"),
    ("blank lines", "\n\na,b\n\n1,2\n,\n \t \n3,4\n\n\n"),
    ("comma-only line", "a,b,c\n1,2,3\n,,\n4,5,6\n"),
    ("short blank lines", "a,b,c\n1,2,3\n,\n\n4,5,6\n"),
    ("one column", "a\n1\n\n2\n"),
    ("semicolon", "a;b\n1;x\n2;y\n"),
    ("bar", "a|b\n1|x\n2|y\n"),
    ("control characters", "a,b\n" + "10,20\n" * 30 + "1\x1c,x\x1ay\n\x0b2,\x1fz\n"),
    ("unicode line separators", "a,b\n1,x\u2028y\n2,z\x85\n"),
    ("non-ascii white space", "a,b\n1\xa0,\u3000x\n\u20002,y\u2029\n"),
    ("accents", "id,team\n1,\u00c9quipe Nord\n2,Z\u00fcrich\n"),
    ("padded header", " a , b \n1,2\n"),
    ("all missing column", "a,b\n1,\n2,NA\n"),
    ("only some rows", "a,b\n1,2\n3,4\n5,6\n7,8\n"),
    ("quoted cells", 'a,b\n1,"x"\n"2",""\n'),
    ("quoted as R writes", '"id","arm","q1"\n"P1","control",1\n"P2",NA,""\n'),
    ("quoted header with bom", '\ufeff"id","x"\n"P1",1\n'),
    ("quoted numbers", 'a,b\n"1"," 2 "\n"1e5","NA"\n'),
    ("quoted blank lines", 'a,b\n1,2\n"",""\n" ",\n"",\n3,4\n'),
    ("quoted at the end", 'a,b\n1,"x"'),
    ("quoted with crlf", '"a","b"\r\n"1","x"\r\n'),
]


@pytest.mark.parametrize(("name", "text"), FAST, ids=[n for n, _ in FAST])
def test_plain_files_take_the_fast_path(tmp_path, name, text):
    result = _check(_write(tmp_path, text), fast=True)
    assert isinstance(result, pd.DataFrame), result


ERRORS = [
    ("ragged short first", "a,b,c\n1,2\n3,4,5\n", "row 2: has 2 fields"),
    ("ragged long middle", "a,b\n1,2\n3,4,5\n6,7\n", "row 3: has 3 fields"),
    ("ragged at the end", "a,b\n1,2\n3,4\n5\n", "row 4: has 1 fields"),
    ("ragged many", "a,b\n1\n2\n3,4\n5,6,7\n", "(and 2 more rows)"),
    ("ragged after blanks", "\na,b\n\n1,2\n3\n", "row 5: has 1 fields"),
    ("trailing delimiter in data", "a,b\n1,2,\n", "row 2: has 3 fields"),
    ("trailing delimiter everywhere", "a,b,\n1,2,\n", "column 3 of the header"),
    ("duplicate header", "a,b,a\n1,2,3\n", "'a' appears twice"),
    ("duplicate after trimming", "a, a\n1,2\n", "'a' appears twice"),
    ("unnamed column", "a,,b\n1,2,3\n", "column 2 of the header has no name"),
]


@pytest.mark.parametrize(
    ("name", "text", "says"), ERRORS, ids=[n for n, _, _ in ERRORS]
)
def test_errors_are_the_same_on_the_fast_path(tmp_path, name, text, says):
    result = _check(_write(tmp_path, text), fast=True)
    assert isinstance(result, str) and says in result, result


SLOW = [
    ("quoted delimiter", 'a,b\n1,"x,y"\n'),
    ("embedded newline", 'a,b\n1,"two\nlines"\n3,4\n'),
    ("quote inside a cell", 'a,b\n1,x"y\n'),
    ("doubled quote", 'a,b\n1,"x""y"\n'),
    ("text after the closing quote", 'a,b\n1,"x"y\n'),
    ("space before the opening quote", 'a,b\n1, "x"\n'),
    ("space after the closing quote", 'a,b\n1,"x" \n'),
    ("unclosed quote", 'a,b\n1,"x\n2,y\n'),
    ("quote at a data line's bom", 'a,b\n\ufeff"1",2\n'),
    ("lone carriage returns", "a,b\r1,2\r3,4\r"),
    ("cr cr lf", "a,b\r\r\n1,2\r\n"),
    ("nul byte past the sniffed head", "a,b\n" + "1,2\n" * 3000 + "1,\x002\n"),
    ("no-break space line", "a,b\n1,2\n\xa0,\n3,4\n"),
    ("bom line before header", "\ufeff\na,b\n1,2\n"),
    ("blank line with extra delimiters", "a,b\n1,2\n,,,\n3,4\n"),
    ("header only", "a,b\n"),
    ("header and blank lines", "a,b\n\n,\n"),
    ("blank lines only", "\n , \n\n"),
]


@pytest.mark.parametrize(("name", "text"), SLOW, ids=[n for n, _ in SLOW])
def test_other_files_fall_back_with_the_same_outcome(tmp_path, name, text):
    _check(_write(tmp_path, text), fast=False)


@pytest.mark.parametrize(
    ("encoding", "fast"),
    [("utf-8", True), ("utf-8-sig", True), ("cp1252", True), ("utf-16", False)],
)
def test_encodings(tmp_path, encoding, fast):
    text = "id;team;x\n1;\u00c9quipe Nord;1,5\n2;Z\u00fcrich;NA\n"
    frame = _check(_write(tmp_path, text.encode(encoding)), fast=fast)
    assert frame["team"].tolist() == ["\u00c9quipe Nord", "Z\u00fcrich"]


def test_latin1_bytes_outside_windows_1252(tmp_path):
    # 0x81 is undefined in Windows-1252: the file is read as latin-1
    frame = _check(_write(tmp_path, b"a,b\n1,x\x81\xe9\n2,\x85\n"), fast=True)
    assert ReadReport.of(frame).encoding == "latin-1"


def test_mixed_utf8_file_falls_back(tmp_path):
    data = "a,b\n1,Z\u00fcrich\n".encode() + "2,Z\u00fcrich\n".encode("cp1252")
    frame = _check(_write(tmp_path, data), fast=False)
    assert ReadReport.of(frame).notes


def test_text_columns_keep_their_text(tmp_path):
    text = "id,x,y\n007,NA,1\n P2 ,1,NA\nNA,2,\n,3,4\n1e5,4,5\n"
    frame = _check(_write(tmp_path, text), fast=True, text_columns=["id", "y"])
    assert frame["id"].tolist()[:3] == ["007", " P2 ", "NA"]
    assert pd.isna(frame["id"].tolist()[3])
    assert frame["y"].tolist()[:2] == ["1", "NA"]


def test_text_columns_of_numbers_keep_their_text(tmp_path):
    path = _write(tmp_path, "id,x\n007,1\n1e5,2\n-0,3\n")
    frame = _check(path, fast=True, text_columns=["id"])
    assert frame["id"].tolist() == ["007", "1e5", "-0"]


def test_quoted_text_columns(tmp_path):
    path = _write(tmp_path, '"id","x"\n"007",1\n" P2 ",2\n"NA",3\n"",4\n')
    frame = _check(path, fast=True, text_columns=["id"])
    assert frame["id"].tolist()[:3] == ["007", " P2 ", "NA"]
    assert pd.isna(frame["id"].tolist()[3])


def test_missing_codes(tmp_path):
    path = _write(tmp_path, "a,b,c\n-99,-99,x\n1,2,-99\n")
    frame = _check(path, fast=True, missing_codes={"a": [-99], "c": [-99]})
    assert ReadReport.of(frame).missing_recoded == {"a": 1, "c": 1}


def test_tab_separated(tmp_path):
    _check(_write(tmp_path, "a\tb\n1\t x\n\t\n2\ty\n", "a.tsv"), fast=True)


def test_decimal_comma_falls_back(tmp_path):
    path = _write(tmp_path, "a;b\n1,5;x\n2;y\n")
    _check(path, fast=False, decimal=",")
    _check(_write(tmp_path, "a;b\n1.5;x\n", "b.csv"), fast=False, decimal=",")


def test_cell_longer_than_the_csv_limit_falls_back(tmp_path):
    path = _write(tmp_path, "a,b\n1," + "x" * 140_000 + "\n")
    result = _check(path, fast=False)
    assert "more than 131,072 characters" in result


def test_index_rows_and_blank_count(tmp_path):
    path = _write(tmp_path, "\na,b\n1,2\n\n ,\n3,4\n\n")
    frame = _check(path, fast=True)
    assert frame.index.tolist() == [3, 6]
    assert ReadReport.of(frame).blank_rows == 3


def test_the_fast_path_parses_the_bytes_read_not_the_path_again(tmp_path, monkeypatch):
    """pandas gets the bytes already read (and hashed), never the path: a
    relative path starting with '~' (which pandas would expand to the home
    folder) and a file changed after the read cannot give other data."""
    (tmp_path / "~").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "x.csv").write_text("a,b\n9,9\n")
    local = tmp_path / "~" / "x.csv"
    local.write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    frame = _fast_only(Path("~/x.csv"))
    assert frame[["a", "b"]].to_numpy().tolist() == [[1, 2]]
    _assert_same(_outcome(Path("~/x.csv")), _slow(Path("~/x.csv")))


def test_long_files_typed_per_chunk_read_the_same(tmp_path):
    """pandas types a long file in chunks: numbers in one chunk and text, or
    nothing, in another come back as the csv path reads them."""
    n = 60_000
    late = ["1"] * (n - 5) + ["x", "2", "", "3", "y"]
    sparse = [""] * (n - 2) + ["note", ""]
    flags = ["True"] * (n - 1) + ["false"]
    cells = zip(late, sparse, flags, strict=True)
    rows = [f"{i},{a},{b},{c}" for i, (a, b, c) in enumerate(cells)]
    path = _write(tmp_path, "id,late,sparse,flag\n" + "\n".join(rows) + "\n")
    frame = _check(path, fast=True)
    assert frame["late"].dtype == object and frame["late"].iloc[-1] == "y"
    assert frame["sparse"].dropna().tolist() == ["note"]
    assert frame["flag"].iloc[-1] == "false"


def test_files_are_not_written(tmp_path):
    path = _write(tmp_path, "a,b\n1,2\n")
    before = path.read_bytes()
    _check(path, fast=True)
    assert path.read_bytes() == before


def test_scan_declines_what_it_cannot_be_sure_of():
    assert _csv_fast.scan(b'a,b\n1,"2,3"\n', ",", 100) is None
    assert _csv_fast.scan(b'a,b\n1,"2\n3"\n', ",", 100) is None
    assert _csv_fast.scan(b"a,b\r1,2\r", ",", 100) is None
    assert _csv_fast.scan(b"a,b\n1,2\n" + b"3" * 101, ",", 100) is None
    lines = _csv_fast.scan(b"a,b\n1,2,3\n\n , \n4", ",", 100)
    assert lines is not None
    assert lines.starts.tolist() == [0, 4, 10, 11, 15]
    assert lines.fields.tolist() == [2, 3, 1, 2, 1]
    assert lines.blank.tolist() == [False, False, True, True, False]


# ------------------------------------------------------------ generated files

_NUMBER = st.one_of(
    st.integers(-(10**21), 10**21).map(str),
    st.integers(0, 5).map(str),
    st.floats(allow_nan=False).map(repr),
    st.floats(-1e6, 1e6).map(lambda x: f"{x:.3f}"),
    st.from_regex(r"[+-]?\d{0,20}(\.\d{0,20})?([eE][+-]?\d{1,3})?", fullmatch=True),
)
_ODD = st.sampled_from(
    [
        "",
        " ",
        "NA",
        " NA",
        "N/A",
        "NaN",
        "nan",
        "NAN",
        "-nan",
        "NULL",
        "null",
        ".",
        "-",
        "inf",
        "-Infinity",
        "True",
        "false",
        "1,5",
        '"',
        '"x"',
        "\r",
        "\n",
        "\u00e9",
        "\xa0",
        "\ufeff",
        "\x00",
    ]
)
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=4
)
_PAD = st.sampled_from(["", "", "", " ", "\t", "\xa0", "\u3000", "\x1c", "\x0b"])


def _column(kind: str) -> st.SearchStrategy[str]:
    main = {"number": _NUMBER, "text": _TEXT, "id": st.from_regex(r"P\d{1,3}")}[kind]
    cell = st.one_of(main, main, main, main, _ODD)
    return st.tuples(_PAD, cell, _PAD).map("".join)


@st.composite
def tables(draw) -> tuple[bytes, list[str]]:
    """A CSV as an export would write it, now and then damaged: padded cells,
    missing tokens, odd numbers, blank and ragged lines, quotes."""
    width = draw(st.integers(1, 5))
    names = draw(
        st.lists(st.sampled_from(["id", "a", "b", "q1", " c ", "x y"]), min_size=width)
    )[:width]
    kinds = draw(st.lists(st.sampled_from(["number", "text", "id"]), min_size=width))
    rows = [names]
    for _ in range(draw(st.integers(0, 8))):
        row = [draw(_column(kind)) for kind in kinds[:width]]
        damage = draw(st.sampled_from(["none"] * 8 + ["blank", "short", "long"]))
        if damage == "blank":
            row = [draw(st.sampled_from(["", " ", "\t"]))] * draw(st.integers(1, width))
        elif damage == "short":
            row = row[:-1]
        elif damage == "long":
            row = [*row, "1"]
        rows.append(row)
    if draw(st.booleans()):  # every cell quoted, as R's write.csv quotes text
        rows = [[f'"{cell}"' for cell in row] for row in rows]
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = newline.join(delimiter.join(row) for row in rows)
    if draw(st.booleans()):
        text += newline
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252"]))
    text_columns = draw(st.lists(st.sampled_from(names), max_size=2))
    return text.encode(encoding, errors="replace"), text_columns


@SETTINGS
@given(table=tables())
def test_generated_files_read_the_same_on_both_paths(table):
    data, text_columns = table
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), data)
        _assert_same(_outcome(path), _slow(path))
        _assert_same(
            _outcome(path, text_columns=text_columns),
            _slow(path, text_columns=text_columns),
        )


_PLAIN_CELL = st.one_of(
    _NUMBER,
    st.from_regex(r"[A-Za-z][A-Za-z0-9 _.-]{0,5}", fullmatch=True),
    st.sampled_from(["", "NA", " ", "."]),
)


@SETTINGS
@given(
    width=st.integers(1, 6),
    rows=st.lists(st.lists(_PLAIN_CELL, min_size=6, max_size=6), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    quoted=st.booleans(),
)
def test_plain_generated_files_take_the_fast_path(
    width, rows, delimiter, newline, quoted
):
    """ASCII cells, quoted or not, with one row that is surely not blank: the
    csv path must not run, and the result equals the csv path's."""
    names = [f"c{i}" for i in range(width)]
    body = [[*row[: width - 1], "x"] for row in rows]
    lines = [names, *body, ["x"] * width]
    if quoted:
        lines = [[f'"{cell}"' for cell in line] for line in lines]
    data = newline.join(delimiter.join(r) for r in lines).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), data)
        _assert_same(_fast_only(path), _slow(path))


# ------------------------------------------------------- typing text columns


def test_white_space_is_what_str_strip_removes():
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(_read._WHITE_SPACE) == every


def _reference_clean(values: pd.Series, keep_text: bool) -> pd.Series:
    """_clean for text as it was before it was vectorised (one cell at a time)."""
    if keep_text:
        kept = values.map(_read._text_raw, na_action="ignore").astype(object)
        return kept.mask(kept.map(lambda v: isinstance(v, str) and not v.strip()))
    cells = [_read._cell(v) for v in values.tolist()]
    return pd.Series(cells, index=values.index, dtype=object, name=values.name)


def _reference_numeric(values: pd.Series) -> pd.Series:
    """_maybe_numeric as it was before the early exit on a first text."""
    present = [v for v in values.tolist() if not is_missing(v)]
    if not present:
        return values.astype(float)
    if not all(isinstance(v, str | int | float) for v in present):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    if int(numbers.notna().sum()) == len(present):
        return numbers.astype(float)
    return values


_CELL = st.one_of(
    st.none(),
    _NUMBER,
    _ODD.filter(lambda v: "\x00" not in v),
    st.tuples(_PAD, st.one_of(_NUMBER, _TEXT, _ODD), _PAD).map("".join),
)


@SETTINGS
@given(
    cells=st.lists(_CELL, max_size=8),
    keep_text=st.booleans(),
    dtype=st.sampled_from([object, "str", "string"]),
)
def test_text_columns_are_typed_as_one_cell_at_a_time(cells, keep_text, dtype):
    """Columns of pandas' str dtype (pyarrow) and of objects, as SPSS and both
    CSV paths give them (and of the "string" dtype, missing as NA), are trimmed
    and typed as the per-cell code did."""
    values = pd.Series(cells, dtype=dtype, name="x")
    cleaned = _read._clean(values, keep_text=keep_text)
    expected = _reference_clean(values, keep_text)
    pd.testing.assert_series_equal(cleaned, expected)
    assert [type(v) for v in cleaned] == [type(v) for v in expected]
    if not keep_text:
        typed = _read._maybe_numeric(cleaned)
        pd.testing.assert_series_equal(typed, _reference_numeric(expected))
