"""Bootstrap speed: 10,000 stratified replicates at n = 2,000, beside R boot.

Run: python benchmarks/bench_bootstrap.py
R's time is boot(..., strata = arm) with a statistic of the two mean differences,
timed inside R by this script (needs Rscript; Debian r-cran-boot). Targets (issue 6):
at least 30 times faster than R boot; a two-stage cluster bootstrap of 10,000
replicates with 10 clusters of 200 (per arm) in under 2 s. The floor is the
random-number bound: the time numpy's generator takes to draw the same indices
(10,000 x 1,000 per arm, as int32, in the same chunks); target (issue 16):
within 1.5 times it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import best_of, r_seconds

from cpeval.economics import bootstrap_cea
from cpeval.economics._cea import BLOCK, CACHE_CELLS

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


def random_bound(n_per_arm: int, n_boot: int, seed: int = 1) -> float:
    """Seconds numpy's generator takes for the indices the bootstrap draws
    (blocks of ``BLOCK`` replicates, each arm's resamples in cache-sized
    chunks), without gathering or summing anything."""
    streams = np.random.SeedSequence(seed).spawn(-(-n_boot // BLOCK))

    def draw() -> None:
        for stream in streams:
            rng = np.random.default_rng(stream)
            size = min(BLOCK, n_boot)
            chunk = max(1, min(size, CACHE_CELLS // n_per_arm))
            for _arm in range(2):
                for start in range(0, size, chunk):
                    part = min(chunk, size - start)
                    rng.integers(0, n_per_arm, size=(part, n_per_arm), dtype=np.int32)

    return best_of(draw, repeat=5)


def main() -> None:
    rng = np.random.default_rng(20261122)
    n = 2000
    data = pd.DataFrame({"arm": np.repeat([1, 0], n // 2)})
    data["cost"] = rng.gamma(1.5, 3000, n)
    data["qaly"] = rng.normal(0.6, 0.2, n)
    args = {
        "cost": "cost",
        "effect": "qaly",
        "group": "arm",
        "n_boot": 10_000,
        "seed": 1,
    }
    ours = best_of(lambda: bootstrap_cea(data, **args), repeat=5)
    bound = random_bound(n // 2, args["n_boot"])
    clustered = pd.DataFrame(
        {"arm": np.repeat([1, 0], 10 * 200), "team": np.repeat(np.arange(20), 200)}
    )
    clustered["cost"] = rng.gamma(1.5, 3000, len(clustered))
    clustered["qaly"] = rng.normal(0.6, 0.2, len(clustered))
    cluster_time = best_of(lambda: bootstrap_cea(clustered, cluster="team", **args))
    theirs = r_seconds(R_SCRIPT, data)
    print(f"10,000 stratified replicates, n = {n:,}")
    print(f"cpeval bootstrap_cea: {ours:.3f} s (best of 5)")
    print(
        f"random-number bound:  {bound:.3f} s (numpy drawing the same "
        f"{2 * args['n_boot'] * (n // 2):,} indices; best of 5)"
    )
    print(f"ratio cpeval / bound: {ours / bound:.2f} (target <= 1.5)")
    if theirs is not None:
        print(f"R boot:               {theirs:.3f} s")
        print(f"ratio R / cpeval:     {theirs / ours:.1f} (target >= 30)")
    print(
        "two-stage cluster bootstrap, 10,000 replicates, 10 clusters of 200 per arm: "
        f"{cluster_time:.3f} s (target < 2 s)"
    )


if __name__ == "__main__":
    main()
