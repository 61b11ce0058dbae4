"""Seeded data for the dose-on-cost-effectiveness reference (dose_cea.R): 12
teams, 6 allocated; fidelity (the dose) 0 in control teams; per participant a
cost and QALYs over 6 months that depend on the dose (true effects per point of
fidelity: cost +120, QALYs +0.004), on baseline utility and cost, and on a team
effect.

Run: python make_dose_cea.py  (writes dose_cea.csv)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261206)
rows = []
for team in range(12):
    allocated = int(team % 2 == 0)
    team_fidelity = rng.uniform(1.5, 4.5) if allocated else 0.0
    u_cost, u_qaly = rng.normal(0, 150), rng.normal(0, 0.01)
    for _ in range(int(rng.integers(12, 25))):
        fidelity = max(0.0, team_fidelity + rng.normal(0, 0.5)) if allocated else 0.0
        utility0 = float(np.clip(rng.normal(0.6, 0.2), -0.2, 1.0))
        cost0 = float(rng.gamma(2.0, 300.0))
        cost = max(
            0.0, 800 + 120 * fidelity + 0.5 * cost0 + u_cost + rng.normal(0, 400)
        )
        qaly = 0.1 + 0.004 * fidelity + 0.35 * utility0 + u_qaly + rng.normal(0, 0.03)
        rows.append(
            (
                f"t{team:02d}",
                allocated,
                round(fidelity, 3),
                round(utility0, 4),
                round(cost0, 2),
                round(cost, 2),
                round(qaly, 5),
            )
        )
columns = ["team", "allocated", "fidelity", "utility0", "cost0", "cost", "qaly"]
pd.DataFrame(rows, columns=columns).to_csv(
    Path(__file__).parent / "dose_cea.csv", index=False
)
