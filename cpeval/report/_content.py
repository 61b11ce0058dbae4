"""What a report says, as data: the renderers (HTML, Word, PDF) only lay it out.

The pipeline fills a :class:`Report` from its result objects; nothing here or in
the renderers computes a statistic or parses rendered text back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["SECTIONS", "Figure", "Report", "Summary", "Table"]

#: The report's sections, in order: id -> heading. The ids are fixed (anchors in
#: the HTML, and the places the reporting checklists point to).
SECTIONS: dict[str, str] = {
    "summary": "Summary",
    "findings": "Key findings",
    "warnings": "Data warnings",
    "flow": "Participant flow",
    "tables": "Tables",
    "figures": "Figures",
    "methods": "Methods",
    "diagnostics": "Diagnostics",
    "glossary": "Glossary",
    "checklists": "Reporting checklists",
    "provenance": "Provenance",
}


@dataclass(frozen=True)
class Figure:
    """One figure of the report.

    Parameters
    ----------
    name : str
        File stem and anchor (``figure-<name>``).
    svg : str
        The SVG text (inlined in the HTML; in the PDF too when it holds text,
        as the participant-flow diagram does).
    png : bytes
        The same figure as PNG (the Word report, and the PDF for a figure whose
        SVG holds no text: matplotlib's figures draw their text as paths).
    caption : str
    alt : str
        A text alternative: what the figure shows, and where its numbers are.
    """

    name: str
    svg: str
    png: bytes
    caption: str
    alt: str


@dataclass(frozen=True)
class Table:
    """One table: the tidy frame and how readers see it.

    Parameters
    ----------
    name : str
        File stem and anchor (``table-<name>``).
    frame : pandas.DataFrame
        The numbers, unrounded.
    title : str
    formats, labels : mapping
        Column -> format and column -> heading
        (:func:`cpeval.tables.render_table`).
    spec : object, optional
        A :class:`cpeval.tables.TableSpec`, when the table declares one (it
        then wins over ``formats`` and ``labels``).
    """

    name: str
    frame: pd.DataFrame
    title: str
    formats: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    spec: object | None = None


@dataclass(frozen=True)
class Summary:
    """The first screen: what was asked, how, and the answers in plain words.

    Parameters
    ----------
    question : str
    design : str
        One sentence: randomised or not, what is compared, clusters, follow-up.
    answers : tuple of (str, str)
        For each primary outcome, its name and the answer in plain words, with
        its interval and what it means for a service.
    cost_effectiveness : str or None
        The cost-effectiveness answer, when the run had an economic evaluation.
    """

    question: str
    design: str
    answers: tuple[tuple[str, str], ...]
    cost_effectiveness: str | None = None


@dataclass(frozen=True)
class Report:
    """Everything a report shows, in the order it shows it.

    Parameters
    ----------
    title : str
    summary : Summary
    findings : tuple of str
        The key findings, in sentences.
    tables : tuple of Table
        The participant-flow table is shown under "Participant flow", the rest
        under "Tables".
    figures : tuple of Figure
        The participant-flow diagram (name ``participant_flow``) is shown under
        "Participant flow", the rest under "Figures".
    methods : tuple of str
        Paragraphs.
    diagnostics : tuple of str
        Sentences a reader must know (singular fits, few clusters, ...); the
        section says so when there are none.
    warnings : tuple of str
        Validation warnings about the data.
    checklists : tuple of Table
        Reporting checklists (appendix).
    provenance : mapping
        Inputs, versions and settings (the full record is provenance.json).
    """

    title: str
    summary: Summary
    findings: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    methods: tuple[str, ...] = ()
    diagnostics: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checklists: tuple[Table, ...] = ()
    provenance: Mapping = field(default_factory=dict)

    def sections(self) -> dict[str, str]:
        """The sections this report has (id -> heading), in order."""
        present = dict(SECTIONS)
        if not self.warnings:
            del present["warnings"]
        if not self.checklists:
            del present["checklists"]
        if not [f for f in self.figures if f.name != "participant_flow"]:
            del present["figures"]
        return present

    def flow(self) -> tuple[Figure | None, Table | None]:
        """The participant-flow diagram and table, where the report has them."""
        figure = next((f for f in self.figures if f.name == "participant_flow"), None)
        table = next((t for t in self.tables if t.name == "participant_flow"), None)
        return figure, table

    def other_tables(self) -> tuple[Table, ...]:
        """The tables shown under "Tables"."""
        return tuple(t for t in self.tables if t.name != "participant_flow")

    def other_figures(self) -> tuple[Figure, ...]:
        """The figures shown under "Figures"."""
        return tuple(f for f in self.figures if f.name != "participant_flow")
