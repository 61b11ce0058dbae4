"""The scoring engine on built-in and user-defined instruments, checked by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.scales import get_instrument, list_instruments, load_instrument, score

REF = Path(__file__).parent / "reference" / "reliability"
WEMWBS = [f"wemwbs_{i}" for i in range(1, 15)]


def _frame(rows, columns):
    return pd.DataFrame(rows, columns=columns, dtype=float)


def _definition(tmp_path, text: str, name="mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


SIX = """
[instrument]
name = "six"
title = "Six items"
status = "verified"
columns = "s{1..6}"
[items]
labels = ["a", "b", "c", "d", "e", "f"]
codes = [0, 1, 2, 3]
[scales.total]
items = "all"
method = "sum"
max_missing = 2
[scales.first_three]
items = [1, 2, 3]
method = "mean"
max_missing = 1
"""


def test_wemwbs_sum_by_hand():
    rows = [[1] * 14, [5] * 14, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4]]
    out = score(_frame(rows, WEMWBS), "wemwbs")
    assert out["total"].tolist() == [14.0, 70.0, 40.0]
    assert out["total_missing"].tolist() == [0, 0, 0]
    assert not out["total_prorated"].any()


def test_wemwbs_any_missing_item_gives_no_total():
    row = [3.0] * 13 + [np.nan]
    out = score(_frame([row], WEMWBS), "wemwbs")
    assert np.isnan(out.loc[0, "total"]) and out.loc[0, "total_missing"] == 1


def test_swemwbs_conversion_table_every_raw_score():
    table = get_instrument("swemwbs").conversions["metric"]
    rows, expected = [], []
    for raw in range(7, 36):
        items = [1] * 7
        for i in range(raw - 7):
            items[i % 7] += 1
        rows.append(items)
        expected.append(table[float(raw)])
    out = score(_frame(rows, [f"swemwbs_{i}" for i in range(1, 8)]), "swemwbs")
    assert out["raw"].tolist() == list(map(float, range(7, 36)))
    assert out["total"].tolist() == expected
    # published anchors of the table (spec section 4)
    assert (table[7.0], table[21.0], table[35.0]) == (7.0, 19.25, 35.0)


def test_reverse_keys_by_hand():
    inst = load_instrument(REF / "reverse_keyed.toml")
    data = _frame(
        [[1, 1, 1, 1, 1, 1], [5, 2, 4, 3, 4, 1]], [f"r{i}" for i in range(1, 7)]
    )
    # items 2 and 5 become 6 - code
    assert score(data, inst)["total"].tolist() == [
        1 + 5 + 1 + 1 + 5 + 1,
        5 + 4 + 4 + 3 + 2 + 1,
    ]


@pytest.mark.parametrize(
    ("row", "total", "prorated", "first_three"),
    [
        ([1, 2, 3, 0, 1, 2], 9.0, False, 2.0),
        ([1, 2, np.nan, 0, 1, 2], 6 * 6 / 5, True, 1.5),
        ([1, np.nan, np.nan, 0, 1, 2], 6 * 4 / 4, True, np.nan),
        ([np.nan, np.nan, np.nan, 0, 1, 2], np.nan, False, np.nan),
    ],
)
def test_prorating_boundaries(tmp_path, row, total, prorated, first_three):
    inst = load_instrument(_definition(tmp_path, SIX))
    out = score(_frame([row], [f"s{i}" for i in range(1, 7)]), inst)
    np.testing.assert_allclose(out["total"], [total])
    assert out.loc[0, "total_prorated"] == prorated
    assert out.loc[0, "total_missing"] == int(np.isnan(row).sum())
    np.testing.assert_allclose(out["first_three"], [first_three])


def test_item_scores_from_codes(tmp_path):
    text = SIX.replace(
        "codes = [0, 1, 2, 3]", "codes = [1, 2, 3, 9]\nscores = [1, 1, 0, 0]"
    )
    inst = load_instrument(_definition(tmp_path, text))
    out = score(_frame([[1, 2, 3, 9, 1, 2]], [f"s{i}" for i in range(1, 7)]), inst)
    assert out.loc[0, "total"] == 4.0


def test_items_by_list_mapping_and_pattern():
    data = _frame([[2] * 14], [f"wb{i}" for i in range(1, 15)])
    labels = get_instrument("wemwbs").labels
    assert (
        score(data, "wemwbs", items=[f"wb{i}" for i in range(1, 15)])["total"][0] == 28
    )
    assert score(data, "wemwbs", items="wb{1..14}")["total"][0] == 28
    mapping = {label: f"wb{i}" for i, label in enumerate(labels, 1)}
    assert score(data, "wemwbs", items=mapping)["total"][0] == 28


def test_bad_code_names_row_column_value():
    data = _frame([[3] * 14, [3] * 13 + [6], [0] + [3] * 13], WEMWBS)
    data.index = ["P1", "P2", "P3"]
    with pytest.raises(
        cpeval.DataError,
        match=r"wemwbs: row 'P2', column 'wemwbs_14': value '6' is not one of "
        r"1, 2, 3, 4, 5 \(and 1 more cells\)",
    ):
        score(data, "wemwbs")


def test_text_value_is_a_data_error():
    data = pd.DataFrame({c: [3] for c in WEMWBS}, dtype=object)
    data.loc[0, "wemwbs_2"] = "often"
    with pytest.raises(
        cpeval.DataError, match=r"'wemwbs_2': value 'often' is not a number"
    ):
        score(data, "wemwbs")


def test_missing_column_and_wrong_item_count():
    data = _frame([[3] * 13], WEMWBS[:13])
    with pytest.raises(cpeval.DataError, match=r"no columns \['wemwbs_14'\]"):
        score(data, "wemwbs")
    with pytest.raises(cpeval.DataError, match="has 14 items; 13 columns"):
        score(data, "wemwbs", items=WEMWBS[:13])


def test_user_definition_extends_a_built_in(tmp_path):
    text = '[instrument]\nextends = "wemwbs"\n[scales.total]\nmax_missing = 2\n'
    inst = load_instrument(_definition(tmp_path, text))
    row = [3.0] * 12 + [np.nan, np.nan]
    out = score(_frame([row], WEMWBS), inst)
    assert out.loc[0, "total"] == 42.0 and out.loc[0, "total_prorated"]
    assert inst.labels == get_instrument("wemwbs").labels


def test_required_parts_must_be_declared(tmp_path):
    text = """
