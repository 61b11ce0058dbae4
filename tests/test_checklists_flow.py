"""The participant-flow diagram and the reporting checklists (cpeval.report)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cpeval.exceptions import DataError
from cpeval.io import ParticipantFlow
from cpeval.report import (
    SECTION_TITLES,
    checklist_table,
    checklists_for,
    flow_boxes,
    flow_description,
    load_checklist,
    plot_flow,
    render_flow,
)
from cpeval.report._checklists import DATA

ROOT = Path(__file__).resolve().parents[1]


def _three_arm_flow() -> ParticipantFlow:
    """Three waves, two compared arms and one not compared, two outcomes with
    the same counts and one with its own."""
    stages = [
        "recruited",
        "interviewed at baseline",
        "interviewed at 6 months",
        "interviewed at 12 months",
    ]
    rows = [
        (s, "", "", *n)
        for s, n in zip(
            stages,
            [(50, 52, 20), (48, 50, 20), (40, 45, 15), (35, 41, 12)],
            strict=True,
        )
    ]
    for outcome in ("wellbeing", "social inclusion"):
        rows += [
            ("analysed", outcome, "available data", 44, 47, 0),
            (
                "excluded: in an arm that is not compared",
                outcome,
                "available data",
                0,
                0,
                20,
            ),
            (
                "excluded: not interviewed at baseline",
                outcome,
                "available data",
                2,
                2,
                0,
            ),
            ("excluded: age missing at baseline", outcome, "available data", 1, 2, 0),
            ("excluded: no score at any follow-up", outcome, "available data", 3, 1, 0),
        ]
    rows += [
        ("analysed", "wellbeing", "complete cases", 35, 41, 0),
        (
            "excluded: in an arm that is not compared",
            "wellbeing",
            "complete cases",
            0,
            0,
            20,
        ),
        (
            "excluded: not interviewed at 12 months",
            "wellbeing",
            "complete cases",
            15,
            11,
            0,
        ),
    ]
    table = pd.DataFrame(
        rows,
        columns=[
            "stage",
            "outcome",
            "analysis",
            "intervention",
            "control",
            "waiting list",
        ],
    )
    table["total"] = table[["intervention", "control", "waiting list"]].sum(axis=1)
    return ParticipantFlow(table, pd.DataFrame(), recruitment_list=True)


def _check_against_table(boxes, flow: ParticipantFlow, arms) -> None:
    """Every box's n is the flow table's count (or, for side boxes, the table's
    difference or exclusion rows), and excluded boxes add up their reasons."""
    table = flow.table.fillna("")
    row = table.set_index(["stage", "outcome", "analysis"])
    groups = list(table.columns[3:-1])
    for box in boxes:
        if box.kind == "recruited":
            assert box.n == row.loc[("recruited", "", ""), "total"]
        elif box.kind == "allocated":
            assert box.n == row.loc[("recruited", "", ""), box.column]
        elif box.kind == "interviewed":
            wave = box.id.split(":")[1]
            assert box.n == row.loc[(f"interviewed at {wave}", "", ""), box.column]
        elif box.kind == "lost":
            wave = box.id.split(":")[1]
            assert box.n == (
                row.loc[("recruited", "", ""), box.column]
                - row.loc[(f"interviewed at {wave}", "", ""), box.column]
            )
        elif box.kind in ("analysed", "excluded", "not compared"):
            outcomes, analysis = box.label.rsplit(" (", 1)
            analysis = analysis[:-1]
            for outcome in outcomes.split("; "):
                part = table[
                    (table["outcome"] == outcome) & (table["analysis"] == analysis)
                ]
                excluded = part[part["stage"].str.startswith("excluded: ")]
                if box.kind == "analysed":
                    analysed = part.loc[part["stage"] == "analysed", box.column]
                    assert box.n == analysed.item()
                else:
                    assert box.n == excluded[box.column].sum()
                if box.kind == "excluded":
                    expected = [
                        (s.removeprefix("excluded: "), n)
                        for s, n in zip(
                            excluded["stage"], excluded[box.column], strict=True
                        )
                        if n
                    ]
                    assert list(box.reasons) == expected
                    assert sum(n for _, n in box.reasons) == box.n
        else:
            raise AssertionError(f"unexpected box kind {box.kind}")
        assert box.column in ("", *groups)
    kinds = {b.kind for b in boxes}
    assert {"recruited", "allocated", "interviewed", "analysed"} <= kinds
    columns = list(dict.fromkeys(b.column for b in boxes if b.column))
    assert columns[: len(arms)] == list(arms)


def test_boxes_count_what_the_flow_table_counts():
    flow = _three_arm_flow()
    arms = ["intervention", "control"]
    boxes = flow_boxes(flow, arms, randomised=True)
    _check_against_table(boxes, flow, arms)
    ids = [b.id for b in boxes]
    assert len(ids) == len(set(ids))
    # two outcomes with the same counts share one row; the default draws each
    # outcome's first analysis only
    labels = list(dict.fromkeys(b.label for b in boxes if b.label))
    assert labels == ["wellbeing; social inclusion (available data)"]
    # the arm that is not compared is drawn after the compared ones, not analysed
    other = [b for b in boxes if b.column == "waiting list"]
    assert other[0].text.startswith("Allocated to waiting list (not compared)")
    assert [b.n for b in other if b.kind == "not compared"] == [20]
    assert not [b for b in other if b.kind == "analysed"]


def test_chosen_analyses_and_arm_order_are_kept():
    flow = _three_arm_flow()
    arms = ["control", "intervention"]  # as given, never sorted
    boxes = flow_boxes(
        flow, arms, randomised=False, analyses=["available data", "complete cases"]
    )
    _check_against_table(boxes, flow, arms)
    labels = list(dict.fromkeys(b.label for b in boxes if b.label))
    assert labels == [
        "wellbeing; social inclusion (available data)",
        "wellbeing (complete cases)",
    ]
    excluded = next(
        b
        for b in boxes
        if b.kind == "excluded" and b.column == "control" and "complete" in b.label
    )
    assert excluded.reasons == (("not interviewed at 12 months", 11),)


def test_consort_and_trend_wording():
    flow = _three_arm_flow()
    consort = flow_boxes(flow, ["intervention", "control"], randomised=True)
    trend = flow_boxes(flow, ["intervention", "control"], randomised=False)
    assert consort[1].text == "Allocated to intervention\nn = 50"
    assert trend[1].text == "Assigned to the intervention group\nn = 50"
    assert [b.stage for b in consort][:2] == ["Enrolment", "Allocation"]
    assert [b.stage for b in trend][:2] == ["Recruitment", "Assignment"]
    assert any(b.text.startswith("Lost to follow-up") for b in consort)
    assert any(b.text.startswith("Analysed") for b in trend)
    text = flow_description(trend)
    assert "Recruitment: Recruited; n = 122." in text


def test_flow_without_recruitment_list_says_so():
    flow = _three_arm_flow()
    flow = ParticipantFlow(flow.table, flow.exclusions, recruitment_list=False)
    boxes = flow_boxes(flow, ["intervention", "control"], randomised=False)
    assert "no recruitment list" in boxes[0].text


@pytest.mark.parametrize(
    ("arms", "analyses", "message"),
    [
        (["intervention", "placebo"], None, "arm 'placebo' is not a group"),
        ("intervention", None, "arms must be a sequence"),
        (["intervention", "control"], ["per protocol"], "no analysis named"),
    ],
)
def test_bad_arguments_are_data_errors(arms, analyses, message):
    with pytest.raises(DataError, match=message):
        flow_boxes(_three_arm_flow(), arms, randomised=True, analyses=analyses)


def test_svg_has_the_counts_and_is_the_same_every_time(tmp_path):
    flow = _three_arm_flow()
    arms = ["intervention", "control"]
    first = render_flow(plot_flow(flow, arms, randomised=True, title="Flow"))
    second = render_flow(plot_flow(flow, arms, randomised=True, title="Flow"))
    assert first == second
    svg, png = first
    assert png.startswith(b"\x89PNG")
    assert "Date" not in svg.split("<metadata>")[-1].split("</metadata>")[0]
    for box in flow_boxes(flow, arms, randomised=True):
        assert f"n = {box.n}" in svg
        for _reason, n in box.reasons:
            assert f": {n}" in svg


def test_figure_keeps_report_width_and_grows_with_waves():
    flow = _three_arm_flow()
    fig = plot_flow(flow, ["intervention", "control"], randomised=True)
    table = flow.table[~flow.table["stage"].eq("interviewed at 12 months")]
    shorter = plot_flow(
        ParticipantFlow(table, flow.exclusions, True),
        ["intervention", "control"],
        randomised=True,
    )
    assert fig.get_figwidth() * fig.dpi == 900
    assert fig.get_figheight() > shorter.get_figheight()
    texts = [t for ax in fig.axes for t in ax.texts]
    assert min(t.get_fontsize() for t in texts) >= 8


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory):
    """The run's flow (as the pipeline builds it) on a simulated pilot."""
    from cpeval.io import load_study
    from cpeval.pipeline import load_config
    from cpeval.pipeline._flow import analysis_flow
    from cpeval.pipeline._outcomes import analysis_data, outcome_analyses
    from cpeval.scales import score_study
    from cpeval.simulate import PILOT, write_study

    folder = tmp_path_factory.mktemp("pilot")
    for name in ("codebook.toml", "rguk_illustrative.toml", "sis_illustrative.toml"):
        shutil.copy(ROOT / "data" / "synthetic" / "pilot" / name, folder / name)
    write_study(PILOT, folder, seed=11)
    config = folder / "analysis.toml"
    config.write_text(
        '[analysis]\nname = "pilot"\ncodebook = "codebook.toml"\nseed = 1\n'
        'formats = ["csv"]\n'
        '[outcomes]\n"wellbeing (WEMWBS)" = "wemwbs_total"\n'
        '"social inclusion" = "social_inclusion_total"\n'
        '[model]\nkind = "ancova"\ncovariates = ["age"]\n',
        encoding="utf-8",
    )
    cfg = load_config(config)
    study = score_study(load_study(cfg.codebook))
    data = analysis_data(study)
    analyses = outcome_analyses(cfg, data, study.codebook, say=lambda *_: None)
    flow = analysis_flow(study, data, analyses, cfg, list(cfg.model.covariates))
    return flow, study.arms


