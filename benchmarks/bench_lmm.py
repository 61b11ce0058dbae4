"""Mixed-model fit times: cpeval.models.fit_lmm beside R lme4 (when R is present).

Run: python benchmarks/bench_lmm.py
Data: two interviews per participant (20% lost at follow-up), teams of 16 to 100,
arm by team. Times are best of 3; lme4's is lmer() alone, timed inside R by the
same script (Rscript with lme4 installed, e.g. Debian r-cran-lme4). cpeval's time
includes the Satterthwaite df, which lme4's does not (lmerTest adds it on demand).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _timing import best_of, r_seconds

from cpeval.models import fit_lmm

SIZES = [(160, 10), (2_000, 40), (20_000, 200), (200_000, 2_000)]  # participants, teams
R_SCRIPT = """
suppressMessages(library(lme4))
d <- read.csv("{path}")
best <- Inf
for (i in 1:3) best <- min(best, system.time(
  lmer(y ~ time * group + (1 | team/id), data = d))[["elapsed"]])
cat(best)
"""


def simulate(n: int, teams: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    team = rng.integers(0, teams, n)
    group = team % 2
    u_team = rng.normal(0, 1.5, teams)[team]
    u_id = rng.normal(0, 5, n)
    rows = []
    for time_point in (0, 1):
        keep = np.ones(n, bool) if time_point == 0 else rng.random(n) > 0.2
        y = 40 + 2 * time_point + u_team + u_id + rng.normal(0, 6, n)
        rows.append(
            pd.DataFrame(
                {
                    "team": team,
                    "id": np.arange(n),
                    "group": group,
                    "time": time_point,
                    "y": y,
                }
            )[keep]
        )
    return pd.concat(rows, ignore_index=True)


def main() -> None:
    print(
        f"{'participants':>12} {'rows':>7} {'cpeval s':>9} {'lme4 s':>8} {'ratio':>6}"
    )
    for n, teams in SIZES:
        data = simulate(n, teams, seed=n)
        ours = best_of(lambda d=data: fit_lmm(d, "y ~ time * group", ["team", "id"]))
        theirs = r_seconds(R_SCRIPT, data)
        ratio = f"{theirs / ours:6.2f}" if theirs else "     -"
        text = f"{theirs:8.3f}" if theirs else "       -"
        print(f"{n:12,d} {len(data):7,d} {ours:9.3f} {text} {ratio}")
    print("ratio = lme4 time / cpeval time (above 1: cpeval faster)")


if __name__ == "__main__":
    main()
