"""Generate the small example study in this folder (run: python make_example.py).

Two NHS trusts, each with one intervention and one control team, 15 people
recruited per team; baseline and 6-month interviews with WEMWBS items, EQ-5D-5L
profiles and a few covariates. Every number here is an assumption made to have
realistic-looking files to validate and link; none is a published value. The
full, calibrated synthetic studies arrive with the reanalysis work.

The seed is fixed, so running this script again writes byte-identical files
(a test checks it). Pass a folder to write elsewhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np

SEED = 20261122
TEAMS = [  # trust, team, arm
    ("North", "N-A", "intervention"),
    ("North", "N-B", "control"),
    ("South", "S-A", "intervention"),
    ("South", "S-B", "control"),
]
PER_TEAM = 15
P_BASELINE = 0.93  # assumed share of recruits interviewed at baseline
P_FOLLOWUP = 0.82  # assumed share of baseline interviewees seen at 6 months
P_ITEM_MISSING = 0.003  # assumed share of item responses left blank
P_REFUSED = 0.002  # assumed share of item responses coded -99 (refused)
WEMWBS = [f"wemwbs_{i}" for i in range(1, 15)]
EQ5D = ["eq5d_mo", "eq5d_sc", "eq5d_ua", "eq5d_pd", "eq5d_ad"]


def main(folder: Path) -> None:
    rng = np.random.default_rng(SEED)
    people = _recruit(rng)
    baseline = [p for p in people if rng.random() < P_BASELINE]
    followup = [p for p in baseline if rng.random() < P_FOLLOWUP]
    start = dt.date(2025, 2, 3)
    _write(folder / "recruited.csv", ["id", "trust", "team", "arm"], people)
    base_rows = [_interview(rng, p, start, 0.0) for p in baseline]
    _write(folder / "baseline.csv", _header(design=True), base_rows)
    follow_rows = [_interview(rng, p, start, 183.0) for p in followup]
    _write(folder / "followup.csv", _header(design=False), follow_rows)


def _recruit(rng: np.random.Generator) -> list[dict]:
    people = []
    for trust, team, arm in TEAMS:
        for k in range(1, PER_TEAM + 1):
            person = {"id": f"{team}-{k:02d}", "trust": trust, "team": team, "arm": arm}
            person["age"] = int(rng.integers(19, 75))
            person["sex"] = str(rng.choice(["female", "male"]))
            person["wellbeing"] = rng.normal(0.0, 1.0)
            person["delay"] = int(rng.integers(0, 60))
            people.append(person)
    return people


def _interview(rng: np.random.Generator, person: dict, start, offset: float) -> dict:
    gain = 0.3 if offset and person["arm"] == "intervention" else 0.1 if offset else 0
    latent = person["wellbeing"] + gain + rng.normal(0.0, 0.5)
    row = dict(person)
    days = person["delay"] + offset + int(rng.integers(-10, 11)) * (offset > 0)
    row["interview_date"] = (start + dt.timedelta(days=int(days))).isoformat()
    for item in WEMWBS:
        row[item] = _code(rng, 3 + latent + rng.normal(0.0, 0.8), 1, 5)
    for item in EQ5D:
        row[item] = _code(rng, 2 - 0.6 * latent + rng.normal(0.0, 0.9), 1, 5)
    row["eq5d_vas"] = _code(rng, 60 + 12 * latent + rng.normal(0.0, 10.0), 0, 100)
    return row


def _code(rng: np.random.Generator, value: float, low: int, high: int) -> str:
    draw = rng.random()
    if draw < P_ITEM_MISSING:
        return ""
    if draw < P_ITEM_MISSING + P_REFUSED:
        return "-99"
    return str(int(min(max(round(value), low), high)))


def _header(*, design: bool) -> list[str]:
    keys = ["id", "trust", "team", "arm"] if design else ["id"]
    covariates = ["age", "sex"] if design else []
    return [*keys, "interview_date", *covariates, *WEMWBS, *EQ5D, "eq5d_vas"]


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[row[c] for c in header] for row in rows])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
