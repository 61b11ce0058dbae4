"""The whole pipeline: a config runs to byte-identical tables, report and provenance."""

from __future__ import annotations

import json
import re

import pytest

import cpeval
from cpeval.cli import main
from cpeval.pipeline import load_config, run
from cpeval.pipeline._config import ImputationConfig
from tests.conftest import ROOT, tree_hashes

CONFIG = ROOT / "analysis" / "implementation_study.toml"
TABLES = ("participant_flow", "baseline", "outcomes", "balance", "costs", "economics")
FIGURES = ("trajectories", "forest_plot", "love_plot", "ce_plane", "ceac")
# the config's random effects: nested intercepts and a team-by-wave effect
RANDOM = " + (1 | site) + (1 | site:team) + (1 | site:team:time) + (1 | site:team:id)"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    first = tmp_path_factory.mktemp("a")
    second = tmp_path_factory.mktemp("b")
    run(CONFIG, first, say=lambda *_: None)
    run(CONFIG, second, say=lambda *_: None)
    return first, second


def test_two_runs_are_byte_identical(two_runs):
    first, second = two_runs
    assert tree_hashes(first) == tree_hashes(second)


def test_outputs_and_report_content(two_runs):
    out = two_runs[0]
    names = {p.name for p in (out / "tables").iterdir()}
    for table in TABLES:
        assert {
            f"{table}.{fmt}" for fmt in ("csv", "md", "html", "tex", "xlsx")
        } <= names
    page = (out / "report.html").read_text()
    assert "Key findings" in page and "159 people were recruited" in page
    # every figure and the participant-flow diagram, inline
    assert page.count("<svg") == len(FIGURES) + 1 and "<table" in page
    assert "multiple imputation (m = 20)" in page and "Propensity adjustment" in page
    assert "complete cases, ANCOVA (CR2)" in page
    figures = {p.name for p in (out / "figures").iterdir()}
    for name in (*FIGURES, "participant_flow"):
        assert {f"{name}.png", f"{name}.svg"} <= figures
    # self-contained: nothing is fetched (namespaces inside the SVGs are not loads)
    assert 'src="http' not in page and "<link" not in page and "<script" not in page
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seed"] == 20261122 and len(provenance["inputs"]) == 3
    assert provenance["imputation"]["m"] == 20
    assert provenance["dose"] == {} and provenance["subgroups"] == {}
    assert provenance["propensity"]["formula"].startswith("treated ~ age + sex_male")
    assert provenance["df_method"].startswith("Satterthwaite")


def test_report_is_small_and_scales_to_the_screen(two_runs):
    """Issue 14 (in part): the bootstrap scatter is one raster image inside the
    vector figure, so the page stays small; figures scale to narrow screens."""
    out = two_runs[0]
    page = (out / "report.html").read_text()
    assert (out / "report.html").stat().st_size < 1.5 * 2**20
    assert all(
        (out / "figures" / f).stat().st_size < 500_000
        for f in [p.name for p in (out / "figures").iterdir()]
    )
    assert '<meta name="viewport" content="width=device-width' in page
    # provenance: a folded, readable table (the full record is provenance.json)
    assert "<details><summary>Inputs, versions and settings of this run" in page
    assert '<tr><th scope="row">seed</th><td>20261122</td></tr>' in page
    assert "figure svg { max-width: 100%; height: auto; }" in page


def test_report_in_word_and_pdf(two_runs):
    """Issue 14: the report as DOCX and PDF beside the HTML, with the same findings,
    tables and figures; python-docx and pdftotext read them back."""
    import shutil
    import subprocess

    import docx

    out = two_runs[0]
    document = docx.Document(str(out / "report.docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    for words in (
        "The question",
        "Key findings",
        "159 people were recruited",
        "Glossary",
        "Reporting checklists",
        "Provenance",
    ):
        assert words in text, words
    # the figures (flow diagram first) with their text alternatives
    alts = [s._inline.docPr.get("descr") for s in document.inline_shapes]
    assert len(alts) == len(FIGURES) + 1 and all(alts)
    # wide tables on landscape pages, the others portrait
    orientations = {s.orientation for s in document.sections}
    assert len(orientations) == 2
    assert len(document.tables) >= len(TABLES) + 2  # and the two checklists
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(pdf.split())
    assert "159 people were recruited" in flat and "Key findings" in flat
    assert "The design" in flat and "non-randomised" in flat


def test_config_errors_are_data_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[analysis]\nname = "x"\ncodebook = "c.toml"\nseed = 1\n[model]\nkind = "glm"\n'
    )
    with pytest.raises(cpeval.DataError, match=r"'model\.kind' must be"):
        load_config(bad)
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2


