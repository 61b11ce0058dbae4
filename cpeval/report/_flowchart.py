"""The participant-flow diagram: CONSORT wording for randomised designs, TREND
wording for non-randomised ones, drawn from a run's
:class:`~cpeval.io.ParticipantFlow`.

Two steps: :func:`flow_boxes` lays out what each box says and counts (every
count is read from the flow table or its exclusions, never computed twice), and
:func:`plot_flow` draws those boxes with matplotlib. :func:`render_flow` saves
the figure as SVG (text kept as text, no date, fixed hash salt: two runs give
the same bytes) and PNG.
"""

from __future__ import annotations

import io
import itertools
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..exceptions import DataError
from ..io import ParticipantFlow

__all__ = ["FlowBox", "flow_boxes", "flow_description", "plot_flow", "render_flow"]

#: Okabe-Ito colours, lightened so that black text on them reads well.
FILLS = {
    "recruited": "#E8E8E8",
    "allocated": "#D5E8F5",  # sky blue, light
    "interviewed": "#D5E8F5",
    "analysed": "#CDEBDF",  # bluish green, light
    "lost": "#FBE6C2",  # orange, light
    "excluded": "#FBE6C2",
    "not compared": "#F0F0F0",
}
EDGE = "#333333"
FONT_SIZE = 8.5  # points
LINE = FONT_SIZE * 1.3 / 72  # inches per line of text
PAD = 0.07  # inches inside a box, above and below the text
GAP = 0.28  # inches between rows (room for the arrows)
WIDTH = 9.0  # inches: 900 px at 100 dpi, the report's width
LEFT = 1.05  # inches kept for the stage labels

STAGES = {
    True: {
        "recruited": "Enrolment",
        "allocated": "Allocation",
        "follow-up": "Follow-up",
        "analysis": "Analysis",
    },
    False: {
        "recruited": "Recruitment",
        "allocated": "Assignment",
        "follow-up": "Follow-up",
        "analysis": "Analysis",
    },
}


@dataclass(frozen=True)
class FlowBox:
    """One box of the participant-flow diagram.

    Parameters
    ----------
    id : str
        Unique within a diagram, e.g. ``"interviewed:6 months:control"``.
    column : str
        The arm the box belongs to, or ``""`` for a box across all arms.
    row : int
        Position from the top (0: recruited); side boxes share their main
        box's row.
    kind : str
        ``recruited``, ``allocated``, ``interviewed``, ``lost``, ``analysed``,
        ``excluded`` or ``not compared``.
    text : str
        What the box says (unwrapped; the drawing wraps it).
    n : int
        The box's count, as the flow table has it.
    reasons : tuple of (str, int)
        For ``excluded`` boxes, each reason and its count (adding up to ``n``).
    stage : str
        The stage label of the box's row (CONSORT or TREND wording).
    label : str
        At the analysis stage, the outcomes and analysis the row's boxes count
        ("wellbeing (WEMWBS) (complete cases)"), drawn once above the row.
    """

    id: str
    column: str
    row: int
    kind: str
    text: str
    n: int
    reasons: tuple[tuple[str, int], ...] = ()
    stage: str = ""
    label: str = ""


