"""Outcome estimation after weighting: weighted regression with design-based SEs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from patsy import PatsyError, dmatrices

from .._checks import treatment
from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ..models._intervals import t_pvalue

__all__ = ["WeightedEffect", "weighted_effect"]


@dataclass(frozen=True, repr=False)
class WeightedEffect(EstimateResults):
    """A weighted regression of the outcome on treatment (and covariates).

    Parameters
    ----------
    params, se, pvalues : pandas.Series
        Coefficients, robust (cluster-robust) SEs and p-values (t on ``df``).
    estimate : float
        The treatment coefficient: the weighted mean difference, or with
        covariates the doubly robust (weighted regression) estimate.
    df : float
        Design degrees of freedom minus the other coefficients, as survey.
    n_obs, n_clusters : int
    level : float
    cov : pandas.DataFrame
        Sandwich covariance of the coefficients.

    Notes
    -----
    ``conf_int(level)`` is ``params -/+ t se`` on ``df``. ``bse`` and ``n`` are
    deprecated aliases of ``se`` and ``n_obs`` (they warn; they go in the next
    release).
    """

    params: pd.Series
    se: pd.Series
    pvalues: pd.Series
    estimate: float
    df: float
    n_obs: int
    n_clusters: int
    level: float
    cov: pd.DataFrame | None = None

    bse = deprecated_alias("se", "bse")
    n = deprecated_alias("n_obs", "n")
    _title = "Weighted outcome regression"

    @property
    def cov_type(self) -> str:
        """``"cluster-robust"`` with clusters, ``"robust"`` (sandwich) without."""
        return "cluster-robust" if self.n_clusters else "robust"

    def _header(self) -> list[tuple[str, object]]:
        return [*super()._header(), ("clusters", self.n_clusters)]


def weighted_effect(
    data: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    weights: pd.Series,
    treated_level: object = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.95,
) -> WeightedEffect:
    """Weighted least squares of outcome on treatment, with design-based SEs.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome, treated : str
        Outcome and treatment columns.
    treated_level : optional
        The treatment column's value for the intervention when it holds labels;
        without it the column must hold 0/1.
    weights : pandas.Series
        Balancing weights aligned on ``data``'s index (from :func:`ipw_weights`);
        rows with weight 0 or no weight are left out.
    covariates : sequence of str
        Further terms; with them the estimate is doubly robust (consistent if
        either the weights or the outcome model is right).
    cluster : str, optional
        Cluster column for cluster-robust SEs.
    level : float

    Returns
    -------
    WeightedEffect

    Notes
    -----
    ``beta = (X'WX)^-1 X'Wy``; ``V = B^-1 [c sum_g z_g z_g'] B^-1`` with
    ``B = X'WX``, ``z_g`` the sum of ``w_i e_i x_i`` over cluster ``g`` (each row
    its own cluster without ``cluster``) and ``c = G/(G - 1)``. df = G - 1 - (p -
    1). Equals R ``survey::svyglm`` with ``svydesign(ids = ~1 or ~cluster,
    weights = ~w)`` (``tests/reference/weighting``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import ipw_weights, propensity_score, weighted_effect
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> w = ipw_weights(propensity_score(d, "treated ~ age + severity + female"))
    >>> res = weighted_effect(d, outcome="y", treated="treated", weights=w.weights)
    >>> res.n_obs
    400
    """
    if treated not in data.columns:
        raise DataError(f"the data have no treatment column '{treated}'")
    rows = data.assign(_w=weights.reindex(data.index))
    rows = rows[rows["_w"] > 0]
    rows = rows.assign(**{treated: treatment(rows[treated], treated_level)})
    formula = f"{outcome} ~ " + " + ".join([treated, *covariates])
    try:
        y, x = dmatrices(formula, rows, return_type="dataframe", NA_action="drop")
    except PatsyError as exc:
        raise DataError(
            f"cannot build the model {formula!r}: {str(exc).splitlines()[0]}"
        ) from None
    w = rows.loc[x.index, "_w"].to_numpy(float)
    xm, ym = x.to_numpy(float), y.iloc[:, 0].to_numpy(float)
    bread = np.linalg.inv(xm.T @ (xm * w[:, None]))
    beta = bread @ (xm.T @ (w * ym))
    scores = xm * (w * (ym - xm @ beta))[:, None]
    groups = rows.loc[x.index, cluster].to_numpy() if cluster else np.arange(len(ym))
    labels, codes = np.unique(groups, return_inverse=True)
    summed = np.zeros((len(labels), xm.shape[1]))
    np.add.at(summed, codes, scores)
    g = len(labels)
    if g < 2:
        raise DataError("need two or more clusters")
    vcov = bread @ (summed.T @ summed * g / (g - 1)) @ bread
    names = list(x.columns)
    se = np.sqrt(np.diag(vcov))
    df = g - 1 - (len(names) - 1)
    return WeightedEffect(
        params=pd.Series(beta, index=names),
        se=pd.Series(se, index=names),
        pvalues=pd.Series(t_pvalue(beta, se, df), index=names),
        estimate=float(beta[names.index(treated)]),
        df=float(df),
        n_obs=len(ym),
        n_clusters=g if cluster else 0,
        level=level,
        cov=pd.DataFrame(vcov, index=names, columns=names),
    )
