"""How a single value is written in messages: whole floats without ".0"."""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_missing(value: object) -> bool:
    """None, NaN (float or numpy) or pandas' NA: one cell with no value.

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NA), is_missing(0)
    (True, True, True, False)
    """
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float | np.floating) and bool(np.isnan(value)))
    )


def show(value: object, missing: str = "") -> str:
    """Text of a value for an error message or report.

    Examples
    --------
    >>> show(3.0), show(2.5), show(float("nan"), "."), show(pd.Timestamp("2025-01-02"))
    ('3', '2.5', '.', '2025-01-02')
    >>> show(1e308)
    '1e+308'
    """
    if is_missing(value):
        return missing
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return str(float(value))
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return str(value)
