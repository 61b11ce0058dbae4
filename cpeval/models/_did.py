"""Difference-in-differences with entity and time effects (linearmodels PanelOLS)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from linearmodels.panel import PanelOLS
from scipy import stats

from ..exceptions import DataError

__all__ = ["DidResult", "did"]


@dataclass(frozen=True, slots=True)
class DidResult:
    """A difference-in-differences estimate.

    Parameters
    ----------
    estimate, se, ci_low, ci_high, p_val : float
        The treated-after effect, its clustered standard error, interval and
        p-value (t on ``df`` = clusters - 1).
    df : float
    n_obs, n_entities, n_clusters : int
    cov_type : str
        How the errors were clustered.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_val: float
    df: float
    n_obs: int
    n_entities: int
    n_clusters: int
    cov_type: str

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__slots__}])


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
    absent = sorted({c for c in needed if c not in data.columns})
    if absent:
        raise DataError(f"the model names columns the data do not have: {absent}")
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
    q = float(stats.t.ppf(0.5 + level / 2, df))
    return DidResult(
        estimate=estimate,
        se=se,
        ci_low=estimate - q * se,
        ci_high=estimate + q * se,
        p_val=float(2 * stats.t.sf(abs(estimate / se), df)),
        df=df,
        n_obs=int(fit.nobs),
        n_entities=int(used[entity].nunique()),
        n_clusters=n_clusters,
        cov_type=f"clustered by {cluster or entity} (CR1, absorbed effects counted)",
    )