def flow_boxes(
    flow: ParticipantFlow,
    arms: Sequence[str],
    randomised: bool,
    *,
    analyses: Sequence[str] | None = None,
) -> list[FlowBox]:
    """The boxes of the participant-flow diagram, with their texts and counts.

    Parameters
    ----------
    flow : ParticipantFlow
        The run's flow (:func:`cpeval.pipeline._flow.analysis_flow`): its
        ``table`` has the rows ``recruited``, ``interviewed at <wave>``, then
        ``analysed`` and ``excluded: <reason>`` rows for each outcome and
        analysis, with one column per group and ``total``.
    arms : sequence of str
        The compared arms in the order to draw them, intervention first (the
        order is kept, never sorted). Other groups in the table are drawn after
        them as "not compared".
    randomised : bool
        CONSORT wording ("Allocated to") if true, TREND wording ("Assigned
        to") if not.
    analyses : sequence of str, optional
        The analyses to draw at the analysis stage. By default, each outcome's
        first analysis in the table, which is the run's primary analysis.
        Outcomes with the same counts and reasons in every arm share one row
        of boxes.

    Returns
    -------
    list of FlowBox
        Top to bottom, and within a row in the order of ``arms``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.io import ParticipantFlow
    >>> table = pd.DataFrame({
    ...     "stage": ["recruited", "interviewed at baseline",
    ...               "interviewed at 6 months", "analysed",
    ...               "excluded: not interviewed at 6 months"],
    ...     "outcome": ["", "", "", "wellbeing", "wellbeing"],
    ...     "analysis": ["", "", "", "complete cases", "complete cases"],
    ...     "intervention": [20, 20, 15, 15, 5], "control": [22, 22, 19, 19, 3],
    ...     "total": [42, 42, 34, 34, 8]})
    >>> flow = ParticipantFlow(table, pd.DataFrame(), recruitment_list=True)
    >>> boxes = flow_boxes(flow, ["intervention", "control"], randomised=True)
    >>> [(b.kind, b.n) for b in boxes][:3]
    [('recruited', 42), ('allocated', 20), ('allocated', 22)]
    >>> [b.text for b in boxes if b.kind == "excluded"][0]
    'Excluded from analysis\\nn = 5\\nnot interviewed at 6 months: 5'
    """
    table = _checked(flow, arms)
    stages = STAGES[bool(randomised)]
    groups = list(table.columns[3:-1])
    others = [g for g in groups if g not in arms]
    columns = [*arms, *others]
    stage = table["stage"].astype(str)
    boxes: list[FlowBox] = []
    recruited = table[stage == "recruited"].iloc[0]
    text = f"Recruited\nn = {int(recruited['total'])}"
    if not flow.recruitment_list:
        text += "\n(everyone interviewed at baseline; no recruitment list)"
    boxes.append(
        FlowBox(
            "recruited",
            "",
            0,
            "recruited",
            text,
            int(recruited["total"]),
            stage=stages["recruited"],
        )
    )
    verb = "Allocated to" if randomised else "Assigned to"
    for arm in columns:
        n = int(recruited[arm])
        label = f"{verb} {arm}" if randomised else f"{verb} the {arm} group"
        if arm in others:
            label += " (not compared)"
        boxes.append(
            FlowBox(
                f"allocated:{arm}",
                arm,
                1,
                "allocated",
                f"{label}\nn = {n}",
                n,
                stage=stages["allocated"],
            )
        )
    waves = [s for s in stage if s.startswith("interviewed at ")]
    for i, wave_stage in enumerate(waves):
        wave = wave_stage.removeprefix("interviewed at ")
        seen = table[stage == wave_stage].iloc[0]
        for arm in columns:
            n = int(seen[arm])
            boxes.append(
                FlowBox(
                    f"interviewed:{wave}:{arm}",
                    arm,
                    2 + i,
                    "interviewed",
                    f"Interviewed at {wave}\nn = {n}",
                    n,
                    stage=stages["follow-up"],
                )
            )
            missed = int(recruited[arm]) - n
            what = (
                f"Not interviewed at {wave}"
                if i == 0
                else f"Lost to follow-up (not interviewed at {wave})"
            )
            boxes.append(
                FlowBox(
                    f"lost:{wave}:{arm}",
                    arm,
                    2 + i,
                    "lost",
                    f"{what}\nn = {missed}",
                    missed,
                    stage=stages["follow-up"],
                )
            )
    row = 2 + len(waves)
    for outcomes, analysis, counts in _analysis_groups(table, analyses):
        names = "; ".join(outcomes)
        label = f"{names} ({analysis})"
        for arm in columns:
            analysed = counts["analysed"][arm]
            if arm in others:
                left_out = sum(n[arm] for _, n in counts["excluded"])
                boxes.append(
                    FlowBox(
                        f"not compared:{names}:{analysis}:{arm}",
                        arm,
                        row,
                        "not compared",
                        f"Not analysed (arm not compared)\nn = {left_out}",
                        left_out,
                        stage=stages["analysis"],
                        label=label,
                    )
                )
                continue
            boxes.append(
                FlowBox(
                    f"analysed:{names}:{analysis}:{arm}",
                    arm,
                    row,
                    "analysed",
                    f"Analysed\nn = {analysed}",
                    analysed,
                    stage=stages["analysis"],
                    label=label,
                )
            )
            reasons = tuple((r, n[arm]) for r, n in counts["excluded"] if n[arm])
            total = sum(n for _, n in reasons)
            lines = ["Excluded from analysis", f"n = {total}"]
            lines += [f"{r}: {n}" for r, n in reasons]
            boxes.append(
                FlowBox(
                    f"excluded:{names}:{analysis}:{arm}",
                    arm,
                    row,
                    "excluded",
                    "\n".join(lines),
                    total,
                    reasons,
                    stage=stages["analysis"],
                    label=label,
                )
            )
        row += 1
    return boxes


