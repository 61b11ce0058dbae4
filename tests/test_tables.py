"""Tables as data plus a declared spec (issue 14): labelled headers, spanners and
declared formats in HTML (great-tables), DOCX, XLSX, LaTeX and Markdown; CSV as
the data are; byte-identical reruns; Table 1 wide with the arms in the order
the caller declares."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.tables import (
    COLUMN_FORMATS,
    Merge,
    TableSpec,
    docx_table,
    interval,
    render_table,
    table_one,
    table_one_spec,
)

docx = pytest.importorskip("docx")

TABLE = pd.DataFrame(
    {
        "outcome": ["wellbeing", "social inclusion"],
        "n": [80.0, 77.0],
        "cost": [1234.4, -20.0],
        "qalys": [0.81234, 0.5],
        "prob": [0.995, 0.42],
        "ci_low": [-1.5, 0.25],
        "ci_high": [2.0, 1.75],
        "p_val": [0.0004, 0.0516],
    }
)
SPEC = TableSpec(
    "effects",
    labels={"outcome": "outcome", "p_val": "p", "prob": "probability"},
    formats={
        "n": "count",
        "cost": "money",
        "qalys": "qaly",
        "prob": "percent",
        "p_val": "p",
    },
    spanners={"Connecting People": ["n", "cost", "qalys"]},
    merges=[interval("ci_low", "ci_high")],
    notes=["Differences are Connecting People minus usual care."],
)
HOSTILE = ("<script>alert(1)</script>", '"><svg onload=x>')


def _cells(grid) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in grid.rows]


def _docx(data: bytes):
    return docx.Document(io.BytesIO(data))


# --- the spec ------------------------------------------------------------------


def test_spec_is_frozen_and_checked():
    with pytest.raises(AttributeError):
        SPEC.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SPEC.formats["n"] = "p"  # type: ignore[index]
    with pytest.raises(cpeval.DataError, match="not among"):
        TableSpec(formats={"n": "pounds"})
    with pytest.raises(cpeval.DataError, match="more than one"):
        TableSpec(spanners=[("a", ["n"]), ("b", ["n", "cost"])])
    with pytest.raises(cpeval.DataError, match="must use"):
        Merge(("a", "b"), "{1} ({3})")
    with pytest.raises(cpeval.DataError, match="lacks"):
        render_table(TABLE, "html", spec=TableSpec(spanners={"x": ["nope"]}))
    with pytest.raises(cpeval.DataError, match="not adjacent"):
        render_table(TABLE, "md", spec=TableSpec(spanners={"x": ["n", "qalys"]}))
    assert set(COLUMN_FORMATS) >= {"p", "percent", "money", "qaly", "count"}
    assert TableSpec(spanners={"a": "n"}).spanners == (("a", ("n",)),)


def test_keywords_still_work_and_add_to_the_spec():
    old = render_table(TABLE, "md", formats={"p_val": "p"}, labels={"p_val": "p"})
    assert old.decode().splitlines()[0].endswith("| p |")
    assert "| <0.001 |" in old.decode()
    both = render_table(TABLE, "md", spec=SPEC, labels={"outcome": "measure"})
    assert both.decode().startswith("| measure | Connecting People: n |")
    html = render_table(TABLE, "html", spec=SPEC, title="other").decode()
    assert "<caption>other</caption>" in html


# --- HTML ----------------------------------------------------------------------


def test_html_has_labels_spanners_and_declared_formats():
    html = render_table(TABLE, "html", spec=SPEC).decode()
    assert html.count("<table>") == 1 and "<caption>effects</caption>" in html
    assert 'scope="colgroup"' in html and ">Connecting People</span></th>" in html
    for shown in ("&lt;0.001", "0.052", "£1,234", "-£20", "over 99%", "42%"):
        assert f">{shown}</td>" in html, shown
    assert ">0.812</td>" in html and ">80</td>" in html  # QALYs, counts
    assert ">-1.50 to 2.00</td>" in html and ">95% CI</th>" in html
    assert ">probability</th>" in html and ">p</th>" in html
    assert "ci_high" not in html and "1.75" not in html.replace("0.25 to 1.75", "")
    assert "Differences are Connecting People minus usual care." in html
    headers = html[html.index("<thead>") : html.index("</thead>")]
    assert "<td" not in headers  # every heading cell is a <th>


def test_html_is_self_contained_and_compact():
    html = render_table(TABLE, "html", spec=SPEC).decode()
    assert "http" not in html and "@import" not in html and "<link" not in html
    assert "<script" not in html and "font-family" not in html
    assert len(html) < 6000  # no 10 KB of great-tables stylesheet per table


def test_html_escapes_every_string_from_the_data():
    arms, other = HOSTILE
    table = pd.DataFrame({arms: [other, "{{m^2}}"], "n": [1, 2]})
    spec = TableSpec(
        arms,
        labels={"n": other},
        spanners={other: ["n"]},
        notes=[arms + " {{x}}"],
    )
    html = render_table(table, "html", spec=spec).decode()
    assert "<script>" not in html and "<svg" not in html and "onload=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;svg onload=x&gt;" in html
    assert "{{m^2}}" in html  # a cell is text, not units notation
    assert "&#123;&#123;x&#125;&#125;" in html  # braces in notes and labels too
    assert "<sup>" not in html


def test_html_tags_are_all_expected():
    """Nothing but table markup: no tag a hostile string could have opened."""
    import re

    arms, other = HOSTILE
    table = pd.DataFrame({arms: [other], other: [arms]})
    html = render_table(table, "html", spec=TableSpec(arms, notes=[other])).decode()
    tags = set(re.findall(r"<([a-z]+)", html))
    allowed = {"div", "style", "table", "caption", "thead", "tbody", "tfoot", "tr"}
    assert tags <= allowed | {"th", "td", "span"}, tags


def test_two_tables_with_different_titles_have_different_ids():
    a = render_table(TABLE, "html", title="outcomes").decode()
    b = render_table(TABLE, "html", title="costs").decode()
    ids = [
        text[text.index('id="') : text.index('"', text.index('id="') + 4)]
        for text in (a, b)
    ]
    assert ids[0] != ids[1]


# --- XLSX ----------------------------------------------------------------------


def test_xlsx_keeps_numbers_with_excel_formats():
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(render_table(TABLE, "xlsx", spec=SPEC))).active
    heads = [c.value for c in sheet[1]]
    assert heads[:3] == ["outcome", "Connecting People: n", "Connecting People: cost"]
    assert "ci_low" in heads and "ci_high" in heads  # both ends, as numbers
    expected = {
        "Connecting People: n": "0",
        "Connecting People: cost": '"£"#,##0;-"£"#,##0',
        "Connecting People: qalys": "0.000",
        "probability": "0%",
        "p": "0.000",
    }
    for heading, number_format in expected.items():
        cell = sheet.cell(row=2, column=heads.index(heading) + 1)
        assert cell.number_format == number_format, heading
        assert isinstance(cell.value, int | float)
    assert sheet.cell(row=2, column=heads.index("p") + 1).value == 0.0004
    assert sheet.cell(row=3, column=heads.index("ci_high") + 1).value == 1.75


def test_xlsx_row_formats_for_a_table_of_quantities():
    from openpyxl import load_workbook

    table = pd.DataFrame(
        {
            "quantity": ["incremental cost (£)", "probability cost-effective"],
            "complete cases": pd.Series([1500.0, 0.73], dtype=object),
        }
    )
    spec = TableSpec(
        row_key="quantity",
        row_formats={
            "incremental cost (£)": "money",
            "probability cost-effective": "percent",
        },
    )
    md = render_table(table, "md", spec=spec).decode()
    assert "| incremental cost (£) | £1,500 |" in md and "| 73% |" in md
    sheet = load_workbook(io.BytesIO(render_table(table, "xlsx", spec=spec))).active
    assert sheet["B2"].number_format == '"£"#,##0;-"£"#,##0'
    assert sheet["B3"].number_format == "0%" and sheet["B3"].value == 0.73


# --- DOCX ----------------------------------------------------------------------


def test_docx_headers_repeat_and_spanners_merge():
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn

    document = _docx(render_table(TABLE, "docx", spec=SPEC))
    (grid,) = document.tables
    rows = _cells(grid)
    # spanner row: merged over its three columns; other headings span both rows
    assert rows[0][1:4] == ["Connecting People"] * 3
    assert rows[0][0] == rows[1][0] == "outcome"
    assert rows[1][1:4] == ["n", "cost", "qalys"] and rows[1][4] == "probability"
    assert rows[2][1:] == [
        "80",
        "£1,234",
        "0.812",
        "over 99%",
        "-1.50 to 2.00",
        "<0.001",
    ]
    for row in grid.rows[:2]:
        flags = row._tr.xpath("./w:trPr/w:tblHeader")
        assert flags and flags[0].get(qn("w:val")) == "true"
        assert all(r.bold for p in row.cells[0].paragraphs for r in p.runs)
    assert not grid.rows[2]._tr.xpath("./w:trPr/w:tblHeader")
    assert grid.style.name == "Table Grid"
    assert document.sections[-1].orientation == WD_ORIENT.PORTRAIT
    assert document.paragraphs[0].text == "effects"
    assert any("minus usual care" in p.text for p in document.paragraphs)


def test_docx_wide_table_gets_a_landscape_page():
    from docx.enum.section import WD_ORIENT

    wide = pd.DataFrame({f"column {k}": [float(k)] for k in range(12)})
    document = _docx(render_table(wide, "docx", title="wide"))
    (section,) = document.sections
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    narrow = _docx(render_table(wide.iloc[:, :4], "docx", title="narrow"))
    assert narrow.sections[0].orientation == WD_ORIENT.PORTRAIT
    assert narrow.sections[0].page_width < narrow.sections[0].page_height


def test_docx_table_appends_to_a_report_and_returns_to_portrait():
    from docx.enum.section import WD_ORIENT

    document = docx.Document()
    document.add_paragraph("Before the tables.")
    docx_table(document, TABLE, SPEC)
    wide = pd.DataFrame({f"c{k}": [k] for k in range(10)})
    grid = docx_table(document, wide, TableSpec("wide"), heading_level=3)
    document.add_paragraph("After the tables.")
    orientations = [s.orientation for s in document.sections]
    assert orientations == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    assert len(document.tables) == 2 and _cells(grid)[1] == [str(k) for k in range(10)]
    saved = io.BytesIO()
    document.save(saved)
    back = docx.Document(io.BytesIO(saved.getvalue()))
    heading = next(p for p in back.paragraphs if p.text == "wide")
    assert heading.style.name == "Heading 3"
    # the landscape section holds the wide table: its break follows the table
    body = back.element.body
    kinds = [el.tag.split("}")[1] for el in body]
    breaks = [k for k, el in enumerate(body) if el.xpath("./w:pPr/w:sectPr")]
    assert kinds.index("tbl", kinds.index("tbl") + 1) < breaks[-1]


def test_docx_table_takes_the_render_table_keywords():
    """As the Word report calls it: title, formats and labels add to the spec."""
    document = docx.Document()
    grid = docx_table(
        document,
        TABLE,
        spec=SPEC,
        title="renamed",
        formats={"qalys": "number"},
        labels={"outcome": "measure"},
    )
    assert document.paragraphs[0].text == "renamed"
    assert _cells(grid)[0][0] == "measure" and _cells(grid)[2][3] == "0.81"


def test_docx_text_is_escaped_and_cleaned():
    table = pd.DataFrame({HOSTILE[0]: ["a\x00b", HOSTILE[1]]})
    rows = _cells(_docx(render_table(table, "docx")).tables[0])
    assert rows == [[HOSTILE[0]], ["ab"], [HOSTILE[1]]]


# --- LaTeX and Markdown -------------------------------------------------------


def test_latex_has_spanners_rules_and_escapes():
    tex = render_table(TABLE, "tex", spec=SPEC).decode()
    assert r"\multicolumn{3}{c}{Connecting People}" in tex
    assert r"\cmidrule(lr){2-4}" in tex and r"\toprule" in tex
    assert r"\textless{}0.001" in tex and r"over 99\%" in tex
    assert r"\begin{tabular}{lrrrrrr}" in tex


def test_markdown_flattens_spanners_and_lists_notes():
    lines = render_table(TABLE, "md", spec=SPEC).decode().splitlines()
    assert lines[0].startswith("| outcome | Connecting People: n |")
    assert lines[2] == (
        "| wellbeing | 80 | £1,234 | 0.812 | over 99% | -1.50 to 2.00 | <0.001 |"
    )
    assert lines[-1] == "Differences are Connecting People minus usual care."


def test_csv_stays_unformatted():
    csv = render_table(TABLE, "csv", spec=SPEC).decode()
    assert csv.splitlines()[0] == ",".join(TABLE.columns)
    assert pd.read_csv(io.StringIO(csv)).equals(TABLE)


# --- byte-identical reruns ------------------------------------------------------

_RENDER = """
import hashlib, sys
import pandas as pd
from cpeval.tables import render_table, table_one, table_one_spec
from tests.test_tables import SPEC, TABLE, _tiny
one = table_one(_tiny(), ["age", "sex"], "arm", ["usual care", "Connecting People"])
for fmt in ("html", "docx", "xlsx", "tex", "md", "csv"):
    a = render_table(TABLE, fmt, spec=SPEC)
    b = render_table(one, fmt, spec=table_one_spec(one))
    print(fmt, hashlib.sha256(a + b).hexdigest())
