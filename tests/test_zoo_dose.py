"""Zoo: a study with a known effect per unit of dose (tests/zoo/dose.py), run from
its config as a user would; the [dose] table's interval holds the truth and
equals fit_iv on the wide data by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from cpeval.cli import main
from cpeval.models import fit_iv
from tests.zoo.dose import DOSE_EFFECT, DoseLayout, simulate, write


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dose")
    config = write(folder / "study", DoseLayout())
    assert main(["run", str(config), "--out", str(folder / "out"), "--quiet"]) == 0
    return {
        "dose": pd.read_csv(folder / "out" / "tables" / "dose.csv"),
        "report": (folder / "out" / "report.html").read_text(),
    }


def test_the_dose_interval_holds_the_truth(run):
    row = run["dose"].iloc[0]
    estimate = row["effect per unit of fidelity"]
    assert row["ci_low"] <= DOSE_EFFECT <= row["ci_high"], row.to_dict()
    assert row["first_stage_f"] > 10 and pd.isna(row["note"])
    assert row["clusters"] == 14 and row["df"] == 13
    not_analysed = row["not analysed (not seen at the wave, or a value missing)"]
    assert row["n"] + not_analysed == len(simulate(DoseLayout())["baseline"])
    assert abs(estimate - DOSE_EFFECT) < 4 * row["se"]


def test_the_dose_row_is_fit_iv_by_hand(run):
    frames = simulate(DoseLayout())
    base = frames["baseline"].set_index("id")
    later = frames["6 months"].set_index("id")
    wide = pd.DataFrame(
        {
            "y": later["wellbeing"],
            "b": base["wellbeing"].reindex(later.index),
            "dose": base["fidelity"].astype(float).reindex(later.index),
            "z": (base["arm"] == "Connecting People")
            .astype(float)
            .reindex(later.index),
            "age": base["age"].reindex(later.index),
            "team": base["team"].reindex(later.index),
        }
    )
    fit = fit_iv(
        wide,
        outcome="y",
        exposure="dose",
        instrument="z",
        covariates=["b", "age"],
        cluster="team",
    )
    row = run["dose"].iloc[0]
    assert row["effect per unit of fidelity"] == pytest.approx(
        fit.params["dose"], rel=1e-10
    )
    assert row["se"] == pytest.approx(fit.se["dose"], rel=1e-10)
    assert "Effect per unit of dose" in run["report"]
    assert "two-stage least squares" in run["report"]
    assert "Does wellbeing at 6 months differ" in run["report"]  # one outcome


def test_a_blank_comparator_dose_is_refused_not_assumed(tmp_path, capsys):
    config = write(tmp_path / "study", DoseLayout(comparator_dose=""))
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "missing for everyone in the comparator arm" in error
    assert "never assumed" in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (DoseLayout(allocated_dose=0.0), "does not vary apart from"),
        (DoseLayout(teams=2, team_size=60), "two or more are needed at each value"),
    ],
)
def test_a_dose_that_cannot_be_estimated_is_refused(layout, message, tmp_path, capsys):
    """A dose of 0 everywhere, or one team per arm (allocation is the team): a
    one-line error, not an internal error or a number."""
    config = write(tmp_path / "study", layout)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and "internal error" not in error
    assert "[dose]" in error and "'dose'" not in error  # the user's names