def test_run_flow_boxes_match_its_table_and_exclusions(pilot_run):
    flow, arms = pilot_run
    assert len(arms) == 2
    for randomised in (True, False):
        boxes = flow_boxes(flow, arms, randomised)
        _check_against_table(boxes, flow, arms)
    # the reasons also match the participants listed, counted independently
    listed = flow.exclusions.groupby(["outcome", "group", "reason"]).size()
    for box in flow_boxes(flow, arms, randomised=False):
        if box.kind == "excluded":
            for outcome in box.label.rsplit(" (", 1)[0].split("; "):
                for reason, n in box.reasons:
                    assert listed[(outcome, box.column, reason)] == n
    svg, _ = render_flow(plot_flow(flow, arms, randomised=False))
    recruited = flow.table.loc[flow.table["stage"] == "recruited", "total"].item()
    assert f"n = {recruited}" in svg


# --- checklists -----------------------------------------------------------------

ALL_SECTIONS = list(SECTION_TITLES)


@pytest.mark.parametrize(
    ("name", "items", "numbered"),
    [("cheers-2022", 28, 28), ("trend", 22, 22), ("consort-cluster", 39, 25)],
)
def test_item_counts(name, items, numbered):
    table = checklist_table(name, sections=ALL_SECTIONS, features=["economics"])
    assert len(table) == items
    assert table["item"].str.rstrip("abc").nunique() == numbered
    assert table["item"].is_unique


