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


ARMS = {
    "Connecting People": '<script>alert(1)</script> =HYPERLINK("http://x")',
    "Usual care": '"><svg onload=alert(1)> \\input{/etc/passwd}',
}
NAME = '\\input{/etc/passwd} <script>x</script> =HYPERLINK("http://x")'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A study whose SPSS arm labels and config name are hostile, run to every
    format."""
    import pyreadstat

    folder = tmp_path_factory.mktemp("hostile")
    layout = Layout(
        fmt="sav",
        codes={"Connecting People": 1, "Usual care": 2},
        labels=True,
        intervention="1",
    )
    config = write(folder / "study", layout)
    for path in sorted((folder / "study").glob("wave*.sav")):
        frame, meta = pyreadstat.read_sav(str(path))
        labels = dict(meta.variable_value_labels)
        labels["arm"] = {1.0: ARMS["Connecting People"], 2.0: ARMS["Usual care"]}
        pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
    text = config.read_text().replace('name = "zoo"', f"name = '{NAME}'")
    formats = ["csv", "md", "html", "tex", "xlsx"]
    config.write_text(
        text.replace('formats = ["csv"]', f"formats = {formats}".replace("'", '"'))
    )
    run(config, folder / "out", say=lambda *_: None)
    return folder / "out"


def _files(out, suffix):
    found = sorted(out.rglob(f"*{suffix}"))
    assert found, suffix
    return found


def test_hostile_labels_and_name_reach_html_escaped(hostile_run):
    for path in [hostile_run / "report.html", *_files(hostile_run / "tables", ".html")]:
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page and "<svg onload" not in page, path
    page = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "&lt;script&gt;x&lt;/script&gt;" in page  # the config's name


def test_hostile_labels_reach_latex_and_markdown_escaped(hostile_run):
    for path in _files(hostile_run / "tables", ".tex"):
        text = path.read_text(encoding="utf-8")
        assert "\\input{" not in text, path
    hits = 0
    for path in _files(hostile_run / "tables", ".md"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "<svg" not in text, path
        hits += "&lt;script" in text
    assert hits  # the labels are there, as text


def test_hostile_labels_reach_csv_and_xlsx_as_text(hostile_run):
    import csv

    from openpyxl import load_workbook

    seen = 0
    for path in _files(hostile_run / "tables", ".csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    seen += "HYPERLINK" in cell
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (
                        path,
                        cell,
                    )
    assert seen
    for path in _files(hostile_run / "tables", ".xlsx"):
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                assert all(cell.data_type != "f" for cell in row), path
