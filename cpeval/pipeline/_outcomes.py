"""The outcome analyses of a config: the model on the available data, propensity
adjustment, and multiple imputation pooled by Rubin's rules, at every follow-up
wave.

Every statistic comes from the stages (``models``, ``adjust``, ``missing``); this
module only arranges the data for them and collects their results in rows.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..adjust import balance_table, effect_e_value, ipw_weights, propensity_score
from ..exceptions import DataError
from ..missing import impute, pool
from ..models import check_nested, effect_by_wave
from ..models._waves import RATIOS, model_name
from ._items import item_plan

__all__ = [
    "ANALYSES",
    "MODELS",
    "OutcomeAnalyses",
    "Propensity",
    "analysis_data",
    "check_model",
    "outcome_analyses",
    "outcome_family",
    "outcome_table",
    "propensity",
]

PS = "ps_logit"

#: Each analysis's name in the outcomes table: the primary analyses (by
#: ``[model] kind``) and the sensitivity analyses ``[model] sensitivity`` names.
ANALYSES = {
    "lmm": "available data",
    "ancova": "complete cases",
    "sensitivity": {
        "ancova": "complete cases, ANCOVA (CR2)",
        "wild-bootstrap-ancova": "complete cases, ANCOVA (wild cluster bootstrap)",
        "wild-bootstrap-prepost": "pre-post, wild cluster bootstrap",
        "gee": "GEE (marginal model)",
    },
}
#: The model column of the outcomes table, by method.
MODELS = {
    "lmm": "mixed model (REML)",
    "ancova": "ANCOVA",
    "wild-bootstrap-ancova": "ANCOVA",
    "wild-bootstrap-prepost": "pre-post OLS",
    "gee": "GEE",
}
#: The model family of an outcome column, by its codebook type (scored scales
#: and numeric columns are continuous).
FAMILIES = {"binary": "binomial", "count": "poisson"}
_TYPE_WORDS = {"binomial": "binary", "poisson": "a count"}
#: The analyses a binary or count outcome cannot have: linear models of a
#: continuous outcome.
_LINEAR_ONLY = ("ancova", "wild-bootstrap-ancova", "wild-bootstrap-prepost")


def outcome_family(book, column: str) -> str:
    """``"binomial"`` for a binary codebook column, ``"poisson"`` for a count,
    ``"gaussian"`` otherwise (scores, numeric columns)."""
    spec = book.columns.get(column)
    return FAMILIES.get(spec.type, "gaussian") if spec is not None else "gaussian"


def analysis_data(study) -> pd.DataFrame:
    """Long data of the two arms compared, with ``time`` (0 at baseline, 1, 2, ...
    by wave), ``treated`` (1 for the codebook's ``intervention``, 0 for its
    comparator) and the baseline covariates on every row."""
    book = study.codebook
    if study.arms is None:
        raise DataError(
            f"{book.path}: the analysis compares two arms: name the group column "
            "([study] group) and its intervention arm ([study] intervention), with "
            "a second arm in the data"
        )
    intervention, comparator = study.arms
    data = study.data[study.data[book.group].isin([intervention, comparator])].copy()
    if book.clusters:  # ANCOVA's CR2 clusters and the mixed model's levels alike
        check_nested(data, list(book.clusters))
    data["time"] = data[book.wave].cat.codes.astype(int)
    data["treated"] = (data[book.group] == intervention).astype(int)
    base = data[data["time"] == 0].set_index(book.id)
    for covariate in book.covariates:
        data[covariate] = data[book.id].map(base[covariate])
    return data.reset_index(drop=True)


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
    constant = [c for c in covariates if base[c].nunique(dropna=True) < 2]
    if constant:
        raise DataError(
            f"propensity covariate '{constant[0]}' has one value at baseline, so it "
            "cannot predict the arm: leave it out of [propensity] covariates"
        )
    design = _indicators(base[covariates])
    frame = design.assign(treated=base["treated"])
    safe = {name: f"_p{k}" for k, name in enumerate(design.columns, start=1)}
    try:
        ps = propensity_score(
            frame.rename(columns=safe), "treated ~ " + " + ".join(safe.values())
        )
    except DataError as exc:  # name the covariates, not the safe names
        message = str(exc)
        for name, token in safe.items():
            message = message.replace(f"'{token}'", f"'{name}'")
        raise DataError(f"propensity score: {message}") from None
    ps = dataclasses.replace(
        ps, params=ps.params.rename(index={v: k for k, v in safe.items()})
    )
    formula = "treated ~ " + " + ".join(design.columns)
    checked = frame.join(_indicators(base[also])) if also else frame
    complete = checked.loc[ps.score.index]
    names = [c for c in complete.columns if c != "treated"]
    if complete[names].isna().any().any():  # balance on those with every value
        complete = complete.dropna(subset=names)
    weights = ipw_weights(ps, estimand="ATE").weights
    balance = balance_table(complete, names, "treated", weights=weights)
    logit = np.log(ps.score / (1 - ps.score)).rename(PS)
    return Propensity(logit, balance, formula, ps.n_dropped, tuple(design.columns))


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class OutcomeAnalyses:
    """Every outcome estimate of a run, as rows with fixed keys.

    Parameters
    ----------
    rows : tuple of dict
        One per outcome, analysis and follow-up wave, primary analysis first:
        ``outcome``, ``column``, ``analysis``, ``role`` ("primary": the primary
        analysis at the primary wave; "secondary": it at another wave;
        "sensitivity"), ``wave``, ``primary_wave`` (bool), the observed means
        (``mean_baseline_intervention``, ``mean_baseline_comparator``,
        ``mean_followup_intervention``, ``mean_followup_comparator``) and
        counts (``n_intervention``, ``n_comparator``, ``n_participants``,
        ``n_obs``) of the participants the estimate used, and ``difference``,
        ``se``, ``ci_low``, ``ci_high``, ``p_val``, ``df``, ``df_method``,
        ``model``, ``icc``, ``singular``, ``hedges_g``, ``partial_eta2``,
        ``fmi`` where they apply. A binary or count outcome's rows also have
        ``scale`` ("log odds ratio", "log rate ratio": what ``difference`` and
        its interval are), ``ratio``, ``ratio_ci_low``, ``ratio_ci_high`` (the
        odds or rate ratio) and, for binary outcomes, ``risk_difference``,
        ``risk_difference_ci_low``, ``risk_difference_ci_high`` (marginal);
        continuous outcomes' rows then have ``scale`` "mean difference".
    populations : mapping
        ``(outcome, analysis, wave)`` -> the participant ids behind that row.
    score : Propensity or None
    """

    rows: tuple[dict, ...]
    populations: Mapping[tuple[str, str, str], frozenset]
    score: Propensity | None

    def to_frame(self) -> pd.DataFrame:
        """The rows as a table (internal column names)."""
        return pd.DataFrame(list(self.rows))

    def primary(self) -> list[dict]:
        """The primary analysis at the primary wave, one row per outcome."""
        return [r for r in self.rows if r["role"] == "primary" and r["primary_wave"]]


def outcome_table(
    cfg, data: pd.DataFrame, book, *, say=print
) -> tuple[pd.DataFrame, Propensity | None]:
    """:func:`outcome_analyses` as a table, and the propensity score."""
    result = outcome_analyses(cfg, data, book, say=say)
    return result.to_frame(), result.score


def outcome_analyses(cfg, data: pd.DataFrame, book, *, say=print) -> OutcomeAnalyses:
    """Fit every outcome's analyses at every follow-up wave."""
    for label, column in cfg.outcomes.items():
        if column not in data.columns:
            scored = [
                c
                for c in data.columns
                if any(c.startswith(f"{name}_") for name in book.definitions)
                and not c.endswith(("_missing", "_prorated"))
                and c not in book.columns  # an item, not a score
            ]
            raise DataError(
                f"{cfg.path}: outcome '{label}': the scored data have no column "
                f"'{column}'; the scored columns are {scored}"
            )
    for label, column in cfg.outcomes.items():
        _check_outcome(cfg, book, label, column)
    covariates = list(cfg.model.covariates)
    absent = [c for c in covariates if c not in data.columns]
    if absent:
        raise DataError(f"{cfg.path}: [model] covariates {absent} are not in the data")
    ps_covariates = list(cfg.propensity_covariates)
    if ps_covariates and set(ps_covariates) <= set(covariates):
        raise DataError(
            f"{cfg.path}: every [propensity] covariate is also a [model] covariate, "
            "so the score's logit is a combination of terms the model has already "
            "and adds nothing: leave them out of one of the two lists"
        )
    check_model(cfg, book)
    score = None
    if ps_covariates:
        try:
            score = propensity(
                data, book.id, ps_covariates, also=list(cfg.outcomes.values())
            )
        except DataError as exc:
            raise DataError(f"{cfg.path}: {exc}", problems=exc.problems) from None
    changes: list[str] = []
    if score is not None:
        data = data.assign(**{PS: data[book.id].map(score.logit)})
        changes = [PS]
    spec = _Spec(cfg, book, covariates, changes)
    found: list[tuple[dict, frozenset]] = []
    kind = cfg.model.kind
    name = ANALYSES[kind]
    for label, column in cfg.outcomes.items():
        fit = spec.fit(data, column, kind)
        found += _rows(label, column, name, fit, data, book)
    for method in cfg.model.sensitivity:
        if method != "ancova":
            say(f"sensitivity analysis: {ANALYSES['sensitivity'][method]}")
        for label, column in cfg.outcomes.items():
            fit = spec.fit(data, column, method)
            analysis = ANALYSES["sensitivity"][method]
            found += _rows(label, column, analysis, fit, data, book)
    if cfg.imputation:
        say(f"multiple imputation ({cfg.imputation.m} imputations)")
        found += _imputed_rows(cfg, data, book, spec, ps_covariates)
    wave = cfg.wave(book)
    rows, populations = [], {}
    for row, ids in found:
        main = (
            row["analysis"].startswith("multiple imputation")
            if cfg.imputation
            else row["analysis"] == name
        )
        row["primary_wave"] = row["wave"] == wave
        row["role"] = (
            ("primary" if row["primary_wave"] else "secondary")
            if main
            else "sensitivity"
        )
        populations[(row["outcome"], row["analysis"], row["wave"])] = ids
        if cfg.design not in RANDOMISED:  # non-randomised, or not declared
            row.update(_e_values(data, book, row, ids))
        rows.append(row)
    order = {"primary": 0, "secondary": 1, "sensitivity": 2}
    rows.sort(key=lambda r: order[r["role"]])  # stable within each role
    if any("scale" in r for r in rows):  # a ratio beside a difference: say which
        for row in rows:
            row.setdefault("scale", "mean difference")
    return OutcomeAnalyses(tuple(rows), populations, score)


