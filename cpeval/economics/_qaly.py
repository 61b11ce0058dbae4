"""QALYs by the area under the utility curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import numeric
from ..exceptions import DataError

__all__ = ["qalys"]


def qalys(
    data: pd.DataFrame,
    *,
    id: str = "id",
    time: str = "time",
    utility: str = "utility",
    death: str | None = None,
    discount: float = 0.035,
) -> pd.DataFrame:
    """QALYs per participant: the area under the utility curve (trapezoid rule).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per participant and visit.
    id, time, utility : str
        Participant, visit time in years from baseline, and utility columns.
    death : str, optional
        Column with the time of death in years (missing if alive); utility falls
        linearly from the last visit before death to 0 at death and is 0 after.
    discount : float
        Annual discount rate applied continuously, ``(1 + r)^-t`` (NICE: 3.5%);
        it changes nothing measurable within the first year but is applied
        throughout.

    Returns
    -------
    pandas.DataFrame
        One row per participant: ``qalys``, ``follow_up`` (years covered),
        ``visits`` and ``complete`` (False when a utility is missing, then qalys
        is missing too).

    Notes
    -----
    Between visits ``t0 < t1`` utility is linear; the segment contributes
    ``integral (u0 + (u1 - u0)(t - t0)/(t1 - t0)) (1 + r)^-t dt`` in closed form
    (``(t1 - t0)(u0 + u1)/2`` when ``r = 0``). Baseline-utility adjustment of the
    difference between arms (Manca et al. 2005) is a regression of QALYs on arm
    and baseline utility: ``cpeval.models.ancova(outcome="qalys",
    baseline="u0", group=...)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import qalys
    >>> d = pd.DataFrame({"id": [1, 1], "time": [0, 0.75], "utility": [0.6, 0.8]})
    >>> round(float(qalys(d, discount=0)["qalys"].iloc[0]), 6)
    0.525
    """
    absent = [c for c in (id, time, utility, death) if c and c not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    data = data.assign(**{c: numeric(data[c], "column") for c in (time, utility)})
    rows = []
    for person, visits in data.sort_values([id, time], kind="stable").groupby(
        id, sort=True
    ):
        t = visits[time].to_numpy(float)
        u = visits[utility].to_numpy(float)
        if np.any(np.diff(t) <= 0):
            raise DataError(
                f"participant {person}: visit times must increase ({list(t)})"
            )
        dies = visits[death].dropna().min() if death else np.nan
        if not np.isnan(dies):
            keep = t < dies
            t, u = np.append(t[keep], dies), np.append(u[keep], 0.0)
        complete = bool(np.isfinite(u).all())
        value = _area(t, u, discount) if complete else np.nan
        rows.append(
            {
                id: person,
                "qalys": value,
                "follow_up": t[-1] - t[0],
                "visits": len(visits),
                "complete": complete,
            }
        )
    return pd.DataFrame(rows)


def _area(t: np.ndarray, u: np.ndarray, rate: float) -> float:
    if len(t) < 2:
        return 0.0
    t0, t1, u0, u1 = t[:-1], t[1:], u[:-1], u[1:]
    if rate == 0:
        return float(((t1 - t0) * (u0 + u1) / 2).sum())
    k = np.log1p(rate)
    slope = (u1 - u0) / (t1 - t0)
    # integral of (a + b s) e^{-k (t0 + s)} ds over s in [0, h], with a = u0, b = slope
    h = t1 - t0
    e0, e1 = np.exp(-k * t0), np.exp(-k * t1)
    part_a = u0 * (e0 - e1) / k
    part_b = slope * (e0 / k**2 - e1 * (h / k + 1 / k**2))
    return float((part_a + part_b).sum())
