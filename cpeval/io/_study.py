"""A loaded study: linked long-format data and the participant flow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ._codebook import BINARY, Codebook, code_text
from ._validate import SOURCE_ROW, ValidationReport, check_and_link, parse_dates

__all__ = ["ParticipantFlow", "Study", "load_study", "participant_flow"]


@dataclass(frozen=True, slots=True)
class ParticipantFlow:
    """Who was recruited, interviewed and analysed, by group.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``stage``, ``outcome``, one column per group and ``total``. For
        each outcome the ``analysed`` row and its ``excluded: ...`` rows add up to
        the ``recruited`` row.
    exclusions : pandas.DataFrame
        One row per participant left out of an outcome's analysis set, with
        columns ``id``, ``group``, ``outcome`` and ``reason``.
    recruitment_list : bool
        Whether recruitment came from a recruitment list; if not, everyone
        interviewed at baseline counts as recruited.
    """

    table: pd.DataFrame
    exclusions: pd.DataFrame
    recruitment_list: bool

    def to_frame(self) -> pd.DataFrame:
        """The flow table."""
        return self.table.copy()


@dataclass(frozen=True, slots=True)
class Study:
    """A validated study: build it with :func:`load_study`.

    Parameters
    ----------
    codebook : Codebook
        The codebook the files were checked against.
    data : pandas.DataFrame
        Long format, one row per participant and wave interviewed: the id,
        group, cluster, wave (ordered categorical), date and declared columns,
        plus ``source_file`` and ``source_row`` pointing back to the input.
    recruited : pandas.DataFrame
        One row per recruited participant: id, group and clusters.
    report : ValidationReport
        The validation report (warnings only, since errors stop loading).
    flow : ParticipantFlow
        The participant flow with every instrument's items as the outcome.
    """

    codebook: Codebook
    data: pd.DataFrame
    recruited: pd.DataFrame
    report: ValidationReport
    flow: ParticipantFlow

    @property
    def arms(self) -> tuple[str, str] | None:
        """The intervention and the comparator arm, as the data name them (value
        labels applied), or ``None`` for a study without a group column."""
        book = self.codebook
        if book.group is None or book.intervention is None or book.comparator is None:
            return None
        return book.intervention, book.comparator

    def __repr__(self) -> str:
        """One line for a notebook: what the study is, not its data.

        Examples
        --------
        >>> from cpeval.io import load_study
        >>> study = load_study("data/synthetic/example/codebook.toml")
        >>> study  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        Study('Example study: ...': 55 participants interviewed, 102 records, waves
        baseline, 6 months; intervention vs control; clusters trust, team; 0
        validation warnings)
        """
        book = self.codebook
        people = self.data[book.id].nunique()
        arms = self.arms
        compared = f"; {arms[0]} vs {arms[1]}" if arms else ""
        clusters = f"; clusters {', '.join(book.clusters)}" if book.clusters else ""
        warnings = len(self.report.warnings)
        return (
            f"Study({book.name!r}: {people} participants interviewed, "
            f"{len(self.data)} records, "
            f"waves {', '.join(book.waves)}{compared}{clusters}; "
            f"{warnings} validation warning{'s' * (warnings != 1)})"
        )


def load_study(path: str | Path | Codebook) -> Study:
    """Read, validate and link every file of a study.

    Parameters
    ----------
    path : str, Path or Codebook
        The study codebook.

    Returns
    -------
    Study

    Raises
    ------
    DataError
        If validation finds any error; the message names the first and counts the
        rest, and ``DataError.problems`` lists them all.

    Examples
    --------
    >>> from cpeval.io import load_study
    >>> study = load_study("data/synthetic/example/codebook.toml")
    >>> study.flow.table.loc[0, "stage"]
    'recruited'
    """
    return linked_study(*check_and_link(path))


def linked_study(report: ValidationReport, data: pd.DataFrame, recruits) -> Study:
    """The study from :func:`~cpeval.io._validate.check_and_link`'s result
    (raising its first error), so that a caller holding it does not validate
    twice."""
    report.raise_for_errors()
    book = _with_comparator(report.codebook, data)
    data = _typed(data, book)
    recruited = _recruited(data, recruits, book)
    flow = _flow(data, recruited, book, _instrument_outcomes(book))
    return Study(book, data, recruited, report, flow)


def participant_flow(
    study: Study, *, outcomes: Mapping[str, Sequence[str]] | None = None
) -> ParticipantFlow:
    """The participant flow for chosen outcome definitions.

    Parameters
    ----------
    study : Study
        A loaded study.
    outcomes : mapping of str to sequence of str, optional
        Outcome name -> the columns of ``study.data`` that must all be present for
        the outcome to be analysable at a wave. By default every instrument, with
        all its items (complete cases; later stages pass scored columns instead).

    Returns
    -------
    ParticipantFlow

    Notes
    -----
    A participant is analysed for an outcome when the outcome is available at the
    first and the last wave at which it is collected. Everyone else recruited is
    listed in ``exclusions`` with the first reason that applies: not interviewed
    at baseline, not interviewed at the last wave, or the outcome incomplete at a
    wave (with how many of its columns are missing).

    Examples
    --------
    >>> from cpeval.io import load_study, participant_flow
    >>> study = load_study("data/synthetic/example/codebook.toml")
    >>> flow = participant_flow(study, outcomes={"age known": ["age"]})
    >>> int(flow.table.set_index("stage").loc["analysed", "total"])
    55
    """
    chosen = _instrument_outcomes(study.codebook) if outcomes is None else outcomes
    for outcome, columns in chosen.items():
        unknown = [c for c in columns if c not in study.data.columns]
        if unknown:
            raise DataError(
                f"outcome '{outcome}' names columns {unknown} that the study "
                "data does not have"
            )
    return _flow(study.data, study.recruited, study.codebook, chosen)


# ------------------------------------------------------------------- typing


def _with_comparator(book: Codebook, data: pd.DataFrame) -> Codebook:
    """A two-arm study's comparator is the arm that is not the intervention (the
    validation has refused more arms without a declared comparator). With a
    single arm there is none, and any comparison refuses the study."""
    if book.group is None or book.comparator is not None:
        return book
    arms = book.groups or tuple(sorted(data[book.group].dropna().unique(), key=str))
    others = [a for a in arms if a != book.intervention]
    return replace(book, comparator=others[0]) if len(others) == 1 else book


def _typed(data: pd.DataFrame, book: Codebook) -> pd.DataFrame:
    data = data.copy()
    for name, spec in book.columns.items():
        if spec.type in ("numeric", "integer"):
            data[name] = pd.to_numeric(data[name], errors="coerce").astype(float)
        elif spec.type == "date":
            data[name] = _dates(data[name], book)
        elif spec.type == "categorical":
            data[name] = data[name].map(code_text, na_action="ignore").astype(object)
        elif spec.type == "binary":  # absent 0, present 1, whatever the file says
            given = spec.values or BINARY
            codes = {code_text(v): float(k) for k, v in enumerate(given)}
            data[name] = (
                data[name]
                .map(lambda v, c=codes: c.get(code_text(v), np.nan), na_action="ignore")
                .astype(float)
            )
        elif spec.type == "count":
            data[name] = pd.to_numeric(data[name], errors="coerce").astype(float)
    if book.date:
        data[book.date] = _dates(data[book.date], book)
    data[book.wave] = pd.Categorical(data[book.wave], book.waves, ordered=True)
    data = _fill_design_keys(data, book)
    data[SOURCE_ROW] = data[SOURCE_ROW].astype(int)
    order = [book.id, book.wave]
    return data.sort_values(order, kind="stable").reset_index(drop=True)


def _dates(values: pd.Series, book: Codebook) -> pd.Series:
    return parse_dates(values, book.date_format)


def _fill_design_keys(data: pd.DataFrame, book: Codebook) -> pd.DataFrame:
    """Later-wave files may omit group and clusters: take them from baseline."""
    baseline = data[data[book.wave] == book.baseline].set_index(book.id)
    for name in (book.group, *book.clusters):
        if name is not None:
            data[name] = data[name].fillna(data[book.id].map(baseline[name]))
    return data


def _recruited(
    data: pd.DataFrame, recruits: pd.DataFrame | None, book: Codebook
) -> pd.DataFrame:
    keys = list(book.keys)
    if recruits is None:
        recruits = data[data[book.wave] == book.baseline]
    return recruits[keys].sort_values(book.id, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------- flow


def _instrument_outcomes(book: Codebook) -> dict[str, tuple[str, ...]]:
    return dict(book.instruments)


def _flow(
    data: pd.DataFrame,
    recruited: pd.DataFrame,
    book: Codebook,
    outcomes: Mapping[str, Sequence[str]],
) -> ParticipantFlow:
    group = book.group or "_all"
    people = recruited.assign(**({} if book.group else {"_all": "all"}))
    rows = [("recruited", "", people)]
    for wave in book.waves:
        seen = set(data.loc[data[book.wave] == wave, book.id])
        rows.append((f"interviewed at {wave}", "", people[people[book.id].isin(seen)]))
    exclusions = []
    for outcome, columns in outcomes.items():
        reasons = _exclusion_reasons(data, people, book, outcome, list(columns))
        analysed = people[~people[book.id].isin(reasons.index)]
        rows.append(("analysed", outcome, analysed))
        for reason in _ordered(reasons, outcome, book):
            left = people[people[book.id].isin(reasons.index[reasons == reason])]
            rows.append((f"excluded: {reason}", outcome, left))
        exclusions.append(_exclusion_frame(people, reasons, outcome, book, group))
    table = _count_table(rows, people, group, (book.intervention, book.comparator))
    listed = pd.concat(exclusions, ignore_index=True) if exclusions else None
    return ParticipantFlow(
        table, _or_empty(listed, group), recruitment_list=book.recruitment is not None
    )


NOT_COMPARED = "in an arm that is not compared"


def _exclusion_reasons(
    data: pd.DataFrame,
    people: pd.DataFrame,
    book: Codebook,
    outcome: str,
    columns: list[str],
) -> pd.Series:
    """First reason each recruited participant is not analysed (index: id)."""
    waves = _outcome_waves(book, columns)
    complete = data[columns].notna().sum(axis=1)
    keys = zip(data[book.id], data[book.wave], strict=True)
    found = dict(zip(keys, complete, strict=True))
    reasons: dict[str, str] = {}
    compared = {book.intervention, book.comparator}
    arm_of = people.set_index(book.id)[book.group] if book.group else None
    for person in people[book.id]:
        known = book.comparator is not None and arm_of is not None
        if known and arm_of.get(person) not in compared:
            reasons[person] = NOT_COMPARED
            continue
        for wave in dict.fromkeys((waves[0], waves[-1])):
            have = found.get((person, wave))
            if have is None:
                reasons[person] = f"not interviewed at {wave}"
                break
            if have < len(columns):
                reasons[person] = f"{outcome} incomplete at {wave}"
                break
    return pd.Series(reasons, dtype=object)


def _ordered(reasons: pd.Series, outcome: str, book: Codebook) -> list[str]:
    """Reasons in flow order: missed interviews first, then incomplete outcomes."""
    candidates = [NOT_COMPARED] + [f"not interviewed at {w}" for w in book.waves]
    candidates += [f"{outcome} incomplete at {w}" for w in book.waves]
    present = set(reasons)
    return [r for r in candidates if r in present]


def _outcome_waves(book: Codebook, columns: list[str]) -> list[str]:
    waves = [
        w
        for w in book.waves
        if all(
            (spec := book.columns.get(c)) is None
            or spec.waves is None
            or w in spec.waves
            for c in columns
        )
    ]
    return waves or list(book.waves)


def _exclusion_frame(
    people: pd.DataFrame, reasons: pd.Series, outcome: str, book: Codebook, group: str
) -> pd.DataFrame:
    groups = people.set_index(book.id)[group]
    return pd.DataFrame(
        {
            "id": reasons.index.astype(object),
            "group": groups.reindex(reasons.index).to_numpy(),
            "outcome": outcome,
            "reason": reasons.to_numpy(),
        }
    )


def _count_table(
    rows: list, people: pd.DataFrame, group: str, first: tuple = ()
) -> pd.DataFrame:
    levels = sorted(people[group].dropna().unique(), key=str)
    levels = [g for g in first if g in levels] + [g for g in levels if g not in first]
    records = []
    for stage, outcome, subset in rows:
        counts = subset[group].value_counts()
        record = {"stage": stage, "outcome": outcome}
        record.update({str(g): int(counts.get(g, 0)) for g in levels})
        record["total"] = len(subset)
        records.append(record)
    return pd.DataFrame(records)


def _or_empty(frame: pd.DataFrame | None, group: str) -> pd.DataFrame:
    columns = ["id", "group", "outcome", "reason"]
    return frame if frame is not None else pd.DataFrame(columns=columns)
