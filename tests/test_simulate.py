"""The synthetic studies regenerate byte for byte and follow the published numbers."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from cpeval.io import ReadReport, load_study, read_data
from cpeval.scales import score_study
from tests.conftest import ROOT, tree_hashes

SYNTHETIC = ROOT / "data" / "synthetic"
TOMLS = ("rguk_illustrative.toml", "sis_illustrative.toml")


def test_studies_regenerate_identically(tmp_path):
    subprocess.run(
        [sys.executable, str(SYNTHETIC / "make_studies.py"), str(tmp_path)], check=True
    )
    for study in ("pilot", "implementation"):
        committed = {
            k: v
            for k, v in tree_hashes(SYNTHETIC / study).items()
            if k.endswith((".csv", ".sav"))
        }
        assert tree_hashes(tmp_path / study) == committed


@pytest.mark.parametrize(
    ("study", "recruited", "baseline", "followup", "groups_followed"),
    [
        ("pilot", 155, 155, 117, {"high": 30, "low/moderate": 87}),
        ("implementation", 159, 151, 127, None),
    ],
)
def test_published_numbers(study, recruited, baseline, followup, groups_followed):
    loaded = load_study(SYNTHETIC / study / "codebook.toml")
    assert loaded.report.exit_code == 0
    table = loaded.flow.table.set_index("stage")
    assert table.loc["recruited", "total"] == recruited
    assert table.loc["interviewed at baseline", "total"] == baseline
    wave = loaded.codebook.waves[1]
    assert table.loc[f"interviewed at {wave}", "total"] == followup
    if groups_followed:
        counts = table.loc[f"interviewed at {wave}", list(groups_followed)].to_dict()
        assert counts == groups_followed
    teams = loaded.data.groupby("team")[loaded.codebook.group].nunique()
    if study == "implementation":  # allocation by team, 5 trusts x 2 teams
        assert teams.max() == 1 and loaded.data["team"].nunique() == 10


def test_pilot_high_fidelity_gains_more_access_to_social_capital():
    study = score_study(load_study(SYNTHETIC / "pilot" / "codebook.toml"))
    follow = study.data[study.data["wave"] == "9 months"]
    means = follow.groupby("fidelity")["rguk_total"].mean()
    assert means["high"] > means["low/moderate"]
    assert isinstance(means, pd.Series)


def test_spss_copy_loads_to_the_same_study(tmp_path):
    """baseline.sav is the CSV's copy: the study loads identically from either
    (only the row numbers differ: SPSS counts cases, the CSV counts lines)."""
    folder = SYNTHETIC / "implementation"
    book = (folder / "codebook.toml").read_text()
    for name in ("recruited.csv", "followup.csv", "baseline.sav", *TOMLS):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    assert '"baseline.csv"' in book
    (tmp_path / "codebook.toml").write_text(
        book.replace('"baseline.csv"', '"baseline.sav"')
    )
    from_csv = load_study(folder / "codebook.toml")
    from_sav = load_study(tmp_path / "codebook.toml")
    columns = from_csv.data.columns.difference(["source_file", "source_row"])
    pd.testing.assert_frame_equal(from_csv.data[columns], from_sav.data[columns])
    labels = ReadReport.of(read_data(folder / "baseline.sav")).column_labels
    assert labels["wemwbs_2"] == "WEMWBS item 2"
