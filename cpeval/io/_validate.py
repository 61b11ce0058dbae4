"""Check a study's files against its codebook and link the waves.

Every problem is collected, none is fixed: the result is a
:class:`ValidationReport` listing each problem with its file, row, participant,
column, value and the rule broken.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._format import show as _show
from ..exceptions import DataError, one_line
from ._codebook import (
    BINARY,
    Codebook,
    ColumnSpec,
    FileSpec,
    code_text,
    load_codebook,
)
from ._read import ReadReport, read_data

__all__ = ["Problem", "ValidationReport", "validate", "value_labels"]

Severity = Literal["error", "warning"]
SOURCE_FILE, SOURCE_ROW = "source_file", "source_row"


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule at one place in one file.

    Parameters
    ----------
    severity : {"error", "warning"}
        Errors stop :func:`~cpeval.io.load_study`; warnings do not.
    rule : str
        Short name of the rule, e.g. ``"out_of_range"``.
    file : str
        The file, as named in the codebook.
    row : int, optional
        Row number in that file (header is row 1 in CSV and Excel).
    participant, column, value : str, optional
        Where the problem is, and the offending value as text.
    message : str
        What is wrong, in words.
    """

    severity: Severity
    rule: str
    file: str
    message: str
    row: int | None = None
    participant: str | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.participant is not None:
            person = self.participant
            where.append(
                f"participant {person!r}"
                if person != person.strip()
                else f"participant {person}"
            )
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return one_line(f"{', '.join(where)}: {self.message}")


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every problem found in a study's files, and what was read.

    Parameters
    ----------
    codebook : Codebook
        The codebook checked against.
    problems : tuple of Problem
        In file order, then row order.
    files : tuple of ReadReport
        One per file read.
    """

    codebook: Codebook
    problems: tuple[Problem, ...]
    files: tuple[ReadReport, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``"error"``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems of severity ``"warning"``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 with warnings only, 2 with errors (as the CLI exits)."""
        return 2 if self.errors else int(bool(self.warnings))

    def to_frame(self) -> pd.DataFrame:
        """One row per problem, columns as the :class:`Problem` fields."""
        columns = list(Problem.__slots__)
        rows = [[getattr(p, c) for c in columns] for p in self.problems]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"row": "Int64"})

    def raise_for_errors(self) -> None:
        """Raise :class:`~cpeval.DataError`: the first error, and how many more."""
        errors = self.errors
        if errors:
            rest = len(errors) - 1
            more = f" (and {rest} more error{'s' * (rest > 1)})" if rest else ""
            raise DataError(f"{errors[0]}{more}", problems=self.to_frame())


def validate(codebook: str | Path | Codebook) -> ValidationReport:
    """Check every file of a study against its codebook, reporting all problems.

    Parameters
    ----------
    codebook : str, Path or Codebook
        The study codebook (see :func:`~cpeval.io.load_codebook`).

    Returns
    -------
    ValidationReport
        Never raises for problems in the data files; a codebook that cannot be
        parsed raises :class:`~cpeval.DataError`.

    Notes
    -----
    The rules: every file can be read; no column is missing or undeclared; values
    are numbers, integers, allowed codes or dates as declared, inside their range;
    ids are present and no two differ only by case or white space; each
    participant has at most one record per wave, a baseline record if they have
    any later one, the same group and clusters at every wave, and interview
    dates that increase with the waves. No input file is written to.

    Examples
    --------
    >>> from cpeval.io import validate
    >>> validate("data/synthetic/example/codebook.toml").exit_code
    0
    """
    return check_and_link(codebook)[0]


