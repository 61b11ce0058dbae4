"""A zoo study with a binary and a count outcome, each with a known true ratio.

Teams in two sites are allocated to arms (alternating); each participant is
interviewed at baseline, 6 and 12 months (10% of follow-up interviews missed at
random). Two outcomes, declared in the codebook:

- ``employed`` (binary, written "no"/"yes" in the file, ``values = ["no",
  "yes"]``): logit P(yes) = -0.4 + team (SD 0.3) + participant (SD 1.0) + 0.2
  per wave + log(ODDS_RATIO) in the intervention arm after baseline, so the
  true conditional odds ratio at each follow-up wave is ``ODDS_RATIO``;
- ``contacts`` (count): log rate = 0.8 + team (SD 0.2) + participant (SD 0.5)
  + 0.1 per wave + log(RATE_RATIO) in the intervention arm after baseline.

The mixed model of either outcome is the generating model (with age, which has
no effect), so its ratio's 95% interval should hold the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.zoo import write_waves

ODDS_RATIO = 2.0
RATE_RATIO = 0.7
WAVES = ("baseline", "6 months", "12 months")


@dataclass(frozen=True)
class RatioLayout:
    """The study and what its config asks for."""

    teams: int = 12
    team_size: int = 25
    seed: int = 1
    kind: str = "lmm"
    sensitivity: tuple[str, ...] = ("gee",)
    wave_effects: tuple[str, ...] = ()
    imputation: int = 0
    bad_binary: str | None = None  # a value written in one row of `employed`
    bad_count: float | None = None  # a value written in one row of `contacts`
    binary_extra: str = ""  # more keys of the `employed` column
    design: str = "cluster-randomised"


def simulate(layout: RatioLayout) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(layout.seed)
    rows: dict[str, list] = {w: [] for w in WAVES}
    person = 0
    for team in range(layout.teams):
        treated = team % 2 == 0
        arm = "Connecting People" if treated else "Usual care"
        u_team = rng.normal(0, 0.3)
        v_team = rng.normal(0, 0.2)
        for _ in range(layout.team_size):
            person += 1
            age = float(rng.integers(18, 71))
            u = rng.normal(0, 1.0)
            v = rng.normal(0, 0.5)
            for k, wave in enumerate(WAVES):
                if k and rng.random() < 0.1:
                    continue
                after = treated and k > 0
                eta = -0.4 + u_team + u + 0.2 * k + np.log(ODDS_RATIO) * after
                log_rate = 0.8 + v_team + v + 0.1 * k + np.log(RATE_RATIO) * after
                record = {
                    "id": f"P{person:04d}",
                    "employed": "yes"
                    if rng.random() < 1 / (1 + np.exp(-eta))
                    else "no",
                    "contacts": int(rng.poisson(np.exp(log_rate))),
                }
                if k == 0:
                    record = {
                        "id": record["id"],
                        "arm": arm,
                        "site": f"S{team % 2 if team < 2 else (team // 2) % 2}",
                        "team": f"T{team:02d}",
                        "age": age,
                        **{k2: v2 for k2, v2 in record.items() if k2 != "id"},
                    }
                rows[wave].append(record)
    frames = {w: pd.DataFrame(r) for w, r in rows.items()}
    last = frames[WAVES[-1]]
    if layout.bad_binary is not None:
        last["employed"] = last["employed"].astype(object)
        last.loc[3, "employed"] = layout.bad_binary
    if layout.bad_count is not None:
        last["contacts"] = last["contacts"].astype(float)
        last.loc[4, "contacts"] = layout.bad_count
    return frames


def write(folder: Path, layout: RatioLayout) -> Path:
    """Write the study (CSV files, codebook, config); return the config's path."""
    files = write_waves(folder, simulate(layout))
    waves = str(list(WAVES)).replace("'", '"')
    codebook = [
        "[study]",
        'name = "zoo ratios"',
        'id = "id"',
        'group = "arm"',
        'intervention = "Connecting People"',
        'clusters = ["site", "team"]',
        f"waves = {waves}",
        'covariates = ["age"]',
        "",
        *files,
        "[columns]",
        'age = { type = "numeric", min = 16, max = 100, waves = ["baseline"] }',
        'employed = { type = "binary", values = ["no", "yes"], '
        f'label = "in paid work"{layout.binary_extra} }}',
        'contacts = { type = "count", max = 200, label = "social contacts" }',
    ]
    (folder / "codebook.toml").write_text("\n".join(codebook) + "\n")
    config = [
        "[analysis]",
        'name = "zoo ratios"',
        'codebook = "codebook.toml"',
        "seed = 7",
        'formats = ["csv"]',
        f'design = "{layout.design}"',
        "",
        "[outcomes]",
        '"in paid work" = "employed"',
        '"social contacts" = "contacts"',
        "",
        "[model]",
        f'kind = "{layout.kind}"',
        'covariates = ["age"]',
    ]
    if layout.sensitivity:
        config.append(f"sensitivity = {list(layout.sensitivity)}".replace("'", '"'))
    if layout.wave_effects:
        config.append(f"wave_effects = {list(layout.wave_effects)}".replace("'", '"'))
    if layout.imputation:
        config += ["", "[imputation]", f"m = {layout.imputation}", "iterations = 3"]
    path = folder / "analysis.toml"
    path.write_text("\n".join(config) + "\n")
    return path
