"""effect_by_wave: the arm difference at every follow-up wave, against R."""

from __future__ import annotations

import pandas as pd
import pytest

import cpeval
from cpeval.models import effect_by_wave, fit_lmm
from tests.conftest import ROOT

HERE = ROOT / "tests" / "reference" / "waves"
TOLERANCE = {  # (estimate, se, df) relative tolerances: README.md in that folder
    "lmm": (1e-4, 1e-3, 1e-2),
    "ancova": (1e-6, 1e-6, 1e-6),
}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(HERE / "three_waves.csv")


@pytest.fixture(scope="module")
def reference():
    ref = pd.read_csv(HERE / "waves_results.csv")
    ref["wave"] = ref["wave"].astype(str)
    return ref.set_index(["analysis", "wave", "quantity"])["value"].sort_index()


@pytest.mark.parametrize("method", ["lmm", "ancova"])
def test_three_waves_equal_r(data, reference, method):
    fit = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        method=method,
        groups=["team", "id"],
        cluster="team",
        covariates=["age", "sex"],
    )
    rtol_b, rtol_se, rtol_df = TOLERANCE[method]
    assert list(fit.params.index) == ["6", "12"]
    for wave in ("6", "12"):
        r = reference.loc[(method, wave)]
        assert fit.params[wave] == pytest.approx(r["estimate"], rel=rtol_b)
        assert fit.se[wave] == pytest.approx(r["se"], rel=rtol_se)
        assert fit.df[wave] == pytest.approx(r["df"], rel=rtol_df)
        assert fit.pvalues[wave] == pytest.approx(r["p"], rel=1e-2)
        assert fit.n_obs[wave] == r["n_obs"]
    frame = fit.to_frame(level=0.9)
    assert (frame["ci_low"] < frame["params"]).all()
    assert "Difference from 0 by wave" in str(fit.summary())


def test_labels_and_codes_give_the_same_answer(data):
    """The arm as text with treated=, and as 0/1: one answer; the intervention
    sorting first changes nothing."""
    coded = data.assign(arm=(data["arm"] == "CP").astype(int))
    a = effect_by_wave(
        data, outcome="y", group="arm", treated="CP", wave="month", id="id"
    )
    b = effect_by_wave(coded, outcome="y", group="arm", wave="month", id="id")
    pd.testing.assert_series_equal(a.params, b.params)
    assert a.params["12"] > 3  # the designed effect is 5 at 12 months


def test_two_waves_are_the_time_by_arm_model(data):
    """With two waves the indicator model is lme4's time * group model."""
    two = data[data["month"] < 12].assign(cp=(data["arm"] == "CP").astype(int))
    fit = effect_by_wave(
        two, outcome="y", group="cp", wave="month", id="id", groups=["team", "id"]
    )
    direct = fit_lmm(
        two.assign(time=(two["month"] == 6).astype(int)),
        "y ~ time * cp",
        ["team", "id"],
    )
    assert fit.params["6"] == pytest.approx(direct.params["time:cp"], rel=1e-8)
    assert fit.df["6"] == pytest.approx(direct.df["time:cp"], rel=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treated": None}, r"holds 'CP', 'usual care', not 0/1"),
        ({"treated": "Connecting People"}, "has no value 'Connecting People'"),
        ({"groups": ["team"]}, "leave out the participant level 'id'"),
        ({"groups": ["id", "team"]}, "must come last"),
        ({"wave": "when"}, "holds text, so its order is unknown"),
        ({"outcome": "nothing"}, r"no columns \['nothing'\]"),
    ],
)
def test_what_cannot_be_answered_is_a_data_error(data, change, message):
    frame = data.assign(when=data["month"].map({0: "base", 6: "six", 12: "twelve"}))
    options = {
        "outcome": "y",
        "group": "arm",
        "treated": "CP",
        "wave": "month",
        "id": "id",
        "groups": ["team", "id"],
    }
    with pytest.raises(cpeval.DataError, match=message):
        effect_by_wave(frame, **{**options, **change})


def test_an_arm_lost_at_a_wave_is_a_data_error(data):
    lost = data[~((data["arm"] == "usual care") & (data["month"] == 12))]
    with pytest.raises(
        cpeval.DataError, match=r"comparator arm \('usual care'\) has 'y' at wave '12'"
    ):
        effect_by_wave(
            lost, outcome="y", group="arm", treated="CP", wave="month", id="id"
        )


def test_any_column_name_works(data):
    """Names that are not Python identifiers (R's dots, a keyword) are data, never
    code."""
    odd = data.rename(columns={"y": "bdi.pre", "age": "yield", "sex": "sex (self)"})
    fit = effect_by_wave(
        odd,
        outcome="bdi.pre",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        covariates=["yield", "sex (self)"],
        method="ancova",
    )
    plain = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        covariates=["age", "sex"],
        method="ancova",
    )
    pd.testing.assert_series_equal(fit.params, plain.params)
