"""Fidelity scores: combine raters' scores and form high/low groups at a stated cut.

How the Connecting People pilot combined practitioner, service-user and observer
ratings, and where it cut high from low/moderate fidelity, are unconfirmed (see
the ``cp_fidelity`` definition), so both are the user's explicit choices here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._checks import numeric
from ..exceptions import DataError

__all__ = ["combine_ratings", "fidelity_group"]


def combine_ratings(
    ratings: Mapping[str, pd.Series] | pd.DataFrame,
    *,
    weights: Mapping[str, float] | None = None,
    min_raters: int | None = None,
) -> pd.Series:
    """Weighted mean of several raters' scores for the same participant.

    Parameters
    ----------
    ratings : DataFrame or mapping of str to Series
        One column per rater (e.g. ``practitioner``, ``service_user``), aligned on
        the index.
    weights : mapping of str to float, optional
        Weight of each rater; equal weights by default.
    min_raters : int, optional
        Fewest raters that must be present for a combined score; all by default.

    Returns
    -------
    pandas.Series
        The weighted mean of the raters present, missing where fewer than
        ``min_raters`` are present.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.scales import combine_ratings
    >>> ratings = {"worker": pd.Series([4.0, 2.0]), "user": pd.Series([2.0, None])}
    >>> combine_ratings(ratings, min_raters=1).tolist()
    [3.0, 2.0]
    """
    frame = numeric(pd.DataFrame(ratings), "rating")
    raters = list(frame.columns)
    chosen = {r: 1.0 for r in raters} if weights is None else dict(weights)
    unknown = sorted(set(chosen) ^ set(raters))
    if unknown:
        raise DataError(f"weights and raters differ: {unknown}")
    if any(w < 0 for w in chosen.values()) or sum(chosen.values()) <= 0:
        raise DataError("weights must be non-negative and not all zero")
    need = len(raters) if min_raters is None else min_raters
    w = np.array([chosen[r] for r in raters])
    values = frame.to_numpy(float)
    present = ~np.isnan(values)
    total = np.where(present, values * w, 0.0).sum(axis=1)
    weight = np.where(present, w, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = total / weight
    enough = (present.sum(axis=1) >= need) & (weight > 0)
    return pd.Series(
        np.where(enough, combined, np.nan), index=frame.index, name="fidelity"
    )


def fidelity_group(
    score: pd.Series, *, cut: float, labels: Sequence[str] = ("low/moderate", "high")
) -> pd.Series:
    """High fidelity where ``score >= cut``, otherwise low/moderate; missing stays.

    Parameters
    ----------
    score : pandas.Series
        Fidelity scores.
    cut : float
        The lowest score counted as high fidelity; state where it comes from.
    labels : sequence of two str
        Labels of the low and the high group.

    Returns
    -------
    pandas.Series
        Ordered categorical with the two labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.scales import fidelity_group
    >>> fidelity_group(pd.Series([2.0, 3.5, None]), cut=3.0).tolist()
    ['low/moderate', 'high', nan]
    """
    if len(labels) != 2:
        raise DataError(f"labels must name two groups, low then high; got {labels}")
    values = numeric(pd.Series(score, name=score.name or "score"), "fidelity score")
    codes = np.where(values.isna(), -1, (values >= cut).astype(int))
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(labels), ordered=True),
        index=score.index,
        name="fidelity_group",
    )