[instrument]
name = "open"
title = "Subscales unknown"
status = "provisional"
unconfirmed = ["which items form each subscale"]
requires = ["scales"]
columns = "o{1..4}"
[items]
labels = ["a", "b", "c", "d"]
codes = [0, 1]
"""
    base = load_instrument(_definition(tmp_path, text, "open.toml"))
    data = _frame([[1, 0, 1, 1]], [f"o{i}" for i in range(1, 5)])
    with pytest.raises(cpeval.DataError, match="scoring needs scales"):
        score(data, base)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('status = "verified"', 'status = "checked"'), "must be 'verified' or"),
        (('status = "verified"', 'status = "provisional"'), "must name what is"),
        (("max_missing = 2", "max_missing = 2\nweight = 1"), "unknown key 'scales"),
        (("items = [1, 2, 3]", "items = [1, 2, 9]"), r"item numbers \[9\] outside 1-6"),
        (('method = "mean"', 'method = "median"'), "method' must be one of"),
        (("max_missing = 1", 'max_missing = 1\nconvert = "x"'), "needs whole raw"),
        (('columns = "s{1..6}"', 'columns = "s{1..5}"'), "gives 5 names"),
    ],
)
def test_definition_errors(tmp_path, change, message):
    with pytest.raises(cpeval.DataError, match=message):
        load_instrument(_definition(tmp_path, SIX.replace(*change)))


def test_unknown_built_in():
    with pytest.raises(cpeval.DataError, match="no built-in instrument 'nope'"):
        get_instrument("nope")


def test_catalogue_lists_status_and_citation():
    catalogue = list_instruments()
    assert {"wemwbs", "swemwbs"} <= set(catalogue["name"])
    assert catalogue["citation"].str.len().gt(0).all()
    provisional = catalogue[catalogue["status"] == "provisional"]
    assert provisional["unconfirmed"].str.len().gt(0).all()


def test_score_keeps_every_row_and_the_index():
    data = _frame([[3] * 14, [np.nan] * 14], WEMWBS)
    data.index = [10, 20]
    out = score(data, "wemwbs")
    assert out.index.tolist() == [10, 20]
    assert out.attrs["instrument"]["name"] == "wemwbs"


def test_provisional_instruments_require_declarations():
    for name in ("rguk", "sis", "cp_fidelity"):
        inst = get_instrument(name)
        assert inst.status == "provisional" and inst.requires == ("items", "scales")
        with pytest.raises(cpeval.DataError, match="declare them in a definition file"):
            score(pd.DataFrame({"x": [1]}), inst)


def test_declaring_the_rguk_parts_makes_it_scoreable(tmp_path):
    text = """
