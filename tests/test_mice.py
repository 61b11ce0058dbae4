"""Multiple imputation: recovers a MAR effect where complete cases are biased;
binary columns, clusters and seeds behave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import cpeval
from cpeval.missing import impute

TRUE_EFFECT = 2.0


@pytest.fixture(scope="module")
def mar_data():
    """y depends on x; whether y is observed depends on x, differently by arm (MAR)."""
    rng = np.random.default_rng(20261122)
    n = 2000
    x = rng.normal(size=n)
    arm = rng.integers(0, 2, n)
    y = TRUE_EFFECT * arm + 1.5 * x + rng.normal(size=n)
    p_missing = 1 / (1 + np.exp(-(-0.5 + 1.5 * x * np.where(arm == 1, 1, -1))))
    y = np.where(rng.random(n) < p_missing, np.nan, y)
    return pd.DataFrame({"x": x, "arm": arm, "y": y})


def _arm_effect(data):
    fit = smf.ols("y ~ arm", data).fit()
    return fit.params[["arm"]], fit.bse[["arm"]] ** 2


def test_mi_recovers_the_mar_effect_where_complete_cases_are_biased(mar_data):
    complete = smf.ols("y ~ arm", mar_data).fit()
    assert abs(complete.params["arm"] - TRUE_EFFECT) > 5 * complete.bse["arm"]  # biased
    imp = impute(mar_data, ["y"], predictors=["x"], by="arm", m=20, seed=7)
    pooled = imp.analyse(_arm_effect, df_complete=len(mar_data) - 2)
    # seed 7, m = 20: within 2.5 pooled standard errors of the truth
    assert abs(pooled.params[0] - TRUE_EFFECT) < 2.5 * pooled.se[0]
    assert pooled.m == 20 and 0 < pooled.fmi[0] < 1


def test_same_seed_same_imputations(mar_data):
    a = impute(mar_data, ["y"], predictors=["x"], by="arm", m=2, iterations=3, seed=11)
    b = impute(mar_data, ["y"], predictors=["x"], by="arm", m=2, iterations=3, seed=11)
    for x, y in zip(a.datasets, b.datasets, strict=True):
        pd.testing.assert_frame_equal(x, y)
    observed = mar_data["y"].notna()
    pd.testing.assert_series_equal(
        a.datasets[0].loc[observed, "y"], mar_data.loc[observed, "y"]
    )
    assert a.datasets[0]["y"].notna().all()


def test_pmm_draws_observed_values_and_binary_columns_stay_binary():
    rng = np.random.default_rng(3)
    n = 300
    d = pd.DataFrame({"x": rng.normal(size=n), "team": rng.integers(0, 6, n)})
    d["score"] = np.round(10 + 2 * d["x"] + rng.normal(size=n))
    d["employed"] = (rng.random(n) < 1 / (1 + np.exp(-d["x"]))).astype(float)
    d.loc[rng.random(n) < 0.2, "score"] = np.nan
    d.loc[rng.random(n) < 0.2, "employed"] = np.nan
    imp = impute(
        d, ["score", "employed"], predictors=["x"], cluster="team", m=2, seed=5
    )
    assert imp.methods == {"score": "pmm", "employed": "logreg"}
    for completed in imp.datasets:
        assert set(completed["score"]) <= set(d["score"].dropna())
        assert set(completed["employed"]) <= {0.0, 1.0}


def test_bad_imputation_input(mar_data):
    with pytest.raises(cpeval.DataError, match="no observed values"):
        impute(mar_data.assign(y=np.nan), ["y"], predictors=["x"], seed=1)
    with pytest.raises(cpeval.DataError, match=r"predictors \['y'\] have missing"):
        impute(mar_data, ["x"], predictors=["y"], seed=1)
    with pytest.raises(cpeval.DataError, match=r"\['z'\]"):
        impute(mar_data, ["z"], seed=1)


def test_delta_and_tipping_point_by_hand(mar_data):
    """With a difference-in-means analysis, shifting the treated arm's imputed values
    by delta moves the estimate by delta times that arm's imputed share."""
    from cpeval.missing import delta_adjust, tipping_point

    imp = impute(mar_data, ["y"], predictors=["x"], by="arm", m=5, iterations=3, seed=9)
    treated = mar_data["arm"] == 1

    def difference(data):
        diff = (
            data.loc[data["arm"] == 1, "y"].mean()
            - data.loc[data["arm"] == 0, "y"].mean()
        )
        var = (data.groupby("arm")["y"].var() / data.groupby("arm").size()).sum()
        return diff, var

    base = imp.analyse(difference).params[0]
    shifted = delta_adjust(imp, "y", -1.5, where=treated)
    share = (imp.imputed["y"] & treated).sum() / treated.sum()
    assert shifted.analyse(difference).params[0] == pytest.approx(base - 1.5 * share)
    observed = mar_data["y"].notna()
    pd.testing.assert_series_equal(
        shifted.datasets[0]["y"][observed], mar_data["y"][observed]
    )
    table = tipping_point(imp, difference, "y", [0, -2, -4, -6, -8], where=treated)
    assert table["estimate"].is_monotonic_decreasing
    assert table.attrs["tipping_delta"] in set(table["delta"]) | {None}
    if table.attrs["tipping_delta"] is not None:
        first = table.loc[table["delta"] == table.attrs["tipping_delta"]].index[0]
        assert table.loc[first, "significant"] != table.loc[0, "significant"]