def test_baseline_table_by_hand():
    import numpy as np
    import pandas as pd

    from cpeval.tables import baseline_table

    d = pd.DataFrame(
        {
            "arm": ["a"] * 4 + ["b"] * 4,
            "age": [20, 30, 40, np.nan, 50, 60, 70, 80],
            "sex": ["f", "m", "f", "f", "m", "m", "f", None],
        }
    )
    table = baseline_table(d, ["age", "sex"], "arm")
    age = table[table["variable"] == "age"].set_index("group")
    assert age.loc["a", "mean"] == 30 and age.loc["a", "missing"] == 1
    assert age.loc["b", "median"] == 65 and age.loc["b", "q1"] == 57.5
    pooled = np.sqrt(
        (np.var([20, 30, 40], ddof=1) + np.var([50, 60, 70, 80], ddof=1)) / 2
    )
    assert age.loc["b", "smd"] == pytest.approx((65 - 30) / pooled)
    sex = table[(table["variable"] == "sex") & (table["group"] == "a")].set_index(
        "level"
    )
    assert sex.loc["f", "count"] == 3 and sex.loc["f", "percent"] == 75


@pytest.fixture(scope="module")
def implementation():
    from cpeval.io import load_study
    from cpeval.pipeline._outcomes import analysis_data
    from cpeval.scales import score_study

    cfg = load_config(CONFIG)
    study = score_study(load_study(cfg.codebook))
    return cfg, study.codebook, analysis_data(study)


def test_propensity_adjusted_model_is_the_direct_fit(implementation):
    """The pipeline's available-data row equals fitting the score and the mixed
    model (with the config's team-by-wave effect) by hand with the stages'
    public functions."""
    import numpy as np

    from cpeval.adjust import propensity_score
    from cpeval.models import fit_lmm
    from cpeval.pipeline._outcomes import outcome_table

    cfg, book, data = implementation
    cfg = cfg.model_copy(update={"imputation": None})
    table, score = outcome_table(cfg, data, book, say=lambda *_: None)
    base = data[data["time"] == 0].set_index("id")
    base["sex_male"] = (base["sex"] == "male").astype(float)
    ps = propensity_score(base, "treated ~ age + sex_male").score
    by_hand = data.assign(ps=data["id"].map(np.log(ps / (1 - ps))))
    fit = fit_lmm(
        by_hand, "wemwbs_total ~ time * treated + age + ps + time:ps" + RANDOM
    )
    expected = fit.to_frame().set_index("term").loc["time:treated"]
    row = table.set_index(["outcome", "analysis"]).loc[
        ("wellbeing (WEMWBS)", "available data")
    ]
    assert row["difference"] == pytest.approx(expected["params"], abs=1e-10)
    assert row["ci_low"] == pytest.approx(expected["ci_low"], abs=1e-8)
    assert row["df"] == pytest.approx(expected["df"], rel=1e-8)
    assert score.balance.loc["age", "diff_adj"] == pytest.approx(0, abs=0.05)
    assert list(score.balance.index) == [
        "age",
        "sex_male",
        "rguk_total",
        "social_inclusion_total",
        "wemwbs_total",
    ]


def test_wide_and_long_round_trip_keeps_every_observed_value(implementation):
    from cpeval.pipeline._outcomes import _long, _wide

    cfg, book, data = implementation
    columns = list(cfg.outcomes.values())
    wide, imputed, predictors = _wide(data, book, columns, ["age", "sex"])
    assert (
        len(wide) == 151
        and len(imputed) == 6
        and predictors
        == [
            "_x_age",
            "_x_sex_male",
        ]
    )
    long = _long(wide, book, columns, ["age", "sex"]).set_index(["id", "time"])
    original = data.set_index(["id", "time"])[columns]
    assert len(long) == 302 and long.loc[original.index, columns].equals(original)
    missing = long.drop(original.index)[columns]
    assert len(missing) == 24 and missing.isna().all().all()