def check_and_link(
    codebook: str | Path | Codebook,
) -> tuple[ValidationReport, pd.DataFrame, pd.DataFrame | None]:
    """Validate, and return the report, the long data and the recruitment list."""
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    problems: list[Problem] = []
    reports: list[ReadReport] = []
    frames = [(spec, _read(spec, book, problems, reports)) for spec in book.files]
    recruits = None
    if book.recruitment is not None:
        recruits = _read(book.recruitment, book, problems, reports)
    labels = value_labels(reports, book)
    if book.group_labels:  # the codebook's labels for the group's codes
        labels[book.group] = {**labels.get(book.group, {}), **book.group_labels}
    problems += _shared_label_problems(labels, book)
    book = book.relabelled(labels)
    parts = []
    for spec, frame in frames:
        if frame is not None:
            frame = _apply_labels(frame, labels)
            problems += _file_problems(frame, spec, book)
            parts.append(_long_part(frame, spec, book))
    if recruits is not None:
        recruits = _apply_labels(recruits, labels)
        problems += _recruitment_problems(recruits, book)
        recruits = _with_source(recruits[_present(recruits, book.keys)], book)
    data = _stack(parts, book)
    if not any(p.rule == "unreadable_file" for p in problems):
        problems += _link_problems(data, recruits, book)
    report = ValidationReport(book, tuple(problems), tuple(reports))
    return report, data, recruits


# ------------------------------------------------------------------ reading


def value_labels(
    reports: Iterable[ReadReport], book: Codebook
) -> dict[str, dict[str, str]]:
    """SPSS/Stata value labels of the codebook's group, cluster and categorical
    columns, from every file read: column -> {code as text: label}.

    A code labelled differently in two files keeps the first file's label (the
    validation then reports the other file's values as not allowed).
    """
    labels: dict[str, dict[str, str]] = {}
    for report in reports:
        for column, mapping in report.value_labels.items():
            if column in book.labelled:
                known = labels.setdefault(column, {})
                for code, label in mapping.items():
                    known.setdefault(code_text(code), str(label))
    return labels


def _shared_label_problems(labels: Mapping[str, Mapping[str, str]], book) -> list:
    """Two codes of the group or a cluster under one label would merge two arms
    or two teams once the labels replace the codes."""
    problems = []
    for column in [book.group, *book.clusters]:
        codes: dict[str, list[str]] = {}
        for code, label in labels.get(column, {}).items():
            codes.setdefault(label, []).append(code)
        for label, shared in codes.items():
            if len(shared) > 1:
                problems.append(
                    Problem(
                        "error",
                        "shared_label",
                        str(book.path),
                        f"codes {', '.join(shared)} of '{column}' carry the same "
                        f"label '{label}', so they would be merged: give each code "
                        "its own label (in the file or in group_labels)",
                        column=column,
                        value=label,
                    )
                )
    return problems


def _apply_labels(frame: pd.DataFrame, labels: Mapping[str, Mapping[str, str]]):
    """Codes replaced by their labels in labelled columns (a copy; codes without a
    label stay). The frame remembers the labels for messages."""
    present = {c: m for c, m in labels.items() if c in frame.columns}
    if not present:
        return frame
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    for column, mapping in present.items():
        out[column] = frame[column].map(
            lambda v, m=mapping: m.get(code_text(v), v), na_action="ignore"
        )
    out.attrs["cpeval_labels"] = present
    return out


def _read(spec: FileSpec, book: Codebook, problems: list, reports: list):
    keys = [*book.keys, book.wave]
    try:
        frame = read_data(
            spec.path,
            missing_codes=book.missing_codes_by_column(),
            text_columns=keys,
            sheet=spec.sheet,
            decimal=book.decimal,
        )
    except DataError as exc:
        row, message = _split_location(str(exc), _name(spec))
        problems.append(
            Problem("error", "unreadable_file", _name(spec), message, row=row)
        )
        return None
    report = ReadReport.of(frame)
    reports.append(report)
    problems += [
        Problem("warning", "read_note", _name(spec), note) for note in report.notes
    ]
    # the read report is kept in ``reports``; the frame carries only what the
    # checks need (pandas copies attrs into every Series taken from it)
    frame.attrs = {"cpeval_file": _name(spec), "cpeval_id": book.id}
    return frame


