"""Two-level imputation (impute(cluster_model="random")): agrees with R mice's
2l.pan within Monte Carlo error (tests/reference/mice2l), spreads the clusters as
the complete data do where fixed cluster effects overstate it, refuses what it
cannot do, and gives the same data for the same seed and any n_jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.missing import impute

REFERENCE = Path(__file__).parent / "reference" / "mice2l"
DATA = ("clustered", "small_clusters")
M = 200  # cpeval's imputations per comparison with 2l.pan (R used 500)
M_OTHERS = 100  # with the other R methods (fixed team effects, single level)
TOLERANCE = 4.0  # |cpeval - R| < 4 combined Monte Carlo standard errors
STATISTICS = ("mean_y", "var_y", "sigma_b2", "icc", "slope", "sd_icc", "sd_slope")


def _anova_icc(y: np.ndarray, teams: np.ndarray) -> tuple[float, float]:
    """One-way ANOVA between-team variance and ICC (as mice2l.R)."""
    codes = pd.factorize(teams)[0]
    n = np.bincount(codes).astype(float)
    total, groups = len(y), len(n)
    means = np.bincount(codes, weights=y) / n
    between = (n * (means - y.mean()) ** 2).sum() / (groups - 1)
    within = ((y - means[codes]) ** 2).sum() / (total - groups)
    n0 = (total - (n**2).sum() / total) / (groups - 1)
    sigma_b2 = (between - within) / n0
    return sigma_b2, sigma_b2 / (sigma_b2 + within)


def _statistics(completed: pd.DataFrame) -> dict:
    y, x = completed["y"].to_numpy(float), completed["x"].to_numpy(float)
    sigma_b2, icc = _anova_icc(y, completed["team"].to_numpy())
    design = np.column_stack([np.ones_like(x), x])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    s2 = ((y - design @ beta) ** 2).sum() / (len(y) - 2)
    slope_var = s2 * np.linalg.inv(design.T @ design)[1, 1]
    return {
        "mean_y": y.mean(),
        "var_y": y.var(ddof=1),
        "sigma_b2": sigma_b2,
        "icc": icc,
        "slope": beta[1],
        "slope_var": slope_var,
    }


def _summary(imp) -> pd.DataFrame:
    """Statistic -> estimate and Monte Carlo SE, as mice2l.R summarises."""
    s = pd.DataFrame([_statistics(d) for d in imp.datasets])
    m = len(s)
    rows = {}
    for name in ("mean_y", "var_y", "sigma_b2", "icc", "slope"):
        sd = s[name].std()
        rows[name] = (s[name].mean(), sd / np.sqrt(m))
        rows[f"sd_{name}"] = (sd, sd / np.sqrt(2 * (m - 1)))

    def total(rows_: np.ndarray) -> float:
        return s["slope_var"].to_numpy()[rows_].mean() + (1 + 1 / m) * s[
            "slope"
        ].to_numpy()[rows_].var(ddof=1)

    rng = np.random.default_rng(1)
    boot = [total(rng.integers(0, m, m)) for _ in range(500)]
    rows["slope_T"] = (total(np.arange(m)), np.std(boot, ddof=1))
    return pd.DataFrame(rows, index=["estimate", "mc_se"]).T


def _load(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / f"{name}.csv")


def _z(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.Series:
    """(cpeval - R) in combined Monte Carlo standard errors."""
    theirs = theirs.loc[ours.index]
    spread = np.hypot(ours["mc_se"], theirs["mc_se"])
    return (ours["estimate"] - theirs["estimate"]) / spread


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    table = pd.read_csv(REFERENCE / "mice2l_results.csv")
    return table.set_index(["data", "method", "statistic"]).sort_index()


@pytest.fixture(scope="module")
def summaries() -> dict:
    """cpeval's summaries: (data, cluster_model) -> table; "none" = no cluster."""
    out = {}
    for name in DATA:
        data = _load(name)[["team", "x", "y"]]
        for model in ("random", "fixed", "none"):
            cluster = {} if model == "none" else {"cluster": "team"}
            model_kw = {} if model == "none" else {"cluster_model": model}
            imp = impute(
                data,
                ["y"],
                predictors=["x"],
                m=M if model == "random" else M_OTHERS,
                iterations=1,  # only y is missing: one cycle is a draw
                seed=20261209,
                **cluster,
                **model_kw,
            )
            out[name, model] = _summary(imp)
    return out


