"""Instrumental variables: the effect of a dose (fidelity, sessions attended) with
allocation as the instrument, by two-stage least squares (complier-average and
dose-response effects; Dunn et al. 2005, DiazOrdaz et al. 2018)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._checks import numeric, require_columns
from .._results import EstimateResults
from ..exceptions import DataError
from ._intervals import t_pvalue

__all__ = ["WEAK_INSTRUMENT_F", "IvResult", "fit_iv"]

#: First-stage F below which an instrument is called weak (Staiger and Stock 1997).
WEAK_INSTRUMENT_F = 10.0


@dataclass(frozen=True, slots=True, repr=False)
class IvResult(EstimateResults):
    """A two-stage least squares fit.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        By term: the exposure first, then the intercept and the covariates.
        ``df`` are clusters - 1 with ``cluster``, else n - k.
    cov : pandas.DataFrame
        Cluster-robust (or heteroscedasticity-robust) covariance, with the
        small-sample factor ``G/(G-1) (n-1)/(n-k)`` (R sandwich ``vcovCL``
        type "HC1"; without clusters ``n/(n-k)``, HC1).
    n_obs, n_dropped, n_clusters : int
        Rows used, rows left out for a missing value, clusters (0 without).
    first_stage_f : float
        The instrument's F (its squared robust t) in the first stage.
    exposure, instrument : str
    cov_type : str
    messages : tuple of str
        A weak instrument (first-stage F under 10) is said here.
    level : float
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_dropped: int
    n_clusters: int
    first_stage_f: float
    exposure: str
    instrument: str
    cov_type: str
    messages: tuple[str, ...] = ()
    level: float = 0.95

    _title = "Instrumental-variable (2SLS) estimate"

    def _header(self) -> list[tuple[str, object]]:
        return [
            *EstimateResults._header(self),
            ("exposure", self.exposure),
            ("instrument", self.instrument),
            ("first_stage_f", self.first_stage_f),
            ("n_dropped", self.n_dropped),
        ]

    def _notes(self) -> list[str]:
        return [*EstimateResults._notes(self), *self.messages]


