"""Seeded data sets for the ANCOVA / CR2 reference values (run once).

pilot_like: 14 clusters of unequal size (3 to 20), cluster-level allocation,
baseline and follow-up scores, one covariate; few_clusters: 6 clusters.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def study(rng, sizes, effect):
    rows = []
    for cluster, size in enumerate(sizes, start=1):
        arm = cluster % 2
        u = rng.normal(scale=2.0)
        base = rng.normal(40, 8, size)
        age = rng.integers(18, 80, size)
        follow = (
            10 + 0.7 * base + effect * arm + u + 0.05 * age + rng.normal(0, 6, size)
        )
        for b, a, f in zip(base, age, follow, strict=True):
            rows.append(
                {
                    "cluster": f"c{cluster:02d}",
                    "arm": arm,
                    "age": int(a),
                    "baseline": round(float(b), 3),
                    "followup": round(float(f), 3),
                }
            )
    return pd.DataFrame(rows)


def main():
    rng = np.random.default_rng(20261122)
    sizes = [3, 5, 20, 8, 12, 6, 15, 9, 4, 18, 7, 11, 10, 27]
    study(rng, sizes, 3.0).to_csv(HERE / "pilot_like.csv", index=False)
    study(rng, [12, 30, 8, 25, 16, 40], 0.0).to_csv(
        HERE / "few_clusters.csv", index=False
    )


if __name__ == "__main__":
    main()
