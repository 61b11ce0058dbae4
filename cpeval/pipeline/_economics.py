"""The economic evaluation of a config: utilities, QALYs and costed service use
from baseline to the primary wave, and a (cluster) bootstrap of incremental cost
and QALYs.

Every statistic comes from :mod:`cpeval.economics` and :mod:`cpeval.missing`;
this module arranges the data for them and collects their results.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..economics import (
    bootstrap_cea,
    cost_service_use,
    cost_totals,
    impute_then_bootstrap,
    load_price_index,
    load_unit_costs,
    qalys,
)
from ..exceptions import DataError
from ..missing import impute
from ..scales import eq5d_index

__all__ = ["EconomicAnalysis", "economic_evaluation"]

DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")


@dataclass(frozen=True)
class EconomicAnalysis:
    """One analysis of incremental cost and QALYs (intervention minus comparator).

    Parameters
    ----------
    label : str
        "complete cases" or "multiple imputation (m = ...)".
    n_intervention, n_comparator, n_excluded : int
        Participants analysed by arm, and those left out (cost or QALYs missing).
    n_not_interviewed : int
        Recruited to the compared arms but not interviewed at baseline.
    participants : frozenset
        The ids analysed (for the participant flow).
    mean_cost, mean_qalys : dict
        By arm (1 intervention, 0 comparator).
    delta_cost, delta_qalys : float
    cost_ci, qalys_ci : tuple of float
        95% intervals (bootstrap percentile; Rubin's rules for imputation).
    quadrant : str
        NE, SE, NW or SW of the CE plane (point estimate).
    icer : float or None
        Cost per QALY gained, only in the NE and SW quadrants, where it means
        something; ``None`` where one arm dominates.
    inmb, p_cost_effective : dict
        By willingness to pay per QALY.
    evpi, evppi_qalys, evppi_cost : dict
        Per-person expected value of perfect information, and of partial
        perfect information about the incremental QALYs or the incremental cost
        alone, by willingness to pay (from the bootstrap replicates).
    """

    label: str
    n_intervention: int
    n_comparator: int
    n_excluded: int
    mean_cost: dict
    mean_qalys: dict
    delta_cost: float
    cost_ci: tuple[float, float]
    delta_qalys: float
    qalys_ci: tuple[float, float]
    quadrant: str
    icer: float | None
    inmb: dict = field(default_factory=dict)
    p_cost_effective: dict = field(default_factory=dict)
    n_not_interviewed: int = 0
    participants: frozenset = frozenset()
    evpi: dict = field(default_factory=dict)
    evppi_qalys: dict = field(default_factory=dict)
    evppi_cost: dict = field(default_factory=dict)

    def to_frame(self, arms: tuple[str, str] = ("intervention", "comparator")):
        """One row per quantity, arms named by ``arms``."""
        i, c = arms
        rows = {
            f"participants analysed ({i})": self.n_intervention,
            f"participants analysed ({c})": self.n_comparator,
            "excluded: not interviewed at baseline": self.n_not_interviewed,
            "excluded: cost or QALYs missing": self.n_excluded,
            f"mean cost, {i} (£)": self.mean_cost[1],
            f"mean cost, {c} (£)": self.mean_cost[0],
            f"mean QALYs, {i}": self.mean_qalys[1],
            f"mean QALYs, {c}": self.mean_qalys[0],
            "incremental cost (£)": self.delta_cost,
            "incremental cost, 95% CI low": self.cost_ci[0],
            "incremental cost, 95% CI high": self.cost_ci[1],
            "incremental QALYs": self.delta_qalys,
            "incremental QALYs, 95% CI low": self.qalys_ci[0],
            "incremental QALYs, 95% CI high": self.qalys_ci[1],
            "position on the CE plane": POSITIONS[self.quadrant],
            "ICER (£ per QALY)": self.icer,
        }
        for w in self.inmb:
            rows[f"INMB at £{w:,.0f} (£)"] = self.inmb[w]
            rows[f"probability cost-effective at £{w:,.0f}"] = self.p_cost_effective[w]
        for w in self.evpi:
            rows[f"EVPI per person at £{w:,.0f} (£)"] = self.evpi[w]
            rows[f"EVPPI, incremental QALYs, per person at £{w:,.0f} (£)"] = (
                self.evppi_qalys[w]
            )
            rows[f"EVPPI, incremental cost, per person at £{w:,.0f} (£)"] = (
                self.evppi_cost[w]
            )
        return pd.Series(rows, dtype=object, name=self.label)


POSITIONS = {
    "NE": "costlier and more effective (ICER applies)",
    "SE": "cheaper and more effective (dominant; no ICER)",
    "NW": "costlier and less effective (dominated; no ICER)",
    "SW": "cheaper and less effective (ICER: saving per QALY lost)",
}


def economic_evaluation(
    cfg,
    data: pd.DataFrame,
    book,
    arms: tuple[str, str],
    *,
    recruited: int | None = None,
):
    """The cost table (by category and arm), the economics table (a column per
    analysis, the primary first: multiple imputation when ``[imputation]`` is
    set, complete cases otherwise), the analyses themselves and the bootstrap
    the figures draw (the primary analysis's)."""
    econ = cfg.economics
    people, categories = _people(cfg, data, book)
    complete = people.dropna(subset=["cost", "qaly"])
    _check_arms(complete)
    n_boot = econ.n_boot
    cea = bootstrap_cea(
        complete.reset_index(),
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=n_boot,
        seed=cfg.seed,
        cluster=econ.cluster,
    )
    wtp = list(econ.wtp)
    analyses = [
        dataclasses.replace(
            _complete_case(cea, complete, len(people), wtp),
            participants=frozenset(complete.index),
        )
    ]
    drawn = cea
    if cfg.imputation:  # the primary analysis, as for the outcomes
        imputed, drawn = _imputed(cfg, people, wtp)
        analyses.insert(
            0, dataclasses.replace(imputed, participants=frozenset(people.index))
        )
    if recruited is not None:  # everyone recruited is accounted for
        unseen = recruited - len(people)
        analyses = [dataclasses.replace(a, n_not_interviewed=unseen) for a in analyses]
    table = pd.concat([a.to_frame(arms) for a in analyses], axis=1)
    table = table.rename_axis("quantity").reset_index()
    return _cost_table(complete, categories, arms), table, analyses, drawn


def _check_arms(complete: pd.DataFrame) -> None:
    counts = complete["treated"].value_counts()
    for arm, name in ((1, "intervention"), (0, "comparator")):
        if counts.get(arm, 0) < 2:
            raise DataError(
                f"the {name} arm has {counts.get(arm, 0)} participant(s) with both "
                "costs and QALYs: the economic evaluation needs two or more in each "
                "arm"
            )


def _complete_case(cea, complete: pd.DataFrame, n_people: int, wtp) -> EconomicAnalysis:
    arm = complete.groupby("treated")
    return _analysis(
        "complete cases",
        n=arm.size(),
        n_excluded=n_people - len(complete),
        means=arm[["cost", "qaly"]].mean(),
        cis=(cea.interval("delta_cost"), cea.interval("delta_effect")),
        cea=cea,
        wtp=wtp,
    )


def _imputed(cfg, people: pd.DataFrame, wtp):
    """Impute missing total cost and QALYs by arm (predictors: baseline cost and
    utility, cluster indicators), bootstrap each completed data set, pool by
    Rubin's rules (normal interval on the total variance)."""
    econ, m = cfg.economics, cfg.imputation.m
    frame = people.reset_index()
    # baseline cost and utility predict when they were collected at all
    collected = [
        c for c in ("baseline_cost", "baseline_utility") if frame[c].notna().any()
    ]
    columns = ["cost", "qaly"] + [c for c in collected if frame[c].isna().any()]
    predictors = [c for c in collected if c not in columns]
    cluster = econ.cluster
    imputations = impute(
        frame,
        columns,
        predictors=predictors,
        by="treated",
        cluster=cluster,
        cluster_model=cfg.imputation.cluster_model if cluster else "fixed",
        m=m,
        iterations=cfg.imputation.iterations,
        seed=cfg.seed,
    )
    pooled = impute_then_bootstrap(
        imputations,
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=econ.n_boot,
        seed=cfg.seed,
        cluster=cluster,
    )
    limits = pooled.conf_int()
    cis = tuple(
        (limits.loc[q, "ci_low"], limits.loc[q, "ci_high"])
        for q in ("delta_cost", "delta_effect")
    )
    analysis = _analysis(
        f"multiple imputation (m = {m})",
        n=frame.groupby("treated").size(),
        n_excluded=0,
        means=pd.concat(imputations.datasets)
        .groupby("treated")[["cost", "qaly"]]
        .mean(),
        cis=cis,
        cea=pooled.bootstrap,
        wtp=wtp,
    )
    return analysis, pooled.bootstrap


def _analysis(label, *, n, n_excluded, means, cis, cea, wtp):
    """Collect one analysis from its bootstrap (point estimates, quadrant,
    ICER, INMB and CEAC all come from the BootstrapCEA)."""
    ceac = cea.ceac(wtp).set_index("wtp")["p_cost_effective"]
    inmb = cea.inmb(wtp).set_index("wtp")["inmb"]
    evpi = cea.evpi(wtp).set_index("wtp")["evpi"]
    partial = {
        what: cea.evppi(wtp, [column]).set_index("wtp")["evppi"]
        for what, column in (("qalys", "delta_effect"), ("cost", "delta_cost"))
    }
    return EconomicAnalysis(
        label=label,
        n_intervention=int(n.get(1, 0)),
        n_comparator=int(n.get(0, 0)),
        n_excluded=int(n_excluded),
        mean_cost=means["cost"].to_dict(),
        mean_qalys=means["qaly"].to_dict(),
        delta_cost=float(cea.delta_cost),
        cost_ci=(float(cis[0][0]), float(cis[0][1])),
        delta_qalys=float(cea.delta_effect),
        qalys_ci=(float(cis[1][0]), float(cis[1][1])),
        quadrant=cea.quadrant,
        icer=cea.icer_if_meaningful,
        inmb={w: float(inmb.loc[w]) for w in wtp},
        p_cost_effective={w: float(ceac.loc[w]) for w in wtp},
        evpi={w: float(evpi.loc[w]) for w in wtp},
        evppi_qalys={w: float(partial["qalys"].loc[w]) for w in wtp},
        evppi_cost={w: float(partial["cost"].loc[w]) for w in wtp},
    )


# ------------------------------------------------------------------ the data


def eq5d_columns(cfg, book) -> list[str]:
    """The codebook columns of the EQ-5D dimensions MO, SC, UA, PD, AD: the items
    of the instrument ``[economics] eq5d`` names, or of the codebook's one
    instrument whose name starts with "eq5d"."""
    name = cfg.economics.eq5d
    if name is None:
        found = [n for n in book.instruments if n.lower().startswith("eq5d")]
        if len(found) != 1:
            raise DataError(
                f'{cfg.path}: QALYs need the EQ-5D: add eq5d = "<instrument>" to '
                "[economics], naming the codebook instrument whose five items are "
                "MO, SC, UA, PD and AD in that order"
                + (f" (the codebook has {found})" if found else "")
            )
        name = found[0]
    if name not in book.instruments:
        raise DataError(
            f"{cfg.path}: '[economics] eq5d' is '{name}', not an instrument of the "
            f"codebook ({sorted(book.instruments)})"
        )
    items = list(book.instruments[name])
    if len(items) != 5:
        raise DataError(
            f"{cfg.path}: the EQ-5D instrument '{name}' has {len(items)} items; it "
            "needs five (MO, SC, UA, PD, AD in that order)"
        )
    return items


def _check_version(cfg, book, columns: list[str], dims: pd.DataFrame) -> None:
    """The value set's version fits the data: 3L codes run 1 to 3, 5L codes 1
    to 5 (a 3L value set would make every 4 or 5 a missing utility)."""
    version = cfg.economics.value_set.version
    highest = dims.max(numeric_only=True).max()
    declared = [v for c in columns for v in (book.columns[c].values or ())]
    if version == "3L" and pd.notna(highest) and highest > 3:
        raise DataError(
            f"{cfg.path}: [economics] value_set is EQ-5D-3L but the EQ-5D items hold "
            f'codes up to {highest:g} (EQ-5D-5L data): give version = "5L" (or '
            'type = "DSU" for the 3L crosswalk)'
        )
    if version == "5L" and declared and max(declared) == 3:
        raise DataError(
            f"{cfg.path}: [economics] value_set is EQ-5D-5L but the codebook codes "
            'the EQ-5D items 1 to 3 (EQ-5D-3L data): give version = "3L"'
        )


def _people(cfg, data: pd.DataFrame, book) -> tuple[pd.DataFrame, list[str]]:
    """One row per baseline participant: arm, clusters, QALYs, costs by category
    from baseline to the primary wave (``cost`` is the total), baseline cost and
    utility; and the cost columns."""
    econ = cfg.economics
    if not book.date:
        raise DataError(
            "QALYs need interview dates: name the date column in the codebook"
        )
    last = list(book.waves).index(cfg.wave(book))
    data = data[data["time"] <= last]
    columns = eq5d_columns(cfg, book)
    dims = data[columns].set_axis(list(DIMENSIONS), axis=1)
    _check_version(cfg, book, columns, dims)
    value_set = econ.value_set.model_dump()
    extra = {}
    if value_set["type"] == "DSU":
        extra = _age_sex(cfg, data)
    data = data.assign(
        utility=eq5d_index(dims, errors="coerce", **value_set, **extra).to_numpy()
    )
    first = data.groupby(book.id)[book.date].transform("min")
    data["years"] = (data[book.date] - first).dt.days / 365.25  # since baseline
    effect = qalys(
        data,
        id=book.id,
        time="years",
        utility="utility",
        discount=econ.discount,
    ).set_index(book.id)
    # QALYs over the whole period only: a participant missing a wave has none
    whole = effect["qalys"].where(effect["visits"] == last + 1)
    costs = _period_costs(cfg, data, book, range(1, last + 1))
    before = _costs(cfg, data[data["time"] == 0], book)["cost"]
    people = data[data["time"] == 0].set_index(book.id)
    people = people[["treated", *book.clusters, "utility"]].rename(
        columns={"utility": "baseline_utility"}
    )
    people = people.join(costs).assign(qaly=whole, baseline_cost=before)
    return people, list(costs.columns)


def _age_sex(cfg, data: pd.DataFrame) -> dict:
    """Age and sex for the NICE DSU mapping, from the columns the config names."""
    econ = cfg.economics
    names = {"age": econ.age, "sex": econ.sex}
    if None in names.values():
        raise DataError(
            f'{cfg.path}: the DSU mapping needs age and sex: add age = "<column>" '
            'and sex = "<column>" to [economics]'
        )
    absent = [c for c in names.values() if c not in data.columns]
    if absent:
        raise DataError(f"{cfg.path}: [economics] names columns {absent} the data lack")
    return {key: data[column].to_numpy() for key, column in names.items()}


def _period_costs(cfg, data: pd.DataFrame, book, waves) -> pd.DataFrame:
    """Costs summed over the follow-up waves up to the primary one (each wave's
    service use covers the time since the interview before); missing when any of
    those waves' service use is missing."""
    parts = [_costs(cfg, data[data["time"] == t], book) for t in waves]
    stacked = pd.concat(parts)
    counts = stacked.groupby(level=0)["cost"].count()
    total = stacked.groupby(level=0).sum(min_count=1)
    return total.where(counts.reindex(total.index) == len(parts))


def _costs(cfg, rows: pd.DataFrame, book) -> pd.DataFrame:
    """Costs by category and in total (``cost``) per participant, from the service
    use columns of ``rows``."""
    econ = cfg.economics
    services = econ.services
    absent = [c for c in services if c not in rows.columns]
    if absent:
        raise DataError(
            f"{cfg.path}: '[economics] services' names columns {absent} that the "
            "data do not have"
        )
    use = rows.melt(
        id_vars=[book.id],
        value_vars=list(services),
        var_name="column",
        value_name="quantity",
    )
    use["item"] = use["column"].map(services)
    table = load_unit_costs(None if econ.unit_costs is None else Path(econ.unit_costs))
    _check_perspective(cfg, table)
    index = econ.price_index
    costed = cost_service_use(
        use.rename(columns={book.id: "id"}),
        price_year=econ.price_year,
        unit_costs=table,
        index=load_price_index(index, econ.price_index_file),
        perspective=econ.perspective,
    )
    return cost_totals(costed).set_index("id").rename(columns={"total": "cost"})


def _check_perspective(cfg, table: pd.DataFrame) -> None:
    """Every service named is costed: an item outside the analysis perspective
    would count as zero without a word."""
    econ = cfg.economics
    if econ.perspective == "societal":
        return
    for column, item in econ.services.items():
        if item in table.index and table.loc[item, "perspective"] != "nhs_pss":
            raise DataError(
                f"{cfg.path}: '[economics] services' costs '{column}' as '{item}', "
                f"a {table.loc[item, 'perspective']} cost, but the perspective is "
                'nhs_pss: set perspective = "societal" or leave the service out'
            )


def _cost_table(
    people: pd.DataFrame, categories: list[str], arms: tuple[str, str]
) -> pd.DataFrame:
    """Mean (SD) cost per participant by category and arm, and the difference
    (participants with both costs and QALYs, as in the bootstrap)."""
    i, c = arms
    rows = []
    for category in categories:
        by_arm = people.groupby("treated")[category]
        mean, sd, n = by_arm.mean(), by_arm.std(ddof=1), by_arm.size()
        rows.append(
            {
                "category": "total" if category == "cost" else category,
                f"n ({i})": int(n.get(1, 0)),
                f"mean ({i})": mean.get(1),
                f"sd ({i})": sd.get(1),
                f"n ({c})": int(n.get(0, 0)),
                f"mean ({c})": mean.get(0),
                f"sd ({c})": sd.get(0),
                f"difference ({i} minus {c})": mean.get(1, np.nan)
                - mean.get(0, np.nan),
            }
        )
    return pd.DataFrame(rows)