@pytest.mark.parametrize("name", DATA)
def test_random_agrees_with_mice_2l_pan(name, summaries, reference):
    """Mean, variance, between-team variance, ICC, slope, their spread over the
    imputations and the slope's Rubin total variance, within 4 MC SEs."""
    ours = summaries[name, "random"].loc[[*STATISTICS, "slope_T"]]
    z = _z(ours, reference.loc[(name, "2l.pan")])
    assert (z.abs() < TOLERANCE).all(), z.round(2).to_dict()


@pytest.mark.parametrize("name", DATA)
def test_fixed_default_agrees_with_mice_pmm_with_team_factor(
    name, summaries, reference
):
    ours = summaries[name, "fixed"].loc[[*STATISTICS, "slope_T"]]
    z = _z(ours, reference.loc[(name, "pmm.fixed")])
    assert (z.abs() < TOLERANCE).all(), z.round(2).to_dict()


def test_the_tolerance_tells_the_cluster_models_apart(summaries, reference):
    """The comparison can fail: single-level imputation (cpeval's and mice's)
    falls far outside it on the ICC in both data sets, and with teams of 2 to 6
    so do fixed team effects (cpeval's and mice's) and mice's 2l.lmer."""
    for name in DATA:
        pan = reference.loc[(name, "2l.pan")]
        single = summaries[name, "none"]
        assert abs(_z(single, pan)["icc"]) > 3 * TOLERANCE
        theirs = reference.loc[(name, "pmm.none")].loc[["icc"]]
        assert abs(_z(theirs, pan)["icc"]) > 3 * TOLERANCE
    pan = reference.loc[("small_clusters", "2l.pan")]
    assert _z(summaries["small_clusters", "fixed"], pan)["icc"] > 3 * TOLERANCE
    for method in ("pmm.fixed", "2l.lmer"):
        theirs = reference.loc[("small_clusters", method)].loc[["icc"]]
        assert abs(_z(theirs, pan)["icc"]) > 3 * TOLERANCE


