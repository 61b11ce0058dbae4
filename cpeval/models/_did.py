"""Difference-in-differences with entity and time effects (linearmodels PanelOLS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from linearmodels.panel import PanelOLS

from .._checks import require_columns
from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ._intervals import t_interval, t_pvalue

__all__ = ["DidResult", "did"]


@dataclass(frozen=True, slots=True, repr=False)
class DidResult(EstimateResults):
    """A difference-in-differences estimate.

    Parameters
    ----------
    params, se, ci_low, ci_high, pvalues : float
        The treated-after effect (term ``"did"``), its clustered standard
        error, interval at ``level`` and p-value (t on ``df`` = clusters - 1).
    df : float
    n_obs, n_entities, n_clusters : int
    cov_type : str
        How the errors were clustered.
    level : float
        Level of ``ci_low``/``ci_high`` and default of ``conf_int()``.

    Notes
    -----
    ``estimate`` and ``p_val`` are deprecated aliases of ``params`` and
    ``pvalues`` (they warn; they go in the next release). ``conf_int(level)``
    is ``params -/+ t se`` on ``df``.
    """

    params: float
    se: float
    ci_low: float
    ci_high: float
    pvalues: float
    df: float
    n_obs: int
    n_entities: int
    n_clusters: int
    cov_type: str
    level: float = 0.95

    estimate = deprecated_alias("params", "estimate")
    p_val = deprecated_alias("pvalues", "p_val")
    _title = "Difference-in-differences (two-way fixed effects)"

    def _terms(self) -> pd.Index:
        return pd.Index(["did"])

    def _df_description(self) -> str:
        return "t, clusters - 1"

    @property
    def cov(self) -> pd.DataFrame:
        """The 1 x 1 covariance of the estimate."""
        return pd.DataFrame([[self.se**2]], index=["did"], columns=["did"])

    def _header(self) -> list[tuple[str, object]]:
        return [
            *EstimateResults._header(self),  # no zero-argument super() with slots
            ("entities", self.n_entities),
            ("clusters", self.n_clusters),
        ]


def did(
    data: pd.DataFrame,
    *,
    outcome: str,
    entity: str,
    time: str,
    treated: str,
    post: str,
    cluster: str | None = None,
    level: float = 0.95,
) -> DidResult:
    """Two-way fixed-effects difference-in-differences with clustered errors.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per entity (participant) and time.
    outcome : str
    entity, time : str
        Panel identifiers; entity and time effects are absorbed.
    treated : str
        0/1: the entity is in the intervention group.
    post : str
        0/1: the period is after the intervention started.
    cluster : str, optional
        Cluster column (e.g. team); by default errors cluster on the entity.
    level : float
        Confidence level.

    Returns
    -------
    DidResult

    Notes
    -----
    Fits ``outcome ~ treated:post + EntityEffects + TimeEffects`` with
    linearmodels ``PanelOLS(...).fit(cov_type="clustered", group_debias=True)``
    (its default ``debiased=True``): the cluster-robust sandwich scaled by
    ``G/(G-1)`` and ``(n-1)/(n-k)``, where ``k`` counts the regressor and every
    absorbed entity and time effect. Stata and fixest do not count entity effects
    nested in the clusters, so for short panels this SE is larger (by about
    ``sqrt(2)`` with two periods): a conservative choice, stated in the output.
    The interval uses t with ``G - 1`` df. With two periods and a balanced panel
    the estimate is the difference of the two groups' mean changes (checked by
    hand in the tests).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import did
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> res = did(d, outcome="y", entity="id", time="time", treated="group",
    ...           post="time", cluster="team")
    >>> res.n_clusters
    12
    """
    needed = [outcome, entity, time, treated, post] + ([cluster] if cluster else [])
    require_columns(data, needed)
    used = data.dropna(subset=needed)
    indexed = used.set_index([entity, time], drop=False)
    exog = (indexed[treated].astype(float) * indexed[post].astype(float)).rename("did")
    model = PanelOLS(
        indexed[outcome], exog.to_frame(), entity_effects=True, time_effects=True
    )
    clusters = (
        indexed[cluster]
        if cluster
        else pd.Series(
            pd.factorize(indexed.index.get_level_values(0))[0], index=indexed.index
        )
    )
    codes = pd.Series(pd.factorize(clusters)[0], index=indexed.index, name="cluster")
    fit = model.fit(
        cov_type="clustered", clusters=codes, debiased=True, group_debias=True
    )
    n_clusters = int(codes.nunique())
    if n_clusters < 2:
        raise DataError("difference-in-differences needs two or more clusters")
    estimate, se = float(fit.params["did"]), float(fit.std_errors["did"])
    df = n_clusters - 1.0
    limits = t_interval(np.array([estimate]), np.array([se]), df, level).iloc[0]
    return DidResult(
        params=estimate,
        se=se,
        ci_low=float(limits["ci_low"]),
        ci_high=float(limits["ci_high"]),
        pvalues=float(t_pvalue(estimate, se, df)),
        df=df,
        n_obs=int(fit.nobs),
        n_entities=int(used[entity].nunique()),
        n_clusters=n_clusters,
        cov_type=f"clustered by {cluster or entity} (CR1, absorbed effects counted)",
        level=level,
    )