[instrument]
extends = "rguk"
columns = "rg{1..4}"
[items]
labels = ["doctor", "lawyer", "repair", "borrow"]
codes = [1, 2, 3]
scores = [1, 1, 0]
[scales.expert_advice]
items = [1, 2]
[scales.domestic]
items = [3, 4]
"""
    inst = load_instrument(_definition(tmp_path, text))
    assert inst.requires == () and inst.status == "provisional"
    data = _frame([[1, 3, 2, 2], [3, 3, 3, 1]], ["rg1", "rg2", "rg3", "rg4"])
    out = score(data, inst)
    assert out["expert_advice"].tolist() == [1.0, 0.0]
    assert out["domestic"].tolist() == [2.0, 1.0]
    assert out.attrs["instrument"]["status"] == "provisional"


def test_combine_ratings_by_hand():
    from cpeval.scales import combine_ratings

    ratings = pd.DataFrame(
        {"worker": [4.0, 2.0, np.nan], "user": [2.0, np.nan, np.nan]}
    )
    assert combine_ratings(ratings).tolist()[0] == 3.0
    assert np.isnan(combine_ratings(ratings).tolist()[1])
    weighted = combine_ratings(ratings, weights={"worker": 3, "user": 1}, min_raters=1)
    np.testing.assert_allclose(weighted, [(12 + 2) / 4, 2.0, np.nan])
    with pytest.raises(cpeval.DataError, match="weights and raters differ"):
        combine_ratings(ratings, weights={"worker": 1})


def test_fidelity_group_cut_is_inclusive():
    from cpeval.scales import fidelity_group

    groups = fidelity_group(pd.Series([2.99, 3.0, np.nan, 4.0]), cut=3.0)
    assert groups.tolist()[:2] == ["low/moderate", "high"] and pd.isna(groups[2])
    assert groups.cat.ordered


def test_score_study_adds_scores_and_recounts_the_flow():
    from cpeval.io import load_study
    from cpeval.scales import score_study
    from tests.conftest import EXAMPLE

    study = load_study(EXAMPLE / "codebook.toml")
    scored = score_study(study)
    assert "wemwbs_total" not in study.data.columns  # the input is not changed
    items = study.data[WEMWBS]
    expected = items.sum(axis=1).where(items.notna().all(axis=1))
    pd.testing.assert_series_equal(
        scored.data["wemwbs_total"], expected, check_names=False
    )
    # WEMWBS scores need every item, so the flow counts equal the complete-items rule
    pd.testing.assert_frame_equal(scored.flow.table, study.flow.table)


def test_score_study_with_a_declared_definition_file(tmp_path):
    from cpeval.io import load_study
    from cpeval.scales import score_study
    from tests.conftest import EXAMPLE

    (tmp_path / "wemwbs_prorated.toml").write_text(
        '[instrument]\nextends = "wemwbs"\n[scales.total]\nmax_missing = 3\n'
    )
    text = (EXAMPLE / "codebook.toml").read_text()
    text = text.replace('definition = "wemwbs"', 'definition = "wemwbs_prorated.toml"')
    for name in ("recruited", "baseline", "followup"):
        text = text.replace(f'"{name}.csv"', f'"{(EXAMPLE / name).as_posix()}.csv"')
    (tmp_path / "codebook.toml").write_text(text)
    scored = score_study(load_study(tmp_path / "codebook.toml"))
    table = scored.flow.table.set_index(["stage", "outcome"])
    # prorating up to 3 missing items removes the 'incomplete' exclusions
    assert ("excluded: wemwbs incomplete at baseline", "wemwbs") not in table.index
    assert scored.data["wemwbs_total_prorated"].any()


def test_scoring_in_chunks_gives_the_same_result_and_messages():
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        rng.integers(1, 6, size=(103, 14)).astype(float),
        columns=[f"wemwbs_{i}" for i in range(1, 15)],
        index=pd.RangeIndex(2, 105, name="row"),
    )
    data.iloc[::9, 3] = np.nan
    whole = score(data, "wemwbs")
    pd.testing.assert_frame_equal(score(data, "wemwbs", chunksize=7), whole)
    data.iloc[50, 2] = 9
    data.iloc[90, 5] = 0
    with pytest.raises(cpeval.DataError, match=r"row 52.*'9'.*\(and 1 more cells\)"):
        score(data, "wemwbs", chunksize=10)
    with pytest.raises(cpeval.DataError, match="chunksize"):
        score(data, "wemwbs", chunksize=0)
