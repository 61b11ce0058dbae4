"""The one scoring engine: any instrument definition, any number of rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._format import show as _show
from .._patterns import expand
from ..exceptions import DataError
from ._instrument import Instrument, Scale, get_instrument

__all__ = ["item_columns", "item_scores", "score"]


def score(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: Sequence[str] | Mapping[str, str] | str | None = None,
    *,
    chunksize: int = 500_000,
) -> pd.DataFrame:
    """Score an instrument: one row per input row, every scale, nothing dropped.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses, one row per respondent (and wave).
    instrument : str or Instrument
        A built-in name (see :func:`list_instruments`) or a loaded definition.
    items : list, mapping or str, optional
        Where the items are: column names in item order, a mapping item label ->
        column, or a pattern such as ``"wb{1..14}"``. By default the columns the
        definition names (e.g. ``wemwbs_1`` ... ``wemwbs_14``).
    chunksize : int
        Rows scored at a time, which bounds the working memory (10 million
        respondents score in well under 4 GB); the result does not depend on it.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data``. For each scale: the score (unrounded float, missing
        when too many items are missing), ``<scale>_missing`` (items missing) and
        ``<scale>_prorated`` (whether missing items were prorated).
        ``attrs["instrument"]`` names the definition, its status and citation.

    Raises
    ------
    DataError
        A column is absent, a value is not a number or not an allowed code (the
        message names the row, column and value and counts the others), or the
        definition lacks parts it ``requires``.

    Notes
    -----
    Each response code maps to its item score; reverse-keyed items become
    ``min + max - score``. A ``sum`` with ``m`` of ``k`` items missing and
    ``0 < m <= max_missing`` is prorated as ``k * mean(answered)``; a ``mean``
    averages the answered items. A conversion table then maps whole raw sums.
    Nothing is rounded.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.scales import score
    >>> answers = pd.DataFrame({f"wemwbs_{i}": [3, 4] for i in range(1, 15)})
    >>> score(answers, "wemwbs")["total"].tolist()
    [42.0, 56.0]
    """
    inst = get_instrument(instrument)
    _check_complete_definition(inst)
    if chunksize < 1:
        raise DataError(f"chunksize must be a positive integer; got {chunksize}")
    item_columns(data, inst, items)  # absent columns: one message, before any work
    n = len(data)
    out = {}
    for scale in inst.scales:
        out[scale.name] = np.empty(n)
        out[f"{scale.name}_missing"] = np.empty(n, dtype=np.int64)
        out[f"{scale.name}_prorated"] = np.empty(n, dtype=bool)
    for start in range(0, max(n, 1), chunksize):
        rows = slice(start, min(start + chunksize, n))
        try:
            values = item_scores(data.iloc[rows], inst, items)
        except DataError:
            if n <= chunksize:
                raise
            item_scores(data, inst, items)  # the message counts every bad cell
            raise
        for scale in inst.scales:
            total, missing, prorated = _scale(values[:, scale.items], scale, inst)
            out[scale.name][rows] = total
            out[f"{scale.name}_missing"][rows] = missing
            out[f"{scale.name}_prorated"][rows] = prorated
    frame = pd.DataFrame(out, index=data.index)
    frame.attrs["instrument"] = {
        "name": inst.name,
        "status": inst.status,
        "unconfirmed": list(inst.unconfirmed),
        "citation": inst.citation,
        "definition": inst.path,
    }
    return frame


def item_columns(
    data: pd.DataFrame,
    instrument: Instrument,
    items: Sequence[str] | Mapping[str, str] | str | None = None,
) -> list[str]:
    """The data column of each item, in item order, checked to exist."""
    if items is None:
        columns = list(instrument.columns)
    elif isinstance(items, str):
        try:
            columns = expand(items)
        except ValueError as exc:
            raise DataError(f"{instrument.name}: items {items!r}: {exc}") from None
    elif isinstance(items, Mapping):
        unknown = sorted(set(items) - set(instrument.labels))
        if unknown:
            raise DataError(
                f"{instrument.name}: unknown item labels {unknown}; "
                f"the labels are {list(instrument.labels)}"
            )
        columns = [items.get(label, "") for label in instrument.labels]
    else:
        columns = list(items)
    if len(columns) != instrument.n_items or "" in columns:
        raise DataError(
            f"{instrument.name} has {instrument.n_items} items; "
            f"{len([c for c in columns if c])} columns were given"
        )
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise DataError(f"{instrument.name}: the data have no columns {absent}")
    return columns


def item_scores(
    data: pd.DataFrame,
    instrument: Instrument,
    items: Sequence[str] | Mapping[str, str] | str | None = None,
) -> np.ndarray:
    """Item scores (reverse keys applied) as a float array, NaN where missing."""
    columns = item_columns(data, instrument, items)
    codes = _numeric(data, columns, instrument)
    present = ~np.isnan(codes)
    values, valid = _lookup(codes, present, instrument)
    _report_bad_codes(data, columns, codes, present & ~valid, instrument)
    if instrument.reverse:
        scores = np.asarray(instrument.scores)
        rev = list(instrument.reverse)
        values[:, rev] = scores.min() + scores.max() - values[:, rev]
    return values


def _lookup(
    codes: np.ndarray, present: np.ndarray, instrument: Instrument
) -> tuple[np.ndarray, np.ndarray]:
    """Item score of each code through a table indexed by code (codes are integers)."""
    low = min(instrument.codes)
    size = int(max(instrument.codes) - low) + 1
    table = np.full(size + 1, np.nan)  # the last cell: any code not in the table
    table[(np.asarray(instrument.codes) - low).astype(int)] = instrument.scores
    offset = codes - low
    with np.errstate(invalid="ignore"):
        position = offset.astype(np.intp)  # NaN and huge values fall outside
    position[(position < 0) | (position >= size) | (position != offset)] = size
    values = table[position]
    return values, ~np.isnan(values)


def _check_complete_definition(inst: Instrument) -> None:
    if inst.requires:
        raise DataError(
            f"{inst.name}: scoring needs {', '.join(inst.requires)}, which the "
            "publications consulted do not confirm; declare them in a definition "
            f'file with extends = "{inst.name}" (see docs/instruments.md)'
        )


def _numeric(data: pd.DataFrame, columns: list[str], inst: Instrument) -> np.ndarray:
    block = data[columns]
    if all(kind in "fiub" for kind in block.dtypes.map(lambda t: t.kind)):
        return block.to_numpy(dtype=float)
    numeric = block.apply(pd.to_numeric, errors="coerce")
    text = block.notna().to_numpy() & numeric.isna().to_numpy()
    if text.any():
        _raise_cells(
            data, columns, block.to_numpy(object), text, inst, "is not a number"
        )
    return numeric.to_numpy(dtype=float)


def _report_bad_codes(
    data: pd.DataFrame,
    columns: list[str],
    codes: np.ndarray,
    bad: np.ndarray,
    inst: Instrument,
) -> None:
    if bad.any():
        allowed = ", ".join(_show(c) for c in inst.codes)
        _raise_cells(data, columns, codes, bad, inst, f"is not one of {allowed}")


def _raise_cells(data, columns, values, bad, inst: Instrument, what: str) -> None:
    rows, cols = np.nonzero(bad)
    first = (data.index[rows[0]], columns[cols[0]], values[rows[0], cols[0]])
    more = f" (and {len(rows) - 1} more cells)" if len(rows) > 1 else ""
    raise DataError(
        f"{inst.name}: row {first[0]!r}, column '{first[1]}': "
        f"value '{_show(first[2])}' {what}{more}"
    )


def _scale(
    values: np.ndarray, scale: Scale, inst: Instrument
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_items = values.shape[1]
    missing = np.isnan(values).sum(axis=1)
    scoreable = missing <= min(scale.max_missing, n_items - 1)
    with np.errstate(invalid="ignore"):
        answered = np.where(np.isnan(values), 0.0, values).sum(axis=1)
        mean = answered / np.maximum(n_items - missing, 1)
    if scale.method == "sum":  # exact sums when complete; prorated otherwise
        result = np.where(missing == 0, answered, mean * n_items)
    else:
        result = mean
    result = np.where(scoreable, result, np.nan)
    if scale.convert:
        result = _convert(result, inst.conversions[scale.convert], scale, inst)
    return result, missing, scoreable & (missing > 0)


def _convert(raw: np.ndarray, table, scale: Scale, inst: Instrument) -> np.ndarray:
    keys = np.array(sorted(table))
    values = np.array([table[k] for k in keys])
    present = ~np.isnan(raw)
    position = np.clip(
        np.searchsorted(keys, np.where(present, raw, keys[0])), 0, len(keys) - 1
    )
    unknown = present & (keys[position] != raw)
    if unknown.any():
        raise DataError(
            f"{inst.name}: raw {scale.name} {_show(raw[unknown][0])} is not in the "
            f"conversion table '{scale.convert}'"
        )
    return np.where(present, values[position], np.nan)
