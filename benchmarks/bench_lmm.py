"""Mixed-model fit times: cpeval.models.fit_lmm beside R lme4 (when R is present).

Run: python benchmarks/bench_lmm.py [--quick]

Three models, each timed at several sizes (participants, teams):

- ``nested``: ``y ~ time * group + (1 | team/id)``, two interviews (20% lost at
  follow-up): cpeval's nested engine (``groups=["team", "id"]``);
- ``slope``: ``y ~ time * group + (1 + time | team) + (1 | id)``, three waves:
  a correlated random slope (the sparse engine);
- ``crossed``: ``y ~ time * group + (1 | team) + (1 | team:time) + (1 | id)``,
  three waves: the team-by-wave effect crossed with participant (sparse engine).

Times are best of 3 (2 for lme4 at the largest sizes); lme4's is ``lmer()``
alone, timed inside R by the same script (Rscript with lme4 installed, e.g.
Debian r-cran-lme4). cpeval's time includes the Satterthwaite df, which lme4's
does not (lmerTest adds them on demand). ``--quick`` runs the smallest size only.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _timing import best_of, r_seconds

from cpeval.models import fit_lmm

MODELS = {
    "nested": ("y ~ time * group + (1 | team/id)", 2, ["team", "id"]),
    "slope": ("y ~ time * group + (1 + time | team) + (1 | id)", 3, None),
    "crossed": ("y ~ time * group + (1 | team) + (1 | team:time) + (1 | id)", 3, None),
}
SIZES = {
    "nested": [(160, 10), (2_000, 40), (20_000, 200), (200_000, 2_000)],
    "slope": [(2_000, 40), (20_000, 200)],
    "crossed": [(2_000, 40), (20_000, 200)],
}
R_SCRIPT = """
suppressMessages(library(lme4))
d <- read.csv("{path}")
best <- Inf
for (i in 1:3) best <- min(best, system.time(
  lmer(%s, data = d))[["elapsed"]])
cat(best)
"""


def simulate(n: int, teams: int, waves: int, seed: int) -> pd.DataFrame:
    """Participants in teams (arm by team), interviewed at ``waves`` waves;
    team effects with a slope over time and a team-by-wave part."""
    rng = np.random.default_rng(seed)
    team = rng.integers(0, teams, n)
    group = team % 2
    u_team = rng.normal(0, 1.5, teams)[team]
    u_slope = rng.normal(0, 0.5, teams)[team]
    u_wave = rng.normal(0, 1.0, (teams, waves))
    u_id = rng.normal(0, 5, n)
    rows = []
    for t in range(waves):
        keep = np.ones(n, bool) if t == 0 else rng.random(n) > 0.2
        y = 40 + 2 * t + u_team + u_slope * t + u_wave[team, t] + u_id
        y = y + rng.normal(0, 6, n)
        frame = pd.DataFrame(
            {"team": team, "id": np.arange(n), "group": group, "time": t, "y": y}
        )
        rows.append(frame[keep])
    return pd.concat(rows, ignore_index=True)


def main(quick: bool = False) -> None:
    print(
        f"{'model':>8} {'participants':>12} {'rows':>7} {'cpeval s':>9} "
        f"{'lme4 s':>8} {'ratio':>6}"
    )
    for model, (formula, waves, groups) in MODELS.items():
        for n, teams in SIZES[model][:1] if quick else SIZES[model]:
            data = simulate(n, teams, waves, seed=n)
            if groups:
                fixed = formula.split(" + (")[0]
                ours = best_of(lambda d=data, f=fixed, g=groups: fit_lmm(d, f, g))
            else:
                ours = best_of(lambda d=data, f=formula: fit_lmm(d, f))
            theirs = r_seconds(R_SCRIPT % formula, data)
            ratio = f"{theirs / ours:6.2f}" if theirs else "     -"
            text = f"{theirs:8.3f}" if theirs else "       -"
            print(f"{model:>8} {n:12,d} {len(data):7,d} {ours:9.3f} {text} {ratio}")
    print("ratio = lme4 time / cpeval time (above 1: cpeval faster)")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
