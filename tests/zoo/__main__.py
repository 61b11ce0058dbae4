"""Print the study zoo's table: case, truth, estimate and 95% CI, or the error.

Run from the repository root: python -m tests.zoo
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pandas as pd

from cpeval.cli import main
from tests.zoo.studies import CASES, write


def _row(case, folder: Path) -> list[dict]:
    config = write(folder / "study", case.layout)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["run", str(config), "--out", str(folder / "out")])
    if code != 0:
        message = (
            err.getvalue().strip().splitlines()[-1].removeprefix("cpeval: error: ")
        )
        return [{"case": case.name, "wave": "", "truth": "", "result": message}]
    table = pd.read_csv(folder / "out" / "tables" / "outcomes.csv")
    table = table[table["role"].str.startswith("primary")]
    difference = next(c for c in table.columns if c.startswith("difference"))
    return [
        {
            "case": case.name,
            "wave": row["wave"],
            "truth": case.truth[row["wave"]],
            "result": f"{row[difference]:.2f} ({row['ci_low']:.2f} to "
            f"{row['ci_high']:.2f}), n = {row['n']}",
        }
        for _, row in table.iterrows()
    ]


if __name__ == "__main__":
    rows = []
    for number, case in enumerate(CASES):
        with tempfile.TemporaryDirectory() as folder:
            rows += _row(case, Path(folder) / str(number))
    print(pd.DataFrame(rows).to_markdown(index=False))
