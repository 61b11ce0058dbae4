"""The study zoo through `cpeval validate` and `cpeval run`, as a user runs them.

Each case (``tests/zoo/studies.py``) has a known answer: the primary analysis's
95% interval contains the true effect at every follow-up wave with the right
sign, and every count agrees between the outcomes table and the participant
flow; or there is no right answer and both commands end with exit code 2 and a
one-line message, never a traceback.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cpeval.cli import main
from tests.zoo.studies import CASES, UNIT_COST, VISITS, write


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case run once: (exit codes, stderr, output folder)."""
    return {}


def _run(case, folder, capsys):
    config = write(folder / "study", case.layout)
    validated = main(["validate", str(config.parent / "codebook.toml")])
    printed = capsys.readouterr()
    err_validate = printed.out + printed.err
    ran = main(["run", str(config), "--out", str(folder / "out")])
    err_run = capsys.readouterr().err
    return validated, err_validate, ran, err_run


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_zoo_case(case, tmp_path, capsys):
    validated, err_validate, ran, err_run = _run(case, tmp_path, capsys)
    assert validated in (0, 1, 2) and ran in (0, 1, 2)
    assert "Traceback" not in err_validate + err_run
    if case.error is not None:
        if case.stage == "validate":  # validate lists the problem it found
            assert validated == 2 and re.search(case.error, err_validate), err_validate
        line = [x for x in err_run.splitlines() if x.startswith("cpeval: error")]
        assert ran == 2 and len(line) == 1, err_run
        assert re.search(case.error, line[0]), err_run
        return
    assert validated in (0, 1), err_validate
    assert ran == 0, err_run
    out = tmp_path / "out"
    outcomes = pd.read_csv(out / "tables" / "outcomes.csv")
    _check_truth(case, outcomes)
    _check_counts(outcomes, pd.read_csv(out / "tables" / "participant_flow.csv"))
    _check_arm_names(case, outcomes, (out / "report.html").read_text())
    if case.layout.propensity and case.layout.imputation and case.layout.age_missing:
        # who lacks a score, and that the imputed analysis gives them one
        assert (
            "the imputed analysis imputes their covariates"
            in (out / "report.html").read_text()
        )
    if case.layout.economics:
        economics = pd.read_csv(out / "tables" / "economics.csv")
        _check_economics(case, economics)
        flow = pd.read_csv(out / "tables" / "participant_flow.csv")
        recruited = flow.loc[flow["stage"] == "recruited", "total"].item()
        for label in economics.columns[1:]:
            mine = flow[
                (flow["outcome"] == "cost and QALYs") & (flow["analysis"] == label)
            ]
            counts = economics.set_index("quantity")[label]
            n = sum(
                int(v)
                for k, v in counts.items()
                if k.startswith("participants analysed")
            )
            assert mine.loc[mine["stage"] == "analysed", "total"].item() == n
            assert mine["total"].sum() == recruited


def _arms(case):
    layout = case.layout
    intervention = layout.intervention
    if layout.codes and intervention not in layout.arms:
        by_code = {str(c): a for a, c in layout.codes.items()}
        intervention = by_code[intervention]
    comparator = layout.comparator or next(a for a in layout.arms if a != intervention)
    if layout.codes and not layout.labels:  # the data hold codes only
        return str(layout.codes[intervention]), str(layout.codes[comparator])
    return intervention, comparator


def _check_truth(case, outcomes: pd.DataFrame):
    i, c = _arms(case)
    main_rows = outcomes[outcomes["role"].str.startswith("primary")]
    assert set(main_rows["wave"]) == set(case.truth)
    difference = f"difference ({i} minus {c})"
    for _, row in main_rows.iterrows():
        truth = case.truth[row["wave"]]
        assert row["ci_low"] <= truth <= row["ci_high"], (row["wave"], row.to_dict())
        if truth != 0:
            assert (row[difference] > 0) == (truth > 0), row.to_dict()
    primary = outcomes[outcomes["role"] == "primary"]
    wave = case.layout.primary_wave or case.layout.waves[-1]
    assert list(primary["wave"]) == [wave]


def _check_counts(outcomes: pd.DataFrame, flow: pd.DataFrame):
    """One population per number: each estimate's n is the flow's analysed row,
    and the flow's rows for an analysis add up to everyone recruited."""
    recruited = flow.loc[flow["stage"] == "recruited", "total"].item()
    wave = outcomes.loc[outcomes["role"] == "primary", "wave"].item()
    assert outcomes["n"].notna().all()
    for _, row in outcomes[outcomes["wave"] == wave].iterrows():
        mine = flow[
            (flow["outcome"] == row["outcome"]) & (flow["analysis"] == row["analysis"])
        ]
        analysed = mine.loc[mine["stage"] == "analysed", "total"].item()
        assert analysed == row["n"], (row["analysis"], analysed, row["n"])
        assert mine["total"].sum() == recruited
        assert not mine["stage"].str.contains("not used by the model").any()


