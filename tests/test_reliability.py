"""Reliability equals R psych (tests/reference/reliability, made by reliability.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpeval.scales import load_instrument, reliability

REF = Path(__file__).parent / "reference" / "reliability"
TOLERANCE = {  # abs; see the README beside the reference values
    "n": 0,
    "alpha": 1e-10,
    "alpha_ci_low": 1e-10,
    "alpha_ci_high": 1e-10,
    "omega_total": 1e-6,
    "r_drop": 1e-10,
}


@pytest.fixture(scope="module")
def psych():
    return pd.read_csv(
        REF / "psych_results.csv", keep_default_na=False, na_values=["NA"]
    )


def _ours(dataset: str) -> pd.DataFrame:
    data = pd.read_csv(REF / f"{dataset}.csv")
    if dataset == "wemwbs_like":
        result = reliability(data, "wemwbs", by="wave")
        scales = result.scales.rename(columns={"wave": "group"})
        items = result.items.rename(columns={"wave": "group"})
    else:
        result = reliability(data, load_instrument(REF / "reverse_keyed.toml"))
        scales = result.scales.assign(group="")
        items = result.items.assign(group="")
    long = scales.melt(
        id_vars=["group", "scale"],
        value_vars=[q for q in TOLERANCE if q != "r_drop"],
        var_name="quantity",
    ).assign(item=np.nan)
    drops = items.rename(columns={"r_drop": "value"}).assign(quantity="r_drop")
    return pd.concat([long, drops[long.columns]], ignore_index=True)


@pytest.mark.parametrize("dataset", ["wemwbs_like", "reverse_keyed"])
def test_reliability_equals_psych(psych, dataset):
    ours = _ours(dataset)
    theirs = psych[psych["dataset"] == dataset]
    key = ["group", "scale", "quantity", "item"]
    merged = theirs.merge(ours, on=key, suffixes=("_r", "_py"), how="outer")
    assert len(merged) == len(theirs) == len(ours)
    for quantity, tol in TOLERANCE.items():
        rows = merged[merged["quantity"] == quantity]
        np.testing.assert_allclose(
            rows["value_py"].astype(float),
            rows["value_r"],
            rtol=0,
            atol=tol,
            err_msg=f"{dataset} {quantity}",
        )


def test_degenerate_data_give_nan_not_errors():
    inst = load_instrument(REF / "reverse_keyed.toml")
    constant = pd.DataFrame({f"r{i}": [3, 3, 3, 3] for i in range(1, 7)})
    row = reliability(constant, inst).scales.iloc[0]
    assert row["n"] == 4 and np.isnan(row["alpha"]) and np.isnan(row["omega_total"])
    blank = constant.astype(float) * np.nan
    row = reliability(blank, inst).scales.iloc[0]
    assert row["n"] == 0 and np.isnan(row["alpha"])
