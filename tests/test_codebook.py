"""load_codebook: strict parsing, item patterns, column expectations."""

from __future__ import annotations

import pytest

import cpeval
from cpeval.io import load_codebook

MINIMAL = """
[study]
id = "id"
waves = ["baseline", "follow-up"]
{extra_study}
[[files]]
path = "a.csv"
{extra}
"""


def _book(tmp_path, extra="", extra_study=""):
    path = tmp_path / "codebook.toml"
    path.write_text(MINIMAL.format(extra=extra, extra_study=extra_study))
    return path


def test_example_codebook(example_codebook):
    book = load_codebook(example_codebook)
    assert book.instruments["wemwbs"] == tuple(f"wemwbs_{i}" for i in range(1, 15))
    assert book.columns["wemwbs_3"].values == (1, 2, 3, 4, 5)
    assert book.columns["wemwbs_3"].type == "integer"
    assert book.keys == ("id", "arm", "trust", "team")
    assert book.baseline == "baseline"
    assert "age" in book.expected_columns("baseline")
    assert "age" not in book.expected_columns("6 months")


def test_item_list_and_pattern(tmp_path):
    extra = (
        '[instruments.x]\nitems = ["a", "b"]\n[instruments.y]\nitems = "y{2..4}_t"\n'
    )
    book = load_codebook(_book(tmp_path, extra))
    assert book.instruments == {"x": ("a", "b"), "y": ("y2_t", "y3_t", "y4_t")}


@pytest.mark.parametrize(
    ("extra", "extra_study", "message"),
    [
        ("", 'idd = "x"', r"unknown key 'study.idd'"),
        ('[columns]\nage = { type = "number" }', "", r"column 'age' has type 'number'"),
        (
            '[columns]\nage = { min = "zero" }',
            "",
            r"'columns.age.min' has the wrong type",
        ),
        (
            "[columns]\nage = { min = true }",
            "",
            r"'columns.age.min' has the wrong type",
        ),
        ("[columns]\nage = { waves = ['week 3'] }", "", r"unknown waves \['week 3'\]"),
        ("[instruments.x]\nitems = 3", "", r"'instruments.x.items' has the wrong type"),
        ("[instruments.x]\nitems = []", "", r"must be a list of column names"),
        (
            '[columns]\na = {}\n[instruments.x]\nitems = ["a"]',
            "",
            "column 'a' is declared twice",
        ),
        ("", 'covariates = ["age"]', r"covariates \['age'\] are not declared"),
    ],
)
def test_codebook_errors_name_the_key(tmp_path, extra, extra_study, message):
    with pytest.raises(cpeval.DataError, match=message):
        load_codebook(_book(tmp_path, extra, extra_study))


def test_file_wave_must_be_declared(tmp_path):
    path = _book(tmp_path, 'wave = "week 3"')
    with pytest.raises(cpeval.DataError, match=r"'files\[1\].wave' is 'week 3'"):
        load_codebook(path)


def test_file_entry_must_be_a_table(tmp_path):
    path = tmp_path / "codebook.toml"
    path.write_text('files = ["a.csv"]\n[study]\nid = "id"\nwaves = ["b"]\n')
    with pytest.raises(cpeval.DataError, match=r"'files\[1\]' must be a table"):
        load_codebook(path)


def test_not_toml(tmp_path):
    path = tmp_path / "codebook.toml"
    path.write_text("[study\n")
    with pytest.raises(cpeval.DataError, match="not valid TOML"):
        load_codebook(path)


def test_missing_required_keys(tmp_path):
    path = tmp_path / "codebook.toml"
    path.write_text('[study]\nid = "id"\n')
    with pytest.raises(cpeval.DataError, match="needs the key 'waves'"):
        load_codebook(path)
    path.write_text('[study]\nid = "id"\nwaves = ["b"]\n')
    with pytest.raises(cpeval.DataError, match="lists no data files"):
        load_codebook(path)