def _name(spec: FileSpec) -> str:
    return str(spec.path)


def _split_location(text: str, name: str) -> tuple[int | None, str]:
    """'<file>, row 4: message' -> (4, 'message'), as read_data words its errors."""
    match = re.match(re.escape(name) + r"(?:, row (\d+))?: (.*)", text, re.DOTALL)
    if match is None:
        return None, text
    return (int(match.group(1)) if match.group(1) else None), match.group(2)


# ------------------------------------------------------------ one-file rules


def _file_problems(frame: pd.DataFrame, spec: FileSpec, book: Codebook) -> list:
    problems = _column_problems(frame, spec, book)
    for name in frame.columns:
        column = book.columns.get(name)
        if column is not None:
            problems += _value_problems(frame, name, column, book)
    problems += _key_problems(frame, book)
    if book.date in frame.columns:
        problems += _date_problems(frame, book.date, book)
    problems += _empty_column_warnings(frame, book)
    problems = _hint_second_header(problems, frame)
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def _column_problems(frame: pd.DataFrame, spec: FileSpec, book: Codebook) -> list:
    file = frame.attrs["cpeval_file"]
    expected = book.expected_columns(spec.wave)
    optional = set()
    if spec.wave is not None and spec.wave != book.baseline:
        optional = {book.group, *book.clusters}
    declared = set(expected) | set(book.columns) | optional | {book.wave}
    problems = [
        Problem("error", "missing_column", file, "the column is missing", column=c)
        for c in expected
        if c not in frame.columns and c not in optional
    ]
    forms = {_nfc(c).casefold(): c for c in declared if c}
    problems += [
        Problem(
            "error",
            "unknown_column",
            file,
            "the column is not declared in the codebook" + _near(c, forms),
            column=c,
        )
        for c in frame.columns
        if c not in declared
    ]
    return problems


def _near(column: str, forms: Mapping[str, str]) -> str:
    """A hint when an undeclared column differs from a declared one only in case
    or in how its accented letters are encoded."""
    twin = forms.get(_nfc(column).casefold())
    if twin is None:
        return ""
    return (
        f" (the codebook has '{twin}', which differs only in case or in how "
        "accented letters are encoded: spell them the same way)"
    )


def _value_problems(
    frame: pd.DataFrame, name: str, spec: ColumnSpec, book: Codebook
) -> list:
    values = frame[name]
    values.attrs["cpeval_labels"] = frame.attrs.get("cpeval_labels", {}).get(name)
    bad = _VALUE_RULES[spec.type](values, spec, book)
    if spec.required:
        bad.append((values.isna(), "missing_value", "a value is required here"))
    return [
        _at(frame, row, name, "error", rule, message.format(v=_show(values[row])))
        for mask, rule, message in bad
        for row in values.index[np.asarray(mask, dtype=bool)]
    ]


def _numeric_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    """Masks (numpy, for speed on wide files) of the numeric rules broken."""
    present = values.notna().to_numpy()
    if values.dtype.kind in "fiu":
        numbers = values.to_numpy(float)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    known = ~np.isnan(numbers)
    infinite = np.isinf(numbers)
    finite = known & ~infinite
    rules = [
        (present & ~known, "not_numeric", "'{v}' is not a number"),
        (infinite, "not_finite", "'{v}' is not a finite number"),
    ]
    with np.errstate(invalid="ignore"):
        if spec.type == "integer":
            fraction = finite & (numbers != np.round(numbers))
            rules.append((fraction, "not_integer", "'{v}' is not a whole number"))
            huge = finite & (np.abs(numbers) > _LARGEST_COUNT)
            rules.append((huge, "too_large", "'{v}' is too large to be a count"))
        if spec.values is not None:
            allowed = np.array([float(v) for v in spec.values])
            codes = ", ".join(_show(v) for v in spec.values)
            outside = finite & ~np.isin(numbers, allowed)
            rules.append((outside, "not_allowed", f"'{{v}}' is not one of {codes}"))
        if spec.min is not None or spec.max is not None:
            low = -np.inf if spec.min is None else spec.min
            high = np.inf if spec.max is None else spec.max
            outside = finite & ((numbers < low) | (numbers > high))
            span = f"{_show(float(low))} to {_show(float(high))}"
            rules.append((outside, "out_of_range", f"'{{v}}' is outside {span}"))
    return [rule for rule in rules if rule[0].any()]