def test_imputed_rows_pool_the_refitted_models(implementation):
    """With m = 2: refit each completed data set by hand (score re-estimated) and
    pool by Rubin's rules written out: qbar, T = W + (1 + 1/m) B."""
    import numpy as np

    from cpeval.adjust import propensity_score
    from cpeval.missing import impute
    from cpeval.models import fit_lmm
    from cpeval.pipeline._outcomes import _long, _wide, outcome_table

    cfg, book, data = implementation
    cfg = cfg.model_copy(update={"imputation": ImputationConfig(m=2, iterations=5)})
    table, _ = outcome_table(cfg, data, book, say=lambda *_: None)
    row = table.set_index(["outcome", "analysis"]).loc[
        ("wellbeing (WEMWBS)", "multiple imputation (m = 2)")
    ]
    columns = list(cfg.outcomes.values())
    wide, imputed, predictors = _wide(data, book, columns, ["age", "sex"])
    sets = impute(
        wide,
        imputed,
        predictors=predictors,
        by="treated",
        cluster="team",
        m=2,
        iterations=5,
        seed=cfg.seed,
    ).datasets
    q, u = [], []
    for completed in sets:
        long = _long(completed, book, columns, ["age", "sex"])
        base = long[long["time"] == 0].set_index("id")
        base["sex_male"] = (base["sex"] == "male").astype(float)
        ps = propensity_score(base, "treated ~ age + sex_male").score
        long["ps"] = long["id"].map(np.log(ps / (1 - ps)))
        fit = fit_lmm(
            long, "wemwbs_total ~ time * treated + age + ps + time:ps" + RANDOM
        )
        effect = fit.to_frame().set_index("term").loc["time:treated"]
        q.append(effect["params"])
        u.append(effect["se"] ** 2)
    total = np.mean(u) + 1.5 * np.var(q, ddof=1)
    assert row["difference"] == pytest.approx(np.mean(q), abs=1e-10)
    assert row["se"] == pytest.approx(np.sqrt(total), rel=1e-10)
    assert row["n_obs"] == 302 and 0 < row["fmi"] < 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[imputation]\nm = 1\n", r"'imputation\.m' must be 2 or more"),
        ("[propensity]\ncovariates = []\n", "names no covariates"),
        ("[propensity]\nformula = 'x'\n", "formula"),
        ("[economics]\nwtp = []\n", r"'economics\.wtp' is empty"),
        ("[economics]\nwtp = [-1]\n", r"'economics\.wtp\.0' must be 0\.0 or more"),
        ("[economics]\nwtp = [inf]\n", "must be a finite number"),
        ("[economics]\nwtp = [nan]\n", "must be a finite number"),
        ("[economics]\nn_boot = 1000000\n", "above 100,000.*allow_large = true"),
        ("[imputation]\nm = 5\niterations = 0\n", "must be 1 or more"),
        ("[imputation]\nm = 1000\n", "above 200"),
    ],
)
def test_config_values_are_checked_when_it_loads(tmp_path, extra, message):
    text = CONFIG.read_text().split("[propensity]")[0].split("[economics]")[0]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("../data", str(ROOT / "data")) + extra)
    with pytest.raises(cpeval.DataError, match=message):
        load_config(bad)


def test_economics_by_hand_and_with_imputation(implementation):
    """Complete cases: QALYs only for participants seen at both waves, costs from
    the unit-cost table; imputed: cpeval.missing.impute then
    cpeval.economics.impute_then_bootstrap, pooled by Rubin's rules."""
    import numpy as np

    from cpeval.economics import impute_then_bootstrap
    from cpeval.missing import impute
    from cpeval.pipeline._economics import _people, economic_evaluation

    cfg, book, data = implementation
    econ = cfg.economics.model_copy(update={"n_boot": 200})
    cfg = cfg.model_copy(
        update={"imputation": ImputationConfig(m=2, iterations=5), "economics": econ}
    )
    people, categories = _people(cfg, data, book)
    seen_twice = data.groupby("id")["time"].nunique() == 2
    assert people["qaly"].notna().equals(seen_twice.reindex(people.index))
    assert people["cost"].notna().sum() == 127 and categories[-1] == "cost"
    first = data[(data["id"] == people.index[0]) & (data["time"] == 1)].iloc[0]
    unit = {"gp_surgery_visit": 49.0}  # PSSRU 2022/23, as the unit-cost table
    assert (
        people.iloc[0]["primary care"]
        == first["su_gp_surgery_visit"] * unit["gp_surgery_visit"]
    )
    costs, table, analyses, cea = economic_evaluation(
        cfg, data, book, ("intervention", "control")
    )
    table = table.set_index("quantity")
    # value of information from the primary analysis's own bootstrap replicates
    primary = table[analyses[0].label]
    for w in cfg.economics.wtp:
        evpi = cea.evpi([w])["evpi"].iloc[0]
        assert primary[f"EVPI per person at £{w:,.0f} (£)"] == pytest.approx(evpi)
        for what, column in (("QALYs", "delta_effect"), ("cost", "delta_cost")):
            partial = cea.evppi([w], [column])["evppi"].iloc[0]
            quantity = f"EVPPI, incremental {what}, per person at £{w:,.0f} (£)"
            assert primary[quantity] == pytest.approx(partial)
            assert 0 <= partial <= evpi + 1e-9
    imputations = impute(
        people.reset_index(),
        ["cost", "qaly"],
        predictors=["baseline_cost", "baseline_utility"],
        by="treated",
        cluster="team",
        m=2,
        iterations=5,
        seed=cfg.seed,
    )
    pooled = impute_then_bootstrap(
        imputations,
        cost="cost",
        effect="qaly",
        group="treated",
        n_boot=200,
        seed=cfg.seed,
        cluster="team",
    ).pooled
    column = table["multiple imputation (m = 2)"]
    estimate, total = (
        pooled.loc["delta_cost", "estimate"],
        pooled.loc["delta_cost", "total"],
    )
    assert column["incremental cost (£)"] == pytest.approx(estimate, rel=1e-12)
    assert column["incremental cost, 95% CI high"] == pytest.approx(
        estimate + 1.959963984540054 * np.sqrt(total), rel=1e-12
    )
    assert column["excluded: cost or QALYs missing"] == 0
    complete = table["complete cases"]
    assert complete["excluded: cost or QALYs missing"] == 24
    assert costs.iloc[-1]["category"] == "total"
    assert costs.iloc[-1]["difference (intervention minus control)"] == pytest.approx(
        complete["mean cost, intervention (£)"] - complete["mean cost, control (£)"]
    )


