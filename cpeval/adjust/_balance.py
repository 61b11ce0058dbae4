"""Covariate balance before and after weighting or matching (cobalt's formulas)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import numeric
from ..exceptions import DataError

__all__ = ["balance_table", "love_plot"]

Denominator = Literal["pooled", "treated", "control", "all"]


def balance_table(
    data: pd.DataFrame,
    covariates: Sequence[str],
    treated: str,
    *,
    weights: pd.Series | None = None,
    s_d_denom: Denominator = "pooled",
    binary: Literal["raw", "std"] = "raw",
) -> pd.DataFrame:
    """Standardised differences, variance ratios and KS statistics by covariate.

    Parameters
    ----------
    data : pandas.DataFrame
    covariates : sequence of str
        Numeric columns (0/1 columns are treated as binary); code categorical
        covariates as 0/1 indicators first.
    treated : str
        The 0/1 treatment column.
    weights : pandas.Series, optional
        Weights aligned on ``data`` (from :func:`ipw_weights` or matching); the
        table then has ``*_adj`` columns beside the unadjusted ones.
    s_d_denom : {"pooled", "treated", "control", "all"}
        The standardising SD, as cobalt's ``s.d.denom``: ``sqrt((s1^2 + s0^2)/2)``,
        ``s1``, ``s0`` or the whole sample's; always from the unweighted sample,
        so that adjusted and unadjusted differences share it.
    binary : {"raw", "std"}
        Binary covariates as a raw difference in proportions (cobalt's default)
        or standardised with ``sqrt(p (1 - p))``.

    Returns
    -------
    pandas.DataFrame
        One row per covariate: ``type``, ``mean_treated``, ``mean_control``,
        ``diff`` (standardised or raw), ``var_ratio`` (continuous only), ``ks``,
        and with weights the same quantities with the suffix ``_adj``.

    Notes
    -----
    Weighted means ``sum(w x)/sum(w)``; weighted variances
    ``sum(w (x - m)^2) / (sum w - sum w^2 / sum w)`` for continuous covariates and
    ``p (1 - p)`` for binary ones; KS is the largest gap between the arms'
    weighted empirical distribution functions. These are cobalt's ``col_w_smd``,
    ``col_w_vr`` and ``col_w_ks`` formulas (``tests/reference/balance``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import balance_table
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> balance_table(d, ["age", "severity", "female"], "treated")["type"].tolist()
    ['continuous', 'continuous', 'binary']
    """
    absent = [c for c in [*covariates, treated] if c not in data.columns]
    if absent:
        raise DataError(
            f"the balance table names columns the data do not have: {absent}"
        )
    if s_d_denom not in ("pooled", "treated", "control", "all"):
        raise DataError(
            f"s_d_denom must be pooled, treated, control or all; got {s_d_denom!r}"
        )
    t = data[treated].to_numpy(float)
    base = np.ones(len(data))
    rows = []
    for name in covariates:
        x = numeric(data[name], "covariate").to_numpy()
        if np.isnan(x).any():
            raise DataError(
                f"covariate '{name}' has missing values; impute or drop them first"
            )
        is_binary = set(np.unique(x)) <= {0.0, 1.0}
        denom = _denominator(x, t, s_d_denom, is_binary)
        row = {"covariate": name, "type": "binary" if is_binary else "continuous"}
        row.update(_stats(x, t, base, denom, is_binary, binary, ""))
        if weights is not None:
            w = weights.reindex(data.index).fillna(0.0).to_numpy(float)
            row.update(_stats(x, t, w, denom, is_binary, binary, "_adj"))
        rows.append(row)
    return pd.DataFrame(rows).set_index("covariate")


def love_plot(table: pd.DataFrame, *, threshold: float = 0.1, ax=None):
    """Absolute standardised differences before and after adjustment.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`balance_table`.
    threshold : float
        A reference line (0.1 is the usual balance threshold).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cpeval.adjust import balance_table, love_plot
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> ax = love_plot(balance_table(d, ["age", "severity"], "treated"))
    >>> ax.get_xlabel()
    'absolute standardised difference'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.4 * len(table) + 1.5))
    positions = np.arange(len(table))
    ax.scatter(table["diff"].abs(), positions, label="unadjusted", marker="o")
    if "diff_adj" in table:
        ax.scatter(table["diff_adj"].abs(), positions, label="adjusted", marker="s")
    ax.axvline(threshold, linestyle="--", color="grey", linewidth=1)
    ax.set_yticks(positions, table.index)
    ax.set_xlabel("absolute standardised difference")
    ax.legend(loc="lower right")
    return ax


def _denominator(x, t, kind: str, is_binary: bool) -> float:
    def var(values):
        if is_binary:
            p = values.mean()
            return p * (1 - p)
        return values.var(ddof=1)

    parts = {
        "treated": var(x[t == 1]),
        "control": var(x[t == 0]),
        "all": var(x),
    }
    parts["pooled"] = (parts["treated"] + parts["control"]) / 2
    return float(np.sqrt(parts[kind]))


def _stats(x, t, w, denom, is_binary, binary, suffix) -> dict:
    m1, m0 = _wmean(x[t == 1], w[t == 1]), _wmean(x[t == 0], w[t == 0])
    raw = m1 - m0
    standardise = not is_binary or binary == "std"
    out = {
        f"mean_treated{suffix}": m1,
        f"mean_control{suffix}": m0,
        f"diff{suffix}": raw / denom if standardise and denom > 0 else raw,
        f"var_ratio{suffix}": np.nan
        if is_binary
        else _wvar(x[t == 1], w[t == 1]) / _wvar(x[t == 0], w[t == 0]),
        f"ks{suffix}": abs(raw) if is_binary else _ks(x, t, w),
    }
    return out


def _wmean(x, w) -> float:
    return float((w * x).sum() / w.sum())


def _wvar(x, w) -> float:
    share = w / w.sum()
    mean = (share * x).sum()
    return float((share * (x - mean) ** 2).sum() / (1 - (share**2).sum()))


def _ks(x, t, w) -> float:
    values = np.unique(x)
    f1 = _ecdf(x[t == 1], w[t == 1], values)
    f0 = _ecdf(x[t == 0], w[t == 0], values)
    return float(np.max(np.abs(f1 - f0)))


def _ecdf(x, w, at) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(w[order]) / w.sum()
    idx = np.searchsorted(xs, at, side="right") - 1
    return np.where(idx >= 0, cum[np.clip(idx, 0, None)], 0.0)