@pytest.mark.parametrize("name", ["cheers-2022", "trend", "consort-cluster"])
def test_every_item_points_to_known_sections(name):
    checklist = load_checklist(DATA / f"{name}.toml")
    assert checklist.citation and checklist.doi
    for item in checklist.items:
        assert item.asks and item.topic
        assert item.status in ("confirmed", "unconfirmed")
        for place in item.where:
            assert place.section in SECTION_TITLES
    table = checklist_table(
        name,
        sections=ALL_SECTIONS,
        features=["economics", "propensity", "imputation", "clusters"],
    )
    for ids, where in zip(table["section_ids"], table["where"], strict=True):
        if ids:
            assert where == ", ".join(SECTION_TITLES[i] for i in ids.split(", "))
        else:
            assert where.startswith(("not reported", "not applicable"))


def test_what_cpeval_cannot_know_is_not_reported():
    table = checklist_table(
        "cheers-2022", sections=ALL_SECTIONS, features=["economics"]
    ).set_index("topic")
    for topic in (
        "Source of funding",
        "Conflicts of interest",
        "Health economic analysis plan",
    ):
        assert table.loc[topic, "where"] == "not reported — the authors must add it"
    assert table.loc["Perspective", "section_ids"] == "methods"
    consort = checklist_table("consort-cluster", sections=ALL_SECTIONS)
    consort = consort.set_index("item")
    for item in ("4a", "8a", "23", "25"):
        assert consort.loc[item, "where"].startswith("not reported")
    assert consort.loc["13a", "section_ids"] == "flow, findings"