def _check_arm_names(case, outcomes: pd.DataFrame, report: str):
    i, c = _arms(case)
    assert f"n ({i})" in outcomes.columns and f"n ({c})" in outcomes.columns
    page = report.replace("&#x27;", "'")
    assert f"in {i} than in {c}" in page
    assert "outcomes were compared" not in page  # the zoo has one outcome


def _check_economics(case, table: pd.DataFrame):
    """Costs over the follow-up waves up to the primary one: the designed GP
    visits times the user's unit cost; QALYs do not differ by design."""
    layout = case.layout
    waves = list(layout.waves).index(layout.primary_wave or layout.waves[-1])
    truth = (VISITS[True] - VISITS[False]) * UNIT_COST * waves
    value = table.set_index("quantity").iloc[:, 0]  # the primary analysis
    low = float(value["incremental cost, 95% CI low"])
    high = float(value["incremental cost, 95% CI high"])
    assert low <= truth <= high and float(value["incremental cost (£)"]) < 0
    q_low = float(value["incremental QALYs, 95% CI low"])
    q_high = float(value["incremental QALYs, 95% CI high"])
    assert q_low <= 0 <= q_high
    if layout.imputation:
        assert table.columns[1].startswith("multiple imputation")


def test_a_lost_arm_is_a_validation_warning(tmp_path, capsys):
    """validate warns (exit 1) before run refuses (exit 2)."""
    case = next(c for c in CASES if c.layout.lost is not None)
    config = write(tmp_path / "study", case.layout)
    assert main(["validate", str(config.parent / "codebook.toml")]) == 1
    assert "no participant of the arm 'Usual care' was interviewed" in (
        capsys.readouterr().out
    )


def test_the_load_flow_leaves_out_an_arm_not_compared(tmp_path):
    """cpeval validate's flow agrees with the run: a third arm is excluded first."""
    from cpeval.io import load_study

    case = next(c for c in CASES if c.layout.comparator is not None)
    config = write(tmp_path / "study", case.layout)
    flow = load_study(config.parent / "codebook.toml").flow.table
    assert list(flow.columns[2:5]) == [
        "Connecting People",
        "Usual care",
        "Waiting list",
    ]
    row = flow.set_index("stage").loc["excluded: in an arm that is not compared"]
    assert row["Waiting list"] == row["total"] == 64
    assert flow.set_index("stage").loc["analysed", "Waiting list"] == 0


@pytest.mark.parametrize(
    ("higher", "difference", "favoured"),
    [
        ("better", 2.0, "CP"),
        ("better", -2.0, "UC"),
        ("worse", -2.0, "CP"),
        (None, 2.0, None),
    ],
)
def test_the_sentence_says_which_arm_a_difference_favours(higher, difference, favoured):
    from cpeval.pipeline._findings import _effect_sentence

    row = {
        "outcome": "distress",
        "wave": "12",
        "difference": difference,
        "ci_low": difference - 1,
        "ci_high": difference + 1,
        "n_participants": 90,
    }
    text = _effect_sentence(row, "CP", "UC", higher)
    word = "higher" if difference > 0 else "lower"
    assert text.startswith(f"distress at wave 12: 2.00 points {word} in CP than in UC")
    if favoured is None:
        assert "does not say whether higher is better" in text
    else:
        assert f"favouring {favoured}" in text


def test_an_interval_that_includes_zero_favours_no_arm():
    from cpeval.pipeline._findings import _effect_sentence

    row = {
        "outcome": "distress",
        "wave": "12",
        "difference": 2.0,
        "ci_low": -0.5,
        "ci_high": 4.5,
        "n_participants": 90,
    }
    text = _effect_sentence(row, "CP", "UC", "better")
    assert "favouring" not in text and "includes zero" in text


def test_a_numeric_primary_wave_matches_numeric_waves(tmp_path):
    from cpeval.pipeline import load_config

    path = tmp_path / "a.toml"
    path.write_text(
        '[analysis]\nname = "x"\ncodebook = "c.toml"\nseed = 1\nprimary_wave = 6\n'
        '[outcomes]\n"y" = "y_total"\n[model]\nkind = "ancova"\n'
    )
    assert load_config(path).primary_wave == "6"