def _check_outcome(cfg, book, label: str, column: str) -> None:
    """An outcome is measured at follow-up: not a key column, and not a column
    collected at baseline only (whose follow-up values are copies)."""
    if column in book.keys or column in (book.wave, book.date):
        raise DataError(
            f"{cfg.path}: outcome '{label}' is '{column}', a key column of the "
            "study (id, group, cluster, wave or date), not an outcome"
        )
    spec = book.columns.get(column)
    baseline_only = spec is not None and spec.waves == (book.baseline,)
    if column in book.covariates or baseline_only:
        raise DataError(
            f"{cfg.path}: outcome '{label}' is '{column}', collected at baseline "
            "only (a covariate): an outcome must be measured at follow-up"
        )


@dataclass(frozen=True)
class _Spec:
    """How every outcome is modelled: groups, cluster and covariates."""

    cfg: object
    book: object
    covariates: list[str]
    changes: list[str]

    def fit(self, data: pd.DataFrame, column: str, kind: str):
        book = self.book
        cluster = book.clusters[-1] if book.clusters else None
        try:
            return self._fit(data, column, kind, cluster)
        except np.linalg.LinAlgError as exc:  # a singular model the checks missed
            raise DataError(
                f"{self.cfg.path}: outcome '{column}': the model cannot be fitted "
                f"({exc}): look for a constant covariate, or an arm or wave with "
                "very few participants"
            ) from None
        except DataError as exc:
            method = {"lmm": "mixed model", **ANALYSES["sensitivity"]}[kind]
            raise DataError(
                f"{self.cfg.path}: outcome '{column}', {method}: {exc}",
                problems=exc.problems,
            ) from None

    def _fit(self, data: pd.DataFrame, column: str, kind: str, cluster):
        book = self.book
        model = self.cfg.model
        family = outcome_family(book, column)
        options: dict = {"family": family}
        if kind == "lmm":
            options |= {
                "groups": model_groups(self.cfg, book),
                "wave_effects": model.wave_effects,
                "slopes": model.slopes,
            }
            if family == "gaussian":  # a GLMM's tests are Wald z
                options["df_method"] = model.df
        elif kind.startswith("wild-bootstrap"):
            given = model.wild_bootstrap.model_dump(exclude_none=True)
            options |= {**given, "seed": self.cfg.seed}
        elif kind == "gee":
            options |= model.gee.model_dump(exclude_none=True)
        return effect_by_wave(
            data,
            outcome=column,
            group=book.group,
            treated=book.intervention,
            wave=book.wave,
            id=book.id,
            method=kind,
            cluster=cluster,
            covariates=self.covariates,
            time_covariates=self.changes,
            **options,
        )


