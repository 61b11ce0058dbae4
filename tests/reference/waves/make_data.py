"""Write three_waves.csv: a seeded three-wave study for effect_by_wave.

12 teams (6 per arm, 4 to 14 participants), months 0, 6 and 12, arm labels
"CP" and "usual care" (the intervention sorts first), a numeric and a text
covariate, the arm effect 2 at 6 months and 5 at 12, some interviews missed.
Run from the repository root: python tests/reference/waves/make_data.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261201)
rows = []
person = 0
for team in range(12):
    arm = "CP" if team % 2 == 0 else "usual care"
    u_team = rng.normal(0, 3.0)
    for _ in range(int(rng.integers(4, 15))):
        person += 1
        age = int(rng.integers(18, 70))
        sex = rng.choice(["female", "male", "other"], p=[0.5, 0.45, 0.05])
        u_person = rng.normal(0, 3)
        for month, effect in ((0, 0.0), (6, 2.0), (12, 5.0)):
            if month and rng.random() < 0.15:
                continue
            y = (
                40
                + u_team
                + u_person
                + 0.1 * age
                + (1.0 if sex == "male" else 0.0)
                + 0.2 * month
                + (effect if arm == "CP" else 0.0)
                + rng.normal(0, 4)
            )
            rows.append((f"p{person:03d}", f"t{team:02d}", arm, month, age, sex, y))
frame = pd.DataFrame(rows, columns=["id", "team", "arm", "month", "age", "sex", "y"])
frame["y"] = frame["y"].round(3)
frame.to_csv(Path(__file__).with_name("three_waves.csv"), index=False)
