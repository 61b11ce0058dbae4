"""The bad-input corpus (tests/data/bad, made by make_corpus.py).

Each file breaks one rule. Loading a study with it must raise ``DataError``
whose message names the file and, where it applies, the row, participant,
column and value; the CLI must exit 2 with the same first problem. Reading must
leave every file byte-identical.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cpeval
from cpeval.cli import main
from tests.conftest import DATA, tree_hashes

BAD = DATA / "bad"

# file -> (wave it stands in for, fragments the DataError message must contain)
CASES: dict[str, tuple[str, list[str]]] = {
    "empty.csv": ("baseline", ["the file is empty"]),
    "blank_lines_only.csv": ("baseline", ["the file is empty"]),
    "header_only.csv": ("baseline", ["column names but no data rows"]),
    "binary_junk.csv": ("baseline", ["binary data, not delimited text"]),
    "csv_named_xlsx.xlsx": ("baseline", ["'.xlsx' file was expected", "a text file"]),
    "csv_named_sav.sav": ("baseline", ["'.sav' file was expected", "a text file"]),
    "xlsx_named_csv.csv": ("baseline", ["an Excel workbook", "not a text (CSV)"]),
    "unsupported.json": ("baseline", ["cannot read files ending in '.json'"]),
    "truncated.sav": ("baseline", ["cannot read the SPSS file"]),
    "truncated.dta": ("baseline", ["cannot read the Stata file"]),
    "latin1_out_of_range.csv": (
        "baseline",
        ["row 3", "participant Zo\u00eb-02", "column 'q2'", "'7' is not one of 1, 2"],
    ),
    "semicolon_decimal_comma.csv": (
        "baseline",
        ["row 4", "participant P03", "column 'age'", "'52,5' is not a number"],
    ),
    "excel_two_header_rows.xlsx": (
        "baseline",
        ["row 2", "column 'age'", "'Age' is not a number", "second header row"],
    ),
    "duplicate_ids.csv": (
        "baseline",
        ["row 6", "participant P02", "second record", "wave 'baseline'", "row 3"],
    ),
    "text_in_item.csv": (
        "baseline",
        ["row 2", "participant P01", "column 'q1'", "'often' is not a number"],
    ),
    "out_of_range_code.csv": (
        "baseline",
        ["row 5", "participant P04", "column 'q3'", "'6' is not one of 1, 2, 3, 4, 5"],
    ),
    "fraction_in_item.csv": (
        "baseline",
        ["row 4", "participant P03", "column 'q2'", "'2.5' is not a whole number"],
    ),
    "age_out_of_range.csv": (
        "baseline",
        ["row 3", "participant P02", "column 'age'", "'450' is outside 16 to 100"],
    ),
    "followup_only_participant.csv": (
        "followup",
        ["row 5", "participant P99", "'followup' record but no 'baseline' record"],
    ),
    "team_change.csv": (
        "followup",
        ["row 4", "participant P03", "column 'team'", "'T2', 'T9'"],
    ),
    "group_change.csv": (
        "followup",
        ["row 2", "participant P01", "column 'arm'", "'control', 'intervention'"],
    ),
    "missing_id_column.csv": ("baseline", ["column 'id'", "the column is missing"]),
    "unknown_column.csv": ("baseline", ["column 'notes'", "not declared"]),
    "dates_out_of_order.csv": (
        "followup",
        [
            "row 3",
            "participant P02",
            "2024-12-01 at 'followup' is not after 2025-01-11",
        ],
    ),
    "not_a_date.csv": (
        "baseline",
        ["row 2", "participant P01", "column 'interview_date'", "'31/02/2025'"],
    ),
    "id_differs_by_case.csv": (
        "followup",
        ["participant p01", "'P01', 'p01' differ only by case or white space"],
    ),
    "id_differs_by_space.csv": (
        "followup",
        ["participant 'P02 '", "'P02', 'P02 ' differ only by case or white space"],
    ),
    "ragged_row.csv": ("baseline", ["row 4", "has 9 fields but the header has 8"]),
    "duplicate_column.csv": ("baseline", ["'q2' appears twice (columns 7 and 9)"]),
    "unnamed_column.csv": ("baseline", ["column 9 of the header has no name"]),
    "group_not_allowed.csv": (
        "baseline",
        ["row 2", "column 'arm'", "group 'treatment' is not one of"],
    ),
    "missing_group.csv": ("baseline", ["row 3", "column 'arm'", "value is missing"]),
    "missing_id.csv": ("baseline", ["row 5", "column 'id'", "value is missing"]),
}


def _codebook(tmp_path: Path, name: str, wave: str) -> Path:
    """The corpus codebook with one file swapped for the bad one."""
    text = (BAD / "codebook.toml").read_text(encoding="utf-8")
    good = f"good_{wave}.csv"
    text = text.replace(f'path = "{good}"', f'path = "{(BAD / name).as_posix()}"')
    other = "followup" if wave == "baseline" else "baseline"
    text = text.replace(
        f'path = "good_{other}.csv"',
        f'path = "{(BAD / f"good_{other}.csv").as_posix()}"',
    )
    path = tmp_path / "codebook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_corpus_is_large_enough():
    assert len(CASES) >= 20
    on_disk = {p.name for p in BAD.iterdir() if p.is_file()}
    on_disk -= {"codebook.toml", "make_corpus.py"}
    assert set(CASES) == on_disk - {"good_baseline.csv", "good_followup.csv"}


def test_good_corpus_study_loads():
    study = cpeval.load_study(BAD / "codebook.toml")
    assert len(study.data) == 7


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_raises_data_error_naming_it(name, tmp_path):
    wave, fragments = CASES[name]
    codebook = _codebook(tmp_path, name, wave)
    with pytest.raises(cpeval.DataError) as caught:
        cpeval.load_study(codebook)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(str(BAD / name)), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert caught.value.problems is not None and len(caught.value.problems) >= 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_exits_2_with_first_problem(name, tmp_path, capsys):
    wave, fragments = CASES[name]
    codebook = _codebook(tmp_path, name, wave)
    assert main(["validate", str(codebook)]) == 2
    out = capsys.readouterr().out
    assert fragments[-1] in out
    assert "Traceback" not in out
    assert re.search(r"cpeval: \d+ errors", out.splitlines()[-1])


def test_corpus_files_are_not_modified(tmp_path):
    before = tree_hashes(BAD)
    for name, (wave, _) in CASES.items():
        codebook = _codebook(tmp_path, name, wave)
        cpeval.validate(codebook)
        main(["validate", str(codebook), "--quiet"])
    assert tree_hashes(BAD) == before


def test_bad_codebook_key_is_named(tmp_path):
    path = tmp_path / "codebook.toml"
    text = (BAD / "codebook.toml").read_text(encoding="utf-8")
    path.write_text(text.replace('id = "id"', 'idd = "id"'), encoding="utf-8")
    with pytest.raises(cpeval.DataError, match=r"unknown key 'study.idd'"):
        cpeval.load_study(path)
    assert main(["validate", str(path)]) == 2
