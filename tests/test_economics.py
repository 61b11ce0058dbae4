"""Economic evaluation: costs, QALYs and incremental analysis by hand; the
bootstrap, CEAC and EVPI against R boot (tests/reference/cea)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

import cpeval
from cpeval.economics import (
    BootstrapCEA,
    bootstrap_cea,
    cost_service_use,
    cost_totals,
    incremental,
    load_price_index,
    load_unit_costs,
    qalys,
    quadrant,
)

REF = Path(__file__).parent / "reference" / "cea"
WTP = [0, 5000, 10000, 15000, 20000, 30000, 50000]


def test_unit_costs_and_index_are_the_published_values():
    table = load_unit_costs()
    assert table.loc["social_worker_hour", "unit_cost"] == 53
    assert (table["price_year"] == "2022/23").all() and table["source"].str.len().gt(
        0
    ).all()
    index = load_price_index()
    assert index["2014/15"] == 100
    assert index["2022/23"] == pytest.approx(
        100 * np.prod([1.004, 1.0209, 1.0124, 1.016, 1.0214, 1.0249, 1.0257, 1.0703])
    )


def test_costs_by_hand_with_inflation_and_perspective():
    use = pd.DataFrame(
        {
            "id": [1, 1, 2, 2],
            "period": ["0-9m"] * 4,
            "item": [
                "gp_surgery_visit",
                "mental_health_bed_day",
                "social_worker_hour",
                "gp_surgery_visit",
            ],
            "quantity": [3, 2, 1.5, 0],
        }
    )
    costed = cost_service_use(use, period="period")
    assert costed["cost"].tolist() == [147.0, 554.0, 79.5, 0.0]
    index = load_price_index()
    deflated = cost_service_use(use, price_year="2019/20")
    factor = index["2019/20"] / index["2022/23"]
    np.testing.assert_allclose(deflated["cost"], costed["cost"] * factor)
    totals = cost_totals(costed, period="period").set_index("id")
    assert totals.loc[1, "total"] == 701.0 and totals.loc[1, "hospital"] == 554.0
    assert totals.loc[2, "total"] == 79.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"item": "helicopter"}, r"items without a unit cost: \['helicopter'\]"),
        ({"quantity": -1}, "quantity '-1' must be a number of 0 or more"),
        ({"quantity": "lots"}, "quantity 'lots' must be"),
    ],
)
def test_bad_service_use(change, message):
    use = pd.DataFrame(
        {"id": [7], "item": ["gp_surgery_visit"], "quantity": [1]}, dtype=object
    )
    for column, value in change.items():
        use[column] = [value]
    with pytest.raises(cpeval.DataError, match=message):
        cost_service_use(use)


def test_missing_unit_cost_and_price_year_out_of_range(tmp_path):
    table = load_unit_costs().reset_index()
    table.loc[0, "unit_cost"] = np.nan
    path = tmp_path / "costs.csv"
    table.to_csv(path, index=False)
    with pytest.raises(
        cpeval.DataError, match="'gp_surgery_visit' has no valid unit cost"
    ):
        load_unit_costs(path)
    use = pd.DataFrame({"id": [1], "item": ["gp_hour"], "quantity": [1]})
    with pytest.raises(
        cpeval.DataError, match=r"price years \['2030/31'\] are outside"
    ):
        cost_service_use(use, price_year="2030/31")


def test_missing_quantity_gives_missing_total_not_zero():
    use = pd.DataFrame(
        {"id": [1, 1], "item": ["gp_hour", "gp_hour"], "quantity": [1, None]}
    )
    assert np.isnan(cost_totals(cost_service_use(use))["total"].iloc[0])


def test_qalys_trapezoid_death_and_discounting():
    d = pd.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 3, 3],
            "time": [0, 0.5, 0.75, 0, 0.75, 0, 2.0],
            "utility": [0.5, 0.7, 0.9, 0.8, np.nan, 0.6, 0.8],
            "death": [np.nan] * 5 + [1.0, 1.0],
        }
    )
    out = qalys(d, death="death", discount=0).set_index("id")
    assert out.loc[1, "qalys"] == pytest.approx(0.5 * 0.6 + 0.25 * 0.8)
    assert np.isnan(out.loc[2, "qalys"]) and not out.loc[2, "complete"]
    assert out.loc[3, "qalys"] == pytest.approx(0.5 * 0.6)  # 0.6 falling to 0 at death
    discounted = qalys(d[d["id"] == 1], discount=0.035)["qalys"].iloc[0]

    def utility(t):
        return np.interp(t, [0, 0.5, 0.75], [0.5, 0.7, 0.9]) * 1.035**-t

    assert discounted == pytest.approx(
        integrate.quad(utility, 0, 0.75, points=[0.5])[0], rel=1e-10
    )
    long = pd.DataFrame(
        {"id": [1, 1, 1], "time": [0, 1.5, 3.0], "utility": [0.7, 0.7, 0.7]}
    )
    assert qalys(long)["qalys"].iloc[0] == pytest.approx(
        integrate.quad(lambda t: 0.7 * 1.035**-t, 0, 3)[0], rel=1e-10
    )


def test_incremental_by_hand_and_labels():
    data = pd.read_csv(REF / "trial.csv")
    res = incremental(data, cost="cost_shifted", effect="qaly", group="arm")
    by_arm = data.groupby("arm")[["cost_shifted", "qaly"]].mean()
    assert res.delta_cost == pytest.approx(
        by_arm.loc[1, "cost_shifted"] - by_arm.loc[0, "cost_shifted"]
    )
    assert res.icer == pytest.approx(res.delta_cost / res.delta_effect)
    assert res.quadrant == "NE" and res.label == "ICER"
    assert res.inmb(20000) == pytest.approx(20000 * res.delta_effect - res.delta_cost)
    assert (
        incremental(data, cost="cost", effect="qaly", group="arm").label == "dominant"
    )
    assert [quadrant(1, 1), quadrant(-1, 1), quadrant(1, -1), quadrant(-1, -1)] == [
        "NE",
        "SE",
        "NW",
        "SW",
    ]


@pytest.fixture(scope="module")
def r_boot():
    frame = pd.read_csv(REF / "boot_summary.csv")
    return frame


def test_bootstrap_agrees_with_r_boot_within_monte_carlo_error(r_boot):
    data = pd.read_csv(REF / "trial.csv")
    res = bootstrap_cea(
        data, cost="cost_shifted", effect="qaly", group="arm", n_boot=5000, seed=1
    )
    scalar = r_boot.set_index("quantity")["value"]
    assert res.delta_cost == pytest.approx(scalar["delta_cost"], abs=1e-9)
    assert res.se["delta_cost"] == pytest.approx(scalar["se_cost"], rel=0.06)
    assert res.se["delta_effect"] == pytest.approx(scalar["se_effect"], rel=0.06)
    ceac = r_boot[r_boot["quantity"] == "ceac"]
    np.testing.assert_allclose(
        res.ceac(ceac["wtp"])["p_cost_effective"], ceac["value"], atol=0.04
    )


def test_ceac_and_evpi_from_r_draws_equal_r(r_boot):
    draws = pd.read_csv(REF / "boot_draws.csv")
    scalar = r_boot.set_index("quantity")["value"]
    res = BootstrapCEA.from_replicates(
        scalar["delta_cost"], scalar["delta_effect"], draws
    )
    for quantity, column in [("ceac", "p_cost_effective"), ("evpi", "evpi")]:
        ref = r_boot[r_boot["quantity"] == quantity]
        ours = getattr(res, quantity)(ref["wtp"])[column]
        np.testing.assert_allclose(ours, ref["value"], rtol=1e-9, atol=1e-9)


def test_bootstrap_results_and_reproducibility():
    data = pd.read_csv(REF / "trial.csv")
    args = {"cost": "cost_shifted", "effect": "qaly", "group": "arm", "n_boot": 500}
    a, b = bootstrap_cea(data, seed=3, **args), bootstrap_cea(data, seed=3, **args)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    drawn = bootstrap_cea(data, **args)
    assert isinstance(drawn.seed, int)
    pd.testing.assert_frame_equal(
        bootstrap_cea(data, seed=drawn.seed, **args).replicates, drawn.replicates
    )
    shares = a.quadrants()
    assert shares["share"].sum() == pytest.approx(1.0)
    inmb = a.inmb([20000])
    assert inmb["ci_low"].iloc[0] < inmb["inmb"].iloc[0] < inmb["ci_high"].iloc[0]
    frontier = a.ceaf(WTP)
    assert (frontier["p_optimal"] >= 0.5 - 0.05).all()
    low, high = a.interval("delta_cost")
    assert low < a.delta_cost < high


def test_bootstrap_needs_two_arms_and_complete_data():
    data = pd.read_csv(REF / "trial.csv")
    three = data.assign(arm=np.arange(len(data)) % 3)
    with pytest.raises(cpeval.DataError, match="3 arms found"):
        bootstrap_cea(three, cost="cost", effect="qaly", group="arm", seed=1)
    assert (
        len(
            bootstrap_cea(
                three,
                cost="cost",
                effect="qaly",
                group="arm",
                reference=0,
                n_boot=10,
                seed=1,
            ).replicates
        )
        == 10
    )
    holes = data.assign(qaly=np.where(data.index == 4, np.nan, data["qaly"]))
    with pytest.raises(cpeval.DataError, match="missing for some participants"):
        bootstrap_cea(holes, cost="cost", effect="qaly", group="arm", seed=1)


def test_cluster_bootstrap_matches_analytic_cluster_se():
    """10 teams of 200 per arm with between-team variance: the two-stage bootstrap SE
    is within 15% of the analytic SE of a difference of cluster means (J = 10, so the
    bootstrap's (J - 1)/J shrinkage alone is 5%), and far above the naive one's."""
    rng = np.random.default_rng(5)
    frames = []
    for arm in (0, 1):
        for team in range(10):
            cost = 3000 + rng.normal(0, 300) + rng.normal(0, 900, 200)
            qaly = 0.6 + rng.normal(0, 0.03) + rng.normal(0, 0.1, 200)
            frames.append(
                pd.DataFrame(
                    {"arm": arm, "team": f"{arm}-{team}", "cost": cost, "qaly": qaly}
                )
            )
    data = pd.concat(frames, ignore_index=True)
    args = {"cost": "cost", "effect": "qaly", "group": "arm", "n_boot": 4000, "seed": 1}
    clustered = bootstrap_cea(data, cluster="team", **args)
    naive = bootstrap_cea(data, **args)
    for column, se_key in [("cost", "delta_cost"), ("qaly", "delta_effect")]:
        means = data.groupby(["arm", "team"])[column].mean()
        analytic = np.sqrt(sum(means.loc[a].var(ddof=1) / 10 for a in (0, 1)))
        assert clustered.se[se_key] == pytest.approx(analytic, rel=0.15)
        assert clustered.se[se_key] > 3 * naive.se[se_key]
    with pytest.raises(cpeval.DataError, match="two or more clusters"):
        bootstrap_cea(data.assign(team="one"), cluster="team", **args)


@pytest.mark.parametrize(
    ("spec", "cost_covs", "effect_covs", "method"),
    [
        ("different", ["age"], ["u0"], "SUR"),
        ("same", ["age", "u0"], ["age", "u0"], "OLS"),
    ],
)
def test_adjusted_incremental_equals_systemfit(spec, cost_covs, effect_covs, method):
    from cpeval.economics import adjusted_incremental

    data = pd.read_csv(REF / "trial.csv")
    ref = pd.read_csv(REF / "systemfit_results.csv")
    ref = ref[ref["spec"] == spec].set_index("term")
    res = adjusted_incremental(
        data,
        cost="cost_shifted",
        effect="qaly",
        group="arm",
        cost_covariates=cost_covs,
        effect_covariates=effect_covs,
    )
    assert res.method == method
    assert res.delta_cost == pytest.approx(ref.loc["cost_arm", "estimate"], rel=1e-8)
    assert res.delta_effect == pytest.approx(ref.loc["qaly_arm", "estimate"], rel=1e-8)
    assert res.se["delta_cost"] == pytest.approx(ref.loc["cost_arm", "se"], rel=1e-8)
    assert res.se["delta_effect"] == pytest.approx(ref.loc["qaly_arm", "se"], rel=1e-8)
    assert res.cov.loc["delta_cost", "delta_effect"] == pytest.approx(
        ref.loc["qaly_arm", "cov_arm"], rel=1e-8
    )
    value, se = res.inmb(20000)
    assert value == pytest.approx(20000 * res.delta_effect - res.delta_cost)
    cov = res.cov.to_numpy()
    assert se == pytest.approx(
        np.sqrt(cov[0, 0] + 20000**2 * cov[1, 1] - 2 * 20000 * cov[0, 1])
    )
    if method == "OLS":  # SUR with the same regressors is OLS
        import statsmodels.formula.api as smf

        ols = smf.ols("cost_shifted ~ arm + age + u0", data).fit()
        assert res.delta_cost == pytest.approx(ols.params["arm"], rel=1e-10)


def test_impute_then_bootstrap_pools_by_rubins_rules():
    from cpeval.economics import impute_then_bootstrap
    from cpeval.missing import impute

    data = pd.read_csv(REF / "trial.csv")
    data.loc[::6, "qaly"] = np.nan
    imp = impute(data, ["qaly"], predictors=["u0"], by="arm", m=4, iterations=3, seed=1)
    res = impute_then_bootstrap(
        imp, cost="cost", effect="qaly", group="arm", n_boot=300, seed=2
    )
    points = np.array(
        [
            [
                incremental(d, cost="cost", effect="qaly", group="arm").delta_cost,
                incremental(d, cost="cost", effect="qaly", group="arm").delta_effect,
            ]
            for d in imp.datasets
        ]
    )
    np.testing.assert_allclose(res.pooled["estimate"], points.mean(axis=0))
    np.testing.assert_allclose(res.pooled["between"], points.var(axis=0, ddof=1))
    np.testing.assert_allclose(
        res.pooled["total"], res.pooled["within"] + (1 + 1 / 4) * res.pooled["between"]
    )
    assert len(res.bootstrap.replicates) == 4 * 300 and res.m == 4
    # costs were complete: imputation adds no between-imputation variance to them
    assert res.pooled.loc["delta_cost", "between"] == pytest.approx(0.0, abs=1e-9)


def test_bootstrap_then_impute_is_reproducible():
    from cpeval.economics import bootstrap_then_impute

    data = pd.read_csv(REF / "trial.csv")
    data.loc[::6, "qaly"] = np.nan
    args = {
        "cost": "cost",
        "effect": "qaly",
        "group": "arm",
        "impute_columns": ["qaly"],
        "impute_options": {"predictors": ["u0"], "iterations": 2},
        "n_boot": 6,
        "m": 2,
    }
    a = bootstrap_then_impute(data, seed=4, **args)
    b = bootstrap_then_impute(data, seed=4, **args)
    pd.testing.assert_frame_equal(a.bootstrap.replicates, b.bootstrap.replicates)
    assert a.order == "bootstrap then impute" and len(a.bootstrap.replicates) == 6
    means = data.groupby("arm")["cost"].mean()  # costs are complete
    assert a.pooled.loc["delta_cost", "estimate"] == pytest.approx(means[1] - means[0])


def test_percentile_and_bca_intervals_agree_with_boot_ci(r_boot):
    """Limits within 0.2 bootstrap SEs of R boot.ci (B = 5000 there, 20,000 here):
    the Monte Carlo SD of a 2.5% quantile at B = 5000 is about 0.04 SE."""
    data = pd.read_csv(REF / "trial.csv")
    res = bootstrap_cea(
        data, cost="cost_shifted", effect="qaly", group="arm", n_boot=20000, seed=1
    )
    ref = r_boot.set_index("quantity")["value"]
    for quantity in ("delta_cost", "delta_effect"):
        tol = 0.2 * res.se[quantity]
        for method, key in [("percentile", "perc"), ("bca", "bca")]:
            low, high = res.interval(quantity, method=method)
            assert low == pytest.approx(ref[f"{key}_low_{quantity}"], abs=tol)
            assert high == pytest.approx(ref[f"{key}_high_{quantity}"], abs=tol)
    low, high = res.interval("inmb", method="bca", wtp=20000)
    assert low < 20000 * res.delta_effect - res.delta_cost < high


def _on_r_draws(data, draws_file):
    """cpeval's result on ``data`` with R's own replicates in place of its own."""
    import dataclasses

    res = bootstrap_cea(
        data, cost="cost_shifted", effect="qaly", group="arm", n_boot=10, seed=1
    )
    draws = pd.read_csv(REF / draws_file)
    return dataclasses.replace(res, replicates=draws)


@pytest.mark.parametrize("unequal", [False, True])
def test_bca_as_boot_ci_equals_r_on_its_own_draws(unequal, r_boot):
    """On R's replicates, acceleration='boot.ci' gives boot.ci's BCa limits to
    1e-9 (relative): the same acceleration from the same influence values and
    the same interpolation. Arms of 140 and 160 (cea.R) and of 140 and 60
    (bca.R)."""
    from cpeval.economics._cea import bca_acceleration

    data = pd.read_csv(REF / "trial.csv")
    if unequal:
        data = pd.concat([data[data["arm"] == 1], data[data["arm"] == 0].head(60)])
        res = _on_r_draws(data, "bca_unequal_draws.csv")
        ref = pd.read_csv(REF / "bca_unequal.csv").set_index("quantity")["value"]
    else:
        res = _on_r_draws(data, "boot_draws.csv")
        ref = r_boot.set_index("quantity")["value"]
    for quantity in ("delta_cost", "delta_effect"):
        low, high = res.interval(quantity, "bca", acceleration="boot.ci")
        assert low == pytest.approx(ref[f"bca_low_{quantity}"], rel=1e-9)
        assert high == pytest.approx(ref[f"bca_high_{quantity}"], rel=1e-9)
        if unequal:
            assert getattr(res, quantity) == pytest.approx(
                ref[f"estimate_{quantity}"], rel=1e-12
            )
            accel = bca_acceleration(res.influence[quantity])
            assert accel == pytest.approx(ref[f"acceleration_{quantity}"], rel=1e-9)


def test_stratified_acceleration_differs_from_boot_cis_with_unequal_arms():
    """The default scales each arm's jackknife deviations by its size (1 / (n_k -
    1)): with equal arms the two accelerations agree, with arms of 140 and 60
    they do not, and the limits differ."""
    from cpeval.economics._cea import bca_acceleration

    data = pd.read_csv(REF / "trial.csv")
    arms = [data[data["arm"] == 1], data[data["arm"] == 0]]
    for size, same in ((140, True), (60, False)):
        res = bootstrap_cea(
            pd.concat([arms[0], arms[1].head(size)]),
            cost="cost_shifted",
            effect="qaly",
            group="arm",
            n_boot=2000,
            seed=1,
        )
        for quantity in ("delta_cost", "delta_effect"):
            jack = res.jackknife[quantity].to_numpy()
            stratified = bca_acceleration(jack.mean() - jack)
            boot = bca_acceleration(res.influence[quantity])
            assert (stratified == pytest.approx(boot, rel=1e-9)) is same
        ours = res.interval("delta_cost", "bca")
        boot_ci = res.interval("delta_cost", "bca", acceleration="boot.ci")
        if not same:
            assert ours != pytest.approx(boot_ci, rel=1e-3)


def test_boot_ci_acceleration_needs_a_participant_bootstrap():
    data = pd.read_csv(REF / "trial.csv").assign(team=lambda d: d.index % 10)
    res = bootstrap_cea(
        data, cost="cost", effect="qaly", group="arm", n_boot=50, seed=1, cluster="team"
    )
    assert res.influence is None
    res.interval("delta_cost", "bca")  # the stratified jackknife of clusters
    with pytest.raises(cpeval.DataError, match="stratified participant bootstrap"):
        res.interval("delta_cost", "bca", acceleration="boot.ci")
    with pytest.raises(cpeval.DataError, match="acceleration must be"):
        res.interval("delta_cost", "bca", acceleration="jackknife")


def test_jackknife_by_hand():
    full = pd.read_csv(REF / "trial.csv")
    data = full.iloc[list(range(20)) + list(range(140, 160))]
    res = bootstrap_cea(
        data, cost="cost", effect="qaly", group="arm", n_boot=10, seed=1
    )
    first = data.drop(index=data.index[0])
    expected = incremental(first, cost="cost", effect="qaly", group="arm")
    assert res.jackknife.iloc[0]["delta_cost"] == pytest.approx(expected.delta_cost)
    assert res.jackknife.iloc[0]["delta_effect"] == pytest.approx(expected.delta_effect)
    assert len(res.jackknife) == len(data)


def test_covariate_adjusted_bootstrap():
    """Point estimates are the OLS arm coefficients; bootstrap SEs are within 8% of the
    heteroscedasticity-robust (HC1) SEs they estimate (B = 4000: MC SD about 1.1%)."""
    import statsmodels.formula.api as smf

    data = pd.read_csv(REF / "trial.csv")
    res = bootstrap_cea(
        data,
        cost="cost_shifted",
        effect="qaly",
        group="arm",
        n_boot=4000,
        seed=1,
        covariates=["age", "u0"],
    )
    for column, key in [("cost_shifted", "delta_cost"), ("qaly", "delta_effect")]:
        ols = smf.ols(f"{column} ~ arm + age + u0", data).fit(cov_type="HC1")
        assert getattr(res, key) == pytest.approx(ols.params["arm"], rel=1e-10)
        assert res.se[key] == pytest.approx(ols.bse["arm"], rel=0.08)
    with pytest.raises(cpeval.DataError, match="BCa needs the jackknife"):
        res.interval("delta_cost", method="bca")


def test_gamma_cost_model_equals_r_glm():
    from cpeval.economics import adjusted_incremental

    data = pd.read_csv(REF / "trial.csv")
    ref = pd.read_csv(REF / "gamma_results.csv").iloc[0]
    res = adjusted_incremental(
        data,
        cost="cost_shifted",
        effect="qaly",
        group="arm",
        cost_covariates=["age"],
        cost_model="gamma",
    )
    assert res.delta_cost == pytest.approx(ref["delta_cost"], rel=1e-5)
    assert res.se["delta_cost"] == pytest.approx(ref["se"], rel=1e-5)
    with pytest.raises(cpeval.DataError, match="joint covariance was not estimated"):
        res.inmb(20000)
    with pytest.raises(cpeval.DataError, match="every cost above 0"):
        adjusted_incremental(
            data.assign(cost_shifted=0.0),
            cost="cost_shifted",
            effect="qaly",
            group="arm",
            cost_model="gamma",
        )


def test_ceaf_and_quadrants_by_hand():
    draws = pd.DataFrame(
        {
            "delta_cost": [100.0, -50.0, 200.0, -10.0],
            "delta_effect": [0.01, 0.02, -0.01, -0.005],
        }
    )
    res = BootstrapCEA.from_replicates(60.0, 0.004, draws)
    shares = res.quadrants().set_index("quadrant")["share"]
    assert shares.to_dict() == {"NE": 0.25, "SE": 0.25, "NW": 0.25, "SW": 0.25}
    # at wtp 20,000: INMB draws 100, 450, -400, -90 -> mean 15 > 0, P(INMB > 0) = 0.5
    front = res.ceaf([0, 20000]).set_index("wtp")
    assert front.loc[20000, "optimal"] == "intervention"
    assert front.loc[20000, "p_optimal"] == 0.5
    # at wtp 0: INMB = -cost: -100, 50, -200, 10 -> mean -60 < 0, comparator optimal
    assert front.loc[0, "optimal"] == "comparator" and front.loc[0, "p_optimal"] == 0.5
    inmb = res.inmb([20000]).iloc[0]
    assert inmb["inmb"] == pytest.approx(20000 * 0.004 - 60.0)


@pytest.mark.parametrize(
    ("cost", "effect", "where", "icer"),
    [
        (500.0, 0.02, "NE", 25000.0),
        (-500.0, 0.02, "SE", None),
        (500.0, -0.02, "NW", None),
        (-500.0, -0.02, "SW", 25000.0),
    ],
)
def test_icer_only_where_it_means_something(cost, effect, where, icer):
    """By hand: the ICER is cost / effect in the NE and SW quadrants; where one
    arm dominates there is none, and the findings name the dominance."""
    from cpeval.economics import BootstrapCEA
    from cpeval.pipeline._findings import _icer_sentence

    cea = BootstrapCEA.from_replicates(
        cost, effect, {"delta_cost": [cost], "delta_effect": [effect]}
    )
    assert cea.quadrant == where
    assert cea.icer_if_meaningful == (None if icer is None else pytest.approx(icer))

    class Analysis:
        quadrant = where
        icer = cea.icer_if_meaningful
        cost_ci = (cost - 100, cost + 100)  # excludes 0
        qalys_ci = (effect - 0.03, effect + 0.03)  # includes 0

    sentence = _icer_sentence(Analysis, "CP")
    expected = {"NE": "£25,000 per QALY gained", "SE": "dominant", "NW": "dominated"}
    assert expected.get(where, "£25,000 saved per QALY lost") in sentence
    assert sentence.endswith(
        "but the 95% interval of the QALY difference includes zero, so this is "
        "uncertain."
    )


def test_bootstrap_means_do_not_depend_on_the_chunk(monkeypatch):
    """The participant bootstrap draws its indices in cache-sized chunks: one
    stream, and each resample summed over its own row, so any chunk gives the
    same replicates to the last bit (and the same as one resample at a time)."""
    from cpeval.economics import _cea

    values = np.random.default_rng(1).normal(size=(37, 2)) * [3000, 0.2]

    def means(cells):
        monkeypatch.setattr(_cea, "CACHE_CELLS", cells)
        rng = np.random.default_rng(9)
        return np.vstack([_cea._resampled_means(values, 101, rng) for _ in range(2)])

    reference = means(1)  # one resample per chunk
    for cells in (37 * 5, 37 * 64, 1 << 16, 1 << 23):
        assert means(cells).tobytes() == reference.tobytes()
    rng = np.random.default_rng(9)
    packed = values[:, 0] + 1j * values[:, 1]
    rows = rng.integers(0, 37, size=(101, 37), dtype=np.int32)
    sums = np.take(packed, rows).sum(axis=1)
    assert np.array_equal(reference[:101, 0], sums.real / 37)
    assert np.array_equal(reference[:101, 1], sums.imag / 37)


@pytest.mark.parametrize(
    ("wtp", "message"),
    [
        (None, "needs the willingness to pay"),
        ([20000, 30000], "one number"),
        ("20000", "one number"),
        (float("nan"), "finite"),
    ],
)
def test_inmb_interval_never_assumes_a_wtp(wtp, message):
    data = pd.read_csv(REF / "trial.csv")
    res = bootstrap_cea(
        data, cost="cost", effect="qaly", group="arm", n_boot=50, seed=1
    )
    options = {} if wtp is None else {"wtp": wtp}
    with pytest.raises(cpeval.DataError, match=message):
        res.interval("inmb", **options)
    assert res.interval("delta_cost") == res.interval("delta_cost", wtp=None)
