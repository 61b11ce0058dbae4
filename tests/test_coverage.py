"""A test-sized run of benchmarks/coverage_simulation.py (200 replicates there).

20 regenerated studies of each design: the pilot's complete-case ANCOVA 95% CIs
must contain the designed effects (its imputed analysis, the config's primary,
takes about 30 s a study: the benchmark measures it), and the implementation
study's (its team-by-wave mixed model and the two ANCOVAs beside it, CR2 and
wild bootstrap) must contain zero,
in at least 17 of 20 (a binomial(20, 0.95) falls below 17 with probability 1.6%;
the seeds are fixed, so the test is deterministic). The 200-replicate figures are
in the closing note of issue 7 and the README.
"""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.coverage_simulation import replicate

REPLICATES = 20
COMPLETE_CASES = {"imputation": None}  # the pilot config's ANCOVA, not imputed


@pytest.fixture(scope="module")
def pilot_truth() -> pd.Series:
    big = replicate(
        "pilot",
        1,
        config=COMPLETE_CASES,
        recruited=20_000,
        baseline=20_000,
        followup=15_000,
    )
    return big.set_index("outcome")["difference"]


def test_pilot_intervals_cover_the_designed_effects(pilot_truth):
    runs = pd.concat(
        [replicate("pilot", 1000 + s, config=COMPLETE_CASES) for s in range(REPLICATES)]
    )
    assert set(runs["analysis"]) == {"complete cases"}
    truth = runs["outcome"].map(pilot_truth)
    covered = (runs["ci_low"] <= truth) & (truth <= runs["ci_high"])
    counts = covered.groupby(runs["outcome"]).sum()
    assert len(counts) == 3 and (counts >= 17).all(), counts
    # the designed effects are real: the large study's estimates are positive
    assert (pilot_truth > 0).all()


def test_implementation_intervals_cover_zero():
    runs = pd.concat(
        [
            replicate("implementation", 5000 + s, config={"imputation": None})
            for s in range(REPLICATES)
        ]
    )
    covered = (runs["ci_low"] <= 0) & (runs["ci_high"] >= 0)
    counts = covered.groupby([runs["outcome"], runs["analysis"]]).sum()
    # the team-by-wave mixed model, the CR2 ANCOVA and the wild-bootstrap ANCOVA
    assert len(counts) == 9 and (counts >= 17).all(), counts
