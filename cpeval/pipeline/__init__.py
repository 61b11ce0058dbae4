"""One analysis config (TOML) to tables, figures, report and provenance.

Composes the stages: io -> scales -> models/adjust/missing -> economics ->
tables/report. Nothing here computes a statistic itself.
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from .. import __version__
from .._files import sha256, write_atomic
from ..io import load_study
from ..report import write_report
from ..scales import score_study
from ..tables import baseline_table, render_table
from ._config import AnalysisConfig, load_config
from ._economics import DEFAULT_VALUE_SET, economic_evaluation
from ._figures import CAPTIONS, draw_figures
from ._outcomes import analysis_data, outcome_table

__all__ = ["AnalysisConfig", "load_config", "run"]

_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "matplotlib",
    "pyreadstat",
    "openpyxl",
    "python-docx",
)


def run(config: str | Path | AnalysisConfig, out: str | Path, *, say=print) -> Path:
    """Run a whole analysis and write tables, figures, report and provenance.

    Parameters
    ----------
    config : str, Path or AnalysisConfig
    out : str or Path
        Output folder (created; files are replaced atomically).
    say : callable
        Progress messages (``print`` by default).

    Returns
    -------
    Path
        The report.

    Examples
    --------
    >>> import tempfile
    >>> from cpeval.pipeline import run
    >>> report = run("analysis/pilot_study.toml", tempfile.mkdtemp(),
    ...              say=lambda *_: None)                      # doctest: +SKIP
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    out = Path(out)
    say(f"reading and validating {cfg.codebook}")
    study = score_study(load_study(cfg.codebook))
    book = study.codebook
    data = analysis_data(study)
    tables: dict[str, pd.DataFrame] = {"participant_flow": study.flow.table}
    tables["baseline"] = baseline_table(
        data[data["time"] == 0],
        list(book.covariates) + list(cfg.outcomes.values()),
        book.group,
    )
    say("fitting outcome models")
    tables["outcomes"], score = outcome_table(cfg, data, book, say=say)
    if score is not None:
        tables["balance"] = score.balance.reset_index()
    cea = None
    if cfg.economics:
        say(f"economic evaluation ({cfg.economics.get('n_boot', 2000)} bootstraps)")
        tables["costs"], tables["economics"], cea = economic_evaluation(cfg, data, book)
    say("drawing figures")
    figures = draw_figures(
        cfg,
        tables["outcomes"],
        data,
        book.group,
        out,
        balance=None if score is None else score.balance,
        cea=cea,
    )
    for name, table in tables.items():
        for fmt in cfg.formats:
            write_atomic(
                out / "tables" / f"{name}.{fmt}",
                render_table(table, fmt, title=name.replace("_", " ")),
            )
    provenance = _provenance(cfg, study, score)
    write_atomic(out / "provenance.json", json.dumps(provenance, indent=2) + "\n")
    report = write_report(
        out / "report.html",
        cfg.name,
        tables,
        figures,
        provenance,
        _findings(tables, study, score),
        methods=_methods(cfg, book, score),
        captions=CAPTIONS,
    )
    say(f"wrote {report}")
    return report


