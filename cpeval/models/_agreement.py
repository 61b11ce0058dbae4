"""Agreement between raters: Cohen's kappa (weighted or not) and ICCs for ratings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import numeric
from ..exceptions import DataError

__all__ = ["KappaResult", "cohen_kappa", "icc_ratings"]

Weights = Literal["linear", "quadratic"]


@dataclass(frozen=True, slots=True)
class KappaResult:
    """Cohen's kappa with its large-sample standard error and Wald interval.

    Parameters
    ----------
    kappa, se, ci_low, ci_high : float
    n : int
        Pairs of ratings used (both present).
    weights : str
        ``"none"``, ``"linear"`` or ``"quadratic"``.
    categories : tuple
        The ordered categories.
    level : float
    """

    kappa: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    weights: str
    categories: tuple
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row with kappa, se, interval, n and weights."""
        names = ["kappa", "se", "ci_low", "ci_high", "n", "weights"]
        return pd.DataFrame([{k: getattr(self, k) for k in names}])


def cohen_kappa(
    rater1: Sequence | pd.Series,
    rater2: Sequence | pd.Series,
    *,
    weights: Weights | None = None,
    categories: Sequence | None = None,
    level: float = 0.95,
) -> KappaResult:
    """Cohen's kappa for two raters, unweighted or with agreement weights.

    Parameters
    ----------
    rater1, rater2 : sequence
        Ratings of the same items; pairs with a missing rating are left out.
    weights : {"linear", "quadratic"}, optional
        Agreement weights ``1 - |i - j|/(k - 1)`` or ``1 - ((i - j)/(k - 1))^2``
        for ordered categories; unweighted by default.
    categories : sequence, optional
        The categories in order; by default the sorted union of observed ones.
    level : float
        Confidence level of the Wald interval.

    Returns
    -------
    KappaResult

    Notes
    -----
    ``kappa = (po - pe)/(1 - pe)`` on the weighted proportions; the standard
    error is Fleiss, Cohen & Everitt (1969):
    ``sqrt((sum p_ij (w_ij - (wbar_i. + wbar_.j)(1 - kappa))^2
    - (kappa - pe (1 - kappa))^2) / (n (1 - pe)^2))``. Equals R
    ``vcd::Kappa`` (unweighted, "Equal-Spacing", "Fleiss-Cohen") and, unweighted,
    ``psych::cohen.kappa`` (``tests/reference/agreement``).

    Examples
    --------
    >>> from cpeval.models import cohen_kappa
    >>> round(cohen_kappa([1, 2, 3, 3, 2], [1, 2, 3, 2, 2]).kappa, 4)
    0.6875
    """
    pairs = pd.DataFrame({"a": list(rater1), "b": list(rater2)}).dropna()
    if len(pairs) < 2:
        raise DataError("kappa needs at least two pairs of ratings")
    cats = (
        sorted(set(pairs["a"]) | set(pairs["b"]))
        if categories is None
        else list(categories)
    )
    unknown = sorted((set(pairs["a"]) | set(pairs["b"])) - set(cats), key=str)
    if unknown:
        raise DataError(f"ratings {unknown} are not among the categories {cats}")
    table = pd.crosstab(
        pd.Categorical(pairs["a"], cats), pd.Categorical(pairs["b"], cats), dropna=False
    ).to_numpy(float)
    k = len(cats)
    w = _weights(weights, k)
    p = table / table.sum()
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po, pe = float((w * p).sum()), float((w * np.outer(rows, cols)).sum())
    if pe >= 1:
        raise DataError("kappa is undefined: expected agreement is 1 (one category)")
    kappa = (po - pe) / (1 - pe)
    wbar_row, wbar_col = w @ cols, w.T @ rows
    inner = w - (wbar_row[:, None] + wbar_col[None, :]) * (1 - kappa)
    var = ((p * inner**2).sum() - (kappa - pe * (1 - kappa)) ** 2) / (
        len(pairs) * (1 - pe) ** 2
    )
    se = float(np.sqrt(max(var, 0.0)))
    z = stats.norm.ppf(0.5 + level / 2)
    return KappaResult(
        kappa,
        se,
        kappa - z * se,
        kappa + z * se,
        len(pairs),
        weights or "none",
        tuple(cats),
        level,
    )


