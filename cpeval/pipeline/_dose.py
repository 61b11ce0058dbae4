"""The effect per unit of dose (``[dose]``): each continuous outcome at the primary
wave, by two-stage least squares with allocation as the instrument
(:func:`cpeval.models.fit_iv`), adjusted for the outcome at baseline and the
model's covariates, clustered by the allocation unit. With ``[economics]``, the
same for the cost and QALYs to the primary wave and the net monetary benefit at
each willingness to pay (DiazOrdaz, Franchini and Grieve 2018: instrumental
variables for cost-effectiveness; net benefit regression, Hoch et al. 2002)."""

from __future__ import annotations

import pandas as pd

from .._checks import numeric
from ..exceptions import DataError
from ..models import fit_iv
from ._economics import _people
from ._outcomes import _indicators, primary_wave

__all__ = ["dose_analysis"]


def dose_analysis(cfg, data: pd.DataFrame, book) -> pd.DataFrame:
    """One row per continuous outcome: the effect per unit of the ``[dose]``
    exposure at the primary wave, with its n, interval and first-stage F."""
    exposure = cfg.dose.exposure
    dose = _one_dose(cfg, data, book, exposure)
    frames = primary_wave(cfg, data, book, section="[dose]")
    wave, base, later = frames.wave, frames.base, frames.later
    cluster, continuous = frames.cluster, frames.continuous
    covariates = _indicators(base[list(cfg.model.covariates)])
    if exposure in cfg.model.covariates:
        raise DataError(
            f"{cfg.path}: [dose] exposure '{exposure}' is also a [model] covariate: "
            "the dose cannot be adjusted for itself"
        )
    rows = []
    if cfg.economics:
        rows += _economic_rows(cfg, data, book, dose, covariates, wave)
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
        covariate_names = ["baseline", *[c for c in wide if c.startswith("cov_")]]
        fit = _fit(cfg, wide, covariate_names, cluster)
        rows.append(_row(label, wave, exposure, fit, len(base) - fit.n_obs))
    order = [r for r in rows if r["outcome"] in continuous] + [
        r for r in rows if r["outcome"] not in continuous
    ]  # the outcomes first, then the economics
    return pd.DataFrame(order)


def _fit(cfg, wide: pd.DataFrame, covariates: list[str], cluster):
    try:
        return fit_iv(
            wide,
            outcome="outcome",
            exposure="dose",
            instrument="allocated",
            covariates=covariates,
            cluster="cluster" if cluster else None,
        )
    except DataError as exc:
        raise DataError(
            f"{cfg.path}: [dose] {_named(str(exc), cfg.dose.exposure)}"
        ) from None


def _named(text: str, exposure: str) -> str:
    """fit_iv's words with the user's names: the exposure, the allocation."""
    return text.replace("'dose'", f"'{exposure}'").replace(
        "'allocated'", "the allocation"
    )


def _row(label: str, wave: str, exposure: str, fit, dropped: int) -> dict:
    limits = fit.conf_int().loc["dose"]
    return {
        "outcome": label,
        "wave": wave,
        "n": fit.n_obs,
        "not analysed (not seen at the wave, or a value missing)": dropped,
        "clusters": fit.n_clusters,
        f"effect per unit of {exposure}": fit.params["dose"],
        "se": fit.se["dose"],
        "ci_low": limits["ci_low"],
        "ci_high": limits["ci_high"],
        "p_val": fit.pvalues["dose"],
        "df": fit.df["dose"],
        "first_stage_f": fit.first_stage_f,
        "note": "; ".join(_named(m, exposure) for m in fit.messages),
    }


def _economic_rows(cfg, data, book, dose, covariates, wave) -> list[dict]:
    """Cost, QALYs and net monetary benefit per unit of dose, on the same
    participants (cost and QALYs both known), adjusted for baseline utility and
    cost (when collected) and the model's covariates. The net benefit's estimate
    is exactly wtp x the QALYs' minus the cost's (2SLS is linear in the
    outcome); its own fit gives their joint uncertainty."""
    people, _ = _people(cfg, data, book)
    known = people.dropna(subset=["cost", "qaly"])
    baseline = [
        c for c in ("baseline_utility", "baseline_cost") if known[c].notna().any()
    ]
    wide = known[["treated", *baseline]].rename(columns={"treated": "allocated"})
    wide = wide.assign(dose=dose.reindex(known.index)).join(
        covariates.add_prefix("cov_")
    )
    cluster = book.clusters[-1] if book.clusters else None
    if cluster:
        wide["cluster"] = known[cluster]
    names = [*baseline, *[c for c in wide if c.startswith("cov_")]]
    outcomes = {
        f"cost to {wave} (£)": known["cost"],
        f"QALYs to {wave}": known["qaly"],
    }
    for wtp in cfg.economics.wtp:
        outcomes[f"net monetary benefit at £{wtp:,.0f} per QALY"] = (
            wtp * known["qaly"] - known["cost"]
        )
    rows = []
    for label, values in outcomes.items():
        fit = _fit(cfg, wide.assign(outcome=values), names, cluster)
        dropped = len(people) - fit.n_obs  # no cost or QALYs, or a value missing
        rows.append(_row(label, wave, cfg.dose.exposure, fit, dropped))
    return rows


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
