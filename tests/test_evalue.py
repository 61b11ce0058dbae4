"""E-values (cpeval.adjust.e_value) against R EValue 4.1.4, the worked example of
VanderWeele and Ding (2017) and the formulas by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import cpeval
from cpeval.adjust import e_value

REF = Path(__file__).parent / "reference" / "evalue"
CASES = pd.read_csv(REF / "evalue_results.csv")


def _given(value):
    return None if pd.isna(value) else float(value)


@pytest.mark.parametrize("case", CASES["case"].tolist())
def test_e_values_equal_r_evalue(case):
    """Tolerance 1e-12 relative: the same closed forms."""
    row = CASES.set_index("case").loc[case]
    kwargs = {"measure": row["measure"], "true": float(row["true"])}
    if row["measure"] in ("OR", "HR"):
        kwargs["rare"] = row["rare"] in (True, "TRUE")
    if row["measure"] in ("SMD", "difference"):
        kwargs["se"] = float(row["se"])
        if row["measure"] == "difference":
            kwargs["sd"] = float(row["sd"])
        ev = e_value(float(row["est"]), **kwargs)
    else:
        ev = e_value(float(row["est"]), _given(row["lo"]), _given(row["hi"]), **kwargs)
    assert ev.e_value == pytest.approx(row["e_point"], rel=1e-12)
    nearer = row["e_lower"] if not pd.isna(row["e_lower"]) else row["e_upper"]
    assert ev.e_value_ci == pytest.approx(nearer, rel=1e-12)


def test_the_papers_worked_example():
    """VanderWeele and Ding (2017) work through formula feeding and infant
    respiratory death, RR 3.9 (95% CI 1.8 to 8.7): E-value 7.2 (7.26 unrounded:
    3.9 + sqrt(3.9 x 2.9)) and 3.0 for the lower limit (1.8 + sqrt(1.8 x 0.8))."""
    ev = e_value(3.9, 1.8, 8.7)
    assert ev.e_value == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), rel=1e-15)
    assert 7.2 < ev.e_value < 7.3
    assert ev.e_value_ci == pytest.approx(3.0, rel=1e-15)


def test_protective_ratio_is_inverted_and_its_upper_limit_used():
    ev = e_value(0.8, 0.71, 0.91)
    assert ev.e_value == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    high = 1 / 0.91
    assert ev.e_value_ci == pytest.approx(high + math.sqrt(high * (high - 1)))


def test_interval_including_the_null_has_e_value_one():
    assert e_value(1.2, 0.9, 1.6).e_value_ci == 1.0
    assert e_value(0.5, measure="SMD", se=0.5).e_value_ci == 1.0


def test_conversions_by_hand():
    common_or = e_value(2.5, 1.4, 4.4, measure="OR", rare=False)
    assert common_or.rr == pytest.approx(math.sqrt(2.5))
    hr = e_value(0.56, 0.46, 0.69, measure="HR", rare=False)
    assert hr.rr == pytest.approx(
        (1 - 0.5 ** math.sqrt(0.56)) / (1 - 0.5 ** math.sqrt(1 / 0.56))
    )
    smd = e_value(0.5, measure="SMD", se=0.2)
    assert smd.rr == pytest.approx(math.exp(0.91 * 0.5))
    assert smd.rr_ci_low == pytest.approx(math.exp(0.91 * 0.5 - 1.78 * 0.2))
    raw = e_value(2.4, measure="difference", se=0.9, sd=6.2)
    assert raw.e_value == pytest.approx(
        e_value(2.4 / 6.2, measure="SMD", se=0.9 / 6.2).e_value
    )
    assert e_value(1.3).e_value_ci != e_value(1.3).e_value_ci  # NaN: no interval


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((2.0, 1.5, 2.7), {"measure": "OR"}, "say whether the outcome is rare"),
        ((2.0, 1.5, 2.7), {"measure": "HR"}, "say whether the outcome is rare"),
        ((-1.0,), {}, "must be positive"),
        ((0.0, None, 1.0), {}, "must be positive"),
        ((2.0, 2.5, 3.0), {}, "outside its interval"),
        ((2.0, 2.7, 1.5), {}, "is above ci_high"),
        ((0.4,), {"measure": "difference", "se": 0.1}, "standard deviation"),
        ((0.4, 0.1, 0.7), {"measure": "SMD"}, "give the standard error"),
        ((0.4,), {"measure": "SMD", "se": -0.1}, "cannot be negative"),
        ((1.4,), {"measure": "risk"}, "measure must be"),
        (("high",), {}, "must be a number"),
        ((0.4,), {"measure": "SMD", "se": "small"}, "must be a number"),
        (
            (2.0, 1.2, 3.0),
            {"measure": "OR", "rare": "no"},
            "rare must be True or False",
        ),
    ],
)
def test_bad_input_is_a_data_error(args, kwargs, message):
    with pytest.raises(cpeval.DataError, match=message):
        e_value(*args, **kwargs)


def test_result_shares_the_base():
    ev = e_value(3.9, 1.8, 8.7)
    frame = ev.to_frame()
    assert frame.loc[0, "e_value"] == pytest.approx(ev.e_value)
    assert "E-value" in str(ev.summary()) and "<table" in ev._repr_html_()


def test_effect_e_value_of_each_scale_by_hand():
    import numpy as np

    from cpeval.adjust import effect_e_value

    y = pd.Series([1.0, 3.0, 2.0, 6.0, np.nan])
    arm = pd.Series([0, 0, 1, 1, 1])
    mean = effect_e_value(
        scale="mean difference", estimate=2.0, se=1.5, outcome=y, group=arm
    )
    sd = math.sqrt((2.0 + 8.0) / 2)  # pooled within-arm variance, NaN left out
    assert mean.e_value == pytest.approx(
        e_value(2.0 / sd, measure="SMD", se=1.5 / sd).e_value
    )
    common = pd.Series([1, 0, 1, 1, 0, 0, 1, 0])  # 50% have it: sqrt(OR)
    group = pd.Series([0, 0, 0, 0, 1, 1, 1, 1])
    odds = effect_e_value(
        scale="log odds ratio",
        estimate=math.log(2.0),
        ci_low=math.log(1.2),
        ci_high=math.log(3.3),
        outcome=common,
        group=group,
    )
    assert odds.rr == pytest.approx(math.sqrt(2.0))
    rare = pd.Series([1] + [0] * 9)
    odds = effect_e_value(
        scale="log odds ratio",
        estimate=math.log(2.0),
        ci_low=math.log(1.2),
        ci_high=math.log(3.3),
        outcome=rare,
        group=pd.Series([0, 1] * 5),
    )
    assert odds.rr == pytest.approx(2.0)
    rate = effect_e_value(
        scale="log rate ratio",
        estimate=math.log(0.7),
        ci_low=math.log(0.5),
        ci_high=math.log(0.98),
        outcome=rare,
        group=pd.Series([0, 1] * 5),
    )
    assert rate.e_value == pytest.approx(e_value(0.7, 0.5, 0.98).e_value)


def test_effect_e_value_of_a_degenerate_row_is_missing_not_an_error():
    from cpeval.adjust import effect_e_value

    one_each = effect_e_value(
        scale="mean difference",
        estimate=1.0,
        se=0.5,
        outcome=pd.Series([1.0, 2.0]),
        group=pd.Series([0, 1]),
    )
    assert math.isnan(one_each.e_value) and one_each.conversion == "not computed"
    nan_estimate = effect_e_value(
        scale="mean difference",
        estimate=float("nan"),
        se=0.5,
        outcome=pd.Series([1.0, 2.0, 3.0, 5.0]),
        group=pd.Series([0, 0, 1, 1]),
    )
    assert math.isnan(nan_estimate.e_value_ci)
    no_se = effect_e_value(
        scale="mean difference",
        estimate=1.0,
        se=float("nan"),
        outcome=pd.Series([1.0, 2.0, 3.0, 5.0]),
        group=pd.Series([0, 0, 1, 1]),
    )
    assert no_se.e_value > 1 and math.isnan(no_se.e_value_ci)
    with pytest.raises(cpeval.DataError, match="scale must be"):
        effect_e_value(
            scale="risk",
            estimate=1.0,
            outcome=pd.Series([1.0, 2.0]),
            group=pd.Series([0, 1]),
        )


def test_a_missing_estimate_has_no_e_values():
    ev = e_value(float("nan"), 1.0, 2.0)
    assert math.isnan(ev.e_value) and math.isnan(ev.e_value_ci)


def test_effect_e_value_needs_two_arms_of_the_same_rows():
    from cpeval.adjust import effect_e_value

    with pytest.raises(cpeval.DataError, match="two arms"):
        effect_e_value(
            scale="mean difference",
            estimate=1.0,
            se=0.5,
            outcome=pd.Series([1.0, 2.0, 3.0]),
            group=pd.Series([0, 1, 2]),
        )
    with pytest.raises(cpeval.DataError, match="same rows"):
        effect_e_value(
            scale="mean difference",
            estimate=1.0,
            se=0.5,
            outcome=pd.Series([1.0, 2.0, 3.0]),
            group=pd.Series([0, 1]),
        )
