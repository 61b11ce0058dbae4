"""Reading speed: cpeval.read_data beside the plain readers it builds on.

Run: python benchmarks/bench_read.py [n]

Writes, in a temporary folder, a CSV of ``n`` rows (200,000 by default) by 40
columns (ids and other text, integer items, decimals, about 3% of cells empty
or "NA") and an SPSS .sav of the same size (value labels on the items, a
declared missing code, text columns), and times, best of 3 in one process:

- CSV: ``read_data`` against ``pandas.read_csv(engine="c")``;
- .sav: ``read_data`` against ``pyreadstat.read_sav``.

cpeval's time includes everything it checks (ragged rows, quotes, encodings,
blank lines, the file's SHA-256). Targets (issue 16): CSV within 4x of pandas'
C engine; .sav within 1.5x of pyreadstat. Nothing here asserts a time.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from _timing import best_of

from cpeval.io import read_data

N_ITEMS = 18  # integer items 1-5
N_DECIMALS = 18  # measurements with two decimals
TEXTS = ("id", "arm", "team", "comment")


def simulate(n: int, seed: int = 20261204) -> pd.DataFrame:
    """Questionnaire-like data: 4 text, 18 integer and 18 decimal columns."""
    rng = np.random.default_rng(seed)
    words = np.array(["fine", "tired", "better", "no change", "Zo\u00eb said ok"])
    columns: dict[str, object] = {
        "id": [f"P{i:07d}" for i in range(n)],
        "arm": np.where(rng.random(n) < 0.5, "control", "intervention"),
        "team": [f"T{t:03d}" for t in rng.integers(1, 200, n)],
        "comment": words[rng.integers(0, len(words), n)],
    }
    for i in range(1, N_ITEMS + 1):
        columns[f"q{i}"] = rng.integers(1, 6, n).astype(float)
    for i in range(1, N_DECIMALS + 1):
        columns[f"m{i}"] = np.round(rng.normal(50, 10, n), 2)
    frame = pd.DataFrame(columns)
    for name in frame.columns[1:]:
        gone = rng.random(n) < 0.03
        frame[name] = frame[name].astype(object).where(~gone, None)
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Integers written as integers, missing cells as empty or "NA"."""
    out = frame.copy()
    for name in out.columns:
        if name.startswith("q"):
            out[name] = [("" if v is None else str(int(v))) for v in out[name]]
    out["q1"] = out["q1"].replace("", "NA")
    out.to_csv(path, index=False, lineterminator="\n")
    return path


def write_sav(frame: pd.DataFrame, path: Path) -> Path:
    """Items with value labels and -9 declared missing; text as SPSS strings."""
    out = frame.copy()
    for name in out.columns:
        if name in TEXTS:
            out[name] = out[name].fillna("").astype(str)
        else:
            out[name] = pd.to_numeric(out[name]).astype(float)
    out.loc[out.index[::50], "q2"] = -9.0
    labels = {1.0: "never", 2.0: "rarely", 3.0: "sometimes", 4.0: "often"}
    items = [f"q{i}" for i in range(1, N_ITEMS + 1)]
    pyreadstat.write_sav(
        out,
        str(path),
        variable_value_labels={name: {**labels, 5.0: "always"} for name in items},
        missing_ranges={"q2": [-9.0]},
        column_labels={name: f"Item {name}" for name in items},
    )
    return path


def main(n: int) -> None:
    frame = simulate(n)
    with tempfile.TemporaryDirectory() as folder:
        csv_path = write_csv(frame, Path(folder) / "data.csv")
        sav_path = write_sav(frame, Path(folder) / "data.sav")
        rows = [
            (
                f"CSV ({csv_path.stat().st_size / 2**20:.0f} MB)",
                best_of(lambda: read_data(csv_path)),
                best_of(lambda: pd.read_csv(csv_path, engine="c")),
                "pandas.read_csv(engine='c')",
                4.0,
            ),
            (
                f".sav ({sav_path.stat().st_size / 2**20:.0f} MB)",
                best_of(lambda: read_data(sav_path)),
                best_of(lambda: pyreadstat.read_sav(str(sav_path))),
                "pyreadstat.read_sav",
                1.5,
            ),
        ]
    print(f"{n:,} rows x {frame.shape[1]} columns, best of 3")
    print(f"{'file':14} {'cpeval s':>9} {'peer s':>8} {'ratio':>6} {'target':>7}  peer")
    for name, ours, peer, who, target in rows:
        ratio = ours / peer
        print(f"{name:14} {ours:9.3f} {peer:8.3f} {ratio:6.2f} {target:6.1f}x  {who}")
    print("ratio = cpeval time / peer time (target: at most the figure shown)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
