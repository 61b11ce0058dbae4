"""The effect per unit of dose (``[dose]``): each continuous outcome at the primary
wave, by two-stage least squares with allocation as the instrument
(:func:`cpeval.models.fit_iv`), adjusted for the outcome at baseline and the
model's covariates, clustered by the allocation unit."""

from __future__ import annotations

import pandas as pd

from .._checks import numeric
from ..exceptions import DataError
from ..models import fit_iv
from ._outcomes import _indicators, outcome_family

__all__ = ["dose_analysis"]


def dose_analysis(cfg, data: pd.DataFrame, book) -> pd.DataFrame:
    """One row per continuous outcome: the effect per unit of the ``[dose]``
    exposure at the primary wave, with its n, interval and first-stage F."""
    exposure = cfg.dose.exposure
    dose = _one_dose(cfg, data, book, exposure)
    wave = cfg.wave(book)
    base = data[data["time"] == 0].set_index(book.id)
    later = data[data[book.wave] == wave].set_index(book.id)
    covariates = _indicators(base[list(cfg.model.covariates)])
    cluster = book.clusters[-1] if book.clusters else None
    continuous = {
        label: column
        for label, column in cfg.outcomes.items()
        if outcome_family(book, column) == "gaussian"
    }
    if not continuous:
        raise DataError(
            f"{cfg.path}: [dose] estimates a mean difference per unit of dose, for "
            "continuous outcomes only, and every outcome here is binary or a "
            "count: leave [dose] out"
        )
    if exposure in cfg.model.covariates:
        raise DataError(
            f"{cfg.path}: [dose] exposure '{exposure}' is also a [model] covariate: "
            "the dose cannot be adjusted for itself"
        )
    rows = []
    for label, column in continuous.items():
        wide = pd.DataFrame(
            {
                "outcome": later[column],
                "baseline": base[column].reindex(later.index),
                "dose": dose.reindex(later.index),
                "allocated": later["treated"],
            }
        ).join(covariates.add_prefix("cov_"))
        if cluster:
            wide["cluster"] = later[cluster]
        fit = fit_iv(
            wide,
            outcome="outcome",
            exposure="dose",
            instrument="allocated",
            covariates=["baseline", *[c for c in wide if c.startswith("cov_")]],
            cluster="cluster" if cluster else None,
        )
        limits = fit.conf_int().loc["dose"]
        rows.append(
            {
                "outcome": label,
                "wave": wave,
                "n": fit.n_obs,
                "not analysed (a value missing)": fit.n_dropped,
                "clusters": fit.n_clusters,
                f"effect per unit of {exposure}": fit.params["dose"],
                "se": fit.se["dose"],
                "ci_low": limits["ci_low"],
                "ci_high": limits["ci_high"],
                "p_val": fit.pvalues["dose"],
                "df": fit.df["dose"],
                "first_stage_f": fit.first_stage_f,
                "note": "; ".join(fit.messages),
            }
        )
    return pd.DataFrame(rows)


def _one_dose(cfg, data: pd.DataFrame, book, exposure: str) -> pd.Series:
    """Each participant's dose: one value (it may be written at any wave), and
    given in the comparator arm too (0 where nothing was delivered)."""
    values = data[[book.id, exposure, "treated"]].dropna(subset=[exposure])
    counts = values.groupby(book.id)[exposure].nunique()
    several = counts[counts > 1]
    if len(several):
        raise DataError(
            f"{cfg.path}: [dose] exposure '{exposure}' has {int(several.iloc[0])} "
            f"different values for participant '{several.index[0]}' (and "
            f"{len(several) - 1} others): the dose is one value per participant"
        )
    comparator = data.loc[data["treated"] == 0, book.id].unique()
    given = set(values[book.id])
    if comparator.size and not any(p in given for p in comparator):
        raise DataError(
            f"{cfg.path}: [dose] exposure '{exposure}' is missing for everyone in "
            "the comparator arm: write the dose they received (0 where the "
            "intervention was not delivered); it is never assumed"
        )
    dose = values.groupby(book.id)[exposure].first()
    return numeric(dose, f"{cfg.path}: [dose] exposure")
