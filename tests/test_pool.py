"""Rubin's rules with Barnard-Rubin df equal mice::pool and mice::pool.scalar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cpeval
from cpeval.missing import pool

REF = Path(__file__).parent / "reference" / "pool"


def test_vector_pool_equals_mice_pool():
    per = pd.read_csv(REF / "per_imputation.csv")
    estimates = per.pivot(index="imputation", columns="term", values="estimate")
    variances = per.pivot(index="imputation", columns="term", values="variance")
    ref = pd.read_csv(REF / "mice_pool.csv").set_index("term")
    ours = pool(estimates, variances, df_complete=ref["dfcom"].iloc[0]).to_frame()
    ours = ours.set_index("term").loc[ref.index]
    assert (ours["m"] == ref["m"]).all()
    for mine, theirs in [
        ("params", "estimate"),
        ("within", "ubar"),
        ("between", "b"),
        ("total", "t"),
        ("df", "df"),
        ("riv", "riv"),
        ("lambda", "lambda"),
        ("fmi", "fmi"),
    ]:
        np.testing.assert_allclose(ours[mine], ref[theirs], rtol=1e-8, err_msg=mine)


def test_scalar_pool_equals_mice_pool_scalar():
    ref = pd.read_csv(REF / "pool_scalar.csv")
    for row in ref.itertuples():
        q = [float(v) for v in row.q.split()]
        u = [float(v) for v in row.u.split()]
        dfcom = None if np.isinf(row.dfcom) else row.dfcom
        res = pool(q, u, df_complete=dfcom)
        for mine, theirs in [
            (res.params, row.qbar),
            (res.within, row.ubar),
            (res.between, row.b),
            (res.total, row.t),
            (res.df, row.df),
            (res.riv, row.r),
            (res.fmi, row.fmi),
        ]:
            assert float(mine[0]) == pytest.approx(theirs, rel=1e-8, abs=1e-15)
        assert res.m == len(q)


def test_m_is_read_from_the_input():
    assert pool(np.ones((12, 2)), np.full((12, 2), 0.1)).m == 12


@pytest.mark.parametrize(
    ("estimates", "variances", "message"),
    [
        ([1.0], [0.1], "two or more imputations"),
        ([1.0, 2.0], [0.1], "differ in shape"),
        ([1.0, np.nan], [0.1, 0.1], "finite"),
        ([1.0, 2.0], [0.1, -0.1], "non-negative"),
    ],
)
def test_bad_input(estimates, variances, message):
    with pytest.raises(cpeval.DataError, match=message):
        pool(estimates, variances)


def test_missing_patterns_equal_md_pattern():
    from cpeval.missing import missing_patterns

    nhanes = pd.read_csv(REF / "nhanes.csv")
    ref = pd.read_csv(REF / "md_pattern.csv")
    columns = ["age", "hyp", "bmi", "chl"]
    ours = missing_patterns(nhanes, columns)
    key = lambda t: sorted(map(tuple, t[[*columns, "count"]].to_numpy().tolist()))  # noqa: E731
    assert key(ours) == key(ref)
