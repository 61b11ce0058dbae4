"""The economic evaluation of a config: utilities, QALYs, costed service use and a
(cluster) bootstrap of incremental cost and QALYs."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from ..economics import (
    bootstrap_cea,
    cost_service_use,
    cost_totals,
    impute_then_bootstrap,
    qalys,
)
from ..exceptions import DataError
from ..missing import impute
from ..scales import eq5d_index

__all__ = ["economic_evaluation"]

EQ5D = {
    "eq5d_mo": "MO",
    "eq5d_sc": "SC",
    "eq5d_ua": "UA",
    "eq5d_pd": "PD",
    "eq5d_ad": "AD",
}
DEFAULT_VALUE_SET = {"version": "5L", "type": "VT", "country": "England"}


def economic_evaluation(cfg, data: pd.DataFrame, book):
    """Return the cost table (by category and arm), the economics table (a column
    per analysis) and the bootstrap the figures draw (the imputed one when
    ``[imputation]`` is set)."""
    econ = cfg.economics
    people, categories = _people(cfg, data, book)
    complete = people.dropna(subset=["cost", "qaly"])
    n_boot = int(econ.get("n_boot", 2000))
    cea = bootstrap_cea(
        complete.reset_index(),
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=n_boot,
        seed=cfg.seed,
        cluster=econ.get("cluster"),
    )
    wtp = [float(w) for w in econ.get("wtp", [20000, 30000])]
    analyses = {"complete cases": _complete_case(cea, complete, len(people), wtp)}
    drawn = cea
    if cfg.imputation:
        label, values, drawn = _imputed(cfg, people, wtp)
        analyses[label] = values
    table = pd.DataFrame({"quantity": list(analyses["complete cases"])})
    for label, values in analyses.items():
        table[label] = pd.Series(list(values.values()), dtype=object)
    return _cost_table(complete, categories), table, drawn


def _complete_case(cea, complete: pd.DataFrame, n_people: int, wtp) -> dict:
    arm = complete.groupby("treated")
    values = {
        "participants analysed (intervention)": int(arm.size().get(1, 0)),
        "participants analysed (control)": int(arm.size().get(0, 0)),
        "excluded: cost or QALYs missing": int(n_people - len(complete)),
        "mean cost, intervention (£)": arm["cost"].mean().get(1),
        "mean cost, control (£)": arm["cost"].mean().get(0),
        "mean QALYs, intervention": arm["qaly"].mean().get(1),
        "mean QALYs, control": arm["qaly"].mean().get(0),
    }
    cost, qaly = cea.interval("delta_cost"), cea.interval("delta_effect")
    values.update(_incremental(cea.delta_cost, cost, cea.delta_effect, qaly))
    return _per_wtp(values, cea, wtp)


def _imputed(cfg, people: pd.DataFrame, wtp):
    """Impute missing total cost and QALYs by arm (predictors: baseline cost and
    utility, cluster indicators), bootstrap each completed data set, pool by
    Rubin's rules (normal interval on the total variance)."""
    econ, m = cfg.economics, cfg.imputation["m"]
    frame = people.reset_index()
    columns = ["cost", "qaly"] + [
        c for c in ("baseline_cost", "baseline_utility") if frame[c].isna().any()
    ]
    predictors = [c for c in ("baseline_cost", "baseline_utility") if c not in columns]
    cluster = econ.get("cluster")
    imputations = impute(
        frame,
        columns,
        predictors=predictors,
        by="treated",
        cluster=cluster,
        m=m,
        iterations=cfg.imputation.get("iterations", 10),
        seed=cfg.seed,
    )
    pooled = impute_then_bootstrap(
        imputations,
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=int(econ.get("n_boot", 2000)),
        seed=cfg.seed,
        cluster=cluster,
    )
    means = pd.concat(imputations.datasets).groupby("treated")[["cost", "qaly"]].mean()
    arm = frame.groupby("treated")
    values = {
        "participants analysed (intervention)": int(arm.size().get(1, 0)),
        "participants analysed (control)": int(arm.size().get(0, 0)),
        "excluded: cost or QALYs missing": 0,
        "mean cost, intervention (£)": means.loc[1, "cost"],
        "mean cost, control (£)": means.loc[0, "cost"],
        "mean QALYs, intervention": means.loc[1, "qaly"],
        "mean QALYs, control": means.loc[0, "qaly"],
    }
    rows = pooled.pooled
    z = stats.norm.ppf(0.975)
    limits = {
        q: (
            rows.loc[q, "estimate"] - z * rows.loc[q, "total"] ** 0.5,
            rows.loc[q, "estimate"] + z * rows.loc[q, "total"] ** 0.5,
        )
        for q in rows.index
    }
    values.update(
        _incremental(
            rows.loc["delta_cost", "estimate"],
            limits["delta_cost"],
            rows.loc["delta_effect", "estimate"],
            limits["delta_effect"],
        )
    )
    return (
        f"multiple imputation (m = {m})",
        _per_wtp(values, pooled.bootstrap, wtp),
        pooled.bootstrap,
    )


