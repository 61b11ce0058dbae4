"""The report for commissioners: one content object (:class:`Report`), rendered
as a self-contained HTML page, a Word document and a PDF.

The participant-flow diagram (CONSORT or TREND wording) and the reporting
checklists (CHEERS 2022, TREND, CONSORT 2010 for cluster trials) are here too
(``docs/report.md``).

The page opens with the question, the design in one sentence and the answers in
plain words; then the findings, the participant flow, the tables and figures, the
methods, the diagnostics, a glossary of the technical terms the report uses, the
reporting checklists and the provenance.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import _lazy_exports
from .._files import write_atomic
from ..exceptions import DataError

if TYPE_CHECKING:
    from ._checklists import (
        CHECKLISTS,
        SECTION_TITLES,
        Checklist,
        ChecklistItem,
        checklist_table,
        checklists_for,
        get_checklist,
        load_checklist,
    )
    from ._content import SECTIONS, Figure, Report, Summary, Table
    from ._flowchart import (
        FlowBox,
        flow_boxes,
        flow_description,
        plot_flow,
        render_flow,
    )
    from ._glossary import glossary, used_terms
    from ._html import render_html
    from ._word import render_docx, render_pdf

__all__ = [
    "CHECKLISTS",
    "REPORT_FORMATS",
    "SECTIONS",
    "SECTION_TITLES",
    "Checklist",
    "ChecklistItem",
    "Figure",
    "FlowBox",
    "Report",
    "Summary",
    "Table",
    "checklist_table",
    "checklists_for",
    "flow_boxes",
    "flow_description",
    "get_checklist",
    "glossary",
    "load_checklist",
    "plot_flow",
    "render_docx",
    "render_flow",
    "render_html",
    "render_pdf",
    "used_terms",
    "write_report",
]

#: The report's formats, all written by default.
REPORT_FORMATS: tuple[str, ...] = ("html", "docx", "pdf")
__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._checklists": (
            "CHECKLISTS",
            "SECTION_TITLES",
            "Checklist",
            "ChecklistItem",
            "checklist_table",
            "checklists_for",
            "get_checklist",
            "load_checklist",
        ),
        "._content": ("SECTIONS", "Figure", "Report", "Summary", "Table"),
        "._flowchart": (
            "FlowBox",
            "flow_boxes",
            "flow_description",
            "plot_flow",
            "render_flow",
        ),
        "._glossary": ("glossary", "used_terms"),
        "._html": ("render_html",),
        "._word": ("render_docx", "render_pdf"),
    },
)


def _html(report: Report) -> bytes:
    from ._html import render_html

    return render_html(report).encode()


def _docx(report: Report) -> bytes:
    from ._word import render_docx

    return render_docx(report)


def _pdf(report: Report) -> bytes:
    from ._word import render_pdf

    return render_pdf(report)


_RENDER = {"html": _html, "docx": _docx, "pdf": _pdf}


def write_report(
    report: Report,
    folder: str | Path,
    *,
    formats: Iterable[str] = REPORT_FORMATS,
    stem: str = "report",
) -> dict[str, Path]:
    """Write the report in each format into ``folder`` (each file atomically).

    Parameters
    ----------
    report : Report
    folder : str or Path
    formats : iterable of {"html", "docx", "pdf"}
    stem : str
        File name without extension.

    Returns
    -------
    dict
        Format -> path written.

    Examples
    --------
    >>> import tempfile
    >>> from cpeval.report import Report, Summary, write_report
    >>> paths = write_report(Report("T", Summary("Q?", "D.", (("x", "A."),))),
    ...                      tempfile.mkdtemp(), formats=["html"])
    >>> "A." in paths["html"].read_text()
    True
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in _RENDER]
    if unknown:
        raise DataError(f"report formats {unknown} are not among {REPORT_FORMATS}")
    folder = Path(folder)
    return {
        fmt: write_atomic(folder / f"{stem}.{fmt}", _RENDER[fmt](report))
        for fmt in formats
    }
