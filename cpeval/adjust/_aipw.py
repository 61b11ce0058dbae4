"""Augmented inverse-probability weighting (doubly robust ATE)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ..models._intervals import t_interval, t_pvalue
from ._propensity import PropensityScore

__all__ = ["AipwResult", "aipw"]


@dataclass(frozen=True, slots=True, repr=False)
class AipwResult(EstimateResults):
    """The AIPW estimate of the average treatment effect.

    Parameters
    ----------
    params, se, ci_low, ci_high, pvalues : float
        The ATE (term ``"ATE"``) with influence-function (cluster-robust with
        ``cluster``) inference, normal; the interval at ``level``.
    n_obs, n_clusters : int
    level : float

    Notes
    -----
    ``df`` is infinite: ``conf_int(level)`` is ``params -/+ z se``. ``estimate``,
    ``p_val`` and ``n`` are deprecated aliases of ``params``, ``pvalues`` and
    ``n_obs`` (they warn; they go in the next release).
    """

    params: float
    se: float
    ci_low: float
    ci_high: float
    pvalues: float
    n_obs: int
    n_clusters: int
    level: float

    estimate = deprecated_alias("params", "estimate")
    p_val = deprecated_alias("pvalues", "p_val")
    n = deprecated_alias("n_obs", "n")
    _title = "Doubly robust ATE (AIPW)"
    df = float("inf")

    def _terms(self) -> pd.Index:
        return pd.Index(["ATE"])

    @property
    def cov(self) -> pd.DataFrame:
        """The 1 x 1 covariance of the estimate."""
        return pd.DataFrame([[self.se**2]], index=["ATE"], columns=["ATE"])

    @property
    def cov_type(self) -> str:
        """``"influence function"``, clustered when there are clusters."""
        if self.n_clusters:
            return f"influence function, {self.n_clusters} clusters"
        return "influence function"


def aipw(
    data: pd.DataFrame,
    *,
    outcome: str,
    ps: PropensityScore,
    covariates: Sequence[str],
    cluster: str | None = None,
    level: float = 0.95,
) -> AipwResult:
    """Doubly robust ATE: outcome regressions by arm augmented with IPW residuals.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows aligned with ``ps.score``'s index.
    outcome : str
    ps : PropensityScore
    covariates : sequence of str
        Numeric columns of the outcome model, fitted by OLS within each arm.
    cluster : str, optional
        Cluster column: the influence values are summed within clusters.
    level : float

    Returns
    -------
    AipwResult

    Notes
    -----
    ``psi_i = m1(x_i) - m0(x_i) + T_i (y_i - m1(x_i))/e_i - (1 - T_i)(y_i -
    m0(x_i))/(1 - e_i)``; the estimate is ``mean(psi)`` and its variance
    ``sum_g (sum_{i in g} (psi_i - mean))^2 / n^2`` (each row its own cluster
    without ``cluster``), the usual influence-function variance that treats the
    fitted models as known. Checked by hand in the tests.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import aipw, propensity_score
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> ps = propensity_score(d, "treated ~ age + severity + female")
    >>> res = aipw(d, outcome="y", ps=ps, covariates=["age", "severity", "female"])
    >>> res.n_obs
    400
    """
    rows = data.loc[ps.score.index]
    cols = [outcome, *covariates] + ([cluster] if cluster else [])
    absent = [c for c in cols if c not in rows.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    if rows[cols].isna().any().any():
        raise DataError("AIPW needs complete outcome and covariates; impute first")
    x = np.column_stack([np.ones(len(rows)), rows[list(covariates)].to_numpy(float)])
    y, t, e = rows[outcome].to_numpy(float), ps.treated.to_numpy(), ps.score.to_numpy()
    fitted = {}
    for arm in (0, 1):
        coef = np.linalg.lstsq(x[t == arm], y[t == arm], rcond=None)[0]
        fitted[arm] = x @ coef
    psi = (
        fitted[1]
        - fitted[0]
        + t * (y - fitted[1]) / e
        - (1 - t) * (y - fitted[0]) / (1 - e)
    )
    estimate = float(psi.mean())
    groups = rows[cluster].to_numpy() if cluster else np.arange(len(psi))
    sums = pd.Series(psi - estimate).groupby(groups).sum().to_numpy()
    se = float(np.sqrt((sums**2).sum()) / len(psi))
    limits = t_interval(np.array([estimate]), np.array([se]), np.inf, level).iloc[0]
    return AipwResult(
        params=estimate,
        se=se,
        ci_low=float(limits["ci_low"]),
        ci_high=float(limits["ci_high"]),
        pvalues=float(t_pvalue(estimate, se, np.inf)),
        n_obs=len(psi),
        n_clusters=len(np.unique(groups)) if cluster else 0,
        level=level,
    )