def fit_iv(
    data: pd.DataFrame,
    *,
    outcome: str,
    exposure: str,
    instrument: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.95,
) -> IvResult:
    """The effect of an exposure on an outcome with an instrument, by 2SLS.

    With allocation as the instrument and the dose received as the exposure
    (fidelity, 0 where the intervention was not delivered), the exposure's
    coefficient is the effect per unit of dose among those whose dose the
    allocation moved: with a 0/1 dose, the complier-average causal effect
    (CACE); with one binary instrument and no covariates, the ratio of the
    intention-to-treat effects on the outcome and on the dose.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant.
    outcome, exposure, instrument : str
        Columns: the outcome, the dose received, the allocation.
    covariates : sequence of str
        Baseline covariates, in both stages (e.g. the outcome at baseline).
    cluster : str, optional
        The allocation unit (team): cluster-robust errors, t on clusters - 1 df.
    level : float
        Interval level.

    Returns
    -------
    IvResult

    Raises
    ------
    DataError
        A column is missing or not numeric, the instrument does not vary, or
        fewer than two clusters remain.

    Notes
    -----
    linearmodels' ``IV2SLS``, clustered with its debiased factor; equal to R
    ``AER::ivreg`` with ``sandwich::vcovCL(type = "HC1")`` (``tests/reference/iv``).
    The first-stage F is the instrument's squared cluster-robust t; under 10 the
    instrument is weak and the estimate biased toward the OLS one. The
    exclusion restriction (allocation acts only through the dose) is an
    assumption the data cannot check.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_iv
    >>> d = pd.read_csv("tests/reference/iv/dose.csv")
    >>> fit = fit_iv(d, outcome="outcome", exposure="fidelity",
    ...              instrument="allocated", covariates=["baseline"], cluster="team")
    >>> round(float(fit.params["fidelity"]), 3), fit.n_clusters
    (1.828, 10)
    """
    from linearmodels.iv import IV2SLS

    covariates = list(covariates)
    columns = [outcome, exposure, instrument, *covariates]
    require_columns(data, [*columns, *([cluster] if cluster else [])], "fit_iv")
    values = numeric(data[columns], "fit_iv")
    keep = values.notna().all(axis=1)
    if cluster:
        keep &= data[cluster].notna()
    used = values[keep]
    if used[instrument].nunique() < 2:
        raise DataError(
            f"the instrument '{instrument}' has one value among the rows used: it "
            "cannot move the exposure"
        )
    exog = pd.DataFrame({"Intercept": 1.0}, index=used.index).join(used[covariates])
    options: dict = {"cov_type": "robust", "debiased": True}
    n_clusters = 0
    if cluster:
        codes = pd.factorize(data.loc[used.index, cluster], sort=True)[0]
        n_clusters = int(codes.max()) + 1
        if n_clusters < 2:
            raise DataError(f"cluster '{cluster}' has one value among the rows used")
        options = {"cov_type": "clustered", "clusters": codes, "debiased": True}
        _check_clusters(used[instrument], codes, instrument, cluster)
    _check_rank(exog, used, exposure, instrument)
    fit = IV2SLS(used[outcome], exog, used[[exposure]], used[[instrument]]).fit(
        **options
    )
    first = IV2SLS(used[exposure], exog.join(used[[instrument]]), None, None).fit(
        **options
    )
    # the instrument's own t only: in the first stage the intercept's variance
    # is 0 where every non-allocated dose is 0, and rounds below it
    first_f = float(
        first.params[instrument] ** 2 / first.cov.loc[instrument, instrument]
    )
    order = [exposure, *exog.columns]
    params = fit.params[order]
    se = fit.std_errors[order]
    dof = n_clusters - 1 if cluster else len(used) - len(order)
    df = pd.Series(float(dof), index=order)
    messages = ()
    if first_f < WEAK_INSTRUMENT_F:
        messages = (
            f"weak instrument: the first-stage F of '{instrument}' is "
            f"{first_f:.1f}, under {WEAK_INSTRUMENT_F:g}; the estimate leans "
            "toward the biased OLS one and its interval may not cover",
        )
    return IvResult(
        params=params,
        se=se,
        df=df,
        pvalues=pd.Series(t_pvalue(params.to_numpy(), se.to_numpy(), dof), index=order),
        cov=fit.cov.loc[order, order],
        n_obs=len(used),
        n_dropped=int((~keep).sum()),
        n_clusters=n_clusters,
        first_stage_f=first_f,
        exposure=exposure,
        instrument=instrument,
        cov_type=(
            f"cluster-robust by {cluster} (HC1, G/(G-1) (n-1)/(n-k)); t on "
            f"{n_clusters - 1} df"
            if cluster
            else "heteroscedasticity-robust (HC1); t on n - k df"
        ),
        messages=messages,
        level=level,
    )


def _check_clusters(instrument: pd.Series, codes, name: str, cluster: str) -> None:
    """An allocation by cluster needs two or more clusters at each of its values:
    with one, allocation and cluster are the same thing."""
    if instrument.nunique() > 2:
        return
    per_value = pd.Series(codes, index=instrument.index).groupby(instrument).nunique()
    if (per_value < 2).any():
        value = per_value.idxmin()
        raise DataError(
            f"'{name}' = {value:g} is found in {int(per_value.min())} {cluster} "
            "only: with one cluster an allocation cannot be told apart from the "
            "cluster itself; two or more are needed at each value"
        )


def _check_rank(exog: pd.DataFrame, used: pd.DataFrame, exposure: str, instrument: str):
    """The exposure must vary apart from the covariates, and the instrument must
    move it: else 2SLS has no solution (a constant dose, or a covariate as dose)."""
    base = exog.to_numpy(float)
    for name, column in ((exposure, used[exposure]), (instrument, used[instrument])):
        stacked = np.column_stack([base, column.to_numpy(float)])
        if np.linalg.matrix_rank(stacked) <= base.shape[1]:
            raise DataError(
                f"'{name}' does not vary apart from the intercept and covariates "
                f"among the {len(used)} rows used (a constant dose, or a covariate "
                "named as the dose): there is nothing to estimate"
            )