"""


def test_two_runs_are_byte_identical():
    """In two fresh processes (great-tables ids, zip times, hash seeds)."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", _RENDER],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            cwd=str(__import__("pathlib").Path(__file__).parents[1]),
        ).stdout
        for seed in (1, 2)
    ]
    assert runs[0] == runs[1] and len(runs[0].splitlines()) == 6


# --- Table 1 -------------------------------------------------------------------


def _tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["usual care"] * 4 + ["Connecting People"] * 3 + ["other"],
            "age": [20, 30, 40, np.nan, 50, 60, 80, 99],
            "sex": ["f", "m", "f", "f", "m", None, "f", "m"],
        }
    )


@pytest.mark.parametrize(
    "arms",
    [
        ("usual care", "Connecting People"),  # the intervention sorts last
        ("Connecting People", "usual care"),  # the intervention sorts first
    ],
)
def test_table_one_keeps_the_declared_order(arms):
    table = table_one(_tiny(), ["age", "sex"], "arm", arms)
    spec = table_one_spec(table)
    md = render_table(table, "md", spec=spec).decode().splitlines()
    header = [c.strip() for c in md[0].strip("| ").split(" | ")]
    sizes = {"usual care": 4, "Connecting People": 3}
    assert header[2:5] == [
        f"arm: {arms[0]} (n = {sizes[arms[0]]})",
        f"arm: {arms[1]} (n = {sizes[arms[1]]})",
        "Overall (n = 7)",
    ]
    assert header[5:] == ["missing", "SMD"]
    html = render_table(table, "html", spec=spec).decode()
    assert html.index(f">{arms[0]} (n =") < html.index(f">{arms[1]} (n =")
    a = table[table["level"] == "mean (SD)"].iloc[0]
    first, second = ([20, 30, 40], [50, 60, 80])[
        :: 1 if arms[0] == "usual care" else -1
    ]
    pooled = np.sqrt((np.var(first, ddof=1) + np.var(second, ddof=1)) / 2)
    assert a["smd"] == pytest.approx((np.mean(first) - np.mean(second)) / pooled)


