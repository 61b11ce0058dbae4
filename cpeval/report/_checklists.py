"""Reporting checklists filled in from what a cpeval report contains.

Each checklist is data (``data/checklists/<name>.toml``) with its citation and sources:
every item's number, section, topic, a short paraphrase of what it asks, and the
report sections that address it, each with the condition under which the
report has that content (an economic evaluation, a propensity score, multiple
imputation, clusters). An item no section addresses is "not reported": the
authors must add it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from .._toml import check_keys, read_toml
from ..exceptions import DataError
from ._content import SECTIONS

__all__ = [
    "CHECKLISTS",
    "FEATURES",
    "SECTION_TITLES",
    "Checklist",
    "ChecklistItem",
    "checklist_table",
    "checklists_for",
    "get_checklist",
    "load_checklist",
]

DATA = Path(__file__).parent / "data" / "checklists"

#: Checklist name -> file stem in ``data/checklists/``.
CHECKLISTS = ("cheers-2022", "trend", "consort-cluster")

#: The run's tables, by the anchors their sections have (``table-<name>``).
_TABLES = {
    "table-baseline": "Table: baseline characteristics",
    "table-outcomes": "Table: outcomes",
    "table-balance": "Table: baseline balance",
    "table-dose": "Table: effect per unit of dose",
    "table-subgroups": "Table: differences within subgroups",
    "table-subgroup_tests": "Table: subgroup interaction tests",
    "table-costs": "Table: costs",
    "table-economics": "Table: cost-effectiveness",
}

#: The report's section ids (fixed anchors) and the titles readers see: the
#: report's sections (:data:`~cpeval.report.SECTIONS`), its tables by name.
SECTION_TITLES: dict[str, str] = {
    key: title
    for section, heading in SECTIONS.items()
    for key, title in (_TABLES.items() if section == "tables" else [(section, heading)])
}

#: What a run may have, which decides whether a section holds an item's content.
FEATURES = (
    "economics",
    "propensity",
    "imputation",
    "clusters",
    "subgroups",
    "randomised",
    "non-randomised",
)

NOT_REPORTED = "not reported"


@dataclass(frozen=True)
class Place:
    """A report section that addresses an item, when the run has ``needs``."""

    section: str
    needs: str | None = None


@dataclass(frozen=True)
class ChecklistItem:
    """One checklist item.

    Parameters
    ----------
    number, section, topic : str
        As the publication numbers and heads it ("7a", "Methods", "Sample
        size").
    asks : str
        A short paraphrase of what the item asks (not the published wording).
    where : tuple of Place
        Sections that address it, each with its condition.
    note : str
        What the report gives, or what the authors must add.
    not_applicable : str
        Why the item does not apply to a cpeval analysis ("" if it does).
    status : str
        ``confirmed`` (checked against the publication's checklist table) or
        ``unconfirmed`` (from secondary copies of the checklist; see the file's
        ``sources``).
    """

    number: str
    section: str
    topic: str
    asks: str
    where: tuple[Place, ...] = ()
    note: str = ""
    not_applicable: str = ""
    status: str = "confirmed"


@dataclass(frozen=True)
class Checklist:
    """A reporting checklist with its citation (``data/checklists/<name>.toml``)."""

    name: str
    title: str
    citation: str
    doi: str
    licence: str
    status: str
    sources: tuple[str, ...]
    note: str
    items: tuple[ChecklistItem, ...]


_TOP = {
    "name": str,
    "title": str,
    "citation": str,
    "doi": str,
    "licence": str,
    "status": str,
    "sources": list,
    "note": str,
    "item": list,
}
_ITEM = {
    "number": str,
    "section": str,
    "topic": str,
    "asks": str,
    "where": list,
    "note": str,
    "not_applicable": str,
    "status": str,
}
_STATUS = ("confirmed", "unconfirmed", "partly confirmed")


def load_checklist(path: str | Path) -> Checklist:
    """Read and check one checklist file.

    Parameters
    ----------
    path : str or Path
        A TOML file laid out as the files in ``cpeval/report/data/checklists``.

    Returns
    -------
    Checklist

    Raises
    ------
    cpeval.DataError
        Naming the file and the item, for a key that is unknown or missing, a
        section id that is not a report section, an unknown condition, or a
        repeated item number.

    Examples
    --------
    >>> from cpeval.report._checklists import DATA
    >>> cheers = load_checklist(DATA / "cheers-2022.toml")
    >>> cheers.name, len(cheers.items)
    ('CHEERS 2022', 28)
    """
    path = Path(path)
    raw = read_toml(path, "reporting checklist")
    check_keys(raw, _TOP, path, "")
    for key in ("name", "title", "citation", "item"):
        if key not in raw:
            raise DataError(f"{path}: the checklist needs '{key}'")
    _check_status(raw.get("status", "confirmed"), path, "the checklist")
    items, numbers = [], set()
    for i, entry in enumerate(raw["item"]):
        label = (
            f"item {entry.get('number', f'#{i + 1}')}"
            if isinstance(entry, dict)
            else f"item #{i + 1}"
        )
        where = f"{path}: {label}"
        check_keys(entry, _ITEM, where, "")
        for key in ("number", "section", "topic", "asks"):
            if not str(entry.get(key, "")).strip():
                raise DataError(f"{where}: '{key}' is missing or empty")
        if entry["number"] in numbers:
            raise DataError(f"{where}: the item number is repeated")
        numbers.add(entry["number"])
        _check_status(entry.get("status", "confirmed"), path, label)
        places = tuple(_place(p, where) for p in entry.get("where", []))
        items.append(
            ChecklistItem(
                number=entry["number"],
                section=entry["section"],
                topic=entry["topic"],
                asks=entry["asks"],
                where=places,
                note=entry.get("note", ""),
                not_applicable=entry.get("not_applicable", ""),
                status=entry.get("status", "confirmed"),
            )
        )
    return Checklist(
        name=raw["name"],
        title=raw["title"],
        citation=raw["citation"],
        doi=raw.get("doi", ""),
        licence=raw.get("licence", ""),
        status=raw.get("status", "confirmed"),
        sources=tuple(str(s) for s in raw.get("sources", [])),
        note=raw.get("note", ""),
        items=tuple(items),
    )


def _check_status(status: str, path: Path, what: str) -> None:
    if status not in _STATUS:
        raise DataError(
            f"{path}: {what}: status must be one of {', '.join(_STATUS)}, "
            f"not {status!r}"
        )


def _place(entry, where: str) -> Place:
    check_keys(entry, {"section": str, "needs": str}, where, "where.")
    section = entry.get("section")
    if section not in SECTION_TITLES:
        raise DataError(
            f"{where}: {section!r} is not a report section; known: "
            + ", ".join(SECTION_TITLES)
        )
    needs = entry.get("needs")
    if needs is not None and needs not in FEATURES:
        raise DataError(
            f"{where}: unknown condition {needs!r}; known: {', '.join(FEATURES)}"
        )
    return Place(section, needs)


def get_checklist(name: str) -> Checklist:
    """A packaged checklist with its title, citation and sources.

    Examples
    --------
    >>> get_checklist("trend").doi
    '10.2105/AJPH.94.3.361'
    """
    return _packaged(name)


@cache
def _packaged(name: str) -> Checklist:
    if name not in CHECKLISTS:
        raise DataError(
            f"no reporting checklist {name!r}; known: {', '.join(CHECKLISTS)}"
        )
    return load_checklist(DATA / f"{name}.toml")


def checklists_for(randomised: bool, economics: bool) -> list[str]:
    """The checklists a run's report fills in.

    CONSORT 2010 for cluster randomised trials (cpeval's designs are clustered)
    if the design is randomised, TREND if not, and CHEERS 2022 when the run has
    an economic evaluation.

    Examples
    --------
    >>> checklists_for(randomised=False, economics=True)
    ['trend', 'cheers-2022']
    >>> checklists_for(randomised=True, economics=False)
    ['consort-cluster']
    """
    names = ["consort-cluster" if randomised else "trend"]
    if economics:
        names.append("cheers-2022")
    return names


def checklist_table(
    name: str | Checklist,
    *,
    sections: Collection[str],
    randomised: bool | None = None,
    features: Collection[str] | None = None,
) -> pd.DataFrame:
    """One checklist, each item marked with where the report addresses it.

    Parameters
    ----------
    name : str or Checklist
        ``"cheers-2022"``, ``"trend"`` or ``"consort-cluster"``, or a checklist
        read with :func:`load_checklist`.
    sections : collection of str
        The section ids this run's report has (keys of ``SECTION_TITLES``);
        an item is only placed in sections the report has.
    randomised : bool, optional
        The design; items whose content depends on it need it.
    features : collection of str, optional
        What the run has, among ``economics``, ``propensity``, ``imputation``
        and ``clusters``. By default: ``economics`` if the report has
        ``table-economics``, ``propensity`` if it has ``table-balance``; pass
        ``imputation`` and ``clusters`` when the run has them (no section
        shows them on its own).

    Returns
    -------
    pandas.DataFrame
        Columns ``item``, ``section`` (the checklist's section), ``topic``,
        ``asks``, ``where`` (section titles, comma-separated, or "not
        reported — the authors must add it", or "not applicable — ..."),
        ``section_ids`` (comma-separated ids), ``note`` and ``status``.

    Examples
    --------
    >>> table = checklist_table("cheers-2022", sections=["methods", "summary"],
    ...                         features=["economics"])
    >>> table.loc[table["topic"] == "Perspective", "where"].item()
    'Methods'
    >>> table.loc[table["topic"] == "Source of funding", "where"].item()
    'not reported — the authors must add it'
    """
    checklist = name if isinstance(name, Checklist) else _packaged(name)
    unknown = set(sections) - set(SECTION_TITLES)
    if unknown:
        raise DataError(
            "unknown report sections: " + ", ".join(sorted(map(repr, unknown)))
        )
    if features is None:
        have = set()
        if "table-economics" in sections:
            have.add("economics")
        if "table-balance" in sections:
            have.add("propensity")
    else:
        have = set(features)
        bad = have - set(FEATURES)
        if bad:
            raise DataError(
                "unknown run features: " + ", ".join(sorted(map(repr, bad)))
            )
    if randomised is not None:
        have.add("randomised" if randomised else "non-randomised")
    records = []
    for item in checklist.items:
        ids = list(
            dict.fromkeys(
                p.section
                for p in item.where
                if p.section in sections and (p.needs is None or p.needs in have)
            )
        )
        if ids:
            where = ", ".join(SECTION_TITLES[i] for i in ids)
        elif item.not_applicable:
            where = f"not applicable — {item.not_applicable}"
        else:
            where = f"{NOT_REPORTED} — the authors must add it"
        records.append(
            {
                "item": item.number,
                "section": item.section,
                "topic": item.topic,
                "asks": item.asks,
                "where": where,
                "section_ids": ", ".join(ids),
                "note": item.note,
                "status": item.status,
            }
        )
    return pd.DataFrame(records)