_LARGEST_COUNT = 1e9  # an integer column holds codes, counts, ages: not beyond this


def _hint_second_header(problems: list[Problem], frame: pd.DataFrame) -> list:
    """Text in most numeric columns of the first data row: a second header row."""
    first = int(frame.index[0])
    hits = [p for p in problems if p.rule == "not_numeric" and p.row == first]
    if len({p.column for p in hits}) < 2:
        return problems
    hint = f" (row {first} looks like a second header row; keep one header row)"
    return [replace(p, message=p.message + hint) if p in hits else p for p in problems]


def _categorical_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    if spec.values is None:
        return []
    allowed = {_show(v) for v in spec.values}
    shown = ", ".join(_show(v) for v in spec.values)
    outside = values.notna() & ~values.map(_show).isin(allowed)
    hint = _label_hint(values.attrs.get("cpeval_labels"))
    return [(outside, "not_allowed", f"'{{v}}' is not one of {shown}{hint}")]


def _binary_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    """0 or 1, or the two declared values (the file's labels allowed)."""
    allowed = spec.values or BINARY
    shown = " or ".join(_show(v) for v in allowed)
    outside = values.notna() & ~values.map(_show).isin({_show(v) for v in allowed})
    hint = _label_hint(values.attrs.get("cpeval_labels"))
    return [(outside, "not_binary", f"'{{v}}' is not {shown} (a binary column){hint}")]


def _count_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    """A whole number, 0 or more (and within the column's max)."""
    rules = _numeric_rules(values, replace(spec, type="integer", min=None), book)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    low = 0.0 if spec.min is None else max(float(spec.min), 0.0)
    with np.errstate(invalid="ignore"):
        below = np.isfinite(numbers) & (numbers < low)
    words = "a count (0 or more)" if low == 0 else f"a count of {_show(low)} or more"
    rules.append((below, "not_count", f"'{{v}}' is not {words}"))
    return [rule for rule in rules if np.asarray(rule[0]).any()]


def _label_hint(labels: Mapping[str, str] | None) -> str:
    """The file's own value labels, for a message about a value not allowed."""
    if not labels:
        return ""
    pairs = ", ".join(f"{code} = '{label}'" for code, label in labels.items())
    return (
        f" (the file labels its codes {pairs}; the codebook may name either "
        "the code or the label)"
    )


def _date_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    parsed = parse_dates(values, book.date_format)
    bad = values.notna() & parsed.isna()
    serial = bad & values.map(_looks_serial)
    return [
        (bad & ~serial, "not_a_date", _date_message(book)),
        (serial, "not_a_date", _date_message(book) + _SERIAL_HINT),
    ]


def _looks_serial(value: object) -> bool:
    """An Excel date stored as its serial number (days since 1899-12-30)."""
    try:
        number = float(str(value))
    except ValueError:
        return False
    return 1 <= number < 2_958_466  # Excel's dates run to 9999-12-31


_SERIAL_HINT = (
    " (a number: an Excel date stored as its serial number? format the column "
    "as dates in Excel before saving)"
)


def _no_rules(values: pd.Series, spec: ColumnSpec, book: Codebook) -> list:
    return []


_VALUE_RULES = {
    "numeric": _numeric_rules,
    "integer": _numeric_rules,
    "categorical": _categorical_rules,
    "date": _date_rules,
    "text": _no_rules,
    "binary": _binary_rules,
    "count": _count_rules,
}


