"""Text where a number belongs, or a missing column, is a DataError naming it."""

from __future__ import annotations

import pandas as pd
import pytest

import cpeval
from cpeval.adjust import balance_table
from cpeval.economics import qalys
from cpeval.models import icc_ratings
from cpeval.scales import combine_ratings, fidelity_group, reliability

CASES = {
    "ratings": (
        lambda: combine_ratings(
            {"worker": pd.Series(["x", "1"]), "user": pd.Series([1.0, 2.0])}
        ),
        r"rating 'worker', row 0: value 'x' is not a number",
    ),
    "fidelity": (
        lambda: fidelity_group(pd.Series(["high", 1.0], name="fid"), cut=1),
        r"fidelity score 'fid', row 0: value 'high'",
    ),
    "qalys": (
        lambda: qalys(
            pd.DataFrame({"id": [1, 1], "time": [0, 1], "utility": ["a", 0.5]})
        ),
        r"column 'utility', row 0: value 'a'",
    ),
    "balance": (
        lambda: balance_table(
            pd.DataFrame({"t": [0, 1, 0, 1], "sex": ["f", "m", "f", "m"]}), ["sex"], "t"
        ),
        r"covariate 'sex', row 0: value 'f'",
    ),
    "icc": (
        lambda: icc_ratings(pd.DataFrame({"a": ["x", 2, 3], "b": [1, 2, 3]})),
        r"rater 'a', row 0: value 'x'",
    ),
    "reliability": (
        lambda: reliability(
            pd.DataFrame({f"wemwbs_{i}": [1, 2, 3] for i in range(1, 15)}),
            "wemwbs",
            by="wave",
        ),
        r"no column 'wave'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_values_are_data_errors(case):
    call, message = CASES[case]
    with pytest.raises(cpeval.DataError, match=message):
        call()
