"""The participant flow of a run: one "analysed" row per outcome and analysis at
the primary wave, equal to the participants the estimate used, and every
recruited participant left out listed with the first reason that applies, in the
order the reasons are printed."""

from __future__ import annotations

import pandas as pd

from ..io import ParticipantFlow

__all__ = ["analysis_flow"]


def analysis_flow(
    study, data: pd.DataFrame, analyses, cfg, covariates, economics=()
) -> ParticipantFlow:
    """Recruited, interviewed at each wave, and for each outcome and analysis (and
    each economic analysis) the analysed and the excluded (with reasons), by arm.

    ``data`` is the analysis data (the two arms compared); ``covariates`` are the
    model's and the propensity score's baseline covariates, in that order;
    ``economics`` the :class:`~._economics.EconomicAnalysis` results.
    """
    book = study.codebook
    people = study.recruited
    arm_of = people.set_index(book.id)[book.group]
    rows = [("recruited", "", "", people[book.id])]
    for wave in book.waves:
        seen = set(study.data.loc[study.data[book.wave] == wave, book.id])
        ids = people[book.id][people[book.id].isin(seen)]
        rows.append((f"interviewed at {wave}", "", "", ids))
    listed: list[dict] = []
    for row in analyses.rows:
        if row["primary_wave"]:
            used = analyses.populations[(row["outcome"], row["analysis"], row["wave"])]
            ladder = _ladder(study, data, row, covariates)
            _account(
                rows,
                listed,
                people[book.id],
                arm_of,
                used,
                ladder,
                row["outcome"],
                row["analysis"],
            )
    for result in economics:
        ladder = _economic_ladder(study, data, cfg.wave(book))
        _account(
            rows,
            listed,
            people[book.id],
            arm_of,
            result.participants,
            ladder,
            "cost and QALYs",
            result.label,
        )
    table = _counts(rows, arm_of, study.arms)
    exclusions = pd.DataFrame(
        listed, columns=["id", "group", "outcome", "analysis", "reason"]
    )
    return ParticipantFlow(
        table, exclusions, recruitment_list=book.recruitment is not None
    )


def _account(rows, listed, everyone, arm_of, used, ladder, outcome, analysis):
    """The analysed row of one analysis and every exclusion by its first reason,
    in the ladder's order (appended to ``rows`` and ``listed``)."""
    reasons = {
        person: next((r for r, test in ladder if test(person)), UNEXPLAINED)
        for person in everyone
        if person not in used
    }
    rows.append(("analysed", outcome, analysis, everyone[everyone.isin(used)]))
    for reason in dict.fromkeys([r for r, _ in ladder] + [UNEXPLAINED]):
        ids = [p for p, r in reasons.items() if r == reason]
        if ids:
            rows.append((f"excluded: {reason}", outcome, analysis, ids))
    listed += [
        {
            "id": p,
            "group": arm_of.get(p),
            "outcome": outcome,
            "analysis": analysis,
            "reason": r,
        }
        for p, r in reasons.items()
    ]


UNEXPLAINED = "not used by the model"


def _economic_ladder(study, data: pd.DataFrame, wave: str) -> list:
    """Why a participant has no cost and QALYs: the interviews up to the primary
    wave, then anything else (EQ-5D, dates or service use missing)."""
    book = study.codebook
    arms = set(study.arms)
    arm_of = study.recruited.set_index(book.id)[book.group]
    ladder = [("in an arm that is not compared", lambda p: arm_of.get(p) not in arms)]
    for w in book.waves[: list(book.waves).index(wave) + 1]:
        seen = set(data.loc[data[book.wave] == w, book.id])
        ladder.append((f"not interviewed at {w}", lambda p, s=seen: p not in s))
    ladder.append(("EQ-5D, dates or service use missing", lambda p: True))
    return ladder


def _ladder(study, data: pd.DataFrame, row: dict, covariates) -> list:
    """(reason, test) in the order they are checked and printed."""
    book = study.codebook
    arms = set(study.arms)
    arm_of = study.recruited.set_index(book.id)[book.group]
    base = data[data["time"] == 0].drop_duplicates(book.id).set_index(book.id)
    column, outcome = row["column"], row["outcome"]
    observed = data.dropna(subset=[column])
    ladder = [
        (
            "in an arm that is not compared",
            lambda p: arm_of.get(p) not in arms,
        ),
        (f"not interviewed at {book.baseline}", lambda p: p not in base.index),
    ]
    for covariate in covariates:
        ladder.append(
            (
                f"{covariate} missing at baseline",
                lambda p, c=covariate: pd.isna(base.at[p, c]),
            )
        )
    if row["analysis"].startswith("multiple imputation"):
        return ladder
    if row["model"] == "ANCOVA":
        later = data[data[book.wave] == row["wave"]].set_index(book.id)
        seen = set(observed.loc[observed[book.wave] == row["wave"], book.id])
        ladder += [
            (
                f"{outcome} missing at {book.baseline}",
                lambda p: pd.isna(base.at[p, column]),
            ),
            (f"not interviewed at {row['wave']}", lambda p: p not in later.index),
            (f"{outcome} missing at {row['wave']}", lambda p: p not in seen),
        ]
    elif row["model"] == "pre-post OLS":  # baseline and this wave only
        pair = observed[observed[book.wave].isin([book.baseline, row["wave"]])]
        either = set(pair[book.id])
        ladder.append(
            (
                f"{outcome} missing at {book.baseline} and at {row['wave']}",
                lambda p: p not in either,
            )
        )
    else:
        anywhere = set(observed[book.id])
        ladder.append((f"{outcome} missing at every wave", lambda p: p not in anywhere))
    return ladder


def _counts(rows, arm_of: pd.Series, arms) -> pd.DataFrame:
    others = sorted(set(arm_of.dropna()) - set(arms), key=str)
    levels = [*arms, *others]
    records = []
    for stage, outcome, analysis, ids in rows:
        groups = arm_of.reindex(list(ids)).value_counts()
        record = {"stage": stage, "outcome": outcome, "analysis": analysis}
        record.update({str(g): int(groups.get(g, 0)) for g in levels})
        record["total"] = len(list(ids))
        records.append(record)
    return pd.DataFrame(records)
