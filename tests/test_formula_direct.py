"""The direct design matrices of all-numeric formulas (``cpeval.models._formula``)
are patsy's, to the bit: columns, order, values, rows dropped, index, DesignInfo.

Each case builds the matrices twice through ``patsy_matrices`` (the first call
goes through patsy and leaves the DesignInfo, the second is built directly) and
compares both with patsy's own ``dmatrices``/``dmatrix`` exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from patsy import dmatrices, dmatrix

from cpeval import DataError
from cpeval.models import _formula
from cpeval.models._formula import patsy_matrices


def _data(seed: int = 1, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "y": rng.normal(50, 10, n),
            "time": rng.integers(0, 3, n),  # int64
            "arm": rng.integers(0, 2, n).astype(float),
            "age": rng.normal(40, 12, n) * 1.0000001,  # values that round
            "small": rng.integers(0, 5, n).astype(np.int32),
            "w": rng.random(n) / 3.0,
        },
        index=pd.Index(rng.permutation(np.arange(100, 100 + n)), name="row"),
    )
    return d


def _patsy(spec: str, data: pd.DataFrame, na_action: str = "drop"):
    build = dmatrices if "~" in spec else dmatrix
    return build(spec, data, return_type="dataframe", NA_action=na_action)


def _same(ours, theirs) -> None:
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.to_numpy().tobytes() == b.to_numpy().tobytes()
        assert a.design_info.column_names == b.design_info.column_names
        assert a.design_info.term_names == b.design_info.term_names


FORMULAS = [
    "y ~ time * arm",
    "y ~ time * arm + age",
    "y ~ arm + time:arm + time",
    "y ~ time:arm:age + age * w",
    "y ~ time * arm * age",
    "y ~ 0 + time + arm",
    "y ~ time + arm - 1",
    "y ~ age:w + small",
    "y ~ 1",
    "1 + time",
    "time + arm:w - 1",
    "1",
]


@pytest.mark.parametrize("spec", FORMULAS)
@pytest.mark.parametrize("holes", [False, True])
def test_direct_build_is_patsys(spec: str, holes: bool) -> None:
    _formula._DESIGNS.clear()
    data = _data()
    if holes:  # NaN in the outcome and in covariates drop their rows
        data.loc[data.index[[1, 5]], "y"] = np.nan
        data.loc[data.index[[5, 9, 30]], "age"] = np.nan
        data.loc[data.index[[12]], "w"] = np.nan
    theirs = _patsy(spec, data)
    first = patsy_matrices(spec, data)  # through patsy; remembers the design
    assert _formula._DESIGNS, "an all-numeric formula is remembered"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # setting design_info warns nothing
        second = patsy_matrices(spec, data)  # built directly
    _same(first, theirs)
    _same(second, theirs)


def test_direct_build_is_used() -> None:
    """The second call does not reach patsy's build_design_matrices."""
    _formula._DESIGNS.clear()
    data = _data()
    patsy_matrices("y ~ time * arm", data)
    calls = []
    original = _formula.dmatrices
    _formula.dmatrices = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        patsy_matrices("y ~ time * arm", data)
    finally:
        _formula.dmatrices = original
    assert calls == []


@pytest.mark.parametrize(
    "spec",
    [
        "y ~ C(time) * arm",  # a categorical factor
        "y ~ np.log(age) + arm",  # a function of a column
        "y ~ I(age ** 2) + arm",
        'y ~ Q("arm") + time',
    ],
)
def test_other_formulas_go_through_patsy(spec: str) -> None:
    _formula._DESIGNS.clear()
    data = _data()
    _same(patsy_matrices(spec, data), _patsy(spec, data))
    _same(patsy_matrices(spec, data), _patsy(spec, data))
    assert not _formula._DESIGNS


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([True, False] * 20),  # patsy: categorical
        pd.Series(["a", "b"] * 20),  # text
        pd.Series([0, 1] * 20, dtype="Int64"),  # pandas' nullable integers
        pd.Categorical([0, 1] * 20),
    ],
)
def test_non_numeric_columns_go_through_patsy(column) -> None:
    _formula._DESIGNS.clear()
    data = _data().reset_index(drop=True).assign(arm=column)
    _same(patsy_matrices("y ~ time * arm", data), _patsy("y ~ time * arm", data))
    _same(patsy_matrices("y ~ time * arm", data), _patsy("y ~ time * arm", data))
    assert not _formula._DESIGNS


def test_dtype_change_is_not_reused() -> None:
    """The same formula on a column that became text goes through patsy."""
    _formula._DESIGNS.clear()
    data = _data()
    patsy_matrices("y ~ time * arm", data)
    texts = data.assign(arm=data["arm"].map({0.0: "a", 1.0: "b"}))
    _same(patsy_matrices("y ~ time * arm", texts), _patsy("y ~ time * arm", texts))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_errors_and_na_raise_are_patsys() -> None:
    _formula._DESIGNS.clear()
    data = _data()
    floats = data.assign(time=data["time"].astype(float))
    patsy_matrices("1 + time", floats, na_action="raise")  # remembered
    holed = floats.copy()
    holed.loc[holed.index[3], "time"] = np.nan
    with pytest.raises(DataError, match="factor contains missing values"):
        patsy_matrices("1 + time", holed, na_action="raise")
    with pytest.raises(DataError, match="names a column the data do not have"):
        patsy_matrices("y ~ tim * arm", data)
    with pytest.raises(DataError, match="not a finite number"):
        patsy_matrices("y ~ time * arm", data.assign(age=np.inf, arm=np.inf))


def test_infinite_value_is_named_on_the_direct_path() -> None:
    _formula._DESIGNS.clear()
    data = _data()
    patsy_matrices("y ~ time * arm", data)
    bad = data.copy()
    bad.loc[bad.index[4], "arm"] = np.inf
    with pytest.raises(DataError, match=rf"'arm', row {bad.index[4]}: value inf"):
        patsy_matrices("y ~ time * arm", bad)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 30),
    spec=st.sampled_from(FORMULAS[:8]),
    share=st.floats(0, 0.5),
)
def test_direct_build_matches_patsy_on_random_data(seed, n, spec, share) -> None:
    data = _data(seed, n)
    rng = np.random.default_rng(seed)
    for name in ("y", "age", "w"):
        data.loc[rng.random(n) < share, name] = np.nan
    try:
        theirs = _patsy(spec, data)
    except Exception:  # e.g. every row dropped: patsy's case, not this test's
        return
    patsy_matrices(spec, data)
    _same(patsy_matrices(spec, data), theirs)