def test_probabilities_are_not_rounded_to_certainty():
    from cpeval.pipeline import share as _share

    assert [_share(p) for p in (1.0, 0.996, 0.5, 0.004, 0.0)] == [
        "over 99%",
        "over 99%",
        "50%",
        "under 1%",
        "under 1%",
    ]


def test_ancova_sensitivity_rows_are_the_direct_fit(implementation):
    """The CR2 ANCOVA rows beside the mixed model equal ancova() on the wide data
    (baseline, age and the score's logit as covariates, CR2 by team)."""
    import numpy as np

    from cpeval.adjust import propensity_score
    from cpeval.models import ancova
    from cpeval.pipeline._outcomes import outcome_table

    cfg, book, data = implementation
    assert "ancova" in cfg.model.sensitivity
    cfg = cfg.model_copy(update={"imputation": None})
    table, _ = outcome_table(cfg, data, book, say=lambda *_: None)
    row = table.set_index(["outcome", "analysis"]).loc[
        ("social inclusion (illustrative scoring)", "complete cases, ANCOVA (CR2)")
    ]
    base = data[data["time"] == 0].set_index("id")
    base["sex_male"] = (base["sex"] == "male").astype(float)
    ps = propensity_score(base, "treated ~ age + sex_male").score
    wide = base[["treated", "team", "age", "social_inclusion_total"]].rename(
        columns={"social_inclusion_total": "b"}
    )
    wide["logit"] = np.log(ps / (1 - ps))
    follow = data[data["time"] == 1].set_index("id")["social_inclusion_total"]
    wide = wide.join(follow.rename("f"), how="inner")
    fit = ancova(
        wide,
        outcome="f",
        baseline="b",
        group="treated",
        covariates=["age", "logit"],
        cluster="team",
    )
    assert row["difference"] == pytest.approx(fit.params["treated"], rel=1e-10)
    assert row["se"] == pytest.approx(fit.se["treated"], rel=1e-10)
    assert row["df"] == pytest.approx(fit.df["treated"], rel=1e-10)
    assert row["n_obs"] == 127


def test_sensitivity_must_be_ancova_beside_a_mixed_model(tmp_path):
    text = CONFIG.read_text().replace("../data", str(ROOT / "data"))
    bad = tmp_path / "bad.toml"
    bad.write_text(re.sub(r"(?m)^sensitivity = .*$", 'sensitivity = "lmm"', text))
    with pytest.raises(cpeval.DataError, match="sensitivity"):
        load_config(bad)


def test_names_the_config_gives_are_checked_before_anything_is_fitted(tmp_path):
    text = CONFIG.read_text().replace("../data", str(ROOT / "data"))
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('covariates = ["age"]', 'covariates = ["agee"]'))
    with pytest.raises(
        cpeval.DataError, match=r"\[model\] covariates \['agee'\] are not"
    ):
        run(bad, tmp_path / "out", say=lambda *_: None)
    bad.write_text(text.replace("su_gp_surgery_visit =", "su_gp_visit ="))
    with pytest.raises(
        cpeval.DataError, match=r"\[economics\] services \['su_gp_visit'\]"
    ):
        run(bad, tmp_path / "out", say=lambda *_: None)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_tables_show_declared_formats(two_runs):
    """Issue 14 (in part): p-values to 3 decimals or "<0.001", counts whole,
    costs in pounds; XLSX keeps the numbers with matching number formats."""
    from openpyxl import load_workbook

    tables = two_runs[0] / "tables"
    md = (tables / "costs.md").read_text(encoding="utf-8")
    assert "£" in md and "| hospital |" in md
    outcomes = (tables / "outcomes.md").read_text(encoding="utf-8").splitlines()
    header = [c.strip() for c in outcomes[0].strip("|").split("|")]
    p = header.index("p")  # the heading of the column p_val
    for line in [row for row in outcomes[2:] if row.startswith("|")]:  # not notes
        cell = [c.strip() for c in line.strip("|").split("|")][p]
        assert cell == "<0.001" or len(cell.split(".")[-1]) == 3, cell
    csv_header = (tables / "outcomes.csv").read_text().splitlines()[0].split(",")
    assert "p_val" in csv_header and "ci_low" in csv_header  # CSV keeps identifiers
    html = (tables / "outcomes.html").read_text(encoding="utf-8")
    # the interval shown as "a to b" under one heading; no identifiers
    assert ">95% CI</th>" in html and " to " in html and ">p_val<" not in html
    for name, column, number_format in [
        ("outcomes", "p", "0.000"),
        ("outcomes", "n", "0"),
        ("costs", "mean (intervention)", '"£"#,##0;-"£"#,##0'),
    ]:
        sheet = load_workbook(tables / f"{name}.xlsx").active
        names = [c.value for c in sheet[1]]
        cell = sheet.cell(row=2, column=names.index(column) + 1)
        assert cell.number_format == number_format, (name, column)
        assert isinstance(cell.value, int | float)  # the number, unrounded