def _key_problems(frame: pd.DataFrame, book: Codebook) -> list:
    problems = []
    for name in [book.id, book.group, *book.clusters, book.wave]:
        if name is None or name not in frame.columns:
            continue
        for row in frame.index[frame[name].isna().to_numpy()]:
            problems.append(
                _at(frame, row, name, "error", "missing_key", "the value is missing")
            )
        broken = np.array([_has_control(v) for v in frame[name]], dtype=bool)
        for row in frame.index[broken]:
            message = (
                f"the value {frame.at[row, name]!r} holds a line break or control "
                "character"
            )
            problems.append(
                _at(frame, row, name, "error", "control_character", message)
            )
    allowed = {
        book.wave: (book.waves, "wave"),
        book.group: (book.groups, "group"),
    }
    for name, (values, what) in allowed.items():
        if values is None or name not in frame.columns:
            continue
        column = frame[name]
        outside = column.notna() & ~column.isin(values)
        shown = ", ".join(f"'{v}'" for v in values)
        hint = _label_hint(frame.attrs.get("cpeval_labels", {}).get(name))
        for row in frame.index[outside.to_numpy()]:
            message = f"{what} '{column[row]}' is not one of {shown}{hint}"
            problems.append(_at(frame, row, name, "error", "not_allowed", message))
    return problems


def _has_control(value: object) -> bool:
    return isinstance(value, str) and _CONTROL.search(value) is not None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FAR_YEARS = 5  # an interview this far from the file's median date is suspect


def _date_problems(frame: pd.DataFrame, name: str, book: Codebook) -> list:
    values = frame[name]
    parsed = parse_dates(values, book.date_format)
    problems = [
        _at(
            frame,
            row,
            name,
            "error",
            "not_a_date",
            _date_message(book).format(v=v) + (_SERIAL_HINT * _looks_serial(v)),
        )
        for row, v in values[values.notna() & parsed.isna()].items()
    ]
    problems += _implausible_dates(frame, name, parsed)
    problems += [
        _at(
            frame, row, name, "warning", "missing_date", "the interview date is missing"
        )
        for row in values.index[values.isna().to_numpy()]
    ]
    return problems


