"""The outcome analyses of a config: the model on the available data, propensity
adjustment, and multiple imputation pooled by Rubin's rules.

Every statistic comes from the stages (``models``, ``adjust``, ``missing``); this
module only arranges the data for them and collects their results in rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..adjust import balance_table, ipw_weights, propensity_score
from ..exceptions import DataError
from ..missing import impute, pool
from ..models import ancova, fit_lmm, treatment_effect

__all__ = ["Propensity", "analysis_data", "outcome_table", "propensity"]

PS = "ps_logit"


def analysis_data(study) -> pd.DataFrame:
    """Long data with ``time`` (0, 1, ...), ``treated`` (0/1, the codebook's last
    group) and the baseline covariates on every row."""
    book = study.codebook
    data = study.data.copy()
    data["time"] = data[book.wave].cat.codes.astype(int)
    intervention = (
        book.groups[-1] if book.groups else sorted(data[book.group].unique())[-1]
    )
    data["treated"] = (data[book.group] == intervention).astype(int)
    base = data[data["time"] == 0].set_index(book.id)
    for covariate in book.covariates:
        data[covariate] = data[book.id].map(base[covariate])
    return data


@dataclass(frozen=True)
class Propensity:
    """A participant-level propensity score and the balance it achieves.

    Parameters
    ----------
    logit : pandas.Series
        The score's logit by participant id (participants with complete
        covariates only).
    balance : pandas.DataFrame
        :func:`cpeval.adjust.balance_table` before and after ATE weighting.
    formula : str
    n_dropped : int
        Participants without a score (a covariate missing).
    terms : tuple of str
        The balance table's rows that are terms of the score (the others are
        checked only).
    """

    logit: pd.Series
    balance: pd.DataFrame
    formula: str
    n_dropped: int
    terms: tuple[str, ...]


def propensity(
    data: pd.DataFrame, id: str, covariates: list[str], also: Sequence[str] = ()
) -> Propensity:
    """Fit ``treated ~ covariates`` on the baseline rows of ``data``.

    Categorical covariates enter as indicators of each level but the first.
    Balance is checked by weighting with the score (ATE weights, cobalt's
    pooled-SD standardised differences), on the covariates and on ``also``
    (e.g. the outcomes at baseline, which the outcome model itself adjusts for).
    """
    also = [c for c in also if c not in covariates]
    absent = [c for c in [*covariates, *also] if c not in data.columns]
    if absent:
        raise DataError(f"propensity covariates the data do not have: {absent}")
    base = data[data["time"] == 0].set_index(id)
    design = _indicators(base[covariates])
    frame = design.assign(treated=base["treated"])
    formula = "treated ~ " + " + ".join(design.columns)
    ps = propensity_score(frame, formula)
    checked = frame.join(_indicators(base[also])) if also else frame
    complete = checked.loc[ps.score.index]
    names = [c for c in complete.columns if c != "treated"]
    if complete[names].isna().any().any():  # balance on those with every value
        complete = complete.dropna(subset=names)
    weights = ipw_weights(ps, estimand="ATE").weights
    balance = balance_table(complete, names, "treated", weights=weights)
    logit = np.log(ps.score / (1 - ps.score)).rename(PS)
    return Propensity(logit, balance, formula, ps.n_dropped, tuple(design.columns))


def outcome_table(
    cfg, data: pd.DataFrame, book, *, say=print
) -> tuple[pd.DataFrame, Propensity | None]:
    """One row per outcome and analysis: observed means by group and wave, the
    adjusted difference with its CI, p, df and df method (and ICC, effect sizes)."""
    for label, column in cfg.outcomes.items():
        if column not in data.columns:
            raise DataError(
                f"outcome '{label}': the scored data have no column '{column}'"
            )
    covariates = [c for c in cfg.model.get("covariates", []) if c in data.columns]
    ps_covariates = cfg.propensity.get("covariates", [])
    score = (
        propensity(data, book.id, ps_covariates, also=list(cfg.outcomes.values()))
        if ps_covariates
        else None
    )
    if score is not None:
        data = data.assign(**{PS: data[book.id].map(score.logit)})
        covariates = [*covariates, PS]
    rows = []
    for label, column in cfg.outcomes.items():
        analysis = "available data" if cfg.model["kind"] == "lmm" else "complete cases"
        row = {"outcome": label, "analysis": analysis, **_means(data, column)}
        row.update(_effect(cfg, data, book, column, covariates))
        rows.append(row)
    if cfg.model.get("sensitivity") == "ancova":
        for label, column in cfg.outcomes.items():
            row = {"outcome": label, "analysis": "complete cases, ANCOVA (CR2)"}
            row.update(_means(data, column))
            effect = _ancova_effect(data, column, book, covariates)
            rows.append({**row, **effect, "n_participants": effect["n_obs"]})
    if cfg.imputation:
        m = cfg.imputation["m"]
        say(f"multiple imputation ({m} imputations)")
        primary = rows[: len(cfg.outcomes)]
        rows += _imputed_rows(cfg, data, book, covariates, ps_covariates, primary)
    return pd.DataFrame(rows), score


def _means(data: pd.DataFrame, column: str) -> dict:
    means = data.groupby(["treated", "time"])[column].mean()
    return {
        "baseline_control": means.get((0, 0)),
        "baseline_intervention": means.get((1, 0)),
        "followup_control": means.get((0, 1)),
        "followup_intervention": means.get((1, 1)),
    }


def _effect(cfg, data, book, column, covariates) -> dict:
    if cfg.model["kind"] == "ancova":
        effect = _ancova_effect(data, column, book, covariates)
        return {**effect, "n_participants": effect["n_obs"]}
    used = data.dropna(subset=[column, *covariates])
    effect = _lmm_effect(cfg, data, column, covariates)
    return {**effect, "n_participants": used[book.id].nunique()}


def _lmm_effect(cfg, data, column, covariates) -> dict:
    terms = "".join(f" + {c}" for c in covariates)
    if PS in covariates:  # the score adjusts change as well as level
        terms += f" + time:{PS}"
    fit = fit_lmm(data, f"{column} ~ time * treated{terms}", cfg.model["groups"])
    effect = fit.tidy().set_index("term").loc["time:treated"]
    return {
        "difference": effect["estimate"],
        "se": effect["se"],
        "ci_low": effect["ci_low"],
        "ci_high": effect["ci_high"],
        "p_val": effect["p_val"],
        "df": effect["df"],
        "df_method": "Satterthwaite",
        "model": "mixed model (REML)",
        "icc_team": fit.icc.get("team", np.nan),
        "n_obs": fit.n_obs,
        "singular": fit.singular,
    }


def _ancova_effect(data, column, book, covariates) -> dict:
    wide = data[data["time"] == 0][
        [book.id, "treated", column, *book.clusters, *covariates]
    ].rename(columns={column: "baseline"})
    follow = data[data["time"] == 1][[book.id, column]].rename(
        columns={column: "followup"}
    )
    merged = wide.merge(follow, on=book.id)
    cluster = book.clusters[-1] if book.clusters else None
    fit = ancova(
        merged,
        outcome="followup",
        baseline="baseline",
        group="treated",
        covariates=covariates,
        cluster=cluster,
    )
    effect = treatment_effect(fit, merged, "followup").iloc[0]
    return {
        "difference": effect["difference"],
        "se": fit.bse[fit.effect_term],
        "ci_low": effect["ci_low"],
        "ci_high": effect["ci_high"],
        "p_val": effect["p_val"],
        "df": effect["df"],
        "df_method": "CR2 Satterthwaite" if cluster else "OLS",
        "model": "ANCOVA",
        "partial_eta2": effect["partial_eta2"],
        "hedges_g": effect["hedges_g"],
        "n_obs": fit.n,
    }


# ------------------------------------------------------------ imputation


def _imputed_rows(cfg, data, book, covariates, ps_covariates, observed) -> list[dict]:
    """Impute each outcome at every wave, by arm, with team indicators; refit the
    same model on every completed data set (re-estimating the propensity score in
    each) and pool the effect with Rubin's rules and Barnard-Rubin df."""
    columns = list(cfg.outcomes.values())
    base_covs = [c for c in covariates if c != PS]
    base_covs += [c for c in ps_covariates if c not in [*base_covs, *columns]]
    wide, imputed, predictors = _wide(data, book, columns, base_covs)
    imputations = impute(
        wide,
        imputed,
        predictors=predictors,
        by="treated",
        cluster=book.clusters[-1] if book.clusters else None,
        m=cfg.imputation["m"],
        iterations=cfg.imputation.get("iterations", 10),
        seed=cfg.seed,
    )
    fits: dict[str, list[dict]] = {label: [] for label in cfg.outcomes}
    for completed in imputations.datasets:
        long = _long(completed, book, columns, base_covs)
        if ps_covariates:
            score = propensity(long, book.id, ps_covariates)
            long[PS] = long[book.id].map(score.logit)
        for label, column in cfg.outcomes.items():
            fits[label].append(_effect(cfg, long, book, column, covariates))
    rows = []
    for row, results in zip(observed, fits.values(), strict=True):
        rows.append({**{k: row[k] for k in row if k in _KEEP}, **_pooled(results)})
        rows[-1]["analysis"] = f"multiple imputation (m = {imputations.m})"
        rows[-1]["n_participants"] = len(wide)
    return rows


