"""One analysis config (TOML) to tables, figures, report and provenance.

Composes the stages: io -> scales -> models/adjust/missing -> economics ->
tables/report. Nothing here computes a statistic itself.
"""

from __future__ import annotations

import json
import platform
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from .. import __version__
from .._files import sha256, staged_folder, write_atomic
from .._threads import one_blas_thread
from ..io import load_study
from ..models._waves import _Random, random_terms
from ..report import (
    Figure,
    Report,
    Table,
    checklist_table,
    checklists_for,
    flow_boxes,
    flow_description,
    get_checklist,
    plot_flow,
    render_flow,
    write_report,
)
from ..scales import scale_directions, score_study
from ..tables import render_table
from ._config import AnalysisConfig, load_config
from ._diagnostics import diagnostics
from ._display import baseline_wide, outcome_display, table_spec
from ._dose import dose_analysis
from ._economics import economic_evaluation
from ._figures import draw_figures
from ._findings import findings, share
from ._flow import analysis_flow
from ._outcomes import (
    ANALYSES,
    RANDOMISED,
    analysis_data,
    model_groups,
    outcome_analyses,
    outcome_family,
)
from ._subgroups import check_subgroups, subgroup_analysis
from ._summary import summary

__all__ = ["AnalysisConfig", "load_config", "run", "share"]

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
    "jinja2",
    "great-tables",
    "weasyprint",
)