def _incremental(cost, cost_ci, qaly, qaly_ci) -> dict:
    return {
        "incremental cost (£)": cost,
        "incremental cost, 95% CI low": cost_ci[0],
        "incremental cost, 95% CI high": cost_ci[1],
        "incremental QALYs": qaly,
        "incremental QALYs, 95% CI low": qaly_ci[0],
        "incremental QALYs, 95% CI high": qaly_ci[1],
        "ICER (£ per QALY)": cost / qaly if qaly != 0 else float("nan"),
        "position on the CE plane": _quadrant(cost, qaly),
    }


def _quadrant(cost: float, qaly: float) -> str:
    """Where the point estimate lies, so that a negative ICER is not misread."""
    cheaper, better = cost < 0, qaly > 0
    if cheaper and better:
        return "cheaper and more effective (dominant)"
    if not cheaper and not better:
        return "costlier and less effective (dominated)"
    return "cheaper and less effective" if cheaper else "costlier and more effective"


def _per_wtp(values: dict, cea, wtp) -> dict:
    """INMB (point estimate: ``wtp * dQALY - dcost``) and the share of bootstrap
    replicates cost-effective, at each willingness to pay."""
    ceac = cea.ceac(wtp).set_index("wtp")["p_cost_effective"]
    for w in wtp:
        values[f"INMB at £{w:,.0f} (£)"] = (
            w * values["incremental QALYs"] - values["incremental cost (£)"]
        )
        values[f"probability cost-effective at £{w:,.0f}"] = ceac.loc[w]
    return values


def _people(cfg, data: pd.DataFrame, book) -> tuple[pd.DataFrame, list[str]]:
    """One row per baseline participant: arm, clusters, QALYs, costs by category
    over the follow-up period (``cost`` is the total), baseline cost and utility;
    and the cost columns."""
    econ = cfg.economics
    absent = [c for c in EQ5D if c not in data.columns]
    if absent:
        raise DataError(f"QALYs need the EQ-5D dimensions; the data have no {absent}")
    if not book.date:
        raise DataError(
            "QALYs need interview dates: name the date column in the codebook"
        )
    dims = data[list(EQ5D)].set_axis(list(EQ5D.values()), axis=1)
    value_set = econ.get("value_set", DEFAULT_VALUE_SET)
    data = data.assign(
        utility=eq5d_index(dims, errors="coerce", **value_set).to_numpy()
    )
    first = data.groupby(book.id)[book.date].transform("min")
    data["years"] = (data[book.date] - first).dt.days / 365.25  # since baseline
    effect = qalys(data, id=book.id, time="years", utility="utility").set_index(book.id)
    # QALYs over the whole period only: a participant missing a wave has none
    whole = effect["qalys"].where(effect["visits"] == len(book.waves))
    costs = _costs(cfg, data[data["time"] == 1], book)
    before = _costs(cfg, data[data["time"] == 0], book)["cost"]
    people = data[data["time"] == 0].set_index(book.id)
    people = people[["treated", *book.clusters, "utility"]].rename(
        columns={"utility": "baseline_utility"}
    )
    people = people.join(costs).assign(qaly=whole, baseline_cost=before)
    return people, list(costs.columns)


def _costs(cfg, rows: pd.DataFrame, book) -> pd.DataFrame:
    """Costs by category and in total (``cost``) per participant, from the service
    use columns of ``rows``."""
    services = cfg.economics.get("services", {})
    use = rows.melt(
        id_vars=[book.id],
        value_vars=list(services),
        var_name="column",
        value_name="quantity",
    )
    use["item"] = use["column"].map(services)
    costed = cost_service_use(
        use.rename(columns={book.id: "id"}),
        price_year=cfg.economics.get("price_year", "2022/23"),
    )
    return cost_totals(costed).set_index("id").rename(columns={"total": "cost"})


def _cost_table(people: pd.DataFrame, categories: list[str]) -> pd.DataFrame:
    """Mean (SD) cost per participant by category and arm, and the difference
    (participants with both costs and QALYs, as in the bootstrap)."""
    rows = []
    for category in categories:
        arms = people.groupby("treated")[category]
        mean, sd = arms.mean(), arms.std(ddof=1)
        rows.append(
            {
                "category": "total" if category == "cost" else category,
                "mean_intervention": mean.get(1),
                "sd_intervention": sd.get(1),
                "mean_control": mean.get(0),
                "sd_control": sd.get(0),
                "difference": mean.get(1) - mean.get(0),
            }
        )
    return pd.DataFrame(rows)
