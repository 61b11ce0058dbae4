"""The restricted wild cluster bootstrap of the ANCOVA difference and of the
pre-post effect (issue 15, item 4): checked by exact enumeration of every
Rademacher sign pattern against an independent computation (statsmodels OLS with
its CR1 cluster covariance, one refit per pattern), by the interval's definition,
and by its rejection rate under the null with 10 clusters."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from cpeval import DataError
from cpeval.models import ancova, wild_bootstrap_ancova, wild_bootstrap_prepost

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


# ------------------------------------------------------------------ pre-post

PP = {"outcome": "y", "time": "wave", "group": "arm", "cluster": "team", "id": "id"}


def _two_wave_study(
    n_teams: int, seed: int, effect: float = 0.0, missing: float = 0.15
) -> pd.DataFrame:
    """Long format, one row per interview: teams of unequal size, half
    intervention, team effects that change between waves (team-by-wave), a
    participant effect, and some follow-up outcomes missing."""
    rng = np.random.default_rng(seed)
    rows = []
    for team in range(n_teams):
        arm = team % 2
        u, v = rng.normal(0, 1.0), rng.normal(0, 1.0, 2)
        for person in range(int(rng.integers(4, 11))):
            pid = f"p{team:02d}{person:02d}"
            a, age = rng.normal(0, 4), int(rng.integers(20, 65))
            sex = ["female", "male"][int(rng.integers(0, 2))]
            for wave in (0, 1):
                y = 40 + 2 * wave + effect * arm * wave + u + v[wave] + a
                y += 0.05 * age + rng.normal(0, 5)
                if wave == 1 and rng.random() < missing:
                    y = np.nan
                rows.append(
                    {
                        "team": f"t{team:02d}",
                        "id": pid,
                        "arm": arm,
                        "wave": wave,
                        "y": y,
                        "age": age,
                        "sex": sex,
                    }
                )
    return pd.DataFrame(rows)


def _prepost_by_statsmodels(data: pd.DataFrame, rs, covariates: str = ""):
    """t and the p-values of wave:arm = r for each r in ``rs`` from all 2^G
    sign patterns, one statsmodels OLS refit with its CR1 covariance each."""
    used = data.dropna(subset=["y"]).reset_index(drop=True)
    fit = smf.ols("y ~ wave * arm" + covariates, used).fit()
    X, names = fit.model.exog, fit.model.exog_names
    k = names.index("wave:arm")
    others = np.delete(X, k, axis=1)
    teams = sorted(used["team"].unique())
    groups = pd.factorize(used["team"], sort=True)[0]

    def cr1_t(y, r):
        refit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
        return (refit.params[k] - r) / refit.bse[k]

    y = used["y"].to_numpy()
    out = []
    for r in rs:
        t_obs = cr1_t(y, r)
        fitted = sm.OLS(y - r * X[:, k], others).fit().fittedvalues + r * X[:, k]
        residual = y - fitted
        t_star = [
            cr1_t(fitted + residual * np.asarray(signs)[groups], r)
            for signs in itertools.product((-1.0, 1.0), repeat=len(teams))
        ]
        out.append((t_obs, np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-12))))
    return out


@pytest.mark.parametrize(
    ("n_teams", "seed", "effect", "covariates"),
    [(5, 11, 0.0, ["age", "sex"]), (9, 12, 3.0, []), (12, 13, 1.5, ["age"])],
)
def test_prepost_enumeration_equals_statsmodels_refits(
    n_teams, seed, effect, covariates
):
    """Every one of the 2^G Rademacher sign patterns, at the null (0) and at
    half the estimate, against one statsmodels OLS + CR1 refit per pattern."""
    data = _two_wave_study(n_teams, seed, effect)
    ours = wild_bootstrap_prepost(
        data, **PP, covariates=covariates, weights="rademacher", n_boot=2**12
    )
    assert ours.enumerated and ours.n_boot == 2**n_teams
    assert ours.n_obs == data["y"].notna().sum() and ours.n_clusters == n_teams
    assert ours.n_dropped == data["y"].isna().sum() > 0
    formula = "".join(f" + C({c})" if c == "sex" else f" + {c}" for c in covariates)
    estimate = float(ours.params["wave:arm"])
    sm_fit = smf.ols("y ~ wave * arm" + formula, data.dropna(subset=["y"])).fit()
    assert estimate == pytest.approx(sm_fit.params["wave:arm"], rel=1e-10)
    rs = [0.0, estimate / 2]
    (t_obs, p0), (_, p_half) = _prepost_by_statsmodels(data, rs, formula)
    assert estimate / float(ours.se["wave:arm"]) == pytest.approx(t_obs, rel=1e-10)
    assert ours.pvalues["wave:arm"] == pytest.approx(p0, abs=1e-12)
    assert ours.problem.p_value(rs[1]) == pytest.approx(p_half, abs=1e-12)


def test_prepost_interval_is_where_the_p_value_crosses_one_minus_level():
    data = _two_wave_study(6, 21, 4.0)
    res = wild_bootstrap_prepost(data, **PP, weights="rademacher", n_boot=99)
    assert res.enumerated
    step = 1e-4 * float(res.se["wave:arm"])
    for level in (0.95, 0.8):
        low, high = res.conf_int(level=level).loc["wave:arm"]
        assert low < res.params["wave:arm"] < high
        for bound, outward in ((low, -step), (high, step)):
            inside, outside = _prepost_by_statsmodels(
                data, [bound - outward, bound + outward]
            )
            assert inside[1] >= 1 - level > outside[1]
            assert res.problem.p_value(bound - outward) == inside[1]
            assert res.problem.p_value(bound + outward) == outside[1]


def test_prepost_rejection_rate_under_the_null_with_ten_clusters():
    """400 null studies (10 teams, team-by-wave effects, missing follow-ups),
    Webb weights, 399 draws: the count of p < 0.05 lies in the central 99% of
    Binomial(400, 0.05), 10 to 32 (a rate of 2.5% to 8%)."""
    low, high = stats.binom.ppf([0.005, 0.995], 400, 0.05)
    assert (low, high) == (10, 32)
    rejected = sum(
        wild_bootstrap_prepost(
            _two_wave_study(10, 5000 + s), **PP, seed=s, n_boot=399
        ).pvalues["wave:arm"]
        < 0.05
        for s in range(400)
    )
    assert low <= rejected <= high, rejected / 400


def test_prepost_labels_waves_and_covariates_change_nothing():
    data = _two_wave_study(8, 31, 2.0)
    res = wild_bootstrap_prepost(data, **PP, seed=4, n_boot=999)
    text = data.assign(
        arm=data["arm"].map({1: "Connecting People", 0: "Usual care"}),
        wave=data["wave"].map({0: "baseline", 1: "12 months"}),
    )
    kw = {**PP, "treated": "Connecting People", "seed": 4, "n_boot": 999}
    again = wild_bootstrap_prepost(text, **kw, baseline_wave="baseline")
    assert again.pvalues.iloc[0] == res.pvalues.iloc[0]
    assert again.params.iloc[0] == pytest.approx(res.params.iloc[0], rel=1e-12)
    ordered = text.assign(
        wave=pd.Categorical(text["wave"], ["baseline", "12 months"], ordered=True)
    )
    assert wild_bootstrap_prepost(ordered, **kw).pvalues.iloc[0] == res.pvalues.iloc[0]
    three = pd.concat([data, data[data["wave"] == 1].assign(wave=2, y=0.0)])
    chosen = wild_bootstrap_prepost(
        three, **PP, seed=4, n_boot=999, baseline_wave=0, followup_wave=1
    )
    assert chosen.pvalues.iloc[0] == res.pvalues.iloc[0]
    assert chosen.n_obs == res.n_obs and chosen.n_dropped == res.n_dropped
    # with no covariates the effect is the difference of the arms' mean changes
    cells = data.groupby(["arm", "wave"])["y"].mean()
    by_hand = (cells[1, 1] - cells[1, 0]) - (cells[0, 1] - cells[0, 0])
    assert res.params.iloc[0] == pytest.approx(by_hand, rel=1e-10)
    assert "wave 0 (baseline) to 1" in str(res.summary())
    assert "rows dropped (missing)" in str(res.summary())


def test_prepost_refuses_what_it_cannot_read():
    data = _two_wave_study(6, 41)
    kw = {**PP, "seed": 1, "n_boot": 99}
    text_arm = data.assign(arm=data["arm"].map({1: "CP", 0: "usual care"}))
    with pytest.raises(DataError, match=r"say which value is the intervention"):
        wild_bootstrap_prepost(text_arm, **kw)
    three = pd.concat([data, data[data["wave"] == 1].assign(wave=2)])
    with pytest.raises(DataError, match=r"holds 3 waves .*\(baseline_wave=\.\.\., "):
        wild_bootstrap_prepost(three, **kw)
    with pytest.raises(DataError, match=r"say which other wave .*\(followup_wave="):
        wild_bootstrap_prepost(three, **kw, baseline_wave=0)
    months = data.assign(wave=data["wave"] * 6)
    with pytest.raises(
        DataError, match=r"'0', '6', not 0/1: say which is the baseline"
    ):
        wild_bootstrap_prepost(months, **kw)
    with pytest.raises(DataError, match=r"followup_wave=12: .* has no such wave"):
        wild_bootstrap_prepost(months, **kw, baseline_wave=0, followup_wave=12)
    two = data[data["team"].isin(["t00", "t01"])]
    with pytest.raises(
        DataError, match=r"cluster 'team' has 2 clusters.*three or more"
    ):
        wild_bootstrap_prepost(two, **kw)
    gone = data.assign(y=data["y"].where((data["arm"] == 0) | (data["wave"] == 0)))
    with pytest.raises(
        DataError, match=r"no interview in the intervention arm at wave '1' of 'wave'"
    ):
        wild_bootstrap_prepost(gone, **kw)
    moved = data.copy()
    row = moved.index[(moved["id"] == "p0001") & (moved["wave"] == 1)][0]
    moved.loc[row, "team"] = "t02"
    with pytest.raises(
        DataError,
        match=r"participant 'p0001' \('id'\) has rows in more than one cluster of "
        r"'team' \('t00', 't02'\)",
    ):
        wild_bootstrap_prepost(moved, **kw)
    twice = pd.concat([data, data.iloc[[1]]])
    with pytest.raises(DataError, match=r"'p0000' \('id'\) has 2 rows at wave '1'"):
        wild_bootstrap_prepost(twice, **kw)
    no_team = data.assign(team=data["team"].where(data.index != 3))
    with pytest.raises(DataError, match=r"'team' is missing on 1 rows"):
        wild_bootstrap_prepost(no_team, **kw)
    with pytest.raises(DataError, match=r"do not have: \['site'\]"):
        wild_bootstrap_prepost(data, **{**kw, "cluster": "site"})
    with pytest.raises(DataError, match="weights must be one of"):  # before the data
        wild_bootstrap_prepost(data, **{**kw, "cluster": "site"}, weights="mammen")
    with pytest.raises(DataError, match="seed is required"):
        wild_bootstrap_prepost(data, **PP)
    flat = data.assign(y=3.0 + 2 * data["wave"] + data["arm"])
    with pytest.raises(DataError, match="pre-post effect on 'y' has no cluster-robust"):
        wild_bootstrap_prepost(flat, **kw)
