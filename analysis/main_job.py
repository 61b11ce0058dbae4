"""The main job: reanalyse both synthetic studies, one per core.

Run (``python3 tasks.py analysis`` does it in the tox environment)::

    python analysis/main_job.py [--results DIR] [cpeval run options, e.g. --quiet]

Each study is one ``cpeval run CONFIG --out DIR`` (the same command a user types),
run in its own joblib worker process, so the two analyses share the machine's
two cores; each analysis limits BLAS to one thread itself, and its outputs are
the same as from a separate ``cpeval run``. Each run's messages are printed
together, in the order of ``STUDIES``, when it ends. The exit code is the worst
of the runs' (0 clean, 1 warnings, 2 bad input, 3 internal error: see ``cpeval
--help``).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

STUDIES = (  # config, and its output folder under --results
    ("analysis/implementation_study.toml", "implementation"),
    ("analysis/pilot_study.toml", "pilot"),
)


def run_one(config: str, out: str, options: list[str]) -> tuple[int, str, str, float]:
    """``cpeval run config --out out *options`` in this process: its exit code,
    what it printed to stdout and stderr, and its wall time in seconds."""
    from cpeval.cli import main

    printed, complained = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(printed), redirect_stderr(complained):
        try:
            code = main(["run", config, "--out", out, *options])
        except SystemExit as stop:  # argparse's usage errors
            code = stop.code if isinstance(stop.code, int) else 2
    return code, printed.getvalue(), complained.getvalue(), time.perf_counter() - start


def main(argv: list[str]) -> int:
    from joblib import Parallel, delayed

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument("--results", default="results", help="output folder")
    args, options = parser.parse_known_args(argv)
    jobs = [(config, f"{args.results}/{folder}") for config, folder in STUDIES]
    names = ", ".join(config for config, _ in jobs)
    print(f"main job: {names}, side by side (one process each)", flush=True)
    start = time.perf_counter()
    runs = Parallel(n_jobs=min(2, len(jobs)), return_as="generator")(
        delayed(run_one)(config, out, options) for config, out in jobs
    )
    worst = 0
    for (config, out), (code, printed, complained, seconds) in zip(
        jobs, runs, strict=True
    ):
        print(f"\n== cpeval run {config} --out {out} (exit {code}, {seconds:.1f} s)")
        sys.stdout.write(printed)
        sys.stdout.flush()
        sys.stderr.write(complained)
        sys.stderr.flush()
        worst = max(worst, code)
    print(f"\nmain job: {time.perf_counter() - start:.1f} s, exit {worst}")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
