"""Instrument definitions: data files (TOML) read into frozen objects.

A definition names the items, the response codes and the item score each code
gives, reverse-keyed items, the scales (subscales and total) with their method
and missing-item rule, conversion tables, the citation and a ``status``:
``"verified"`` when every scoring fact was read in the publication, otherwise
``"provisional"`` with the unconfirmed parts named. Parts with no safe default
are listed under ``requires``; scoring refuses until a user definition that
``extends`` the built-in one supplies them. The format is documented in
``docs/instruments.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from .._patterns import expand
from .._toml import check_keys, read_toml
from ..exceptions import DataError

__all__ = [
    "Instrument",
    "Scale",
    "get_instrument",
    "list_instruments",
    "load_instrument",
]

Method = Literal["sum", "mean"]
METHODS: tuple[str, ...] = get_args(Method)
_TOP = {"instrument", "items", "scales", "conversions"}
_HEAD = {
    "name": str,
    "title": str,
    "status": str,
    "unconfirmed": list,
    "requires": list,
    "citation": str,
    "sources": list,
    "licence": str,
    "notes": str,
    "columns": str,
    "extends": str,
}
_ITEMS = {"labels": list, "codes": list, "scores": list, "reverse": list}
_SCALE = {
    "items": (list, str),
    "method": str,
    "max_missing": int,
    "convert": str,
    "higher": str,
}
_CONVERSION = {"raw": list, "value": list, "source": str}


@dataclass(frozen=True, slots=True)
class Scale:
    """One score an instrument yields (a subscale or the total).

    Parameters
    ----------
    name : str
        Output column name.
    items : tuple of int
        0-based positions of its items in the instrument.
    method : {"sum", "mean"}
        How item scores combine.
    max_missing : int
        Up to this many missing items, a sum is prorated (mean of the answered
        items times the number of items) and a mean uses the answered items; with
        more missing the score is missing.
    convert : str, optional
        Name of a conversion table applied to the (whole-number) raw score.
    higher : {"better", "worse"}, optional
        What a higher score means, so that a difference can be said to favour
        an arm; ``None`` when the definition does not say.
    """

    name: str
    items: tuple[int, ...]
    method: Method = "sum"
    max_missing: int = 0
    convert: str | None = None
    higher: str | None = None


@dataclass(frozen=True, slots=True)
class Instrument:
    """A questionnaire's scoring rules, loaded from a definition file.

    Parameters
    ----------
    name, title : str
        Short name (used in ``score``) and full title.
    labels : tuple of str
        Short item labels, in item order (no licensed wording).
    codes : tuple of float
        Allowed response codes.
    scores : tuple of float
        Item score of each code (same order as ``codes``).
    reverse : tuple of int
        0-based positions of reverse-keyed items: their score becomes
        ``min(scores) + max(scores) - score``.
    scales : tuple of Scale
        The scores computed.
    conversions : mapping
        Name -> {raw score: converted score}.
    columns : tuple of str
        Default data column of each item.
    status : {"verified", "provisional"}
        ``"verified"`` only when ``unconfirmed`` is empty.
    unconfirmed : tuple of str
        Scoring facts not confirmed in the publications.
    requires : tuple of str
        Parts a user must declare before scoring (no safe default exists).
    citation, licence, notes : str
        Where the rules come from, terms of use, remarks.
    sources : tuple of str
        Further sources consulted.
    path : str
        The definition file.
    """

    name: str
    title: str
    labels: tuple[str, ...]
    codes: tuple[float, ...]
    scores: tuple[float, ...]
    reverse: tuple[int, ...]
    scales: tuple[Scale, ...]
    conversions: Mapping[str, Mapping[float, float]]
    columns: tuple[str, ...]
    status: str
    unconfirmed: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    citation: str = ""
    licence: str = ""
    notes: str = ""
    sources: tuple[str, ...] = ()
    path: str = ""

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.labels)

    def to_frame(self) -> pd.DataFrame:
        """One row per item: position, label, default column, reverse-keyed, scales."""
        member = {
            i: ", ".join(s.name for s in self.scales if i in s.items)
            for i in range(self.n_items)
        }
        return pd.DataFrame(
            {
                "item": np.arange(1, self.n_items + 1),
                "label": self.labels,
                "column": self.columns,
                "reverse": [i in self.reverse for i in range(self.n_items)],
                "scales": [member[i] for i in range(self.n_items)],
            }
        )


def load_instrument(path: str | Path) -> Instrument:
    """Read an instrument definition file (TOML).

    A file whose ``[instrument]`` table has ``extends = "NAME"`` starts from
    the built-in definition ``NAME`` and replaces the tables and keys it gives.

    Parameters
    ----------
    path : str or Path
        The definition file.

    Returns
    -------
    Instrument

    Raises
    ------
    DataError
        The file cannot be parsed, or a key is unknown, missing or inconsistent.

    Examples
    --------
    >>> from cpeval.scales import load_instrument
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "mine.toml").write_text(
    ...     '[instrument]\\nname = "mine"\\ntitle = "Two"\\nstatus = "verified"\\n'
    ...     'columns = "m{1..2}"\\n[items]\\nlabels = ["a", "b"]\\ncodes = [0, 1]\\n'
    ...     '[scales.total]\\nitems = "all"\\n'
    ... )
    >>> load_instrument(folder / "mine.toml").columns
    ('m1', 'm2')
    """
    path = Path(path)
    raw = read_toml(path, "instrument definition")
    base = raw.get("instrument", {}).get("extends")
    if base is not None:
        raw = _merge(read_toml(_builtin_path(base), "instrument definition"), raw)
        raw["instrument"].pop("extends")
    return _build(raw, str(path))


def get_instrument(name: str | Instrument) -> Instrument:
    """A built-in instrument by name (an :class:`Instrument` passes through).

    Parameters
    ----------
    name : str or Instrument
        E.g. ``"wemwbs"``; see :func:`list_instruments`.

    Returns
    -------
    Instrument

    Examples
    --------
    >>> from cpeval.scales import get_instrument
    >>> get_instrument("swemwbs").n_items
    7
    """
    if isinstance(name, Instrument):
        return name
    return load_instrument(_builtin_path(name))


def list_instruments() -> pd.DataFrame:
    """The built-in instruments with their status and citation.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``title``, ``items``, ``scales``, ``status``,
        ``unconfirmed``, ``requires`` and ``citation``.

    Examples
    --------
    >>> from cpeval.scales import list_instruments
    >>> "wemwbs" in set(list_instruments()["name"])
    True
    """
    rows = []
    for name in _builtin_names():
        inst = get_instrument(name)
        rows.append(
            {
                "name": inst.name,
                "title": inst.title,
                "items": inst.n_items,
                "scales": ", ".join(s.name for s in inst.scales),
                "status": inst.status,
                "unconfirmed": "; ".join(inst.unconfirmed),
                "requires": ", ".join(inst.requires),
                "citation": inst.citation,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ loading


def _data_dir():
    return resources.files("cpeval.scales") / "data" / "instruments"


def _builtin_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in _data_dir().iterdir()
        if p.name.endswith(".toml")
    )


def _builtin_path(name: str) -> Path:
    names = _builtin_names()
    if name not in names:
        raise DataError(
            f"no built-in instrument '{name}'; the instruments are {', '.join(names)}"
        )
    return Path(str(_data_dir() / f"{name}.toml"))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _build(raw: dict[str, Any], where: str) -> Instrument:
    check_keys(raw, dict.fromkeys(_TOP, dict), where, "")
    head = raw.get("instrument", {})
    items = raw.get("items", {})
    check_keys(head, _HEAD, where, "instrument.")
    check_keys(items, _ITEMS, where, "items.")
    for key in ("name", "title", "status"):
        if key not in head:
            raise DataError(f"{where}: '[instrument] {key}' is missing")
    labels = tuple(str(x) for x in items.get("labels", ()))
    codes = tuple(float(c) for c in items.get("codes", ()))
    scores = tuple(float(s) for s in items.get("scores", codes))
    requires = _still_required(head.get("requires", ()), labels, codes, raw, where)
    if "items" not in requires and (not labels or not codes):
        raise DataError(f"{where}: '[items]' needs labels and codes")
    if len(scores) != len(codes):
        raise DataError(f"{where}: items.scores must pair one score with each code")
    if any(c % 1 or abs(c) > 10_000 for c in codes) or len(set(codes)) < len(codes):
        raise DataError(f"{where}: items.codes must be distinct whole numbers")
    n_items = len(labels)
    unconfirmed = tuple(head.get("unconfirmed", ()))
    conversions = _conversions(raw.get("conversions", {}), where)
    scales = _scales(raw.get("scales", {}), n_items, where, requires)
    for scale in scales:
        if scale.convert is not None and scale.convert not in conversions:
            raise DataError(
                f"{where}: scales.{scale.name}.convert names no [conversions] table"
            )
    return Instrument(
        name=head["name"],
        title=head["title"],
        labels=labels,
        codes=codes,
        scores=scores,
        reverse=_positions(items.get("reverse", ()), n_items, where, "items.reverse"),
        scales=scales,
        conversions=conversions,
        columns=_columns(head.get("columns"), n_items, where),
        status=_status(head["status"], unconfirmed, where),
        unconfirmed=unconfirmed,
        requires=requires,
        citation=head.get("citation", ""),
        licence=head.get("licence", ""),
        notes=head.get("notes", ""),
        sources=tuple(head.get("sources", ())),
        path=where,
    )


def _still_required(
    parts: list[str], labels: tuple, codes: tuple, raw: dict[str, Any], where: str
) -> tuple[str, ...]:
    """The parts a definition requires that are still undeclared."""
    present = {"items": bool(labels and codes), "scales": bool(raw.get("scales"))}
    unknown = sorted(set(parts) - set(present))
    if unknown:
        raise DataError(f"{where}: 'requires' names unknown parts {unknown}")
    return tuple(p for p in parts if not present[p])


def _status(status: str, unconfirmed: tuple[str, ...], where: str) -> str:
    if status not in ("verified", "provisional"):
        raise DataError(f"{where}: status must be 'verified' or 'provisional'")
    if status == "verified" and unconfirmed:
        raise DataError(f"{where}: a verified instrument lists unconfirmed parts")
    if status == "provisional" and not unconfirmed:
        raise DataError(
            f"{where}: a provisional instrument must name what is unconfirmed"
        )
    return status


def _positions(numbers: Any, n_items: int, where: str, key: str) -> tuple[int, ...]:
    """1-based item numbers (or "all") -> 0-based positions, checked."""
    if numbers == "all":
        return tuple(range(n_items))
    if isinstance(numbers, str):
        raise DataError(f"{where}: '{key}' must be \"all\" or a list of item numbers")
    bad = [n for n in numbers if not isinstance(n, int) or not 1 <= n <= n_items]
    if bad:
        raise DataError(f"{where}: '{key}' has item numbers {bad} outside 1-{n_items}")
    return tuple(n - 1 for n in numbers)


def _scales(
    tables: dict[str, Any], n_items: int, where: str, requires: tuple[str, ...]
) -> tuple[Scale, ...]:
    if not tables and "scales" not in requires:
        raise DataError(f"{where}: the instrument defines no [scales.NAME]")
    scales = []
    for name, table in tables.items():
        prefix = f"scales.{name}."
        check_keys(table, _SCALE, where, prefix)
        method = table.get("method", "sum")
        if method not in METHODS:
            raise DataError(f"{where}: '{prefix}method' must be one of {METHODS}")
        if table.get("convert") and table.get("max_missing", 0):
            raise DataError(
                f"{where}: '{prefix}convert' needs whole raw scores, so "
                "max_missing must be 0 (prorated sums are not whole)"
            )
        items = _positions(table.get("items", "all"), n_items, where, prefix + "items")
        higher = table.get("higher")
        if higher not in (None, "better", "worse"):
            raise DataError(f"{where}: '{prefix}higher' must be 'better' or 'worse'")
        scales.append(
            Scale(
                name,
                items,
                method,
                table.get("max_missing", 0),
                table.get("convert"),
                higher,
            )
        )
    return tuple(scales)


def _conversions(tables: dict[str, Any], where: str) -> dict[str, dict[float, float]]:
    out = {}
    for name, table in tables.items():
        check_keys(table, _CONVERSION, where, f"conversions.{name}.")
        raw, value = table.get("raw", []), table.get("value", [])
        if not raw or len(raw) != len(value):
            raise DataError(f"{where}: conversions.{name} needs raw and value pairs")
        out[name] = {float(r): float(v) for r, v in zip(raw, value, strict=True)}
    return out


def _columns(pattern: str | None, n_items: int, where: str) -> tuple[str, ...]:
    if pattern is None:
        return tuple(f"item_{i}" for i in range(1, n_items + 1))
    try:
        names = expand(pattern)
    except ValueError as exc:
        raise DataError(f"{where}: 'instrument.columns' {exc}") from None
    if n_items and len(names) != n_items:
        raise DataError(
            f"{where}: 'instrument.columns' gives {len(names)} names, not {n_items}"
        )
    return tuple(names)