def run(
    config: str | Path | AnalysisConfig, out: str | Path, *, say=print, warn=None
) -> Path:
    """Run a whole analysis and write tables, figures, report and provenance.

    Parameters
    ----------
    config : str, Path or AnalysisConfig
    out : str or Path
        Output folder. The run writes into a new folder beside it and moves it
        into place when every file is written, so ``out`` holds one whole run:
        a failed or interrupted run leaves the previous results as they were,
        and outputs of an earlier config do not linger. Two runs into one
        folder at once are refused.
    say : callable
        Progress messages (``print`` by default).
    warn : callable, optional
        Called with each validation warning, as one line (by default they go
        to ``say``). The data are used as they are; the report lists the
        warnings under "Data warnings".

    Returns
    -------
    Path
        The report (HTML, or the first of the config's ``report_formats``).

    Examples
    --------
    >>> import tempfile
    >>> from cpeval.pipeline import run
    >>> report = run("analysis/pilot_study.toml", tempfile.mkdtemp(),
    ...              say=lambda *_: None)                      # doctest: +SKIP
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    out = Path(out)
    warn = warn or (lambda line: say(f"warning: {line}"))
    # one BLAS thread measured faster for every stage, even a mixed model of
    # 200,000 rows (1.1 s against 2.3 s; cpeval._threads)
    with staged_folder(out) as stage, one_blas_thread():
        written = _run(cfg, stage, say, warn)
    report = out / written.get("html", next(iter(written.values()))).name
    say(f"wrote {', '.join(str(out / path.name) for path in written.values())}")
    return report


def _run(cfg: AnalysisConfig, out: Path, say, warn) -> dict[str, Path]:
    say(f"reading and validating {cfg.codebook}")
    study = score_study(load_study(cfg.codebook))
    for problem in study.report.warnings:
        warn(str(problem))
    book = study.codebook
    wave = cfg.wave(book)
    data = analysis_data(study)
    cfg.check_names(data.columns, book)
    check_subgroups(cfg, data, book)
    arms = study.arms
    if cfg.design is None:
        say(
            "note: [analysis] design is not declared: the report says so, words "
            "the flow diagram as TREND (claiming no randomisation) and fills in no "
            "outcome checklist"
        )
    say("fitting outcome models")
    analyses = outcome_analyses(cfg, data, book, say=say)
    covariates = list(cfg.model.covariates)
    covariates += [c for c in cfg.propensity_covariates if c not in covariates]
    tables: dict[str, pd.DataFrame] = {"participant_flow": pd.DataFrame()}
    named = {column: label for label, column in cfg.outcomes.items()}
    tables["baseline"] = baseline_wide(  # outcomes under their labels
        data[data["time"] == 0].rename(columns=named),
        list(book.covariates) + list(cfg.outcomes),
        book.group,
        arms,
    )
    tables["outcomes"] = outcome_display(analyses, arms, book)
    if analyses.score is not None:
        balance = analyses.score.balance.rename(index=named)  # outcomes by label
        tables["balance"] = balance.reset_index()
    if cfg.dose:
        say(f"effect per unit of dose ({cfg.dose.exposure}, allocation as instrument)")
        tables["dose"] = dose_analysis(cfg, data, book)
    subgroups = None
    if cfg.subgroups:
        say(f"declared subgroups ({', '.join(cfg.subgroups)})")
        subgroups = subgroup_analysis(cfg, data, book, arms, analyses.score)
        tables["subgroups"] = subgroups.effects
        tables["subgroup_tests"] = subgroups.tests
    economics, cea = None, None
    if cfg.economics:
        say(f"economic evaluation ({cfg.economics.n_boot} bootstraps)")
        compared = study.recruited[book.group].isin(arms).sum()
        tables["costs"], tables["economics"], economics, cea = economic_evaluation(
            cfg, data, book, arms, recruited=int(compared)
        )
    flow = analysis_flow(
        study, data, analyses, cfg, covariates, economics=economics or ()
    )
    tables["participant_flow"] = flow.table
    say("drawing figures")
    figures = draw_figures(
        cfg,
        analyses.to_frame(),
        data,
        book,
        out,
        arms=arms,
        balance=None if analyses.score is None else balance,
        cea=cea,
        subgroups=None if subgroups is None else subgroups.effects,
    )
    shown = [
        Table(name, table, spec.title, spec=spec)
        for name, table in tables.items()
        for spec in [table_spec(name, table, arms)]
    ]
    for item in shown:
        for fmt in cfg.formats:
            write_atomic(
                out / "tables" / f"{item.name}.{fmt}",
                render_table(item.frame, fmt, title=item.title, spec=item.spec),
            )
    write_atomic(
        out / "tables" / "exclusions.csv", render_table(flow.exclusions, "csv")
    )
    provenance = _provenance(cfg, study, analyses)
    write_atomic(out / "provenance.json", json.dumps(provenance, indent=2) + "\n")
    figures.insert(0, _flow_figure(cfg, flow, arms, out))
    directions = scale_directions(study)
    report = Report(
        title=cfg.name,
        summary=summary(cfg, study, data, analyses, directions, economics),
        findings=tuple(
            findings(
                study,
                analyses,
                directions,
                wave,
                economics=economics,
                subgroups=subgroups,
            )
        ),
        tables=tuple(shown),
        figures=tuple(figures),
        methods=tuple(_methods(cfg, book, analyses.score, arms, wave, analyses)),
        diagnostics=tuple(diagnostics(analyses, data, book, cfg.economics)),
        warnings=tuple(str(p) for p in study.report.warnings),
        provenance=provenance,
    )
    features = {
        name
        for name, present in (
            ("economics", cfg.economics),
            ("propensity", analyses.score is not None),
            ("imputation", cfg.imputation),
            ("clusters", book.clusters),
            ("subgroups", cfg.subgroups),
        )
        if present
    }
    report = replace(report, checklists=_checklists(cfg, report, features))
    return write_report(report, out, formats=cfg.report_formats)


def _subgroup_methods(cfg: AnalysisConfig, book, wave: str, score) -> str:
    """How the declared subgroups were analysed, and how to read them."""
    declared = []
    for name, group in cfg.subgroups.items():
        bands = ", ".join(f"{p:g}" for p in group.cut_points or ())
        how = f"{group.column} cut at {bands}" if bands else group.column
        declared.append(name if how == name else f"{name} ({how})")
    adjusted = ["the outcome at baseline", *cfg.model.covariates]
    if score is not None:
        adjusted.append("the propensity score's logit")
    from ._subgroups import redundant_score

    left_out = [n for n, g in cfg.subgroups.items() if redundant_score(cfg, g)]
    if score is not None and left_out:
        adjusted[-1] += (
            f" (not for {_and(left_out)}: there the score's covariates are the "
            "subgroup and model covariates, so its logit adds nothing)"
        )
    n_tests = len(cfg.subgroups) * sum(
        outcome_family(book, column) == "gaussian" for column in cfg.outcomes.values()
    )
    errors = (
        f"CR2 errors by {book.clusters[-1]} with Satterthwaite df, and the test "
        "that the difference is the same in every level by the Hotelling "
        "T-squared approximation HTZ (Pustejovsky and Tipton 2018, as R "
        "clubSandwich)"
        if book.clusters
        else "model-based errors, and the test that the difference is the same in "
        "every level by the F test of the models with and without the interaction"
    )
    return (
        "Subgroups: only the subgroups declared in the config were analysed: "
        + "; ".join(declared)
        + f". For each continuous outcome at {wave}, one ANCOVA per subgroup "
        "estimated the difference between arms within each level (levels known "
        f"at baseline), adjusted for {_and(adjusted)} (slopes common to all "
        f"levels; a covariate that is itself the subgroup enters as its levels), "
        f"with {errors}. These are complete-case analyses (not imputed): "
        "participants with the outcome at baseline and at "
        f"{wave}, every covariate and their subgroup's value; the 'all analysed' "
        "row is the same ANCOVA on the same participants. Read the interaction "
        "test, not whether one level's interval excludes no difference: even if "
        "the effect were the same everywhere, about 1 test in 20 would have "
        f"p < 0.05 by chance, and {n_tests} interaction "
        f"test{'s were' if n_tests != 1 else ' was'} run; the p-values are not "
        "adjusted for this, and each level has fewer participants and clusters "
        "than the whole, so wider intervals. Binary and count outcomes are not "
        "analysed by subgroup."
    )


def _imputation_clusters(cfg: AnalysisConfig, book) -> str:
    """How the clusters entered the imputation, in words."""
    if not book.clusters:
        return ""
    cluster = book.clusters[-1]
    kind = cfg.imputation.cluster_model
    if kind == "fixed":
        return f"{cluster} indicators and "
    matching = ", then predictive mean matching" if kind == "random-pmm" else ""
    return (
        f"a random intercept for each {cluster} (two-level imputation, as mice's "
        f"2l.pan{matching}) and "
    )


def _score_across(cfg: AnalysisConfig) -> str:
    """How the imputed analysis used the propensity score, in words."""
    if cfg.propensity is None:
        return ""
    if cfg.propensity.approach == "across":
        return (
            "the propensity score was estimated in each completed data set, each "
            "participant's probability averaged over them (the across approach, "
            "as R MatchThem) and that one score used in every data set; "
        )
    return (
        "the propensity score was re-estimated in each completed data set and "
        "used there (the within approach, as R MatchThem's default); "
    )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _randomised(cfg: AnalysisConfig) -> bool | None:
    """Whether the config declares a randomised design (None: not declared)."""
    return None if cfg.design is None else cfg.design != "non-randomised"


def _flow_figure(cfg: AnalysisConfig, flow, arms, out: Path) -> Figure:
    """The participant-flow diagram, CONSORT wording for a declared randomised
    design and TREND wording otherwise (it claims no randomisation)."""
    randomised = bool(_randomised(cfg))
    style = "CONSORT" if randomised else "TREND"
    if cfg.design is None:
        style += " wording, which claims no randomisation: the design is not declared"
    svg, png = render_flow(plot_flow(flow, arms, randomised=randomised))
    write_atomic(out / "figures" / "participant_flow.svg", svg)
    write_atomic(out / "figures" / "participant_flow.png", png)
    boxes = flow_boxes(flow, arms, randomised=randomised)
    caption = (
        f"Participant flow ({style}): "
        "recruited, assigned, interviewed at each wave and analysed, by arm, with "
        "the reasons people were not analysed. The counts are those of the "
        "participant-flow table."
    )
    return Figure("participant_flow", svg, png, caption, flow_description(boxes))


def _checklists(cfg: AnalysisConfig, report: Report, features) -> tuple[Table, ...]:
    """CHEERS 2022 for an economic evaluation, and CONSORT (cluster) or TREND
    for the outcomes as the config's design declares (none when undeclared)."""
    sections = {*report.sections(), "checklists"} - {"tables"}  # tables by name:
    sections |= {f"table-{t.name}" for t in report.other_tables()}
    randomised = _randomised(cfg)
    names = checklists_for(bool(randomised), economics=cfg.economics is not None)
    if randomised is None:
        names = [n for n in names if n == "cheers-2022"]
    return tuple(
        Table(
            f"checklist-{name}",
            checklist_table(
                name, sections=sections, randomised=randomised, features=features
            )[["item", "topic", "asks", "where", "note"]],
            get_checklist(name).title,
        )
        for name in names
    )


