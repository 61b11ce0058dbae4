"""Model formulas: patsy's errors become one-line DataErrors naming the column."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from patsy import PatsyError, dmatrices, dmatrix

from ..exceptions import DataError

QUOTE_HINT = (
    "a column name that is not a Python identifier (a dot, a space, a keyword "
    'such as "yield") must be quoted in a formula as Q("name")'
)


def formula_error(
    formula: str, exc: PatsyError, columns: Iterable[str] = ()
) -> DataError:
    """A DataError for a formula patsy could not build, naming the missing column
    (and the quoting a non-identifier column name needs)."""
    first = str(exc).splitlines()[0]
    missing = re.search(r"name '([^']+)' is not defined", first)
    if missing:
        name = missing.group(1)
        odd = [c for c in columns if not str(c).isidentifier() and name in str(c)]
        hint = f'; {QUOTE_HINT}, e.g. Q("{odd[0]}")' if odd else ""
        return DataError(
            f"the model {formula!r} names a column the data do not have: '{name}'{hint}"
        )
    if "SyntaxError" in first:
        return DataError(f"cannot read the model {formula!r}: {QUOTE_HINT}")
    return DataError(f"cannot build the model {formula!r}: {first}")


def patsy_matrices(
    spec: str, data: pd.DataFrame, *, formula: str | None = None, na_action="drop"
):
    """patsy's ``dmatrices`` (a ``y ~ x`` spec) or ``dmatrix`` (a right-hand
    side) as data frames, its errors as DataErrors naming ``formula`` (the
    model as the user wrote it; default ``spec``) and the missing column.

    Examples
    --------
    >>> y, x = patsy_matrices("y ~ x", pd.DataFrame({"y": [1.0, 2], "x": [0, 1]}))
    >>> list(x.columns)
    ['Intercept', 'x']
    """
    shown = spec if formula is None else formula
    build = dmatrices if "~" in spec else dmatrix
    try:
        out = build(spec, data, return_type="dataframe", NA_action=na_action)
    except PatsyError as exc:
        raise formula_error(shown, exc, data.columns) from None
    except SyntaxError:
        raise DataError(f"cannot read the model {shown!r}: {QUOTE_HINT}") from None
    for frame in out if isinstance(out, tuple) else (out,):
        _check_finite(frame, shown)
    return out


def _check_finite(frame: pd.DataFrame, shown: str) -> None:
    """An infinite value (``inf`` in a file, a log of 0) is an error, named."""
    values = frame.to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(v[0]) for v in np.nonzero(bad))
        label = frame.index[row]
        label = label.item() if isinstance(label, np.generic) else label
        raise DataError(
            f"the model {shown!r}: '{frame.columns[column]}', row {label!r}: value "
            f"{values[row, column]} is not a finite number"
        )