def _weights(kind: str | None, k: int) -> np.ndarray:
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / max(k - 1, 1)
    table = {None: np.eye(k), "linear": 1 - distance, "quadratic": 1 - distance**2}
    if kind not in table:
        raise DataError(f"weights must be 'linear', 'quadratic' or None; got {kind!r}")
    return table[kind]


def icc_ratings(ratings: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Intraclass correlations of continuous ratings (Shrout & Fleiss; McGraw & Wong).

    Parameters
    ----------
    ratings : pandas.DataFrame
        One row per subject, one column per rater; subjects with a missing
        rating are left out.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Rows ICC1, ICC2, ICC3 (single rater) and ICC1k, ICC2k, ICC3k (mean of the
        raters), with ``icc``, ``f``, ``df1``, ``df2``, ``p_val``, ``ci_low``,
        ``ci_high``; ``n`` subjects and ``k`` raters in the attributes.

    Notes
    -----
    From the two-way ANOVA mean squares (subjects MSB, raters MSJ, error MSE;
    within-subject MSW); intervals from the F distribution, the ICC2 ones with
    the Satterthwaite-type df of McGraw & Wong (1996). Equals R
    ``psych::ICC(x, lmer = FALSE)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import icc_ratings
    >>> r = pd.DataFrame({"a": [9, 6, 8, 7, 10, 6], "b": [2, 1, 4, 1, 5, 2],
    ...                   "c": [5, 3, 6, 2, 6, 4], "d": [8, 2, 8, 6, 9, 7]})
    >>> round(float(icc_ratings(r).loc["ICC3", "icc"]), 4)
    0.7148
    """
    x = numeric(ratings, "rater").dropna().to_numpy()
    n, k = x.shape
    if n < 2 or k < 2:
        raise DataError(f"need two or more subjects and raters; got {n} and {k}")
    grand = x.mean()
    ss_b = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_j = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_e = ((x - grand) ** 2).sum() - ss_b - ss_j
    df_b, df_j, df_e = n - 1, k - 1, (n - 1) * (k - 1)
    msb, msj, mse = ss_b / df_b, ss_j / df_j, ss_e / df_e
    msw = (ss_j + ss_e) / (df_j + df_e)
    alpha = 1 - level
    f1, f3 = msb / msw, msb / mse
    d1 = (df_b, n * (k - 1))
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    f1l, f1u = (
        f1 / stats.f.ppf(1 - alpha / 2, *d1),
        f1 * stats.f.ppf(1 - alpha / 2, d1[1], d1[0]),
    )
    f3l = f3 / stats.f.ppf(1 - alpha / 2, df_b, df_e)
    f3u = f3 * stats.f.ppf(1 - alpha / 2, df_e, df_b)
    l2, u2 = _icc2_bounds(icc2, msb, msj, mse, n, k, alpha)
    rows = {
        "ICC1": (icc1, f1, *d1, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        "ICC2": (icc2, f3, df_b, df_e, l2, u2),
        "ICC3": (
            icc3,
            f3,
            df_b,
            df_e,
            (f3l - 1) / (f3l + k - 1),
            (f3u - 1) / (f3u + k - 1),
        ),
        "ICC1k": ((msb - msw) / msb, f1, *d1, 1 - 1 / f1l, 1 - 1 / f1u),
        "ICC2k": (
            (msb - mse) / (msb + (msj - mse) / n),
            f3,
            df_b,
            df_e,
            l2 * k / (1 + l2 * (k - 1)),
            u2 * k / (1 + u2 * (k - 1)),
        ),
        "ICC3k": ((msb - mse) / msb, f3, df_b, df_e, 1 - 1 / f3l, 1 - 1 / f3u),
    }
    table = pd.DataFrame.from_dict(
        rows, orient="index", columns=["icc", "f", "df1", "df2", "ci_low", "ci_high"]
    )
    table.insert(4, "p_val", stats.f.sf(table["f"], table["df1"], table["df2"]))
    table.attrs.update(n=n, k=k)
    return table


def _icc2_bounds(icc2, msb, msj, mse, n, k, alpha) -> tuple[float, float]:
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu, fl = stats.f.ppf(1 - alpha / 2, n - 1, v), stats.f.ppf(1 - alpha / 2, v, n - 1)
    spread = k * msj + (k * n - k - n) * mse
    low = n * (msb - fu * mse) / (fu * spread + n * msb)
    high = n * (fl * msb - mse) / (spread + n * fl * msb)
    return float(low), float(high)