_DF_WORDS = {
    "satterthwaite": "Satterthwaite degrees of freedom (as lmerTest)",
    "kenward-roger": "Kenward-Roger degrees of freedom and standard errors (as "
    "pbkrtest and lmerTest)",
}


def random_formula(cfg, book) -> str:
    """The mixed model's random effects in lme4's notation, levels named within
    the levels they are nested in (``(1 | site:team:wave)``)."""
    model = cfg.model
    terms = random_terms(
        model_groups(cfg, book),
        _Random(model.wave_effects, model.slopes, model.df),
    )
    return " + ".join(
        t.replace(":_wave", f":{book.wave}").replace("_t ", "waves ") for t in terms
    )


def _random_words(model, book) -> str:
    """The level-by-wave effects and slopes, in words."""
    words = ""
    for level in model.wave_effects:
        words += (
            f", a random effect of each {level} at each wave ({level} by "
            f"{book.wave}, crossed with the participant), so that {level} effects "
            "may change between waves"
        )
    for level in model.slopes:
        words += (
            f", a random slope over waves for each {level} (waves counted from "
            "baseline, 0, 1, 2, ...; correlated with its intercept)"
        )
    return words


def _sensitivity_words(cfg, book, analyses) -> list[str]:
    """A sentence for each sensitivity analysis, with the settings its rows
    report (bootstrap draws and weights, GEE working correlation and errors)."""
    cluster = book.clusters[-1] if book.clusters else "participant"
    setting = {}
    for row in analyses.rows:
        setting.setdefault(row["analysis"], row["df_method"])
    lines = []
    for method in cfg.model.sensitivity:
        how = setting.get(ANALYSES["sensitivity"][method], "")
        if method == "ancova":
            lines.append(
                "As a sensitivity analysis, follow-up was also compared by ANCOVA "
                "adjusted for baseline and the same covariates, with CR2 "
                f"cluster-robust errors by {cluster} and Satterthwaite df (as "
                "clubSandwich); unlike a mixed model with random intercepts only, "
                f"it does not assume that {cluster} effects stay the same between "
                "waves."
            )
        elif method == "wild-bootstrap-ancova":
            lines.append(
                "As a sensitivity analysis for few clusters, each follow-up "
                "wave's ANCOVA difference (complete cases, the same covariates) was "
                f"tested by the restricted {how} by {cluster} (seed {cfg.seed}; "
                "CR1 t statistic, symmetric p-value, interval by "
                "inverting the test; the df shown are clusters minus one)."
            )
        elif method == "wild-bootstrap-prepost":
            lines.append(
                "As a sensitivity analysis for few clusters, the pre-post effect "
                "(the difference between arms in change from baseline, by OLS on "
                "every interview at baseline and the follow-up wave, with the same "
                f"covariates) was tested by the restricted {how} by {cluster} "
                f"(seed {cfg.seed}; CR1 t statistic, symmetric "
                "p-value, interval by inverting the test; the df shown are clusters "
                "minus one)."
            )
        elif method == "gee":
            lines.append(
                "As a sensitivity analysis, the mixed model's fixed effects were "
                f"also fitted as a marginal model by GEE clustered by {cluster} "
                f"({how}, as geepack): it makes no assumption about how {cluster} "
                "effects vary between waves."
                + (
                    " Binary and count outcomes were fitted by a binomial (logit) "
                    "or Poisson (log) GEE; their odds and rate ratios are "
                    "population-averaged, closer to 1 than the mixed model's."
                    if _family_words(cfg, book)
                    else ""
                )
            )
    return lines