def _simulated(rng, teams: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    """Teams of 2 to 6, ICC 0.2 (team variance 0.25, residual 1), y missing at
    random given x (about 40%); returns the data and the complete y."""
    team = np.repeat(np.arange(teams), rng.integers(2, 7, teams))
    x = rng.normal(size=len(team))
    y = 0.5 * x + rng.normal(0, 0.5, teams)[team] + rng.normal(size=len(team))
    missing = rng.random(len(team)) < 1 / (1 + np.exp(0.5 - 0.5 * x))
    return pd.DataFrame({"team": team, "x": x, "y": np.where(missing, np.nan, y)}), y


@pytest.fixture(scope="module")
def simulation() -> dict:
    """Over 8 simulated data sets (m = 10 each): the completed data's ICC minus
    the complete data's (the truth for that data set) by cluster model, and the
    slope of y on x after "random-pmm" minus the complete data's."""
    rng = np.random.default_rng(20261210)
    gaps: dict = {"fixed": [], "random": [], "random-pmm": [], "slope": []}
    for replicate in range(8):
        data, y = _simulated(rng)
        truth = _anova_icc(y, data["team"].to_numpy())[1]
        for model in ("fixed", "random", "random-pmm"):
            imp = impute(
                data,
                ["y"],
                predictors=["x"],
                cluster="team",
                cluster_model=model,
                m=10,
                iterations=1,
                seed=replicate,
            )
            stats = pd.DataFrame([_statistics(d) for d in imp.datasets])
            gaps[model].append(stats["icc"].mean() - truth)
        full_slope = np.polyfit(data["x"], y, 1)[0]  # stats: "random-pmm"'s
        gaps["slope"].append(stats["slope"].mean() - full_slope)
    return {k: np.array(v) for k, v in gaps.items()}


def _mean_and_se(values: np.ndarray) -> tuple[float, float]:
    return values.mean(), values.std(ddof=1) / np.sqrt(len(values))


def test_fixed_team_effects_overstate_the_icc_of_small_teams(simulation):
    """Teams of 2 to 6 (ICC 0.2): fixed team effects put the imputed values'
    team means far apart (ICC +0.16 here, +0.18 over 40 data sets); the random
    intercept much less (within 0.05 and 4 SEs of the truth, and 4 SEs below
    fixed effects; +0.035 over 40 data sets, from 2l.pan's prior on tau2)."""
    fixed, fixed_se = _mean_and_se(simulation["fixed"])
    random, random_se = _mean_and_se(simulation["random"])
    assert fixed > 0.1 and fixed > 4 * fixed_se
    assert abs(random) < 4 * random_se and abs(random) < 0.05
    gap, gap_se = _mean_and_se(simulation["fixed"] - simulation["random"])
    assert gap > 4 * gap_se


def test_random_pmm_against_the_truth(simulation):
    """No R reference (miceadds is not in Debian): "random-pmm" keeps the ICC
    within 4 SEs of the truth and under half of fixed effects' excess, and the
    slope of y on x within 4 SEs of the complete data's (predicted means with a
    donor's own value in its cluster effect gave +0.05, 5 SEs over 40 sets)."""
    pmm, pmm_se = _mean_and_se(simulation["random-pmm"])
    assert abs(pmm) < 4 * pmm_se
    assert pmm < simulation["fixed"].mean() / 2
    slope, slope_se = _mean_and_se(simulation["slope"])
    assert abs(slope) < 4 * slope_se


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    """Two arms of 6 teams, a numeric score and a 0/1 column, both incomplete."""
    rng = np.random.default_rng(5)
    team = np.repeat(np.arange(12), rng.integers(4, 12, 12))
    d = pd.DataFrame({"team": team, "arm": team % 2, "x": rng.normal(size=len(team))})
    d["score"] = np.round(10 + 2 * d["x"] + rng.normal(0, 1, 12)[team], 1)
    d["score"] += rng.normal(size=len(d)).round(1)
    d["employed"] = (rng.random(len(d)) < 1 / (1 + np.exp(-d["x"]))).astype(float)
    d.loc[rng.random(len(d)) < 0.25, "score"] = np.nan
    d.loc[rng.random(len(d)) < 0.2, "employed"] = np.nan
    return d


def _trial_imputation(data, model, columns=("score", "employed"), **options):
    options = {"m": 2, "iterations": 2, "seed": 11, **options}
    return impute(
        data,
        list(columns),
        predictors=["x"],
        by="arm",
        cluster="team",
        cluster_model=model,
        **options,
    )


def test_methods_and_imputed_values_by_arm(trial):
    observed = trial["score"].notna()
    for model, method in (("random", "2l.pan"), ("random-pmm", "2l.pmm")):
        imp = _trial_imputation(trial, model)
        assert imp.methods == {"score": method, "employed": "logreg"}
        assert imp.cluster_model == model
        for completed in imp.datasets:
            assert completed[["score", "employed"]].notna().all().all()
            assert set(completed["employed"]) <= {0.0, 1.0}
            pd.testing.assert_series_equal(
                completed.loc[observed, "score"], trial.loc[observed, "score"]
            )
            if model == "random-pmm":
                assert set(completed["score"]) <= set(trial["score"].dropna())


def test_same_seed_same_data_for_any_n_jobs(trial):
    one = _trial_imputation(trial, "random", ["score"])
    again = _trial_imputation(trial, "random", ["score"])
    two = _trial_imputation(trial, "random", ["score"], n_jobs=2)
    for a, b, c in zip(one.datasets, again.datasets, two.datasets, strict=True):
        pd.testing.assert_frame_equal(a, b)
        pd.testing.assert_frame_equal(a, c)
    other = _trial_imputation(trial, "random", ["score"], seed=12)
    assert not other.datasets[0].equals(one.datasets[0])


def test_refusals(trial):
    def run(data=trial, **options):
        options = {"cluster": "team", "cluster_model": "random", **options}
        return impute(data, ["score"], predictors=["x"], m=1, seed=1, **options)

    with pytest.raises(
        cpeval.DataError, match=r"cluster_model must be one of.*'mixed'"
    ):
        run(cluster_model="mixed")
    with pytest.raises(cpeval.DataError, match=r"'random' needs the cluster column"):
        run(cluster=None)
    unlabelled = trial.assign(team=trial["team"].astype(float))
    unlabelled.loc[7, "team"] = np.nan
    with pytest.raises(
        cpeval.DataError, match=r"'team' is missing in 1 row\(s\) \(first: 7\)"
    ):
        run(unlabelled)
    one_team = trial.assign(team=np.where(trial["arm"] == 1, 99, trial["team"]))
    with pytest.raises(
        cpeval.DataError, match=r"'team' holds 1 cluster in stratum arm=1"
    ):
        run(one_team, by="arm")
    with pytest.raises(cpeval.DataError, match=r"'team' holds 1 cluster: random"):
        run(trial.assign(team=0))
    seen_once = trial.assign(score=trial["score"].where(trial["team"] == 0))
    with pytest.raises(cpeval.DataError, match=r"'score' is observed in 1 cluster"):
        run(seen_once)
    # the default is unchanged: fixed effects need no second cluster
    assert impute(trial.assign(team=0), ["score"], cluster="team", m=1, seed=1).m == 1
