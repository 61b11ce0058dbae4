"""Propensity scores and the weights built from them."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from patsy import PatsyError, dmatrices
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from .._checks import treatment
from .._results import DescriptiveResults
from ..exceptions import DataError

__all__ = [
    "PropensityScore",
    "Weights",
    "effective_sample_size",
    "ipw_weights",
    "propensity_score",
]

Estimand = Literal["ATE", "ATT", "ATO"]
SEPARATION = 1e-8  # fitted probabilities this close to 0 or 1 mean separation


@dataclass(frozen=True, repr=False)
class PropensityScore(DescriptiveResults):
    """A fitted propensity-score model.

    Parameters
    ----------
    score : pandas.Series
        P(treated | covariates), aligned with the rows used.
    treated : pandas.Series
        The 0/1 treatment of those rows.
    params : pandas.Series
        Logistic-regression coefficients.
    n_dropped : int
        Rows left out for a missing value in a model column.
    overlap : pandas.DataFrame
        Range of the score in each arm, and the common support.
    """

    score: pd.Series
    treated: pd.Series
    params: pd.Series
    n_dropped: int
    overlap: pd.DataFrame

    _title = "Propensity score (logistic regression)"

    @property
    def n_obs(self) -> int:
        """Rows with a score."""
        return len(self.score)

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("n_obs", self.n_obs),
            ("treated", int((self.treated == 1).sum())),
            ("control", int((self.treated == 0).sum())),
            ("n_dropped", self.n_dropped),
        ]

    def to_frame(self) -> pd.DataFrame:
        """The coefficients: one row per term with ``params``."""
        return self.params.rename("params").rename_axis("term").reset_index()

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        overlap = self.overlap.rename_axis("arm").reset_index()
        return [("Coefficients (log odds)", self.to_frame()), ("Overlap", overlap)]

    @property
    def logit(self) -> pd.Series:
        """The linear predictor, log(score / (1 - score))."""
        return np.log(self.score / (1 - self.score))


@dataclass(frozen=True, repr=False)
class Weights(DescriptiveResults):
    """Balancing weights and what was done to make them.

    Parameters
    ----------
    weights : pandas.Series
        One weight per row (0 for trimmed rows).
    estimand : {"ATE", "ATT", "ATO"}
    stabilized : bool
    n_trimmed, n_truncated : int
        Rows given weight 0 for a score outside the trimming bounds, and weights
        capped at the truncation quantile.
    ess : mapping
        Kish effective sample size by arm (``"treated"``, ``"control"``).
    """

    weights: pd.Series
    estimand: str
    stabilized: bool
    n_trimmed: int
    n_truncated: int
    ess: dict

    _title = "Balancing weights"

    @property
    def n_obs(self) -> int:
        """Rows with a weight (trimmed rows included, with weight 0)."""
        return len(self.weights)

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("estimand", self.estimand),
            ("n_obs", self.n_obs),
            ("stabilized", self.stabilized),
            ("n_trimmed", self.n_trimmed),
            ("n_truncated", self.n_truncated),
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per arm with ``ess`` (Kish effective sample size), then a row
        ``all`` with the min, mean and max of the non-zero weights."""
        rows = [{"arm": arm, "ess": float(v)} for arm, v in self.ess.items()]
        used = self.weights[self.weights > 0]
        rows.append(
            {
                "arm": "all",
                "ess": np.nan,
                "min": used.min(),
                "mean": used.mean(),
                "max": used.max(),
            }
        )
        return pd.DataFrame(rows, columns=["arm", "ess", "min", "mean", "max"])


def propensity_score(
    data: pd.DataFrame, formula: str, *, treated: object = None
) -> PropensityScore:
    """Logistic-regression propensity score, ``treated ~ covariates``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant (or per team for a cluster-level model).
    formula : str
        Patsy formula with the treatment column on the left.
        A formula is code: patsy evaluates it as Python (as in statsmodels),
        so never build one from untrusted text; write a column whose name is
        not a Python name as ``Q("name")``.
    treated : optional
        The treatment column's value for the intervention, when the column holds
        labels (``"CP"``/``"usual care"``); without it the column must hold 0/1.
        Text is never mapped by its order.

    Returns
    -------
    PropensityScore

    Raises
    ------
    DataError
        A column is missing, the treatment is not 0/1 with both values, a
        covariate is entirely missing, or the covariates separate the arms
        (fitted probabilities of 0 or 1: no overlap).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import propensity_score
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> ps = propensity_score(d, "treated ~ age + severity + female")
    >>> bool(ps.score.between(0, 1).all())
    True
    """
    lhs = formula.split("~", 1)[0].strip()
    if lhs in data.columns:
        data = data.assign(**{lhs: treatment(data[lhs], treated)})
    elif treated is not None:
        raise DataError(f"the treatment '{lhs}' of {formula!r} is not a column")
    names = _formula_names(formula, data)
    for name in names:
        if data[name].isna().all():
            raise DataError(f"covariate '{name}' has no observed values")
    try:
        y, x = dmatrices(formula, data, return_type="dataframe", NA_action="drop")
    except PatsyError as exc:
        raise DataError(
            f"cannot build the model {formula!r}: {str(exc).splitlines()[0]}"
        ) from None
    treated = y.iloc[:, 0]
    if set(np.unique(treated)) != {0.0, 1.0}:
        raise DataError(f"the treatment '{y.columns[0]}' must hold both 0 and 1")
    with warnings.catch_warnings():  # separation is reported below as a DataError
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            fit = sm.GLM(treated, x, family=sm.families.Binomial()).fit()
            score = pd.Series(fit.fittedvalues, index=x.index, name="ps")
    if (score < SEPARATION).any() or (score > 1 - SEPARATION).any():
        culprits = _separating(x, treated)
        named = (
            f" ({', '.join(repr(c) for c in culprits)} found in one arm only)"
            if culprits
            else ""
        )
        raise DataError(
            "the covariates separate the arms (fitted propensity scores of 0 or "
            f"1){named}: there is no overlap to adjust over; simplify the model or "
            "restrict the sample"
        )
    return PropensityScore(
        score,
        treated.astype(int),
        fit.params,
        len(data) - len(x),
        _overlap(score, treated),
    )


