"""The report as one self-contained HTML page, from a Jinja2 template with
autoescaping: every string from the data or the config is escaped; only the
rendered tables and figures (made and escaped by cpeval) go in as markup."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..tables import render_table
from ._content import Figure, Report, Table
from ._glossary import used_terms

__all__ = ["render_html"]

SHOWN_WARNINGS = 20  # warnings listed before "and N more"


def _template_text(name: str) -> str:
    return (files("cpeval.report") / "templates" / name).read_text(encoding="utf-8")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_template_text),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(report: Report, *, for_print: bool = False) -> str:
    """The report page.

    Parameters
    ----------
    report : Report
    for_print : bool
        The version for print (the PDF): nothing folded away, no contents list,
        wide tables on landscape pages.

    Returns
    -------
    str

    Examples
    --------
    >>> from cpeval.report import Report, Summary, render_html
    >>> page = render_html(Report("T", Summary("Q?", "D.", (("x", "A <b>."),))))
    >>> "A &lt;b&gt;." in page and "<h2 id=\\"glossary-h\\">Glossary</h2>" in page
    True
    """
    template = _environment().get_template("report.html.j2")
    fields = _fields(report, for_print)
    text = template.render(glossary=(), **fields)
    # the glossary lists the terms the rest of the page uses
    terms = used_terms(_visible_text(text))
    return template.render(glossary=terms, **fields)


def page_terms(report: Report) -> list[dict]:
    """The glossary of the report's page (:func:`render_html`): the terms the
    rest of the page uses (the Word report lists the same)."""
    template = _environment().get_template("report.html.j2")
    text = template.render(glossary=(), **_fields(report, False))
    return used_terms(_visible_text(text))


def _fields(report: Report, for_print: bool) -> dict:
    numbers = {f.name: n for n, f in enumerate(_figure_order(report), start=1)}
    flow_figure, flow_table = report.flow()
    return {
        "report": report,
        "sections": report.sections(),
        "shown": SHOWN_WARNINGS,
        "print": for_print,
        "flow_figure": flow_figure,
        "flow_table": flow_table,
        "tables": report.other_tables(),
        "figures": report.other_figures(),
        "numbers": numbers,
        "provenance": _flat(report.provenance),
        "svg": _once(_print_figure if for_print else _svg),
        "table_html": _once(_table_html),
        "style": Markup(_template_text("report.css")),
    }


def _once(render):
    """``render`` memoised on its argument's identity, for one page (the template
    is rendered twice: the glossary lists the terms of the first rendering)."""
    done: dict[int, tuple[object, Markup]] = {}  # the item kept: its id stays its

    def once(item) -> Markup:
        if id(item) not in done:
            done[id(item)] = (item, render(item))
        return done[id(item)][1]

    return once


def _figure_order(report: Report) -> list[Figure]:
    flow, _ = report.flow()
    return ([flow] if flow else []) + list(report.other_figures())


def _svg(figure: Figure) -> Markup:
    """The figure's SVG (made by matplotlib, so trusted markup) as an image with
    its text alternative, its element ids prefixed with the figure's name so that
    ids stay unique on a page of several figures."""
    body = figure.svg[figure.svg.find("<svg") :]
    prefix = re.sub(r"[^\w-]", "_", figure.name) + "-"
    body = re.sub(r'\bid="', f'id="{prefix}', body)
    body = re.sub(r'(href="#|url\(#)', rf"\g<1>{prefix}", body)
    label = html.escape(figure.alt, quote=True)
    return Markup(body.replace("<svg", f'<svg role="img" aria-label="{label}"', 1))


def _print_figure(figure: Figure) -> Markup:
    """A figure for the PDF: its SVG when the SVG holds text (the participant
    flow: its words stay words in the PDF), otherwise (matplotlib's figures,
    their text drawn as paths) its PNG at the SVG's size. WeasyPrint draws an
    SVG of a thousand paths in seconds and a PNG of the same figure at once."""
    if "<text" in figure.svg:
        return _svg(figure)
    tag = figure.svg[figure.svg.find("<svg") :].split(">", 1)[0]
    width = re.search(r'\swidth="([\d.]+)(\w*)"', tag)
    size = f"width:{width[1]}{width[2] or 'px'};" if width else ""
    label = html.escape(figure.alt, quote=True)
    data = base64.b64encode(figure.png).decode("ascii")
    return Markup(
        f'<img src="data:image/png;base64,{data}" alt="{label}" '
        f'style="{size}max-width:100%;height:auto">'
    )


def _table_html(table: Table) -> Markup:
    """A table rendered (and escaped) by :func:`cpeval.tables.render_table`."""
    options: dict = {"title": table.title}
    if table.spec is not None:
        options["spec"] = table.spec
    else:
        options.update(formats=dict(table.formats), labels=dict(table.labels))
    return Markup(render_table(table.frame, "html", **options).decode())


def _visible_text(page: str) -> str:
    """The page's words, without markup, style, figures or provenance."""
    page = re.sub(r"<style.*?</style>|<svg.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r'<section id="provenance".*', " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


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
