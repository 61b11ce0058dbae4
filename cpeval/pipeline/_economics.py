"""The economic evaluation of a config: utilities, QALYs, costed service use and a
(cluster) bootstrap of incremental cost and QALYs."""

from __future__ import annotations

import pandas as pd

from ..economics import bootstrap_cea, cost_service_use, cost_totals, qalys
from ..exceptions import DataError
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
    """Return the cost table (by category and arm), the economics table and the
    bootstrap (:class:`cpeval.economics.BootstrapCEA`)."""
    econ = cfg.economics
    people, categories = _people(cfg, data, book)
    complete = people.dropna(subset=["cost", "qaly"])
    cea = bootstrap_cea(
        complete.reset_index(),
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=int(econ.get("n_boot", 2000)),
        seed=cfg.seed,
        cluster=econ.get("cluster"),
    )
    wtp = [float(w) for w in econ.get("wtp", [20000, 30000])]
    return (
        _cost_table(complete, categories),
        _summary(cea, complete, len(people), wtp),
        cea,
    )


def _people(cfg, data: pd.DataFrame, book) -> tuple[pd.DataFrame, list[str]]:
    """One row per baseline participant: arm, clusters, QALYs and costs by category
    over the follow-up period (``cost`` is the total); and the cost columns."""
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
    services = econ.get("services", {})
    use = data[data["time"] == 1].melt(
        id_vars=[book.id],
        value_vars=list(services),
        var_name="column",
        value_name="quantity",
    )
    use["item"] = use["column"].map(services)
    costed = cost_service_use(
        use.rename(columns={book.id: "id"}),
        price_year=econ.get("price_year", "2022/23"),
    )
    costs = cost_totals(costed).set_index("id").rename(columns={"total": "cost"})
    people = data[data["time"] == 0][[book.id, "treated", *book.clusters]]
    people = people.set_index(book.id).join(costs).assign(qaly=effect["qalys"])
    return people, list(costs.columns)


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


def _summary(
    cea, complete: pd.DataFrame, n_people: int, wtp: list[float]
) -> pd.DataFrame:
    inmb = cea.inmb(wtp).set_index("wtp")
    ceac = cea.ceac(wtp).set_index("wtp")["p_cost_effective"]
    arm = complete.groupby("treated")
    cost_ci, qaly_ci = cea.interval("delta_cost"), cea.interval("delta_effect")
    rows = [
        ("participants analysed (intervention)", int(arm.size().get(1, 0))),
        ("participants analysed (control)", int(arm.size().get(0, 0))),
        ("excluded: cost or QALYs missing", int(n_people - len(complete))),
        ("mean cost, intervention (£)", arm["cost"].mean().get(1)),
        ("mean cost, control (£)", arm["cost"].mean().get(0)),
        ("mean QALYs, intervention", arm["qaly"].mean().get(1)),
        ("mean QALYs, control", arm["qaly"].mean().get(0)),
        ("incremental cost (£)", cea.delta_cost),
        ("incremental cost, 95% CI low", cost_ci[0]),
        ("incremental cost, 95% CI high", cost_ci[1]),
        ("incremental QALYs", cea.delta_effect),
        ("incremental QALYs, 95% CI low", qaly_ci[0]),
        ("incremental QALYs, 95% CI high", qaly_ci[1]),
        ("ICER (£ per QALY)", cea.icer),
    ]
    for w in wtp:
        rows += [
            (f"INMB at £{w:,.0f} (£)", inmb.loc[w, "inmb"]),
            (f"probability cost-effective at £{w:,.0f}", ceac.loc[w]),
        ]
    return pd.DataFrame(
        {
            "quantity": [q for q, _ in rows],
            "value": pd.Series([v for _, v in rows], dtype=object),
        }
    )
