"""Seeded trial data for the CEA reference values (run once).

300 participants, arms of 140 and 160, gamma-distributed costs (the intervention
about £1,300 cheaper, as in the Connecting People pilot) and QALYs over 9 months;
`cost_shifted` adds £1,500 to the intervention arm's costs.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main():
    rng = np.random.default_rng(20261122)
    arm = np.r_[np.ones(140, int), np.zeros(160, int)]
    cost = rng.gamma(1.5, (4500 - 1300 * arm) / 1.5)
    qaly = np.clip(0.75 * (0.6 + 0.03 * arm + rng.normal(0, 0.2, len(arm))), -0.4, 0.75)
    # covariates for the adjusted analyses, drawn after the columns above
    age = rng.normal(45, 12, len(arm)).round(1)
    u0 = np.clip(qaly / 0.75 + rng.normal(0, 0.1, len(arm)), -0.2, 1.0).round(4)
    # cost_shifted: the same costs with £1,500 added in the intervention arm, so that
    # its acceptability curve crosses 0.5 within the usual thresholds
    pd.DataFrame(
        {
            "arm": arm,
            "cost": cost.round(2),
            "qaly": qaly.round(5),
            "cost_shifted": (cost + 1500 * arm).round(2),
            "age": age,
            "u0": u0,
        }
    ).to_csv(HERE / "trial.csv", index=False)


if __name__ == "__main__":
    main()
