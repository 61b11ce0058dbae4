"""A self-contained HTML report for commissioners: findings, tables, figures."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ._files import write_atomic
from .tables import render_table

__all__ = ["write_report"]

_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; }
caption { font-weight: bold; text-align: left; margin-bottom: 0.3em; }
.finding { margin: 0.4em 0; }
.wide { overflow-x: auto; }
figcaption { font-size: 0.9em; color: #444; margin-bottom: 1.5em; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; font-size: 0.8em; }
table.provenance th { font-weight: normal; color: #444; }
table.provenance td { word-break: break-all; }
summary { cursor: pointer; margin: 0.5em 0; }
"""


_SHOWN = 20  # warnings listed before "and N more"


def _warnings(warnings: Sequence[str]) -> list[str]:
    if not warnings:
        return []
    n = len(warnings)
    items = [f"<li>{html.escape(w)}</li>" for w in warnings[:_SHOWN]]
    if n > _SHOWN:
        items.append(f"<li>... and {n - _SHOWN} more (see the provenance)</li>")
    return [
        "<h2>Data warnings</h2>",
        f"<p>Validation found {n} warning{'s' * (n > 1)}; the analyses used the data "
        "as they are.</p>",
        f"<ul>{''.join(items)}</ul>",
    ]


def _provenance(provenance: Mapping) -> list[str]:
    """Provenance as a two-column table (nested keys joined by dots), folded
    away under a summary line; the full record is provenance.json."""
    rows = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>"
        for key, value in _flat(provenance)
    )
    return [
        "<details><summary>Inputs, versions and settings of this run "
        f"({len(provenance)} groups; also in provenance.json)</summary>",
        f'<div class="wide"><table class="provenance">{rows}</table></div>',
        "</details>",
    ]


def _flat(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, text) pairs of a nested record; lists of plain values are
    joined, lists of records numbered."""
    if isinstance(value, Mapping):
        if not value:
            return [(prefix, "none")]
        return [
            pair
            for key, item in value.items()
            for pair in _flat(item, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(value, list | tuple):
        if all(isinstance(v, str | int | float) for v in value):
            return [(prefix, ", ".join(map(str, value)) or "none")]
        return [
            pair for k, v in enumerate(value, 1) for pair in _flat(v, f"{prefix}[{k}]")
        ]
    if value is None:
        return [(prefix, "none")]
    return [(prefix, json.dumps(value) if isinstance(value, bool) else str(value))]


def write_report(
    path: str | Path,
    title: str,
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, str],
    provenance: Mapping,
    findings: Sequence[str],
    *,
    methods: Sequence[str] = (),
    captions: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
    formats: Mapping[str, Mapping[str, str]] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Path:
    """Write one HTML page with no external resources.

    Parameters
    ----------
    path : str or Path
    title : str
    tables : mapping of name to DataFrame
    figures : mapping of name to SVG text
    provenance : mapping
        Shown at the end, as JSON.
    findings : sequence of str
        Plain sentences for the key findings.
    methods : sequence of str
        Paragraphs saying how the numbers were made.
    captions : mapping of name to str, optional
        Figure captions (the figure's name otherwise).
    warnings : sequence of str
        Validation warnings about the data, listed after the findings (the
        first 20, and how many more).
    formats, labels : mapping, optional
        Table name -> column -> format or heading
        (:func:`cpeval.tables.render_table`).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from cpeval.report import write_report
    >>> page = write_report(pathlib.Path(tempfile.mkdtemp()) / "r.html", "T",
    ...                     {"t": pd.DataFrame({"a": [1]})}, {}, {}, ["A finding."])
    >>> "A finding." in page.read_text()
    True
    """
    captions = captions or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Key findings</h2>",
        *(f'<p class="finding">{html.escape(s)}</p>' for s in findings),
        *_warnings(warnings),
        "<h2>Tables</h2>",
    ]
    for name, table in tables.items():
        rendered = render_table(
            table,
            "html",
            title=name.replace("_", " "),
            formats=(formats or {}).get(name),
            labels=(labels or {}).get(name),
        ).decode()
        parts.append(f'<div class="wide">{rendered}</div>')
    if figures:
        parts.append("<h2>Figures</h2>")
        for number, (name, svg) in enumerate(figures.items(), start=1):
            body = svg[svg.find("<svg") :]
            caption = captions.get(name, name.replace("_", " "))
            parts.append(
                f'<figure id="{html.escape(name)}">{body}<figcaption>'
                f"Figure {number}. {html.escape(caption)}</figcaption></figure>"
            )
    parts += [
        "<h2>Methods</h2>",
        *(f"<p>{html.escape(s)}</p>" for s in methods),
        "<h2>Provenance</h2>",
        *_provenance(provenance),
        "</body></html>",
    ]
    return write_atomic(path, "\n".join(parts) + "\n")
