"""Seeded rating data for the agreement reference values (run once)."""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main():
    rng = np.random.default_rng(20261122)
    truth = rng.integers(1, 6, 150)
    r1 = np.clip(truth + rng.integers(-1, 2, 150), 1, 5).astype(float)
    r2 = np.clip(truth + rng.integers(-1, 2, 150) * (rng.random(150) < 0.6), 1, 5)
    r2 = r2.astype(float)
    r1[rng.random(150) < 0.04] = np.nan
    pd.DataFrame({"rater1": r1, "rater2": r2}).to_csv(HERE / "kappa.csv", index=False)
    level = rng.normal(0, 1.0, 40)
    bias = np.array([0.0, 0.4, -0.3, 0.8])
    scores = 5 + level[:, None] + bias + rng.normal(0, 0.6, (40, 4))
    pd.DataFrame(np.round(scores, 3), columns=["w1", "w2", "w3", "w4"]).to_csv(
        HERE / "ratings.csv", index=False
    )


if __name__ == "__main__":
    main()