def ipw_weights(
    ps: PropensityScore,
    *,
    estimand: Estimand = "ATE",
    stabilize: bool = False,
    trim: float | None = None,
    truncate: float | None = None,
) -> Weights:
    """Inverse-probability (or overlap) weights from a propensity score.

    Parameters
    ----------
    ps : PropensityScore
    estimand : {"ATE", "ATT", "ATO"}
        ATE ``T/e + (1-T)/(1-e)``; ATT ``T + (1-T) e/(1-e)``; ATO (overlap)
        ``T (1-e) + (1-T) e``.
    stabilize : bool
        Multiply ATE weights by the arm's share (``P(T=1)`` or ``P(T=0)``).
    trim : float, optional
        Give weight 0 to rows with a score outside ``[trim, 1 - trim]``.
    truncate : float, optional
        Cap weights at this quantile of the weights (e.g. 0.99).

    Returns
    -------
    Weights

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import ipw_weights, propensity_score
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> w = ipw_weights(propensity_score(d, "treated ~ age + severity + female"))
    >>> w.estimand, w.n_trimmed
    ('ATE', 0)
    """
    e, t = ps.score.to_numpy(), ps.treated.to_numpy()
    formulas = {
        "ATE": t / e + (1 - t) / (1 - e),
        "ATT": t + (1 - t) * e / (1 - e),
        "ATO": t * (1 - e) + (1 - t) * e,
    }
    if estimand not in formulas:
        raise DataError(f"estimand must be ATE, ATT or ATO; got {estimand!r}")
    w = formulas[estimand]
    if stabilize:
        if estimand != "ATE":
            raise DataError("stabilization applies to ATE weights")
        w = w * np.where(t == 1, t.mean(), 1 - t.mean())
    trimmed = np.zeros(len(w), bool)
    if trim is not None:
        trimmed = (e < trim) | (e > 1 - trim)
        w = np.where(trimmed, 0.0, w)
    n_truncated = 0
    if truncate is not None:
        cap = np.quantile(w[w > 0], truncate)
        n_truncated = int((w > cap).sum())
        w = np.minimum(w, cap)
    series = pd.Series(w, index=ps.score.index, name="weight")
    ess = {
        "treated": effective_sample_size(w[t == 1]),
        "control": effective_sample_size(w[t == 0]),
    }
    return Weights(series, estimand, stabilize, int(trimmed.sum()), n_truncated, ess)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size, ``(sum w)^2 / sum w^2``.

    Parameters
    ----------
    weights : array-like

    Returns
    -------
    float

    Examples
    --------
    >>> from cpeval.adjust import effective_sample_size
    >>> effective_sample_size([1, 1, 2])
    2.6666666666666665
    """
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / (w**2).sum()) if (w**2).sum() > 0 else 0.0


def _separating(x: pd.DataFrame, treated: pd.Series) -> list[str]:
    """Indicator terms whose 1s all fall in one arm (a category one arm lacks)."""
    out = []
    for name in x.columns:
        values = x[name]
        if name == "Intercept" or not set(values.unique()) <= {0.0, 1.0}:
            continue
        arms = set(treated[values == 1])
        if len(arms) == 1 and 0 < (values == 1).sum() < len(values):
            out.append(str(name))
    return out


def _overlap(score: pd.Series, treated: pd.Series) -> pd.DataFrame:
    arms = {"treated": score[treated == 1], "control": score[treated == 0]}
    table = pd.DataFrame(
        {a: {"min": s.min(), "max": s.max()} for a, s in arms.items()}
    ).T
    low, high = table["min"].max(), table["max"].min()
    table.loc["common support"] = [low, high]
    return table


def _formula_names(formula: str, data: pd.DataFrame) -> list[str]:
    import re

    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula))
    known = {"C", "I", "np", "log", "exp", "center", "scale", "standardize", "bs"}
    absent = sorted(w for w in words - known if w not in data.columns)
    if absent:
        raise DataError(f"the model names columns the data do not have: {absent}")
    return sorted(w for w in words if w in data.columns)
