"""fit_lmm against lme4 + lmerTest (tests/reference/lmm, see its README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.models import fit_lmm

REF = Path(__file__).parent / "reference" / "lmm"
CASES = [
    ("small_nearzero", ["team", "id"], True),
    ("unbalanced", ["team", "id"], True),
    ("unbalanced", ["team", "id"], False),
    ("three_levels", ["trust", "team", "id"], True),
    ("large", ["team", "id"], True),
]


@pytest.fixture(scope="module")
def lme4():
    return pd.read_csv(
        REF / "lme4_results.csv", keep_default_na=False, na_values=["NA"]
    )


def _ref(table, dataset, reml, quantity):
    rows = table[
        (table["dataset"] == dataset)
        & (table["method"] == ("REML" if reml else "ML"))
        & (table["quantity"] == quantity)
    ]
    return rows.set_index("term")["value"]


@pytest.mark.parametrize(("dataset", "groups", "reml"), CASES)
def test_fit_equals_lme4_and_lmertest(lme4, dataset, groups, reml):
    data = pd.read_csv(REF / f"{dataset}.csv")
    fit = fit_lmm(data, "y ~ time * group", groups, reml=reml)
    est = _ref(lme4, dataset, reml, "estimate")
    np.testing.assert_allclose(fit.params[est.index], est, rtol=1e-4)
    se = _ref(lme4, dataset, reml, "se")
    np.testing.assert_allclose(fit.se[se.index], se, rtol=1e-3)
    df = _ref(lme4, dataset, reml, "df")
    np.testing.assert_allclose(fit.df[df.index], df, rtol=1e-2)
    variance = _ref(lme4, dataset, reml, "variance")
    for name, value in variance.items():
        ours = fit.vcomp[name]
        assert ours == pytest.approx(value, rel=1e-3) or abs(ours - value) < 1e-4, name
    loglik = _ref(lme4, dataset, reml, "logLik").iloc[0]
    assert fit.llf == pytest.approx(loglik, abs=1e-3)
    assert fit.llf >= loglik - 1e-6  # never a worse optimum than lme4
    assert fit.singular == bool(_ref(lme4, dataset, reml, "singular").iloc[0])
    assert fit.converged


def test_singular_fit_is_reported_as_data_not_warnings(recwarn):
    data = pd.read_csv(REF / "small_nearzero.csv")
    fit = fit_lmm(data, "y ~ time * group", ["team", "id"])
    assert fit.singular and "boundary (singular) fit" in fit.messages[0]
    assert len(recwarn) == 0
    assert fit.icc["team"] < 1e-6 and 0.2 < fit.icc["id"] < 0.5


def test_result_tables_and_wald(lme4):
    data = pd.read_csv(REF / "unbalanced.csv")
    fit = fit_lmm(data, "y ~ time * group", ["team", "id"], df_method="wald")
    assert np.isinf(fit.df).all()
    tidy = fit.to_frame()
    assert list(tidy.columns) == [
        "term",
        "params",
        "se",
        "df",
        "statistic",
        "pvalues",
        "ci_low",
        "ci_high",
        "df_method",
    ]
    assert tidy["df_method"].eq("wald").all()
    z = fit.params / fit.se
    np.testing.assert_allclose(
        fit.conf_int()["ci_low"], fit.params - 1.959963984540054 * fit.se
    )
    assert (fit.pvalues > 0).all() and z.notna().all()
    assert fit.n_groups == {"team": 12, "id": 157} and fit.n_obs == len(data)


def test_missing_rows_are_dropped_and_counted():
    data = pd.read_csv(REF / "unbalanced.csv")
    data.loc[[0, 1, 2], "y"] = np.nan
    fit = fit_lmm(data, "y ~ time * group", ["team", "id"])
    assert fit.n_dropped == 3 and fit.n_obs == len(data) - 3


@pytest.mark.parametrize(
    ("formula", "groups", "message"),
    [
        (
            "y ~ time * arm",
            ["team", "id"],
            "names a column the data do not have: 'arm'",
        ),
        ("y ~ time", ["team", "person"], r"grouping columns \['person'\]"),
    ],
)
def test_bad_model_names_the_column(formula, groups, message):
    data = pd.read_csv(REF / "unbalanced.csv")
    with pytest.raises(cpeval.DataError, match=message):
        fit_lmm(data, formula, groups)


@pytest.mark.parametrize(
    ("dataset", "groups"),
    [("unbalanced", ["team", "id"]), ("three_levels", ["trust", "team", "id"])],
)
def test_contrast_and_adjusted_means_equal_lmertest_and_emmeans(lme4, dataset, groups):
    data = pd.read_csv(REF / f"{dataset}.csv")
    fit = fit_lmm(data, "y ~ time * group", groups)
    row = fit.contrast({"time": 1, "time:group": 1}).iloc[0]
    est = _ref(lme4, dataset, True, "contrast_estimate").iloc[0]
    assert row["estimate"] == pytest.approx(est, rel=1e-4)
    assert row["se"] == pytest.approx(
        _ref(lme4, dataset, True, "contrast_se").iloc[0], rel=1e-3
    )
    assert row["df"] == pytest.approx(
        _ref(lme4, dataset, True, "contrast_df").iloc[0], rel=1e-2
    )
    means = fit.adjusted_means(data, ["group", "time"])
    means.index = [
        f"group={g}, time={t}" for g, t in means[["group", "time"]].to_numpy()
    ]
    for quantity, column, rel in [
        ("emmean", "estimate", 1e-4),
        ("emmean_se", "se", 1e-3),
        ("emmean_df", "df", 1e-2),
    ]:
        ref = _ref(lme4, dataset, True, quantity)
        np.testing.assert_allclose(means.loc[ref.index, column], ref, rtol=rel)


def test_contrast_names_unknown_terms():
    data = pd.read_csv(REF / "unbalanced.csv")
    fit = fit_lmm(data, "y ~ time * group", ["team", "id"])
    with pytest.raises(cpeval.DataError, match=r"no fixed effects named \['tim'\]"):
        fit.contrast({"tim": 1})


@pytest.mark.parametrize(
    ("dataset", "groups"),
    [("unbalanced", ["team", "id"]), ("three_levels", ["trust", "team", "id"])],
)
def test_icc_and_its_se_equal_lmertest_delta_method(lme4, dataset, groups):
    data = pd.read_csv(REF / f"{dataset}.csv")
    table = fit_lmm(data, "y ~ time * group", groups).icc_table().set_index("level")
    icc = _ref(lme4, dataset, True, "icc")
    se = _ref(lme4, dataset, True, "icc_se")
    for level in icc.index:
        assert table.loc[level, "icc"] == pytest.approx(icc[level], rel=1e-3, abs=1e-6)
        assert table.loc[level, "se"] == pytest.approx(se[level], rel=1e-2, abs=1e-5)
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()


def test_design_effect_by_hand():
    from cpeval.models import design_effect

    assert design_effect(0.05, 16) == pytest.approx(1 + 15 * 0.05)
    assert design_effect(0.02, 10, cv=0.6) == pytest.approx(
        1 + ((0.36 + 1) * 10 - 1) * 0.02
    )
    assert design_effect(0.0, 50, cv=1.0) == 1.0
    with pytest.raises(cpeval.DataError, match="icc must be between 0 and 1"):
        design_effect(1.2, 10)


def test_fidelity_dose_response_within_the_intervention_arm(lme4):
    """Fidelity (team-level, 1-5) x time in the intervention arm, as lme4."""
    data = pd.read_csv(REF / "unbalanced.csv")
    data["fidelity"] = data["team"].str.split("-").str[-1].astype(int) % 5 + 1
    fit = fit_lmm(data[data["group"] == 1], "y ~ time * fidelity", ["team", "id"])
    for quantity, column, rel in [
        ("estimate", "params", 1e-4),
        ("se", "se", 1e-3),
        ("df", "df", 1e-2),
    ]:
        ref = _ref(lme4, "fidelity_dose", True, quantity)
        ours = fit.to_frame().set_index("term")[column]
        np.testing.assert_allclose(ours[ref.index], ref, rtol=rel)


def test_extreme_theta_does_not_crash_the_optimiser():
    """With the arm constant within teams, a huge team variance makes X'V^-1 X
    numerically singular: the criterion is then infinite instead of raising (a
    regenerated implementation study once crashed here)."""
    from cpeval.io import load_study
    from cpeval.models._lmm import _codes, _design
    from cpeval.models._nested import NestedDesign, criterion
    from cpeval.scales import score_study
    from tests.conftest import ROOT

    study = score_study(
        load_study(ROOT / "data" / "synthetic" / "implementation" / "codebook.toml")
    )
    data = study.data.assign(
        time=study.data["wave"].cat.codes.astype(int),
        treated=(study.data["arm"] == "intervention").astype(int),
    )
    groups = ["site", "team", "id"]
    y, x, used = _design(data, "rguk_total ~ time * treated", groups)
    design = NestedDesign.build(x.to_numpy(float), y, _codes(used, groups))
    value = criterion(design, np.array([1e12, 1e12, 1.0]), True)
    assert not np.isnan(value)  # and, above all, no LinAlgError
    fit = fit_lmm(data, "rguk_total ~ time * treated", groups)
    assert fit.converged and all(t <= 1e3 for t in fit.theta)


def test_repeated_index_labels_fit_as_a_fresh_index():
    """Long data stacked with pd.concat repeat index labels; the fit is the same."""
    import pandas as pd

    from cpeval.models import fit_lmm

    d = pd.read_csv(REF / "unbalanced.csv")
    half = len(d) // 2
    stacked = pd.concat(  # same rows, same order, labels 0.. twice
        [d.iloc[:half].reset_index(drop=True), d.iloc[half:].reset_index(drop=True)]
    )
    a = fit_lmm(d, "y ~ time * group", ["team", "id"]).to_frame()
    b = fit_lmm(stacked, "y ~ time * group", ["team", "id"]).to_frame()
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)


def test_flat_criterion_reaches_lme4s_optimum():
    """flat_boundary.csv (make_flat_boundary.py): the REML criterion is nearly flat
    in the trust variance, and a search from theta = 1 stops at 0; lme4 finds
    the optimum inside (lmm_flat.R, lme4_flat.csv). Tolerances as above."""
    data = pd.read_csv(REF / "flat_boundary.csv")
    ref = pd.read_csv(REF / "lme4_flat.csv", keep_default_na=False, na_values=["NA"])
    ref = {q: part.set_index("term")["value"] for q, part in ref.groupby("quantity")}
    fit = fit_lmm(data, "y ~ time * group + x + time:x", ["trust", "team", "id"])
    np.testing.assert_allclose(
        fit.params[ref["estimate"].index], ref["estimate"], rtol=1e-4
    )
    np.testing.assert_allclose(fit.se[ref["se"].index], ref["se"], rtol=1e-3)
    np.testing.assert_allclose(fit.df[ref["df"].index], ref["df"], rtol=1e-2)
    for name, value in ref["variance"].items():
        ours = fit.vcomp[name]
        assert ours == pytest.approx(value, rel=1e-3) or abs(ours - value) < 1e-4, name
    loglik = ref["logLik"].iloc[0]
    assert fit.llf == pytest.approx(loglik, abs=1e-3) and fit.llf >= loglik - 1e-6


def test_lme4_bar_syntax_and_crossed_factors_are_refused():
    """lme4's (1 | Subject) is not a fixed effect, and crossed factors (lme4's
    Penicillin: every plate with every sample) given as nested are not fitted."""
    rng = np.random.default_rng(1)
    sleep = pd.DataFrame(
        {"Subject": np.repeat(np.arange(18), 10), "Days": np.tile(np.arange(10), 18)}
    )
    sleep["Reaction"] = 251 + 10 * sleep["Days"] + rng.normal(0, 30, len(sleep))
    with pytest.raises(cpeval.DataError, match=r"random-effects term.*groups="):
        fit_lmm(sleep, "Reaction ~ Days + (1 | Subject)", ["Subject"])
    fit = fit_lmm(sleep, "Reaction ~ Days", ["Subject"])
    assert 230 < fit.params["Intercept"] < 270
    penicillin = pd.DataFrame(
        {
            "plate": np.repeat([chr(97 + i) for i in range(24)], 6),
            "sample": list("ABCDEF") * 24,
        }
    )
    penicillin["diameter"] = 23 + rng.normal(0, 1, len(penicillin))
    with pytest.raises(cpeval.DataError, match=r"'sample' is not nested in 'plate'"):
        fit_lmm(penicillin, "diameter ~ 1", ["plate", "sample"])
