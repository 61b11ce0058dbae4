"""Reporting aids: the participant-flow diagram (CONSORT or TREND wording) and
the reporting checklists (CHEERS 2022, TREND, CONSORT 2010 for cluster trials),
each item marked with the report sections that address it.

See ``docs/report.md``.
"""

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
from ._flowchart import FlowBox, flow_boxes, flow_description, plot_flow, render_flow

__all__ = [
    "CHECKLISTS",
    "SECTION_TITLES",
    "Checklist",
    "ChecklistItem",
    "FlowBox",
    "checklist_table",
    "checklists_for",
    "flow_boxes",
    "flow_description",
    "get_checklist",
    "load_checklist",
    "plot_flow",
    "render_flow",
]
