"""E-values: how strong unmeasured confounding would have to be to explain away
an estimate (VanderWeele and Ding 2017, Ann Intern Med 167:268-274)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._results import DescriptiveResults
from ..exceptions import DataError

__all__ = ["RARE_OUTCOME", "EValue", "e_value", "effect_e_value"]

Measure = Literal["RR", "OR", "HR", "SMD", "difference"]
#: The conversion of a standardised mean difference d with standard error s to
#: an approximate risk ratio: exp(0.91 d), interval exp(0.91 d -/+ 1.78 s)
#: (VanderWeele 2017, from Chinn 2000; as R EValue's evalues.MD).
SMD_LOG_RR = 0.91
SMD_LOG_RR_SE = 1.78
#: An outcome is rare, for the odds-ratio conversion, when fewer than this share
#: have it (VanderWeele 2017: 15% at the end of follow-up).
RARE_OUTCOME = 0.15


@dataclass(frozen=True, slots=True, repr=False)
class EValue(DescriptiveResults):
    """The E-values of an estimate and of its confidence limit nearer the null.

    Parameters
    ----------
    measure : str
        The scale of the estimate given.
    estimate, ci_low, ci_high : float
        As given (NaN where not given).
    rr, rr_ci_low, rr_ci_high : float
        The same on the risk-ratio scale (equal to them for a risk ratio).
    e_value : float
        The minimum strength of association, on the risk-ratio scale, that an
        unmeasured confounder would need with both the exposure and the
        outcome, above the measured covariates, to move the estimate to
        ``true`` (by default the null).
    e_value_ci : float
        The same for the confidence limit nearer ``true``: 1 when the interval
        already includes it; NaN without an interval.
    true : float
        The value to be explained away to, on the given scale.
    conversion : str
        How the estimate became a risk ratio.
    """

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    rr: float
    rr_ci_low: float
    rr_ci_high: float
    e_value: float
    e_value_ci: float
    true: float
    conversion: str

    _title = "E-value for unmeasured confounding"

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("measure", self.measure),
            ("estimate", self.estimate),
            ("e_value", self.e_value),
            ("e_value_ci", self.e_value_ci),
        ]

    def _notes(self) -> list[str]:
        return [
            f"Risk-ratio scale: {self.conversion}.",
            "E-value: VanderWeele and Ding (2017); for the interval, the limit "
            "nearer the null (1 when the interval includes it).",
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row: the estimate, its risk-ratio version and both E-values."""
        names = [
            "measure",
            "estimate",
            "ci_low",
            "ci_high",
            "rr",
            "rr_ci_low",
            "rr_ci_high",
            "e_value",
            "e_value_ci",
        ]
        return pd.DataFrame([{name: getattr(self, name) for name in names}])