def _implausible_dates(frame: pd.DataFrame, name: str, parsed: pd.Series) -> list:
    """Dates in the future, or years away from the file's other interviews (a
    typed 2099 or 1900), are warned of: durations and QALYs depend on them."""
    known = parsed.dropna()
    if known.empty:
        return []
    today = pd.Timestamp.today().normalize()
    median = known.sort_values().iloc[(len(known) - 1) // 2]
    far = (known - median).abs() > pd.Timedelta(days=365.25 * _FAR_YEARS)
    problems = []
    for row, date in known.items():
        if date > today:
            message = f"the date {date.date()} is in the future"
        elif far[row]:
            message = (
                f"the date {date.date()} is more than {_FAR_YEARS} years from the "
                f"file's median date {median.date()}: check it"
            )
        else:
            continue
        problems.append(_at(frame, row, name, "warning", "implausible_date", message))
    return problems


def _empty_column_warnings(frame: pd.DataFrame, book: Codebook) -> list:
    file = frame.attrs["cpeval_file"]
    return [
        Problem("warning", "empty_column", file, "every value is missing", column=c)
        for c in frame.columns
        if c in book.columns and frame[c].isna().all()
    ]


def _recruitment_problems(frame: pd.DataFrame, book: Codebook) -> list:
    file = frame.attrs["cpeval_file"]
    problems = [
        Problem("error", "missing_column", file, "the column is missing", column=c)
        for c in book.keys
        if c not in frame.columns
    ]
    problems += [
        Problem(
            "error",
            "unknown_column",
            file,
            "a recruitment list holds only the id, group and cluster columns",
            column=c,
        )
        for c in frame.columns
        if c not in book.keys
    ]
    problems += _key_problems(frame, book)
    if book.id in frame.columns:
        problems += _duplicate_problems(_with_source(frame, book), [book.id])
    return problems


# ----------------------------------------------------------- linking rules


def _long_part(frame: pd.DataFrame, spec: FileSpec, book: Codebook) -> pd.DataFrame:
    part = _with_source(frame, book)
    if spec.wave is not None:
        part[book.wave] = spec.wave
    return part


def _with_source(frame: pd.DataFrame, book: Codebook) -> pd.DataFrame:
    keep = [c for c in frame.columns if c in book.columns or c in book.keys]
    keep += [c for c in (book.wave, book.date) if c in frame.columns]
    part = frame[list(dict.fromkeys(keep))].copy()
    part[SOURCE_FILE] = frame.attrs["cpeval_file"]
    part[SOURCE_ROW] = frame.index.to_numpy()
    return part.reset_index(drop=True)


def _stack(parts: list[pd.DataFrame], book: Codebook) -> pd.DataFrame:
    columns = [*book.keys, book.wave]
    columns += [book.date] if book.date else []
    columns += [*book.columns, SOURCE_FILE, SOURCE_ROW]
    if not parts:
        return pd.DataFrame(columns=columns)
    data = pd.concat(parts, ignore_index=True, sort=False)
    return data.reindex(columns=list(dict.fromkeys(columns)))


def _link_problems(
    data: pd.DataFrame, recruits: pd.DataFrame | None, book: Codebook
) -> list:
    known = data[data[book.id].notna() & data[book.wave].isin(book.waves)]
    everyone = (
        known if recruits is None else pd.concat([known, recruits], ignore_index=True)
    )
    problems = _arm_problems(everyone, book)
    problems += _nesting_problems(known, book)
    problems += _id_variant_problems(everyone, book)
    problems += _duplicate_problems(known, [book.id, book.wave])
    problems += _baseline_problems(known, book)
    problems += _constant_key_problems(everyone, book)
    if book.date:
        problems += _date_order_problems(known, book)
    if recruits is not None:
        problems += _unrecruited_problems(known, recruits, book)
    return problems


def _arm_problems(data: pd.DataFrame, book: Codebook) -> list:
    """The declared intervention and comparator are arms of the study, and a study
    of more than two arms says which two are compared."""
    if book.group is None or book.group not in data.columns:
        return []
    arms = list(book.groups or sorted(data[book.group].dropna().unique(), key=str))
    shown = ", ".join(f"'{a}'" for a in arms)
    where = str(book.path)
    problems = [
        Problem(
            "error",
            "unknown_arm",
            where,
            f"[study] {key} = '{value}' is not an arm of '{book.group}' "
            f"(the arms: {shown})",
        )
        for key, value in (
            ("intervention", book.intervention),
            ("comparator", book.comparator),
        )
        if value is not None and value not in arms
    ]
    baseline = data[data[book.wave] == book.baseline].dropna(subset=[book.group])
    arm_of = baseline.drop_duplicates(book.id).set_index(book.id)[book.group]
    compared = [book.intervention, book.comparator]
    if book.comparator is None and len(arms) == 2:
        compared = arms
    at_baseline = set(arm_of)
    problems += [
        Problem(
            "warning",
            "arm_absent",
            where,
            f"no participant of the arm '{arm}' was interviewed at "
            f"'{book.baseline}': the arms cannot be compared",
            column=book.group,
            value=str(arm),
        )
        for arm in compared
        if arm is not None and arm in arms and arm not in at_baseline
    ]
    for wave in book.waves[1:]:
        present = set(arm_of.reindex(data.loc[data[book.wave] == wave, book.id]))
        for arm in compared:
            if arm in at_baseline and arm not in present:
                problems.append(
                    Problem(
                        "warning",
                        "arm_lost",
                        where,
                        f"no participant of the arm '{arm}' was interviewed at "
                        f"'{wave}': the arms cannot be compared there",
                    )
                )
    if len(arms) > 2 and book.comparator is None:
        problems.append(
            Problem(
                "error",
                "no_comparator",
                where,
                f"'{book.group}' has {len(arms)} arms ({shown}): add comparator = "
                '"<arm>" to [study] to say which arm the intervention is '
                "compared with (arms are never pooled)",
            )
        )
    return problems


def _nesting_problems(data: pd.DataFrame, book: Codebook) -> list:
    """Clusters nest, outermost first: a team label found under two sites is two
    teams sharing a label (or a crossed design), which the analyses would merge."""
    levels = [c for c in book.clusters if c in data.columns]
    problems = []
    for outer, inner in itertools.pairwise(levels):
        rows = data.dropna(subset=[outer, inner])
        parents = rows.groupby(inner)[outer].nunique()
        for unit in parents.index[parents > 1]:
            under = sorted(map(str, rows.loc[rows[inner] == unit, outer].unique()))
            problems.append(
                Problem(
                    "error",
                    "not_nested",
                    str(book.path),
                    f"{inner} '{unit}' appears under {len(under)} {outer}s "
                    f"({', '.join(under[:3])}): give each {inner} a label of its own "
                    f"(e.g. {outer} and {inner} joined), since clusters must nest",
                    column=inner,
                    value=str(unit),
                )
            )
    return problems


def _id_variant_problems(data: pd.DataFrame, book: Codebook) -> list:
    ids = data[[book.id, SOURCE_FILE, SOURCE_ROW]].dropna(subset=[book.id])
    ids = ids.drop_duplicates(subset=[book.id]).reset_index(drop=True)
    norm = ids[book.id].map(_id_key)
    problems = []
    for _, group in ids[norm.duplicated(keep=False)].groupby(norm, sort=True):
        variants = ", ".join(repr(v) for v in group[book.id])
        same_text = group[book.id].map(_nfc).nunique() == 1
        how = (
            "in how their accented letters are encoded (Unicode NFC and NFD); "
            "type them the same way"
            if same_text
            else "by case or white space"
        )
        for _, row in group.iloc[1:].iterrows():
            problems.append(
                _linked(
                    row,
                    book.id,
                    "id_variant",
                    f"ids {variants} differ only {how}",
                    book,
                    value=row[book.id],
                )
            )
    return problems


def _nfc(value: object) -> str:
    return unicodedata.normalize("NFC", str(value))


def _id_key(value: object) -> str:
    return "".join(_nfc(value).split()).casefold()


def _duplicate_problems(data: pd.DataFrame, keys: list[str]) -> list:
    twice = data[data.duplicated(subset=keys, keep="first")]
    if twice.empty:
        return []
    firsts = data.drop_duplicates(subset=keys, keep="first").set_index(keys)
    problems = []
    for _, row in twice.iterrows():
        first = firsts.loc[tuple(row[keys]) if len(keys) > 1 else row[keys[0]]]
        where = f"{first[SOURCE_FILE]} row {first[SOURCE_ROW]}"
        what = "record" if len(keys) > 1 else "id"
        wave = f" at wave '{row[keys[1]]}'" if len(keys) > 1 else ""
        problems.append(
            Problem(
                "error",
                "duplicate_record",
                row[SOURCE_FILE],
                f"a second {what} for this participant{wave} (first at {where})",
                row=int(row[SOURCE_ROW]),
                participant=row[keys[0]],
                column=keys[0],
            )
        )
    return problems


def _baseline_problems(data: pd.DataFrame, book: Codebook) -> list:
    has_baseline = set(data.loc[data[book.wave] == book.baseline, book.id])
    later = data[(data[book.wave] != book.baseline) & ~data[book.id].isin(has_baseline)]
    later = later.drop_duplicates(subset=[book.id])
    return [
        _linked(
            row,
            None,
            "followup_without_baseline",
            f"has a '{row[book.wave]}' record but no '{book.baseline}' record",
            book,
        )
        for _, row in later.iterrows()
    ]


def _constant_key_problems(data: pd.DataFrame, book: Codebook) -> list:
    problems = []
    for name in (book.group, *book.clusters):
        if name is None or name not in data.columns:
            continue
        values = data.dropna(subset=[name])
        counts = values.groupby(book.id)[name].nunique()
        for person in counts.index[counts > 1]:
            rows = values[values[book.id] == person]
            seen = ", ".join(f"'{v}'" for v in dict.fromkeys(rows[name]))
            first = rows.iloc[0][name]
            changed = rows[rows[name] != first].iloc[0]
            problems.append(
                _linked(
                    changed,
                    name,
                    "changed_between_waves",
                    f"{name} changes between records ({seen})",
                    book,
                    value=changed[name],
                )
            )
    return problems


def _date_order_problems(data: pd.DataFrame, book: Codebook) -> list:
    dated = data.assign(_date=parse_dates(data[book.date], book.date_format))
    dated = dated.dropna(subset=["_date"])
    order = {w: i for i, w in enumerate(book.waves)}
    dated = dated.assign(_order=dated[book.wave].map(order))
    dated = dated.sort_values([book.id, "_order"], kind="stable")
    previous = dated.groupby(book.id)["_date"].shift()
    before = dated.groupby(book.id)[book.wave].shift()
    problems = []
    later_wave = before.notna() & (before != dated[book.wave])
    for index in dated.index[((dated["_date"] <= previous) & later_wave).to_numpy()]:
        row = dated.loc[index]
        message = (
            f"interview date {row['_date'].date()} at '{row[book.wave]}' is not "
            f"after {previous[index].date()} at '{before[index]}'"
        )
        problems.append(
            _linked(row, book.date, "dates_out_of_order", message, book, row[book.date])
        )
    return problems


def _unrecruited_problems(
    data: pd.DataFrame, recruits: pd.DataFrame, book: Codebook
) -> list:
    outside = data[~data[book.id].isin(set(recruits[book.id]))]
    outside = outside.drop_duplicates(subset=[book.id])
    return [
        _linked(
            row, book.id, "not_recruited", "the id is not in the recruitment list", book
        )
        for _, row in outside.iterrows()
    ]


# ---------------------------------------------------------------- helpers


def _at(
    frame: pd.DataFrame, row: int, column: str, severity: Severity, rule: str, msg: str
) -> Problem:
    ids = frame.attrs.get("cpeval_id")
    participant = None
    if ids in frame.columns and pd.notna(frame.at[row, ids]):
        participant = str(frame.at[row, ids])
    return Problem(
        severity,
        rule,
        frame.attrs["cpeval_file"],
        msg,
        row=int(row),
        participant=participant,
        column=column,
        value=_show(frame.at[row, column]),
    )


def _linked(
    row: pd.Series,
    column: str | None,
    rule: str,
    message: str,
    book: Codebook,
    value: object = None,
) -> Problem:
    return Problem(
        "error",
        rule,
        row[SOURCE_FILE],
        message,
        row=int(row[SOURCE_ROW]),
        participant=str(row[book.id]),
        column=column,
        value=None if value is None else _show(value),
    )


def _present(frame: pd.DataFrame, names: Iterable[str | None]) -> list[str]:
    return [n for n in names if n is not None and n in frame.columns]


def parse_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    """Dates from text: ISO 8601 (a full date, with an optional time) or the
    codebook's format. A time zone is dropped: the date is the one the
    interviewer wrote. A year-month alone is not a date."""
    if values.dtype.kind == "M":
        return values
    text = values.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore")
    if fmt is None:
        text = text.map(_iso_date_text, na_action="ignore")
    return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")


def _iso_date_text(text: str) -> str | None:
    text = _ZONE.sub(r"\1", text.strip())
    return text if _FULL_DATE.match(text) else None


_ZONE = re.compile(r"(\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|[+-]\d\d:?\d\d)$")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]|$)")


def _date_message(book: Codebook) -> str:
    if book.date_format:
        return f"'{{v}}' is not a date in the form {book.date_format}"
    return "'{v}' is not a date (expected an ISO date such as 2024-03-31)"