def test_table_one_by_hand():
    table = table_one(
        _tiny(), ["age", "sex"], "arm", ["Connecting People", "usual care"]
    ).set_index(["variable", "level"])
    age = table.loc[("age", "mean (SD)")]
    everyone = [20, 30, 40, 50, 60, 80]  # both arms, not "other"
    assert age["mean (Overall)"] == pytest.approx(np.mean(everyone))
    assert age["sd (Overall)"] == pytest.approx(np.std(everyone, ddof=1))
    assert age["n (Overall)"] == 6 and age["missing (Overall)"] == 1
    assert age["missing (usual care)"] == 1 and age["missing (Connecting People)"] == 0
    assert age["mean (Connecting People)"] == pytest.approx(190 / 3)
    median = table.loc[("age", "median (IQR)")]
    assert median["median (Overall)"] == 45 and median["q1 (Overall)"] == 32.5
    assert median["median (usual care)"] == 30 and median["q3 (usual care)"] == 35
    female, male = table.loc[("sex", "f")], table.loc[("sex", "m")]
    assert (
        female["count (usual care)"] == 3 and female["proportion (usual care)"] == 0.75
    )
    assert female["count (Connecting People)"] == 1
    assert female["proportion (Connecting People)"] == 0.5  # of the 2 with a value
    assert female["count (Overall)"] == 4 and male["count (Overall)"] == 2
    assert (
        female["missing (Connecting People)"] == 1 and female["missing (Overall)"] == 1
    )
    assert pd.isna(male["missing (Overall)"])  # on the variable's first row only
    p, q = 0.5, 0.75
    assert female["smd"] == pytest.approx(
        (p - q) / np.sqrt((p * (1 - p) + q * (1 - q)) / 2)
    )