# ------------------------------------------- issue 15: the mixed model's options


def _model_config(tmp_path, model: str):
    """The implementation config with ``model`` as its [model] section."""
    text = CONFIG.read_text().replace("../data", str(ROOT / "data"))
    head, rest = text.split("[model]\n", 1)
    bad = tmp_path / "c.toml"
    bad.write_text(head + "[model]\n" + model + "\n" + rest[rest.index("\n[") :])
    return bad


MODEL = 'kind = "lmm"\ngroups = ["site", "team", "id"]\n'


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ('sensitivity = "ancova"', {"sensitivity": ("ancova",), "df": "satterthwaite"}),
        (
            'wave_effects = ["team"]\ndf = "kenward-roger"\n'
            'sensitivity = ["wild-bootstrap-prepost", "gee"]\n'
            '[model.wild_bootstrap]\nn_boot = 999\nweights = "rademacher"\n'
            '[model.gee]\ncov_type = "mancl-derouen"',
            {
                "wave_effects": ("team",),
                "df": "kenward-roger",
                "sensitivity": ("wild-bootstrap-prepost", "gee"),
            },
        ),
    ],
)
def test_model_options_parse(tmp_path, model, expected):
    parsed = load_config(_model_config(tmp_path, MODEL + model)).model
    for key, value in expected.items():
        assert getattr(parsed, key) == value
    if parsed.sensitivity != ("ancova",):
        assert parsed.wild_bootstrap.n_boot == 999
        assert parsed.gee.cov_type == "mancl-derouen" and parsed.gee.correlation is None


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ('sensitivity = ["ancova", "bootstrap"]', r"'model\.sensitivity\.1' must be"),
        ('sensitivity = ["gee", "gee"]', r"'model\.sensitivity' names \['gee'\] more"),
        ('df = "wald"', r"'model\.df' must be 'satterthwaite' or 'kenward-roger'"),
        ('wave_effects = "team"', r"'model\.wave_effects' must be a list"),
        ('wave_effect = ["team"]', r"unknown key 'model\.wave_effect'; known keys"),
        (
            'sensitivity = "gee"\n[model.gee]\ncorr = "ar1"',
            r"unknown key 'model\.gee\.corr'; known keys: correlation, cov_type",
        ),
        (
            'sensitivity = "wild-bootstrap-ancova"\n[model.wild_bootstrap]\nn_boot = 9',
            r"'model\.wild_bootstrap\.n_boot' must be 99 or more",
        ),
        (
            "[model.wild_bootstrap]\nn_boot = 999",
            r"'model\.wild_bootstrap' sets options of an analysis that",
        ),
    ],
)
def test_model_options_are_checked_when_the_config_loads(tmp_path, model, message):
    path = _model_config(tmp_path, MODEL + model)
    with pytest.raises(cpeval.DataError, match=message) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_mixed_model_options_on_an_ancova_are_refused(tmp_path):
    path = _model_config(tmp_path, 'kind = "ancova"\nwave_effects = ["team"]')
    with pytest.raises(cpeval.DataError, match=r"'model\.wave_effects' is an option"):
        load_config(path)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"wave_effects": ("id",)}, "participant-by-wave effect is the residual"),
        ({"wave_effects": ("ward",)}, r"wave_effects names \['ward'\]"),
        ({"slopes": ("team",)}, "slopes need three or more waves"),
    ],
)
def test_levels_are_checked_against_the_codebook(implementation, update, message):
    from cpeval.pipeline._outcomes import outcome_table

    cfg, book, data = implementation
    model = cfg.model.model_copy(update=update)
    cfg = cfg.model_copy(update={"model": model, "imputation": None})
    with pytest.raises(cpeval.DataError, match=message):
        outcome_table(cfg, data, book, say=lambda *_: None)


