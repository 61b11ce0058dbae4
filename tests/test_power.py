"""Power by simulation: closed form against R, simulation against closed form,
type I error, and identical results for any number of workers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.power import (
    TrialDesign,
    closed_form_power,
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
