"""The restricted wild cluster bootstrap of the ANCOVA difference (issue 15, item 4):
checked by exact enumeration of every Rademacher sign pattern against an
independent computation (statsmodels OLS with its CR1 cluster covariance, one
refit per pattern), by the interval's definition, and by its rejection rate
under the null with 10 clusters."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from cpeval import DataError
from cpeval.models import ancova, wild_bootstrap_ancova

KW = {"outcome": "y1", "baseline": "y0", "group": "arm", "cluster": "team"}


def _study(n_teams: int, seed: int, effect: float = 0.0) -> pd.DataFrame:
    """Teams of unequal size, half intervention, team effects at follow-up."""
    rng = np.random.default_rng(seed)
    rows = []
    for team in range(n_teams):
        size = int(rng.integers(6, 16))
        arm = team % 2
        u = rng.normal(0, 0.5)
        y0 = rng.normal(50, 10, size)
        y1 = 10 + 0.8 * y0 + effect * arm + u + rng.normal(0, 6, size)
        rows += [
            {"team": f"t{team:02d}", "arm": arm, "y0": a, "y1": b, "age": 30 + a % 7}
            for a, b in zip(y0, y1, strict=True)
        ]
    return pd.DataFrame(rows)


def _enumerated_by_statsmodels(data: pd.DataFrame, r: float = 0.0):
    """p-value of arm = r from all 2^G sign patterns, one statsmodels refit each."""
    fit = smf.ols("y1 ~ y0 + arm", data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["team"])[0]}
    )
    t_obs = (fit.params["arm"] - r) / fit.bse["arm"]
    restricted = smf.ols("I(y1 - r * arm) ~ y0", data.assign(r=r)).fit()
    fitted = restricted.fittedvalues + r * data["arm"]
    residual = data["y1"] - fitted
    teams = sorted(data["team"].unique())
    t_star = []
    for signs in itertools.product((-1.0, 1.0), repeat=len(teams)):
        flip = data["team"].map(dict(zip(teams, signs, strict=True)))
        star = data.assign(y1=fitted + residual * flip)
        refit = smf.ols("y1 ~ y0 + arm", star).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(star["team"])[0]}
        )
        t_star.append((refit.params["arm"] - r) / refit.bse["arm"])
    return t_obs, np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-12))


@pytest.mark.parametrize(("n_teams", "seed", "effect"), [(6, 1, 0.0), (8, 2, 4.0)])
def test_exact_enumeration_equals_an_independent_computation(n_teams, seed, effect):
    data = _study(n_teams, seed, effect)
    ours = wild_bootstrap_ancova(data, **KW, weights="rademacher", n_boot=9999)
    assert ours.enumerated and ours.n_boot == 2**n_teams
    t_obs, p = _enumerated_by_statsmodels(data)
    assert ours.params["arm"] / ours.se["arm"] == pytest.approx(t_obs, rel=1e-10)
    assert ours.pvalues["arm"] == pytest.approx(p, abs=1e-12)
    # and at another null value, as the interval uses
    r = float(ours.params["arm"]) / 2
    assert ours.problem.p_value(r) == pytest.approx(
        _enumerated_by_statsmodels(data, r)[1], abs=1e-12
    )


def test_interval_is_the_set_the_test_does_not_reject():
    data = _study(8, 3, 2.0)
    res = wild_bootstrap_ancova(data, **KW, weights="rademacher", n_boot=9999)
    low, high = res.conf_int().loc["arm"]
    step = 1e-4 * float(res.se["arm"])
    for bound, outward in ((low, -step), (high, step)):
        assert res.problem.p_value(bound - outward) >= 0.05
        assert res.problem.p_value(bound + outward) < 0.05
    narrow = res.conf_int(level=0.9).loc["arm"]
    assert low < narrow["ci_low"] < res.params["arm"] < narrow["ci_high"] < high


def test_same_difference_as_ancova_and_text_arms_agree():
    data = _study(10, 4)
    plain = ancova(data, **KW)
    res = wild_bootstrap_ancova(data, **KW, seed=5, n_boot=999)
    assert res.params["arm"] == pytest.approx(plain.params["arm"], rel=1e-12)
    text = data.assign(arm=data["arm"].map({1: "Connecting People", 0: "Usual care"}))
    again = wild_bootstrap_ancova(
        text, **KW, treated="Connecting People", seed=5, n_boot=999
    )
    assert again.pvalues["arm"] == res.pvalues["arm"]
    assert again.params["arm"] == pytest.approx(res.params["arm"], rel=1e-12)


def test_rejection_rate_under_the_null_with_ten_clusters():
    """400 null studies, 10 teams, Webb weights: 5% within Monte Carlo error
    (99% limits: 5% -/+ 2.58 * 1.09%)."""
    rejected = [
        wild_bootstrap_ancova(_study(10, 1000 + s), **KW, seed=s, n_boot=199).pvalues[
            "arm"
        ]
        < 0.05
        for s in range(400)
    ]
    rate = float(np.mean(rejected))
    assert abs(rate - 0.05) < 2.58 * np.sqrt(0.05 * 0.95 / 400), rate


def test_bad_options_are_named():
    data = _study(6, 6)
    with pytest.raises(DataError, match="weights must be one of"):
        wild_bootstrap_ancova(data, **KW, weights="mammen", seed=1)
    with pytest.raises(DataError, match="n_boot must be"):
        wild_bootstrap_ancova(data, **KW, n_boot=10, seed=1)
    with pytest.raises(DataError, match="seed is required"):
        wild_bootstrap_ancova(data, **KW)
    exact = data.assign(y1=2 + 0.5 * data["y0"] + data["arm"])  # no residual
    with pytest.raises(DataError, match="no cluster-robust variation"):
        wild_bootstrap_ancova(exact, **KW, seed=1)
    two = data[data["team"].isin(["t00", "t01"])]
    with pytest.raises(DataError, match="needs three or more"):
        wild_bootstrap_ancova(two, **KW, seed=1)
    with pytest.raises(DataError, match="do not have"):
        wild_bootstrap_ancova(data, **{**KW, "cluster": "site"}, seed=1)


def test_result_reads_like_the_others():
    res = wild_bootstrap_ancova(
        _study(10, 7), **KW, weights="rademacher", n_boot=999, seed=3
    )
    assert not res.enumerated and res.n_boot == 999  # 2^10 patterns > 999: drawn
    text = str(res.summary())
    assert "Wild cluster bootstrap" in text and "test does not reject" in text
    assert len(repr(res)) < 300 and "<table" in res._repr_html_()
    assert list(res.to_frame().columns)[:8] == [
        "term",
        "params",
        "se",
        "df",
        "statistic",
        "pvalues",
        "ci_low",
        "ci_high",
    ]
