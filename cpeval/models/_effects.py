"""Treatment effects as trial reports give them: adjusted difference, Hedges' g,
partial eta squared, each with its interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._checks import treatment
from .._results import DescriptiveResults, percent
from ..exceptions import DataError
from ._ancova import AncovaResult

__all__ = ["EffectSize", "partial_eta_squared", "pooled_sd", "treatment_effect"]


@dataclass(frozen=True, slots=True, repr=False)
class EffectSize(DescriptiveResults):
    """An effect size with its confidence interval.

    A descriptive result: no standard error, so no ``conf_int(level)``; the
    interval is the one computed at ``level`` (for partial eta squared, by
    inverting the noncentral F).

    Parameters
    ----------
    estimate, ci_low, ci_high : float
    level : float
    """

    estimate: float
    ci_low: float
    ci_high: float
    level: float

    _title = "Effect size"

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("estimate", self.estimate),
            ("ci_low", self.ci_low),
            ("ci_high", self.ci_high),
            ("level", percent(self.level)),
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row: ``estimate``, ``ci_low``, ``ci_high``, ``level``."""
        return pd.DataFrame(
            [{f: getattr(self, f) for f in ("estimate", "ci_low", "ci_high", "level")}]
        )

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        return []


def partial_eta_squared(
    f: float, df1: float, df2: float, level: float = 0.95
) -> EffectSize:
    """Partial eta squared from an F statistic, with a noncentral-F interval.

    Parameters
    ----------
    f : float
        The F statistic of the effect.
    df1, df2 : float
        Numerator (effect) and denominator (error) degrees of freedom.
    level : float
        Two-sided confidence level.

    Returns
    -------
    EffectSize

    Notes
    -----
    ``eta2_p = F df1 / (F df1 + df2)``. The interval inverts the noncentral F
    distribution (Steiger 2004): noncentrality bounds ``lambda`` with
    ``P(F' >= F) = (1 - level)/2`` and ``1 - (1 - level)/2``, each turned into
    an effect size as ``lambda / (lambda + df2)`` (the estimate's formula with
    ``F df1 = lambda``); a bound is 0 when ``F`` is below the matching central
    quantile (as R effectsize). Checked against an exact root search in R and
    ``effectsize::F_to_eta2(..., alternative = "two.sided")``
    (``tests/reference/effects``).

    Examples
    --------
    >>> from cpeval.models import partial_eta_squared
    >>> round(partial_eta_squared(4.0, 1, 100).estimate, 4)
    0.0385
    """
    if f < 0 or df1 <= 0 or df2 <= 0:
        raise DataError(f"need F >= 0 and positive df; got F={f}, df1={df1}, df2={df2}")
    tail = (1 - level) / 2
    low = _noncentrality(f, df1, df2, 1 - tail)
    high = _noncentrality(f, df1, df2, tail)
    return EffectSize(
        f * df1 / (f * df1 + df2), low / (low + df2), high / (high + df2), level
    )


def treatment_effect(
    fit: AncovaResult, data: pd.DataFrame, outcome: str
) -> pd.DataFrame:
    """The adjusted mean difference with Hedges' g and partial eta squared.

    Parameters
    ----------
    fit : AncovaResult
        From :func:`ancova`.
    data : pandas.DataFrame
        The data the model was fitted to (for the outcome's pooled SD).
    outcome : str
        The outcome column.

    Returns
    -------
    pandas.DataFrame
        One row: ``difference``, ``ci_low``, ``ci_high``, ``p_val``, ``df``,
        ``cov_type``, ``hedges_g`` with ``g_ci_low``/``g_ci_high``, and
        ``partial_eta2`` with ``eta2_ci_low``/``eta2_ci_high``.

    Notes
    -----
    Hedges' g divides the difference and its interval by the pooled SD of the
    outcome in the two groups and multiplies by ``J = 1 - 3/(4(n1 + n2) - 9)``;
    its interval is the model's, so it carries the cluster adjustment (the SD's
    own uncertainty is ignored). Partial eta squared uses the ANCOVA F of the
    group term (``t^2`` with the model-based OLS error, one df), as SPSS reports.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import ancova, treatment_effect
    >>> d = pd.read_csv("tests/reference/ancova/pilot_like.csv")
    >>> fit = ancova(d, outcome="followup", baseline="baseline", group="arm")
    >>> round(float(treatment_effect(fit, d, "followup")["partial_eta2"].iloc[0]), 4)
    0.0377
    """
    term = fit.effect_term
    absent = [c for c in (outcome, term) if c not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    used = data.dropna(subset=[outcome, term])
    coded = treatment(used[term], fit.treated).astype(float)  # as ancova coded it
    sizes = coded.value_counts()
    n1, n0 = sizes.get(1.0, 0), sizes.get(0.0, 0)
    pooled = pooled_sd(used[outcome], coded)
    correction = 1 - 3 / (4 * (n1 + n0) - 9)
    ci = fit.conf_int().loc[term]
    eta = partial_eta_squared(fit.t_ols**2, 1, fit.df_resid, fit.level)
    row = {
        "difference": fit.params[term],
        "ci_low": ci["ci_low"],
        "ci_high": ci["ci_high"],
        "p_val": fit.pvalues[term],
        "df": fit.df[term],
        "cov_type": fit.cov_type,
        "hedges_g": correction * fit.params[term] / pooled,
        "g_ci_low": correction * ci["ci_low"] / pooled,
        "g_ci_high": correction * ci["ci_high"] / pooled,
        "partial_eta2": eta.estimate,
        "eta2_ci_low": eta.ci_low,
        "eta2_ci_high": eta.ci_high,
    }
    return pd.DataFrame([row])


def pooled_sd(values: pd.Series, group: pd.Series) -> float:
    """The pooled within-group SD of two groups, ``sqrt(sum (n_k - 1) var_k /
    sum (n_k - 1))``, missing values left out; NaN unless both groups have two
    or more values (the SD of Hedges' g and of an E-value's standardisation).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models._effects import pooled_sd
    >>> round(pooled_sd(pd.Series([1.0, 3, 2, 6]), pd.Series([0, 0, 1, 1])), 4)
    2.2361
    """
    frame = pd.DataFrame({"y": np.asarray(values), "g": np.asarray(group)}).dropna()
    parts = frame.groupby("g")["y"].agg(["count", "var"])
    if len(parts) != 2 or (parts["count"] < 2).any():
        return float("nan")
    weights = parts["count"] - 1
    return float(np.sqrt((weights * parts["var"]).sum() / weights.sum()))


def _noncentrality(f: float, df1: float, df2: float, prob: float) -> float:
    """lambda with P(F(df1, df2, lambda) <= f) = prob; 0 if none is positive."""
    target = lambda ncp: stats.ncf.cdf(f, df1, df2, ncp) - prob  # noqa: E731
    if target(0.0) <= 0:
        return 0.0
    high = max(10.0, f * df1 * 2)
    while target(high) > 0:
        high *= 2
    return float(optimize.brentq(target, 0.0, high, xtol=1e-12, rtol=1e-12))