def e_value(
    estimate: float,
    ci_low: float | None = None,
    ci_high: float | None = None,
    *,
    measure: Measure = "RR",
    rare: bool | None = None,
    se: float | None = None,
    sd: float | None = None,
    true: float | None = None,
) -> EValue:
    """E-value of an estimate and of its confidence interval.

    Parameters
    ----------
    estimate : float
        A risk ratio, odds ratio or hazard ratio, a standardised mean
        difference, or a mean difference (``measure="difference"``, with
        ``sd``).
    ci_low, ci_high : float, optional
        Its confidence limits (ratios and risk ratios); for ``"SMD"`` and
        ``"difference"`` give ``se`` instead.
    measure : {"RR", "OR", "HR", "SMD", "difference"}
        The scale of ``estimate``.
    rare : bool, optional
        Needed for ``"OR"`` and ``"HR"``: whether the outcome is rare (under
        about 15% at the end of follow-up). Rare: the ratio is taken as a risk
        ratio. Common: an odds ratio becomes ``sqrt(OR)``, a hazard ratio
        ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` (VanderWeele 2017).
    se : float, optional
        The standard error of a standardised (or, with ``sd``, raw) mean
        difference, for the interval ``exp(0.91 d -/+ 1.78 se)``.
    sd : float, optional
        For ``"difference"``: the outcome's standard deviation, which turns the
        difference and its ``se`` into a standardised mean difference.
    true : float, optional
        The value to explain the estimate away to, on the scale of
        ``estimate`` (default: the null, 1 for ratios and 0 for differences).

    Returns
    -------
    EValue

    Raises
    ------
    DataError
        A ratio that is not positive, limits that do not hold the estimate,
        ``rare`` not given for an odds or hazard ratio, a missing ``sd`` or a
        negative ``se``.

    Notes
    -----
    For a risk ratio ``RR >= 1`` the E-value is ``RR + sqrt(RR (RR - 1))``; a
    risk ratio below 1 is inverted first; toward a non-null ``true`` it is
    ``(RR + sqrt(RR (RR - true))) / true`` (VanderWeele and Ding 2017;
    as R EValue 4.1.4's ``threshold``). Checked against the paper's worked
    example and R EValue (``tests/reference/evalue``).

    Examples
    --------
    >>> from cpeval.adjust import e_value
    >>> ev = e_value(3.9, 1.8, 8.7)  # the paper's example
    >>> round(ev.e_value, 2), round(ev.e_value_ci, 2)
    (7.26, 3.0)
    >>> round(e_value(0.5, measure="SMD", se=0.2).e_value, 2)
    2.53
    """
    estimate = _number(estimate)
    se, sd = (None if v is None else _number(v) for v in (se, sd))
    rr, low, high, null, conversion = _as_risk_ratios(
        measure, estimate, ci_low, ci_high, rare, se, sd, true
    )
    given_low = _number(ci_low)
    given_high = _number(ci_high)
    if measure in ("SMD", "difference"):
        given_low = given_high = math.nan
    point = _threshold(rr, null)
    nearer = math.nan
    if not math.isnan(rr) and not (math.isnan(low) and math.isnan(high)):
        if rr > null:
            nearer = (
                1.0 if not math.isnan(low) and low <= null else _threshold(low, null)
            )
        elif rr < null:
            nearer = (
                1.0 if not math.isnan(high) and high >= null else _threshold(high, null)
            )
        else:
            nearer = 1.0
    return EValue(
        measure=measure,
        estimate=float(estimate),
        ci_low=given_low,
        ci_high=given_high,
        rr=rr,
        rr_ci_low=low,
        rr_ci_high=high,
        e_value=point,
        e_value_ci=nearer,
        true=float(true)
        if true is not None
        else (0.0 if measure in ("SMD", "difference") else 1.0),
        conversion=conversion,
    )


def effect_e_value(
    *,
    scale: str,
    estimate: float,
    se: float | None = None,
    ci_low: float | None = None,
    ci_high: float | None = None,
    outcome: pd.Series,
    group: pd.Series,
) -> EValue:
    """E-value of a between-arm effect as cpeval's models report it.

    Parameters
    ----------
    scale : {"mean difference", "log odds ratio", "log rate ratio"}
        What ``estimate`` and its limits are.
    estimate, se, ci_low, ci_high : float
        The effect, its standard error (for a mean difference) and its
        confidence limits (for the log ratios).
    outcome, group : pandas.Series
        The outcome values behind the estimate (at the wave compared) and each
        value's arm: a mean difference is standardised by the pooled
        within-arm SD of ``outcome``; an odds ratio counts as a risk ratio when
        fewer than ``RARE_OUTCOME`` (15%) of ``outcome`` are 1, as ``sqrt(OR)``
        otherwise. A rate ratio is taken as a risk ratio.

    Returns
    -------
    EValue
        All NaN when the estimate, or the SD a mean difference needs, is not
        a finite number (a degenerate fit).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import effect_e_value
    >>> y = pd.Series([1.0, 3.0, 2.0, 6.0]); arm = pd.Series([0, 0, 1, 1])
    >>> round(effect_e_value(scale="mean difference", estimate=2.0, se=1.5,
    ...                      outcome=y, group=arm).e_value, 2)
    3.94
    """
    if len(outcome) != len(group):
        raise DataError(
            f"outcome ({len(outcome)} values) and group ({len(group)}) must be the "
            "same rows"
        )
    arms = pd.Series(group).dropna().unique()
    if len(arms) != 2:
        raise DataError(f"group must hold two arms; it holds {len(arms)}")
    values = pd.to_numeric(outcome, errors="coerce")
    if not math.isfinite(float(estimate)):
        return _missing(scale)
    if se is not None and not math.isfinite(float(se)):
        se = None  # no interval: the point's E-value only
    if scale == "mean difference":
        from ..models._effects import pooled_sd  # statsmodels only when used

        sd = pooled_sd(values, group)
        if not sd > 0:
            return _missing(scale)
        return e_value(float(estimate), measure="difference", se=se, sd=sd)
    limits = [None if v is None else math.exp(float(v)) for v in (ci_low, ci_high)]
    ratio = math.exp(float(estimate))
    if scale == "log odds ratio":
        share = float(values.dropna().mean()) if values.notna().any() else math.nan
        rare = share < RARE_OUTCOME
        return e_value(ratio, *limits, measure="OR", rare=rare)
    if scale == "log rate ratio":
        return e_value(ratio, *limits, measure="RR")
    raise DataError(
        "scale must be 'mean difference', 'log odds ratio' or 'log rate ratio'; "
        f"got {scale!r}"
    )