def test_outcome_model_fitted_on_each_imputation_and_pooled(mar_data):
    from cpeval.models import ancova

    data = mar_data.assign(baseline=mar_data["x"], team=np.arange(len(mar_data)) % 20)
    imp = impute(data, ["y"], predictors=["x"], by="arm", m=5, iterations=3, seed=2)

    def model(completed):
        fit = ancova(
            completed, outcome="y", baseline="baseline", group="arm", cluster="team"
        )
        return fit.params[["arm"]], fit.se[["arm"]] ** 2

    pooled = imp.analyse(model)
    per = [model(d)[0]["arm"] for d in imp.datasets]
    assert pooled.params[0] == pytest.approx(np.mean(per))
    assert pooled.names == ("arm",) and pooled.m == 5


def test_missing_summary_by_hand():
    from cpeval.missing import missing_summary

    d = pd.DataFrame(
        {
            "arm": [0, 0, 0, 1, 1],
            "wave": ["b", "f", "f", "b", "f"],
            "y": [1.0, np.nan, 2.0, np.nan, np.nan],
            "x": [1, 2, 3, 4, None],
        }
    )
    table = missing_summary(d, ["y", "x"], by=["arm"]).set_index(["arm", "column"])
    assert table.loc[(0, "y"), "n_missing"] == 1 and table.loc[(0, "y"), "n"] == 3
    assert table.loc[(1, "y"), "share_missing"] == 1.0
    assert (
        table.loc[(1, "x"), "n_missing"] == 1 and table.loc[(0, "x"), "n_missing"] == 0
    )


def test_polyreg_fits_the_multinomial_logit_and_draws_from_it():
    """The polytomous step's model equals statsmodels' MNLogit (its weight decay
    of 1e-4 moves the coefficients by less than 1e-3), and its draws follow the
    predicted probabilities."""
    import statsmodels.api as sm

    from cpeval.missing._mice import _polyreg, multinomial_logit

    rng = np.random.default_rng(3)
    n = 600
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    eta = np.column_stack([np.zeros(n), 0.5 + 1.2 * x[:, 1], -0.3 - 0.8 * x[:, 1]])
    prob = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1).astype(float)
    beta = multinomial_logit(x, y.astype(int), 3)
    reference = sm.MNLogit(y, x).fit(disp=0).params  # columns: levels 1, 2
    assert np.abs(beta[:, 1:] - reference).max() < 1e-3
    miss = np.zeros(n, bool)
    miss[:200] = True  # draw for the first 200 from the model of the others
    draws = np.array(
        [_polyreg(x, y, miss, np.random.default_rng(s), 3) for s in range(200)]
    )
    fitted = sm.MNLogit(y[~miss], x[~miss]).fit(disp=0)
    expected = fitted.predict(x[miss]).mean(axis=0)
    observed = np.array([(draws == k).mean() for k in range(3)])
    assert np.abs(observed - expected).max() < 0.01  # 40,000 draws: SE < 0.003


def test_text_categories_and_missing_covariates_are_imputed():
    """Text columns are imputed as text (two categories by logistic regression,
    more by polytomous regression); a column mixing numbers and text is a
    DataError naming the row and value."""
    rng = np.random.default_rng(0)
    n = 300
    d = pd.DataFrame({"arm": rng.integers(0, 2, n), "x": rng.normal(size=n)})
    d["band"] = np.where(d["x"] > 0.5, "high", np.where(d["x"] < -0.5, "low", "mid"))
    d["sex"] = rng.choice(["f", "m"], n)
    d.loc[rng.random(n) < 0.2, "band"] = None
    d.loc[rng.random(n) < 0.1, "sex"] = None
    imp = impute(d, ["band", "sex"], predictors=["x"], by="arm", m=2, seed=1)
    assert imp.methods == {"band": "polyreg", "sex": "logreg"}
    completed = imp.datasets[0]
    assert completed["band"].notna().all() and set(completed["band"]) == {
        "high",
        "low",
        "mid",
    }
    filled = imp.imputed["band"]
    agree = (
        completed.loc[filled, "band"]
        == np.where(
            completed.loc[filled, "x"] > 0.5,
            "high",
            np.where(completed.loc[filled, "x"] < -0.5, "low", "mid"),
        )
    ).mean()
    assert agree > 0.8  # the categories follow x, which determines them
    bad = d.assign(x=d["x"].astype(object))
    bad.loc[3, "x"] = "n/a"
    with pytest.raises(cpeval.DataError, match=r"'x', row 3: value 'n/a'"):
        impute(bad, ["x"], m=2, seed=1)


