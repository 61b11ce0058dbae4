"""fit_iv (two-stage least squares, cluster-robust) against R AER::ivreg with
sandwich::vcovCL(type = "HC1") on tests/reference/iv/dose.csv (iv.R).
Tolerances: estimates 1e-10 relative, SEs and first-stage F 1e-8 (closed forms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cpeval
from cpeval.models import fit_iv

REF = Path(__file__).parent / "reference" / "iv"
DATA = pd.read_csv(REF / "dose.csv")
R = pd.read_csv(REF / "iv_results.csv")
TERMS = {"(Intercept)": "Intercept"}


@pytest.mark.parametrize(
    ("model", "covariates"), [("adjusted", ["baseline", "age"]), ("plain", [])]
)
def test_equals_r_ivreg_with_vcovcl_hc1(model, covariates):
    fit = fit_iv(
        DATA,
        outcome="outcome",
        exposure="fidelity",
        instrument="allocated",
        covariates=covariates,
        cluster="team",
    )
    ref = R[R["model"] == model]
    for _, row in ref.iterrows():
        term = TERMS.get(row["term"], row["term"])
        assert fit.params[term] == pytest.approx(row["estimate"], rel=1e-10)
        assert fit.se[term] == pytest.approx(row["se"], rel=1e-8)
    assert fit.first_stage_f == pytest.approx(ref["first_stage_f"].iloc[0], rel=1e-8)
    assert fit.n_obs == ref["n"].iloc[0] and fit.n_clusters == 10
    assert fit.params.index[0] == "fidelity"
    t = stats.t.ppf(0.975, 9)  # clusters - 1
    ci = fit.conf_int().loc["fidelity"]
    assert ci["ci_low"] == pytest.approx(
        fit.params["fidelity"] - t * fit.se["fidelity"]
    )
    assert not fit.messages  # F about 57: not weak


def test_one_instrument_without_covariates_is_the_wald_ratio():
    """Outcome difference between allocations over dose difference."""
    fit = fit_iv(DATA, outcome="outcome", exposure="fidelity", instrument="allocated")
    means = DATA.groupby("allocated")[["outcome", "fidelity"]].mean()
    ratio = (means.loc[1, "outcome"] - means.loc[0, "outcome"]) / (
        means.loc[1, "fidelity"] - means.loc[0, "fidelity"]
    )
    assert fit.params["fidelity"] == pytest.approx(ratio, rel=1e-12)
    assert fit.df["fidelity"] == len(DATA) - 2 and fit.n_clusters == 0


def test_missing_rows_are_counted_and_a_weak_instrument_is_said():
    data = DATA.copy()
    data.loc[[0, 5], "outcome"] = np.nan
    fit = fit_iv(
        data,
        outcome="outcome",
        exposure="fidelity",
        instrument="allocated",
        cluster="team",
    )
    assert fit.n_dropped == 2 and fit.n_obs == len(DATA) - 2
    rng = np.random.default_rng(3)
    weak = DATA.assign(coin=rng.integers(0, 2, len(DATA)))
    fit = fit_iv(weak, outcome="outcome", exposure="fidelity", instrument="coin")
    assert fit.first_stage_f < 10 and "weak instrument" in fit.messages[0]
    assert "weak instrument" in str(fit.summary())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instrument": "absent"}, "do not have"),
        ({"instrument": "team"}, "not a number"),
        ({"data": DATA.assign(allocated=1)}, "has one value"),
        ({"cluster": "one", "data": DATA.assign(one="x")}, "one value"),
    ],
)
def test_bad_input_is_a_data_error(change, message):
    args = {
        "data": DATA,
        "outcome": "outcome",
        "exposure": "fidelity",
        "instrument": "allocated",
    }
    args.update(change)
    with pytest.raises(cpeval.DataError, match=message):
        fit_iv(**args)


COST_EFFECT = pd.read_csv(REF / "dose_cea.csv")
COST_R = pd.read_csv(REF / "dose_cea_results.csv").set_index("outcome")


@pytest.mark.parametrize("outcome", ["cost", "qaly", "nb20000", "nb30000"])
def test_dose_on_cost_effectiveness_equals_r(outcome):
    """Cost, QALYs and net monetary benefit per unit of fidelity, as [dose] fits
    them with [economics] (tests/reference/iv/dose_cea.R)."""
    data = COST_EFFECT.assign(
        nb20000=20000 * COST_EFFECT["qaly"] - COST_EFFECT["cost"],
        nb30000=30000 * COST_EFFECT["qaly"] - COST_EFFECT["cost"],
    )
    fit = fit_iv(
        data,
        outcome=outcome,
        exposure="fidelity",
        instrument="allocated",
        covariates=["utility0", "cost0"],
        cluster="team",
    )
    expected = COST_R.loc[outcome]
    assert fit.n_obs == expected["n"]
    assert fit.params["fidelity"] == pytest.approx(expected["estimate"], rel=1e-8)
    assert fit.se["fidelity"] == pytest.approx(expected["se"], rel=1e-8)


def test_net_benefit_per_unit_is_wtp_times_qalys_minus_cost():
    fits = {
        y: fit_iv(
            COST_EFFECT.assign(nb=25000 * COST_EFFECT["qaly"] - COST_EFFECT["cost"]),
            outcome=y,
            exposure="fidelity",
            instrument="allocated",
            covariates=["utility0", "cost0"],
            cluster="team",
        ).params["fidelity"]
        for y in ("cost", "qaly", "nb")
    }
    assert fits["nb"] == pytest.approx(25000 * fits["qaly"] - fits["cost"], rel=1e-10)
