"""load_study and participant_flow: linking, typing, and a flow that adds up."""

from __future__ import annotations

import pandas as pd
import pytest

import cpeval
from cpeval.io import load_study, participant_flow, validate


@pytest.fixture(scope="module")
def study():
    from tests.conftest import EXAMPLE

    return load_study(EXAMPLE / "codebook.toml")


def test_long_data_is_linked_and_typed(study):
    data = study.data
    assert list(data.columns[:5]) == ["id", "arm", "trust", "team", "wave"]
    assert data["wave"].cat.categories.tolist() == ["baseline", "6 months"]
    assert data["wave"].cat.ordered
    assert data["interview_date"].dtype.kind == "M"
    assert data["wemwbs_1"].dtype == float
    assert not data.duplicated(["id", "wave"]).any()
    # follow-up files omit arm and team: they come from baseline
    assert data["arm"].notna().all() and data["team"].notna().all()
    # every row points back to its file and row
    first = data.iloc[0]
    assert first["source_file"].endswith("baseline.csv") and first["source_row"] == 2


def test_flow_counts_add_up(study):
    table = study.flow.table
    groups = ["control", "intervention"]
    assert (table[groups].sum(axis=1) == table["total"]).all()
    recruited = table.loc[table["stage"] == "recruited", "total"].item()
    assert recruited == len(study.recruited) == 60
    for outcome in ("wemwbs", "eq5d5l"):
        rows = table[table["outcome"] == outcome]
        assert rows["total"].sum() == recruited
        for group in groups:
            assert rows[group].sum() == table.loc[0, group]


def test_every_unanalysed_participant_is_listed_with_a_reason(study):
    flow = study.flow
    data, everyone = study.data, set(study.recruited["id"])
    for outcome, items in study.codebook.instruments.items():
        complete = data[data[list(items)].notna().all(axis=1)]
        per_wave = complete.groupby("id", observed=True)["wave"].nunique()
        analysed = set(per_wave.index[per_wave == 2])
        listed = flow.exclusions[flow.exclusions["outcome"] == outcome]
        assert set(listed["id"]) == everyone - analysed
        assert listed["reason"].str.len().gt(0).all()
        count = flow.table.query("stage == 'analysed' and outcome == @outcome")
        assert count["total"].item() == len(analysed)


def test_flow_reasons_are_specific(study):
    reasons = set(study.flow.exclusions["reason"])
    assert "not interviewed at baseline" in reasons
    assert "not interviewed at 6 months" in reasons
    assert any(r.startswith("wemwbs incomplete at") for r in reasons)


def test_custom_outcomes(study):
    flow = participant_flow(study, outcomes={"vas": ["eq5d_vas"]})
    assert set(flow.exclusions["outcome"]) == {"vas"}
    with pytest.raises(cpeval.DataError, match=r"columns \['nope'\]"):
        participant_flow(study, outcomes={"x": ["nope"]})


def _study(tmp_path, files: dict[str, str], codebook: str):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "codebook.toml"
    path.write_text(codebook)
    return path


LONG = """
[study]
id = "pid"
group = "arm"
intervention = "a"
wave = "visit"
waves = ["0", "6"]
date = "date"
[[files]]
path = "long.csv"
[instruments.x]
items = ["x1"]
values = [0, 1]
"""


def test_single_long_file_with_a_wave_column(tmp_path):
    text = (
        "pid,arm,visit,date,x1\n"
        "1,a,0,2025-01-01,1\n1,a,6,2025-07-01,0\n2,b,0,2025-01-02,1\n"
    )
    study = load_study(_study(tmp_path, {"long.csv": text}, LONG))
    assert study.data["visit"].tolist() == ["0", "6", "0"]
    assert study.flow.recruitment_list is False
    table = study.flow.table.set_index("stage")
    assert table.loc["recruited", "total"] == 2
    assert table.loc["analysed", "total"] == 1
    assert table.loc["excluded: not interviewed at 6", "b"] == 1


def test_wave_value_not_declared(tmp_path):
    text = "pid,arm,visit,date,x1\n1,a,0,2025-01-01,1\n1,a,12,2025-07-01,0\n"
    with pytest.raises(cpeval.DataError, match=r"row 3, participant 1, column 'visit'"):
        load_study(_study(tmp_path, {"long.csv": text}, LONG))


def test_missing_date_is_a_warning_not_an_error(tmp_path):
    text = "pid,arm,visit,date,x1\n1,a,0,,1\n1,a,6,2025-07-01,0\n"
    path = _study(tmp_path, {"long.csv": text}, LONG)
    report = validate(path)
    assert report.exit_code == 1
    assert [p.rule for p in report.warnings] == ["missing_date"]
    assert len(load_study(path).data) == 2


def test_recruitment_list(tmp_path):
    codebook = LONG + '[recruitment]\npath = "recruited.csv"\n'
    text = "pid,arm,visit,date,x1\n1,a,0,2025-01-01,1\n3,a,0,2025-01-01,1\n"
    files = {"long.csv": text, "recruited.csv": "pid,arm\n1,a\n2,b\n"}
    report = validate(_study(tmp_path, files, codebook))
    assert [(p.rule, p.participant) for p in report.errors] == [("not_recruited", "3")]
    files["long.csv"] = text.replace("3,a", "1,b").replace("1,b,0", "1,b,6", 1)
    report = validate(_study(tmp_path, files, codebook))
    rules = {p.rule for p in report.errors}
    assert "changed_between_waves" in rules


def test_recruited_but_never_interviewed_is_in_the_flow(tmp_path):
    codebook = LONG + '[recruitment]\npath = "recruited.csv"\n'
    text = "pid,arm,visit,date,x1\n1,a,0,2025-01-01,1\n1,a,6,2025-06-01,1\n"
    files = {"long.csv": text, "recruited.csv": "pid,arm\n1,a\n2,b\n"}
    study = load_study(_study(tmp_path, files, codebook))
    assert study.flow.recruitment_list
    table = study.flow.table.set_index("stage")
    assert table.loc["recruited", "b"] == 1
    assert table.loc["interviewed at 0", "b"] == 0
    excluded = study.flow.exclusions
    assert excluded.to_dict("records") == [
        {"id": "2", "group": "b", "outcome": "x", "reason": "not interviewed at 0"}
    ]


def test_problems_frame_and_error_counts(tmp_path):
    text = "pid,arm,visit,date,x1\n1,a,0,2025-01-01,7\n1,a,0,2025-01-01,8\n"
    report = validate(_study(tmp_path, {"long.csv": text}, LONG))
    frame = report.to_frame()
    assert list(frame.columns) == [
        "severity",
        "rule",
        "file",
        "message",
        "row",
        "participant",
        "column",
        "value",
    ]
    assert frame["value"].tolist()[:2] == ["7", "8"]
    with pytest.raises(cpeval.DataError, match=r"\(and 2 more errors\)") as caught:
        report.raise_for_errors()
    assert isinstance(caught.value.problems, pd.DataFrame)
