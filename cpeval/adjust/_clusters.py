"""Designs allocated by cluster: diagnose it, and model the score at that level."""

from __future__ import annotations

import pandas as pd

from .._checks import treatment
from ..exceptions import DataError
from ._propensity import PropensityScore, propensity_score

__all__ = ["cluster_allocation", "cluster_propensity_score"]


def cluster_allocation(
    data: pd.DataFrame, treated: str, cluster: str, *, treated_level: object = None
) -> pd.DataFrame:
    """How treatment is spread over clusters.

    Parameters
    ----------
    data : pandas.DataFrame
    treated, cluster : str
        Treatment (0/1, or labels with ``treated_level``) and cluster columns.
    treated_level : optional
        The treatment column's value for the intervention when it holds labels.

    Returns
    -------
    pandas.DataFrame
        Per cluster: ``n``, ``n_treated``, ``share_treated``;
        ``attrs["cluster_level"]`` is True when every cluster is in one arm only
        (as in the implementation study) and ``attrs["message"]`` says what follows.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import cluster_allocation
    >>> d = pd.DataFrame({"team": ["a", "a", "b", "b"], "arm": [1, 1, 0, 0]})
    >>> cluster_allocation(d, "arm", "team").attrs["cluster_level"]
    True
    """
    absent = [c for c in (treated, cluster) if c not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    data = data.assign(**{treated: treatment(data[treated], treated_level)})
    grouped = data.groupby(cluster, sort=True)[treated]
    table = pd.DataFrame({"n": grouped.size(), "n_treated": grouped.sum()})
    table["share_treated"] = table["n_treated"] / table["n"]
    single = table["share_treated"].isin([0.0, 1.0])
    table.attrs["cluster_level"] = bool(single.all())
    if single.all():
        table.attrs["message"] = (
            f"every {cluster} is in one arm: treatment was allocated by {cluster}, so "
            "participant-level propensity scores cannot separate cluster from "
            "treatment; model the score at cluster level and use cluster-robust errors"
        )
    elif single.any():
        table.attrs["message"] = (
            f"{int(single.sum())} of {len(table)} clusters have one arm only; their "
            "participants have no comparison within the cluster"
        )
    else:
        table.attrs["message"] = "every cluster has participants in both arms"
    return table


def cluster_propensity_score(
    data: pd.DataFrame, formula: str, cluster: str
) -> PropensityScore:
    """A propensity score modelled across clusters, given to each participant.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant; the treatment is constant within clusters.
    formula : str
        ``treated ~ covariates``; covariates are averaged within each cluster.
        A formula is code: patsy evaluates it as Python (as in statsmodels),
        so never build one from untrusted text; write a column whose name is
        not a Python name as ``Q("name")``.
    cluster : str

    Returns
    -------
    PropensityScore
        Scores aligned on the participants (each gets its cluster's score).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.adjust import cluster_propensity_score
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"team": np.repeat(np.arange(20), 5),
    ...                   "age": rng.normal(50, 9, 100)})
    >>> d["arm"] = (d["team"] % 2).astype(int)
    >>> ps = cluster_propensity_score(d, "arm ~ age", "team")
    >>> int(ps.score.groupby(d["team"]).nunique().max())
    1
    """
    treated = formula.split("~")[0].strip()
    allocation = cluster_allocation(data, treated, cluster)
    if not allocation.attrs["cluster_level"]:
        raise DataError(
            f"treatment varies within some {cluster}s: use propensity_score instead"
        )
    numeric = data.select_dtypes("number").columns.difference([cluster])
    level = data.groupby(cluster, sort=True)[list(numeric)].mean()
    fitted = propensity_score(level.reset_index(), formula)
    per_cluster = pd.Series(
        fitted.score.to_numpy(), index=level.index[fitted.score.index]
    )
    score = data[cluster].map(per_cluster).rename("ps")
    return PropensityScore(
        score=score,
        treated=data[treated].astype(int),
        params=fitted.params,
        n_dropped=int(score.isna().sum()),
        overlap=fitted.overlap,
    )
