"""Costs from service use: counts times unit costs, in one price year."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .._checks import numeric
from ..exceptions import DataError
from ..io import read_data

__all__ = ["cost_service_use", "load_price_index", "load_unit_costs"]

Perspective = Literal["nhs_pss", "societal"]
PERSPECTIVES: tuple[str, ...] = get_args(Perspective)
UNIT_COST_COLUMNS = [
    "item",
    "unit",
    "unit_cost",
    "price_year",
    "category",
    "perspective",
    "source",
]


def _data(name: str):
    return resources.files("cpeval.economics") / "data" / name


def load_unit_costs(path: str | Path | None = None) -> pd.DataFrame:
    """A unit-cost table with its price years, categories and sources.

    Parameters
    ----------
    path : str or Path, optional
        A CSV with those columns; by default the shipped PSSRU 2022/23 example.

    Returns
    -------
    pandas.DataFrame
        Indexed by item.

    Examples
    --------
    >>> from cpeval.economics import load_unit_costs
    >>> float(load_unit_costs().loc["gp_surgery_visit", "unit_cost"])
    49.0
    """
    if path is None:
        with _data("unit_costs_pssru.csv").open("rb") as handle:
            table = pd.read_csv(handle, dtype={"price_year": str})
    else:  # a user's file: read as safely as any study file
        table = read_data(path, text_columns=["item", "price_year"])
    absent = [c for c in UNIT_COST_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"{path}: the unit-cost table lacks columns {absent}")
    table = table.assign(unit_cost=numeric(table["unit_cost"], f"{path}: column"))
    if table["item"].duplicated().any():
        raise DataError(
            f"{path}: items listed twice: "
            f"{sorted(table['item'][table['item'].duplicated()])}"
        )
    cost = table["unit_cost"]
    bad = table[cost.isna() | (cost < 0) | ~np.isfinite(cost.fillna(0.0))]
    if len(bad):
        raise DataError(
            f"{path}: item '{bad['item'].iloc[0]}' has no valid unit cost "
            f"({bad['unit_cost'].iloc[0]}): give a finite amount of 0 or more"
        )
    odd = table[~table["perspective"].isin(PERSPECTIVES)]
    if len(odd):
        raise DataError(
            f"{path}: item '{odd['item'].iloc[0]}' has perspective "
            f"'{odd['perspective'].iloc[0]}'; the perspectives are "
            f"{', '.join(PERSPECTIVES)}"
        )
    return table.set_index("item")


def load_price_index(name: str = "NHSCII", path: str | Path | None = None) -> pd.Series:
    """A price index by financial year, chained from published annual changes.

    Parameters
    ----------
    name : str
        The index (``"NHSCII"`` ships).
    path : str or Path, optional
        A CSV with columns index, year, annual_change_percent, source.

    Returns
    -------
    pandas.Series
        Index value by year (the first year = 100).

    Examples
    --------
    >>> from cpeval.economics import load_price_index
    >>> round(float(load_price_index()["2016/17"]), 5)
    102.49836
    """
    if path is None:
        with _data("price_indices.csv").open("rb") as handle:
            table = pd.read_csv(handle, dtype={"year": str})
    else:
        table = read_data(path, text_columns=["index", "year"])
        absent = [
            c for c in ("index", "year", "annual_change_percent") if c not in table
        ]
        if absent:
            raise DataError(f"{path}: the price index lacks columns {absent}")
        table = table.assign(
            annual_change_percent=numeric(
                table["annual_change_percent"], f"{path}: column"
            )
        )
    rows = table[table["index"] == name]
    if rows.empty:
        raise DataError(
            f"no price index named '{name}'; "
            f"the indices are {sorted(set(table['index']))}"
        )
    change = rows["annual_change_percent"].fillna(0.0).to_numpy(float)
    values = 100.0 * np.cumprod(1 + change / 100)
    return pd.Series(values, index=rows["year"].to_numpy(), name=name)


def cost_service_use(
    use: pd.DataFrame,
    *,
    id: str = "id",
    item: str = "item",
    quantity: str = "quantity",
    period: str | None = None,
    unit_costs: pd.DataFrame | None = None,
    price_year: str = "2022/23",
    index: pd.Series | None = None,
    perspective: Perspective = "nhs_pss",
) -> pd.DataFrame:
    """Cost each participant's service use in one price year.

    Parameters
    ----------
    use : pandas.DataFrame
        Long format: one row per participant, (period,) item and quantity (contacts,
        nights, hours, in the unit of the unit-cost table).
    id, item, quantity, period : str
        Column names; ``period`` is optional (e.g. the follow-up window).
    unit_costs : pandas.DataFrame, optional
        From :func:`load_unit_costs` (the shipped example by default).
    price_year : str
        Target financial year, e.g. ``"2022/23"``.
    index : pandas.Series, optional
        Price index by year (NHSCII by default) to inflate each unit cost from its
        own price year: ``cost x index[target] / index[year]``.
    perspective : {"nhs_pss", "societal"}
        NHS and personal social services items only, or every item.

    Returns
    -------
    pandas.DataFrame
        The rows of ``use`` with ``category``, ``unit_cost`` (in ``price_year``)
        and ``cost``; ``attrs`` record the price year and perspective.

    Raises
    ------
    DataError
        An item without a unit cost, a negative or non-numeric quantity, or a price
        year outside the index.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import cost_service_use
    >>> use = pd.DataFrame({"id": [1, 1], "item": ["gp_surgery_visit", "iapt_contact"],
    ...                     "quantity": [2, 1]})
    >>> cost_service_use(use)["cost"].tolist()
    [98.0, 135.0]
    """
    table = load_unit_costs() if unit_costs is None else unit_costs
    index = load_price_index() if index is None else index
    columns = [id, item, quantity] + ([period] if period else [])
    absent = [c for c in columns if c not in use.columns]
    if absent:
        raise DataError(f"the service-use data have no columns {absent}")
    amounts = pd.to_numeric(use[quantity], errors="coerce")
    infinite = np.isinf(amounts.astype(float))
    bad = use[(amounts.isna() & use[quantity].notna()) | (amounts < 0) | infinite]
    if len(bad):
        row = bad.iloc[0]
        raise DataError(
            f"participant {row[id]}, item '{row[item]}': quantity '{row[quantity]}' "
            "must be a number of 0 or more"
        )
    unknown = sorted(set(use[item]) - set(table.index), key=str)
    if unknown:
        raise DataError(
            f"items without a unit cost: {unknown}; add them to the unit-cost table"
        )
    years = table["price_year"].astype(str)
    missing_years = sorted((set(years) | {price_year}) - set(index.index))
    if missing_years:
        raise DataError(
            f"price years {missing_years} are outside the price index "
            f"({index.index[0]} to {index.index[-1]}; financial years are written "
            "like '2022/23')"
        )
    inflated = table["unit_cost"] * index[price_year] / index.reindex(years).to_numpy()
    out = use.copy()
    out["category"] = out[item].map(table["category"])
    out["unit_cost"] = out[item].map(inflated)
    keep = out[item].map(table["perspective"]).eq("nhs_pss") | (
        perspective == "societal"
    )
    out["cost"] = np.where(keep, amounts.fillna(0.0) * out["unit_cost"], 0.0)
    out.loc[amounts.isna(), "cost"] = np.nan
    out.attrs.update(price_year=price_year, perspective=perspective, index=index.name)
    return out


def cost_totals(
    costed: pd.DataFrame, *, id: str = "id", period: str | None = None
) -> pd.DataFrame:
    """Total cost per participant (and period), overall and by category.

    Parameters
    ----------
    costed : pandas.DataFrame
        From :func:`cost_service_use`.
    id, period : str
        Grouping columns.

    Returns
    -------
    pandas.DataFrame
        One row per participant (and period): ``total`` and one column per
        category; missing when any of that participant's quantities was missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import cost_service_use, cost_totals
    >>> use = pd.DataFrame({"id": [1, 1, 2], "item": ["gp_surgery_visit",
    ...                     "iapt_contact", "gp_surgery_visit"], "quantity": [2, 1, 1]})
    >>> cost_totals(cost_service_use(use))["total"].tolist()
    [233.0, 49.0]
    """
    keys = [id] + ([period] if period else [])
    by_category = costed.pivot_table(
        index=keys,
        columns="category",
        values="cost",
        aggfunc=lambda v: v.sum(min_count=1),
    )
    total = costed.groupby(keys)["cost"].sum(min_count=1)
    incomplete = costed["cost"].isna().groupby([costed[k] for k in keys]).any()
    total[incomplete.reindex(total.index).to_numpy()] = np.nan
    out = by_category.assign(total=total).reset_index()
    out.columns.name = None
    return out
