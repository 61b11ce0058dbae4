"""A zoo study of a 14-item questionnaire with skipped items, and a known effect.

A WEMWBS-like scale: 14 items scored 1 to 5, summed to a score of 14 to 70.
TEAMS teams (16), alternately allocated (even teams to the intervention, arm 1),
each of 16 to 24 people. Each person has a latent wellbeing: at baseline
``eta0 = team (SD 0.3) + person (SD 1)``; at follow-up ``eta1 = 0.6 eta0 +
LATENT_EFFECT arm + team (SD 0.25) + person (SD 0.7)``. Item j is
``1 + (number of THRESHOLDS + OFFSETS[j] below LOADINGS[j] eta + e)`` with
``e ~ N(0, 1)`` independent of everything else (a graded one-factor model).

The true effect. Allocation is independent of baseline, so the ANCOVA of the
follow-up score on baseline score and arm targets the difference in mean
follow-up score between the arms. Within an arm ``eta1`` is normal (mean
``LATENT_EFFECT arm``, variance ``0.36 (0.3^2 + 1) + 0.25^2 + 0.7^2``), so
``LOADINGS[j] eta1 + e`` is normal too and ``P(item j > k)`` is a normal
probability: :func:`true_effect` sums them exactly (no simulation). With
LATENT_EFFECT = 0.315 it is TRUE_EFFECT = 3.00 points (2.9993); a simulation
of 4 million people per arm gave 2.992 (Monte Carlo SE 0.007). In the
comparator arm the follow-up score has mean 50 and SD about 10.

Missing data at follow-up, missing at random given the (complete) baseline
score ``b`` (mean about 49, SD about 10), with ``z = (b - 49) / 10``: the whole
questionnaire is missed with probability ``logistic(-2.5 - z)`` (about 10%, more
among those who started low); of those who answer, a person skips items with
probability ``logistic(-1.1 - z)`` (about 25%), then 1 to 5 items (uniform),
chosen at random. Everyone has a baseline score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

TEAMS = 16
ITEMS = tuple(f"wemwbs_{j}" for j in range(1, 15))
LATENT_EFFECT = 0.315
LOADINGS = np.array(
    [1.0, 1.2, 0.9, 1.1, 1.3, 0.8, 1.0, 1.2, 0.9, 1.1, 1.0, 1.3, 0.8, 1.0]
)
OFFSETS = np.array(
    [0.0, 0.2, -0.3, 0.1, 0.4, -0.2, 0.0, 0.3, -0.4, 0.1, 0.2, -0.1, 0.3, -0.2]
)
THRESHOLDS = np.array([-2.7, -1.6, -0.2, 1.2])  # below item 2, 3, 4, 5
BASELINE_TEAM_SD, PERSON_SD = 0.3, 1.0
CARRY, FOLLOW_TEAM_SD, FOLLOW_PERSON_SD = 0.6, 0.25, 0.7


def _items(rng: np.random.Generator, eta: np.ndarray) -> np.ndarray:
    """People x 14 items (1 to 5) for latent values ``eta``."""
    drawn = LOADINGS[None, :] * eta[:, None] + rng.normal(size=(len(eta), 14))
    cuts = THRESHOLDS[None, None, :] + OFFSETS[None, :, None]
    return 1 + (drawn[:, :, None] > cuts).sum(axis=2)


def simulate(seed: int, teams: int = TEAMS) -> pd.DataFrame:
    """One study as wide data: ``id``, ``team``, ``arm`` (0/1), ``baseline``
    (the baseline score, 14 to 70, complete) and the follow-up items
    ``wemwbs_1`` to ``wemwbs_14`` (1 to 5, some missing; floats)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(16, 25, teams)
    team = np.repeat(np.arange(teams), sizes)
    arm = (team % 2 == 0).astype(int)
    n = len(team)
    eta0 = rng.normal(0, BASELINE_TEAM_SD, teams)[team] + rng.normal(0, PERSON_SD, n)
    eta1 = (
        CARRY * eta0
        + LATENT_EFFECT * arm
        + rng.normal(0, FOLLOW_TEAM_SD, teams)[team]
        + rng.normal(0, FOLLOW_PERSON_SD, n)
    )
    baseline = _items(rng, eta0).sum(axis=1)
    later = _items(rng, eta1).astype(float)
    z = (baseline - 49) / 10
    absent = rng.random(n) < expit(-2.5 - z)
    skips = ~absent & (rng.random(n) < expit(-1.1 - z))
    later[absent] = np.nan
    for row in np.flatnonzero(skips):
        later[row, rng.choice(14, rng.integers(1, 6), replace=False)] = np.nan
    data = pd.DataFrame(later, columns=list(ITEMS))
    data.insert(0, "baseline", baseline)
    data.insert(0, "arm", arm)
    data.insert(0, "team", [f"T{t:02d}" for t in team])
    data.insert(0, "id", [f"P{k:04d}" for k in range(1, n + 1)])
    return data


def mean_score(mean: float) -> float:
    """Expected follow-up score (14 to 70) in an arm whose latent mean is
    ``mean``."""
    variance = (
        CARRY**2 * (BASELINE_TEAM_SD**2 + PERSON_SD**2)
        + FOLLOW_TEAM_SD**2
        + FOLLOW_PERSON_SD**2
    )
    spread = np.sqrt(LOADINGS**2 * variance + 1)
    cuts = THRESHOLDS[None, :] + OFFSETS[:, None]
    above = norm.sf((cuts - (LOADINGS * mean)[:, None]) / spread[:, None])
    return float(14 + above.sum())


def true_effect(latent_effect: float = LATENT_EFFECT) -> float:
    """The difference in mean follow-up score between the arms (exact)."""
    return mean_score(latent_effect) - mean_score(0.0)


TRUE_EFFECT = true_effect()
