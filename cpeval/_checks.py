"""Input checks shared by the stages: numbers must be numbers."""

from __future__ import annotations

import pandas as pd

from ._format import show
from .exceptions import DataError


def numeric(data: pd.DataFrame | pd.Series, what: str) -> pd.DataFrame | pd.Series:
    """``data`` as floats; text raises a DataError naming the column, row and value.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric(pd.Series([1, "2"], name="age"), "covariate").tolist()
    [1.0, 2.0]
    """
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    converted = frame.apply(pd.to_numeric, errors="coerce")
    bad = frame.notna() & converted.isna()
    if bad.to_numpy().any():
        column = bad.any().idxmax()
        row = bad[column].idxmax()
        raise DataError(
            f"{what} '{column}', row {row!r}: value '{show(frame.at[row, column])}' "
            "is not a number"
        )
    converted = converted.astype(float)
    return converted.iloc[:, 0] if isinstance(data, pd.Series) else converted
