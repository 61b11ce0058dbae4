"""Seeded long-format data sets for the mixed-model reference values (run once).

Each row is one interview (time 0 = baseline, 1 = follow-up) of participant `id`
in `team` (and `trust`); `group` is allocated by team. Some follow-ups are missing.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def simulate(
    rng, trusts, teams_per_trust, sizes, sd_trust, sd_team, sd_id, effect, p_lost
):
    rows, pid = [], 0
    for t in range(trusts):
        u_trust = rng.normal(0, sd_trust)
        for k in range(teams_per_trust):
            team = f"T{t + 1}-{k + 1}"
            group = k % 2
            u_team = rng.normal(0, sd_team)
            for _ in range(sizes[(t * teams_per_trust + k) % len(sizes)]):
                pid += 1
                u_id = rng.normal(0, sd_id)
                for time in (0, 1):
                    if time == 1 and rng.random() < p_lost:
                        continue
                    y = 40 + 2 * time + effect * time * group + u_trust + u_team + u_id
                    rows.append(
                        {
                            "trust": f"S{t + 1}",
                            "team": team,
                            "id": f"P{pid:05d}",
                            "group": group,
                            "time": time,
                            "y": round(float(y + rng.normal(0, 6)), 4),
                        }
                    )
    return pd.DataFrame(rows)


def main():
    rng = np.random.default_rng(20261122)
    sets = {
        "small_nearzero": simulate(rng, 1, 6, [8, 6, 9, 7, 8, 6], 0, 0.0, 5, 1.5, 0.1),
        "unbalanced": simulate(
            rng, 1, 12, [3, 30, 8, 12, 5, 25, 10, 4, 18, 7, 15, 20], 0, 2.0, 5, 2.0, 0.2
        ),
        "three_levels": simulate(
            rng, 5, 2, [14, 17, 15, 18, 13, 16, 19, 15, 17, 15], 1.5, 1.5, 5, 0.0, 0.16
        ),
        "large": simulate(rng, 1, 200, [100], 0, 1.5, 5, 1.0, 0.2),
    }
    for name, frame in sets.items():
        frame.to_csv(HERE / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
