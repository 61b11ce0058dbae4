"""The report: one content object, rendered to HTML (Jinja2, autoescaped), Word and
PDF; the first screen's plain-language answers; the glossary."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from typing import ClassVar

import pandas as pd
import pytest

from cpeval import DataError
from cpeval.pipeline._summary import _answer, _cost_effectiveness
from cpeval.report import (
    Figure,
    Report,
    Summary,
    Table,
    glossary,
    render_docx,
    render_html,
    render_pdf,
    used_terms,
    write_report,
)

HOSTILE = '<script>alert(1)</script>"><svg onload=x>'
SVG = (
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" '
    'height="50"><rect width="10" height="10"/></svg>'
)


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    buffer = io.BytesIO()
    MplFigure(figsize=(1, 1)).savefig(buffer, format="png")
    return buffer.getvalue()


PNG = _png()


def _report(**changes) -> Report:
    base = {
        "title": f"Study {HOSTILE}",
        "summary": Summary(
            question=f"Does {HOSTILE} help?",
            design="A non-randomised comparison of 10 people in A and 12 in B.",
            answers=(("wellbeing", f"2.00 points higher in {HOSTILE} (95% CI ...)."),),
            cost_effectiveness="The chance that A is cost-effective is 80%.",
        ),
        "findings": ("The ICER is £3,000 per QALY gained.", f"arm {HOSTILE}"),
        "tables": (
            Table("participant_flow", pd.DataFrame({"stage": ["recruited"]}), "flow"),
            Table(
                "outcomes",
                pd.DataFrame({"outcome": [HOSTILE], "p_val": [0.0004]}),
                "outcomes",
                formats={"p_val": "p"},
                labels={"p_val": "p"},
            ),
        ),
        "figures": (
            Figure("forest_plot", SVG, PNG, f"cap {HOSTILE}", f"alt {HOSTILE}"),
        ),
        "methods": ("Mixed model fitted by REML with Satterthwaite df.",),
        "warnings": (f"row 3: {HOSTILE}",),
        "provenance": {"seed": 1, "arms": {"intervention": HOSTILE}},
    }
    base.update(changes)
    return Report(**base)


def test_every_string_from_the_data_is_escaped():
    page = render_html(_report())
    assert "<script" not in page and "onload=x>" not in page
    assert page.count("&lt;script&gt;") >= 8  # title x2, summary, findings, ...
    # the figure keeps its markup, with the (escaped) text alternative
    assert '<svg role="img" aria-label="alt &lt;script&gt;' in page
    assert "&lt;0.001" in page


def test_sections_in_order_with_fixed_ids():
    page = render_html(_report())
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == [
        "summary",
        "findings",
        "warnings",
        "flow",
        "tables",
        "figures",
        "methods",
        "diagnostics",
        "glossary",
        "provenance",
    ]
    # the first screen: question, design, answers and cost-effectiveness
    first = page[page.index('id="summary"') : page.index('id="findings"')]
    for words in ("The question", "The design", "The answer", "Cost-effectiveness"):
        assert words in first
    assert 'id="table-outcomes"' in page and 'id="figure-forest_plot"' in page
    assert "Figure 1. cap" in page
    # no warnings, no warnings section; a clean run says so under Diagnostics
    quiet = render_html(_report(warnings=()))
    assert 'id="warnings"' not in quiet and "No fit needs a caution" in quiet


def test_print_version_unfolds_the_provenance():
    screen, paper = render_html(_report()), render_html(_report(), for_print=True)
    assert "<details>" in screen and "<details>" not in paper
    assert '<nav aria-label="Contents">' in screen and "<nav" not in paper
    assert '<body class="print">' in paper or "<body class=print>" in paper


def test_glossary_lists_the_terms_the_report_uses_and_only_those():
    page = render_html(_report())
    listed = re.findall(r"<dt>([^<]+)</dt><dd>", page)
    assert "REML" in listed
    assert "incremental cost-effectiveness ratio (ICER)" in listed
    assert "Satterthwaite degrees of freedom (df)" in listed
    assert "Rubin&#39;s rules" not in listed and "Love plot" not in listed
    # an abbreviation matches capitals only; words match whole
    assert used_terms("the se of it") == []
    assert [t["term"] for t in used_terms("SE 1.2")] == ["standard error (SE)"]
    assert used_terms("presentation") == []  # not "SE" or "ICER" inside words


def test_glossary_entries_are_complete():
    terms = [t["term"] for t in glossary()]
    assert len(terms) == len(set(terms)) >= 30
    for term in ("CR2", "REML", "INMB", "CEAC", "illustrative scoring"):
        assert used_terms(term), term


def test_write_report_refuses_an_unknown_format(tmp_path):
    with pytest.raises(DataError, match=r"report formats \['rtf'\]"):
        write_report(_report(), tmp_path, formats=["html", "rtf"])
    assert not list(tmp_path.iterdir())


def test_docx_report_reads_back():
    import docx

    document = docx.Document(io.BytesIO(render_docx(_report())))
    text = [p.text for p in document.paragraphs]
    assert text[0].startswith("Study <script>")  # Word text, not markup
    assert f"wellbeing: 2.00 points higher in {HOSTILE} (95% CI ...)." in text
    for heading in ("Summary", "Key findings", "Participant flow", "Glossary"):
        assert heading in text
    assert "Figure 1. cap " + HOSTILE in text
    shapes = document.inline_shapes
    assert len(shapes) == 1
    assert shapes[0]._inline.docPr.get("descr") == f"alt {HOSTILE}"
    assert render_docx(_report()) == render_docx(_report())


def test_pdf_report_holds_the_findings(tmp_path):
    from pypdf import PdfReader

    pdf = render_pdf(_report())
    assert pdf.startswith(b"%PDF") and pdf == render_pdf(_report())
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "The ICER is £3,000 per QALY gained." in " ".join(text.split())
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext") is None:  # .ci/run installs it (poppler-utils)
        if os.environ.get("CI"):
            pytest.fail("CI must read the PDF with pdftotext (poppler-utils)")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "The ICER is £3,000 per QALY gained." in text
    assert "alert(1)" in text  # shown as text, never run


# ------------------------------------------------------------ plain answers

ROW = {"outcome": "wellbeing", "n_participants": 120}


@pytest.mark.parametrize(
    ("d", "low", "high", "higher", "design", "expected"),
    [
        (
            3.0,
            1.0,
            5.0,
            "better",
            "randomised",
            "This favours A: the difference "
            "could be as small as 1.00 or as large as 5.00 points.",
        ),
        (3.0, 1.0, 5.0, "worse", "randomised", "This favours B"),
        (
            3.0,
            1.0,
            5.0,
            "better",
            "non-randomised",
            "part of it may come from how the groups differed",
        ),
        (3.0, 1.0, 5.0, None, None, "does not say whether higher is better"),
        (
            1.0,
            -2.0,
            4.0,
            "better",
            None,
            "No clear difference: the data fit A "
            "scoring up to 2.00 points lower or up to 4.00 points higher than B "
            "(higher is better)",
        ),
        (
            1.0,
            -2.0,
            4.0,
            "worse",
            None,
            "up to 4.00 points higher or up to 2.00 "
            "points lower than B (lower is better)",
        ),
    ],
)
def test_answers_say_what_a_difference_means(d, low, high, higher, design, expected):
    row = {**ROW, "difference": d, "ci_low": low, "ci_high": high}
    text = _answer(row, "A", "B", higher, design)
    assert expected in text
    assert text.startswith(f"{abs(d):.2f} points higher in A than in B")


def test_cost_effectiveness_answer():
    class Analysis:
        label = "complete cases"
        n_intervention, n_comparator = 50, 60
        delta_cost, cost_ci = 500.0, (-100.0, 1100.0)
        delta_qalys, qalys_ci = 0.02, (-0.01, 0.05)
        p_cost_effective: ClassVar = {20000.0: 0.45, 30000.0: 0.62}

    text = _cost_effectiveness(Analysis(), "A", "B")
    assert "45% at £20,000 per QALY and 62% at £30,000 per QALY" in text
    assert "whether it is good value depends on the threshold" in text
    assert "£500 higher (95% CI from £100 lower to £1,100 higher)" in text
    assert "n = 110" in text


def test_pdf_without_weasyprint_or_pango_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it cannot load
    with pytest.raises(DataError, match=r"needs WeasyPrint and the Pango library"):
        render_pdf(_report())