def test_sensitivity_rows_name_their_n_and_df_method(implementation):
    """Every sensitivity analysis writes a row per outcome and wave, with its n
    and df method; the wild bootstrap's seed is the config's (two runs give the
    same rows); the primary row is the team-by-wave mixed model."""
    from cpeval.pipeline import _methods
    from cpeval.pipeline._outcomes import outcome_analyses

    cfg, book, data = implementation
    everything = ("ancova", "wild-bootstrap-ancova", "wild-bootstrap-prepost", "gee")
    model = cfg.model.model_copy(update={"sensitivity": everything})
    cfg = cfg.model_copy(update={"model": model, "imputation": None})
    first = outcome_analyses(cfg, data, book, say=lambda *_: None)
    table = first.to_frame().set_index(["outcome", "analysis"])
    label = "wellbeing (WEMWBS)"
    expected = {
        "available data": ("primary", "Satterthwaite"),
        "complete cases, ANCOVA (CR2)": ("sensitivity", "CR2 Satterthwaite"),
        "complete cases, ANCOVA (wild cluster bootstrap)": (
            "sensitivity",
            "wild cluster bootstrap (webb, 9,999 draws)",
        ),
        "pre-post, wild cluster bootstrap": (
            "sensitivity",
            "wild cluster bootstrap (webb, 9,999 draws)",
        ),
        "GEE (marginal model)": (
            "sensitivity",
            "GEE (exchangeable working correlation, robust errors), t on clusters "
            "minus parameters",
        ),
    }
    for analysis, (role, df_method) in expected.items():
        row = table.loc[(label, analysis)]
        assert row["role"] == role and row["df_method"] == df_method
        assert row["n_participants"] > 100 and row["df"] > 0
    assert (
        table.loc[(label, "complete cases, ANCOVA (wild cluster bootstrap)"), "df"] == 9
    )
    assert table.loc[(label, "pre-post, wild cluster bootstrap"), "n_obs"] == 278
    again = outcome_analyses(cfg, data, book, say=lambda *_: None).to_frame()
    assert again.equals(first.to_frame())
    text = " ".join(
        _methods(cfg, book, first.score, ("intervention", "control"), "6 months", first)
    )
    assert "(1 | site:team:wave)" in text and "each team at each wave" in text
    assert f"seed {cfg.seed}" in text and "pre-post effect" in text
    assert "by GEE clustered by team" in text


def test_e_values_by_hand_and_only_for_non_randomised_designs(implementation):
    """Each row of a non-randomised study has the E-value of its difference,
    standardised by the pooled within-arm SD of the observed outcome at its wave
    among the participants behind it (VanderWeele and Ding 2017; e_value is
    checked against R EValue in test_evalue.py); a randomised design has none."""
    import math

    from cpeval.adjust import e_value
    from cpeval.pipeline._outcomes import outcome_analyses

    cfg, book, data = implementation
    assert cfg.design == "non-randomised"
    cfg = cfg.model_copy(update={"imputation": None})
    result = outcome_analyses(cfg, data, book, say=lambda *_: None)
    checked = 0
    for row in result.rows:
        ids = result.populations[(row["outcome"], row["analysis"], row["wave"])]
        at = data[data["id"].isin(ids) & (data[book.wave] == row["wave"])]
        groups = at.groupby("treated")[row["column"]]
        n, var = groups.count(), groups.var()
        sd = math.sqrt(((n - 1) * var).sum() / (n - 1).sum())
        want = e_value(row["difference"] / sd, measure="SMD", se=row["se"] / sd)
        assert row["e_value"] == pytest.approx(want.e_value, rel=1e-12)
        assert row["e_value_ci"] == pytest.approx(want.e_value_ci, rel=1e-12)
        assert row["e_value"] >= 1 and 1 <= row["e_value_ci"] <= row["e_value"]
        checked += 1
    assert checked == len(result.rows) >= 6
    randomised = cfg.model_copy(update={"design": "cluster-randomised"})
    rows = outcome_analyses(randomised, data, book, say=lambda *_: None).rows
    assert not any("e_value" in row for row in rows)