def _family_words(cfg, book) -> list[str]:
    """How binary and count outcomes were modelled (none: no sentence)."""
    found: dict[str, list[str]] = {"binomial": [], "poisson": []}
    for label, column in cfg.outcomes.items():
        family = outcome_family(book, column)
        if family in found:
            found[family].append(label)
    if not any(found.values()):
        return []
    kinds = []
    if found["binomial"]:
        kinds.append(
            f"the binary outcomes ({', '.join(found['binomial'])}) by a binomial "
            "model with a logit link"
        )
    if found["poisson"]:
        kinds.append(
            f"the counts ({', '.join(found['poisson'])}) by a Poisson model with a "
            "log link"
        )
    text = (
        "As the codebook declares them, "
        + " and ".join(kinds)
        + ": a generalised linear mixed model fitted by the Laplace approximation "
        "(as lme4's glmer), with the same fixed and random effects as above. "
        "Their effect at each wave is an odds (or rate) ratio, the exponentiated "
        "wave-by-arm coefficient: the arms' odds (rate) ratio at that wave over "
        "their ratio at baseline, for participants of the same clusters "
        "(conditional on the random effects), with a Wald z interval; a ratio "
        "whose interval contains 1 shows no clear difference. The difference and "
        "its interval in the outcomes table are on the log scale."
    )
    if cfg.model.df != "satterthwaite":
        text += " Kenward-Roger df apply to the continuous outcomes only."
    if found["binomial"]:
        text += (
            " For binary outcomes the table also gives the marginal risk "
            "difference at each follow-up wave: each participant's risk with "
            "either arm, the random effects integrated out, averaged over that "
            "wave's participants (delta-method interval)."
        )
    return [text]


