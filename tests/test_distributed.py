"""Parallel and distributed runs give the serial results exactly: bootstrap,
multiple imputation and power, on 2 local processes and on a Dask LocalCluster
with 2 workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpeval.economics import bootstrap_cea
from cpeval.missing import impute
from cpeval.power import TrialDesign, simulate_power
from tests.conftest import ROOT

TRIAL = ROOT / "tests" / "reference" / "cea" / "trial.csv"
DESIGN = TrialDesign(clusters=6, cluster_size=10, effect=0.4, cost_mean=2000)


def _bootstraps(**options):
    d = pd.read_csv(TRIAL)
    d["team"] = np.arange(len(d)) % 12
    args = {"cost": "cost", "effect": "qaly", "group": "arm", "seed": 5}
    return [
        bootstrap_cea(d, n_boot=2500, **args, **options).replicates,
        bootstrap_cea(d, n_boot=1500, cluster="team", **args, **options).replicates,
        bootstrap_cea(d, n_boot=1200, covariates=["u0"], **args, **options).replicates,
    ]


def _imputations(**options):
    d = pd.read_csv(TRIAL)
    d.loc[::6, "qaly"] = np.nan
    return impute(d, ["qaly"], predictors=["u0"], by="arm", m=4, seed=2, **options)


@pytest.fixture(scope="module")
def serial():
    return {
        "bootstrap": _bootstraps(),
        "impute": _imputations().datasets,
        "power": simulate_power(DESIGN, n_replicates=40, seed=3).replicates,
    }


def _same(serial, bootstraps, imputations, power):
    for a, b in zip(serial["bootstrap"], bootstraps, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    for a, b in zip(serial["impute"], imputations.datasets, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(serial["power"], power.replicates, check_exact=True)


def test_two_local_processes_give_the_serial_results(serial):
    _same(
        serial,
        _bootstraps(n_jobs=2),
        _imputations(n_jobs=2),
        simulate_power(DESIGN, n_replicates=40, seed=3, n_jobs=2),
    )


def test_a_dask_cluster_gives_the_serial_results(serial):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        _same(
            serial,
            _bootstraps(client=client),
            _imputations(client=client),
            simulate_power(DESIGN, n_replicates=40, seed=3, client=client),
        )
