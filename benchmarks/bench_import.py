"""Start-up time: ``import cpeval`` and ``cpeval --help`` beside the interpreter's.

Run: python benchmarks/bench_import.py [repeat]

Each command runs in a fresh interpreter (this one's), ``repeat`` times (5 by
default); the best wall time counts. The peers are the standard library's
argparse (what the command line needs at least) and statsmodels.api (what
``import cpeval`` paid before its imports were lazy). Target (issue 16):
``cpeval --help`` under 0.3 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET = 0.3  # seconds, cpeval --help


def best_wall(command: list[str], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``command``, each a new process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main(repeat: int) -> None:
    python = sys.executable
    script = shutil.which("cpeval", path=str(Path(python).parent))
    rows = [
        ("python -c pass (the interpreter)", [python, "-c", "pass"]),
        ("python -c 'import argparse'", [python, "-c", "import argparse"]),
        ("python -c 'import cpeval'", [python, "-c", "import cpeval"]),
        ("python -m cpeval.cli --help", [python, "-m", "cpeval.cli", "--help"]),
    ]
    if script:  # the console script beside this interpreter
        rows.append(("cpeval --help", [script, "--help"]))
    statsmodels = [python, "-c", "import statsmodels.api"]
    rows.append(("python -c 'import statsmodels.api'", statsmodels))
    seconds = {name: best_wall(command, repeat) for name, command in rows}
    argparse_s = seconds["python -c 'import argparse'"]
    statsmodels_s = seconds["python -c 'import statsmodels.api'"]
    print(f"wall time, best of {repeat}, each a fresh process ({python})")
    print(f"{'command':38} {'s':>7} {'/ argparse':>11} {'statsmodels /':>14}")
    for name, _ in rows:
        s = seconds[name]
        print(f"{name:38} {s:7.3f} {s / argparse_s:11.2f} {statsmodels_s / s:14.2f}")
    helped = seconds["cpeval --help" if script else "python -m cpeval.cli --help"]
    verdict = "met" if helped < TARGET else "NOT met"
    print(f"cpeval --help: {helped:.3f} s (target < {TARGET} s: {verdict})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
