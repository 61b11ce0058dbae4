"""The whole pipeline: a config runs to byte-identical tables, report and provenance."""

from __future__ import annotations

import json

import pytest

import cpeval
from cpeval.cli import main
from cpeval.pipeline import load_config, run
from tests.conftest import ROOT, tree_hashes

CONFIG = ROOT / "analysis" / "implementation_study.toml"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    first = tmp_path_factory.mktemp("a")
    second = tmp_path_factory.mktemp("b")
    run(CONFIG, first, say=lambda *_: None)
    run(CONFIG, second, say=lambda *_: None)
    return first, second


def test_two_runs_are_byte_identical(two_runs):
    first, second = two_runs
    assert tree_hashes(first) == tree_hashes(second)


def test_outputs_and_report_content(two_runs):
    out = two_runs[0]
    names = {p.name for p in (out / "tables").iterdir()}
    for table in ("participant_flow", "baseline", "outcomes", "economics"):
        assert {
            f"{table}.{fmt}" for fmt in ("csv", "md", "html", "tex", "xlsx")
        } <= names
    page = (out / "report.html").read_text()
    assert "Key findings" in page and "159 people were recruited" in page
    assert page.count("<svg") == 4 and "<table>" in page
    figures = {p.name for p in (out / "figures").iterdir()}
    for name in ("trajectories", "forest_plot", "ce_plane", "ceac"):
        assert {f"{name}.png", f"{name}.svg"} <= figures
    # self-contained: nothing is fetched (namespaces inside the SVGs are not loads)
    assert 'src="http' not in page and "<link" not in page and "<script" not in page
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seed"] == 20261122 and len(provenance["inputs"]) == 3
    assert provenance["df_method"].startswith("Satterthwaite")


def test_config_errors_are_data_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[analysis]\nname = "x"\ncodebook = "c.toml"\nseed = 1\n[model]\nkind = "glm"\n'
    )
    with pytest.raises(cpeval.DataError, match=r"'model\.kind' must be"):
        load_config(bad)
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2


def test_report_renders_in_headless_chromium(two_runs, tmp_path):
    """Debian's chromium (installed by .ci/run) loads the page without console errors
    and shows the findings, the tables and the four figures."""
    import re
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    report = two_runs[0] / "report.html"
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert "Key findings" in dom and "159 people were recruited" in dom
    assert dom.count("<table>") == 4 and dom.count("<svg") == 4
    assert "incremental cost" in dom and "participant flow" in dom
    assert not re.search(r"CONSOLE|Uncaught", run.stderr), run.stderr[-2000:]


def test_baseline_table_by_hand():
    import numpy as np
    import pandas as pd

    from cpeval.tables import baseline_table

    d = pd.DataFrame(
        {
            "arm": ["a"] * 4 + ["b"] * 4,
            "age": [20, 30, 40, np.nan, 50, 60, 70, 80],
            "sex": ["f", "m", "f", "f", "m", "m", "f", None],
        }
    )
    table = baseline_table(d, ["age", "sex"], "arm")
    age = table[table["variable"] == "age"].set_index("group")
    assert age.loc["a", "mean"] == 30 and age.loc["a", "missing"] == 1
    assert age.loc["b", "median"] == 65 and age.loc["b", "q1"] == 57.5
    pooled = np.sqrt(
        (np.var([20, 30, 40], ddof=1) + np.var([50, 60, 70, 80], ddof=1)) / 2
    )
    assert age.loc["b", "smd"] == pytest.approx((65 - 30) / pooled)
    sex = table[(table["variable"] == "sex") & (table["group"] == "a")].set_index(
        "level"
    )
    assert sex.loc["f", "count"] == 3 and sex.loc["f", "percent"] == 75
