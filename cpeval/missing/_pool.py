"""Rubin's rules with the Barnard-Rubin small-sample degrees of freedom."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ..models._intervals import t_pvalue

__all__ = ["PooledEstimate", "pool"]

LAMBDA_FLOOR = 1e-4  # as mice::barnard.rubin


@dataclass(frozen=True, repr=False)
class PooledEstimate(EstimateResults):
    """Estimates pooled over m imputations (one entry per parameter).

    Parameters
    ----------
    params : ndarray
        Mean of the m estimates (``qbar``).
    within, between, total : ndarray
        ``ubar``; ``b``; ``t = ubar + (1 + 1/m) b``.
    df : ndarray
        Barnard-Rubin degrees of freedom (Rubin's when ``df_complete`` is None).
    riv, lambda_, fmi : ndarray
        Relative increase in variance, proportion of variance due to missingness,
        and fraction of missing information.
    m : int
        Imputations, read from the inputs.
    names : tuple of str
        Parameter names.
    n_obs : int or None
        Rows of each completed data set, when given to :func:`pool`.

    Notes
    -----
    ``se = sqrt(total)``; ``conf_int(level)`` and ``pvalues`` are Rubin's
    rules: ``params -/+ t se`` with ``t`` on the Barnard-Rubin df (Rubin's
    large-sample df without ``df_complete``), as ``mice::pool``. ``cov`` is
    diagonal (the total variances: only variances are pooled).
    ``estimate`` is a deprecated alias of ``params`` (it warns; it goes in the
    next release).
    """

    params: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total: np.ndarray
    df: np.ndarray
    riv: np.ndarray
    lambda_: np.ndarray
    fmi: np.ndarray
    m: int
    names: tuple[str, ...]
    n_obs: int | None = None

    estimate = deprecated_alias("params", "estimate")
    _title = "Pooled estimate (Rubin's rules)"
    cov_type = "Rubin's rules (total variance)"
    df_method = "Barnard-Rubin"

    def _terms(self) -> pd.Index:
        return pd.Index(self.names)

    @property
    def se(self) -> np.ndarray:
        """Square root of the total variance."""
        return np.sqrt(self.total)

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided p-values on the pooled df."""
        return t_pvalue(self.params, self.se, self.df)

    @property
    def cov(self) -> pd.DataFrame:
        """Diagonal: the total variances (covariances are not pooled)."""
        return pd.DataFrame(np.diag(self.total), index=self.names, columns=self.names)

    def _header(self) -> list[tuple[str, object]]:
        return [*super()._header(), ("imputations", self.m)]

    def _interval_note(self) -> str:
        return "Intervals: Rubin's rules, params -/+ t(Barnard-Rubin df) * sqrt(total)"

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(
            within=self.within,
            between=self.between,
            total=self.total,
            riv=self.riv,
            **{"lambda": self.lambda_},
            fmi=self.fmi,
            m=self.m,
        )


def pool(estimates, variances, *, df_complete: float | None = None) -> PooledEstimate:
    """Pool m completed-data estimates with Rubin's rules.

    Parameters
    ----------
    estimates : array-like, shape (m,) or (m, p), or DataFrame
        One row per imputation; DataFrame columns name the parameters.
    variances : array-like, shape (m,) or (m, p)
        The squared standard errors, same shape as ``estimates``.
    df_complete : float, optional
        Degrees of freedom of the complete-data analysis (e.g. ``n - k``); with
        it, the Barnard-Rubin (1999) df, otherwise Rubin's (1987) large-sample df.

    Returns
    -------
    PooledEstimate

    Notes
    -----
    ``qbar = mean(q)``, ``ubar = mean(u)``, ``b = var(q)`` (m - 1 denominator),
    ``t = ubar + (1 + 1/m) b``, ``riv = (1 + 1/m) b / ubar``,
    ``lambda = (1 + 1/m) b / t`` (floored at 1e-4), ``df_old = (m - 1)/lambda^2``,
    ``df_obs = (v + 1)/(v + 3) v (1 - lambda)``, ``df = df_old df_obs / (df_old +
    df_obs)``, ``fmi = (riv + 2/(df + 3)) / (riv + 1)``. m is read from the input,
    never assumed. Equals R ``mice::pool`` and ``mice::pool.scalar``
    (``tests/reference/pool``).

    Examples
    --------
    >>> from cpeval.missing import pool
    >>> res = pool([1.0, 1.2, 0.9, 1.1, 1.0], [0.04, 0.05, 0.04, 0.05, 0.045],
    ...            df_complete=98)
    >>> round(float(res.params[0]), 3), res.m
    (1.04, 5)
    """
    names, q = _matrix(estimates, "estimates")
    _, u = _matrix(variances, "variances")
    if q.shape != u.shape:
        raise DataError(f"estimates {q.shape} and variances {u.shape} differ in shape")
    m = q.shape[0]
    if m < 2:
        raise DataError(f"pooling needs two or more imputations; got {m}")
    if np.any(u < 0) or not np.all(np.isfinite(q)) or not np.all(np.isfinite(u)):
        raise DataError("estimates must be finite and variances non-negative")
    qbar, ubar, b = q.mean(axis=0), u.mean(axis=0), q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = np.maximum((1 + 1 / m) * b / t, LAMBDA_FLOOR)
    df_old = (m - 1) / lam**2
    if df_complete is None or np.isinf(df_complete):
        df = df_old
    else:
        v = float(df_complete)
        df_obs = (v + 1) / (v + 3) * v * (1 - lam)
        df = df_old * df_obs / (df_old + df_obs)
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    return PooledEstimate(qbar, ubar, b, t, df, riv, (1 + 1 / m) * b / t, fmi, m, names)


def _matrix(values, what: str) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(values, pd.DataFrame):
        return tuple(map(str, values.columns)), values.to_numpy(float)
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(f"{what} must have one row per imputation")
    return tuple(f"q{i}" for i in range(array.shape[1])) if array.shape[1] > 1 else (
        "q",
    ), array
