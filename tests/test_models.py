"""Outcome models against R: ANCOVA + CR2 (clubSandwich), partial eta squared
(exact root search and effectsize), Hedges' g by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.models import ancova, partial_eta_squared, treatment_effect

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def club():
    return pd.read_csv(REF / "ancova" / "clubsandwich_results.csv")


@pytest.mark.parametrize("dataset", ["pilot_like", "few_clusters"])
def test_ancova_cr2_equals_clubsandwich(club, dataset):
    data = pd.read_csv(REF / "ancova" / f"{dataset}.csv")
    fit = ancova(
        data,
        outcome="followup",
        baseline="baseline",
        group="arm",
        covariates=["age"],
        cluster="cluster",
    )
    ref = club[club["dataset"] == dataset].set_index("term")
    ref.index = ref.index.str.replace("(Intercept)", "Intercept", regex=False)
    ours = fit.to_frame().set_index("term").loc[ref.index]
    np.testing.assert_allclose(ours["params"], ref["estimate"], rtol=1e-10)
    np.testing.assert_allclose(ours["se"], ref["se_cr2"], rtol=1e-8)
    np.testing.assert_allclose(ours["df"], ref["df_satt"], rtol=1e-8)
    np.testing.assert_allclose(ours["pvalues"], ref["p_satt"], rtol=1e-8)
    np.testing.assert_allclose(ours["ci_low"], ref["ci_low"], rtol=1e-8)
    np.testing.assert_allclose(ours["ci_high"], ref["ci_high"], rtol=1e-8)
    assert fit.cov_type == "CR2" and fit.n_clusters == data["cluster"].nunique()


def test_ancova_without_clusters_is_ols(club):
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    fit = ancova(
        data, outcome="followup", baseline="baseline", group="arm", covariates=["age"]
    )
    ref = club[club["dataset"] == "pilot_like"]
    np.testing.assert_allclose(fit.se.to_numpy(), ref["se_ols"], rtol=1e-10)
    assert (fit.df == ref["df_resid"].iloc[0]).all() and fit.cov_type == "OLS"


def test_partial_eta_squared_equals_r():
    ref = pd.read_csv(REF / "effects" / "effectsize_results.csv")
    for row in ref.itertuples():
        ours = partial_eta_squared(row.f, row.df1, row.df2)
        assert ours.estimate == pytest.approx(row.eta2, abs=1e-12)
        assert ours.ci_low == pytest.approx(row.exact_low, abs=1e-8)
        assert ours.ci_high == pytest.approx(row.exact_high, abs=1e-8)
        assert ours.ci_low == pytest.approx(row.ci_low, abs=1e-7)
        assert ours.ci_high == pytest.approx(row.ci_high, abs=1e-7)


def test_treatment_effect_by_hand():
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    fit = ancova(
        data, outcome="followup", baseline="baseline", group="arm", cluster="cluster"
    )
    row = treatment_effect(fit, data, "followup").iloc[0]
    by_arm = data.groupby("arm")["followup"]
    n1, n0 = by_arm.size()[1], by_arm.size()[0]
    pooled = np.sqrt(
        ((n1 - 1) * by_arm.var()[1] + (n0 - 1) * by_arm.var()[0]) / (n1 + n0 - 2)
    )
    j = 1 - 3 / (4 * (n1 + n0) - 9)
    assert row["hedges_g"] == pytest.approx(j * fit.params["arm"] / pooled, rel=1e-12)
    assert row["g_ci_low"] == pytest.approx(
        j * fit.conf_int().loc["arm", "ci_low"] / pooled
    )
    t = fit.t_ols
    assert row["partial_eta2"] == pytest.approx(t**2 / (t**2 + fit.df_resid), rel=1e-12)
    assert row["cov_type"] == "CR2" and row["df"] == fit.df["arm"]


def test_treatment_effect_with_text_arms_equals_codes():
    """Found by a new-user probe: text arms with ``treated=`` raised a pandas
    error in treatment_effect; the intervention (sorting last here) is coded 1."""
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    text = data.assign(arm=data["arm"].map({1: "Usual care", 0: "Connecting People"}))
    codes = data.assign(arm=1 - data["arm"])
    kw = {"outcome": "followup", "baseline": "baseline", "group": "arm"}
    ours = treatment_effect(ancova(text, **kw, treated="Usual care"), text, "followup")
    want = treatment_effect(ancova(data, **kw), data, "followup")
    pd.testing.assert_frame_equal(ours, want)
    flipped = treatment_effect(ancova(codes, **kw), codes, "followup")
    assert flipped["hedges_g"].iloc[0] == pytest.approx(-want["hedges_g"].iloc[0])


def test_missing_rows_are_left_out_and_counted():
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    data.loc[[0, 5], "followup"] = np.nan
    fit = ancova(data, outcome="followup", baseline="baseline", group="arm")
    assert fit.n_obs == len(data) - 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "nope"}, r"columns the data do not have: \['nope'\]"),
        ({"covariates": ["agee"]}, r"\['agee'\]"),
        ({"group": "age"}, "not 0/1"),
        ({"covariates": ["C(age"]}, "cannot build the model"),
    ],
)
def test_ancova_bad_input(kwargs, message):
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    args = {"outcome": "followup", "baseline": "baseline", "group": "arm", **kwargs}
    with pytest.raises(cpeval.DataError, match=message):
        ancova(data, **args)


def test_one_cluster_is_an_error():
    data = pd.read_csv(REF / "ancova" / "pilot_like.csv").assign(cluster="one")
    with pytest.raises(cpeval.DataError, match="need two or more"):
        ancova(
            data,
            outcome="followup",
            baseline="baseline",
            group="arm",
            cluster="cluster",
        )


def test_did_by_hand():
    """Two periods, balanced: the estimate is the difference of mean changes, and
    the SE is the first-difference cluster-robust SE times the documented factors."""
    from cpeval.models import did

    data = pd.read_csv(REF / "lmm" / "small_nearzero.csv")
    data = data[data.groupby("id")["time"].transform("nunique") == 2]
    res = did(
        data,
        outcome="y",
        entity="id",
        time="time",
        treated="group",
        post="time",
        cluster="team",
    )
    wide = data.pivot(index="id", columns="time", values="y")
    change = wide[1] - wide[0]
    first = data.groupby("id")[["group", "team"]].first()
    treated = first["group"].to_numpy(float)
    assert res.params == pytest.approx(
        change[treated == 1].mean() - change[treated == 0].mean(), rel=1e-12
    )
    x = np.column_stack([np.ones(len(change)), treated])
    beta = np.linalg.lstsq(x, change.to_numpy(), rcond=None)[0]
    resid = change.to_numpy() - x @ beta
    bread = np.linalg.inv(x.T @ x)
    teams = first["team"].to_numpy()
    meat = sum(
        np.outer(
            x[teams == t].T @ resid[teams == t], x[teams == t].T @ resid[teams == t]
        )
        for t in np.unique(teams)
    )
    g, n, k = len(np.unique(teams)), 2 * len(change), 1 + len(change) + 1
    se = np.sqrt((bread @ meat @ bread)[1, 1] * g / (g - 1) * (n - 1) / (n - k))
    assert res.se == pytest.approx(se, rel=1e-10)
    assert res.df == g - 1 and res.n_clusters == g and res.n_entities == len(change)


def test_did_bad_input():
    from cpeval.models import did

    data = pd.read_csv(REF / "lmm" / "small_nearzero.csv")
    with pytest.raises(cpeval.DataError, match=r"\['arm'\]"):
        did(data, outcome="y", entity="id", time="time", treated="arm", post="time")


@pytest.fixture(scope="module")
def agreement():
    frame = pd.read_csv(REF / "agreement" / "agreement_results.csv")
    return {(r.what, r.quantity): r.value for r in frame.itertuples()}


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_equals_vcd(agreement, weights):
    from cpeval.models import cohen_kappa

    data = pd.read_csv(REF / "agreement" / "kappa.csv")
    res = cohen_kappa(
        data["rater1"], data["rater2"], weights=weights, categories=range(1, 6)
    )
    name = f"kappa_{weights or 'none'}"
    assert res.kappa == pytest.approx(agreement[(name, "kappa")], abs=1e-10)
    assert res.se == pytest.approx(agreement[(name, "se")], abs=1e-10)
    assert res.n == data.dropna().shape[0]
    if weights is None:
        assert res.kappa == pytest.approx(
            agreement[("psych_kappa_none", "kappa")], abs=1e-10
        )
        assert res.se == pytest.approx(agreement[("psych_kappa_none", "se")], abs=1e-10)


def test_kappa_bad_input():
    from cpeval.models import cohen_kappa

    with pytest.raises(cpeval.DataError, match="not among the categories"):
        cohen_kappa([1, 2, 6], [1, 2, 3], categories=[1, 2, 3])
    with pytest.raises(cpeval.DataError, match="expected agreement is 1"):
        cohen_kappa([1, 1, 1], [1, 1, 1])
    with pytest.raises(cpeval.DataError, match="weights must be"):
        cohen_kappa([1, 2, 3], [1, 2, 3], weights="cubic")


def test_icc_ratings_equal_psych(agreement):
    from cpeval.models import icc_ratings

    table = icc_ratings(pd.read_csv(REF / "agreement" / "ratings.csv"))
    for kind in table.index:
        for column, tol in [("icc", 1e-10), ("ci_low", 1e-10), ("ci_high", 1e-10)]:
            assert table.loc[kind, column] == pytest.approx(
                agreement[(kind, column)], abs=tol
            ), (kind, column)
        assert table.loc[kind, "f"] == pytest.approx(agreement[(kind, "f")], rel=1e-10)
        assert table.loc[kind, "p_val"] == pytest.approx(
            agreement[(kind, "p_val")], rel=1e-8
        )
    assert table.attrs == {"n": 40, "k": 4}