def test_economic_items_need_an_economic_evaluation():
    assert checklists_for(randomised=False, economics=False) == ["trend"]
    assert checklists_for(randomised=True, economics=False) == ["consort-cluster"]
    assert checklists_for(randomised=False, economics=True) == ["trend", "cheers-2022"]
    without = checklist_table("cheers-2022", sections=ALL_SECTIONS, features=[])
    without = without.set_index("topic")
    for topic in (
        "Perspective",
        "Time horizon",
        "Discount rate",
        "Summary of main results",
        "Effect of uncertainty",
    ):
        assert without.loc[topic, "where"].startswith("not reported")
    assert not without["section_ids"].str.contains("table-economics").any()
    # by default the features come from the sections the report has
    default = checklist_table("cheers-2022", sections=ALL_SECTIONS)
    assert "table-economics" in default.set_index("item").loc["23", "section_ids"]


def test_propensity_items_depend_on_the_run(tmp_path):
    trend = checklist_table(
        "trend", sections=[s for s in ALL_SECTIONS if s != "table-balance"]
    ).set_index("item")
    assert "table-balance" not in trend.loc["15", "section_ids"]
    assert "methods" not in trend.loc["8", "section_ids"]
    adjusted = checklist_table("trend", sections=ALL_SECTIONS).set_index("item")
    assert "table-balance" in adjusted.loc["15", "section_ids"]
    assert "methods" in adjusted.loc["8", "section_ids"]
    # an item only a propensity run addresses is "not reported" without one
    path = tmp_path / "mini.toml"
    path.write_text(
        'name = "mini"\ntitle = "t"\ncitation = "c"\n'
        '[[item]]\nnumber = "1"\nsection = "Results"\ntopic = "Balance"\n'
        'asks = "balance"\nwhere = [{ section = "table-balance", '
        'needs = "propensity" }]\n',
        encoding="utf-8",
    )
    mini = load_checklist(path)
    plain = checklist_table(mini, sections=ALL_SECTIONS, features=[])
    assert plain["where"].item() == "not reported — the authors must add it"
    scored = checklist_table(mini, sections=ALL_SECTIONS, features=["propensity"])
    assert scored["where"].item() == "Table: baseline balance"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[item]]\nnumber = "3"\nsection = "M"\ntopic = "T"\nasks = "a"\n'
            'where = [{ section = "results" }]\n',
            r"item 3: 'results' is not a report",
        ),
        (
            '[[item]]\nnumber = "4"\nsection = "M"\ntopic = "T"\nasks = "a"\n'
            'where = [{ section = "methods", needs = "magic" }]\n',
            "item 4: unknown condition 'magic'",
        ),
        (
            '[[item]]\nnumber = "5"\nsection = "M"\ntopic = "T"\nasks = ""\n',
            "item 5: 'asks' is missing or empty",
        ),
        (
            '[[item]]\nnumber = "6"\nsection = "M"\ntopic = "T"\nasks = "a"\n'
            'colour = "red"\n',
            "item 6: unknown key 'colour'",
        ),
        (
            '[[item]]\nnumber = "7"\nsection = "M"\ntopic = "T"\nasks = "a"\n'
            '[[item]]\nnumber = "7"\nsection = "M"\ntopic = "T"\nasks = "b"\n',
            "item 7: the item number is repeated",
        ),
        (
            '[[item]]\nnumber = "8"\nsection = "M"\ntopic = "T"\nasks = "a"\n'
            'status = "maybe"\n',
            "item 8: status must be one of",
        ),
    ],
)
def test_malformed_checklist_is_refused_naming_file_and_item(tmp_path, body, message):
    path = tmp_path / "broken.toml"
    path.write_text(
        'name = "x"\ntitle = "t"\ncitation = "c"\n' + body, encoding="utf-8"
    )
    with pytest.raises(DataError, match=message) as caught:
        load_checklist(path)
    assert "broken.toml" in str(caught.value)


def test_unknown_checklist_or_section_is_refused():
    with pytest.raises(DataError, match="no reporting checklist 'strobe'"):
        checklist_table("strobe", sections=ALL_SECTIONS)
    with pytest.raises(DataError, match="unknown report sections: 'results'"):
        checklist_table("trend", sections=["results"])
