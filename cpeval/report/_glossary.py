"""The glossary: every technical term a report uses, explained in plain words.

The terms are data (``data/glossary.toml``); a report lists those whose words
occur in its text.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from pathlib import Path

from .._toml import check_keys, read_toml
from ..exceptions import DataError

__all__ = ["glossary", "used_terms"]

_KEYS = {"term": str, "match": list, "definition": str}


@cache
def glossary() -> tuple[dict[str, object], ...]:
    """Every glossary entry: ``term``, ``match`` (words that show it is used)
    and ``definition``.

    Examples
    --------
    >>> from cpeval.report import glossary
    >>> next(t for t in glossary() if t["term"].startswith("ICER"))["match"]
    ... # doctest: +SKIP
    >>> any(t["term"] == "REML" for t in glossary())
    True
    """
    path = Path(str(files("cpeval.report") / "data" / "glossary.toml"))
    entries = read_toml(path, "glossary").get("term", [])
    for n, entry in enumerate(entries, 1):
        check_keys(entry, _KEYS, path, f"term[{n}].")
        if set(entry) != set(_KEYS) or not entry["match"]:
            raise DataError(f"{path}: term[{n}] needs term, match and definition")
    return tuple(entries)


def _pattern(word: str) -> re.Pattern:
    flags = 0 if word.isupper() else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", flags)


def used_terms(text: str) -> list[dict[str, object]]:
    """The glossary entries whose words occur in ``text``, sorted by term.

    A match in capitals (an abbreviation such as SE or ICC) matches capitals
    only; other matches ignore case. Matches are whole words.

    Examples
    --------
    >>> from cpeval.report import used_terms
    >>> [t["term"] for t in used_terms("CR2 errors; the ICER is £3,000")]
    ['CR2 (cluster-robust errors)', 'incremental cost-effectiveness ratio (ICER)']
    """
    found = [
        entry
        for entry in glossary()
        if any(_pattern(str(w)).search(text) for w in entry["match"])
    ]
    return sorted(found, key=lambda e: str(e["term"]).lower())
