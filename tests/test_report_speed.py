"""Issue 16 (speed): each table's HTML made by great-tables once per run and
reused (never stale), and the PDF given the PNG of a figure whose SVG holds no
text."""

from __future__ import annotations

import gc
import io

import pandas as pd
import pytest

from cpeval import tables
from cpeval.report import Figure, Report, Summary, Table, render_html, write_report
from cpeval.tables import TableSpec, render_table


@pytest.fixture
def counted(monkeypatch):
    """The number of tables great-tables has rendered."""
    calls: list[str] = []
    real = tables._html

    def counting(shown):
        calls.append(shown.title)
        return real(shown)

    monkeypatch.setattr(tables, "_html", counting)
    return calls


def test_a_frame_is_rendered_once_and_never_stale(counted):
    frame = pd.DataFrame({"x": [1.5], "label": ["<b>"]})
    spec = TableSpec("t", labels={"x": "ex"})
    first = render_table(frame, "html", spec=spec)
    assert render_table(frame, "html", spec=spec) == first
    assert len(counted) == 1
    assert b"&lt;b&gt;" in first  # escaped as before
    # another spec, or the same frame changed in place: rendered again
    other = render_table(frame, "html", spec=spec.replace(title="u"))
    assert b"<caption>u</caption>" in other and len(counted) == 2
    frame.loc[0, "x"] = 2.25
    changed = render_table(frame, "html", spec=spec)
    assert b"2.25" in changed and b"1.50" not in changed and len(counted) == 3
    # an equal frame elsewhere gives the same bytes
    assert render_table(frame.copy(), "html", spec=spec) == changed


def test_the_kept_html_goes_with_its_frame():
    frame = pd.DataFrame({"x": [1.0]})
    render_table(frame, "html")
    key = id(frame)
    assert key in tables._HTML_KEPT
    del frame
    gc.collect()
    assert key not in tables._HTML_KEPT


def _svg_without_text() -> str:
    return (
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        'width="360pt" height="180pt" viewBox="0 0 360 180"><path d="M 0 0 L 9 9"/>'
        "</svg>"
    )


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    buffer = io.BytesIO()
    MplFigure(figsize=(5, 2.5)).savefig(buffer, format="png", dpi=50)
    return buffer.getvalue()


def _report() -> Report:
    flow = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100pt" height="50pt">'
        '<text x="1" y="20">Recruited n = 12</text></svg>'
    )
    return Report(
        "T",
        Summary("Q?", "D.", (("x", "A."),)),
        tables=(
            Table("participant_flow", pd.DataFrame({"stage": ["recruited"]}), "flow"),
            Table("outcomes", pd.DataFrame({"p": [0.0004]}), "outcomes", {"p": "p"}),
        ),
        figures=(
            Figure("participant_flow", flow, _png(), "Flow.", "flow alt"),
            Figure("forest_plot", _svg_without_text(), _png(), "Forest.", 'a "<b>'),
        ),
        checklists=(Table("checklist-x", pd.DataFrame({"item": ["1a"]}), "list"),),
    )


def test_write_report_renders_each_table_once(tmp_path, counted):
    report = _report()
    write_report(report, tmp_path)
    assert sorted(counted) == ["flow", "list", "outcomes"]


def test_the_pdf_page_has_the_png_of_a_figure_without_text():
    report = _report()
    page = render_html(report, for_print=True)
    # the flow diagram's words stay text; the other figure is its PNG, at the
    # SVG's size, with its text alternative escaped
    assert "Recruited n = 12</text>" in page
    assert page.count("<svg") == 1 and page.count("<img ") == 1
    assert (
        '<img src="data:image/png;base64,' in page
        and 'alt="a &quot;&lt;b&gt;" style="width:360pt;max-width:100%;height:auto">'
        in page
    )
    # the page on screen keeps every figure's SVG
    screen = render_html(report)
    assert screen.count("<svg") == 2 and "<img " not in screen
