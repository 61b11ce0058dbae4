"""Tables as unformatted DataFrames plus a declared :class:`TableSpec`, and their
rendering (the only place numbers are formatted).

A table is a tidy frame of numbers and text and a spec saying how readers see it:
column headings, spanners over groups of columns, per-column (or per-row) formats,
merged columns (an interval as "a to b", "mean (SD)"), hidden columns and notes.
CSV is the frame as it is; XLSX keeps every number with an Excel number format;
HTML (great-tables), Markdown, LaTeX and DOCX show the formatted text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import html
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._format import is_missing as _missing
from .exceptions import DataError

__all__ = [
    "COLUMN_FORMATS",
    "Merge",
    "TableSpec",
    "baseline_table",
    "docx_table",
    "format_value",
    "interval",
    "render_table",
    "table_one",
    "table_one_spec",
]

FORMATS = ("csv", "md", "html", "tex", "xlsx", "docx")

#: How a column's numbers are shown: ``number`` (the table's decimals), ``p``
#: (3 decimals, "<0.001"), ``percent`` (a proportion as a whole percentage,
#: "under 1%"/"over 99%" at the extremes), ``money`` (£, thousands separated,
#: whole pounds), ``qaly`` (3 decimals) and ``count`` (a whole number).
ColumnFormat = Literal["number", "p", "percent", "money", "qaly", "count"]
COLUMN_FORMATS: tuple[str, ...] = ("number", "p", "percent", "money", "qaly", "count")
# Excel number formats with the same meaning (XLSX cells keep the full number)
_EXCEL = {
    "p": "0.000",
    "percent": "0%",
    "money": '"£"#,##0;-"£"#,##0',
    "qaly": "0.000",
    "count": "0",
}
#: Tables with more shown columns than this get a landscape page in DOCX.
WIDE_COLUMNS = 8
_PLACEHOLDER = re.compile(r"\{(\d+)\}")


@dataclass(frozen=True)
class Merge:
    """Several columns shown to readers as one, by a pattern.

    Parameters
    ----------
    columns : sequence of str
        The first column takes the merged text (and its place); the others are
        not shown. CSV and XLSX keep every column as it is.
    pattern : str or sequence of str
        ``{1}``, ``{2}``, ... stand for the columns' formatted values. Given
        several patterns, each row uses the first whose values are all present
        (blank if none is).
    label : str
        Heading of the merged column (the first column's label if empty).

    Examples
    --------
    >>> from cpeval.tables import Merge
    >>> Merge(("mean", "sd"), "{1} ({2})").patterns
    ('{1} ({2})',)
    """

    columns: tuple[str, ...]
    pattern: str | tuple[str, ...]
    label: str = ""

    def __post_init__(self) -> None:
        columns = tuple(map(str, self.columns))
        patterns = (
            (self.pattern,) if isinstance(self.pattern, str) else tuple(self.pattern)
        )
        if not columns or not patterns:
            raise DataError("a merge needs columns and a pattern")
        for pattern in patterns:
            used = {int(k) for k in _PLACEHOLDER.findall(pattern)}
            if not used or not used <= set(range(1, len(columns) + 1)):
                raise DataError(
                    f"merge pattern {pattern!r} must use {{1}} to {{{len(columns)}}}"
                )
        object.__setattr__(self, "columns", columns)
        object.__setattr__(
            self, "pattern", patterns[0] if len(patterns) == 1 else patterns
        )

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns, in the order they are tried."""
        return (self.pattern,) if isinstance(self.pattern, str) else self.pattern


def interval(low: str, high: str, label: str = "95% CI") -> Merge:
    """Two columns shown as one interval, "a to b" (CSV and XLSX keep both).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.tables import TableSpec, interval, render_table
    >>> t = pd.DataFrame({"lo": [-0.5], "hi": [1.25]})
    >>> spec = TableSpec(merges=[interval("lo", "hi")])
    >>> render_table(t, "md", spec=spec).decode().splitlines()[::2]
    ['| 95% CI |', '| -0.50 to 1.25 |']
    """
    return Merge((low, high), "{1} to {2}", label)


@dataclass(frozen=True)
class TableSpec:
    """How readers see a table: a tidy frame plus this spec is a table.

    Parameters
    ----------
    title : str
        Caption (HTML, LaTeX), heading (DOCX) or sheet name (XLSX).
    labels : mapping of column to str
        Column headings for readers (CSV keeps the frame's own names).
    formats : mapping of column to format
        See :data:`COLUMN_FORMATS`; other columns round to the decimals.
    spanners : mapping of heading to columns, or sequence of (heading, columns)
        A heading over a run of adjacent shown columns (e.g. an arm over n,
        mean and SD, or "baseline" and "follow-up"). Markdown and XLSX, which
        have one heading row, show "heading: label".
    notes : sequence of str
        Source notes under the table.
    merges : sequence of Merge or (columns, pattern[, label])
        Columns shown as one (see :class:`Merge` and :func:`interval`).
    hidden : sequence of str
        Columns not shown to readers (CSV and XLSX keep them).
    row_key, row_formats : str and mapping of row key to format, optional
        For tables with a row per quantity: every number in the row whose
        ``row_key`` column holds a key of ``row_formats`` takes that format,
        except in columns that have a format of their own in ``formats``.
    decimals : int, optional
        Decimals of plain numbers (``render_table``'s ``decimals`` otherwise).

    Examples
    --------
    >>> from cpeval.tables import TableSpec
    >>> spec = TableSpec("costs", labels={"m": "mean"}, formats={"m": "money"},
    ...                  spanners={"Connecting People": ["m"]})
    >>> spec.spanners
    (('Connecting People', ('m',)),)
    """

    title: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, ColumnFormat] = field(default_factory=dict)
    spanners: Any = ()
    notes: Sequence[str] = ()
    merges: Sequence[Any] = ()
    hidden: Sequence[str] = ()
    row_key: str | None = None
    row_formats: Mapping[str, ColumnFormat] = field(default_factory=dict)
    decimals: int | None = None

    def __post_init__(self) -> None:
        def frozen(mapping, what: str) -> MappingProxyType:
            if not isinstance(mapping, Mapping):
                raise DataError(f"TableSpec {what} must be a mapping")
            return MappingProxyType({str(k): v for k, v in mapping.items()})

        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("labels", frozen(self.labels or {}, "labels"))
        set_("formats", frozen(self.formats or {}, "formats"))
        set_("row_formats", frozen(self.row_formats or {}, "row_formats"))
        for what, mapping in (
            ("formats", self.formats),
            ("row_formats", self.row_formats),
        ):
            unknown = sorted(set(map(str, mapping.values())) - set(COLUMN_FORMATS))
            if unknown:
                raise DataError(
                    f"{what}: column formats {unknown} are not among {COLUMN_FORMATS}"
                )
        spanners = self.spanners
        pairs = spanners.items() if isinstance(spanners, Mapping) else spanners or ()
        set_(
            "spanners",
            tuple(
                (str(h), (cs,) if isinstance(cs, str) else tuple(map(str, cs)))
                for h, cs in pairs
            ),
        )
        merges = tuple(
            m if isinstance(m, Merge) else Merge(*m) for m in self.merges or ()
        )
        set_("merges", merges)
        set_("notes", tuple(map(str, self.notes or ())))
        hidden = self.hidden or ()
        set_(
            "hidden", (hidden,) if isinstance(hidden, str) else tuple(map(str, hidden))
        )
        placed = [c for _, cs in self.spanners for c in cs]
        merged = [c for m in merges for c in m.columns]
        for what, names in (("spanners", placed), ("merges", merged)):
            twice = sorted({c for c in names if names.count(c) > 1})
            if twice:
                raise DataError(f"columns {twice} are in more than one of the {what}")

    def replace(self, **changes: Any) -> TableSpec:
        """A copy with some fields changed.

        Examples
        --------
        >>> from cpeval.tables import TableSpec
        >>> TableSpec("a").replace(title="b").title
        'b'
        """
        return dataclasses.replace(self, **changes)


