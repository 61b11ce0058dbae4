"""The declared subgroups (``[subgroups]``): each continuous outcome's effect at
the primary wave within each level of each subgroup, with the test that the
effect is the same in every level (:func:`cpeval.models.subgroup_effects`), and
the effect in everyone analysed beside them (:func:`cpeval.models.ancova`).
Only declared subgroups run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._checks import numeric
from ..exceptions import DataError
from ..models import ancova, subgroup_effects
from ..models._subgroups import MAX_LEVELS
from ._outcomes import PS, _indicators, primary_wave

__all__ = ["ALL", "SubgroupTables", "check_subgroups", "subgroup_analysis"]

ALL = "all analysed"  # the level label of the row of everyone in the analysis


@dataclass(frozen=True)
class SubgroupTables:
    """The subgroup effects (a row per outcome, subgroup and level, with a row
    of everyone first) and the interaction tests (a row per outcome and
    subgroup)."""

    effects: pd.DataFrame
    tests: pd.DataFrame


def subgroup_analysis(
    cfg, data: pd.DataFrame, book, arms, score=None
) -> SubgroupTables:
    """Every declared subgroup of every continuous outcome at the primary wave,
    adjusted as the ANCOVA (baseline, the model's covariates and the propensity
    score's logit when there is one), CR2 by the allocation cluster."""
    frames = primary_wave(cfg, data, book, section="[subgroups]")
    wave, base, later = frames.wave, frames.base, frames.later
    cluster, continuous = frames.cluster, frames.continuous
    effects, tests = [], []
    for name, declared in cfg.subgroups.items():
        levels = _subgroup(cfg, base, name, declared, book)
        covariates = _indicators(base[list(cfg.model.covariates)]).add_prefix("cov_")
        if score is not None:
            covariates["cov_" + PS] = score.logit.reindex(base.index)
        within = [c for c in covariates if c not in _left_out(cfg, base, declared)]
        for label, column in continuous.items():
            wide = pd.DataFrame(
                {
                    "outcome": later[column],
                    "baseline": base[column].reindex(later.index),
                    "allocated": later["treated"],
                    "subgroup": levels.reindex(later.index),
                }
            ).join(covariates)
            if cluster:
                wide["cluster"] = later[cluster]
            found = _fit(cfg, wide, label, name, list(covariates), within, cluster)
            effects += _effect_rows(label, name, wave, arms, *found)
            tests.append(_test_row(label, name, wave, found[1]))
    return SubgroupTables(pd.DataFrame(effects), pd.DataFrame(tests))


def _left_out(cfg, base: pd.DataFrame, declared) -> set[str]:
    """Covariate columns the subgroup's own model leaves out: a covariate that
    is the subgroup itself (in the model as its levels), and the propensity
    logit when it is a combination of the levels and covariates."""
    out = set()
    if not declared.cut_points and declared.column in cfg.model.covariates:
        out |= set(_indicators(base[[declared.column]]).add_prefix("cov_").columns)
    if redundant_score(cfg, declared):
        out.add("cov_" + PS)
    return out


def redundant_score(cfg, declared) -> bool:
    """Whether the propensity score's logit is a linear combination of the
    subgroup's levels and the model's covariates (every score covariate is one
    of them), so that it adds nothing to the subgroup's model."""
    if declared.cut_points:
        return False
    known = {*cfg.model.covariates, declared.column}
    return set(cfg.propensity_covariates) <= known


def check_subgroups(cfg, data: pd.DataFrame, book) -> None:
    """Each declared subgroup's levels, before anything is fitted: known at
    baseline, a category of 2 to 10 levels, or a numeric column cut into bands."""
    base = data[data["time"] == 0].set_index(book.id)
    for name, declared in cfg.subgroups.items():
        if not name.strip():
            raise DataError(f"{cfg.path}: a [subgroups] label is empty: name it")
        twice = [
            other
            for other, entry in cfg.subgroups.items()
            if entry == declared and other != name
        ]
        if twice:
            raise DataError(
                f"{cfg.path}: [subgroups] '{name}' and '{twice[0]}' declare the same "
                "subgroup: keep one"
            )
        levels = _subgroup(cfg, base, name, declared, book).dropna()
        found = levels.nunique()
        if not 2 <= found <= MAX_LEVELS:
            raise DataError(
                f"{cfg.path}: [subgroups] '{name}' has {found} level"
                f"{'s' if found != 1 else ''} at baseline: a subgroup needs 2 to "
                f"{MAX_LEVELS}"
            )
        arms = base.loc[levels.index, "treated"].groupby(levels.astype(str)).nunique()
        one_arm = arms[arms < 2]
        if len(one_arm):
            raise DataError(
                f"{cfg.path}: [subgroups] '{name}' level '{one_arm.index[0]}' is "
                "found in one arm only at baseline: its effect cannot be estimated; "
                "recode it into another level or leave the subgroup out"
            )


def _subgroup(cfg, base: pd.DataFrame, name: str, declared, book) -> pd.Series:
    """Each participant's level at baseline: the column's values (in the
    codebook's order of its categories), or its bands."""
    values = base[declared.column]
    spec = book.columns.get(declared.column)
    if values.isna().all():
        raise DataError(
            f"{cfg.path}: [subgroups] '{name}': column '{declared.column}' has no "
            "baseline values; a subgroup must be known at baseline"
        )
    if not declared.cut_points:
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_LEVELS:
            raise DataError(
                f"{cfg.path}: [subgroups] '{name}': column '{declared.column}' has "
                f"{values.nunique()} distinct values, a measurement rather than a "
                f"category: cut it into bands, e.g. {name!r} = {{ column = "
                f'"{declared.column}", cut_points = [...] }}'
            )
        if spec is not None and spec.values and values.isin(spec.values).all():
            order = [v for v in spec.values if (values == v).any()]
            return pd.Series(
                pd.Categorical(values, categories=order), index=values.index
            )
        return values
    if not pd.api.types.is_numeric_dtype(values):
        raise DataError(
            f"{cfg.path}: [subgroups] '{name}': cut_points band a numeric column, "
            f"and '{declared.column}' holds text (e.g. {values.dropna().iloc[0]!r}): "
            f"leave cut_points out to use its categories"
        )
    number = numeric(values, f"{cfg.path}: [subgroups] '{name}'")
    points = list(declared.cut_points)
    labels = [f"under {points[0]:g}"]
    labels += [f"{a:g} to under {b:g}" for a, b in itertools.pairwise(points)]
    labels.append(f"{points[-1]:g} and over")
    codes = np.searchsorted(points, number.to_numpy(float), side="right")
    band = pd.Categorical.from_codes(
        np.where(number.isna(), -1, codes), categories=labels, ordered=True
    )
    return pd.Series(band, index=values.index, name=declared.column)


def _fit(cfg, wide, label, name, covariates, within, cluster):
    """The subgroup's model, and the ANCOVA of everyone with a level (the
    primary ANCOVA's estimate when nobody lacks one)."""
    options = {
        "outcome": "outcome",
        "baseline": "baseline",
        "group": "allocated",
        "cluster": "cluster" if cluster else None,
    }
    try:
        levels = subgroup_effects(
            wide, subgroup="subgroup", covariates=within, **options
        )
        everyone = ancova(
            wide.dropna(subset=["subgroup"]), covariates=covariates, **options
        )
    except DataError as exc:
        message = (
            str(exc)
            .replace("'subgroup by allocated'", f"of the subgroup '{name}'")
            .replace("'subgroup[", f"'{name}[")
            .replace("'subgroup'", f"'{name}'")
            .replace(":allocated'", ":arm'")
        )
        raise DataError(
            f"{cfg.path}: [subgroups] '{name}', outcome '{label}': {message}"
        ) from None
    return everyone, levels


def _effect_rows(label, name, wave, arms, everyone, within) -> list[dict]:
    i, c = arms
    limits = everyone.conf_int().loc["allocated"]
    overall = {
        "level": ALL,
        f"n ({i})": int(within.counts["intervention"].sum()),
        f"n ({c})": int(within.counts["comparator"].sum()),
        "difference": everyone.params["allocated"],
        "se": everyone.se["allocated"],
        "ci_low": limits["ci_low"],
        "ci_high": limits["ci_high"],
        "df": everyone.df["allocated"],
        "p_val": everyone.pvalues["allocated"],
    }
    frame = within.to_frame()
    rows = [overall] + [
        {
            "level": str(r["level"]),
            f"n ({i})": int(r["n_intervention"]),
            f"n ({c})": int(r["n_comparator"]),
            "difference": r["params"],
            "se": r["se"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "df": r["df"],
            "p_val": r["pvalues"],
        }
        for r in frame.to_dict("records")
    ]
    return [{"outcome": label, "subgroup": name, "wave": wave, **r} for r in rows]


def _test_row(label, name, wave, within) -> dict:
    return {
        "outcome": label,
        "subgroup": name,
        "wave": wave,
        "levels": len(within.params),
        "n": within.n_obs,
        "clusters": within.n_clusters,
        "test": within.interaction_test,
        "F": within.interaction_f,
        "df_num": within.interaction_df_num,
        "df_denom": within.interaction_df_denom,
        "p_val": within.interaction_pvalue,
    }