def test_table_one_display_cells():
    table = table_one(
        _tiny(), ["age", "sex"], "arm", ["Connecting People", "usual care"]
    )
    spec = table_one_spec(table)
    lines = render_table(table, "md", spec=spec).decode().splitlines()
    rows = {
        tuple(c.strip() for c in line.strip("| ").split(" | ")[:2]): line
        for line in lines
    }
    assert (
        "| 63.33 (15.28) | 30.00 (10.00) | 46.67 (21.60) | 1 |"
        in rows[("age", "mean (SD)")]
    )
    assert "| 60.00 (55.00 to 70.00) |" in rows[("age", "median (IQR)")]
    assert "| 1 (50%) | 3 (75%) | 4 (67%) | 1 |" in rows[("sex", "f")]
    assert "n (Overall)" not in lines[0] and "missing (usual care)" not in lines[0]
    csv = pd.read_csv(io.StringIO(render_table(table, "csv", spec=spec).decode()))
    assert "proportion (usual care)" in csv.columns and len(csv) == len(table)


def test_table_one_refuses_unknown_arms():
    with pytest.raises(cpeval.DataError, match="not in column 'arm'"):
        table_one(_tiny(), ["age"], "arm", ["Connecting People", "usual"])
    with pytest.raises(cpeval.DataError, match="Overall"):
        table_one(
            _tiny().replace("other", "Overall"), ["age"], "arm", ["Overall", "other"]
        )
    with pytest.raises(cpeval.DataError, match="made by table_one"):
        table_one_spec(TABLE)