def _primary(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The rows the findings quote: multiple imputation when it was run."""
    imputed = outcomes[outcomes["analysis"].str.startswith("multiple imputation")]
    return imputed if len(imputed) else outcomes


def _findings(tables, study, score) -> list[str]:
    book = study.codebook
    flow = study.flow.table.set_index("stage")
    lines = [
        f"{int(flow.loc['recruited', 'total'])} people were recruited; "
        f"{int(flow.loc[f'interviewed at {book.waves[-1]}', 'total'])} were "
        f"interviewed at {book.waves[-1]}."
    ]
    intervention = book.groups[-1] if book.groups else "intervention"
    if book.group not in ("arm", "group", "allocation", "condition"):
        intervention = f"{intervention} {book.group}"  # e.g. "high fidelity"
    if score is not None:
        balance = score.balance["diff"].abs()
        terms = score.balance.loc[list(score.terms), "diff_adj"].abs()
        lines.append(
            f"At baseline the groups differed by up to {balance.max():.2f} standard "
            f"deviations ({balance.idxmax()}). Weighting by the propensity score "
            f"left its own characteristics ({', '.join(score.terms)}) within "
            f"{terms.max():.2f} standard deviations; the outcome models compare "
            "change from baseline, so they allow for baseline differences in the "
            "outcomes themselves."
        )
    for row in _primary(tables["outcomes"]).itertuples():
        direction = "higher" if row.difference > 0 else "lower"
        certain = (
            "the 95% interval excludes zero, a difference unlikely to be chance alone"
            if row.ci_low > 0 or row.ci_high < 0
            else "the 95% interval includes no difference, so chance could explain it"
        )
        lines.append(
            f"{row.outcome}: {abs(row.difference):.2f} points {direction} in the "
            f"{intervention} group (95% CI {row.ci_low:.2f} to {row.ci_high:.2f}; "
            f"{row.analysis}); {certain}."
        )
    if len(_primary(tables["outcomes"])) > 1:
        lines.append(
            f"{len(_primary(tables['outcomes']))} outcomes were compared: even with "
            "no real effect, about one 95% interval in twenty excludes zero by "
            "chance alone."
        )
    if "economics" in tables:
        econ = tables["economics"].set_index("quantity")
        column = econ.columns[-1]  # multiple imputation when it was run
        value = econ[column]
        cost = value["incremental cost (£)"]
        lines.append(
            f"Costs were £{abs(cost):,.0f} per person "
            f"{'lower' if cost < 0 else 'higher'} in the {intervention} group "
            f"(95% CI {value['incremental cost, 95% CI low']:,.0f} to "
            f"{value['incremental cost, 95% CI high']:,.0f}; {column})."
        )
        for name in value.index[value.index.str.startswith("probability")]:
            threshold = name.removeprefix("probability cost-effective at ")
            lines.append(
                f"The probability that it is cost-effective at {threshold} per "
                f"QALY is {_share(value[name])}."
            )
    return lines


def _share(p: float) -> str:
    """A probability as a percentage, without claiming certainty the bootstrap
    cannot give."""
    if p >= 0.995:
        return "over 99%"
    if p <= 0.005:
        return "under 1%"
    return f"{p:.0%}"


def _methods(cfg, book, score) -> list[str]:
    model = cfg.model
    if model["kind"] == "lmm":
        text = (
            "Each outcome was modelled with a linear mixed model fitted by REML, with "
            f"random intercepts for {', '.join(model['groups'])} (nested), fixed "
            "effects for time, group and their interaction (the effect: the "
            "difference between groups in change from baseline)"
        )
        df = "Satterthwaite degrees of freedom (as lmerTest)"
    else:
        text = (
            "Each outcome at follow-up was compared between groups by ANCOVA "
            "adjusted for its baseline value"
        )
        df = (
            f"CR2 cluster-robust errors by {book.clusters[-1]} with Satterthwaite "
            "degrees of freedom (as clubSandwich)"
            if book.clusters
            else "model-based errors"
        )
    if model.get("covariates"):
        joined = ", ".join(model["covariates"])
        text += (
            f", adjusted for {joined}" if model["kind"] == "lmm" else f" and {joined}"
        )
    lines = [f"{text}; intervals and p-values use {df}."]
    if model.get("sensitivity") == "ancova":
        lines.append(
            "As a sensitivity analysis, follow-up was also compared by ANCOVA "
            "adjusted for baseline and the same covariates, with CR2 "
            "cluster-robust errors by "
            f"{book.clusters[-1] if book.clusters else 'cluster'} and "
            "Satterthwaite df (as clubSandwich); unlike the mixed model, it does "
            "not assume that team effects stay the same between waves."
        )
    if score is not None:
        lines.append(
            "Propensity adjustment: the probability of being in the "
            f"{book.groups[-1] if book.groups else 'intervention'} group was modelled "
            f"by logistic regression ({score.formula}); its logit entered each "
            "outcome model as a covariate"
            + (" and in interaction with time" if model["kind"] == "lmm" else "")
            + ". The balance table and Love plot check the score by weighting with "
            "it (ATE inverse-probability weights; pooled-SD standardised "
            f"differences, 0.1 marked). {score.n_dropped} participants had no score."
        )
    if cfg.imputation:
        lines.append(
            f"Multiple imputation: {cfg.imputation['m']} imputations by chained "
            "equations (predictive mean matching), separately in each group, of "
            "every outcome at every wave, with "
            + (f"{book.clusters[-1]} indicators and " if book.clusters else "")
            + "the covariates as predictors "
            f"({cfg.imputation.get('iterations', 10)} iterations, seed {cfg.seed}); "
            "the propensity score was re-estimated and the model refitted in each "
            "completed data set, and the effects pooled by Rubin's rules with "
            "Barnard-Rubin degrees of freedom (as mice). The findings quote the "
            "imputed analysis; the available-data analysis is beside it."
        )
    if cfg.economics:
        econ = cfg.economics
        vs = econ.get("value_set", DEFAULT_VALUE_SET)
        prices = econ.get("price_year", "2022/23")
        lines.append(
            f"Economics: EQ-5D-{vs['version']} utilities ({vs['country']} "
            f"{vs['type']} value set), QALYs by the area under the curve between "
            f"interview dates, service use costed at {prices} "
            "unit costs over the follow-up period, among participants with both; "
            f"{econ.get('n_boot', 2000)} bootstrap replicates"
            + (
                f" resampling {econ['cluster']}s within group"
                if econ.get("cluster")
                else ""
            )
            + f" (seed {cfg.seed}) give the intervals, the CE plane and the CEAC."
        )
        if cfg.imputation:
            lines.append(
                "The imputed economic analysis imputes missing total cost and QALYs "
                "by chained equations in each group (predictors: baseline cost and "
                "utility"
                + (f", {econ['cluster']} indicators" if econ.get("cluster") else "")
                + "), bootstraps each completed data set as above and pools by "
                "Rubin's rules (normal 95% interval on the total variance); the "
                "CE plane and CEAC stack every imputation's replicates."
            )
    lines.append(
        "Every estimator is checked against R (lme4/lmerTest, clubSandwich, mice, "
        "cobalt formulas, boot) in cpeval's test suite; input hashes, versions and "
        "settings are under Provenance."
    )
    return lines


def _provenance(cfg: AnalysisConfig, study, score) -> dict:
    inputs = [
        {"path": f.path, "sha256": f.sha256, "rows": f.n_rows}
        for f in study.report.files
    ]
    return {
        "analysis": cfg.name,
        "formats": list(cfg.formats),
        "config": {"path": str(cfg.path), "sha256": sha256(cfg.path)},
        "codebook": {"path": str(cfg.codebook), "sha256": sha256(cfg.codebook)},
        "inputs": inputs,
        "seed": cfg.seed,
        "model": cfg.model,
        "df_method": "Satterthwaite (lmerTest)"
        if cfg.model["kind"] == "lmm"
        else "CR2 with Satterthwaite df (clubSandwich)",
        "propensity": {**cfg.propensity, "formula": score.formula}
        if score is not None
        else {},
        "imputation": {**cfg.imputation, "df_method": "Barnard-Rubin"}
        if cfg.imputation
        else {},
        "economics": cfg.economics,
        "instruments": dict(study.codebook.definitions),
        "cpeval": __version__,
        "python": platform.python_version(),
        "packages": {name: _installed(name) for name in _PACKAGES},
        "diagnostics": list(study.report.to_frame()["message"]),
    }


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