def _missing(scale: str) -> EValue:
    nan = math.nan
    measure = {"mean difference": "difference", "log odds ratio": "OR"}.get(scale, "RR")
    return EValue(measure, nan, nan, nan, nan, nan, nan, nan, nan, nan, "not computed")


def _number(value: float | None) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"an estimate or limit must be a number; got {value!r}"
        ) from None


def _as_risk_ratios(measure, estimate, ci_low, ci_high, rare, se, sd, true):
    """(rr, rr_low, rr_high, true as a risk ratio, how) for the measure."""
    if measure in ("SMD", "difference"):
        return _from_difference(measure, estimate, ci_low, ci_high, se, sd, true)
    if measure not in ("RR", "OR", "HR"):
        raise DataError(
            f"measure must be 'RR', 'OR', 'HR', 'SMD' or 'difference'; got {measure!r}"
        )
    values = [_number(v) for v in (estimate, ci_low, ci_high)]
    values.append(1.0 if true is None else float(true))
    for name, value in zip(
        ("estimate", "ci_low", "ci_high", "true"), values, strict=True
    ):
        if not math.isnan(value) and not value > 0:
            raise DataError(f"an {measure} must be positive; {name} is {value}")
    _check_order(*values[:3])
    if measure == "RR":
        return (*values, "a risk ratio as given")
    if rare is not None and not isinstance(rare, bool | np.bool_):
        raise DataError(f"rare must be True or False; got {rare!r}")
    if rare is None:
        raise DataError(
            f"say whether the outcome is rare (under about 15%: rare=True) or "
            f"common (rare=False): the {measure} converts to a risk ratio "
            "differently"
        )
    if rare:
        return (*values, f"the {measure} taken as a risk ratio (rare outcome)")
    if measure == "OR":
        converted = [math.sqrt(v) for v in values]
        return (*converted, "sqrt(OR) (common outcome; VanderWeele 2017)")
    converted = [_hr_to_rr(v) for v in values]
    return (
        *converted,
        "(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)) (common outcome; VanderWeele 2017)",
    )


def _hr_to_rr(hr: float) -> float:
    if math.isnan(hr):
        return math.nan
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def _from_difference(measure, estimate, ci_low, ci_high, se, sd, true):
    if ci_low is not None or ci_high is not None:
        raise DataError(
            f"for measure={measure!r}, give the standard error (se=), not confidence "
            "limits: "
            "the interval is exp(0.91 d -/+ 1.78 se) on the risk-ratio scale"
        )
    scale = 1.0
    if measure == "difference":
        if sd is None or not float(sd) > 0:
            raise DataError(
                "a mean difference needs the outcome's standard deviation (sd=, "
                f"positive) to become a standardised difference; got {sd!r}"
            )
        scale = float(sd)
    d = float(estimate) / scale
    target = (0.0 if true is None else float(true)) / scale
    rr = math.exp(SMD_LOG_RR * d)
    null = math.exp(SMD_LOG_RR * target)
    low = high = math.nan
    if se is not None:
        if not float(se) >= 0:
            raise DataError(f"a standard error cannot be negative; got {se}")
        s = float(se) / scale
        low = math.exp(SMD_LOG_RR * d - SMD_LOG_RR_SE * s)
        high = math.exp(SMD_LOG_RR * d + SMD_LOG_RR_SE * s)
    how = "exp(0.91 d), interval exp(0.91 d -/+ 1.78 se) (VanderWeele 2017, Chinn 2000)"
    if measure == "difference":
        how = f"d = difference / {scale:g} (the outcome's SD); " + how
    return rr, low, high, null, how


def _check_order(estimate: float, low: float, high: float) -> None:
    if not math.isnan(low) and not math.isnan(high) and low > high:
        raise DataError(f"ci_low ({low}) is above ci_high ({high})")
    if (not math.isnan(low) and estimate < low) or (
        not math.isnan(high) and estimate > high
    ):
        raise DataError(
            f"the estimate ({estimate}) is outside its interval ({low}, {high})"
        )


def _threshold(rr: float, true: float = 1.0) -> float:
    """The E-value of a risk ratio toward ``true`` (R EValue's ``threshold``)."""
    if math.isnan(rr):
        return math.nan
    if rr <= 1:
        rr, true = 1 / rr, 1 / true
    if true <= rr:
        return (rr + math.sqrt(rr * (rr - true))) / true
    ratio = true / rr
    return ratio + math.sqrt(ratio * (ratio - 1))
