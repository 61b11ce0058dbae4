"""Seeded observational data for the weighting reference values (run once).

400 participants in 20 teams; treatment depends on age, severity and sex; the
outcome on treatment (effect 2), the covariates and a team effect.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main():
    rng = np.random.default_rng(20261122)
    n = 400
    team = rng.integers(1, 21, n)
    age = rng.normal(45, 12, n).round(1)
    severity = rng.normal(0, 1, n).round(3)
    female = rng.integers(0, 2, n)
    logit = -0.5 + 0.03 * (age - 45) + 0.8 * severity + 0.4 * female
    treated = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    y = (
        20
        + 2 * treated
        + 0.1 * age
        + 3 * severity
        - female
        + rng.normal(0, 1.5, 21)[team]
    )
    y = (y + rng.normal(0, 4, n)).round(3)
    pd.DataFrame(
        {
            "team": team,
            "age": age,
            "severity": severity,
            "female": female,
            "treated": treated,
            "y": y,
        }
    ).to_csv(HERE / "observational.csv", index=False)


if __name__ == "__main__":
    main()