def check_model(cfg, book) -> None:
    """The config's model options against the codebook, before anything is
    fitted: level-by-wave effects and slopes name levels of the model, and the
    wild cluster bootstrap has a cluster; binary and count outcomes are not
    given linear models of a continuous outcome."""
    model = cfg.model
    _check_families(cfg, book)
    if cfg.imputation and cfg.imputation.cluster_model != "fixed" and not book.clusters:
        raise DataError(
            f"{cfg.path}: [imputation] cluster_model = "
            f"'{cfg.imputation.cluster_model}' gives each cluster a random "
            f"intercept, and the codebook {book.path} declares no clusters: name "
            "them in [study] clusters, or leave cluster_model out"
        )
    if cfg.imputation and (cfg.imputation.level, cfg.imputation.cluster_model) == (
        "items",
        "random",
    ):
        raise DataError(
            f"{cfg.path}: [imputation] level = 'items' imputes response codes, and "
            "cluster_model = 'random' draws any number (2l.pan's normal draws): "
            "use cluster_model = 'random-pmm', which draws codes the item was "
            "given, or 'fixed'"
        )
    if model.kind == "lmm":
        groups = model_groups(cfg, book)
        for key, levels in (
            ("wave_effects", model.wave_effects),
            ("slopes", model.slopes),
        ):
            unknown = [g for g in levels if g not in groups]
            if unknown:
                raise DataError(
                    f"{cfg.path}: [model] {key} names {unknown}, which are not "
                    f"levels of the mixed model (groups: {groups})"
                )
        if book.id in model.wave_effects:
            raise DataError(
                f"{cfg.path}: [model] wave_effects names the participant "
                f"'{book.id}': a participant-by-wave effect is the residual (one "
                "interview per wave); name a cluster level"
            )
        if model.slopes and len(book.waves) < 3:
            raise DataError(
                f"{cfg.path}: [model] slopes need three or more waves; the codebook "
                f"has {len(book.waves)}: with two, use wave_effects"
            )
    wild = [s for s in model.sensitivity if s.startswith("wild-bootstrap")]
    if wild and not book.clusters:
        raise DataError(
            f"{cfg.path}: [model] sensitivity asks for {wild[0]!r}, which resamples "
            "clusters, but the codebook declares none ([study] clusters)"
        )


