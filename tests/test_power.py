"""Power by simulation: closed form against R, simulation against closed form,
type I error, and identical results for any number of workers."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.power import (
    TrialDesign,
    closed_form_power,
    proportion_icc,
    sample_size,
    simulate_power,
    simulate_trial,
)
from tests.conftest import ROOT

REFERENCE = ROOT / "tests" / "reference" / "power"


def test_closed_form_equals_r():
    """72 designs, R 4.2.2 base stats (closed_form.R); tolerance 1e-10."""
    table = pd.read_csv(REFERENCE / "closed_form.csv")
    for row in table.itertuples():
        ours = closed_form_power(
            effect=row.effect,
            clusters=int(row.clusters),
            cluster_size=row.cluster_size,
            icc=row.icc,
            cluster_size_cv=row.cluster_size_cv,
            alpha=row.alpha,
        )
        assert ours == pytest.approx(row.power, abs=1e-10), row


def test_closed_form_by_hand():
    # k = 5 per arm, m = 16, DE = 1 + 15 x 0.05 = 1.75, SE^2 = 2 x 1.75 / 80
    ncp = 0.5 / math.sqrt(2 * 1.75 / 80)
    from scipy import stats

    crit = stats.t.ppf(0.975, 8)
    expected = stats.nct.sf(crit, 8, ncp) + stats.nct.cdf(-crit, 8, ncp)
    assert closed_form_power(
        effect=0.5, clusters=10, cluster_size=16, icc=0.05
    ) == pytest.approx(expected, rel=1e-12)


def test_simulated_trial_follows_the_design():
    design = TrialDesign(
        clusters=400,
        cluster_size=50,
        icc=0.1,
        effect=0.4,
        baseline_correlation=0.6,
        attrition=0.2,
        cost_mean=3000,
        cost_cv=1.0,
        cost_difference=-500,
        qaly_mean=0.35,
        qaly_sd=0.1,
        qaly_difference=0.02,
    )
    trial = simulate_trial(design, seed=7)
    assert len(trial) == 20_000 and trial["treated"].mean() == 0.5
    assert trial["followup"].isna().mean() == pytest.approx(0.2, abs=0.01)
    assert trial[["followup", "cost", "qaly"]].isna().sum().nunique() == 1
    follow = trial.dropna()
    arms = follow.groupby("treated")
    assert arms["followup"].mean().diff().iloc[1] == pytest.approx(0.4, abs=0.08)
    assert arms["cost"].mean().diff().iloc[1] == pytest.approx(-500, abs=150)
    assert arms["qaly"].mean().diff().iloc[1] == pytest.approx(0.02, abs=0.005)
    assert follow[["baseline", "followup"]].corr().iloc[0, 1] == pytest.approx(
        0.6, abs=0.05
    )
    # ICC from the variance of cluster means (one-way ANOVA estimator)
    control = trial[trial["treated"] == 0]
    means = control.groupby("cluster")["baseline"].mean()
    within = control.groupby("cluster")["baseline"].var().mean()
    between = means.var() - within / 50
    assert between / (between + within) == pytest.approx(0.1, abs=0.03)


def test_unequal_cluster_sizes_have_the_cv_asked_for():
    trial = simulate_trial(
        TrialDesign(clusters=2000, cluster_size=30, cluster_size_cv=0.6), seed=2
    )
    sizes = trial.groupby("cluster").size()
    assert sizes.mean() == pytest.approx(30, rel=0.05)
    assert sizes.std() / sizes.mean() == pytest.approx(0.6, abs=0.05)


def test_simulation_agrees_with_the_closed_form():
    """No baseline, equal clusters: the mixed model's power is the design-effect
    power within 3 Monte Carlo SEs (400 replicates)."""
    design = TrialDesign(
        clusters=10, cluster_size=16, icc=0.05, effect=0.5, baseline_correlation=None
    )
    result = simulate_power(design, model="lmm", n_replicates=400, wtp=None, seed=11)
    expected = closed_form_power(effect=0.5, clusters=10, cluster_size=16, icc=0.05)
    mc_se = math.sqrt(expected * (1 - expected) / 400)
    assert result.n_failed == 0
    assert abs(result.power - expected) < 3 * mc_se, (result.power, expected)
    low, high = result.power_ci
    assert low < result.power < high


def test_type_one_error_is_nominal_with_cr2_ancova():
    design = TrialDesign(clusters=10, cluster_size=16, icc=0.05, effect=0.0)
    result = simulate_power(design, n_replicates=400, wtp=None, seed=5)
    assert abs(result.power - 0.05) < 3 * math.sqrt(0.05 * 0.95 / 400)


def test_results_do_not_depend_on_workers():
    design = TrialDesign(
        clusters=6, cluster_size=10, effect=0.4, cost_mean=2000, qaly_difference=0.02
    )
    serial = simulate_power(design, n_replicates=60, seed=3, n_jobs=1)
    parallel = simulate_power(design, n_replicates=60, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(serial.replicates, parallel.replicates)
    frame = serial.to_frame()
    assert {"power", "mean_p_cost_effective", "share_inmb_above_zero"} <= set(frame)
    assert 0 <= frame["mean_p_cost_effective"].iloc[0] <= 1


def test_sample_size_stops_at_the_first_value_reaching_the_target():
    design = TrialDesign(clusters=4, cluster_size=20, effect=0.8, icc=0.02)
    grid = sample_size(
        design,
        over="clusters",
        values=[4, 8, 12, 16],
        n_replicates=40,
        wtp=None,
        seed=9,
    )
    reached = grid["reached"].to_numpy()
    assert reached[-1] and not reached[:-1].any()
    assert grid.attrs["smallest"] == grid["clusters"].iloc[-1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"clusters": 3, "cluster_size": 10},
        {"clusters": 10, "cluster_size": 10, "icc": 1.2},
        {"clusters": 10, "cluster_size": 10, "attrition": 1.0},
    ],
)
def test_impossible_designs_are_data_errors(kwargs):
    with pytest.raises(cpeval.DataError, match="TrialDesign"):
        TrialDesign(**kwargs)


def test_ancova_needs_a_baseline():
    design = TrialDesign(clusters=6, cluster_size=10, baseline_correlation=None)
    with pytest.raises(cpeval.DataError, match="every replicate failed"):
        simulate_power(design, n_replicates=2, seed=1)
    assert np.isfinite(
        simulate_power(design, model="lmm", n_replicates=2, seed=1).power
    )


# ------------------------------------------------------------------ binary


def _expected_binary(design):
    """Risks, the ICC of follow-up 0/1 values and the baseline-follow-up
    correlation of 0/1 values under TrialDesign's logistic model, by Gauss-Hermite
    quadrature independent of the simulation (cluster effects u0, u1 correlated
    r, participant effect v)."""
    from scipy import optimize, special

    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    r = design.baseline_correlation
    s2 = (math.pi**2 / 3) / (1 - r)
    su, sv = math.sqrt(design.icc / (1 - design.icc) * s2), math.sqrt(r * s2)
    p0 = design.control_risk
    odds1 = design.odds_ratio * p0 / (1 - p0)
    p1 = odds1 / (1 + odds1)
    pb = design.baseline_risk

    def intercept(p):
        sd = math.hypot(su, sv)
        return optimize.brentq(lambda a: w @ special.expit(a + sd * x) - p, -30, 30)

    def icc(p):  # g(u) = E_v expit(a + u + v); rho = (E g^2 - p^2) / (p q)
        a = intercept(p)
        g = special.expit(a + su * x[:, None] + sv * x[None, :]) @ w
        return (w @ g**2 - p**2) / (p * (1 - p))

    a0, a1 = intercept(pb), intercept(p0)  # baseline, control follow-up
    u0 = su * x[:, None, None]
    u1 = su * (r * x[:, None, None] + math.sqrt(1 - r**2) * x[None, :, None])
    v = sv * x[None, None, :]
    both = np.einsum(
        "i,j,k,ijk->", w, w, w, special.expit(a0 + u0 + v) * special.expit(a1 + u1 + v)
    )
    phi = (both - pb * p0) / math.sqrt(pb * (1 - pb) * p0 * (1 - p0))
    return {"p1": p1, "icc0": icc(p0), "icc1": icc(p1), "phi": phi}


BINARY = TrialDesign(
    clusters=2000,
    cluster_size=20,
    outcome="binary",
    control_risk=0.3,
    odds_ratio=2.0,
    baseline_risk=0.2,
    icc=0.1,
    baseline_correlation=0.5,
)


def test_binary_trial_follows_the_design():
    """2,000 clusters of 20, latent ICC 0.1, latent correlation 0.5. Tolerances
    are 4 Monte Carlo SEs of the design-effect variance (binary ICC about 0.06,
    DE about 2.1, 1,000 clusters an arm): risks 0.02, log odds ratio 0.12, ICC of
    0/1 values 0.02, their baseline-follow-up correlation 0.03."""
    expected = _expected_binary(BINARY)
    trial = simulate_trial(BINARY, seed=4)
    assert len(trial) == 40_000 and set(trial["followup"]) == {0.0, 1.0}
    risks = trial.groupby("treated")["followup"].mean()
    assert risks[0] == pytest.approx(0.3, abs=0.02)
    assert risks[1] == pytest.approx(expected["p1"], abs=0.02)
    assert trial["baseline"].mean() == pytest.approx(0.2, abs=0.02)
    odds = risks / (1 - risks)
    assert math.log(odds[1] / odds[0]) == pytest.approx(math.log(2.0), abs=0.12)
    for arm in (0, 1):  # ANOVA estimator of the ICC of 0/1 values
        part = trial[trial["treated"] == arm].groupby("cluster")["followup"]
        within = part.var().mean()
        between = part.mean().var() - within / 20
        assert between / (between + within) == pytest.approx(
            expected[f"icc{arm}"], abs=0.02
        )
    control = trial[trial["treated"] == 0]
    phi = control[["baseline", "followup"]].corr().iloc[0, 1]
    assert phi == pytest.approx(expected["phi"], abs=0.03)
    # the latent ICC 0.1 is larger than the ICC of 0/1 values
    assert expected["icc0"] < 0.1


def test_proportion_icc_without_a_participant_effect():
    """proportion_icc is the quadrature of the no-baseline model (r = 0)."""
    design = replace(BINARY, baseline_correlation=0.0, icc=0.05)
    assert proportion_icc(0.05, 0.3) == pytest.approx(
        _expected_binary(design)["icc0"], rel=1e-8
    )
    assert proportion_icc(0.0, 0.3) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("icc", "risk"), [(0.05, 0.3), (0.2, 0.1)])
def test_proportion_icc_by_adaptive_quadrature(icc, risk):
    """An independent computation (scipy's adaptive quad and a root search, not
    the package's Gauss-Hermite): for logit p = a + u, u ~ N(0, s^2) with
    s^2 = icc (pi^2/3) / (1 - icc) and a such that E p = risk, the ICC of the
    0/1 values is (E p^2 - risk^2) / (risk (1 - risk)). Tolerance 1e-8."""
    from scipy import integrate, optimize, special, stats

    sd = np.sqrt(icc * np.pi**2 / 3 / (1 - icc))

    def moment(a, k):
        def integrand(u):
            return special.expit(a + u) ** k * stats.norm.pdf(u, scale=sd)

        return integrate.quad(integrand, -12 * sd, 12 * sd, epsabs=1e-13)[0]

    a = optimize.brentq(lambda v: moment(v, 1) - risk, -10, 10, xtol=1e-14)
    expected = (moment(a, 2) - risk**2) / (risk * (1 - risk))
    assert proportion_icc(icc, risk) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"control_risk": 0.3}, "control_risk"),
        ({"odds_ratio": 2.0}, "odds_ratio"),
        ({"baseline_risk": 0.2}, "baseline_risk"),
        ({"outcome": "binary", "odds_ratio": 2.0}, "control_risk"),
        ({"outcome": "binary", "control_risk": 0.3}, "odds_ratio"),
        (
            {"outcome": "binary", "control_risk": 0.3, "odds_ratio": 2, "effect": 0.3},
            "effect",
        ),
        ({"outcome": "binary", "control_risk": 1.0, "odds_ratio": 2}, "control_risk"),
        ({"outcome": "binary", "control_risk": 0.3, "odds_ratio": 0}, "odds_ratio"),
        (
            {
                "outcome": "binary",
                "control_risk": 0.3,
                "odds_ratio": 2,
                "baseline_risk": 0,
            },
            "baseline_risk",
        ),
        (
            {
                "outcome": "binary",
                "control_risk": 0.3,
                "odds_ratio": 2,
                "baseline_correlation": -0.2,
            },
            "baseline_correlation",
        ),
        (
            {
                "outcome": "binary",
                "control_risk": 0.3,
                "odds_ratio": 2,
                "baseline_correlation": None,
                "baseline_risk": 0.2,
            },
            "baseline_risk",
        ),
        ({"outcome": "count"}, "outcome"),
    ],
)
def test_binary_options_are_checked(kwargs, field):
    with pytest.raises(cpeval.DataError, match=f"TrialDesign: .*{field}"):
        TrialDesign(clusters=10, cluster_size=10, **kwargs)


def test_continuous_effect_keeps_its_default():
    assert TrialDesign(clusters=10, cluster_size=10).effect == 0.3
    design = TrialDesign(
        clusters=10, cluster_size=10, outcome="binary", control_risk=0.3, odds_ratio=1.5
    )
    assert design.effect is None
    assert replace(design, clusters=12).odds_ratio == 1.5


@pytest.mark.parametrize(
    ("design", "model", "allowed"),
    [
        (BINARY, "ancova", "['gee', 'glmm'] for a binary"),
        (BINARY, "lmm", "['gee', 'glmm'] for a binary"),
        (TrialDesign(clusters=10, cluster_size=10), "gee", "['ancova', 'lmm']"),
        (TrialDesign(clusters=10, cluster_size=10), "glmm", "['ancova', 'lmm']"),
    ],
)
def test_models_are_refused_before_simulating(design, model, allowed):
    # 2,000 clusters x 10^6 replicates would take hours: refused at once
    with pytest.raises(cpeval.DataError, match=re.escape(allowed)):
        simulate_power(design, model=model, n_replicates=10**6, seed=1)


def test_binary_closed_form_by_hand():
    # p0 = 0.3, OR 2: p1 = 0.857143 / 1.857143 = 0.461538; DE = 1 + 29 x 0.02
    # = 1.58; SE^2 = (0.21 + 0.461538 x 0.538462) x 1.58 / (10 x 30)
    #        = 0.458521 x 1.58 / 300 = 0.00241488; ncp = 0.161538 / 0.0491414
    #        = 3.28722; t on 18 df
    from scipy import stats

    ncp = (6 / 13 - 0.3) / math.sqrt((0.21 + (6 / 13) * (7 / 13)) * 1.58 / 300)
    assert ncp == pytest.approx(3.28722, abs=1e-5)
    crit = stats.t.ppf(0.975, 18)
    expected = stats.nct.sf(crit, 18, ncp) + stats.nct.cdf(-crit, 18, ncp)
    ours = closed_form_power(
        control_risk=0.3,
        odds_ratio=2,
        clusters=20,
        cluster_size=30,
        icc=0.02,
        icc_scale="proportion",
    )
    assert ours == pytest.approx(expected, rel=1e-12)
    assert ours == pytest.approx(0.8744, abs=1e-4)
    # latent scale: each arm's design effect at proportion_icc of its risk
    latent = closed_form_power(
        control_risk=0.3, odds_ratio=2, clusters=20, cluster_size=30, icc=0.05
    )
    de0 = 1 + 29 * proportion_icc(0.05, 0.3)
    de1 = 1 + 29 * proportion_icc(0.05, 6 / 13)
    ncp = (6 / 13 - 0.3) / math.sqrt((0.21 * de0 + (6 / 13) * (7 / 13) * de1) / 300)
    assert latent == pytest.approx(
        stats.nct.sf(crit, 18, ncp) + stats.nct.cdf(-crit, 18, ncp), rel=1e-12
    )
    with pytest.raises(cpeval.DataError, match="not both"):
        closed_form_power(
            effect=0.3,
            control_risk=0.3,
            odds_ratio=2,
            clusters=20,
            cluster_size=30,
            icc=0.02,
        )


def test_binary_gee_type_one_error():
    """10 clusters an arm of 20, latent ICC 0.05, baseline correlation 0.5, no
    effect; 400 replicates. Mancl-DeRouen errors with t on clusters minus
    parameters are conservative with few clusters (0.034 in 1,000 replicates,
    95% CI 0.024 to 0.047): the rate must not exceed 0.05 by more than 3 Monte
    Carlo SEs (0.083), nor fall below 0.01."""
    design = TrialDesign(
        clusters=20,
        cluster_size=20,
        outcome="binary",
        control_risk=0.3,
        odds_ratio=1.0,
        icc=0.05,
        baseline_correlation=0.5,
    )
    result = simulate_power(design, n_replicates=400, wtp=None, seed=5)
    assert result.model == "gee" and result.n_failed == 0
    assert 0.01 <= result.power <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)


def test_binary_simulation_agrees_with_the_closed_form():
    """30 clusters of 30, no baseline, latent ICC 0.05, control risk 0.3, OR 1.8:
    the GEE's power is the two-proportion design-effect power within 3 Monte
    Carlo SEs (300 replicates) plus 0.03, the measured shortfall of the
    Mancl-DeRouen t test against the known-variance formula (2,000 replicates:
    0.686 against 0.710 at 30 x 50, 0.58 against 0.61 at 40 x 40)."""
    design = TrialDesign(
        clusters=30,
        cluster_size=30,
        outcome="binary",
        control_risk=0.3,
        odds_ratio=1.8,
        icc=0.05,
        baseline_correlation=None,
    )
    result = simulate_power(design, n_replicates=300, wtp=None, seed=11)
    expected = closed_form_power(
        control_risk=0.3, odds_ratio=1.8, clusters=30, cluster_size=30, icc=0.05
    )
    mc_se = math.sqrt(expected * (1 - expected) / 300)
    assert result.n_failed == 0
    assert abs(result.power - expected) < 3 * mc_se + 0.03, (result.power, expected)
    # population-averaged log odds ratio, unadjusted: unbiased for log(1.8)
    assert result.to_frame()["mean_estimate"].iloc[0] == pytest.approx(
        math.log(1.8), abs=0.05
    )


@pytest.mark.parametrize("model", ["gee", "glmm"])
def test_binary_results_are_deterministic(model):
    design = TrialDesign(
        clusters=8,
        cluster_size=12,
        outcome="binary",
        control_risk=0.3,
        odds_ratio=2.5,
        icc=0.05,
        attrition=0.1,
    )
    serial = simulate_power(design, model=model, n_replicates=30, wtp=None, seed=3)
    again = simulate_power(design, model=model, n_replicates=30, wtp=None, seed=3)
    parallel = simulate_power(
        design, model=model, n_replicates=30, wtp=None, seed=3, n_jobs=2
    )
    pd.testing.assert_frame_equal(serial.replicates, again.replicates)
    pd.testing.assert_frame_equal(serial.replicates, parallel.replicates)
    assert serial.model == model and serial.n_failed < 30
    assert (serial.replicates["df"].dropna() == 8 - 3).all()


FAST_DESIGNS = {
    "equal teams": TrialDesign(clusters=10, cluster_size=16, icc=0.05, effect=0.5),
    "unequal teams, attrition": TrialDesign(
        clusters=8, cluster_size=6, cluster_size_cv=0.6, icc=0.1, attrition=0.3
    ),
    "no baseline": TrialDesign(
        clusters=10, cluster_size=12, baseline_correlation=None, attrition=0.1
    ),
    "economics": TrialDesign(
        clusters=10,
        cluster_size=10,
        attrition=0.1,
        cost_mean=1000,
        cost_difference=100,
        qaly_difference=0.01,
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # as the worker ignores
@pytest.mark.parametrize("model", ["ancova", "lmm"])
@pytest.mark.parametrize("name", list(FAST_DESIGNS))
def test_fast_path_is_the_public_estimator_to_the_last_bit(name, model):
    """The arrays-only analysis of a replicate (no patsy, no data frames) gives
    the very numbers of cpeval.models.effect_by_wave / ancova / fit_lmm on the
    simulated data frame."""
    from dataclasses import asdict

    from cpeval import _power_worker as worker

    design = FAST_DESIGNS[name]
    if model == "ancova" and design.baseline_correlation is None:
        pytest.skip("ANCOVA needs a baseline")
    fields = asdict(design)
    for seed in np.random.SeedSequence(8).spawn(3):
        fast = worker._fast_row(worker._Fields(fields), model, 20_000, seed)
        public = worker._public_row(fields, model, 20_000, seed)
        assert fast is not None
        assert fast.keys() == public.keys()
        for key, value in public.items():
            assert float(fast[key]) == float(value), key


def test_fast_path_declines_what_the_public_path_refuses():
    """A replicate whose arm has nobody at follow-up goes to the public
    estimator, whose error is recorded as before."""
    from dataclasses import asdict

    from cpeval import _power_worker as worker

    design = TrialDesign(clusters=4, cluster_size=2, icc=0.1, attrition=0.7)
    fields = asdict(design)
    declined = 0
    for seed in np.random.SeedSequence(5).spawn(15):
        for model in ("ancova", "lmm"):
            if worker._fast_row(worker._Fields(fields), model, None, seed) is None:
                declined += 1
    assert declined > 0
    result = simulate_power(design, model="lmm", n_replicates=15, seed=5, wtp=None)
    errors = result.replicates.loc[result.replicates["error"] != "", "error"]
    assert errors.str.contains("no participant in").any()


@pytest.mark.parametrize("model", ["ancova", "lmm"])
def test_continuous_results_do_not_depend_on_workers(model):
    design = TrialDesign(clusters=6, cluster_size=8, icc=0.05, attrition=0.1)
    serial = simulate_power(design, model=model, n_replicates=24, wtp=None, seed=4)
    parallel = simulate_power(
        design, model=model, n_replicates=24, wtp=None, seed=4, n_jobs=2
    )
    pd.testing.assert_frame_equal(serial.replicates, parallel.replicates)


def test_a_replicate_without_a_p_value_is_a_failure_not_a_non_rejection():
    """A degenerate mixed-model fit (Satterthwaite df of about 0 or below)
    has no p-value: it is counted among the failures, not as a replicate that
    did not reject (which would lower the power silently)."""
    design = TrialDesign(
        clusters=4, cluster_size=2, baseline_correlation=0.5, attrition=0.9
    )
    result = simulate_power(design, model="lmm", n_replicates=30, seed=2)
    reps = result.replicates
    assert reps.loc[reps["error"] == "", "p_val"].notna().all()
    degenerate = reps["error"].str.startswith("no p-value")
    assert degenerate.sum() == 3
