"""Every speed benchmark of issue 16 in one run, each ratio beside its peer.

Run: python benchmarks/run_all.py [--quick]

Runs, one after another on this machine, each benchmark script (each times
cpeval and its peer in the same script: R for the models and the bootstrap,
pandas and pyreadstat for reading, the interpreter for imports), then the main
job as ``python3 tasks.py analysis`` runs it (both analyses side by side), best
of two.
Nothing here is a test: timings vary with the machine and its load, so they
are printed, never asserted. ``--quick`` passes ``--quick`` or small sizes to
the scripts that take them.

Targets (issue 16): main job at most 8 s; nested mixed model faster than lme4
at every size (ratio >= 1.5 at 160 participants, >= 5 at 200,000); power, 1,000
replicates: CR2 ANCOVA faster than R's lm + clubSandwich, mixed model >= 3x
faster than R's lmer loop, n_jobs=2 faster than n_jobs=1; read_data within 4x
of pandas' C engine (CSV) and 1.5x of pyreadstat (.sav); ``cpeval --help`` under
0.3 s; bootstrap within 1.5x of the random-number bound.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
SCRIPTS = [
    ("imports", "bench_import.py", []),
    ("reading", "bench_read.py", []),
    ("mixed models", "bench_lmm.py", ["--quick"]),
    ("bootstrap", "bench_bootstrap.py", []),
    ("power", "bench_power.py", ["200"]),
]


def run_script(title: str, script: str, quick_args: list[str], quick: bool) -> None:
    print(f"\n## {title} ({script})", flush=True)
    if not (HERE / script).exists():
        print("(absent)")
        return
    args = quick_args if quick else []
    done = subprocess.run(
        [sys.executable, script, *args], cwd=HERE, check=False, text=True
    )
    if done.returncode:
        print(f"({script} failed with exit code {done.returncode})")


def main_job() -> None:
    """Wall time of the main job as ``python3 tasks.py analysis`` runs it
    (``analysis/main_job.py``: both analyses side by side), best of two runs."""
    print("\n## main job (analysis/main_job.py, both analyses)", flush=True)
    best = float("inf")
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(2):
            start = time.perf_counter()
            results = f"{folder}/{attempt}"
            done = subprocess.run(
                [
                    sys.executable,
                    "analysis/main_job.py",
                    "--results",
                    results,
                    "--quiet",
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            best = min(best, time.perf_counter() - start)
    for line in done.stdout.splitlines():
        if line.startswith("=="):
            print(line.strip("= "))
    print(f"main job, both analyses: {best:.1f} s (target: at most 8 s)")


def main(quick: bool = False) -> None:
    for title, script, quick_args in SCRIPTS:
        run_script(title, script, quick_args, quick)
    main_job()


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