def _methods(cfg, book, score, arms, wave, analyses) -> list[str]:
    model = cfg.model
    i, c = arms
    lines = [
        f"Arms: {i} (the intervention, as the codebook declares) compared with {c}; "
        f"every difference is {i} minus {c}. Primary wave: {wave}"
        + (" (the config's primary_wave)." if cfg.primary_wave else " (the last wave).")
    ]
    if model.kind == "lmm":
        groups = model_groups(cfg, book)
        text = (
            "Each outcome was modelled with a linear mixed model fitted by REML, with "
            f"random intercepts for {', '.join(groups)} (nested)"
            + _random_words(model, book)
            + ", fixed effects for each follow-up wave (time as a factor), arm and "
            "their interaction (the effect at each wave: the difference between "
            "arms in change from baseline to that wave)"
        )
        if model.wave_effects or model.slopes:
            text += f" (in lme4's notation, {random_formula(cfg, book)})"
        df = _DF_WORDS[model.df]
    else:
        text = (
            "Each outcome at each follow-up wave was compared between arms by "
            "ANCOVA adjusted for its baseline value"
        )
        df = (
            f"CR2 cluster-robust errors by {book.clusters[-1]} with Satterthwaite "
            "degrees of freedom (as clubSandwich)"
            if book.clusters
            else "model-based errors"
        )
    if model.covariates:
        joined = ", ".join(model.covariates)
        text += f", adjusted for {joined}" if model.kind == "lmm" else f" and {joined}"
    lines.append(f"{text}; intervals and p-values use {df}.")
    lines += _family_words(cfg, book)
    lines += _sensitivity_words(cfg, book, analyses)
    if score is not None:
        lines.append(
            "Propensity adjustment: the probability of being in the "
            f"{i} arm was modelled "
            f"by logistic regression ({score.formula}); its logit entered each "
            "outcome model as a covariate"
            + (" and in interaction with time" if model.kind == "lmm" else "")
            + ". The balance table and Love plot check the score by weighting with "
            "it (ATE inverse-probability weights; pooled-SD standardised "
            f"differences, 0.1 marked). {score.n_dropped} participants had no score"
            + (
                " (a covariate missing) in the available-data analyses; the "
                "imputed analysis imputes their covariates and gives them one."
                if cfg.imputation and score.n_dropped
                else "."
            )
        )
    if cfg.design not in RANDOMISED:
        lines.append(
            "Unmeasured confounding: "
            + (
                "the arms were not randomised"
                if cfg.design
                else "the config does not declare the arms randomised"
            )
            + ", so each difference in the outcomes table has its E-value "
            "(VanderWeele and Ding 2017): how strongly a factor not measured would "
            "have to be associated, as a risk ratio, with both the arm and the "
            "outcome, beyond the covariates adjusted for, to explain the difference "
            "away, and the same for the confidence limit nearer no difference (1 "
            "when the interval already includes it). A large E-value means only a "
            "strong unmeasured confounder could explain the difference; a value "
            "near 1 means a weak one could. Mean differences were standardised by "
            "the outcome's pooled within-arm SD at that wave (d) and taken as a "
            "risk ratio of exp(0.91 d); odds ratios of outcomes that 15% or more "
            "had, by their square root."
        )
    if cfg.dose:
        exposure = cfg.dose.exposure
        lines.append(
            f"Dose: the effect per unit of {exposure} (the dose each participant "
            "received) on each continuous outcome at the primary wave, by two-stage "
            f"least squares with allocation to {i} as the instrument, adjusted for "
            "the outcome at baseline"
            + (f" and {', '.join(model.covariates)}" if model.covariates else "")
            + (
                f", with cluster-robust errors by {book.clusters[-1]} (t on "
                "clusters minus 1 df)"
                if book.clusters
                else ", with robust errors"
            )
            + ". "
            + (
                f"The same for the cost and QALYs to {wave} and the net monetary "
                "benefit (willingness to pay x QALYs - cost) at each willingness "
                "to pay, on the participants with both, adjusted also for "
                "baseline utility and cost (instrumental variables for "
                "cost-effectiveness: DiazOrdaz, Franchini and Grieve 2018). "
                if cfg.economics
                else ""
            )
            + "Binary and count outcomes are not in this table. It assumes "
            "allocation changes the outcome only through the dose "
            "(an assumption the data cannot check) and is the effect among those "
            "whose dose the allocation changed; a first-stage F under 10 marks a "
            "weak instrument. The table gives it with its n; it is not part of "
            "the participant flow."
            + (
                ""
                if cfg.design in RANDOMISED
                else " Caution: the allocation was not declared randomised, so it "
                "is a valid instrument only if nothing that decided it also "
                "affects the outcome; read this estimate as descriptive."
            )
        )
    if cfg.subgroups:
        lines.append(_subgroup_methods(cfg, book, wave, score))
    if cfg.imputation:
        lines.append(
            f"Multiple imputation: {cfg.imputation.m} imputations by chained "
            "equations (predictive mean matching), separately in each group, of "
            + (
                "the questionnaire items of every outcome that is a "
                "questionnaire score, at every wave (other outcomes as they are; "
                "each item "
                "predicted by the other items of its questionnaire at that wave and "
                "the questionnaires' totals at the other waves; each score then "
                "derived from the completed items by its instrument's scoring: "
                "passive imputation, Eekhout et al. 2014), with "
                if cfg.imputation.level == "items"
                else "every outcome at every wave, with "
            )
            + _imputation_clusters(cfg, book)
            + "the covariates as predictors "
            f"({cfg.imputation.iterations} iterations, seed {cfg.seed}); "
            + _score_across(cfg)
            + "the model was refitted in each "
            "completed data set, and the effects pooled by Rubin's rules with "
            "Barnard-Rubin degrees of freedom (as mice). The findings quote the "
            "imputed analysis; the available-data analysis is beside it."
        )
    if cfg.economics:
        econ = cfg.economics
        vs = econ.value_set
        prices = econ.price_year
        lines.append(
            f"Economics: EQ-5D-{vs.version} utilities ({vs.country} "
            f"{vs.type} value set), QALYs by the area under the curve between "
            f"interview dates, service use costed at {prices} "
            f"unit costs from baseline to {wave} ("
            + econ.perspective.replace("nhs_pss", "NHS and PSS")
            + " perspective), among participants with both; "
            f"{econ.n_boot} bootstrap replicates"
            + (f" resampling {econ.cluster}s within group" if econ.cluster else "")
            + f" (seed {cfg.seed}) give the intervals, the CE plane and the CEAC, "
            "and the per-person expected value of perfect information (EVPI) and of "
            "partial perfect information about the QALY or the cost difference "
            "alone (EVPPI, by regression of the net benefit on each difference's "
            "replicates; Strong, Oakley and Brennan 2014)."
        )
        if cfg.imputation:
            lines.append(
                "The imputed economic analysis imputes missing total cost and QALYs "
                "by chained equations in each group (predictors: baseline cost and "
                "utility"
                + (f", {econ.cluster} indicators" if econ.cluster else "")
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


def _provenance(cfg: AnalysisConfig, study, analyses) -> dict:
    score = analyses.score
    inputs = [
        {"path": f.path, "sha256": f.sha256, "rows": f.n_rows}
        for f in study.report.files
    ]
    return {
        "analysis": cfg.name,
        "formats": list(cfg.formats),
        "report_formats": list(cfg.report_formats),
        "design": cfg.design or "not declared",
        "config": {"path": str(cfg.path), "sha256": sha256(cfg.path)},
        "codebook": {"path": str(cfg.codebook), "sha256": sha256(cfg.codebook)},
        "inputs": inputs,
        "seed": cfg.seed,
        "arms": {"intervention": study.arms[0], "comparator": study.arms[1]},
        "waves": list(study.codebook.waves),
        "primary_wave": cfg.wave(study.codebook),
        "model": {
            **cfg.model.model_dump(),
            "groups": model_groups(cfg, study.codebook)
            if cfg.model.kind == "lmm"
            else None,
            "random_effects": random_formula(cfg, study.codebook)
            if cfg.model.kind == "lmm"
            else None,
        },
        "df_method": (
            "Kenward-Roger (pbkrtest)"
            if cfg.model.df == "kenward-roger"
            else "Satterthwaite (lmerTest)"
        )
        if cfg.model.kind == "lmm"
        else "CR2 with Satterthwaite df (clubSandwich)",
        "sensitivity": {
            name: setting
            for method in cfg.model.sensitivity
            for name in [ANALYSES["sensitivity"][method]]
            for setting in [
                next(
                    (r["df_method"] for r in analyses.rows if r["analysis"] == name),
                    None,
                )
            ]
        },
        "propensity": {**cfg.propensity.model_dump(), "formula": score.formula}
        if score is not None
        else {},
        "imputation": {**cfg.imputation.model_dump(), "df_method": "Barnard-Rubin"}
        if cfg.imputation
        else {},
        "economics": cfg.economics.model_dump() if cfg.economics else {},
        "dose": cfg.dose.model_dump() if cfg.dose else {},
        "subgroups": {
            name: {"column": g.column, "cut_points": list(g.cut_points or ())}
            for name, g in cfg.subgroups.items()
        },
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