def test_dose_on_cost_effectiveness_by_hand(implementation):
    """With [economics], [dose] adds cost, QALYs and net monetary benefit per
    unit of dose: 2SLS on the economic analysis's participants (cost and QALYs
    known), adjusted for baseline utility and cost and the model's covariates;
    the net benefit's estimate is wtp x QALYs' minus cost's."""
    import numpy as np

    from cpeval.models import fit_iv
    from cpeval.pipeline._config import DoseConfig
    from cpeval.pipeline._dose import dose_analysis
    from cpeval.pipeline._economics import _people

    cfg, book, data = implementation
    teams = sorted(data["team"].unique())
    level = {t: 1.0 + 0.5 * k for k, t in enumerate(teams)}
    fidelity = np.where(data["treated"] == 1, data["team"].map(level), 0.0)
    data = data.assign(fidelity=fidelity)
    cfg = cfg.model_copy(update={"dose": DoseConfig(exposure="fidelity")})
    table = dose_analysis(cfg, data, book).set_index("outcome")
    wave = cfg.wave(book)
    assert list(table.index[:3]) == list(cfg.outcomes)  # the outcomes first
    cost, qaly = table.loc[f"cost to {wave} (£)"], table.loc[f"QALYs to {wave}"]
    people, _ = _people(cfg, data, book)
    known = people.dropna(subset=["cost", "qaly"])
    assert cost["n"] == qaly["n"] == len(known)
    assert cost["not analysed (not seen at the wave, or a value missing)"] == len(
        people
    ) - len(known)
    effect = "effect per unit of fidelity"
    for wtp in cfg.economics.wtp:
        row = table.loc[f"net monetary benefit at £{wtp:,.0f} per QALY"]
        assert row[effect] == pytest.approx(wtp * qaly[effect] - cost[effect], rel=1e-9)
        assert row["n"] == len(known)
    wide = known.assign(
        dose=data.groupby("id")["fidelity"].first().reindex(known.index),
        age=data[data["time"] == 0].set_index("id")["age"].reindex(known.index),
    )
    fit = fit_iv(
        wide,
        outcome="qaly",
        exposure="dose",
        instrument="treated",
        covariates=["baseline_utility", "baseline_cost", "age"],
        cluster="team",
    )
    assert qaly[effect] == pytest.approx(fit.params["dose"], rel=1e-10)
    assert qaly["se"] == pytest.approx(fit.se["dose"], rel=1e-10)


def test_propensity_across_imputations_by_hand(implementation):
    """[propensity] approach = "across" (R MatchThem): with some ages missing
    (imputed), the score is estimated in each completed data set, each
    participant's probability averaged over them, and that one logit used in
    every refit; "within" (the default) uses each data set's own."""
    import numpy as np
    import pandas as pd

    from cpeval.adjust import propensity_score
    from cpeval.missing import impute
    from cpeval.models import fit_lmm
    from cpeval.pipeline._config import PropensityConfig
    from cpeval.pipeline._outcomes import _long, _wide, outcome_table

    cfg, book, data = implementation
    blank = data["id"].isin(data["id"].drop_duplicates().iloc[::7])
    data = data.assign(age=data["age"].mask(blank))
    rows = {}
    for approach in ("within", "across"):
        use = cfg.model_copy(
            update={
                "imputation": ImputationConfig(m=3, iterations=5),
                "propensity": PropensityConfig(
                    covariates=("age", "sex"), approach=approach
                ),
            }
        )
        table, _ = outcome_table(use, data, book, say=lambda *_: None)
        rows[approach] = table.set_index(["outcome", "analysis"]).loc[
            ("wellbeing (WEMWBS)", "multiple imputation (m = 3)")
        ]
    columns = list(cfg.outcomes.values())
    wide, imputed, predictors = _wide(data, book, columns, ["age", "sex"])
    assert "age" in imputed
    sets = impute(
        wide,
        imputed,
        predictors=predictors,
        by="treated",
        cluster="team",
        m=3,
        iterations=5,
        seed=cfg.seed,
    ).datasets
    longs, scores = [], []
    for completed in sets:
        long = _long(completed, book, columns, ["age", "sex"])
        base = long[long["time"] == 0].set_index("id")
        base["sex_male"] = (base["sex"] == "male").astype(float)
        scores.append(propensity_score(base, "treated ~ age + sex_male").score)
        longs.append(long)
    mean = pd.concat(scores, axis=1).mean(axis=1)
    q, u = [], []
    for long in longs:
        long["ps"] = long["id"].map(np.log(mean / (1 - mean)))
        fit = fit_lmm(
            long, "wemwbs_total ~ time * treated + age + ps + time:ps" + RANDOM
        )
        effect = fit.to_frame().set_index("term").loc["time:treated"]
        q.append(effect["params"])
        u.append(effect["se"] ** 2)
    total = np.mean(u) + (1 + 1 / 3) * np.var(q, ddof=1)
    assert rows["across"]["difference"] == pytest.approx(np.mean(q), abs=1e-10)
    assert rows["across"]["se"] == pytest.approx(np.sqrt(total), rel=1e-10)
    assert rows["within"]["difference"] != pytest.approx(np.mean(q), abs=1e-6)


def test_propensity_approach_needs_imputation(tmp_path):
    text = CONFIG.read_text().replace("[imputation]\nm = 20\niterations = 10\n", "")
    text = text.replace(
        'covariates = ["age", "sex"]\n\n#',
        'covariates = ["age", "sex"]\napproach = "across"\n\n#',
        1,
    )
    path = tmp_path / "config.toml"
    path.write_text(text.replace('"../data', f'"{ROOT}/data'))
    assert "approach" in text and "[imputation]" not in text
    with pytest.raises(cpeval.DataError, match="has no \\[imputation\\]"):
        load_config(path)


