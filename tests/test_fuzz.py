"""Property-based fuzzing (hypothesis) of the readers and the codebook parser.

Any bytes given as a CSV/TSV file, and any codebook fragment, end in a result or
a :class:`cpeval.DataError` (one line), never another exception, within a time
bound per example. The example budget and the seed are fixed
(``derandomize=True``), so CI runs the same examples every time;
``CPEVAL_FUZZ_EXAMPLES=5000`` runs a larger random search.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpeval
from cpeval.io import load_codebook, read_data
from tests.conftest import DATA

# CPEVAL_FUZZ_EXAMPLES=5000 explores further, with fresh random examples.
_EXPLORE = int(os.environ.get("CPEVAL_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_EXPLORE or 250,
    deadline=5000,  # milliseconds per example: a hang or blow-up fails
    derandomize=not _EXPLORE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Cell texts that have broken readers: quotes, delimiters, line breaks, BOMs,
# missing tokens, numbers in odd forms, accents, control characters.
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            '"',
            '""',
            "'",
            ",",
            ";",
            "\t",
            "|",
            "\n",
            "\r\n",
            "\r",
            "\ufeff",
            "NA",
            ".",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "1,5",
            "-0",
            "007",
            "2025-01-10",
            "2025-01-10T09:00+01:00",
            "2018-03",
            "31/02/2025",
            "=1+1",
            "Jos\u00e9",
            "Jose\u0301",
            "\x00",
            "\x1b",
            "\u2028",
            "q{1..3}",
            "id",
            "arm",
        ]
    ),
    st.text(max_size=6),
)
_ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])


@st.composite
def delimited(draw) -> bytes:
    """Text that looks like a questionnaire export, then damaged."""
    width = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(_CELLS, min_size=0, max_size=width + 1), max_size=8))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(row) for row in rows)
    data = text.encode(draw(_ENCODINGS), errors="replace")
    if data and draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=4)) + data[cut:]
    return data


def _outcome(path: Path) -> object:
    try:
        return read_data(path, text_columns=["id"])
    except cpeval.DataError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message, message
        return exc


@FUZZ
@given(
    data=st.one_of(delimited(), st.binary(max_size=600)),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_read_data_ends_in_a_frame_or_a_data_error(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"export{suffix}"
        path.write_bytes(data)
        result = _outcome(path)
        assert isinstance(result, pd.DataFrame | cpeval.DataError)
        assert path.read_bytes() == data  # never written to


@FUZZ
@given(data=delimited())
def test_validate_ends_in_a_report(data):
    """The corpus study with its baseline file replaced by fuzzed bytes."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        text = (DATA / "bad" / "codebook.toml").read_text(encoding="utf-8")
        (folder / "codebook.toml").write_text(text, encoding="utf-8")
        (folder / "good_baseline.csv").write_bytes(data)
        follow = (DATA / "bad" / "good_followup.csv").read_bytes()
        (folder / "good_followup.csv").write_bytes(follow)
        report = cpeval.validate(folder / "codebook.toml")
        assert all("\n" not in str(p) for p in report.problems)
        if not report.errors:
            cpeval.load_study(folder / "codebook.toml")


# ------------------------------------------------------------------ codebooks

_KEYS = {
    "study": [
        "name",
        "id",
        "group",
        "groups",
        "intervention",
        "comparator",
        "group_labels",
        "clusters",
        "wave",
        "waves",
        "date",
        "date_format",
        "covariates",
        "missing_codes",
        "decimal",
        "unknown",
    ],
    "columns.age": [
        "type",
        "min",
        "max",
        "values",
        "waves",
        "required",
        "missing_codes",
        "label",
        "extra",
    ],
    "instruments.corpus": ["items", "values", "min", "max", "definition", "type"],
}
_SCALARS = st.one_of(
    st.sampled_from(
        [
            "id",
            "arm",
            "team",
            "baseline",
            "followup",
            "q{1..3}",
            "q{3..1}",
            "q{1..99999999}",
            "%d/%m/%Y",
            "%Q",
            "numeric",
            "integer",
            "date",
            ",",
            "intervention",
            "control",
            "x.toml",
            "../../etc/passwd",
            "",
        ]
    ),
    st.integers(-3, 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
)
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=4))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(
            repr(value), repr(value)
        )
    if isinstance(value, str):
        escaped = value.encode("unicode_escape").decode("ascii").replace('"', '\\"')
        return f'"{escaped}"'
    return "[" + ", ".join(_toml(v) for v in value) + "]"


@st.composite
def codebook_edits(draw) -> list[tuple[str, str, object]]:
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(sorted(_KEYS)))
        key = draw(st.sampled_from(_KEYS[table]))
        edits.append((table, key, draw(_VALUES)))
    return edits


# The corpus codebook (tests/data/bad/codebook.toml) as tables of TOML values.
_BASE = {
    "study": {
        "id": '"id"',
        "group": '"arm"',
        "groups": '["control", "intervention"]',
        "intervention": '"intervention"',
        "clusters": '["team"]',
        "waves": '["baseline", "followup"]',
        "date": '"interview_date"',
    },
    "columns.age": {"type": '"numeric"', "min": "16", "max": "100"},
    "instruments.corpus": {"items": '"q{1..3}"', "values": "[1, 2, 3, 4, 5]"},
}
_FILES = (
    '[[files]]\npath = "good_baseline.csv"\nwave = "baseline"\n\n'
    '[[files]]\npath = "good_followup.csv"\nwave = "followup"\n'
)


def _edited_codebook(edits) -> str:
    tables = {name: dict(keys) for name, keys in _BASE.items()}
    for table, key, value in edits:
        tables[table][key] = _toml(value)
    parts = []
    for name, keys in tables.items():
        body = "".join(f"{k} = {v}\n" for k, v in keys.items())
        parts.append(f"[{name}]\n{body}")
        if name == "study":
            parts.append(_FILES)
    return "\n".join(parts)


@FUZZ
@given(edits=codebook_edits())
def test_codebook_parser_ends_in_a_codebook_or_a_data_error(edits):
    text = _edited_codebook(edits)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "codebook.toml"
        path.write_text(text, encoding="utf-8")
        for name in ("good_baseline.csv", "good_followup.csv"):
            (Path(folder) / name).write_bytes((DATA / "bad" / name).read_bytes())
        try:
            book = load_codebook(path)
        except cpeval.DataError as exc:
            assert "\n" not in str(exc)
            return
        report = cpeval.validate(book)  # a codebook that loads also validates
        assert report.exit_code in (0, 1, 2)


@FUZZ
@given(data=st.binary(max_size=400))
def test_codebook_bytes_end_in_a_data_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "codebook.toml"
        path.write_bytes(data)
        with pytest.raises(cpeval.DataError):
            load_codebook(path)
