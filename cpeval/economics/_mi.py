"""Bootstrap and multiple imputation combined, in both orders used in trials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._results import EstimateResults
from ..exceptions import DataError
from ..missing import Imputations, impute
from ..models._intervals import t_pvalue
from ._cea import BootstrapCEA, bootstrap_cea, incremental

__all__ = ["PooledCEA", "bootstrap_then_impute", "impute_then_bootstrap"]


@dataclass(frozen=True, repr=False)
class PooledCEA(EstimateResults):
    """Incremental cost and effect pooled over imputations.

    Parameters
    ----------
    pooled : pandas.DataFrame
        Rows ``delta_cost`` and ``delta_effect``: ``estimate``, ``within``,
        ``between`` and ``total`` variance (Rubin's rules, m from the input).
    covariance : float
        Total covariance of the two differences.
    bootstrap : BootstrapCEA
        The pooled point estimates with the replicates of every imputation stacked
        (for the CEAC, INMB intervals, quadrants and EVPI).
    order : str
        "impute then bootstrap" or "bootstrap then impute".
    m : int

    Notes
    -----
    ``params`` are the pooled differences and ``se`` the square roots of the
    total variances. ``conf_int(level)`` is Rubin's rules with a normal
    reference (``df`` infinite): ``estimate -/+ z sqrt(T)``; the bootstrap
    variance stands in for the complete-data variance, so there is no
    complete-data df for Barnard-Rubin.
    """

    pooled: pd.DataFrame
    covariance: float
    bootstrap: BootstrapCEA
    order: str
    m: int

    _title = "Incremental cost and effect, pooled over imputations"
    _term_label = "quantity"
    df = float("inf")
    n_obs = None
    cov_type = "Rubin's rules (total variance)"

    @property
    def params(self) -> pd.Series:
        """The pooled differences, ``delta_cost`` and ``delta_effect``."""
        return self.pooled["estimate"].astype(float)

    @property
    def se(self) -> pd.Series:
        """Square roots of the total variances."""
        return np.sqrt(self.pooled["total"].astype(float))

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values on the total variance."""
        values = t_pvalue(self.params, self.se, np.inf)
        return pd.Series(values, index=self.params.index)

    @property
    def cov(self) -> pd.DataFrame:
        """2 x 2 total covariance of the two differences."""
        names = list(self.params.index)
        total = self.pooled["total"].astype(float).to_numpy()
        matrix = np.diag(total)
        matrix[0, 1] = matrix[1, 0] = self.covariance
        return pd.DataFrame(matrix, index=names, columns=names)

    def _header(self) -> list[tuple[str, object]]:
        return [*super()._header(), ("order", self.order), ("imputations", self.m)]

    def _interval_note(self) -> str:
        return "Intervals: Rubin's rules, params -/+ z * sqrt(total)"

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.join(self.pooled[["within", "between", "total"]])


def impute_then_bootstrap(
    imputations: Imputations,
    *,
    cost: str,
    effect: str,
    group: str,
    n_boot: int = 1000,
    seed: int,
    cluster: str | None = None,
    n_jobs: int = 1,
    client=None,
) -> PooledCEA:
    """Bootstrap each completed data set, then pool (Rubin's rules).

    Parameters
    ----------
    imputations : Imputations
        From :func:`cpeval.missing.impute`.
    cost, effect, group : str
    n_boot : int
        Replicates per imputation.
    seed : int
        Spawns one stream per imputation.
    cluster : str, optional
        Two-stage cluster bootstrap within each imputation.
    n_jobs, client
        Parallel execution of each bootstrap, as in :func:`bootstrap_cea`.

    Returns
    -------
    PooledCEA

    Notes
    -----
    Estimate: the mean of the m point estimates; within: the mean of the m
    bootstrap variances (and covariance); between: the variance of the m point
    estimates; total ``W + (1 + 1/m) B``. The CEAC uses the m x n_boot stacked
    replicates, as Ben et al. (2023) do.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.economics import impute_then_bootstrap
    >>> from cpeval.missing import impute
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> d.loc[::7, "qaly"] = np.nan
    >>> imp = impute(d, ["qaly"], predictors=["u0"], by="arm", m=3, seed=1)
    >>> res = impute_then_bootstrap(imp, cost="cost", effect="qaly", group="arm",
    ...                             n_boot=100, seed=2)
    >>> res.m, len(res.bootstrap.replicates)
    (3, 300)
    """
    streams = np.random.SeedSequence(seed).spawn(imputations.m)
    runs = [
        bootstrap_cea(
            completed,
            cost=cost,
            effect=effect,
            group=group,
            n_boot=n_boot,
            seed=int(s.generate_state(1)[0]),
            cluster=cluster,
            n_jobs=n_jobs,
            client=client,
        )
        for completed, s in zip(imputations.datasets, streams, strict=True)
    ]
    points = np.array([[r.delta_cost, r.delta_effect] for r in runs])
    within = np.mean([r.replicates.cov().to_numpy() for r in runs], axis=0)
    return _pooled(
        points, within, [r.replicates for r in runs], "impute then bootstrap"
    )


def bootstrap_then_impute(
    data: pd.DataFrame,
    *,
    cost: str,
    effect: str,
    group: str,
    impute_columns: list[str],
    impute_options: Mapping | None = None,
    n_boot: int = 200,
    m: int = 5,
    seed: int,
) -> PooledCEA:
    """Resample the incomplete data, impute each resample m times, average.

    Parameters
    ----------
    data : pandas.DataFrame
        With missing costs or effects.
    cost, effect, group : str
    impute_columns : list of str
        Columns to impute (passed to :func:`cpeval.missing.impute`).
    impute_options : mapping, optional
        Further arguments of :func:`cpeval.missing.impute` (predictors, cluster,
        iterations); imputation is stratified by ``group``.
    n_boot : int
        Bootstrap resamples (each imputed m times).
    m : int
        Imputations per resample.
    seed : int

    Returns
    -------
    PooledCEA
        The replicates are the resamples' imputation-averaged differences; the
        pooled table reports the point estimate (m imputations of the original
        data) with the bootstrap variance as ``total``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.economics import bootstrap_then_impute
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> d.loc[::7, "qaly"] = np.nan
    >>> res = bootstrap_then_impute(d, cost="cost", effect="qaly", group="arm",
    ...     impute_columns=["qaly"], impute_options={"predictors": ["u0"],
    ...     "iterations": 2}, n_boot=5, m=2, seed=3)
    >>> len(res.bootstrap.replicates)
    5
    """
    options = {"iterations": 5, **(impute_options or {})}
    root = np.random.SeedSequence(seed)
    point_seed, *resample_seeds = root.spawn(n_boot + 1)
    point = _mean_difference(
        data,
        cost,
        effect,
        group,
        impute_columns,
        options,
        m,
        int(point_seed.generate_state(1)[0]),
    )
    rows = []
    for s in resample_seeds:
        rng = np.random.default_rng(s)
        resample = _stratified_resample(data, group, rng)
        rows.append(
            _mean_difference(
                resample,
                cost,
                effect,
                group,
                impute_columns,
                options,
                m,
                int(rng.integers(2**31)),
            )
        )
    replicates = pd.DataFrame(rows, columns=["delta_cost", "delta_effect"])
    cov = replicates.cov().to_numpy()
    pooled = pd.DataFrame(
        {"estimate": point, "within": np.nan, "between": np.nan, "total": np.diag(cov)},
        index=["delta_cost", "delta_effect"],
    )
    boot = BootstrapCEA.from_replicates(point[0], point[1], replicates)
    return PooledCEA(pooled, float(cov[0, 1]), boot, "bootstrap then impute", m)


def _pooled(points, within, replicate_sets, order: str) -> PooledCEA:
    m = len(points)
    if m < 2:
        raise DataError("pooling needs two or more imputations")
    estimate = points.mean(axis=0)
    between = np.cov(points, rowvar=False, ddof=1)
    total = within + (1 + 1 / m) * between
    pooled = pd.DataFrame(
        {
            "estimate": estimate,
            "within": np.diag(within),
            "between": np.diag(between),
            "total": np.diag(total),
        },
        index=["delta_cost", "delta_effect"],
    )
    stacked = pd.concat(replicate_sets, ignore_index=True)
    boot = BootstrapCEA.from_replicates(estimate[0], estimate[1], stacked)
    return PooledCEA(pooled, float(total[0, 1]), boot, order, m)


def _mean_difference(
    data, cost, effect, group, columns, options, m, seed
) -> np.ndarray:
    imp = impute(data, columns, by=group, m=m, seed=seed, **options)
    values = [
        incremental(d, cost=cost, effect=effect, group=group, treated=1, reference=0)
        for d in imp.datasets
    ]
    return np.array([[v.delta_cost, v.delta_effect] for v in values]).mean(axis=0)


def _stratified_resample(data: pd.DataFrame, group: str, rng) -> pd.DataFrame:
    parts = []
    for _, rows in data.groupby(group, sort=True):
        parts.append(rows.iloc[rng.integers(0, len(rows), len(rows))])
    return pd.concat(parts, ignore_index=True)
