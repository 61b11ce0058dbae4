"""Seeded data for the subgroup reference (subgroups.R): 12 teams, 6 allocated
to the intervention, each serving one client group (adults, older adults,
learning disability: a team-level subgroup) and people of both sexes (a
participant-level subgroup). The true effect is 1 for adults, 3 for older
adults and 0 for learning disability; a team effect and a person effect.

Run: python make_data.py  (writes subgroups.csv)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EFFECT = {"adults": 1.0, "older adults": 3.0, "learning disability": 0.0}
rng = np.random.default_rng(20261205)
rows = []
for team in range(12):
    allocated = int(team % 2 == 0)
    client = list(EFFECT)[(team // 2) % 3]
    u = rng.normal(0, 1.5)
    for _ in range(int(rng.integers(10, 30))):
        sex = "female" if rng.random() < 0.55 else "male"
        baseline = rng.normal(40, 6)
        age = float(rng.integers(18, 85))
        y = (
            12
            + allocated * EFFECT[client]
            + 0.7 * allocated * (sex == "male")
            + 0.6 * baseline
            + 0.03 * age
            + u
            + rng.normal(0, 4)
        )
        rows.append(
            (
                f"t{team:02d}",
                allocated,
                client,
                sex,
                round(baseline, 2),
                age,
                round(y, 3),
            )
        )
frame = pd.DataFrame(
    rows,
    columns=["team", "allocated", "client_group", "sex", "baseline", "age", "outcome"],
)
frame.to_csv(Path(__file__).parent / "subgroups.csv", index=False)