def _check_families(cfg, book) -> None:
    """ANCOVA and the wild bootstrap (OLS) model a continuous outcome: a binary
    or count outcome is refused them, naming it and what to change."""
    for label, column in cfg.outcomes.items():
        family = outcome_family(book, column)
        if family == "gaussian":
            continue
        what = (
            f"{cfg.path}: outcome '{label}' ('{column}') is {_TYPE_WORDS[family]} in "
            "the codebook"
        )
        model = "logistic" if family == "binomial" else "Poisson"
        if cfg.model.kind in _LINEAR_ONLY:
            raise DataError(
                f'{what}, but [model] kind = "{cfg.model.kind}" is a linear model '
                'of a continuous outcome: set kind = "lmm" (a mixed '
                f"{model} model, its effect "
                f"{'an' if RATIOS[family][0] in 'aeiou' else 'a'} "
                f"{RATIOS[family]}), or analyse it elsewhere"
            )
        linear = [s for s in cfg.model.sensitivity if s in _LINEAR_ONLY]
        if linear:
            raise DataError(
                f"{what}, but [model] sensitivity asks for {linear[0]!r}, a linear "
                'model of a continuous outcome: leave it out of the list ("gee" '
                f"fits a {model} marginal model)"
            )


def model_groups(cfg, book) -> list[str]:
    """The mixed model's random-intercept levels: the config's ``groups``, or the
    codebook's clusters and the participant. The config's list must follow the
    codebook's nesting (outermost first) and end with the participant."""
    default = [*book.clusters, book.id]
    groups = list(cfg.model.groups or default)
    unknown = [g for g in groups if g not in default]
    if unknown:
        raise DataError(
            f"{cfg.path}: [model] groups names {unknown}, which the codebook does "
            f"not declare as clusters or the participant id (those are {default})"
        )
    order = [default.index(g) for g in groups]
    for k in range(len(order) - 1):
        if order[k] > order[k + 1]:
            raise DataError(
                f"{cfg.path}: [model] groups {groups} reverse the codebook's "
                f"nesting {default} (outermost first): '{groups[k]}' is nested in "
                f"'{groups[k + 1]}', so it comes after it"
            )
    return groups


