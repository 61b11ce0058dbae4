"""Item-level multiple imputation with passive scores (cpeval.missing.impute_items)
against score-level imputation and complete cases, on a zoo study with a known
effect (tests/zoo/items.py: 16 teams, a 14-item questionnaire summed 14 to 70,
true effect TRUE_EFFECT = 3.00 points, items skipped at random given baseline).

Each estimator is the follow-up ANCOVA (score on baseline score and arm, CR2 by
team, ``cpeval.models.ancova``): (a) complete cases, people with all 14 items;
(b) score-level MI, the score missing whenever any item is, imputed itself;
(c) item-level MI, the items imputed and the score summed in every completed
set. (b) and (c) impute with the baseline score as predictor, teams as fixed
effects, by arm, m = 5, 5 iterations, and are pooled by Rubin's rules with the
Barnard-Rubin df (complete-data df: the mean CR2 Satterthwaite df, as the
pipeline does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpeval import DataError
from cpeval.missing import delta_adjust, impute, impute_items, pool
from cpeval.models import ancova
from tests.zoo.items import ITEMS, TRUE_EFFECT, simulate, true_effect

SEEDS = range(36)
M, ITERATIONS = 5, 5
SCALE = {"score": list(ITEMS)}
IMPUTATION = {"predictors": ["baseline"], "by": "arm", "cluster": "team"}


def _fit(data: pd.DataFrame):
    return ancova(
        data, outcome="score", baseline="baseline", group="arm", cluster="team"
    )


def _pooled(datasets) -> tuple[float, float, bool]:
    fits = [_fit(d) for d in datasets]
    result = pool(
        [f.params["arm"] for f in fits],
        [f.se["arm"] ** 2 for f in fits],
        df_complete=float(np.mean([f.df["arm"] for f in fits])),
    )
    low, high = result.conf_int().iloc[0]
    return float(result.params[0]), float(result.se[0]), low <= TRUE_EFFECT <= high


def _three(seed: int) -> dict[str, float | bool]:
    data = simulate(seed)
    items = data[list(ITEMS)]
    scored = data.drop(columns=list(ITEMS)).assign(
        score=items.sum(axis=1).where(items.notna().all(axis=1))
    )
    complete = _fit(scored)
    low, high = complete.conf_int().loc["arm"]
    row: dict[str, float | bool] = {
        "a_est": float(complete.params["arm"]),
        "a_se": float(complete.se["arm"]),
        "a_cover": bool(low <= TRUE_EFFECT <= high),
    }
    for key, imputations in (
        (
            "b",
            impute(
                scored, ["score"], m=M, iterations=ITERATIONS, seed=seed, **IMPUTATION
            ),
        ),
        (
            "c",
            impute_items(
                data, SCALE, m=M, iterations=ITERATIONS, seed=seed, **IMPUTATION
            ),
        ),
    ):
        row[f"{key}_est"], row[f"{key}_se"], row[f"{key}_cover"] = _pooled(
            imputations.datasets
        )
    return row


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return pd.DataFrame([_three(seed) for seed in SEEDS], index=list(SEEDS))


def test_the_truth_is_three_points():
    """The exact sum of normal probabilities (tests/zoo/items.py); 4 million
    simulated people per arm gave 2.992 (Monte Carlo SE 0.007)."""
    assert abs(TRUE_EFFECT - 3.0) < 0.005
    assert true_effect(0.0) == 0.0


def test_imputed_estimates_are_unbiased(runs):
    """Measured over seeds 0-399 (m = 5, 5 iterations), bias against the true
    3.00 (Monte Carlo SE), empirical SD, mean SE, 95% coverage:

    ====================  ==============  ======  =======  ========
    estimator             bias            SD      mean SE  coverage
    ====================  ==============  ======  =======  ========
    (a) complete cases    -0.075 (0.075)  1.50    1.53     96.0%
    (b) score-level MI    +0.021 (0.083)  1.66    1.73     98.3%
    (c) item-level MI     +0.043 (0.074)  1.48    1.49     96.0%
    ====================  ==============  ======  =======  ========

    All three are unbiased: missingness depends only on the baseline score, a
    covariate of the ANCOVA, so complete cases are unbiased too here; their
    cost is precision. Here, over 36 seeds, each mean estimate must be within
    3 Monte Carlo SEs (SD / 6, about 0.25) of the truth; over blocks of 36 of
    the 400 seeds the bias was 1.7 SEs at most. Seeds 0-35 (this test): bias
    +0.15, +0.31, +0.38 against allowances of 0.74, 0.78, 0.66."""
    for key in "abc":
        estimates = runs[f"{key}_est"]
        error = estimates.std() / np.sqrt(len(runs))
        assert abs(estimates.mean() - TRUE_EFFECT) < 3 * error, (key, estimates.mean())


def test_item_level_imputation_is_more_precise_than_score_level(runs):
    """Seeds 0-399: the pooled SE of (c) was 0.870 of (b)'s on average (SD over
    seeds 0.108, smaller in 88.5% of seeds; 0.85 to 0.89 in blocks of 36 seeds),
    because the 25% who skip 1 to 5 items keep their answered items in (c) and
    lose their whole score in (b). Score-level MI was no better than complete
    cases (SE 1.14 times theirs: imputing only the outcome, from the
    covariates of the analysis, adds no information, only imputation noise).
    Here the mean ratio must be under 0.95 (4 Monte Carlo SEs of 0.018 above
    0.87), and (c)'s intervals must be no wider than complete cases' by more
    than imputation noise."""
    ratio = runs["c_se"] / runs["b_se"]
    assert ratio.mean() < 0.95, ratio.describe()
    assert runs["c_se"].mean() < runs["b_se"].mean()
    assert runs["c_se"].mean() < 1.05 * runs["a_se"].mean()


def test_item_level_intervals_are_calibrated(runs):
    """Seeds 0-399: (c) covered the truth in 96.0% (MC SE 1.0 point) and its
    mean SE was 1.01 times the SD of its estimates. Here, 36 seeds: coverage at
    least 85% (five misses or fewer; 1.4 expected at 96%), and mean SE / SD of
    estimates within 3 Monte Carlo SEs (0.12 each) of 1 (measured 0.77 to 1.19
    in blocks of 36 seeds)."""
    assert runs["c_cover"].mean() >= 0.85
    calibration = runs["c_se"].mean() / runs["c_est"].std()
    assert 0.64 < calibration < 1.36, calibration


# --- the function itself ---------------------------------------------------


@pytest.fixture(scope="module")
def study() -> pd.DataFrame:
    return simulate(7)


@pytest.fixture(scope="module")
def imputed(study):
    return impute_items(study, SCALE, m=3, iterations=3, seed=11, **IMPUTATION)


def test_scores_are_sums_of_the_completed_items(study, imputed):
    observed = study[list(ITEMS)]
    answered = observed.notna().all(axis=1)
    assert imputed.m == 3
    for completed in imputed.datasets:
        items = completed[list(ITEMS)]
        assert items.notna().all().all()
        assert (completed["score"] == items.sum(axis=1)).all()
        assert (
            completed.loc[answered, "score"] == observed[answered].sum(axis=1)
        ).all()
        pd.testing.assert_frame_equal(items[observed.notna()], observed)
        assert items.isin([1.0, 2.0, 3.0, 4.0, 5.0]).all().all()
        assert completed["score"].between(14, 70).all()
    assert (imputed.imputed["score"] == ~answered).all()
    assert imputed.methods["score"] == "passive (sum of 14 items)"
    assert imputed.methods["wemwbs_1"] == "pmm"
    different = imputed.datasets[0]["score"] != imputed.datasets[1]["score"]
    assert different[~answered].any() and not different[answered].any()


def test_the_input_is_unchanged(study):
    before = study.copy(deep=True)
    text = study.assign(wemwbs_1=study["wemwbs_1"].map(str, na_action="ignore"))
    text_before = text.copy(deep=True)
    impute_items(study, SCALE, m=2, iterations=1, seed=1, by="arm")
    impute_items(text, SCALE, m=2, iterations=1, seed=1, by="arm")
    pd.testing.assert_frame_equal(study, before)
    pd.testing.assert_frame_equal(text, text_before)


def test_a_seed_gives_the_same_data_sets(study):
    def run(seed):
        return impute_items(study, SCALE, m=2, iterations=2, seed=seed, **IMPUTATION)

    first, again, other = run(3), run(3), run(4)
    for x, y in zip(first.datasets, again.datasets, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not first.datasets[0]["score"].equals(other.datasets[0]["score"])


def test_mean_and_function_rules_and_delta_adjust(study):
    halves = {"first": list(ITEMS[:7]), "second": list(ITEMS[7:])}

    def doubled(items: pd.DataFrame) -> pd.Series:
        return 2 * items.sum(axis=1)

    imp = impute_items(
        study,
        halves,
        score={"first": "mean", "second": doubled},
        m=2,
        iterations=2,
        seed=5,
        by="arm",
    )
    for completed in imp.datasets:
        assert np.allclose(completed["first"], completed[halves["first"]].mean(axis=1))
        assert np.allclose(
            completed["second"], 2 * completed[halves["second"]].sum(axis=1)
        )
    assert imp.methods["second"] == "passive (doubled of 7 items)"
    shifted = delta_adjust(imp, "second", -3.0)
    change = shifted.datasets[0]["second"] - imp.datasets[0]["second"]
    assert (change[imp.imputed["second"]] == -3.0).all()
    assert (change[~imp.imputed["second"]] == 0.0).all()


def _with(study, **changes):
    return study.assign(**changes)


@pytest.mark.parametrize(
    ("items", "options", "change", "message"),
    [
        ({}, {}, {}, "impute_items needs items"),
        ({"score": []}, {}, {}, "score 'score' has no items"),
        ({3: list(ITEMS)}, {}, {}, "a score name must be text; got 3"),
        ({"score": "wemwbs_1"}, {}, {}, "must be a list of column names, not a str"),
        (
            {"score": [*ITEMS, "wemwbs_15"]},
            {},
            {},
            "impute_items names columns the data do not have: ['wemwbs_15']",
        ),
        (
            SCALE,
            {"predictors": ["age"]},
            {},
            "impute_items names columns the data do not have: ['age']",
        ),
        (
            {"baseline": list(ITEMS)},
            {},
            {},
            "score 'baseline' is already a column of the data",
        ),
        (
            {"score": [*ITEMS, "wemwbs_1"]},
            {},
            {},
            "item 'wemwbs_1' is listed twice in score 'score'",
        ),
        (
            {"score": [*ITEMS, "baseline"]},
            {"predictors": ["baseline"]},
            {},
            "column 'baseline' is an item and also a predictor",
        ),
        (SCALE, {"score": "median"}, {}, "rule 'median' is not 'sum', 'mean'"),
        (SCALE, {"score": {"total": "sum"}}, {}, "rule given for 'total'"),
        (
            SCALE,
            {},
            {"wemwbs_3": "often"},
            "item column 'wemwbs_3', row 0: value 'often' is not a number",
        ),
    ],
)
def test_refusals_are_one_line(study, items, options, change, message):
    data = study.copy()
    for column, value in change.items():
        data[column] = data[column].astype(object)
        data.loc[0, column] = value
    with pytest.raises(DataError) as caught:
        impute_items(data, items, seed=1, **options)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text


def test_a_rule_that_gives_the_wrong_shape_is_refused(study):
    with pytest.raises(DataError, match="returned shape"):
        impute_items(
            study, SCALE, score=lambda items: np.zeros(3), m=2, iterations=1, seed=1
        )
    with pytest.raises(DataError, match=r"gave \d+ missing values"):
        impute_items(
            study,
            SCALE,
            score=lambda items: items.sum(axis=1).where(items["wemwbs_1"] > 1),
            m=2,
            iterations=1,
            seed=1,
        )
