"""A zoo study with a known effect per unit of dose (fidelity).

Teams (alternating) are allocated to Connecting People or usual care. In an
allocated team every participant receives the team's fidelity (uniform 1 to 5,
plus a personal deviation, at least 0); in usual care the dose is 0, written as
0. The outcome at 6 months is 20 + DOSE_EFFECT x dose + 0.6 x baseline + team
effect (SD 1) + noise (SD 5); 10% of follow-up interviews are missed at random.
Allocation acts on the outcome only through the dose, so two-stage least squares
with allocation as the instrument estimates DOSE_EFFECT. Over seeds 0 to 199 the
estimates averaged 1.488 and the cluster-robust 95% intervals (t on 13 df) held
the truth in 93.5% (14 clusters: slightly under nominal, as expected); seed 11's
misses it, the default seed's holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.zoo import write_waves

DOSE_EFFECT = 1.5
WAVES = ("baseline", "6 months")


@dataclass(frozen=True)
class DoseLayout:
    teams: int = 14
    team_size: int = 20
    seed: int = 1
    comparator_dose: str = "0"  # "" leaves it blank (a user's mistake)
    allocated_dose: float | None = None  # the same dose for everyone allocated


def simulate(layout: DoseLayout) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(layout.seed)
    base, later = [], []
    person = 0
    for team in range(layout.teams):
        allocated = team % 2 == 0
        level = rng.uniform(1, 5) if allocated else 0.0
        u = rng.normal(0, 1)
        for _ in range(layout.team_size):
            person += 1
            pid = f"D{person:04d}"
            dose = max(0.0, level + rng.normal(0, 0.4)) if allocated else 0.0
            if allocated and layout.allocated_dose is not None:
                dose = layout.allocated_dose
            y0 = rng.normal(40, 6)
            written = f"{dose:.3f}" if allocated else layout.comparator_dose
            base.append(
                {
                    "id": pid,
                    "arm": "Connecting People" if allocated else "Usual care",
                    "team": f"T{team:02d}",
                    "age": float(rng.integers(18, 71)),
                    "fidelity": written,
                    "wellbeing": round(y0, 3),
                }
            )
            if rng.random() < 0.1:
                continue
            y1 = 20 + DOSE_EFFECT * dose + 0.6 * y0 + u + rng.normal(0, 5)
            later.append({"id": pid, "wellbeing": round(y1, 3)})
    return {WAVES[0]: pd.DataFrame(base), WAVES[1]: pd.DataFrame(later)}


def write(folder: Path, layout: DoseLayout) -> Path:
    """Write the study (CSV files, codebook, config); return the config's path."""
    files = write_waves(folder, simulate(layout))
    codebook = [
        "[study]",
        'name = "zoo dose"',
        'id = "id"',
        'group = "arm"',
        'intervention = "Connecting People"',
        'clusters = ["team"]',
        'waves = ["baseline", "6 months"]',
        'covariates = ["age"]',
        "",
        *files,
        "[columns]",
        'age = { type = "numeric", min = 16, max = 100, waves = ["baseline"] }',
        'fidelity = { type = "numeric", min = 0, max = 6, waves = ["baseline"] }',
        'wellbeing = { type = "numeric", min = -100, max = 200 }',
    ]
    (folder / "codebook.toml").write_text("\n".join(codebook) + "\n")
    config = [
        "[analysis]",
        'name = "zoo dose"',
        'codebook = "codebook.toml"',
        "seed = 5",
        'formats = ["csv"]',
        'report_formats = ["html"]',
        'design = "cluster-randomised"',
        "",
        "[outcomes]",
        'wellbeing = "wellbeing"',
        "",
        "[model]",
        'kind = "ancova"',
        'covariates = ["age"]',
        "",
        "[dose]",
        'exposure = "fidelity"',
    ]
    path = folder / "analysis.toml"
    path.write_text("\n".join(config) + "\n")
    return path