def test_item_level_imputation(implementation):
    """[imputation] level = "items": the items of every questionnaire are
    imputed (each from its own questionnaire's other items at that wave and the
    totals elsewhere) and the scores derived from them by the instrument's
    scoring, so a fully answered questionnaire keeps its observed score."""
    import warnings

    import numpy as np

    from cpeval.missing import impute
    from cpeval.pipeline._items import item_plan
    from cpeval.pipeline._outcomes import _wide, outcome_table

    cfg, book, data = implementation
    use = cfg.model_copy(
        update={"imputation": ImputationConfig(m=2, iterations=3, level="items")}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fragmented frames, no other warning
        table, _ = outcome_table(use, data, book, say=lambda *_: None)
    imputed = table[table["analysis"] == "multiple imputation (m = 2)"]
    assert len(imputed) == 3 and (imputed["n_obs"] == 302).all()
    columns = list(cfg.outcomes.values())
    plan = item_plan(use, book, columns)
    assert set(plan.instruments) == {"rguk", "social_inclusion", "wemwbs"}
    assert plan.plain == []
    wide, names, predictors = _wide(data, book, plan.columns, ["age", "sex"])
    options = plan.options(names, 2)
    sets = options["predictor_sets"]
    assert "wemwbs_2@1" in sets["wemwbs_1@1"] and "wemwbs_1@0" not in sets["wemwbs_1@1"]
    assert "_total_wemwbs@0" in sets["wemwbs_1@1"]
    assert "_total_wemwbs@1" not in sets["wemwbs_1@1"]
    assert "_total_rguk@1" in sets["wemwbs_1@1"]
    completed = impute(
        wide,
        names,
        predictors=predictors,
        by="treated",
        cluster="team",
        m=1,
        iterations=2,
        seed=1,
        **options,
    ).datasets[0]
    rescored = plan.rescore(completed, 2)
    for column in columns:
        for time in (0, 1):
            observed = data[data["time"] == time].set_index("id")[column]
            mine = rescored.set_index("id")[f"{column}@{time}"]
            assert mine.notna().all()
            seen = observed.dropna().index
            np.testing.assert_allclose(mine[seen], observed[seen], rtol=1e-12)


def test_subgroup_of_a_propensity_covariate(implementation):
    """sex is a [propensity] covariate and age the model's: the score's logit is
    a combination of the subgroup's levels and age, so it is left out of the
    subgroup's model (a new user's run failed on it), and the methods say so."""
    from cpeval.pipeline import _subgroup_methods
    from cpeval.pipeline._config import SubgroupConfig
    from cpeval.pipeline._outcomes import propensity
    from cpeval.pipeline._subgroups import subgroup_analysis

    cfg, book, data = implementation
    cfg = cfg.model_copy(update={"subgroups": {"sex": SubgroupConfig(column="sex")}})
    score = propensity(data, "id", ["age", "sex"])
    found = subgroup_analysis(cfg, data, book, ("intervention", "control"), score)
    assert set(found.effects["level"]) == {"all analysed", "female", "male"}
    assert len(found.tests) == 3 and found.tests["p_val"].between(0, 1).all()
    text = _subgroup_methods(cfg, book, "6 months", score)
    assert "not for sex" in text and "complete-case analyses" in text


def test_dose_table_shows_pounds_and_qalys():
    """The dose table's economic rows: cost and net benefit in whole pounds,
    QALYs to 3 decimals (a new user saw 0.00), the outcome rows as numbers, and
    counts, p and df keep their own formats in every row."""
    import pandas as pd

    from cpeval.pipeline._display import table_spec
    from cpeval.tables import render_table

    table = pd.DataFrame(
        {
            "outcome": [
                "wellbeing",
                "cost to 6 months (£)",
                "QALYs to 6 months",
                "net monetary benefit at £20,000 per QALY",
            ],
            "n": [127, 127, 127, 127],
            "effect per unit of fidelity": [1.23456, -154.64, 0.0022551, 199.742],
            "se": [0.5, 80.2, 0.0018, 95.1],
            "ci_low": [0.2, -320.0, -0.0014, 10.0],
            "ci_high": [2.2, 10.0, 0.0059, 390.0],
            "p_val": [0.02, 0.06, 0.21, 0.04],
            "df": [9.0, 9.0, 9.0, 9.0],
        }
    )
    spec = table_spec("dose", table, ("intervention", "control"))
    text = render_table(table, "md", spec=spec).decode()
    assert "0.002" in text and "0.00 |" not in text.split("QALYs to 6 months")[1][:40]
    assert "£155" in text
    assert "1.23" in text and "£1" not in text.split("wellbeing")[1][:30]
    assert text.count("| 127 |") == 4 and "| 9.00 |" in text
