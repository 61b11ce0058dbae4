"""Strings from data files and configs reach every output as text, never as code:
spreadsheet formulas, LaTeX commands, Markdown structure, HTML."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

import cpeval
from cpeval.pipeline import run
from cpeval.tables import render_table
from tests.zoo.studies import Layout, write

HOSTILE = pd.DataFrame(
    {
        "arm": ['=HYPERLINK("http://x")', "@SUM(A1)", "+1+1", "-2+3", "\tx", "ok"],
        "difference": [-1.5, 2.0, 0.0, -3.25, 1.0, 4.0],
        "label": [
            "^^5cinput^^7b/etc/hostname^^7d",
            "a|b",
            "line\nbreak",
            "~",
            "%",
            "x",
        ],
    }
)


def test_csv_cells_that_a_spreadsheet_would_run_are_text():
    text = render_table(HOSTILE, "csv").decode()
    back = pd.read_csv(io.StringIO(text))
    assert list(back["arm"][:5]) == [
        '\'=HYPERLINK("http://x")',
        "'@SUM(A1)",
        "'+1+1",
        "'-2+3",
        "'\tx",
    ]
    assert back["difference"].tolist() == HOSTILE["difference"].tolist()  # numbers


def test_xlsx_holds_no_live_formula():
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_table(HOSTILE, "xlsx")))
    sheet = book.active
    assert (
        sheet["A2"].value == '=HYPERLINK("http://x")' and sheet["A2"].data_type == "s"
    )
    assert sheet["B2"].value == -1.5 and sheet["B2"].data_type == "n"
    xml = zipfile.ZipFile(io.BytesIO(render_table(HOSTILE, "xlsx"))).read(
        "xl/worksheets/sheet1.xml"
    )
    assert b"<f>" not in xml


def test_latex_and_markdown_escape_their_special_characters():
    tex = render_table(HOSTILE, "tex").decode()
    assert "^^5c" not in tex and r"\textasciicircum{}\textasciicircum{}5cinput" in tex
    assert r"\textasciitilde{}" in tex and r"\%" in tex and "line break" in tex
    md = render_table(HOSTILE, "md").decode()
    assert r"a\|b" in md and "line break" in md
    assert all(line.count(" | ") == 2 for line in md.splitlines())


def test_a_hostile_covariate_name_in_a_config_runs_nothing(tmp_path):
    """A config covariate that is Python is refused as a name the data lack; the
    pipeline never builds a formula from config strings."""
    from cpeval.cli import main

    config = write(tmp_path / "study", Layout())
    marker = tmp_path / "pwned"
    for name in (
        f"__import__('os').system('touch {marker}')",
        f"I(__import__('os').system('touch {marker}'))",
    ):
        text = config.read_text().replace(
            'covariates = ["age"]', f'covariates = ["{name}"]'
        )
        bad = tmp_path / "bad.toml"
        bad.write_text(
            text.replace(
                'codebook = "codebook.toml"',
                f'codebook = "{config.parent}/codebook.toml"',
            )
        )
        with pytest.raises(cpeval.DataError, match="are not in the data"):
            run(bad, tmp_path / "out", say=lambda *_: None)
        assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
        assert not marker.exists()
