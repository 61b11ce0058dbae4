"""Model formulas: patsy's errors become one-line DataErrors naming the column."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd
from patsy import DesignInfo, EvalFactor, ModelDesc, PatsyError, dmatrices, dmatrix

from ..exceptions import DataError

QUOTE_HINT = (
    "a column name that is not a Python identifier (a dot, a space, a keyword "
    'such as "yield") must be quoted in a formula as Q("name")'
)


def formula_error(
    formula: str, exc: PatsyError, columns: Iterable[str] = ()
) -> DataError:
    """A DataError for a formula patsy could not build, naming the missing column
    (and the quoting a non-identifier column name needs)."""
    first = str(exc).splitlines()[0]
    missing = re.search(r"name '([^']+)' is not defined", first)
    if missing:
        name = missing.group(1)
        odd = [c for c in columns if not str(c).isidentifier() and name in str(c)]
        hint = f'; {QUOTE_HINT}, e.g. Q("{odd[0]}")' if odd else ""
        return DataError(
            f"the model {formula!r} names a column the data do not have: '{name}'{hint}"
        )
    if "SyntaxError" in first:
        return DataError(f"cannot read the model {formula!r}: {QUOTE_HINT}")
    return DataError(f"cannot build the model {formula!r}: {first}")


def patsy_matrices(
    spec: str, data: pd.DataFrame, *, formula: str | None = None, na_action="drop"
):
    """patsy's ``dmatrices`` (a ``y ~ x`` spec) or ``dmatrix`` (a right-hand
    side) as data frames, its errors as DataErrors naming ``formula`` (the
    model as the user wrote it; default ``spec``) and the missing column.

    Examples
    --------
    >>> y, x = patsy_matrices("y ~ x", pd.DataFrame({"y": [1.0, 2], "x": [0, 1]}))
    >>> list(x.columns)
    ['Intercept', 'x']
    """
    shown = spec if formula is None else formula
    names = _numeric_names(spec, data)
    out = None if names is None else _direct(spec, data, names, na_action)
    if out is None:
        build = dmatrices if "~" in spec else dmatrix
        try:
            out = build(spec, data, return_type="dataframe", NA_action=na_action)
        except PatsyError as exc:
            raise formula_error(shown, exc, data.columns) from None
        except SyntaxError:
            raise DataError(f"cannot read the model {shown!r}: {QUOTE_HINT}") from None
        if names is not None:
            frames = out if isinstance(out, tuple) else (out,)
            _remember(spec, data, names, tuple(f.design_info for f in frames))
    for frame in out if isinstance(out, tuple) else (out,):
        _check_finite(frame, shown)
    return out


# Design matrices of formulas whose every factor is a numeric column named as
# it is (``y ~ time * arm + age``, as the pipeline and the power simulations
# write them) are built here directly from patsy's own DesignInfo, which for
# such a formula depends on the formula alone: the same columns, in the same
# order, with the same values (each column the product of its factors, taken in
# patsy's order, from 1) and the same rows dropped for NaN as patsy's
# ``build_design_matrices``, which costs most of a small model's fit. The first
# call with a formula (and the columns' dtypes) goes through patsy and leaves
# its DesignInfo here for the next ones. Anything else (C(), functions of
# columns, text, booleans, pandas' nullable types) always goes through patsy.
_DESIGNS: dict[tuple, tuple[DesignInfo, ...]] = {}
_DESIGNS_KEPT = 256  # formulas remembered (all are forgotten when it is full)


@lru_cache(maxsize=256)
def _factor_names(spec: str) -> tuple[str, ...] | None:
    """The columns a formula names, when each factor is a bare name (None
    otherwise, or when patsy cannot read it: its own call then says why)."""
    try:
        desc = ModelDesc.from_formula(spec)
    except Exception:  # patsy's own call (the slow path) raises its error
        return None
    names = []
    for term in [*desc.lhs_termlist, *desc.rhs_termlist]:
        for factor in term.factors:
            code = getattr(factor, "code", None)
            if not isinstance(factor, EvalFactor) or not str(code).isidentifier():
                return None
            names.append(code)
    if len(desc.lhs_termlist) > 1 or ("~" in spec) != bool(desc.lhs_termlist):
        return None
    return tuple(dict.fromkeys(names))


def _numeric_names(spec: str, data: pd.DataFrame) -> tuple[str, ...] | None:
    names = _factor_names(spec)
    if names is None or not data.columns.is_unique:
        return None
    for name in names:
        if name not in data.columns:
            return None
        dtype = data[name].dtype
        if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf":
            return None
    return names


def _key(spec: str, data: pd.DataFrame, names: tuple[str, ...]) -> tuple:
    return (spec, *((name, data[name].dtype.str) for name in names))


def _remember(spec, data, names, infos: tuple[DesignInfo, ...]) -> None:
    one_column = all(
        sub.num_columns == 1 and all(f.code in names for f in sub.factors)
        for info in infos
        for subterms in info.term_codings.values()
        for sub in subterms
    )
    if not one_column:  # not a formula _matrix knows how to build
        return
    if len(_DESIGNS) >= _DESIGNS_KEPT:
        _DESIGNS.clear()
    _DESIGNS[_key(spec, data, names)] = infos


def _direct(spec: str, data: pd.DataFrame, names: tuple[str, ...], na_action):
    """patsy's ``dmatrices``/``dmatrix`` for an all-numeric formula seen before
    (None: not seen, or a NaN that ``na_action`` does not drop)."""
    infos = _DESIGNS.get(_key(spec, data, names))
    if infos is None or na_action not in ("drop", "raise"):
        return None
    values = {name: data[name].to_numpy(dtype=float) for name in names}
    index = data.index
    keep = np.ones(len(data), dtype=bool)
    for column in values.values():
        keep &= ~np.isnan(column)
    if not keep.all():
        if na_action != "drop":
            return None  # patsy raises its error
        values = {name: column[keep] for name, column in values.items()}
        index = index[keep]
    frames = tuple(_matrix(info, values, index) for info in infos)
    return frames if "~" in spec else frames[0]


def _matrix(info: DesignInfo, values: dict, index: pd.Index) -> pd.DataFrame:
    matrix = np.empty((len(index), len(info.column_names)))
    for term, subterms in info.term_codings.items():
        column = info.term_slices[term].start
        for subterm in subterms:
            out = matrix[:, column]
            out[:] = 1.0
            for factor in subterm.factors:  # patsy's _build_subterm
                out *= values[factor.code]
            column += subterm.num_columns
    frame = pd.DataFrame(matrix, columns=info.column_names, index=index)
    frame.design_info = info  # as patsy's return_type="dataframe"
    return frame


def _check_finite(frame: pd.DataFrame, shown: str) -> None:
    """An infinite value (``inf`` in a file, a log of 0) is an error, named."""
    values = frame.to_numpy(float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(v[0]) for v in np.nonzero(bad))
        label = frame.index[row]
        label = label.item() if isinstance(label, np.generic) else label
        raise DataError(
            f"the model {shown!r}: '{frame.columns[column]}', row {label!r}: value "
            f"{values[row, column]} is not a finite number"
        )
