"""Zoo: a study whose effect differs by client group (tests/zoo/subgroups.py),
run from its config as a user would. The [subgroups] tables use the declared
primary wave, their "all analysed" row is the primary ANCOVA, their rows equal
subgroup_effects by hand, the intervals cover the truth over seeds, and a
user's mistakes are refused in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpeval.cli import main
from cpeval.models import subgroup_effects
from tests.zoo.subgroups import CLIENT_EFFECT, SubgroupLayout, simulate, write


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subgroups")
    config = write(folder / "study", SubgroupLayout())
    assert main(["run", str(config), "--out", str(folder / "out"), "--quiet"]) == 0
    tables = folder / "out" / "tables"
    return {
        "effects": pd.read_csv(tables / "subgroups.csv"),
        "tests": pd.read_csv(tables / "subgroup_tests.csv"),
        "outcomes": pd.read_csv(tables / "outcomes.csv"),
        "report": (folder / "out" / "report.html").read_text(),
        "provenance": (folder / "out" / "provenance.json").read_text(),
    }


def wide(seed: int = SubgroupLayout().seed, wave: str = "3 months") -> pd.DataFrame:
    frames = simulate(SubgroupLayout(seed=seed))
    base = frames["baseline"].set_index("id")
    later = frames[wave].set_index("id")["wellbeing"].rename("y")
    data = base.rename(columns={"wellbeing": "b"}).join(later, how="inner")
    return data.assign(z=(data["arm"] == "Connecting People").astype(int))


def test_levels_in_codebook_order_at_the_primary_wave(run):
    effects = run["effects"]
    assert set(effects["wave"]) == {"3 months"}
    client = effects[effects["subgroup"] == "client group"]
    assert client["level"].tolist() == ["all analysed", *CLIENT_EFFECT]
    counted = client.iloc[1:][["n (Connecting People)", "n (Usual care)"]].sum()
    assert (
        counted.tolist()
        == client.iloc[0][["n (Connecting People)", "n (Usual care)"]].tolist()
    )
    assert counted.sum() == len(wide())


def test_all_analysed_is_the_primary_ancova(run):
    primary = run["outcomes"].query("role == 'primary'").iloc[0]
    everyone = run["effects"].query("level == 'all analysed'")
    assert len(everyone) == 2  # one per subgroup
    for column in ("se", "ci_low", "ci_high", "p_val"):
        np.testing.assert_allclose(everyone[column], primary[column], rtol=1e-10)
    difference = next(c for c in run["outcomes"] if c.startswith("difference"))
    np.testing.assert_allclose(everyone["difference"], primary[difference], rtol=1e-10)


def test_rows_are_subgroup_effects_by_hand(run):
    data = wide()
    for name, column, covariates in (
        ("client group", "client_group", ["age", "C(sex)"]),
        ("sex", "sex", ["age"]),  # sex is a covariate: in the model as its levels
    ):
        fit = subgroup_effects(
            data,
            outcome="y",
            baseline="b",
            group="z",
            subgroup=column,
            covariates=covariates,
            cluster="team",
        )
        effects = run["effects"]
        rows = effects[
            (effects["subgroup"] == name) & (effects["level"] != "all analysed")
        ]
        expected = fit.params.reindex(rows["level"])
        np.testing.assert_allclose(rows["difference"], expected, rtol=1e-10)
        np.testing.assert_allclose(
            rows["df"], fit.df.reindex(rows["level"]), rtol=1e-10
        )
        test = run["tests"][run["tests"]["subgroup"] == name].iloc[0]
        assert test["test"] == "CR2 HTZ" and test["clusters"] == 18
        assert test["p_val"] == pytest.approx(fit.interaction_pvalue, rel=1e-10)
        assert test["df_denom"] == pytest.approx(fit.interaction_df_denom, rel=1e-10)


def test_report_reads_the_interaction_tests_in_plain_words(run):
    import json

    subgroups = json.loads(run["provenance"])["subgroups"]
    assert subgroups["client group"] == {"column": "client_group", "cut_points": []}
    report = run["report"]
    assert "Subgroups (declared in the config)" in report
    assert "Differences between arms within declared subgroups" in report
    assert "not adjusted for multiplicity" in report
    assert "subgroup_forest" in report


def test_intervals_cover_the_truth_over_seeds():
    """Seeds 0-199 (measured when the zoo case was written): CR2 coverage
    95.0%, 94.5%, 94.5% by client group, mean estimates 2.20, 5.94, 0.01
    (truth 2, 6, 0), interaction test power 51%. Here 60 seeds (180
    intervals, SE of coverage 1.6 points): CR2 must reach 89%, and ignoring
    the teams (model-based OLS errors: 79% measured) must not, so the check
    can fail."""
    cover = {"CR2": [], "OLS": []}
    for seed in range(60):
        data = wide(seed)
        for kind, cluster in (("CR2", "team"), ("OLS", None)):
            fit = subgroup_effects(
                data,
                outcome="y",
                baseline="b",
                group="z",
                subgroup="client_group",
                covariates=["age", "C(sex)"],
                cluster=cluster,
            )
            limits = fit.conf_int()
            truth = pd.Series(CLIENT_EFFECT)[limits.index]
            cover[kind] += list(
                (limits["ci_low"] <= truth) & (truth <= limits["ci_high"])
            )
    assert np.mean(cover["CR2"]) >= 0.89
    assert np.mean(cover["OLS"]) < 0.89


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (
            SubgroupLayout(comparator_only=("Learning disability",)),
            "'Learning disability' is found in one arm only",
        ),
        (
            SubgroupLayout(subgroups={"client group": '"client_grp"'}),
            "[subgroups] ['client_grp'] are not in the data",
        ),
        (
            SubgroupLayout(subgroups={"age": '"age"'}),
            "cut_points",
        ),
        (
            SubgroupLayout(subgroups={"age": '{ column = "sex", cut_points = [1] }'}),
            "cut_points band a numeric column, and 'sex' holds text",
        ),
        (SubgroupLayout(subgroups={"team": '"team"'}), "has 18 levels at baseline"),
        (SubgroupLayout(subgroups={"": '"sex"'}), "a [subgroups] label is empty"),
        (
            SubgroupLayout(subgroups={"sex": '"sex"', "Sex again": '"sex"'}),
            "declare the same subgroup",
        ),
        (
            SubgroupLayout(
                subgroups={"age": '{ column = "age", cut_points = ["65"] }'}
            ),
            "subgroups.age.cut_points",
        ),
        (
            SubgroupLayout(subgroups={"age": '{ column = "age", cut_points = [] }'}),
            "give one or more",
        ),
        (
            SubgroupLayout(subgroups={"age": '{ column = "age", cut_points = [nan] }'}),
            "finite",
        ),
    ],
)
def test_a_users_mistakes_are_refused_in_one_line(layout, message, tmp_path, capsys):
    config = write(tmp_path / "study", layout)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    error = captured.err
    assert message in error, error
    assert "Traceback" not in error and "internal error" not in error
    assert "fitting outcome models" not in captured.out  # refused before any model


def test_bands_of_a_measurement(tmp_path):
    layout = SubgroupLayout(
        subgroups={"age band": '{ column = "age", cut_points = [40, 65] }'}
    )
    config = write(tmp_path / "study", layout)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    effects = pd.read_csv(tmp_path / "out" / "tables" / "subgroups.csv")
    assert effects["level"].tolist() == [
        "all analysed",
        "under 40",
        "40 to under 65",
        "65 and over",
    ]
    age = wide()["age"]
    counts = effects.iloc[1:][["n (Connecting People)", "n (Usual care)"]].sum(axis=1)
    assert counts.tolist() == [
        (age < 40).sum(),
        ((age >= 40) & (age < 65)).sum(),
        (age >= 65).sum(),
    ]