def baseline_table(
    data: pd.DataFrame, variables: Sequence[str], group: str
) -> pd.DataFrame:
    """Baseline characteristics by group: mean (SD) or n (%), missing, SMD.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant (baseline records).
    variables : sequence of str
        Numeric variables are summarised by mean and SD, others by category.
    group : str

    Returns
    -------
    pandas.DataFrame
        Long table: ``variable``, ``level``, ``group``, ``n``, ``mean``, ``sd``,
        ``median``, ``q1``, ``q3`` (numeric variables), ``count``, ``percent``
        (categories), ``missing``; and ``smd`` (pooled-SD standardised difference
        between the two groups, on the second group's row of each variable).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.tables import baseline_table
    >>> d = pd.DataFrame({"arm": ["a", "a", "b", "b"], "age": [30, 40, 50, 60]})
    >>> baseline_table(d, ["age"], "arm")["mean"].tolist()
    [35.0, 55.0]
    """
    absent = [v for v in [*variables, group] if v not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    groups = sorted(data[group].dropna().unique(), key=str)
    rows = []
    for name in variables:
        values = data[name]
        numeric = pd.api.types.is_numeric_dtype(values)
        for g in groups:
            part = values[data[group] == g]
            base = {
                "variable": name,
                "group": g,
                "n": int(part.notna().sum()),
                "missing": int(part.isna().sum()),
            }
            if numeric:
                rows.append(
                    {
                        **base,
                        "level": "",
                        "mean": part.mean(),
                        "sd": part.std(ddof=1),
                        "median": part.median(),
                        "q1": part.quantile(0.25),
                        "q3": part.quantile(0.75),
                    }
                )
            else:
                counts = part.value_counts()
                for level in sorted(values.dropna().unique(), key=str):
                    count = int(counts.get(level, 0))
                    rows.append(
                        {
                            **base,
                            "level": str(level),
                            "count": count,
                            "percent": 100 * count / max(part.notna().sum(), 1),
                        }
                    )
        if numeric and len(groups) == 2:
            a, b = (values[data[group] == g].dropna() for g in groups)
            pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
            rows[-1]["smd"] = (b.mean() - a.mean()) / pooled if pooled > 0 else np.nan
    columns = [
        "variable",
        "level",
        "group",
        "n",
        "mean",
        "sd",
        "median",
        "q1",
        "q3",
        "count",
        "percent",
        "missing",
        "smd",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    counts = ["n", "count", "missing"]  # whole numbers, blank where they do not apply
    return table.astype({c: "Int64" for c in counts})


_STATISTICS = (
    "n",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "count",
    "proportion",
    "missing",
)


def table_one(
    data: pd.DataFrame,
    variables: Sequence[str],
    group: str,
    arms: Sequence[object],
    *,
    median: bool = True,
    overall: str = "Overall",
) -> pd.DataFrame:
    """Table 1, wide: a row per variable (and level or statistic), a column
    block per arm in the order given, then all arms together.

    As gtsummary's ``tbl_summary(by=)``: numeric variables as mean (SD) and,
    with ``median``, median (IQR); categories as n (%). The frame is tidy and
    numeric (CSV, XLSX); :func:`table_one_spec` says how readers see it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant (baseline records).
    variables : sequence of str
        Numeric (not boolean) variables are summarised by mean and SD, others by
        category (in the order of a categorical dtype, otherwise sorted).
    group : str
        The column holding each participant's arm.
    arms : sequence
        The arms to compare, in the order shown: the intervention first, then
        the comparator (never guessed from sort order). With two arms, ``smd``
        is the first minus the second. Participants of other arms are left out.
    median : bool
        Add a "median (IQR)" row after each numeric variable's "mean (SD)".
    overall : str
        Name of the column block of all the arms together.

    Returns
    -------
    pandas.DataFrame
        ``variable``; ``level`` ("mean (SD)", "median (IQR)" or the category);
        for each arm and then ``overall`` (``X``): ``n (X)`` (participants with
        a value), ``mean (X)``, ``sd (X)``, ``median (X)``, ``q1 (X)``,
        ``q3 (X)``, ``count (X)``, ``proportion (X)`` (of those with a value),
        ``missing (X)`` (on the variable's first row); and ``smd``
        (standardised difference, pooled SD; for a category, of proportions).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.tables import table_one
    >>> d = pd.DataFrame({"arm": ["b", "b", "a", "a"], "age": [30, 40, 50, 60]})
    >>> t = table_one(d, ["age"], "arm", ["b", "a"], median=False)
    >>> t[["mean (b)", "mean (a)", "mean (Overall)"]].values.tolist()
    [[35.0, 55.0, 45.0]]
    """
    absent = [v for v in [*variables, group] if v not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    arms = list(arms)
    names = [str(a) for a in arms]
    if not arms or len(set(names)) < len(names):
        raise DataError(f"table_one needs distinct arms; got {names}")
    if overall in names:
        raise DataError(f"an arm is called {overall!r}; give overall= another name")
    held = set(data[group].dropna().tolist())
    unknown = [str(a) for a in arms if a not in held]
    if unknown:
        shown = sorted(map(str, held))[:10]
        raise DataError(
            f"arms {unknown} are not in column {group!r} (it holds {shown})"
        )
    part = data[data[group].isin(arms)]
    blocks = [(n, part[part[group] == a]) for n, a in zip(names, arms, strict=True)]
    blocks.append((overall, part))
    rows: list[dict] = []
    for name in variables:
        values = part[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not (
            pd.api.types.is_bool_dtype(values)
        )
        first = len(rows)
        if numeric:
            rows += _numeric_rows(name, blocks, median)
            if len(arms) == 2:
                rows[first]["smd"] = _numeric_smd(name, blocks[0][1], blocks[1][1])
        else:
            rows += _category_rows(name, values, blocks, len(arms) == 2)
        for label, frame in blocks:
            rows[first][f"missing ({label})"] = int(frame[name].isna().sum())
    columns = ["variable", "level"]
    columns += [f"{s} ({label})" for label, _ in blocks for s in _STATISTICS]
    table = pd.DataFrame(rows, columns=[*columns, "smd"]).reindex(
        columns=[*columns, "smd"]
    )
    counts = [c for c in columns if c.startswith(("n (", "count (", "missing ("))]
    table = table.astype({c: "Int64" for c in counts})
    floats = [c for c in table.columns[2:] if c not in counts]
    return table.astype({c: "float64" for c in floats})


def _numeric_rows(name: str, blocks, median: bool) -> list[dict]:
    mean_row: dict = {"variable": name, "level": "mean (SD)"}
    median_row: dict = {"variable": name, "level": "median (IQR)"}
    for label, frame in blocks:
        values = frame[name].dropna().astype(float)
        n = {f"n ({label})": len(values)}
        mean_row |= n | {
            f"mean ({label})": values.mean() if len(values) else np.nan,
            f"sd ({label})": values.std(ddof=1) if len(values) > 1 else np.nan,
        }
        median_row |= n | {
            f"median ({label})": values.median() if len(values) else np.nan,
            f"q1 ({label})": values.quantile(0.25) if len(values) else np.nan,
            f"q3 ({label})": values.quantile(0.75) if len(values) else np.nan,
        }
    return [mean_row, median_row] if median else [mean_row]


def _category_rows(name: str, values: pd.Series, blocks, pair: bool) -> list[dict]:
    """A row per category: n (%) in each block; with two arms, the SMD of the
    proportions, first arm minus second, over sqrt of the mean p(1 - p)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = list(values.cat.categories)
    else:
        levels = sorted(values.dropna().unique().tolist(), key=str)
    rows = []
    for level in levels or [None]:
        row: dict = {"variable": name, "level": "" if level is None else str(level)}
        shares = []
        for label, frame in blocks:
            present = frame[name].dropna()
            count = int((present == level).sum()) if level is not None else 0
            share = count / len(present) if len(present) else np.nan
            shares.append(share)
            row |= {
                f"n ({label})": len(present),
                f"count ({label})": count,
                f"proportion ({label})": share,
            }
        if pair and level is not None:
            p, q = shares[:2]
            spread = np.sqrt((p * (1 - p) + q * (1 - q)) / 2)
            row["smd"] = (p - q) / spread if spread > 0 else np.nan
        rows.append(row)
    return rows


def _numeric_smd(name: str, a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Standardised difference of means, first arm minus second, pooled SD."""
    x, y = a[name].dropna().astype(float), b[name].dropna().astype(float)
    pooled = np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    ok = len(x) > 1 and len(y) > 1 and pooled > 0
    return float((x.mean() - y.mean()) / pooled) if ok else np.nan


def _blocks(table: pd.DataFrame) -> list[str]:
    """The column blocks (arms, then overall) of a :func:`table_one` frame."""
    return [
        str(c)[len("proportion (") : -1]
        for c in table.columns
        if str(c).startswith("proportion (") and str(c).endswith(")")
    ]


def table_one_spec(
    table: pd.DataFrame, *, title: str = "baseline", spanner: str = "arm"
) -> TableSpec:
    """How readers see a :func:`table_one` frame: a column per arm and overall,
    headed with its n, holding "mean (SD)", "median (IQR)" or "n (%)"; the
    missing count (all arms) and the SMD.

    Parameters
    ----------
    table : pandas.DataFrame
        As :func:`table_one` returns it.
    title : str
    spanner : str
        Heading over the arms' columns ("" for none).

    Returns
    -------
    TableSpec

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.tables import render_table, table_one, table_one_spec
    >>> d = pd.DataFrame({"arm": ["b", "b", "a", "a"], "age": [30, 40, 50, 60]})
    >>> t = table_one(d, ["age"], "arm", ["b", "a"], median=False)
    >>> md = render_table(t, "md", spec=table_one_spec(t, spanner=""))
    >>> md.decode().splitlines()[2]
    '| age | mean (SD) | 35.00 (7.07) | 55.00 (7.07) | 45.00 (12.91) | 0 | -2.83 |'
    """
    blocks = _blocks(table)
    if not blocks:
        raise DataError("table_one_spec needs a frame made by table_one")
    *arms, overall = blocks
    labels = {
        "variable": "characteristic",
        "level": "statistic or category",
        "smd": "SMD",
    }
    formats: dict[str, str] = {"smd": "number"}
    merges, hidden = [], []
    for label in blocks:
        size = ""
        if len(table):
            total = table[f"n ({label})"].iloc[0] + table[f"missing ({label})"].iloc[0]
            size = "" if _missing(total) else f" (n = {int(total):,})"
        merges.append(
            Merge(
                tuple(
                    f"{s} ({label})"
                    for s in ("mean", "sd", "median", "q1", "q3", "count", "proportion")
                ),
                ("{1} ({2})", "{3} ({4} to {5})", "{6} ({7})", "{1}", "{3}", "{6}"),
                f"{label}{size}",
            )
        )
        formats |= {f"{s} ({label})": "count" for s in ("n", "count", "missing")}
        formats[f"proportion ({label})"] = "percent"
        hidden.append(f"n ({label})")
        if label != overall:
            hidden.append(f"missing ({label})")
        for s in ("n", "mean", "sd", "median", "q1", "q3", "count", "proportion"):
            labels.setdefault(f"{s} ({label})", f"{s} ({label})")
    labels[f"missing ({overall})"] = "missing"
    notes = [
        "Numeric characteristics as mean (SD) and median (IQR: lower to upper "
        "quartile), categories as n (%) of those with a value; missing: "
        "participants without a value."
    ]
    if len(arms) == 2:
        notes.append(
            f"SMD: standardised difference, {arms[0]} minus {arms[1]} (pooled SD; "
            "for a category, of proportions)."
        )
    spanners = {spanner: [f"mean ({a})" for a in arms]} if spanner and arms else {}
    return TableSpec(
        title,
        labels=labels,
        formats=formats,
        spanners=spanners,
        notes=notes,
        merges=merges,
        hidden=hidden,
    )


def render_table(
    table: pd.DataFrame,
    fmt: str,
    *,
    decimals: int = 2,
    title: str = "",
    formats: Mapping[str, ColumnFormat] | None = None,
    labels: Mapping[str, str] | None = None,
    spec: TableSpec | None = None,
) -> bytes:
    """Render a table to CSV, Markdown, HTML, LaTeX, XLSX or DOCX.

    Parameters
    ----------
    table : pandas.DataFrame
        The tidy, unrounded data.
    fmt : {"csv", "md", "html", "tex", "xlsx", "docx"}
        CSV is the frame as it is (text cells a spreadsheet would run are
        defused); XLSX keeps every number, with the declared Excel number
        formats; the others show the formatted text. HTML is a self-contained
        great-tables fragment with a caption; LaTeX needs booktabs; DOCX needs
        python-docx (``pip install 'cpeval[docx]'``).
    decimals : int
        Decimals of plain numbers, unless the spec declares them.
    title : str
        Caption (HTML, LaTeX), heading (DOCX) or sheet name (XLSX); replaces
        the spec's title when given.
    formats : mapping of column to format, optional
        How each named column is shown (see :data:`COLUMN_FORMATS`); added to
        (and overriding) the spec's.
    labels : mapping of column to str, optional
        Column headings for readers; added to (and overriding) the spec's.
    spec : TableSpec, optional
        The declared headings, spanners, formats, merges and notes.

    Returns
    -------
    bytes
        The same bytes for the same table and spec, run after run.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.tables import render_table
    >>> render_table(pd.DataFrame({"x": [1.23456]}), "md").decode().splitlines()[2]
    '| 1.23 |'
    >>> t = pd.DataFrame({"p": [0.0516, 0.0004], "cost": [1234.5, -20.0]})
    >>> md = render_table(t, "md", formats={"p": "p", "cost": "money"}).decode()
    >>> md.splitlines()[2:]
    ['| 0.052 | £1,234 |', '| <0.001 | -£20 |']
    """
    if fmt not in FORMATS:
        raise DataError(f"fmt must be one of {FORMATS}; got {fmt!r}")
    if fmt == "csv":
        return _as_text(table).to_csv(index=False, lineterminator="\n").encode()
    spec = _with(spec or TableSpec(), title, formats, labels)
    if fmt == "xlsx":
        return _xlsx(table, spec)
    shown = _shown(table, spec, decimals)
    if fmt == "md":
        return _markdown(shown).encode()
    if fmt == "html":
        return _html_once(table, shown).encode()
    if fmt == "tex":
        return _latex(shown).encode()
    return _docx_bytes(shown)


def _with(spec: TableSpec, title, formats, labels) -> TableSpec:
    return spec.replace(
        title=title or spec.title,
        formats={**spec.formats, **(formats or {})},
        labels={**spec.labels, **(labels or {})},
    )


@dataclass
class _Shown:
    """A table as readers see it: shown columns, their headings, text cells."""

    title: str
    columns: list[str]
    headings: dict[str, str]
    cells: list[list[str]]
    spanners: list[tuple[str, list[str]]]
    numeric: set[str]
    notes: tuple[str, ...]

    def flat(self, column: str) -> str:
        """The heading with its spanner, for formats with one heading row."""
        for label, columns in self.spanners:
            if column in columns:
                return f"{label}: {self.headings[column]}"
        return self.headings[column]


def _frame(table: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The table with string column names, checked against the spec."""
    frame = table.rename(columns=str)
    twice = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if twice:
        raise DataError(f"the table has columns {twice} more than once")
    named = [c for _, cs in spec.spanners for c in cs]
    named += [c for m in spec.merges for c in m.columns]
    named += list(spec.hidden) + ([spec.row_key] if spec.row_key else [])
    absent = sorted(set(named) - set(frame.columns))
    if absent:
        raise DataError(f"the table spec names columns {absent} the table lacks")
    return frame


def _kinds(frame: pd.DataFrame, spec: TableSpec) -> dict[str, list[str]]:
    """Each cell's format: the row's (``row_formats``) or the column's."""
    rows = (
        [spec.row_formats.get(str(v)) for v in frame[spec.row_key].tolist()]
        if spec.row_key
        else [None] * len(frame)
    )
    return {
        c: [spec.formats.get(c) or r or "number" for r in rows]
        if c != spec.row_key
        else ["number"] * len(frame)
        for c in frame.columns
    }


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool | np.bool_)
    )


def _shown(table: pd.DataFrame, spec: TableSpec, decimals: int) -> _Shown:
    frame = _frame(table, spec)
    places = decimals if spec.decimals is None else spec.decimals
    kinds = _kinds(frame, spec)
    values = {c: frame[c].tolist() for c in frame.columns}
    text = {
        c: [
            format_value(v, k, places) for v, k in zip(values[c], kinds[c], strict=True)
        ]
        for c in frame.columns
    }
    numeric = {
        c
        for c in frame.columns
        if any(_is_number(v) and not _missing(v) for v in values[c])
    }
    headings = {c: spec.labels.get(c, c) for c in frame.columns}
    gone = set(spec.hidden)
    for merge in spec.merges:
        text[merge.columns[0]] = [
            _merged(
                merge,
                [values[c][i] for c in merge.columns],
                [text[c][i] for c in merge.columns],
            )
            for i in range(len(frame))
        ]
        gone |= set(merge.columns[1:])
        numeric.add(merge.columns[0])
        if merge.label:
            headings[merge.columns[0]] = merge.label
    columns = [c for c in frame.columns if c not in gone]
    spanners = []
    for label, named in spec.spanners:
        under = [c for c in named if c in columns]
        places_ = sorted(columns.index(c) for c in under)
        if places_ and places_ != list(range(places_[0], places_[0] + len(places_))):
            raise DataError(f"spanner {label!r} is over columns that are not adjacent")
        if under:
            spanners.append((label, [columns[k] for k in places_]))
    cells = [[text[c][i] for c in columns] for i in range(len(frame))]
    return _Shown(
        spec.title,
        columns,
        headings,
        cells,
        spanners,
        numeric & set(columns),
        spec.notes,
    )


def _merged(merge: Merge, raw: list, shown: list[str]) -> str:
    for pattern in merge.patterns:
        used = [int(k) for k in _PLACEHOLDER.findall(pattern)]
        if all(not _missing(raw[k - 1]) for k in used):
            return _PLACEHOLDER.sub(lambda m: shown[int(m.group(1)) - 1], pattern)
    return ""


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets may evaluate


def _defused(value):
    """Text a spreadsheet could run as a formula, prefixed with ' (OWASP CSV
    injection); numbers, including negative ones, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _as_text(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell and column name defused (for CSV)."""
    out = table.rename(columns=lambda c: _defused(str(c)))
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]):
            out[name] = out[name].map(_defused).astype(object)
    return out


def _md(text: str) -> str:
    """A Markdown table cell: bars escaped, line breaks as spaces, and anything
    that would start an HTML tag or entity escaped (Markdown passes raw HTML
    through); "<0.001" stays as it is."""
    text = re.sub(r"&(?=#?\w+;)", "&amp;", str(text))
    text = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _markdown(shown: _Shown) -> str:
    head = "| " + " | ".join(_md(shown.flat(c)) for c in shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    body = ["| " + " | ".join(map(_md, row)) + " |" for row in shown.cells]
    notes = ["", *(_md(n) for n in shown.notes)] if shown.notes else []
    return "\n".join([head, rule, *body, *notes]) + "\n"


def format_value(value: object, kind: str = "number", decimals: int = 2) -> str:
    """One cell as a reader sees it (see :data:`COLUMN_FORMATS`).

    Examples
    --------
    >>> from cpeval.tables import format_value
    >>> format_value(0.0004, "p"), format_value(0.995, "percent")
    ('<0.001', 'over 99%')
    >>> format_value(-1234.5, "money"), format_value(12.0, "count")
    ('-£1,234', '12')
    >>> format_value(-0.001), format_value(-0.4, "money"), format_value(-0.0001, "qaly")
    ('0.00', '£0', '0.000')
    """
    if _missing(value):
        return ""
    if not _is_number(value):
        return str(value)
    number = float(value)
    if kind == "p":
        return "<0.001" if number < 0.001 else f"{number:.3f}"
    if kind == "percent":
        if number < 0.01:
            return "under 1%" if number > 0 else "0%"
        if number > 0.99:
            return "over 99%" if number < 1 else "100%"
        return f"{100 * number:.0f}%"
    # "z": a value that rounds to zero is shown as 0, never -0 (PEP 682)
    if kind == "money":
        text = f"{number:z,.0f}"
        return f"-£{text[1:]}" if text.startswith("-") else f"£{text}"
    if kind == "qaly":
        return f"{number:z.3f}"
    if kind == "count":
        return f"{number:z,.0f}"
    if isinstance(value, int | np.integer):
        return str(value)
    return f"{number:z,.{decimals}f}"


_CSS = (
    "#{id} table{{border-collapse:collapse}}"
    "#{id} caption{{font-weight:bold;text-align:left}}"
    "#{id} th,#{id} td{{padding:.25em .5em;vertical-align:bottom}}"
    "#{id} .gt_left{{text-align:left}}#{id} .gt_right{{text-align:right}}"
    "#{id} .gt_center{{text-align:center}}"
    "#{id} .gt_sourcenote{{font-size:.9em;text-align:left}}"
)


def _html_id(title: str) -> str:
    """A fixed element id from the title (reruns give the same bytes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
    digest = hashlib.sha256(title.encode()).hexdigest()[:6]
    return f"cpeval-{slug or 'table'}-{digest}"


def _html(shown: _Shown) -> str:
    """The table by great-tables, with a fixed id, a <caption>, its own small
    stylesheet (no fonts or links fetched) and every string escaped."""
    from great_tables import GT
    from great_tables import html as raw

    def text(value: str):  # escaped; braces as entities, not GT's units syntax
        escaped = html.escape(value).replace("{", "&#123;").replace("}", "&#125;")
        return raw(escaped)

    ident = _html_id(shown.title)
    keys = [f"c{k}" for k in range(len(shown.columns))]
    key = dict(zip(shown.columns, keys, strict=True))
    frame = pd.DataFrame(shown.cells, columns=keys, dtype=object)
    table = GT(frame, id=ident).cols_label(
        cases={key[c]: text(shown.headings[c]) for c in shown.columns}
    )
    right = [key[c] for c in shown.columns if c in shown.numeric]
    left = [k for k in keys if k not in right]
    if right:
        table = table.cols_align("right", columns=right)
    if left:
        table = table.cols_align("left", columns=left)
    for number, (label, columns) in enumerate(shown.spanners):
        table = table.tab_spanner(
            text(label), columns=[key[c] for c in columns], id=f"s{number}"
        )
    for note in shown.notes:
        table = table.tab_source_note(text(note))
    markup = table.as_raw_html()
    markup = re.sub(
        r"<style>.*?</style>",
        lambda _: "<style>" + _CSS.format(id=ident) + "</style>",
        markup,
        count=1,
        flags=re.S,
    )
    caption = f"<caption>{html.escape(shown.title)}</caption>" if shown.title else ""
    markup = re.sub(r"<table [^>]*>", lambda _: "<table>" + caption, markup, count=1)
    markup = re.sub(r">\s+<", "><", markup)
    markup = re.sub(r' (?:rowspan|colspan)="1"', "", markup)
    return markup.replace("</tr>", "</tr>\n").strip() + "\n"


# great-tables takes a tenth of a second or more a table, and a run shows each
# table several times (tables/<name>.html, the report page, the PDF's page). A
# frame's HTML is kept while that frame lives (dropped with it), and reused only
# for exactly what readers see (the same _Shown: cells, headings, spanners,
# notes, title), so it cannot go stale and nothing outlives the run's frames.
_HTML_KEPT: dict[int, tuple[_Shown, str]] = {}


def _html_once(table: pd.DataFrame, shown: _Shown) -> str:
    """:func:`_html`, rendered once for each frame and what it shows."""
    import weakref

    key = id(table)
    kept = _HTML_KEPT.get(key)
    if kept is not None and kept[0] == shown:
        return kept[1]
    markup = _html(shown)
    if kept is None:  # forget the frame's HTML when the frame is gone
        try:
            weakref.finalize(table, _HTML_KEPT.pop, key, None).atexit = False
        except TypeError:  # an object without weak references: not kept
            return markup
    _HTML_KEPT[key] = (shown, markup)
    return markup


def _latex(shown: _Shown) -> str:
    def esc(text: str) -> str:
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("_", r"\_"),
            ("#", r"\#"),
            ("$", r"\$"),
            ("{", r"\{"),
            ("}", r"\}"),
            ("^", r"\textasciicircum{}"),
            ("~", r"\textasciitilde{}"),
            ("<", r"\textless{}"),
            (">", r"\textgreater{}"),
            ("\r", " "),
            ("\n", " "),
        ):
            text = text.replace(a, b)
        return text

    lines = ["% needs \\usepackage{booktabs}", r"\begin{table}", r"\centering"]
    if shown.title:
        lines.append(rf"\caption{{{esc(shown.title)}}}")
    align = "".join("r" if c in shown.numeric else "l" for c in shown.columns)
    lines += [r"\begin{tabular}{" + align + "}", r"\toprule"]
    if shown.spanners:
        cells, rules, k = [], [], 0
        starts = {
            columns[0]: (label, len(columns)) for label, columns in shown.spanners
        }
        while k < len(shown.columns):
            if shown.columns[k] in starts:
                label, width = starts[shown.columns[k]]
                cells.append(rf"\multicolumn{{{width}}}{{c}}{{{esc(label)}}}")
                rules.append(rf"\cmidrule(lr){{{k + 1}-{k + width}}}")
                k += width
            else:
                cells.append("")
                k += 1
        lines += [" & ".join(cells) + r" \\", " ".join(rules)]
    lines.append(" & ".join(esc(shown.headings[c]) for c in shown.columns) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(esc(v) for v in row) + r" \\" for row in shown.cells]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"\par\footnotesize {esc(n)}" for n in shown.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _xlsx(table: pd.DataFrame, spec: TableSpec) -> bytes:
    """Every column (hidden and merged ones too) with its full numbers, one
    heading row (a spanner as "spanner: label") and Excel number formats."""
    from openpyxl import Workbook

    frame = _frame(table, spec)
    kinds = _kinds(frame, spec)
    spanned = {c: label for label, cs in spec.spanners for c in cs}
    book = Workbook()
    sheet = book.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", spec.title or "table")[:31]
    sheet.append(
        [
            f"{spanned[c]}: {spec.labels.get(c, c)}"
            if c in spanned
            else spec.labels.get(c, c)
            for c in frame.columns
        ]
    )
    for row in frame.itertuples(index=False):
        sheet.append(
            [
                None if _missing(v) else (v.item() if isinstance(v, np.generic) else v)
                for v in row
            ]
        )
    columns = list(frame.columns)
    for cells in sheet.iter_rows(min_row=1):
        for cell in cells:  # text, never a live formula
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif cell.row > 1:
                kind = kinds[columns[cell.column - 1]][cell.row - 2]
                if kind in _EXCEL:
                    cell.number_format = _EXCEL[kind]
    sheet.freeze_panes = "A2"
    book.properties.created = book.properties.modified = dt.datetime(2000, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_times(buffer.getvalue())


_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def docx_table(
    document: Any,
    table: pd.DataFrame,
    spec: TableSpec | None = None,
    *,
    title: str = "",
    formats: Mapping[str, ColumnFormat] | None = None,
    labels: Mapping[str, str] | None = None,
    decimals: int = 2,
    heading_level: int | None = 2,
    portrait_after: bool = True,
) -> Any:
    """Append a table, as readers see it, to a python-docx ``Document``.

    The title becomes a heading, then the table in the "Table Grid" style: bold
    heading rows that repeat on every page (a spanner row with merged cells
    above the labels), numbers right-aligned, and the spec's notes below. A
    table of more than :data:`WIDE_COLUMNS` shown columns goes in a landscape
    section of its own.

    Parameters
    ----------
    document : docx.document.Document
        Appended to in place.
    table : pandas.DataFrame
        The tidy data.
    spec : TableSpec, optional
        Headings, spanners, formats, merges and notes.
    title, formats, labels : optional
        As for :func:`render_table`: added to (and overriding) the spec's.
    decimals : int
        Decimals of plain numbers, unless the spec declares them.
    heading_level : int or None
        Level of the title's heading (no heading if None or no title).
    portrait_after : bool
        After a landscape table, start a new portrait section, so what follows
        is portrait (False leaves the document ending in landscape).

    Returns
    -------
    docx.table.Table

    Examples
    --------
    >>> import docx, pandas as pd
    >>> from cpeval.tables import TableSpec, docx_table
    >>> document = docx.Document()
    >>> t = pd.DataFrame({"p_val": [0.0004]})
    >>> grid = docx_table(document, t, TableSpec("p", {"p_val": "p"}, {"p_val": "p"}))
    >>> [c.text for c in grid.column_cells(0)]
    ['p', '<0.001']
    """
    spec = _with(spec or TableSpec(), title, formats, labels)
    shown = _shown(table, spec, decimals)
    return _docx_add(document, shown, heading_level, portrait_after)


def _docx_add(document, shown: _Shown, heading_level, portrait_after):
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def orient(section, landscape: bool) -> None:
        width, height = section.page_width, section.page_height
        if width and height and (width > height) != landscape:
            section.page_width, section.page_height = height, width
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT

    def clean(text: str) -> str:
        return _XML_INVALID.sub("", text)

    wide = len(shown.columns) > WIDE_COLUMNS
    if wide:  # a fresh document's own section, or a new one
        blank = not document.tables and not any(p.text for p in document.paragraphs)
        section = document.sections[-1] if blank else document.add_section()
        orient(section, True)
    if shown.title and heading_level is not None:
        document.add_heading(clean(shown.title), level=heading_level)
    heads = 2 if shown.spanners else 1
    ncols = max(len(shown.columns), 1)
    grid = document.add_table(rows=heads, cols=ncols)
    with contextlib.suppress(KeyError, ValueError):  # a document without it
        grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    top = grid.rows[0].cells
    if shown.spanners:
        spanned = {c: label for label, cs in shown.spanners for c in cs}
        k = 0
        while k < len(shown.columns):
            column = shown.columns[k]
            if column in spanned:
                label = spanned[column]
                width = next(len(cs) for lb, cs in shown.spanners if cs[0] == column)
                cell = top[k].merge(top[k + width - 1]) if width > 1 else top[k]
                cell.text = clean(label)
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
                for j in range(k, k + width):
                    grid.rows[1].cells[j].text = clean(shown.headings[shown.columns[j]])
                k += width
            else:
                cell = top[k].merge(grid.rows[1].cells[k])
                cell.text = clean(shown.headings[column])
                k += 1
    else:
        for cell, column in zip(top, shown.columns, strict=False):
            cell.text = clean(shown.headings[column])
    for row in grid.rows[:heads]:
        properties = row._tr.get_or_add_trPr()
        flag = OxmlElement("w:tblHeader")
        flag.set(qn("w:val"), "true")
        properties.append(flag)
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.bold = True
    right = [k for k, c in enumerate(shown.columns) if c in shown.numeric]
    for values in shown.cells:
        cells = grid.add_row().cells
        for k, value in enumerate(values):
            cells[k].text = clean(value)
            if k in right:
                cells[k].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for note in shown.notes:
        document.add_paragraph(clean(note))
    if wide and portrait_after:
        orient(document.add_section(WD_SECTION.NEW_PAGE), False)
    return grid


def _docx_bytes(shown: _Shown) -> bytes:
    try:
        import docx
        from docx.shared import Mm
    except ImportError:
        raise DataError(
            "DOCX tables need python-docx: pip install 'cpeval[docx]'"
        ) from None
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4
    _docx_add(document, shown, 2, portrait_after=False)
    props = document.core_properties
    props.created = props.modified = dt.datetime(2000, 1, 1)
    props.last_printed = dt.datetime(2000, 1, 1)
    buffer = io.BytesIO()
    document.save(buffer)
    return _without_times(buffer.getvalue())


def _without_times(archive: bytes) -> bytes:
    """Rewrite a zip (xlsx) with fixed member times, so reruns are byte-identical."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*",
                    rb"\g<1>2000-01-01T00:00:00Z",
                    content,
                )
            target.writestr(fixed, content)
    return out.getvalue()
