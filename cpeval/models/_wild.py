"""The restricted wild cluster bootstrap (WCR) for the ANCOVA arm difference, for
designs with few clusters.

The bootstrap t statistic is the coefficient over its CR1 cluster-robust standard
error; bootstrap samples are built from the model fitted under the null (the
restricted residuals, flipped by cluster with Rademacher or Webb weights), as in
Cameron, Gelbach and Miller (2008), MacKinnon and Webb (2017) and Stata's
``boottest`` (Roodman, MacKinnon, Nielsen and Webb 2019, *Stata Journal*
19(1):4-60). The p-value is symmetric: the share of bootstrap ``|t*|`` at least
the observed ``|t|``. The confidence interval inverts the test: the values of the
difference the test does not reject at ``1 - level``, found by bisection with the
same draws. With Rademacher weights and ``2**G <= n_boot`` every one of the
``2**G`` sign patterns is used once (full enumeration), so the result is exact and
needs no seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from .._results import EstimateResults, check_level
from ..exceptions import DataError
from ._ancova import ols_fit

__all__ = ["WildBootstrap", "wild_bootstrap_ancova"]

Weights = Literal["rademacher", "webb"]
#: The weight distributions: Rademacher (+-1) and Webb's six-point (Webb 2013).
WEIGHTS: dict[str, np.ndarray] = {
    "rademacher": np.array([-1.0, 1.0]),
    "webb": np.array(
        [-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)]
    ),
}
_CHUNK = 4_000_000  # floats per block of bootstrap samples (about 32 MB)
_PRECISION = 1e-6  # interval limits to this fraction of the standard error


@dataclass(frozen=True)
class _Problem:
    """The regression, sorted by cluster, and the bootstrap draws."""

    X: np.ndarray
    y: np.ndarray
    starts: np.ndarray  # first row of each cluster
    k: int  # the tested column
    draws: np.ndarray  # (clusters, n_boot) weights

    @cached_property
    def _bread(self) -> np.ndarray:
        return np.linalg.inv(self.X.T @ self.X)

    def cr1(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficient ``k`` and its CR1 standard error, for each column of
        ``Y`` (the small-sample factor G/(G-1) (N-1)/(N-K), as Stata's)."""
        X, bread = self.X, self._bread
        n, p = X.shape
        g = len(self.starts)
        beta = bread @ (X.T @ Y)
        resid = Y - X @ beta
        w = X @ bread[:, self.k]  # beta_k = w' y
        scores = np.add.reduceat(w[:, None] * resid, self.starts, axis=0)
        scale = g / (g - 1) * (n - 1) / (n - p)
        return beta[self.k], np.sqrt(scale * (scores**2).sum(axis=0))

    def t_stats(self, r: float) -> tuple[float, np.ndarray]:
        """The observed t of ``beta_k = r`` and its bootstrap distribution."""
        X, y, k = self.X, self.y, self.k
        beta, se = self.cr1(y[:, None])
        t_obs = float((beta[0] - r) / se[0])
        others = np.delete(X, k, axis=1)  # the model under the null
        gamma, *_ = np.linalg.lstsq(others, y - r * X[:, k], rcond=None)
        fitted = others @ gamma + r * X[:, k]
        residual = y - fitted
        sizes = np.diff(np.append(self.starts, len(y)))
        row_draws = np.repeat(self.draws, sizes, axis=0)  # (n, n_boot)
        step = max(1, _CHUNK // len(y))
        blocks = []
        for b in range(0, row_draws.shape[1], step):
            Y = fitted[:, None] + residual[:, None] * row_draws[:, b : b + step]
            beta, se = self.cr1(Y)
            blocks.append((beta - r) / se)
        return t_obs, np.concatenate(blocks)

    def p_value(self, r: float) -> float:
        """The symmetric bootstrap p-value of ``beta_k = r``."""
        t_obs, t_star = self.t_stats(r)
        return float(np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-12)))