def test_run_specs_declare_percent_qaly_money_and_intervals():
    from cpeval.pipeline._display import table_spec

    arms = ("Connecting People", "usual care")
    economics = pd.DataFrame(
        {
            "quantity": [
                "participants analysed (Connecting People)",
                "mean cost, usual care (£)",
                "incremental QALYs",
                "probability cost-effective at £20,000",
                "position on the CE plane",
            ],
            "complete cases": pd.Series(
                [80, 1234.5, 0.01234, 0.995, "NE"], dtype=object
            ),
        }
    )
    spec = table_spec("economics", economics, arms)
    assert list(spec.row_formats.values()) == ["count", "money", "qaly", "percent"]
    md = render_table(economics, "md", spec=spec).decode()
    for shown in ("| 80 |", "| £1,234 |", "| 0.012 |", "| over 99% |", "| NE |"):
        assert shown in md, shown
    outcomes = pd.DataFrame(
        {
            "outcome": ["x"],
            "baseline mean (Connecting People)": [1.0],
            "baseline mean (usual care)": [2.0],
            "difference (Connecting People minus usual care)": [0.5],
            "ci_low": [-0.25],
            "ci_high": [1.25],
            "p_val": [0.2],
        }
    )
    html = render_table(outcomes, "html", spec=table_spec("outcomes", outcomes, arms))
    assert b">-0.25 to 1.25</td>" in html and b">95% CI</th>" in html
    assert b">baseline mean</span></th>" in html and b">usual care</th>" in html
    wide = table_one(_tiny(), ["age"], "arm", ["Connecting People", "usual care"])
    assert table_spec("baseline", wide, arms).merges  # the wide Table 1