def test_independent_columns_shortcut_keeps_the_greedy_choice():
    """A clearly full-rank matrix keeps every column without the column-by-
    column rank tests; anything else gets them, with the same answer."""
    from cpeval.missing._mice import _independent

    def greedy(x):
        keep = []
        for j in range(x.shape[1]):
            if np.linalg.matrix_rank(x[:, [*keep, j]]) == len(keep) + 1:
                keep.append(j)
        return keep

    rng = np.random.default_rng(2)
    for _ in range(30):
        n, p = rng.integers(3, 30), rng.integers(1, 8)
        x = rng.normal(size=(n, p))
        if p > 2 and rng.random() < 0.5:
            x[:, rng.integers(p)] = x[:, 0] - 2 * x[:, 1]  # a combination
        if rng.random() < 0.3:
            x[:, rng.integers(p)] = 1.0  # a constant
        assert list(_independent(x)) == greedy(x)


def test_imputation_keeps_labels_types_and_strata():
    """Arrays inside, but the data set comes back as it went in: its index,
    its untouched columns' types, a complete row of a missing stratum left
    alone; a missing value outside every stratum is refused, never left
    missing."""
    rng = np.random.default_rng(3)
    d = pd.DataFrame(
        {
            "arm": [0.0, 1.0] * 30,
            "x": rng.normal(size=60),
            "count": rng.integers(0, 5, 60),
        },
        index=np.arange(60) * 3 + 100,
    )
    d["y"] = d["x"] + rng.normal(size=60)
    d.loc[d.index[::4], "y"] = np.nan
    d.loc[d.index[5], "arm"] = np.nan
    imp = impute(d, ["y", "count"], predictors=["x"], by="arm", m=2, seed=1)
    for completed in imp.datasets:
        assert completed.index.equals(d.index)
        assert completed["count"].dtype == d["count"].dtype
        assert (completed["count"] == d["count"]).all()
        assert completed["y"].isna().sum() == 0
        assert np.isnan(completed.loc[d.index[5], "arm"])  # complete: left alone
        seen = d["y"].notna()
        assert (completed.loc[seen, "y"] == d.loc[seen, "y"]).all()
    d.loc[d.index[8], "arm"] = np.nan  # a missing y outside every stratum
    with pytest.raises(cpeval.DataError, match="in no stratum"):
        impute(d, ["y", "count"], predictors=["x"], by="arm", m=2, seed=1)


def test_predictor_sets_and_a_passive_total():
    """An item-like layout: c is a + b; c is predicted only by the passive total
    t = a + b (recomputed after each draw of a or b), so its imputed values
    follow the imputed a + b; the checks of the plan name what is wrong."""
    rng = np.random.default_rng(5)
    n = 300
    d = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    d["c"] = d["a"] + d["b"] + rng.normal(scale=0.05, size=n)
    d["x"] = d["a"] + rng.normal(size=n)
    d.loc[d.index[::5], "c"] = np.nan
    d.loc[d.index[1::7], "a"] = np.nan
    plan = {
        "predictor_sets": {"c": ["t"], "a": ["b"], "b": ["a"]},
        "passive": {"t": ["a", "b"]},
    }
    imp = impute(d, ["a", "b", "c"], predictors=["x"], m=2, seed=3, **plan)
    missing = d["c"].isna()
    for completed in imp.datasets:
        assert "t" not in completed.columns
        total = completed["a"] + completed["b"]
        r = np.corrcoef(completed.loc[missing, "c"], total[missing])[0, 1]
        assert r > 0.95
    again = impute(d, ["a", "b", "c"], predictors=["x"], m=2, seed=3, **plan)
    assert all(x.equals(y) for x, y in zip(imp.datasets, again.datasets, strict=True))
    default = impute(d, ["a", "b", "c"], predictors=["x"], m=2, seed=3)
    assert not default.datasets[0].equals(imp.datasets[0])
    for bad, message in (
        ({"passive": {"x": ["a"]}}, "is a column of the data already"),
        ({"passive": {"t": ["x"]}}, "must sum numeric imputed columns"),
        ({"predictor_sets": {"x": ["a"]}}, "not an imputed column"),
        ({"predictor_sets": {"c": ["s"]}}, "another imputed column or a passive"),
        ({"predictor_sets": {"c": ["c"]}}, "another imputed column or a passive"),
        ({"predictor_sets": {"c": "t"}}, "is the text 't': give a list"),
        ({"passive": {"t": "ab"}}, "is the text 'ab': give a list"),
    ):
        with pytest.raises(cpeval.DataError, match=message):
            impute(d, ["a", "b", "c"], predictors=["x"], m=2, seed=3, **bad)


def test_a_row_without_its_cluster_is_refused():
    """Cluster indicators would take an unlabelled row as the first cluster."""
    rng = np.random.default_rng(2)
    d = pd.DataFrame({"x": rng.normal(size=40), "team": np.repeat(list("abcd"), 10)})
    d["y"] = d["x"] + rng.normal(size=40)
    d.loc[::6, "y"] = np.nan
    d.loc[3, "team"] = None
    with pytest.raises(cpeval.DataError, match=r"'team' is missing in 1 row\(s\)"):
        impute(d, ["y"], predictors=["x"], cluster="team", m=2, seed=1)
