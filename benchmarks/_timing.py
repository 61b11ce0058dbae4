"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def best_of(function: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` wall-clock runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def r_output(script: str, data: pd.DataFrame) -> str | None:
    """Run an R script that reads ``{path}`` (the data as CSV); its output.

    Returns None when Rscript is absent or the script fails.
    """
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.csv"
        data.to_csv(path, index=False)
        run = subprocess.run(
            ["Rscript", "-e", script.format(path=path)],
            capture_output=True,
            text=True,
            check=False,
        )
    return run.stdout if run.returncode == 0 and run.stdout.strip() else None


def r_seconds(script: str, data: pd.DataFrame) -> float | None:
    """Run an R script that reads ``{path}`` (the data as CSV) and prints seconds.

    Returns None when Rscript is absent or the script fails.
    """
    out = r_output(script, data)
    return float(out) if out else None
