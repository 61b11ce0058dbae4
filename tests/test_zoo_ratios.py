"""Binary and count outcomes through `cpeval validate` and `cpeval run`.

The study (``tests/zoo/ratios.py``) has a true odds ratio for a binary outcome
and a true rate ratio for a count: the primary analysis (a GLMM with the
codebook's nested random intercepts) must report intervals that hold them, with
its n equal to the participants and rows it used; what does not apply to such
outcomes is refused in one line naming the outcome and what to change.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cpeval import DataError
from cpeval.cli import main
from cpeval.io import load_codebook
from tests.zoo.ratios import ODDS_RATIO, RATE_RATIO, WAVES, RatioLayout, write

TRUTH = {"in paid work": ODDS_RATIO, "social contacts": RATE_RATIO}
ARMS = "(Connecting People / Usual care)"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ratios")
    config = write(folder / "study", RatioLayout())
    assert main(["validate", str(config.parent / "codebook.toml")]) == 0
    assert main(["run", str(config), "--out", str(folder / "out")]) == 0
    out = folder / "out"
    files = [pd.read_csv(folder / "study" / f"wave{k}.csv") for k in range(3)]
    return {
        "outcomes": pd.read_csv(out / "tables" / "outcomes.csv"),
        "flow": pd.read_csv(out / "tables" / "participant_flow.csv"),
        "report": (out / "report.html").read_text().replace("&#x27;", "'"),
        "files": files,
    }


def test_the_ratio_interval_holds_the_truth(run):
    table = run["outcomes"]
    primary = table[table["role"] == "primary"].set_index("outcome")
    assert set(primary.index) == set(TRUTH)
    assert list(primary["wave"]) == [WAVES[-1]] * 2
    ratio = f"odds or rate ratio {ARMS}"
    for outcome, truth in TRUTH.items():
        row = primary.loc[outcome]
        assert row["ratio_ci_low"] <= truth <= row["ratio_ci_high"], row.to_dict()
        assert (row[ratio] > 1) == (truth > 1)
        # the ratio is exp of the log-scale estimate and interval
        difference = "difference (Connecting People minus Usual care)"
        assert np.isclose(np.log(row[ratio]), row[difference])
        assert np.isclose(np.log(row["ratio_ci_low"]), row["ci_low"])
        assert np.isclose(np.log(row["ratio_ci_high"]), row["ci_high"])
    assert primary.loc["in paid work", "scale"] == "log odds ratio"
    assert primary.loc["social contacts", "scale"] == "log rate ratio"
    assert primary.loc["in paid work", "model"].startswith(
        "generalised linear mixed model (binomial, logit"
    )
    assert primary.loc["social contacts", "model"].startswith(
        "generalised linear mixed model (Poisson, log"
    )


def test_a_binary_outcome_has_its_marginal_risk_difference(run):
    table = run["outcomes"]
    rd = f"risk difference {ARMS.replace(' / ', ' minus ')}"
    binary = table[
        (table["outcome"] == "in paid work") & table["model"].str.startswith("g")
    ]
    assert binary[rd].notna().all()
    assert (binary["risk_difference_ci_low"] < binary[rd]).all()
    assert (binary[rd] < binary["risk_difference_ci_high"]).all()
    counts = table[table["outcome"] == "social contacts"]
    assert counts[rd].isna().all()  # a count has no risk


def test_n_is_the_rows_and_participants_used(run):
    """Every interview has both outcomes and age is complete: the model uses
    every row of the files, and the flow's analysed count is the table's n."""
    rows = sum(len(f) for f in run["files"])
    people = run["files"][0]["id"].nunique()
    table = run["outcomes"]
    assert (table["n_obs"] == rows).all()
    assert (table["n"] == people).all()
    flow = run["flow"]
    for _, row in table[table["role"] == "primary"].iterrows():
        mine = flow[
            (flow["outcome"] == row["outcome"]) & (flow["analysis"] == row["analysis"])
        ]
        assert mine.loc[mine["stage"] == "analysed", "total"].item() == row["n"]


def test_the_gee_sensitivity_fits_the_family(run):
    table = run["outcomes"]
    gee = table[table["analysis"] == "GEE (marginal model)"].set_index(
        ["outcome", "wave"]
    )
    assert gee.loc[("in paid work", WAVES[-1]), "model"] == "GEE (binomial, logit)"
    assert gee.loc[("social contacts", WAVES[-1]), "model"] == "GEE (Poisson, log)"
    assert gee["df_method"].str.contains("exchangeable").all()


def test_the_report_speaks_of_ratios(run):
    page = run["report"]
    assert "in paid work at 12 months: odds ratio" in page
    assert "social contacts at 12 months: rate ratio" in page
    assert "the 95% interval does not include 1" in page or "includes 1" in page
    assert "generalised linear mixed model fitted by the Laplace approximation" in page
    assert "having a odds" not in page  # "having odds from ... times"
    assert (
        "points higher in Connecting People" not in page.split("Key findings")[-1][:0]
    )


@pytest.mark.parametrize(
    ("layout", "error"),
    [
        (
            RatioLayout(bad_binary="maybe"),
            r"wave2\.csv.*employed.*'maybe' is not no or yes",
        ),
        (RatioLayout(bad_count=-1), r"wave2\.csv.*contacts.*'-1' is not a count"),
        (
            RatioLayout(bad_count=1.5),
            r"wave2\.csv.*contacts.*'1\.5' is not a whole number",
        ),
    ],
    ids=["binary-value", "negative-count", "fractional-count"],
)
def test_a_value_out_of_range_names_file_row_column_and_value(
    layout, error, tmp_path, capsys
):
    config = write(tmp_path / "study", layout)
    assert main(["validate", str(config.parent / "codebook.toml")]) == 2
    printed = capsys.readouterr()
    assert re.search(error, printed.out + printed.err), printed.out
    assert re.search(r"row \d+", printed.out + printed.err)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    line = [x for x in capsys.readouterr().err.splitlines() if "cpeval: error" in x]
    assert len(line) == 1 and re.search(error, line[0]), line


@pytest.mark.parametrize(
    ("layout", "error"),
    [
        (
            RatioLayout(kind="ancova", sensitivity=()),
            r"outcome 'in paid work' \('employed'\) is binary in the codebook, but "
            r'\[model\] kind = "ancova" is a linear model.*set kind = "lmm"',
        ),
        (
            RatioLayout(sensitivity=("gee", "wild-bootstrap-ancova")),
            r"outcome 'in paid work' \('employed'\) is binary.*sensitivity asks for "
            r"'wild-bootstrap-ancova'.*leave it out",
        ),
        (
            RatioLayout(binary_extra=", min = 0"),
            r"column 'employed' is binary, so it has no 'min'",
        ),
    ],
    ids=["ancova", "wild-bootstrap", "binary-with-range"],
)
def test_what_does_not_apply_is_refused(layout, error, tmp_path, capsys):
    config = write(tmp_path / "study", layout)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("cpeval: error")]
    assert "Traceback" not in err and len(line) == 1, err
    assert re.search(error, line[0]), line[0]


def test_codebook_types(tmp_path):
    base = (
        '[study]\nid = "id"\nwaves = ["a", "b"]\n[[files]]\npath = "x.csv"\n[columns]\n'
    )
    path = tmp_path / "c.toml"
    path.write_text(base + 'y = { type = "binary" }\nn = { type = "count" }\n')
    book = load_codebook(path)
    assert book.columns["y"].type == "binary" and book.columns["n"].type == "count"
    for column, message in (
        ('y = { type = "binary", values = [1, 2, 3] }', "two values"),
        ('y = { type = "binary", values = ["x", "x"] }', "two values"),
        ('n = { type = "count", min = -1 }', "never negative"),
        ('n = { type = "count", values = [0, 1] }', "not 'values'"),
    ):
        path.write_text(base + column + "\n")
        with pytest.raises(DataError, match=message):
            load_codebook(path)


def test_effect_by_wave_refuses_linear_models_of_a_binary_outcome():
    from cpeval.models import effect_by_wave

    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "id": np.repeat(np.arange(40), 2),
            "wave": np.tile([0, 1], 40),
            "arm": np.repeat(np.arange(40) % 2, 2),
            "team": np.repeat(np.arange(40) % 8, 2),
            "y": rng.integers(0, 2, 80).astype(float),
        }
    )
    common = {"outcome": "y", "group": "arm", "wave": "wave", "id": "id"}
    with pytest.raises(DataError, match=r"'y' is binary \(0/1\), and method='ancova'"):
        effect_by_wave(data, **common, method="ancova", family="binomial")
    with pytest.raises(DataError, match="Wald z"):
        effect_by_wave(data, **common, df_method="kenward-roger", family="binomial")
    with pytest.raises(DataError, match="family must be one of"):
        effect_by_wave(data, **common, family="gamma")


def test_ratio_rows_have_e_values_by_the_rare_outcome_rule(run, tmp_path):
    """The cluster-randomised study has no E-values. The same study declared
    non-randomised has them on every row: the odds ratio of a common outcome
    (over 15% in paid work) through sqrt(OR), the rate ratio as a risk ratio
    (VanderWeele and Ding 2017)."""
    from cpeval.adjust import e_value

    assert "e_value" not in run["outcomes"].columns
    config = write(tmp_path / "study", RatioLayout(design="non-randomised"))
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "out" / "tables" / "outcomes.csv")
    share = (run["files"][2]["employed"] == "yes").mean()
    assert share > 0.15
    ratio = f"odds or rate ratio {ARMS}"
    for _, row in table.iterrows():
        common = row["scale"] == "log odds ratio"
        want = e_value(
            row[ratio],
            row["ratio_ci_low"],
            row["ratio_ci_high"],
            measure="OR" if common else "RR",
            rare=False if common else None,
        )
        assert row["e_value"] == pytest.approx(want.e_value, rel=1e-9)
        assert row["e_value_ci"] == pytest.approx(want.e_value_ci, rel=1e-9)


@pytest.mark.parametrize(
    ("family", "value", "message"),
    [
        ("binomial", 1, "is 1 for all 75 participants in the intervention arm"),
        ("binomial", 0, "is 0 for all 75 participants in the intervention arm"),
        ("poisson", 0, "all 75 participants in the intervention arm counted 0"),
    ],
)
@pytest.mark.parametrize("method", ["lmm", "gee"])
def test_separation_is_refused_not_an_absurd_ratio(family, value, message, method):
    """Everyone in an arm with the outcome at a wave (or no one; a count of 0
    for all): the GLMM would report an odds ratio near exp(20) with SE 2000."""
    import numpy as np

    from cpeval import DataError
    from cpeval.models import effect_by_wave

    rng = np.random.default_rng(1)
    rows = []
    for team in range(10):
        arm = team % 2
        for k in range(15):
            pid = f"{team}-{k}"
            draw = (
                (lambda: int(rng.random() < 0.3))
                if family == "binomial"
                else (lambda: int(rng.poisson(2)))
            )
            rows.append({"id": pid, "team": team, "arm": arm, "wave": "0", "y": draw()})
            later = value if arm == 1 else draw()
            rows.append({"id": pid, "team": team, "arm": arm, "wave": "6", "y": later})
    data = pd.DataFrame(rows)
    options = {"groups": ["team", "id"]} if method == "lmm" else {"cluster": "team"}
    with pytest.raises(DataError, match=message):
        effect_by_wave(
            data,
            outcome="y",
            group="arm",
            wave="wave",
            id="id",
            method=method,
            family=family,
            **options,
        )


@pytest.mark.parametrize(
    ("section", "lines"),
    [
        ("[subgroups]", ['"age band" = { column = "age", cut_points = [40] }']),
        ("[dose]", ['exposure = "age"']),
    ],
)
def test_mean_difference_sections_refuse_binary_and_count_outcomes(
    section, lines, tmp_path, capsys
):
    """Every outcome here is binary or a count: [subgroups] and [dose] estimate
    mean differences, so they are refused in one line, not skipped silently."""
    config = write(tmp_path / "study", RatioLayout())
    config.write_text(config.read_text() + "\n" + "\n".join([section, *lines]) + "\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert (
        f"{section} estimates mean differences, for continuous outcomes only" in error
    )