def _checked(flow: ParticipantFlow, arms: Sequence[str]) -> pd.DataFrame:
    table = flow.table
    needed = ["stage", "outcome", "analysis", "total"]
    missing = [c for c in needed if c not in table.columns]
    if missing or list(table.columns[:3]) != needed[:3] or table.columns[-1] != "total":
        raise DataError(
            "participant flow table: the columns must be stage, outcome, analysis, "
            f"one per group, total; it has {', '.join(map(str, table.columns))}"
        )
    if isinstance(arms, str) or len(arms) < 1:
        raise DataError("participant flow: arms must be a sequence of group names")
    for arm in arms:
        if arm not in table.columns[3:-1]:
            raise DataError(
                f"participant flow: arm {arm!r} is not a group of the flow table "
                f"({', '.join(map(str, table.columns[3:-1]))})"
            )
    if (table["stage"] == "recruited").sum() != 1:
        raise DataError("participant flow table: it needs exactly one recruited row")
    table = table.copy()
    for column in ("outcome", "analysis"):
        table[column] = table[column].fillna("").astype(str)
    return table


def _analysis_groups(table: pd.DataFrame, analyses: Sequence[str] | None):
    """(outcomes, analysis, counts) for each row of analysis boxes, outcomes with
    the same counts in every group sharing one row; in table order."""
    groups = list(table.columns[3:-1])
    rows = table[table["outcome"] != ""]
    if analyses is None:
        first = rows.drop_duplicates("outcome")
        chosen = list(zip(first["outcome"], first["analysis"], strict=True))
    else:
        unknown = set(analyses) - set(rows["analysis"])
        if unknown:
            raise DataError(
                "participant flow: no analysis named "
                + ", ".join(sorted(map(repr, unknown)))
            )
        pairs = rows[["outcome", "analysis"]].drop_duplicates()
        chosen = [
            (o, a)
            for o, a in zip(pairs["outcome"], pairs["analysis"], strict=True)
            if a in analyses
        ]
    merged: dict[tuple, list[str]] = {}
    for outcome, analysis in chosen:
        part = rows[(rows["outcome"] == outcome) & (rows["analysis"] == analysis)]
        analysed = part[part["stage"] == "analysed"]
        if len(analysed) != 1:
            raise DataError(
                f"participant flow table: {outcome!r} ({analysis}) needs one "
                "analysed row"
            )
        excluded = part[part["stage"].str.startswith("excluded: ")]
        key = (
            analysis,
            tuple(int(analysed.iloc[0][g]) for g in groups),
            tuple(
                (s.removeprefix("excluded: "), tuple(int(r[g]) for g in groups))
                for s, (_, r) in zip(
                    excluded["stage"], excluded.iterrows(), strict=True
                )
            ),
        )
        merged.setdefault(key, []).append(outcome)
    for (analysis, analysed, excluded), outcomes in merged.items():
        counts = {
            "analysed": dict(zip(groups, analysed, strict=True)),
            "excluded": [
                (reason, dict(zip(groups, n, strict=True))) for reason, n in excluded
            ],
        }
        yield outcomes, analysis, counts


def flow_description(boxes: Sequence[FlowBox]) -> str:
    """A text alternative of the diagram: every box's text, row by row.

    Examples
    --------
    >>> flow_description([FlowBox("recruited", "", 0, "recruited",
    ...                           "Recruited\\nn = 42", 42, stage="Enrolment")])
    'Enrolment: Recruited; n = 42.'
    """
    lines, said = [], set()
    for box in boxes:
        if box.label and box.label not in said:
            lines.append(f"{box.label}:")
            said.add(box.label)
        text = box.text.replace("\n", "; ")
        column = f"{box.column}, " if box.column else ""
        lines.append(f"{box.stage}: {column}{text}." if box.stage else f"{text}.")
    return " ".join(lines)