def _rows(label, column, analysis, fit, data, book) -> list[tuple[dict, frozenset]]:
    """A row per follow-up wave of one fitted analysis."""
    frame = fit.to_frame()
    out = []
    for record in frame.to_dict("records"):
        wave = record["wave"]
        ids = fit.participants[wave]
        row = {"outcome": label, "column": column, "analysis": analysis}
        row["wave"] = wave
        row.update(_means(data, book, column, wave, ids))
        row.update(_estimate(record, fit, wave, book))
        out.append((row, ids))
    return out


def _estimate(record: dict, fit, wave: str, book) -> dict:
    values = {
        "n_participants": int(record["n_participants"]),
        "n_obs": int(record["n_obs"]),
        "difference": record["params"],
        "se": record["se"],
        "ci_low": record["ci_low"],
        "ci_high": record["ci_high"],
        "p_val": record["pvalues"],
        "df": record["df"],
        "df_method": record["df_method"],
    }
    model = fit.fits[wave]
    values["model"] = MODELS[fit.method]
    if fit.family != "gaussian":
        values["model"] = model_name(fit.method, fit.family)
        values["scale"] = fit.scale
        for key in ("ratio", "ratio_ci_low", "ratio_ci_high"):
            values[key] = record[key]
        if fit.family == "binomial":
            for key in ("", "_se", "_ci_low", "_ci_high"):
                values[f"risk_difference{key}"] = record.get(
                    f"risk_difference{key}", np.nan
                )
    if fit.method == "lmm":
        values.update(
            icc=_cluster_icc(model, book) if fit.family == "gaussian" else np.nan,
            singular=bool(model.singular),
            converged=bool(model.converged),
        )
    elif fit.method == "ancova":
        values.update(
            hedges_g=record["hedges_g"],
            partial_eta2=record["partial_eta2"],
        )
    return values


def _cluster_icc(model, book) -> float:
    """The allocation cluster's ICC (its random intercept's share of the
    variance), under its name in the model: ``team`` in the nested model,
    ``site:team`` when the model names it within its site; NaN with random
    slopes, whose share of variance depends on the wave."""
    if not book.clusters:
        return np.nan
    cluster = book.clusters[-1]
    terms = model.varcorr
    if (
        terms is not None
        and (terms["var1"].ne("(Intercept)") & terms["grp"].ne("Residual")).any()
    ):
        return np.nan
    icc = model.icc
    if cluster in icc:
        return icc[cluster]
    nested = [g for g in icc if g.split(":")[-1] == cluster]
    return icc[nested[0]] if nested else np.nan


#: Designs whose arms were randomised: their estimates get no E-values
RANDOMISED = ("randomised", "cluster-randomised")


