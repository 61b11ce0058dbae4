"""Bootstrap speed: 10,000 stratified replicates at n = 2,000, beside R boot.

Run: python benchmarks/bench_bootstrap.py
R's time is boot(..., strata = arm) with a statistic of the two mean differences,
timed inside R by this script (needs Rscript; Debian r-cran-boot). Targets (issue 6):
at least 30 times faster than R boot; a two-stage cluster bootstrap of 10,000
replicates with 10 clusters of 200 (per arm) in under 2 s.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cpeval.economics import bootstrap_cea

R_SCRIPT = """
suppressMessages(library(boot))
d <- read.csv("{path}")
stat <- function(data, i) {{
  x <- data[i, ]
  c(mean(x$cost[x$arm == 1]) - mean(x$cost[x$arm == 0]),
    mean(x$qaly[x$arm == 1]) - mean(x$qaly[x$arm == 0]))
}}
set.seed(1)
cat(system.time(boot(d, stat, R = 10000, strata = d$arm))[["elapsed"]])
"""


def main() -> None:
    rng = np.random.default_rng(20261122)
    n = 2000
    data = pd.DataFrame({"arm": np.repeat([1, 0], n // 2)})
    data["cost"] = rng.gamma(1.5, 3000, n)
    data["qaly"] = rng.normal(0.6, 0.2, n)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        bootstrap_cea(
            data, cost="cost", effect="qaly", group="arm", n_boot=10_000, seed=1
        )
        times.append(time.perf_counter() - start)
    ours = min(times)
    theirs = None
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "d.csv"
            data.to_csv(path, index=False)
            run = subprocess.run(
                ["Rscript", "-e", R_SCRIPT.format(path=path)],
                capture_output=True,
                text=True,
                check=False,
            )
            theirs = float(run.stdout) if run.returncode == 0 and run.stdout else None
    clustered = pd.DataFrame(
        {"arm": np.repeat([1, 0], 10 * 200), "team": np.repeat(np.arange(20), 200)}
    )
    clustered["cost"] = rng.gamma(1.5, 3000, len(clustered))
    clustered["qaly"] = rng.normal(0.6, 0.2, len(clustered))
    cluster_times = []
    for _ in range(3):
        start = time.perf_counter()
        bootstrap_cea(
            clustered,
            cost="cost",
            effect="qaly",
            group="arm",
            n_boot=10_000,
            seed=1,
            cluster="team",
        )
        cluster_times.append(time.perf_counter() - start)
    print(f"10,000 stratified replicates, n = {n:,}")
    print(f"cpeval bootstrap_cea: {ours:.3f} s (best of 3)")
    if theirs is not None:
        print(f"R boot:               {theirs:.3f} s")
        print(f"ratio R / cpeval:     {theirs / ours:.1f} (target >= 30)")
    print(
        "two-stage cluster bootstrap, 10,000 replicates, 10 clusters of 200 per arm: "
        f"{min(cluster_times):.3f} s (target < 2 s)"
    )


if __name__ == "__main__":
    main()