def plot_flow(
    flow: ParticipantFlow,
    arms: Sequence[str],
    *,
    randomised: bool,
    title: str | None = None,
    analyses: Sequence[str] | None = None,
):
    """Draw the participant-flow diagram (CONSORT or TREND wording).

    Parameters
    ----------
    flow : ParticipantFlow
        The run's flow; see :func:`flow_boxes`.
    arms : sequence of str
        Compared arms, intervention first; drawn in this order.
    randomised : bool
        CONSORT wording if true, TREND wording if not.
    title : str, optional
        Drawn above the diagram.
    analyses : sequence of str, optional
        See :func:`flow_boxes`.

    Returns
    -------
    matplotlib.figure.Figure
        9 inches wide (900 px at 100 dpi), as tall as the boxes need. Save it
        with :func:`render_flow` for byte-identical SVG.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.io import ParticipantFlow
    >>> table = pd.DataFrame({
    ...     "stage": ["recruited", "interviewed at baseline", "analysed"],
    ...     "outcome": ["", "", "wellbeing"], "analysis": ["", "", "ANCOVA"],
    ...     "a": [5, 5, 5], "b": [6, 6, 6], "total": [11, 11, 11]})
    >>> fig = plot_flow(ParticipantFlow(table, pd.DataFrame(), True), ["a", "b"],
    ...                 randomised=False)
    >>> float(fig.get_figwidth())
    9.0
    """
    boxes = flow_boxes(flow, arms, randomised, analyses=analyses)
    return _draw(boxes, title)


