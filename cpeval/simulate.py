"""Synthetic Connecting People studies: raw questionnaire files from a seed.

Two designs follow the published numbers (``shared/spec/designs.md`` section 5):
the pilot (155 participants in 14 agencies, 117 followed up at 9 months, 30 high-
against 87 low/moderate-fidelity, effects of about d = 0.46 on access to social
capital and 0.55 on social inclusion, costs about £1,331 lower) and the
implementation study (5 trusts with 2 teams, 159 recruited, 151 at baseline, 127
at 6 months, no true effects). Every other number is an **assumption**, named in
:class:`StudyDesign` with its default, and recorded in each data folder's README.
The RG-UK and social-inclusion item keys are not confirmed (docs/instruments.md),
so the studies use illustrative declarations written beside the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import write_atomic

__all__ = ["IMPLEMENTATION", "PILOT", "StudyDesign", "write_study"]

WEMWBS = [f"wemwbs_{i}" for i in range(1, 15)]
RGUK = [f"rg_{i}" for i in range(1, 28)]
SIS = [f"sis_{i}" for i in range(1, 23)]
EQ5D = ["eq5d_mo", "eq5d_sc", "eq5d_ua", "eq5d_pd", "eq5d_ad"]
# service use in the period before each interview: item -> (mean count, reduced by
# the intervention?) -- assumptions chosen so that mean costs are about £3,500 per
# period and a factor of 0.55 on reduced items gives about -£1,331
SERVICES = {
    "gp_surgery_visit": (4.0, False),
    "mental_health_contact": (8.0, True),
    "social_worker_hour": (6.0, False),
    "mental_health_bed_day": (3.0, True),
}


@dataclass(frozen=True)
class StudyDesign:
    """A clustered pre-post study to simulate.

    Parameters
    ----------
    name : str
    clusters : tuple of (site, team, group or None)
        Teams (agencies) within sites (trusts, sectors); ``group`` is the arm when
        allocation is by team, None when the group is a participant attribute.
    recruited, baseline, followup : int
        Participants recruited, interviewed at baseline and at follow-up (exact).
    months : int
        Follow-up interval.
    group_name, group_labels : str, tuple of str
        The comparison (e.g. ``"arm"``: control, intervention).
    high_share : float
        Share in group 1 when the group is a participant attribute (pilot: 30 of
        117 followed up were high fidelity).
    effects : dict
        Standardised effects at follow-up on each outcome's latent scale.
    cost_factor : float
        Multiplier of reduced services' use in group 1 (1 = no effect).
    icc : float
        Assumption: intracluster correlation of every outcome (Adams et al. 2004
        median for primary care is 0.010; 0.02 is used).
    pre_post : float
        Assumption: correlation of baseline and follow-up latent outcomes (0.5).
    attrition_slope : float
        Assumption: log-odds change of loss to follow-up per SD of baseline
        wellbeing (-0.5: those doing worse are lost more often; MAR).
    start : datetime.date
        Assumption: first baseline interview.
    """

    name: str
    clusters: tuple[tuple[str, str, int | None], ...]
    recruited: int
    baseline: int
    followup: int
    months: int
    group_name: str
    group_labels: tuple[str, str]
    high_share: float = 0.5
    effects: dict = field(default_factory=dict)
    cost_factor: float = 1.0
    icc: float = 0.02
    pre_post: float = 0.5
    attrition_slope: float = -0.5
    start: dt.date = dt.date(2018, 3, 1)


_SECTORS = ("NHS", "local authority", "third sector")
PILOT = StudyDesign(
    name="pilot",
    clusters=tuple((_SECTORS[i % 3], f"agency-{i + 1:02d}", None) for i in range(14)),
    recruited=155,
    baseline=155,
    followup=117,
    months=9,
    group_name="fidelity",
    group_labels=("low/moderate", "high"),
    high_share=30 / 117,
    effects={"rguk": 0.46, "sis": 0.55, "wemwbs": 0.3, "health": 0.15},
    cost_factor=0.55,
    start=dt.date(2013, 1, 7),
)
IMPLEMENTATION = StudyDesign(
    name="implementation",
    clusters=tuple(
        (f"trust-{t}", f"cmht-{t}{arm}", int(arm == "a"))
        for t in "12345"
        for arm in "ab"
    ),
    recruited=159,
    baseline=151,
    followup=127,
    months=6,
    group_name="arm",
    group_labels=("control", "intervention"),
    start=dt.date(2018, 3, 1),
)


def write_study(
    design: StudyDesign, folder: str | Path, *, seed: int, sav: bool = False
) -> list[Path]:
    """Simulate a study and write its raw files (recruitment, baseline, follow-up).

    Parameters
    ----------
    design : StudyDesign
    folder : str or Path
    seed : int
        The same design and seed write byte-identical files.
    sav : bool
        Also write ``baseline.sav``, an SPSS copy of ``baseline.csv`` with
        variable labels, for trying cpeval on SPSS input.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile
    >>> from cpeval.simulate import IMPLEMENTATION, write_study
    >>> paths = write_study(IMPLEMENTATION, tempfile.mkdtemp(), seed=1)
    >>> [p.name for p in paths]
    ['recruited.csv', 'baseline.csv', 'followup.csv']
    """
    rng = np.random.default_rng(seed)
    people = _recruit(design, rng)
    interviewed = sorted(rng.choice(len(people["id"]), design.baseline, replace=False))
    folder = Path(folder)
    keys = ["id", "site", "team", design.group_name]
    rows0, rows1 = [], []
    latent = {
        k: rng.normal(size=len(people["id"]))
        for k in ("rguk", "sis", "wemwbs", "health")
    }
    for k, z in latent.items():
        team_effect = rng.normal(size=len(design.clusters))[people["cluster"]]
        latent[k] = np.sqrt(design.icc) * team_effect + np.sqrt(1 - design.icc) * z
    kept = _followed_up(design, latent["wemwbs"][interviewed], rng)
    followed = [interviewed[i] for i in sorted(kept)]
    _assign_groups(design, people, followed, rng)
    for i in interviewed:
        rows0.append(_interview(design, people, latent, i, 0, rng))
    for i in followed:
        rows1.append(_interview(design, people, latent, i, 1, rng))
    header0 = [
        *keys,
        "interview_date",
        "age",
        "sex",
        *WEMWBS,
        *RGUK,
        *SIS,
        *EQ5D,
        *(f"su_{s}" for s in SERVICES),
    ]
    header1 = [
        "id",
        "interview_date",
        *WEMWBS,
        *RGUK,
        *SIS,
        *EQ5D,
        *(f"su_{s}" for s in SERVICES),
    ]
    recruits = [{k: people[k][i] for k in keys} for i in range(len(people["id"]))]
    written = [
        _write(folder / "recruited.csv", keys, recruits),
        _write(folder / "baseline.csv", header0, rows0),
        _write(folder / "followup.csv", header1, rows1),
    ]
    if sav:
        written.append(_write_sav(folder / "baseline.sav", header0, rows0))
    return written


def _recruit(design: StudyDesign, rng) -> dict:
    n = design.recruited
    cluster = np.sort(rng.integers(0, len(design.clusters), n))
    return {
        "id": [f"{design.name[0].upper()}{i + 1:04d}" for i in range(n)],
        "site": [design.clusters[c][0] for c in cluster],
        "team": [design.clusters[c][1] for c in cluster],
        "cluster": cluster,
        "age": rng.integers(18, 80, n),
        "sex": rng.choice(["female", "male"], n),
        "delay": rng.integers(0, 120, n),
    }


def _assign_groups(design: StudyDesign, people: dict, followed: list[int], rng) -> None:
    """Team allocation, or (pilot) exactly round(share x follow-up) in group 1 among
    those followed up and the same share, at random, among the rest."""
    n = len(people["id"])
    by_team = [design.clusters[c][2] for c in people["cluster"]]
    if all(g is not None for g in by_team):
        group = np.array(by_team)
    else:
        group = (rng.random(n) < design.high_share).astype(int)
        high = rng.choice(
            followed, round(design.high_share * len(followed)), replace=False
        )
        group[followed] = 0
        group[high] = 1
    people["group"] = group
    people[design.group_name] = [design.group_labels[g] for g in group]


def _followed_up(design: StudyDesign, wellbeing: np.ndarray, rng) -> np.ndarray:
    """Exactly ``followup`` of the baseline interviewees, lost more often when worse."""
    keep = np.exp(-design.attrition_slope * np.asarray(wellbeing))
    return rng.choice(
        len(wellbeing), design.followup, replace=False, p=keep / keep.sum()
    )


def _interview(design, people, latent, i, wave, rng) -> dict:
    g = people["group"][i]
    z = {}
    for k, base in latent.items():
        if wave == 0:
            z[k] = base[i]
        else:
            noise = np.sqrt(1 - design.pre_post**2) * rng.normal()
            z[k] = design.pre_post * base[i] + noise + design.effects.get(k, 0.0) * g
    days = int(people["delay"][i]) + (
        round(design.months * 30.4) + int(rng.integers(-14, 15)) if wave else 0
    )
    row = {
        "id": people["id"][i],
        "site": people["site"][i],
        "team": people["team"][i],
        design.group_name: people[design.group_name][i],
        "interview_date": (design.start + dt.timedelta(days=days)).isoformat(),
        "age": int(people["age"][i]),
        "sex": people["sex"][i],
    }
    row.update(_items(WEMWBS, 2.8 + 0.8 * z["wemwbs"], 0.7, 1, 5, rng))
    access = 1 / (
        1 + np.exp(-(0.2 + 1.2 * z["rguk"] + np.linspace(-1.5, 1.5, len(RGUK))))
    )
    got = rng.random(len(RGUK)) < access
    mine = rng.random(len(RGUK)) < 0.3
    row.update(
        {
            c: (1 if m else 2) if a else 3
            for c, a, m in zip(RGUK, got, mine, strict=True)
        }
    )
    row.update(_items(SIS, 2.4 + 0.6 * z["sis"], 0.6, 1, 4, rng))
    row.update(
        _items(
            EQ5D, 2.2 - 0.8 * (0.6 * z["health"] + 0.4 * z["wemwbs"]), 0.8, 1, 5, rng
        )
    )
    for service, (mean, reduced) in SERVICES.items():
        factor = design.cost_factor if (reduced and g == 1 and wave == 1) else 1.0
        rate = mean * factor * np.exp(-0.2 * z["health"])
        if service == "mental_health_bed_day":
            count = rng.poisson(20 * factor) if rng.random() < 0.15 else 0
        else:
            count = rng.poisson(rate)
        row[f"su_{service}"] = int(count)
    return row


def _items(columns, centre, spread, low, high, rng) -> dict:
    values = np.clip(np.round(centre + rng.normal(0, spread, len(columns))), low, high)
    return {c: int(v) for c, v in zip(columns, values, strict=True)}


def _write(path: Path, header: list[str], rows: list[dict]) -> Path:
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(_cell(row[c]) for c in header))
    return write_atomic(path, "\n".join(lines) + "\n")


def _write_sav(path: Path, header: list[str], rows: list[dict]) -> Path:
    """An SPSS copy with variable labels; ReadStat stamps the clock time into the
    header (bytes 92-108: date and time), so a fixed stamp replaces it."""
    import tempfile

    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame(rows, columns=header)
    labels = {c: _sav_label(c) for c in header}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / path.name
        pyreadstat.write_sav(
            frame, scratch, file_label="cpeval synthetic study", column_labels=labels
        )
        payload = bytearray(scratch.read_bytes())
    payload[92:109] = b"01 Jan 2600:00:00"
    return write_atomic(path, bytes(payload))


_SAV_LABELS = {
    "wemwbs": "WEMWBS item {}",
    "rg": "Resource Generator-style item {} (illustrative)",
    "sis": "social inclusion item {} (illustrative)",
    "eq5d": "EQ-5D-5L dimension {}",
    "su": "service use in the period: {}",
}


def _sav_label(column: str) -> str | None:
    if column == "interview_date":
        return "interview date (ISO 8601)"
    prefix, _, rest = column.partition("_")
    form = _SAV_LABELS.get(prefix)
    return (
        form.format(rest.upper() if prefix == "eq5d" else rest.replace("_", " "))
        if form
        else None
    )


def _cell(value) -> str:
    text = str(value)
    return f'"{text}"' if ("," in text or '"' in text) else text