_KEEP = (
    "outcome",
    "baseline_control",
    "baseline_intervention",
    "followup_control",
    "followup_intervention",
    "model",
)


def _pooled(results: list[dict]) -> dict:
    df_complete = float(np.mean([r["df"] for r in results]))
    pooled = pool(
        [r["difference"] for r in results],
        [r["se"] ** 2 for r in results],
        df_complete=df_complete,
    )
    estimate, se, df = pooled.estimate[0], pooled.se[0], pooled.df[0]
    half = stats.t.ppf(0.975, df) * se
    return {
        "difference": estimate,
        "se": se,
        "ci_low": estimate - half,
        "ci_high": estimate + half,
        "p_val": 2 * stats.t.sf(abs(estimate / se), df),
        "df": df,
        "df_method": "Barnard-Rubin (complete-data df: mean "
        f"{results[0]['df_method']})",
        "fmi": pooled.fmi[0],
        "n_obs": results[0]["n_obs"],
    }


def _wide(data, book, columns, covariates):
    """One row per baseline participant: arm, clusters, covariates, and each
    outcome at every wave as ``column@time``."""
    base = data[data["time"] == 0].set_index(book.id)
    keep = ["treated", book.group, *book.clusters, *covariates]
    wide = base[list(dict.fromkeys(keep))].copy()
    imputed = []
    for column in columns:
        for time, part in data.groupby("time"):
            name = f"{column}@{time}"
            wide[name] = part.set_index(book.id)[column].reindex(wide.index)
            imputed.append(name)
    numeric = _indicators(wide[covariates]) if covariates else wide[[]]
    incomplete = [c for c in numeric if numeric[c].isna().any()]
    if incomplete:
        raise DataError(
            f"covariates {incomplete} have missing baseline values: multiple "
            "imputation here imputes outcomes only; impute or drop them first"
        )
    wide = wide.join(numeric.add_prefix("_x_"))
    return wide.reset_index(), imputed, [f"_x_{c}" for c in numeric]


def _long(completed, book, columns, covariates) -> pd.DataFrame:
    times = sorted({int(c.rsplit("@", 1)[1]) for c in completed if "@" in c})
    keep = list(dict.fromkeys([book.id, "treated", book.group, *book.clusters]))
    parts = []
    for time in times:
        part = completed[keep + covariates].copy()
        for column in columns:
            part[column] = completed[f"{column}@{time}"]
        parts.append(part.assign(time=time))
    return pd.concat(parts, ignore_index=True)


def _indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as they are; others as 0/1 indicators of each level but the
    first, named ``column_level`` (made safe for formulas)."""
    parts = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column):
            parts.append(column.astype(float))
            continue
        levels = sorted(column.dropna().unique(), key=str)
        for level in levels[1:]:
            safe = re.sub(r"\W+", "_", f"{name}_{level}").strip("_")
            parts.append(
                (column == level).astype(float).where(column.notna()).rename(safe)
            )
    return pd.concat(parts, axis=1) if parts else frame[[]]
