"""Tables as unformatted DataFrames, and their rendering (the only place numbers
are formatted)."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._format import is_missing as _missing
from .exceptions import DataError

__all__ = ["COLUMN_FORMATS", "baseline_table", "format_value", "render_table"]

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


def render_table(
    table: pd.DataFrame,
    fmt: str,
    *,
    decimals: int = 2,
    title: str = "",
    formats: Mapping[str, ColumnFormat] | None = None,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """Render a table to CSV, Markdown, HTML, LaTeX or XLSX (numbers rounded here).

    Parameters
    ----------
    table : pandas.DataFrame
    fmt : {"csv", "md", "html", "tex", "xlsx", "docx"}
        CSV and XLSX keep full precision; the others round floats to
        ``decimals``. DOCX needs python-docx (``pip install 'cpeval[docx]'``).
    decimals : int
    title : str
        Caption (HTML, LaTeX) or sheet name (XLSX).
    formats : mapping of column to format, optional
        How each named column is shown (see :data:`COLUMN_FORMATS`); other
        columns round to ``decimals``. XLSX cells keep the full number with the
        matching Excel number format; CSV is never formatted.
    labels : mapping of column to str, optional
        Column headings for readers (every format but CSV, which keeps the
        table's own names, for scripts).

    Returns
    -------
    bytes

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
    formats = dict(formats or {})
    unknown = sorted(set(formats.values()) - set(COLUMN_FORMATS))
    if unknown:
        raise DataError(f"column formats {unknown} are not among {COLUMN_FORMATS}")
    shown = _formatted(table, decimals, formats)
    headings = {c: (labels or {}).get(str(c), str(c)) for c in table.columns}
    shown = shown.rename(columns=headings)
    if fmt == "md":
        cells = shown.rename(columns=_md).apply(lambda col: col.map(_md))
        head = "| " + " | ".join(cells.columns) + " |"
        rule = "| " + " | ".join("---" for _ in cells.columns) + " |"
        body = ["| " + " | ".join(row) + " |" for row in cells.to_numpy().tolist()]
        return ("\n".join([head, rule, *body]) + "\n").encode()
    if fmt == "html":
        return _html(shown, title).encode()
    if fmt == "tex":
        return _latex(shown, title).encode()
    if fmt == "docx":
        return _docx(shown, title)
    return _xlsx(table, title or "table", formats, headings)


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


def _formatted(
    table: pd.DataFrame, decimals: int, formats: Mapping[str, str]
) -> pd.DataFrame:
    shown = {
        name: [
            format_value(v, formats.get(str(name), "number"), decimals)
            for v in table[name].tolist()
        ]
        for name in table.columns
    }
    return pd.DataFrame(shown, index=table.index, columns=table.columns).astype(str)


def format_value(value: object, kind: str = "number", decimals: int = 2) -> str:
    """One cell as a reader sees it (see :data:`COLUMN_FORMATS`).

    Examples
    --------
    >>> from cpeval.tables import format_value
    >>> format_value(0.0004, "p"), format_value(0.995, "percent")
    ('<0.001', 'over 99%')
    >>> format_value(-1234.5, "money"), format_value(12.0, "count")
    ('-£1,234', '12')
    """
    if _missing(value):
        return ""
    if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
        value, bool
    ):
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
    if kind == "money":
        return f"{'-' if number < 0 else ''}£{abs(number):,.0f}"
    if kind == "qaly":
        return f"{number:.3f}"
    if kind == "count":
        return f"{number:,.0f}"
    if isinstance(value, int | np.integer):
        return str(value)
    return f"{number:,.{decimals}f}"


def _html(shown: pd.DataFrame, title: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
        for row in shown.to_numpy().tolist()
    )
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    return (
        f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"
    )


def _latex(shown: pd.DataFrame, title: str) -> str:
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
            ("\r", " "),
            ("\n", " "),
        ):
            text = text.replace(a, b)
        return text

    lines = [r"\begin{table}", r"\centering"]
    if title:
        lines.append(rf"\caption{{{esc(title)}}}")
    lines.append(r"\begin{tabular}{" + "l" * len(shown.columns) + "}")
    lines.append(r"\hline")
    lines.append(" & ".join(esc(c) for c in shown.columns) + r" \\")
    lines.append(r"\hline")
    lines += [
        " & ".join(esc(v) for v in row) + r" \\" for row in shown.to_numpy().tolist()
    ]
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _xlsx(
    table: pd.DataFrame,
    title: str,
    formats: Mapping[str, str],
    headings: Mapping[object, str],
) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([headings[c] for c in table.columns])
    for row in table.itertuples(index=False):
        sheet.append(
            [
                None if _missing(v) else (v.item() if isinstance(v, np.generic) else v)
                for v in row
            ]
        )
    columns = [str(c) for c in table.columns]
    for cells in sheet.iter_rows(min_row=1):
        for cell in cells:  # text, never a live formula
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif cell.row > 1:
                kind = formats.get(columns[cell.column - 1])
                if kind in _EXCEL:
                    cell.number_format = _EXCEL[kind]
    book.properties.created = book.properties.modified = dt.datetime(2000, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_times(buffer.getvalue())


def _docx(shown: pd.DataFrame, title: str) -> bytes:
    try:
        import docx
    except ImportError:
        raise DataError(
            "DOCX tables need python-docx: pip install 'cpeval[docx]'"
        ) from None
    document = docx.Document()
    if title:
        document.add_heading(title, level=2)
    grid = document.add_table(rows=1, cols=len(shown.columns))
    grid.style = "Table Grid"
    for cell, name in zip(grid.rows[0].cells, shown.columns, strict=True):
        cell.text = str(name)
    for row in shown.to_numpy().tolist():
        for cell, value in zip(grid.add_row().cells, row, strict=True):
            cell.text = value
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
