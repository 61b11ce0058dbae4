"""Write the seeded two-level data sets of the multilevel-imputation reference
(mice2l.R); the complete y is kept as y_full.

clustered.csv: 20 teams of 5 to 25 people; x varies within and between teams;
y = 1 + 0.8 x + u + e, team effect u ~ N(0, 0.35), e ~ N(0, 1) (residual ICC
0.26); y missing at random given x (logit -1.1 + x: 27% missing).

small_clusters.csv: 60 teams of 2 to 6 people; y = 1 + 0.5 x + u + e, u ~ N(0,
0.25), e ~ N(0, 1) (ICC 0.2); y missing at random given x (logit -0.5 + 0.5 x).
Small teams are where fixed team effects overstate the spread of the teams.

Run from this folder: python make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def two_level(rng, teams, sizes, slope, tau2, spread_x, missing_logit):
    """Rows of (team, x, y_full, y) with y missing where a logistic draw says."""
    rows = []
    for team in range(teams):
        u = rng.normal(0, np.sqrt(tau2))
        w = rng.normal(0, spread_x) if spread_x else 0.0
        for _ in range(int(rng.integers(sizes[0], sizes[1] + 1))):
            x = w + rng.normal(0, 1)
            y = 1 + slope * x + u + rng.normal(0, 1)
            a, b = missing_logit
            missing = rng.random() < 1 / (1 + np.exp(-(a + b * x)))
            rows.append((f"t{team:02d}", round(x, 4), round(y, 4), missing))
    frame = pd.DataFrame(rows, columns=["team", "x", "y_full", "missing"])
    frame["y"] = frame["y_full"].where(~frame.pop("missing"))
    return frame


rng = np.random.default_rng(20261209)
two_level(rng, 20, (5, 25), 0.8, 0.35, 0.5, (-1.1, 1.0)).to_csv(
    HERE / "clustered.csv", index=False
)
two_level(rng, 60, (2, 6), 0.5, 0.25, 0.0, (-0.5, 0.5)).to_csv(
    HERE / "small_clusters.csv", index=False
)