@dataclass(frozen=True, repr=False)
class WildBootstrap(EstimateResults):
    """The wild cluster bootstrap test and interval of the ANCOVA arm difference.

    Parameters
    ----------
    params, se : pandas.Series
        The difference (intervention minus comparator) and its CR1
        cluster-robust standard error.
    df : pandas.Series
        Clusters minus one (reported; the p-value and interval come from the
        bootstrap, not from a t distribution).
    pvalues : pandas.Series
        The bootstrap p-value: the share of bootstrap ``|t*|`` at least the
        observed ``|t|``.
    cov : pandas.DataFrame
        The CR1 variance of the difference.
    n_obs, n_clusters, n_boot : int
        Rows, clusters and bootstrap samples (``2**G`` when enumerated).
    weights : {"rademacher", "webb"}
    enumerated : bool
        Every Rademacher sign pattern used once (exact).
    level : float
        Default level of ``conf_int()``, which inverts the test at call time.

    Notes
    -----
    ``conf_int(level)`` is not ``params -/+ t se``: it is the set of values of
    the difference that the bootstrap test does not reject at ``1 - level``,
    with the same draws.
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_clusters: int
    n_boot: int
    weights: str
    enumerated: bool
    level: float
    problem: _Problem = field(repr=False, compare=False)

    _title = "Wild cluster bootstrap (restricted, WCR)"

    @property
    def cov_type(self) -> str:
        """How the test was made."""
        return f"wild cluster bootstrap ({self.weights}, restricted), CR1 t"

    def _header(self):
        return [
            ("n_obs", self.n_obs),
            ("clusters", self.n_clusters),
            ("bootstrap samples", self.n_boot),
            ("weights", self.weights + (" (all sign patterns)" * self.enumerated)),
            ("level", self.level),
        ]

    def _notes(self) -> list[str]:
        return [
            "p: share of bootstrap |t*| at least |t| (t: CR1 errors); interval: "
            "the values the test does not reject (inverted with the same draws)"
        ]

    def _interval(self, level: float) -> pd.DataFrame:
        estimate, se = float(self.params.iloc[0]), float(self.se.iloc[0])
        low, high = invert(self.problem, estimate, se, 1 - check_level(level))
        return pd.DataFrame(
            {"ci_low": [low], "ci_high": [high]}, index=self.params.index
        )


def invert(problem: _Problem, estimate: float, se: float, alpha: float):
    """The interval of values of the coefficient not rejected at ``alpha``."""
    if problem.p_value(estimate) < alpha:  # cannot happen for a symmetric test
        raise DataError("the bootstrap rejects the estimate itself; no interval")
    bounds = []
    for sign in (-1.0, 1.0):
        inside, width = estimate, 2 * se
        outside = estimate + sign * width
        for _ in range(40):  # widen until the test rejects
            if problem.p_value(outside) < alpha:
                break
            inside, width = outside, 2 * width
            outside = estimate + sign * width
        else:
            bounds.append(sign * np.inf)  # too few draws to reject anywhere
            continue
        while abs(outside - inside) > _PRECISION * se:
            middle = (inside + outside) / 2
            if problem.p_value(middle) < alpha:
                outside = middle
            else:
                inside = middle
        bounds.append((inside + outside) / 2)
    return bounds[0], bounds[1]


def wild_bootstrap_ancova(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    cluster: str,
    treated: object = None,
    covariates: Sequence[str] = (),
    n_boot: int = 9999,
    weights: Weights = "webb",
    seed: int | None = None,
    level: float = 0.95,
) -> WildBootstrap:
    """The ANCOVA arm difference tested by the restricted wild cluster bootstrap.

    Parameters
    ----------
    data, outcome, baseline, group, treated, covariates : see ancova
        As :func:`cpeval.models.ancova` (terms in ``covariates`` are code: patsy
        evaluates them, so never build them from untrusted text).
    cluster : str
        The cluster column (team, agency).
    n_boot : int
        Bootstrap samples. With Rademacher weights and ``2**G <= n_boot`` all
        ``2**G`` sign patterns are used instead (exact).
    weights : {"webb", "rademacher"}
        Webb's six-point weights suit few clusters (fewer than about 12), where
        Rademacher weights have too few distinct patterns.
    seed : int, optional
        Seeds the draws (required unless they are enumerated).
    level : float
        Level of the interval.

    Returns
    -------
    WildBootstrap

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import wild_bootstrap_ancova
    >>> d = pd.read_csv("tests/reference/ancova/pilot_like.csv")
    >>> res = wild_bootstrap_ancova(d, outcome="followup", baseline="baseline",
    ...                             group="arm", cluster="cluster",
    ...                             weights="rademacher", n_boot=99999)
    >>> res.enumerated, res.n_boot, round(float(res.pvalues.iloc[0]), 4)
    (True, 16384, 0.2386)
    """
    if weights not in WEIGHTS:
        raise DataError(f"weights must be one of {sorted(WEIGHTS)}; got {weights!r}")
    if not isinstance(n_boot, int) or n_boot < 99:
        raise DataError(f"n_boot must be a whole number of 99 or more; got {n_boot!r}")
    check_level(level)
    fit, used = ols_fit(
        data,
        outcome=outcome,
        baseline=baseline,
        group=group,
        treated=treated,
        covariates=covariates,
        cluster=cluster,
    )
    rows = fit.model.data.row_labels
    codes, _ = pd.factorize(used.loc[rows, cluster], sort=True)
    n_clusters = int(codes.max()) + 1
    if n_clusters < 3:
        raise DataError(
            f"cluster '{cluster}' has {n_clusters} clusters; the wild cluster "
            "bootstrap needs three or more"
        )
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    enumerated = weights == "rademacher" and 2**n_clusters <= n_boot
    if enumerated:
        draws = np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters))).T
    else:
        if seed is None:
            raise DataError("seed is required for random bootstrap draws")
        rng = np.random.default_rng(seed)
        draws = rng.choice(WEIGHTS[weights], size=(n_clusters, n_boot))
    names = list(fit.params.index)
    problem = _Problem(
        X=np.asarray(fit.model.exog, float)[order],
        y=np.asarray(fit.model.endog, float)[order],
        starts=starts,
        k=names.index(group),
        draws=draws,
    )
    estimate = float(fit.params[group])
    se = float(problem.cr1(problem.y[:, None])[1][0])
    if not se > 1e-10 * (1 + float(np.abs(problem.y).max())):  # rounding only
        raise DataError(
            f"the difference in '{outcome}' has no cluster-robust variation (its "
            "CR1 standard error is 0 up to rounding): the model fits every cluster "
            "exactly"
        )
    index = pd.Index([group])
    return WildBootstrap(
        params=pd.Series([estimate], index=index),
        se=pd.Series([se], index=index),
        df=pd.Series([float(n_clusters - 1)], index=index),
        pvalues=pd.Series([problem.p_value(0.0)], index=index),
        cov=pd.DataFrame([[se**2]], index=index, columns=index),
        n_obs=len(problem.y),
        n_clusters=n_clusters,
        n_boot=int(draws.shape[1]),
        weights=weights,
        enumerated=enumerated,
        level=level,
        problem=problem,
    )
