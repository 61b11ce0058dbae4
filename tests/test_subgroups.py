"""Subgroup effects and the interaction test against R clubSandwich and lm
(tests/reference/subgroups: make_data.py, subgroups.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpeval import DataError
from cpeval.models import cr2, cr2_wald, subgroup_effects

REF = Path(__file__).parent / "reference" / "subgroups"
DATA = pd.read_csv(REF / "subgroups.csv")
EFFECTS = pd.read_csv(REF / "effects.csv")
TESTS = pd.read_csv(REF / "tests.csv").set_index("case")
CASES = {
    "client_cr2": ("client_group", "team", ["age"]),
    "sex_cr2": ("sex", "team", ["age"]),
    "client_ols": ("client_group", None, ["age"]),
    "sex_ols_noage": ("sex", None, []),
}
RTOL = 1e-8  # R's and numpy's linear algebra differ in the last digits only


def fit(case, data=DATA, **options):
    subgroup, cluster, covariates = CASES[case]
    return subgroup_effects(
        data,
        outcome="outcome",
        baseline="baseline",
        group="allocated",
        subgroup=subgroup,
        covariates=covariates,
        cluster=cluster,
        **options,
    )


@pytest.mark.parametrize("case", CASES)
def test_level_effects_equal_r(case):
    result = fit(case)
    expected = EFFECTS[EFFECTS["case"] == case].set_index("level")
    assert list(result.params.index) == list(expected.index)
    for ours, theirs in [
        ("params", "estimate"),
        ("se", "se"),
        ("df", "df"),
        ("pvalues", "p"),
    ]:
        np.testing.assert_allclose(
            getattr(result, ours).to_numpy(), expected[theirs].to_numpy(), rtol=RTOL
        )


@pytest.mark.parametrize("case", CASES)
def test_interaction_test_equals_r(case):
    result = fit(case)
    expected = TESTS.loc[case]
    assert result.n_obs == expected["n"]
    assert result.interaction_df_num == expected["df_num"]
    np.testing.assert_allclose(
        [result.interaction_f, result.interaction_df_denom, result.interaction_pvalue],
        expected[["F", "df_denom", "p"]].to_numpy(float),
        rtol=RTOL,
    )


def test_one_constraint_htz_is_the_satterthwaite_t_test():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(70), rng.normal(size=(70, 3))])
    y = x @ [1, 0.5, 0, -0.2] + rng.normal(size=70)
    clusters = rng.integers(0, 9, 70)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    residuals = y - x @ beta
    vcov, df = cr2(x, residuals, clusters)
    f, q, df_denom, _ = cr2_wald(x, residuals, clusters, beta, np.eye(4)[[2]])
    assert q == 1
    assert f == pytest.approx(beta[2] ** 2 / vcov[2, 2], rel=1e-10)
    assert df_denom == pytest.approx(df[2], rel=1e-10)


def test_counts_and_frame():
    result = fit("client_cr2")
    counts = pd.crosstab(DATA["client_group"], DATA["allocated"])
    assert result.counts["intervention"].tolist() == counts[1].tolist()
    assert result.counts["comparator"].tolist() == counts[0].tolist()
    frame = result.to_frame()
    assert frame["level"].tolist() == ["adults", "learning disability", "older adults"]
    assert (frame["n_intervention"] + frame["n_comparator"]).sum() == len(DATA)
    assert "interaction p" in str(result.summary())


def test_text_arm_and_categorical_order():
    data = DATA.assign(
        arm=DATA["allocated"].map({1: "Connecting People", 0: "usual care"}),
        client_group=pd.Categorical(
            DATA["client_group"],
            categories=["older adults", "adults", "learning disability"],
        ),
    )
    result = subgroup_effects(
        data,
        outcome="outcome",
        baseline="baseline",
        group="arm",
        treated="Connecting People",
        subgroup="client_group",
        covariates=["age"],
        cluster="team",
    )
    reference = fit("client_cr2")
    assert list(result.params.index) == [
        "older adults",
        "adults",
        "learning disability",
    ]
    np.testing.assert_allclose(
        result.params[reference.params.index], reference.params, rtol=1e-10
    )
    assert result.interaction_f == pytest.approx(reference.interaction_f, rel=1e-8)


def test_missing_rows_are_left_out_and_counted():
    data = DATA.copy()
    data.loc[[0, 5, 9], "outcome"] = np.nan
    data.loc[[1], "sex"] = None
    result = fit("sex_cr2", data=data)
    assert result.n_obs == len(DATA) - 4
    assert int(result.counts.to_numpy().sum()) == len(DATA) - 4


def test_refusals_name_the_problem():
    with pytest.raises(DataError, match="nobody in the comparator arm"):
        fit(
            "client_cr2",
            data=DATA[~((DATA["client_group"] == "adults") & (DATA["allocated"] == 0))],
        )
    with pytest.raises(DataError, match="has 1 level"):
        fit("sex_cr2", data=DATA[DATA["sex"] == "male"])
    with pytest.raises(DataError, match="distinct values"):
        subgroup_effects(
            DATA,
            outcome="outcome",
            baseline="baseline",
            group="allocated",
            subgroup="age",
        )
    with pytest.raises(DataError, match="no_such"):
        subgroup_effects(
            DATA,
            outcome="outcome",
            baseline="baseline",
            group="allocated",
            subgroup="no_such",
        )
    with pytest.raises(DataError, match="two or more teams in each arm"):
        fit("sex_cr2", data=DATA.assign(team="t"))


def test_a_level_too_small_for_a_standard_error_is_refused():
    """One person per arm in a level: its effect fits them exactly, so its SE
    and the interaction test would be meaningless (a new user's 'other')."""
    extra = DATA.groupby("allocated").head(1).assign(sex="other", outcome=99.0)
    data = pd.concat([DATA, extra], ignore_index=True)
    with pytest.raises(DataError, match="level 'other' has 1 participant"):
        fit("sex_ols_noage", data=data)
    with pytest.raises(
        DataError, match=r"level 'other' has 1 participant\(s\) in 1 team"
    ):
        fit("sex_cr2", data=data)


def test_text_in_numbers_and_misshapen_contrasts_are_data_errors():
    with pytest.raises(DataError, match=r"'outcome'.*row 0: value 'x' is not a number"):
        fit("sex_cr2", data=DATA.assign(outcome=["x", *DATA["outcome"].iloc[1:]]))
    x = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(DataError, match="one column per coefficient"):
        cr2_wald(x, np.ones(10), np.repeat([0, 1], 5), np.zeros(2), np.ones((1, 3)))
