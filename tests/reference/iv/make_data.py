"""Seeded data for the instrumental-variable reference (iv.R): 10 teams, 5
allocated to the intervention; fidelity (the exposure) is 0 in control teams
and varies by team and person in intervention teams; the outcome depends on
fidelity (true effect per point: 1.5), baseline and a team effect.

Run: python make_data.py  (writes dose.csv)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261204)
rows = []
for team in range(10):
    allocated = int(team % 2 == 0)
    team_fidelity = rng.uniform(1.5, 4.5) if allocated else 0.0
    u = rng.normal(0, 1.0)
    for _ in range(int(rng.integers(14, 26))):
        fidelity = max(0.0, team_fidelity + rng.normal(0, 0.5)) if allocated else 0.0
        baseline = rng.normal(40, 6)
        age = float(rng.integers(18, 70))
        y = 10 + 1.5 * fidelity + 0.6 * baseline + 0.02 * age + u + rng.normal(0, 5)
        rows.append(
            (
                f"t{team:02d}",
                allocated,
                round(fidelity, 3),
                round(baseline, 2),
                age,
                round(y, 3),
            )
        )
frame = pd.DataFrame(
    rows, columns=["team", "allocated", "fidelity", "baseline", "age", "outcome"]
)
frame.to_csv(Path(__file__).parent / "dose.csv", index=False)
