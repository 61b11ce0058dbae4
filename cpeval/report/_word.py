"""The report as a Word document (python-docx) and as PDF (WeasyPrint, from the
print version of the HTML page): the same sections, tables and figures."""

from __future__ import annotations

import datetime as dt
import io

from ..exceptions import DataError
from ..tables import _without_times
from ._content import Report
from ._html import SHOWN_WARNINGS, _flat, page_terms, render_html

__all__ = ["render_docx", "render_pdf"]

_FIXED = dt.datetime(2000, 1, 1)
_FIGURE_WIDTH_CM = 16.0


def render_docx(report: Report) -> bytes:
    """The report as DOCX bytes (fixed metadata and zip times, so reruns are
    byte-identical).

    Examples
    --------
    >>> import io, docx
    >>> from cpeval.report import Report, Summary, render_docx
    >>> doc = docx.Document(io.BytesIO(render_docx(Report("T", Summary("Q?", "D.",
    ...     (("x", "A."),))))))
    >>> [p.text for p in doc.paragraphs][:3]
    ['T', 'Summary', 'The question']
    """
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    _a4(document.sections[0])
    document.core_properties.title = report.title
    sections = report.sections()
    document.add_heading(report.title, level=0)
    _summary(document, report, sections["summary"])
    _paragraphs(document, sections["findings"], report.findings)
    if report.warnings:
        n = len(report.warnings)
        lines = [
            f"Validation found {n} warning{'s' * (n > 1)}; the analyses used the "
            "data as they are.",
            *report.warnings[:SHOWN_WARNINGS],
        ]
        if n > SHOWN_WARNINGS:
            lines.append(f"... and {n - SHOWN_WARNINGS} more (see the provenance)")
        _paragraphs(document, sections["warnings"], lines)
    numbers = iter(range(1, len(report.figures) + 1))
    document.add_heading(sections["flow"], level=1)
    flow_figure, flow_table = report.flow()
    if flow_figure is not None:
        _figure(document, flow_figure, next(numbers))
    if flow_table is not None:
        _table(document, flow_table)
    document.add_heading(sections["tables"], level=1)
    for table in report.other_tables():
        _table(document, table)
    if "figures" in sections:
        document.add_heading(sections["figures"], level=1)
        for figure in report.other_figures():
            _figure(document, figure, next(numbers))
    _paragraphs(document, sections["methods"], report.methods)
    _paragraphs(
        document,
        sections["diagnostics"],
        report.diagnostics or ("No fit needs a caution.",),
    )
    document.add_heading(sections["glossary"], level=1)
    for entry in page_terms(report):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{entry['term']}: ").bold = True
        paragraph.add_run(str(entry["definition"]))
    if report.checklists:
        document.add_heading(sections["checklists"], level=1)
        for table in report.checklists:
            _table(document, table)
    document.add_heading(sections["provenance"], level=1)
    # the style looked up once: by name, python-docx searches the styles for the
    # default on every paragraph (a hundred provenance lines: a quarter second)
    bullet = document.part.get_style_id("List Bullet", WD_STYLE_TYPE.PARAGRAPH)
    for key, value in _flat(report.provenance):
        document.add_paragraph(f"{key}: {value}")._p.style = bullet
    return _saved(document)


def _a4(section) -> None:
    """A4 portrait with 2 cm margins (17 cm of text: the figures fit)."""
    from docx.shared import Cm

    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))


def _summary(document, report: Report, heading: str) -> None:
    document.add_heading(heading, level=1)
    summary = report.summary
    for title, line in (
        ("The question", summary.question),
        ("The design", summary.design),
    ):
        document.add_heading(title, level=3)
        document.add_paragraph(line)
    document.add_heading("The answer" + "s" * (len(summary.answers) > 1), level=3)
    for outcome, answer in summary.answers:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{outcome}: ").bold = True
        paragraph.add_run(answer)
    if summary.cost_effectiveness:
        document.add_heading("Cost-effectiveness", level=3)
        document.add_paragraph(summary.cost_effectiveness)


def _paragraphs(document, heading: str, lines) -> None:
    document.add_heading(heading, level=1)
    for line in lines:
        document.add_paragraph(line)


def _table(document, table) -> None:
    from ..tables import docx_table

    docx_table(
        document,
        table.frame,
        spec=table.spec,
        title=table.title,
        formats=table.formats,
        labels=table.labels,
    )


def _figure(document, figure, number: int) -> None:
    from docx.shared import Cm

    document.add_picture(io.BytesIO(figure.png), width=Cm(_FIGURE_WIDTH_CM))
    picture = document.inline_shapes[-1]
    picture._inline.docPr.set("descr", figure.alt)  # the text alternative
    picture._inline.docPr.set("name", figure.name)
    document.add_paragraph(f"Figure {number}. {figure.caption}", style="Caption")


def _saved(document) -> bytes:
    props = document.core_properties
    props.created = props.modified = props.last_printed = _FIXED
    props.author = props.last_modified_by = "cpeval"
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return _without_times(buffer.getvalue())


def render_pdf(report: Report) -> bytes:
    """The report as PDF, from the print version of the HTML page (WeasyPrint).

    WeasyPrint needs the Pango library (``libpango-1.0-0`` on Debian and
    Ubuntu); without it this is a :class:`~cpeval.DataError` saying so.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise DataError(
            "the PDF report needs WeasyPrint and the Pango library (Debian/Ubuntu: "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0); or leave 'pdf' out "
            f"of [analysis] report_formats ({str(exc).splitlines()[0][:120]})"
        ) from None
    page = render_html(report, for_print=True)
    return weasyprint.HTML(string=page).write_pdf()
