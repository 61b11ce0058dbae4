"""Missingness reports and delta-adjusted (MNAR) sensitivity analyses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pandas as pd

from ..exceptions import DataError
from ._mice import Imputations

__all__ = ["delta_adjust", "missing_patterns", "missing_summary", "tipping_point"]


def missing_patterns(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The distinct patterns of observed (1) and missing (0) values, with counts.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : sequence of str

    Returns
    -------
    pandas.DataFrame
        One row per pattern (most frequent first): a 0/1 column per variable,
        ``count`` of rows and ``n_missing`` variables, as ``mice::md.pattern``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.missing import missing_patterns
    >>> d = pd.DataFrame({"a": [1, None, 3], "b": [1, 2, None]})
    >>> missing_patterns(d, ["a", "b"])["count"].tolist()
    [1, 1, 1]
    """
    observed = data[list(columns)].notna().astype(int)
    table = observed.value_counts(sort=False).rename("count").reset_index()
    table["n_missing"] = len(columns) - table[list(columns)].sum(axis=1)
    return table.sort_values(
        ["count", "n_missing"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def missing_summary(
    data: pd.DataFrame, columns: Sequence[str], by: Sequence[str] = ()
) -> pd.DataFrame:
    """Missing values per column, overall or by group (arm, visit, team).

    Parameters
    ----------
    data : pandas.DataFrame
    columns : sequence of str
    by : sequence of str

    Returns
    -------
    pandas.DataFrame
        Per group and column: ``n``, ``n_missing`` and ``share_missing``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.missing import missing_summary
    >>> d = pd.DataFrame({"arm": [0, 0, 1], "y": [1, None, None]})
    >>> missing_summary(d, ["y"], by=["arm"])["n_missing"].tolist()
    [1, 1]
    """
    by = list(by)
    long = data[by + list(columns)].melt(id_vars=by, var_name="column")
    keys = [*by, "column"]
    grouped = long.groupby(keys, sort=True, observed=True)["value"]
    table = pd.DataFrame(
        {"n": grouped.size(), "n_missing": grouped.apply(lambda v: v.isna().sum())}
    )
    table["share_missing"] = table["n_missing"] / table["n"]
    return table.reset_index()


def delta_adjust(
    imputations: Imputations,
    column: str,
    delta: float,
    *,
    where: pd.Series | None = None,
) -> Imputations:
    """Shift the imputed values of a column by ``delta`` (missing not at random).

    Parameters
    ----------
    imputations : Imputations
    column : str
    delta : float
        Added to every imputed value of ``column`` (e.g. -3: those not followed up
        did 3 points worse than MAR predicts).
    where : pandas.Series of bool, optional
        Restrict the shift to these rows (e.g. one arm).

    Returns
    -------
    Imputations
        New completed data sets; the observed values are untouched.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.missing import delta_adjust, impute
    >>> y = np.r_[np.arange(15.0), [np.nan] * 5]
    >>> d = pd.DataFrame({"x": np.arange(20.0), "y": y})
    >>> imp = impute(d, ["y"], predictors=["x"], m=2, seed=1)
    >>> shifted = delta_adjust(imp, "y", -5.0)
    >>> float((shifted.datasets[0]["y"] - imp.datasets[0]["y"]).sum())
    -25.0
    """
    if column not in imputations.imputed.columns:
        raise DataError(f"column '{column}' was not imputed")
    rows = imputations.imputed[column]
    if where is not None:
        rows = rows & where.reindex(rows.index).fillna(False).astype(bool)
    shifted = []
    for completed in imputations.datasets:
        copy = completed.copy()
        copy.loc[rows, column] = copy.loc[rows, column] + delta
        shifted.append(copy)
    deltas = {**imputations.deltas, column: imputations.deltas.get(column, 0.0) + delta}
    return replace(imputations, datasets=tuple(shifted), deltas=deltas)


def tipping_point(
    imputations: Imputations,
    analysis: Callable[[pd.DataFrame], tuple],
    column: str,
    deltas: Sequence[float],
    *,
    where: pd.Series | None = None,
    df_complete: float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The pooled estimate of the first parameter under a range of deltas.

    Parameters
    ----------
    imputations : Imputations
    analysis : callable
        As :meth:`Imputations.analyse`; the first parameter is reported.
    column : str
        The imputed outcome to shift.
    deltas : sequence of float
    where : pandas.Series of bool, optional
        Rows to shift (e.g. the intervention arm).
    df_complete : float, optional
    level : float

    Returns
    -------
    pandas.DataFrame
        Per delta: ``estimate``, ``se``, ``df``, ``ci_low``, ``ci_high``,
        ``p_val`` and ``significant``; ``attrs["tipping_delta"]`` is the first
        delta (in the order given) at which the conclusion changes, or None.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.missing import impute, tipping_point
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"arm": np.repeat([0, 1], 50), "x": rng.normal(size=100)})
    >>> d["y"] = 1.0 * d["arm"] + d["x"] + rng.normal(size=100)
    >>> d.loc[::4, "y"] = np.nan
    >>> imp = impute(d, ["y"], predictors=["x"], by="arm", m=5, seed=3)
    >>> def effect(dd):
    ...     diff = dd.loc[dd.arm == 1, "y"].mean() - dd.loc[dd.arm == 0, "y"].mean()
    ...     var = dd.groupby("arm")["y"].var() / dd.groupby("arm").size()
    ...     return diff, var.sum()
    >>> table = tipping_point(imp, effect, "y", [0, -2, -4], where=d["arm"] == 1)
    >>> list(table["delta"])
    [0.0, -2.0, -4.0]
    """
    rows = []
    for delta in deltas:
        shifted = delta_adjust(imputations, column, float(delta), where=where)
        pooled = shifted.analyse(analysis, df_complete=df_complete)
        est, se, df = (
            float(pooled.params[0]),
            float(pooled.se[0]),
            float(pooled.df[0]),
        )
        limits = pooled.conf_int(level).iloc[0]
        p = float(pooled.pvalues[0])
        rows.append(
            {
                "delta": float(delta),
                "estimate": est,
                "se": se,
                "df": df,
                "ci_low": float(limits["ci_low"]),
                "ci_high": float(limits["ci_high"]),
                "p_val": p,
                "significant": p < 1 - level,
            }
        )
    table = pd.DataFrame(rows)
    flips = table.index[table["significant"] != table["significant"].iloc[0]]
    table.attrs["tipping_delta"] = (
        float(table.loc[flips[0], "delta"]) if len(flips) else None
    )
    return table