def _e_values(data, book, row: dict, ids: frozenset) -> dict:
    """The E-values of a row's estimate and of its CI limit nearer the null
    (VanderWeele and Ding 2017), from the observed outcome at its wave among
    the participants behind it (the SD a mean difference is standardised by;
    whether a binary outcome is rare)."""
    used = data[data[book.id].isin(ids) & (data[book.wave] == row["wave"])]
    result = effect_e_value(
        scale=row.get("scale", "mean difference"),
        estimate=row["difference"],
        se=row["se"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        outcome=used[row["column"]],
        group=used["treated"],
    )
    return {"e_value": result.e_value, "e_value_ci": result.e_value_ci}


def _means(data, book, column, wave: str, ids: frozenset) -> dict:
    """Observed means and counts by arm of the participants an estimate used."""
    used = data[data[book.id].isin(ids)]
    base = used[used["time"] == 0].groupby("treated")[column].mean()
    later = used[used[book.wave] == wave].groupby("treated")[column].mean()
    people = used.drop_duplicates(book.id)["treated"].value_counts()
    return {
        "n_intervention": int(people.get(1, 0)),
        "n_comparator": int(people.get(0, 0)),
        "mean_baseline_intervention": base.get(1),
        "mean_baseline_comparator": base.get(0),
        "mean_followup_intervention": later.get(1),
        "mean_followup_comparator": later.get(0),
    }


# ------------------------------------------------------------ imputation


@dataclass(frozen=True)
class PrimaryWave:
    """The baseline and primary-wave rows (by participant id), the allocation
    cluster and the continuous outcomes: what ``[dose]`` and ``[subgroups]``
    analyse."""

    wave: str
    base: pd.DataFrame
    later: pd.DataFrame
    cluster: str | None
    continuous: dict[str, str]


def primary_wave(cfg, data: pd.DataFrame, book, *, section: str) -> PrimaryWave:
    """:class:`PrimaryWave` of a run; a DataError naming ``section`` when every
    outcome is binary or a count (the section estimates mean differences)."""
    wave = cfg.wave(book)
    continuous = {
        label: column
        for label, column in cfg.outcomes.items()
        if outcome_family(book, column) == "gaussian"
    }
    if not continuous:
        raise DataError(
            f"{cfg.path}: {section} estimates mean differences, for continuous "
            "outcomes only, and every outcome here is binary or a count: leave "
            f"{section} out"
        )
    return PrimaryWave(
        wave,
        data[data["time"] == 0].set_index(book.id),
        data[data[book.wave] == wave].set_index(book.id),
        book.clusters[-1] if book.clusters else None,
        continuous,
    )


def _imputed_rows(cfg, data, book, spec, ps_covariates) -> list:
    """Impute each outcome at every wave, by arm, with cluster indicators; refit
    the same model on every completed data set (re-estimating the propensity
    score in each) and pool each wave's effect with Rubin's rules and
    Barnard-Rubin df."""
    columns = list(cfg.outcomes.values())
    base_covs = list(spec.covariates)
    base_covs += [c for c in ps_covariates if c not in [*base_covs, *columns]]
    plan = item_plan(cfg, book, columns) if cfg.imputation.level == "items" else None
    wide, imputed, predictors = _wide(
        data, book, plan.columns if plan else columns, base_covs
    )
    waves = len(book.waves)
    imputations = impute(
        wide,
        imputed,
        predictors=predictors,
        by="treated",
        cluster=book.clusters[-1] if book.clusters else None,
        cluster_model=cfg.imputation.cluster_model if book.clusters else "fixed",
        m=cfg.imputation.m,
        iterations=cfg.imputation.iterations,
        seed=cfg.seed,
        **(plan.options(imputed, waves) if plan else {}),
    )
    fits: dict[str, list] = {label: [] for label in cfg.outcomes}
    completed_sets = [
        _long(
            plan.rescore(completed, waves) if plan else completed,
            book,
            columns,
            base_covs,
        )
        for completed in imputations.datasets
    ]
    if ps_covariates:
        logits = [
            propensity(long, book.id, ps_covariates).logit for long in completed_sets
        ]
        if cfg.propensity.approach == "across":
            logits = [across_imputations(logits)] * len(logits)
        for long, logit in zip(completed_sets, logits, strict=True):
            long[PS] = long[book.id].map(logit)
    for long in completed_sets:
        for label, column in cfg.outcomes.items():
            fits[label].append(spec.fit(long, column, cfg.model.kind))
    analysis = f"multiple imputation (m = {imputations.m})"
    everyone = frozenset(wide[book.id])
    stacked = pd.concat(completed_sets, ignore_index=True)
    rows = []
    for label, column in cfg.outcomes.items():
        for wave in fits[label][0].params.index:
            row = {"outcome": label, "column": column, "analysis": analysis}
            row["wave"] = wave
            row.update(_means(stacked, book, column, wave, everyone))
            row.update(
                _pooled([f.to_frame().set_index("wave").loc[wave] for f in fits[label]])
            )
            family = fits[label][0].family
            row["model"] = model_name(cfg.model.kind, family)
            row["n_participants"] = len(wide)
            rows.append((row, everyone))
    return rows


def across_imputations(logits: list[pd.Series]) -> pd.Series:
    """The "across" propensity score (R MatchThem's ``approach = "across"``):
    each participant's probability averaged over the completed data sets, as a
    logit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> p = [pd.Series([0.2, 0.5]), pd.Series([0.4, 0.5])]
    >>> logit = across_imputations([np.log(q / (1 - q)) for q in p])
    >>> np.round(1 / (1 + np.exp(-logit)), 3).tolist()
    [0.3, 0.5]
    """
    probabilities = pd.concat([1 / (1 + np.exp(-x)) for x in logits], axis=1)
    mean = probabilities.mean(axis=1)
    return np.log(mean / (1 - mean)).rename(PS)


def _pooled(results: list[pd.Series]) -> dict:
    df_complete = float(np.mean([r["df"] for r in results]))
    pooled = pool(
        [r["params"] for r in results],
        [r["se"] ** 2 for r in results],
        df_complete=df_complete,
    )
    limits = pooled.conf_int().iloc[0]
    ratios = {}
    if "ratio" in results[0].index:  # a binary or count outcome: log scale pooled
        ratios = {
            "ratio": np.exp(pooled.params[0]),
            "ratio_ci_low": np.exp(limits["ci_low"]),
            "ratio_ci_high": np.exp(limits["ci_high"]),
        }
        scale = "log odds ratio" if "risk_difference" in results[0].index else None
        ratios["scale"] = scale or "log rate ratio"
    if "risk_difference" in results[0].index:  # pooled on its own scale
        rd = pool(
            [r["risk_difference"] for r in results],
            [r["risk_difference_se"] ** 2 for r in results],
        )
        rd_limits = rd.conf_int().iloc[0]
        ratios |= {
            "risk_difference": rd.params[0],
            "risk_difference_se": rd.se[0],
            "risk_difference_ci_low": rd_limits["ci_low"],
            "risk_difference_ci_high": rd_limits["ci_high"],
        }
    return ratios | {
        "difference": pooled.params[0],
        "se": pooled.se[0],
        "ci_low": limits["ci_low"],
        "ci_high": limits["ci_high"],
        "p_val": pooled.pvalues[0],
        "df": pooled.df[0],
        "df_method": "Barnard-Rubin (complete-data df: mean "
        f"{results[0]['df_method']})",
        "fmi": pooled.fmi[0],
        "n_obs": int(results[0]["n_obs"]),
    }


def _wide(data, book, columns, covariates):
    """One row per baseline participant: arm, clusters, covariates, and each
    outcome at every wave as ``column@time``; the columns to impute (the
    outcomes and any covariate with missing values) and the complete
    covariates as predictors (categories as indicators)."""
    base = data[data["time"] == 0].set_index(book.id)
    keep = ["treated", book.group, *book.clusters, *covariates]
    wide = base[list(dict.fromkeys(keep))].copy()
    imputed, parts = [], {}
    by_time = [
        data[data["time"] == time].set_index(book.id) for time in range(len(book.waves))
    ]
    for column in columns:
        for time, part in enumerate(by_time):
            name = f"{column}@{time}"
            parts[name] = part[column].reindex(wide.index)
            imputed.append(name)
    wide = pd.concat([wide, pd.DataFrame(parts, index=wide.index)], axis=1)
    incomplete = [c for c in covariates if wide[c].isna().any()]
    imputed += incomplete  # numbers by PMM, categories by logistic regression
    complete = [c for c in covariates if c not in incomplete]
    numeric = _indicators(wide[complete]) if complete else wide[[]]
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
    long = pd.concat(parts, ignore_index=True)
    long[book.wave] = pd.Categorical.from_codes(
        long["time"], categories=list(book.waves), ordered=True
    )
    return long


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
