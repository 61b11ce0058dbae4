"""Generalised estimating equations for marginal models of clustered outcomes
(statsmodels' GEE underneath, with geepack's estimators of the working
correlation), with t-based inference on clusters minus parameters and the
Mancl-DeRouen and Kauermann-Carroll small-sample corrections."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import numeric, require_columns
from .._format import show
from .._results import EstimateResults, check_level
from ..exceptions import DataError
from ._intervals import t_pvalue

__all__ = ["GeeResult", "fit_gee"]

#: Fisher-scoring iterations before a fit counts as not converged. statsmodels
#: stops when the score's norm is below 1e-6 (an absolute criterion); with a
#: small negative exchangeable correlation it gets there linearly (the
#: implementation study's social inclusion: 143 iterations, the estimates still
#: moving by 1e-10), so its default of 60 is too few. geepack stops on the
#: change in the estimates (1e-4) after at most 25.
MAX_ITERATIONS = 500

Family = Literal["gaussian", "binomial", "poisson"]
Correlation = Literal["independence", "exchangeable", "ar1"]
Covariance = Literal["robust", "mancl-derouen", "kauermann-carroll"]
_FAMILIES = ("gaussian", "binomial", "poisson")
_CORRELATIONS = ("independence", "exchangeable", "ar1")
#: statsmodels' covariance for each; Kauermann-Carroll is computed here from the fit.
_COVARIANCES = {
    "robust": "robust",
    "mancl-derouen": "bias_reduced",
    "kauermann-carroll": "robust",
}
#: The AR(1) alpha's Gauss-Newton iteration stops when a step is below this
#: (geepack takes one such step per iteration and stops at 1e-4 on any parameter).
AR1_STEP_TOLERANCE = 1e-12
AR1_MAX_STEPS = 200
#: An eigenvalue of I - H_ii below this makes the Kauermann-Carroll correction
#: undefined (a cluster with leverage 1 in some direction).
KC_MIN_EIGENVALUE = 1e-8


def _pearson(model, i):
    """Pearson residuals (y - mu) / sqrt(V(mu)) of cluster ``i``, no scale."""
    mean, _ = model.cached_means[i]
    return (model.endog_li[i] - mean) / np.sqrt(model.family.variance(mean))


def _exchangeable():
    """statsmodels' exchangeable working correlation with geepack's moment
    estimator: alpha = (mean product of Pearson residuals over pairs in a
    cluster) / (mean squared Pearson residual), neither divisor less the
    parameters (statsmodels subtracts them from both)."""
    from statsmodels.genmod.cov_struct import Exchangeable

    class GeepackExchangeable(Exchangeable):
        def update(self, params):
            model = self.model
            pairs = n_pairs = squares = 0.0
            for i in range(model.num_group):
                r = _pearson(model, i)
                ssr = float(np.sum(r * r))
                squares += ssr
                pairs += (float(r.sum()) ** 2 - ssr) / 2
                n_pairs += len(r) * (len(r) - 1) / 2
            if n_pairs == 0:  # clusters of one: no correlation to estimate
                self.dep_params = 0.0
                return
            self.dep_params = (pairs / n_pairs) / (squares / model.nobs)

    return GeepackExchangeable()


def _ar1():
    """An AR(1) working correlation with geepack's estimator of alpha.

    The correlation of two observations of a cluster is alpha^d, d the number of
    steps between their times, a time's step being its rank among the distinct
    times in the data (geepack's ``waves``, a factor, enter as their codes).
    geepack (geese's ``update_alpha``, ``cor_rho_ar1``) solves the estimating
    equation, over all pairs j < k within clusters,

        sum d alpha^(d - 1) (r_j r_k / phi - alpha^d) = 0,

    r the Pearson residuals and phi = sum r^2 / N (no parameters subtracted), by
    Gauss-Newton steps sum E (z - rho) / sum E^2 (E = d alpha^(d-1)) from alpha =
    0, one step per iteration of the mean; here the steps run to convergence at
    each update, which leaves the same solution.
    """
    from statsmodels.genmod.cov_struct import CovStruct

    class GeepackAR1(CovStruct):
        def __init__(self):
            super().__init__()
            self.dep_params = 0.0

        def initialize(self, model):
            super().initialize(model)
            _, steps = np.unique(np.asarray(model.time)[:, 0], return_inverse=True)
            self.steps_li = model.cluster_list(steps.ravel().astype(float))
            first, second, start = [], [], 0
            for steps_i in self.steps_li:
                j, k = np.triu_indices(len(steps_i), 1)
                first.append(start + j)
                second.append(start + k)
                start += len(steps_i)
            self.first = np.concatenate(first)
            self.second = np.concatenate(second)
            times = np.concatenate(self.steps_li)
            self.lags = np.abs(times[self.second] - times[self.first])
            if not (self.lags == 1).any():  # geepack's first step would be 0 / 0
                raise DataError(
                    "no two observations of a cluster are one time step apart: "
                    "geepack's AR(1) estimating equation cannot start"
                )

        def update(self, params):
            model = self.model
            r = np.concatenate([_pearson(model, i) for i in range(model.num_group)])
            z = r[self.first] * r[self.second] / (np.sum(r * r) / model.nobs)
            d = self.lags
            alpha = float(self.dep_params)
            for _ in range(AR1_MAX_STEPS):
                slope = d * alpha ** (d - 1)
                step = np.sum(slope * (z - alpha**d)) / np.sum(slope * slope)
                while abs(alpha + step) >= 1:  # stay inside (-1, 1)
                    step /= 2
                alpha += step
                if abs(step) < AR1_STEP_TOLERANCE:
                    break
            else:
                raise DataError(
                    f"the AR(1) alpha did not converge in {AR1_MAX_STEPS} steps "
                    f"(last {alpha:.6g})"
                )
            self.dep_params = alpha

        def covariance_matrix(self, endog_expval, index):
            steps = self.steps_li[index]
            return self.dep_params ** np.abs(steps[:, None] - steps[None, :]), True

        def summary(self):
            return f"AR(1) working correlation (geepack's estimator): {self.dep_params}"

    return GeepackAR1()


def _kauermann_carroll(model) -> np.ndarray:
    """Kauermann and Carroll's (2001) bias-corrected sandwich at the fitted mean.

    ``B^-1 (sum_i u_i u_i') B^-1`` with ``B = sum_i D_i' V_i^-1 D_i`` and
    ``u_i = D_i' V_i^-1 (I - H_ii)^(-1/2) r_i``, ``H_ii = D_i B^-1 D_i' V_i^-1``.
    ``H_ii`` is not symmetric unless ``V_i`` is a multiple of I; it equals
    ``V_i^(1/2) S_i V_i^(-1/2)`` with ``S_i = G_i B^-1 G_i'`` symmetric,
    ``G_i = V_i^(-1/2) D_i``, so the principal inverse square root is
    ``V_i^(1/2) (I - S_i)^(-1/2) V_i^(-1/2)`` and ``u_i = G_i' (I - S_i)^(-1/2)
    e_i``, ``e_i = V_i^(-1/2) r_i``: HC2's correction of the whitened residuals
    (the same for any square root of ``V_i``). The scale cancels.
    """
    whitened, bread = [], 0.0
    for i in range(model.num_group):
        mean, lpr = model.cached_means[i]
        sd = np.sqrt(model.family.variance(mean))
        correlation, _ = model.cov_struct.covariance_matrix(mean, i)
        values, vectors = np.linalg.eigh(np.asarray(correlation) * np.outer(sd, sd))
        root_inverse = (vectors / np.sqrt(values)) @ vectors.T
        g = root_inverse @ model.mean_deriv(model.exog_li[i], lpr)
        whitened.append((g, root_inverse @ (model.endog_li[i] - mean)))
        bread = bread + g.T @ g
    inverse = np.linalg.inv(bread)
    meat = 0.0
    for i, (g, e) in enumerate(whitened):
        values, vectors = np.linalg.eigh(np.eye(len(e)) - g @ inverse @ g.T)
        if values.min() < KC_MIN_EIGENVALUE:
            raise DataError(
                f"cluster {show(model.group_labels[i])} has leverage 1 (I - H has an "
                "eigenvalue of 0): the Kauermann-Carroll correction is undefined"
            )
        score = g.T @ (vectors @ ((vectors.T @ e) / np.sqrt(values)))
        meat = meat + np.outer(score, score)
    return inverse @ meat @ inverse


@dataclass(frozen=True, repr=False)
class GeeResult(EstimateResults):
    """A fitted GEE.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Coefficients (log odds for binomial, log rate for Poisson), their
        standard errors (of ``cov_type``), the df (clusters minus parameters) and
        two-sided t p-values on those df.
    cov : pandas.DataFrame
    cov_type : str
        "robust" (the sandwich, as geepack), "mancl-derouen" (bias-reduced) or
        "kauermann-carroll".
    family, correlation : str
    alpha : float or None
        The exchangeable or AR(1) working correlation parameter (None for
        independence).
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
    time: str | None = None,
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
    correlation : {"exchangeable", "independence", "ar1"}
        The working correlation. "ar1" needs ``time``.
    time : str, optional
        For ``correlation="ar1"`` only (required there): the numeric column
        ordering a cluster's observations (wave, visit, week). Each cluster may
        hold a time once. Lags count steps between the ordered distinct times in
        the data, not time units, as geepack's ``waves``: with times 0, 6 and 24
        months, 0 to 6 and 6 to 24 are both one step, and a cluster missing the
        6-month wave has 0 to 24 two steps apart. Row order does not matter.
    cov_type : {"robust", "mancl-derouen", "kauermann-carroll"}
        The sandwich covariance (as geepack's), or a small-sample correction for
        few clusters: Mancl and DeRouen's (2001) bias-reduced one (residuals
        times ``(I - H_ii)^-1``) or Kauermann and Carroll's (2001) (residuals
        times ``(I - H_ii)^(-1/2)``; see Notes).
    level : float
        Confidence level.

    Returns
    -------
    GeeResult

    Raises
    ------
    DataError
        An option not among those listed (before fitting); ``time`` missing for
        "ar1", given for another correlation, or repeated within a cluster; a
        non-numeric outcome or time; too few clusters; no convergence.

    Notes
    -----
    Inference uses t on clusters minus parameters. Coefficients, robust errors
    and alpha equal geepack's ``geeglm`` (``tests/reference/gee``) for each
    working correlation. The exchangeable alpha is geepack's moment estimator.
    The AR(1) alpha is geepack's: the root of ``sum d alpha^(d-1) (r_j r_k / phi
    - alpha^d) = 0`` over pairs of a cluster ``d`` steps apart, ``r`` the Pearson
    residuals, ``phi`` their mean square (``geeglm(corstr="ar1", waves=time)``,
    which turns ``waves`` into factor codes, hence steps; statsmodels' own
    ``Autoregressive`` estimates alpha otherwise). geeglm's default convergence
    criterion (1e-4 on the largest step) stops up to 2e-5 (relative) short of
    this root.

    The Kauermann-Carroll correction uses the principal inverse square root of
    the non-symmetric ``I - H_ii`` (``H_ii = D_i B^-1 D_i' V_i^-1``), that is
    ``V_i^(1/2) (I - S_i)^(-1/2) V_i^(-1/2)`` with ``S_i = V_i^(-1/2) D_i B^-1
    D_i' V_i^(-1/2)`` symmetric: HC2's correction of the whitened residuals. R's
    geesmv (``GEE.var.kc``, 1.3) instead takes ``Q diag(lambda^(-1/2)) Q'`` from
    the eigenvectors ``Q`` of ``I - H_ii``, which are not orthogonal unless
    ``H_ii`` is symmetric, so its matrix is not an inverse square root. The two
    agree when ``H_ii`` is symmetric (Gaussian, independence working
    correlation; checked against geesmv); otherwise geesmv's can fall below the
    uncorrected sandwich (ohio, independence: the intercept's variance 7% below
    it), while this one lies between the sandwich and Mancl-DeRouen's there.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_gee
    >>> d = pd.read_csv("tests/reference/gee/ohio.csv")
    >>> fit = fit_gee(d, outcome="resp", terms=["age", "smoke"], cluster="id",
    ...               family="binomial", correlation="independence")
    >>> round(float(fit.params["smoke"]), 4), fit.n_clusters
    (0.2721, 537)
    >>> ar1 = fit_gee(d, outcome="resp", terms=["age", "smoke"], cluster="id",
    ...               family="binomial", correlation="ar1", time="age")
    >>> round(ar1.alpha, 4)
    0.491
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        IterationLimitWarning,
        PerfectSeparationWarning,
    )

    for name, value, allowed in (
        ("family", family, _FAMILIES),
        ("correlation", correlation, _CORRELATIONS),
        ("cov_type", cov_type, tuple(_COVARIANCES)),
    ):
        if value not in allowed:
            raise DataError(f"{name} must be one of {list(allowed)}; got {value!r}")
    if correlation == "ar1" and time is None:
        raise DataError(
            "correlation='ar1' needs time=, the column ordering each cluster's "
            "observations"
        )
    if correlation != "ar1" and time is not None:
        raise DataError(
            f"time= orders observations for correlation='ar1' only; got "
            f"correlation={correlation!r}"
        )
    check_level(level)
    if isinstance(terms, str):
        raise DataError(
            f"terms must be a list of terms, e.g. ['time', 'arm', 'time:arm']; got "
            f"the text {terms!r}"
        )
    if not terms:
        raise DataError("terms names no right-hand-side terms")
    ordering = [] if time is None else [time]
    needed = [outcome, cluster, *ordering, *(t for t in terms if t.isidentifier())]
    require_columns(data, needed)
    used = data.dropna(subset=needed)
    values = numeric(used[outcome], "outcome")
    if family == "binomial" and not values.between(0, 1).all():
        raise DataError(
            f"outcome '{outcome}' must hold 0 and 1 for a binomial GEE; got values "
            f"from {values.min():g} to {values.max():g}"
        )
    if family == "poisson" and ((values < 0) | (values != values.round())).any():
        bad = values[(values < 0) | (values != values.round())].iloc[0]
        raise DataError(
            f"outcome '{outcome}' must be a count (a whole number, 0 or more) for a "
            f"Poisson GEE; got {bad:g}"
        )
    used = used.assign(**{outcome: values})
    if time is not None:
        used = used.assign(**{time: numeric(used[time], "time")})
        repeated = used.duplicated([cluster, time])
        if repeated.any():
            row = used[repeated].iloc[0]
            raise DataError(
                f"time '{time}' is {show(row[time])} twice in cluster "
                f"{show(row[cluster])}: AR(1) needs one observation per time in a "
                "cluster"
            )
    links = {
        "gaussian": sm.families.Gaussian(),
        "binomial": sm.families.Binomial(),
        "poisson": sm.families.Poisson(),
    }
    structures = {
        "independence": sm.cov_struct.Independence,
        "exchangeable": _exchangeable,
        "ar1": _ar1,
    }
    structure = structures[correlation]()
    formula = f"{outcome} ~ " + " + ".join(terms)
    model = smf.gee(
        formula,
        cluster,
        used,
        time=time,
        family=links[family],
        cov_struct=structure,
    )
    n_clusters, n_params = len(model.group_labels), model.exog.shape[1]
    df = float(n_clusters - n_params)
    if df < 1:
        raise DataError(
            f"{n_clusters} clusters for {n_params} parameters: the t df "
            "(clusters minus parameters) would be below 1"
        )
    if values.nunique() < 2:
        raise DataError(
            f"outcome '{outcome}' takes one value ({values.iloc[0]:g}) in all "
            f"{len(values)} rows used: there is nothing to model"
        )
    failures = (ConvergenceWarning, IterationLimitWarning, PerfectSeparationWarning)
    with warnings.catch_warnings():  # no convergence, or separation: an error
        for failure in failures:
            warnings.simplefilter("error", failure)
        try:
            fit = model.fit(cov_type=_COVARIANCES[cov_type], maxiter=MAX_ITERATIONS)
        except failures as exc:
            raise DataError(
                f"the GEE {formula!r} did not converge in {MAX_ITERATIONS} "
                f"iterations: {str(exc).splitlines()[0]}"
            ) from None
    names = fit.params.index
    if cov_type == "kauermann-carroll":
        cov = pd.DataFrame(_kauermann_carroll(model), index=names, columns=names)
    else:
        cov = fit.cov_params()
    se = pd.Series(np.sqrt(np.diag(cov)), index=names)
    return GeeResult(
        params=fit.params,
        se=se,
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(fit.params, se, df), index=names),
        cov=cov,
        cov_type=cov_type,
        family=family,
        correlation=correlation,
        alpha=None if correlation == "independence" else float(structure.dep_params),
        n_obs=int(fit.nobs),
        n_clusters=n_clusters,
        level=level,
    )