def _draw(boxes: Sequence[FlowBox], title: str | None):
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    columns = list(dict.fromkeys(b.column for b in boxes if b.column))
    span = (WIDTH - LEFT - 0.1) / max(len(columns), 1)
    main_w, side_w = 0.5 * span - 0.08, 0.5 * span - 0.25
    geometry: dict[str, tuple[float, float]] = {}  # id -> (x, width)
    for box in boxes:
        if not box.column:
            width = min(3.2, WIDTH - LEFT - 0.2)
            geometry[box.id] = (LEFT + (WIDTH - LEFT - width) / 2, width)
        elif box.kind in ("lost", "excluded"):
            geometry[box.id] = (
                LEFT + columns.index(box.column) * span + main_w + 0.25,
                side_w,
            )
        else:
            geometry[box.id] = (LEFT + columns.index(box.column) * span + 0.05, main_w)
    wrapped = {b.id: _wrap(b.text, geometry[b.id][1]) for b in boxes}
    rows = sorted({b.row for b in boxes})
    labels = {b.row: _wrap(b.label, WIDTH - LEFT - 0.2) for b in boxes if b.label}
    heights = {
        r: max(len(wrapped[b.id]) * LINE + 2 * PAD for b in boxes if b.row == r)
        for r in rows
    }
    above = {r: len(labels.get(r, [])) * LINE + 0.1 * (r in labels) for r in rows}
    top = 0.45 if title else 0.15
    height = (
        top + sum(heights.values()) + sum(above.values()) + GAP * (len(rows) - 1) + 0.1
    )
    tops, y = {}, height - top
    for r in rows:
        tops[r] = y - above[r]
        y -= above[r] + heights[r] + GAP
    fig = Figure(figsize=(WIDTH, height), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    if title:
        ax.text(
            WIDTH / 2,
            height - 0.12,
            title,
            ha="center",
            va="top",
            fontsize=FONT_SIZE + 2,
            fontweight="bold",
        )
    for r, lines in labels.items():
        ax.text(
            LEFT + 0.05,
            tops[r] + above[r] - 0.02,
            "\n".join(lines),
            ha="left",
            va="top",
            fontsize=FONT_SIZE,
            fontstyle="italic",
            linespacing=1.3,
            zorder=3,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    drawn: dict[str, tuple[float, float, float, float]] = {}
    for box in boxes:
        x, w = geometry[box.id]
        lines = wrapped[box.id]
        if box.kind in ("lost", "excluded"):
            h = len(lines) * LINE + 2 * PAD  # side boxes hang from the row's top
        else:
            h = heights[box.row]
        yb = tops[box.row] - h
        ax.add_patch(
            FancyBboxPatch(
                (x, yb),
                w,
                h,
                boxstyle="square,pad=0",
                facecolor=FILLS[box.kind],
                edgecolor=EDGE,
                linewidth=0.8,
            )
        )
        ax.text(
            x + 0.07,
            yb + h - PAD,
            "\n".join(lines),
            ha="left",
            va="top",
            fontsize=FONT_SIZE,
            color="black",
            linespacing=1.3,
        )
        drawn[box.id] = (x, yb, w, h)
    seen_stage = None
    for r in rows:
        stage = next(b.stage for b in boxes if b.row == r)
        if stage != seen_stage:
            ax.text(
                0.08,
                tops[r] + above[r] - 0.02,
                stage,
                ha="left",
                va="top",
                fontsize=FONT_SIZE + 0.5,
                fontweight="bold",
                color="black",
            )
            seen_stage = stage
    _arrows(ax, boxes, drawn)
    return fig


def _arrows(ax, boxes: Sequence[FlowBox], drawn) -> None:
    """Down each arm's column, from the recruited box through a branch line,
    and sideways to each side box."""
    style = {
        "arrowstyle": "-|>",
        "color": EDGE,
        "linewidth": 0.8,
        "shrinkA": 0,
        "shrinkB": 0,
        "mutation_scale": 8,
    }
    line = {"color": EDGE, "linewidth": 0.8}
    mains = [b for b in boxes if b.kind not in ("lost", "excluded")]
    root = next((b for b in mains if not b.column), None)
    by_column: dict[str, list[FlowBox]] = {}
    for box in mains:
        if box.column:
            by_column.setdefault(box.column, []).append(box)
    firsts = [drawn[chain[0].id] for chain in by_column.values()]
    if root is not None and firsts:
        rx, ry, rw, _ = drawn[root.id]
        top_of_first = max(y + h for _, y, _, h in firsts)
        branch = (ry + top_of_first) / 2
        ax.plot([rx + rw / 2, rx + rw / 2], [ry, branch], **line)
        centres = [x + w / 2 for x, _, w, _ in firsts]
        ax.plot([min(centres), max(centres)], [branch, branch], **line)
        for x, y, w, h in firsts:
            ax.annotate(
                "", xy=(x + w / 2, y + h), xytext=(x + w / 2, branch), arrowprops=style
            )
    for chain in by_column.values():
        for previous, box in itertools.pairwise(chain):
            px, py, pw, _ = drawn[previous.id]
            x, y, w, h = drawn[box.id]
            ax.annotate(
                "", xy=(x + w / 2, y + h), xytext=(px + pw / 2, py), arrowprops=style
            )
    for box in boxes:
        if box.kind in ("lost", "excluded"):
            main = next(b for b in mains if b.row == box.row and b.column == box.column)
            mx, _, mw, mh = drawn[main.id]
            sx, sy, _, sh = drawn[box.id]
            level = sy + sh - min(sh, mh) / 2
            ax.annotate("", xy=(sx, level), xytext=(mx + mw, level), arrowprops=style)


def _wrap(text: str, width_in: float) -> list[str]:
    chars = max(12, int(width_in * 72 / (FONT_SIZE * 0.56)) - 1)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""]
    return lines


def render_flow(fig) -> tuple[str, bytes]:
    """The diagram as SVG text and PNG bytes, the same on every run.

    The SVG keeps its text as text (searchable, and read by screen readers),
    has no date and uses a fixed hash salt for its ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.io import ParticipantFlow
    >>> table = pd.DataFrame({
    ...     "stage": ["recruited", "interviewed at baseline", "analysed"],
    ...     "outcome": ["", "", "wellbeing"], "analysis": ["", "", "ANCOVA"],
    ...     "a": [5, 5, 5], "b": [6, 6, 6], "total": [11, 11, 11]})
    >>> flow = ParticipantFlow(table, pd.DataFrame(), True)
    >>> svg, png = render_flow(plot_flow(flow, ["a", "b"], randomised=True))
    >>> "Allocated to a" in svg, png[:4] == b"\\x89PNG"
    (True, True)
    """
    import matplotlib

    settings = {"svg.hashsalt": "cpeval-flow", "svg.fonttype": "none"}
    with matplotlib.rc_context(settings):
        svg = io.StringIO()
        fig.savefig(svg, format="svg", dpi=100, metadata={"Date": None})
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
    return svg.getvalue(), png.getvalue()
