"""A zoo study with effects that differ by a declared subgroup.

18 teams, alternately allocated to Connecting People or usual care; each team
serves one client group ("Adults", "Older adults", "Learning disability": a
team-level subgroup, 6 teams each, 3 in each arm), and its people are of either
sex (a participant-level subgroup that does not modify the effect). Three waves
(baseline, 3 months, 6 months); the config declares 3 months primary, so the
subgroups must use it and not the last wave. The effect at 3 months is
CLIENT_EFFECT[group] (at 6 months half of it); outcome = 15 + effect + 0.6 x
baseline + team effect (SD 1.5) + noise (SD 5); 10% of each follow-up wave
missed at random. The ANCOVA with the arm within each client group estimates
CLIENT_EFFECT; tests/test_zoo_subgroups.py checks the intervals' coverage over
seeds and the pipeline's rows against subgroup_effects by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tests.zoo import write_waves

CLIENT_EFFECT = {"Adults": 2.0, "Older adults": 6.0, "Learning disability": 0.0}
WAVES = ("baseline", "3 months", "6 months")


@dataclass(frozen=True)
class SubgroupLayout:
    teams: int = 18
    team_size: int = 22
    seed: int = 2
    #: client groups whose teams are all in usual care (a user's mistake: a
    #: subgroup level without the intervention)
    comparator_only: tuple[str, ...] = ()
    subgroups: dict = field(
        default_factory=lambda: {
            "client group": '"client_group"',
            "sex": '"sex"',
        }
    )


def simulate(layout: SubgroupLayout) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(layout.seed)
    groups = list(CLIENT_EFFECT)
    frames: dict[str, list] = {w: [] for w in WAVES}
    person = 0
    for team in range(layout.teams):
        client = groups[(team // 2) % 3]
        allocated = team % 2 == 0 and client not in layout.comparator_only
        u = rng.normal(0, 1.5)
        for _ in range(layout.team_size):
            person += 1
            pid = f"S{person:04d}"
            y0 = rng.normal(40, 6)
            frames[WAVES[0]].append(
                {
                    "id": pid,
                    "arm": "Connecting People" if allocated else "Usual care",
                    "team": f"T{team:02d}",
                    "client_group": client,
                    "sex": "female" if rng.random() < 0.5 else "male",
                    "age": float(rng.integers(18, 90)),
                    "wellbeing": round(y0, 3),
                }
            )
            for wave, share in ((WAVES[1], 1.0), (WAVES[2], 0.5)):
                effect = share * CLIENT_EFFECT[client] * allocated
                y = 15 + effect + 0.6 * y0 + u + rng.normal(0, 5)
                if rng.random() >= 0.1:
                    frames[wave].append({"id": pid, "wellbeing": round(y, 3)})
    return {wave: pd.DataFrame(rows) for wave, rows in frames.items()}


def write(folder: Path, layout: SubgroupLayout) -> Path:
    """Write the study (CSV files, codebook, config); return the config's path."""
    files = write_waves(folder, simulate(layout))
    groups = ", ".join(f'"{g}"' for g in CLIENT_EFFECT)
    codebook = [
        "[study]",
        'name = "zoo subgroups"',
        'id = "id"',
        'group = "arm"',
        'intervention = "Connecting People"',
        'clusters = ["team"]',
        f"waves = {list(WAVES)!r}".replace("'", '"'),
        'covariates = ["age", "sex"]',
        "",
        *files,
        "[columns]",
        'age = { type = "numeric", min = 16, max = 100, waves = ["baseline"] }',
        'sex = { type = "categorical", values = ["female", "male"], '
        'waves = ["baseline"] }',
        f'client_group = {{ type = "categorical", values = [{groups}], '
        'waves = ["baseline"] }',
        'wellbeing = { type = "numeric", min = -100, max = 200 }',
    ]
    (folder / "codebook.toml").write_text("\n".join(codebook) + "\n")
    config = [
        "[analysis]",
        'name = "zoo subgroups"',
        'codebook = "codebook.toml"',
        "seed = 5",
        'formats = ["csv"]',
        'report_formats = ["html"]',
        'design = "cluster-randomised"',
        'primary_wave = "3 months"',
        "",
        "[outcomes]",
        'wellbeing = "wellbeing"',
        "",
        "[model]",
        'kind = "ancova"',
        'covariates = ["age", "sex"]',
        "",
        "[subgroups]",
        *(f'"{name}" = {value}' for name, value in layout.subgroups.items()),
    ]
    path = folder / "analysis.toml"
    path.write_text("\n".join(config) + "\n")
    return path
