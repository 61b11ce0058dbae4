"""Input checks shared by the stages: named columns must exist, numbers must be
numbers, and a treatment is 0/1 or names its intervention value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._format import show
from .exceptions import DataError


def require_columns(data: pd.DataFrame, names, what: str = "the model") -> None:
    """A DataError listing the ``names`` that ``data`` lacks (sorted), if any.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"])
    """
    absent = sorted({str(c) for c in names if c not in data.columns})
    if absent:
        raise DataError(f"{what} names columns the data do not have: {absent}")


def numeric(data: pd.DataFrame | pd.Series, what: str) -> pd.DataFrame | pd.Series:
    """``data`` as floats; text raises a DataError naming the column, row and value.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric(pd.Series([1, "2"], name="age"), "covariate").tolist()
    [1.0, 2.0]
    >>> numeric(pd.Series([1, "x"], index=[4, 5], name="age"), "covariate")
    Traceback (most recent call last):
    cpeval.exceptions.DataError: covariate 'age', row 5: value 'x' is not a number
    """
    if all(is_number_dtype(dtype) for dtype in _dtypes(data)):
        return data.astype(float)  # numbers already (a copy, as below)
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    converted = frame.apply(pd.to_numeric, errors="coerce")
    bad = frame.notna() & converted.isna()
    if bad.to_numpy().any():
        column = bad.any().idxmax()
        row = bad[column].idxmax()
        label = row.item() if hasattr(row, "item") else row  # 5, not np.int64(5)
        raise DataError(
            f"{what} '{column}', row {label!r}: value "
            f"'{show(frame.at[row, column])}' is not a number"
        )
    converted = converted.astype(float)
    return converted.iloc[:, 0] if isinstance(data, pd.Series) else converted


def is_number_dtype(dtype) -> bool:
    """numpy's integers and floats (not booleans, text or pandas' nullable types)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def _dtypes(data: pd.DataFrame | pd.Series) -> list:
    return [data.dtype] if isinstance(data, pd.Series) else list(data.dtypes)


def treatment(values: pd.Series, treated: object = None) -> pd.Series:
    """A treatment column as 0.0/1.0 (missing kept), 1 for the intervention.

    With ``treated=None`` the column must already hold 0 and 1 (or booleans);
    otherwise ``treated`` names the intervention's value and the column must hold
    exactly two values, so that text is never mapped by its order and arms are
    never pooled.

    Examples
    --------
    >>> import pandas as pd
    >>> arm = pd.Series(["usual care", "CP", "CP"], name="arm")
    >>> treatment(arm, treated="CP").tolist()
    [0.0, 1.0, 1.0]
    """
    name = values.name
    present = pd.unique(values.dropna())
    shown = ", ".join(f"'{show(v)}'" for v in sorted(present, key=str)[:6])
    if treated is None:
        numbers = pd.to_numeric(values, errors="coerce")
        if values.dtype == bool or (
            numbers.notna().sum() == values.notna().sum()
            and set(numbers.dropna().unique()) <= {0.0, 1.0}
        ):
            return numbers.astype(float)
        raise DataError(
            f"treatment '{name}' holds {shown}, not 0/1: say which value is the "
            "intervention (treated=...)"
        )
    if treated not in set(present):
        raise DataError(
            f"treatment '{name}' has no value '{show(treated)}' (it holds {shown})"
        )
    if len(present) > 2:
        raise DataError(
            f"treatment '{name}' holds {len(present)} values ({shown}): keep the "
            "two arms compared (arms are never pooled)"
        )
    return (values == treated).astype(float).where(values.notna())
