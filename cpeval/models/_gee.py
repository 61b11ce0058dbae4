"""Generalised estimating equations for marginal models of clustered outcomes
(statsmodels' GEE underneath), with t-based inference on clusters minus
parameters and the Mancl-DeRouen small-sample correction."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import numeric, require_columns
from .._results import EstimateResults, check_level
from ..exceptions import DataError
from ._intervals import t_pvalue

__all__ = ["GeeResult", "fit_gee"]

Family = Literal["gaussian", "binomial", "poisson"]
Correlation = Literal["independence", "exchangeable"]
Covariance = Literal["robust", "mancl-derouen"]
_FAMILIES = ("gaussian", "binomial", "poisson")
_CORRELATIONS = ("independence", "exchangeable")
#: statsmodels' names of the covariances.
_COVARIANCES = {"robust": "robust", "mancl-derouen": "bias_reduced"}


def _exchangeable():
    """statsmodels' exchangeable working correlation with geepack's moment
    estimator: alpha = (mean product of Pearson residuals over pairs in a
    cluster) / (mean squared Pearson residual), neither divisor less the
    parameters (statsmodels subtracts them from both)."""
    from statsmodels.genmod.cov_struct import Exchangeable

    class GeepackExchangeable(Exchangeable):
        def update(self, params):
            model = self.model
            variance = model.family.variance
            pairs = n_pairs = squares = 0.0
            for i in range(model.num_group):
                mean, _ = model.cached_means[i]
                r = (model.endog_li[i] - mean) / np.sqrt(variance(mean))
                ssr = float(np.sum(r * r))
                squares += ssr
                pairs += (float(r.sum()) ** 2 - ssr) / 2
                n_pairs += len(r) * (len(r) - 1) / 2
            if n_pairs == 0:  # clusters of one: no correlation to estimate
                self.dep_params = 0.0
                return
            self.dep_params = (pairs / n_pairs) / (squares / model.nobs)

    return GeepackExchangeable()


@dataclass(frozen=True, repr=False)
class GeeResult(EstimateResults):
    """A fitted GEE.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Coefficients (log odds for binomial, log rate for Poisson), their
        sandwich standard errors, the df (clusters minus parameters) and
        two-sided t p-values on those df.
    cov : pandas.DataFrame
    cov_type : str
        "robust" (the sandwich, as geepack) or "mancl-derouen" (bias-reduced).
    family, correlation : str
    alpha : float or None
        The exchangeable working correlation (None for independence).
    n_obs, n_clusters : int
    level : float
        Default level of ``conf_int()`` (t on ``df``).
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    cov_type: str
    family: str
    correlation: str
    alpha: float | None
    n_obs: int
    n_clusters: int
    level: float

    _title = "Generalised estimating equations"

    def _header(self):
        return [
            ("family", self.family),
            ("working correlation", self.correlation),
            ("alpha", self.alpha),
            ("n_obs", self.n_obs),
            ("clusters", self.n_clusters),
            ("cov_type", self.cov_type),
        ]

    def _notes(self) -> list[str]:
        return ["Intervals and p: t on clusters minus parameters"]


def fit_gee(
    data: pd.DataFrame,
    *,
    outcome: str,
    terms: Sequence[str],
    cluster: str,
    family: Family = "gaussian",
    correlation: Correlation = "exchangeable",
    cov_type: Covariance = "robust",
    level: float = 0.95,
) -> GeeResult:
    """A marginal model of a clustered outcome by GEE.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation.
    outcome : str
        0/1 for binomial, a count for Poisson.
    terms : sequence of str
        Right-hand-side terms in patsy syntax (``"arm"``, ``"C(wave)"``). Terms
        are code: patsy evaluates them, so never build them from untrusted text.
    cluster : str
        The cluster (participant, team) within which observations correlate.
    family : {"gaussian", "binomial", "poisson"}
        With the canonical link (identity, logit, log).
    correlation : {"exchangeable", "independence"}
        The working correlation.
    cov_type : {"robust", "mancl-derouen"}
        The sandwich covariance (as geepack's), or Mancl and DeRouen's (2001)
        bias-reduced one for few clusters.
    level : float
        Confidence level.

    Returns
    -------
    GeeResult

    Notes
    -----
    Inference uses t on clusters minus parameters. Coefficients and robust
    errors equal geepack's ``geeglm`` (``tests/reference/gee``). An AR(1)
    working correlation is not offered yet: statsmodels estimates its
    parameter differently from geepack.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_gee
    >>> d = pd.read_csv("tests/reference/gee/ohio.csv")
    >>> fit = fit_gee(d, outcome="resp", terms=["age", "smoke"], cluster="id",
    ...               family="binomial", correlation="independence")
    >>> round(float(fit.params["smoke"]), 4), fit.n_clusters
    (0.2721, 537)
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationWarning,
    )

    for name, value, allowed in (
        ("family", family, _FAMILIES),
        ("correlation", correlation, _CORRELATIONS),
        ("cov_type", cov_type, tuple(_COVARIANCES)),
    ):
        if value not in allowed:
            raise DataError(f"{name} must be one of {list(allowed)}; got {value!r}")
    check_level(level)
    if not terms:
        raise DataError("terms names no right-hand-side terms")
    needed = [outcome, cluster, *(t for t in terms if t.isidentifier())]
    require_columns(data, needed)
    used = data.dropna(subset=needed)
    values = numeric(used[outcome], "outcome")
    if family == "binomial" and not values.between(0, 1).all():
        raise DataError(
            f"outcome '{outcome}' must hold 0 and 1 for a binomial GEE; got values "
            f"from {values.min():g} to {values.max():g}"
        )
    if family == "poisson" and (values < 0).any():
        raise DataError(
            f"outcome '{outcome}' must be a count (0 or more) for a Poisson GEE; "
            f"got {values.min():g}"
        )
    used = used.assign(**{outcome: values})
    links = {
        "gaussian": sm.families.Gaussian(),
        "binomial": sm.families.Binomial(),
        "poisson": sm.families.Poisson(),
    }
    structure = (
        _exchangeable()
        if correlation == "exchangeable"
        else sm.cov_struct.Independence()
    )
    formula = f"{outcome} ~ " + " + ".join(terms)
    model = smf.gee(formula, cluster, used, family=links[family], cov_struct=structure)
    n_clusters, n_params = len(model.group_labels), model.exog.shape[1]
    df = float(n_clusters - n_params)
    if df < 1:
        raise DataError(
            f"{n_clusters} clusters for {n_params} parameters: the t df "
            "(clusters minus parameters) would be below 1"
        )
    with warnings.catch_warnings():  # no convergence, or separation: an error
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        try:
            fit = model.fit(cov_type=_COVARIANCES[cov_type])
        except (ConvergenceWarning, PerfectSeparationWarning) as exc:
            raise DataError(f"the GEE {formula!r} did not converge: {exc}") from None
    names = fit.params.index
    se = pd.Series(np.sqrt(np.diag(fit.cov_params())), index=names)
    return GeeResult(
        params=fit.params,
        se=se,
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(fit.params, se, df), index=names),
        cov=fit.cov_params(),
        cov_type=cov_type,
        family=family,
        correlation=correlation,
        alpha=float(structure.dep_params) if correlation == "exchangeable" else None,
        n_obs=int(fit.nobs),
        n_clusters=n_clusters,
        level=level,
    )
