"""The study codebook: which files hold which waves, and what each column may hold.

A codebook is a TOML file (see ``docs/codebook.md`` and
``data/synthetic/example/codebook.toml``). It is parsed strictly: an unknown
key, a missing key or a wrong type is a :class:`~cpeval.DataError` naming the
codebook and the key, so a typo never silently switches a check off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from .._files import MAX_TEXT_CONFIG_BYTES, check_input
from .._patterns import expand
from .._toml import check_keys, read_toml
from ..exceptions import DataError

__all__ = ["Codebook", "ColumnSpec", "FileSpec", "code_text", "load_codebook"]

ColumnType = Literal[
    "numeric", "integer", "categorical", "date", "text", "binary", "count"
]
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)
#: A binary column's values without ``values``: absent, present.
BINARY: tuple[int, int] = (0, 1)

_STUDY_KEYS = {
    "name": str,
    "id": str,
    "group": str,
    "groups": list,
    "intervention": str,
    "comparator": str,
    "group_labels": dict,
    "clusters": list,
    "wave": str,
    "waves": list,
    "date": str,
    "date_format": str,
    "covariates": list,
    "missing_codes": list,
    "decimal": str,
}
_FILE_KEYS = {"path": str, "wave": str, "sheet": (str, int)}
_COLUMN_KEYS = {
    "type": str,
    "min": (int, float),
    "max": (int, float),
    "values": list,
    "waves": list,
    "required": bool,
    "missing_codes": list,
    "label": str,
}
_INSTRUMENT_KEYS = {**_COLUMN_KEYS, "items": (list, str), "definition": str}
_TOP_KEYS = {"study", "files", "recruitment", "columns", "instruments"}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """What one declared column may hold.

    Parameters
    ----------
    name : str
        Column name in the files.
    type : {"numeric", "integer", "categorical", "date", "text", "binary", "count"}
        ``integer`` also refuses fractions (item codes). ``binary``: an event
        or state that is present or absent, 0/1 (or the two ``values``, absent
        first); ``count``: a whole number of events, 0 or more. An outcome of
        either type is analysed by the matching model (logistic or Poisson).
    min, max : float, optional
        Inclusive range for numeric and integer columns.
    values : tuple, optional
        The allowed values (categories, or item codes); for ``binary``, the
        two values, the absence (read as 0) first and the presence (1) second.
    waves : tuple of str, optional
        Waves at which the column is collected; ``None`` means every wave.
    required : bool
        A missing value is an error.
    missing_codes : tuple of float
        Codes meaning missing in this column, on top of the study's.
    instrument : str, optional
        The instrument whose item this column is.
    """

    name: str
    type: ColumnType = "numeric"
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] | None = None
    waves: tuple[str, ...] | None = None
    required: bool = False
    missing_codes: tuple[float, ...] = ()
    instrument: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One data file and, when it holds a single wave, that wave."""

    path: Path
    wave: str | None = None
    sheet: str | int | None = None


@dataclass(frozen=True, slots=True)
class Codebook:
    """A parsed study codebook. Build it with :func:`load_codebook`."""

    path: Path
    name: str
    id: str
    files: tuple[FileSpec, ...]
    waves: tuple[str, ...]
    wave: str = "wave"
    group: str | None = None
    groups: tuple[str, ...] | None = None
    intervention: str | None = None
    comparator: str | None = None
    group_labels: Mapping[str, str] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()
    date: str | None = None
    date_format: str | None = None
    covariates: tuple[str, ...] = ()
    missing_codes: tuple[float, ...] = ()
    decimal: str = "."
    recruitment: FileSpec | None = None
    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)
    instruments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    definitions: Mapping[str, str] = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        """The first wave."""
        return self.waves[0]

    @property
    def keys(self) -> tuple[str, ...]:
        """Columns that identify a participant and their place in the design."""
        return tuple(c for c in (self.id, self.group, *self.clusters) if c)

    @property
    def labelled(self) -> tuple[str, ...]:
        """Columns whose SPSS/Stata value labels replace their codes: the group,
        the clusters and the categorical columns."""
        categorical = [
            n for n, s in self.columns.items() if s.type in ("categorical", "binary")
        ]
        return tuple(dict.fromkeys(c for c in (*self.keys[1:], *categorical) if c))

    def relabelled(self, labels: Mapping[str, Mapping[str, str]]) -> Codebook:
        """The codebook with codes replaced by their value labels wherever it names
        a value of a labelled column (``groups``, ``intervention``,
        ``comparator``, categorical ``values``), so that it may name a category by
        its code or by its label.

        ``labels`` maps column -> {code as text: label}, as
        :func:`cpeval.io.value_labels` gives them.
        """

        def swap(column: str | None, value: Any) -> Any:
            if value is None or column is None:
                return value
            return labels.get(column, {}).get(code_text(value), value)

        columns = {
            name: replace(spec, values=tuple(swap(name, v) for v in spec.values))
            if spec.type == "categorical" and spec.values is not None
            else replace(
                spec, values=tuple(swap(name, v) for v in spec.values or BINARY)
            )
            if spec.type == "binary" and name in labels
            else spec
            for name, spec in self.columns.items()
        }
        groups = None
        if self.groups is not None:
            groups = tuple(str(swap(self.group, g)) for g in self.groups)
        return replace(
            self,
            groups=groups,
            intervention=swap(self.group, self.intervention),
            comparator=swap(self.group, self.comparator),
            columns=columns,
        )

    def expected_columns(self, wave: str | None) -> list[str]:
        """Columns a file of ``wave`` must have (``None``: a multi-wave file)."""
        names = [*self.keys, self.date] if self.date else list(self.keys)
        if wave is None:
            names.append(self.wave)
        names += [
            spec.name
            for spec in self.columns.values()
            if spec.waves is None or wave is None or wave in spec.waves
        ]
        return names

    def missing_codes_by_column(self) -> dict[str, tuple[float, ...]]:
        """Codes read as missing per declared column (the study's plus its own)."""
        return {
            name: self.missing_codes + spec.missing_codes
            for name, spec in self.columns.items()
            if spec.type in ("numeric", "integer", "binary", "count")
        }


def load_codebook(path: str | Path) -> Codebook:
    """Read and check a study codebook (TOML).

    Parameters
    ----------
    path : str or Path
        The codebook. File paths inside it are relative to its folder.

    Returns
    -------
    Codebook

    Raises
    ------
    DataError
        The file cannot be parsed, or a key is unknown, missing or of the wrong type.

    Examples
    --------
    >>> from cpeval.io import load_codebook
    >>> book = load_codebook("data/synthetic/example/codebook.toml")
    >>> book.waves
    ('baseline', '6 months')
    """
    path = Path(path)
    raw = read_toml(path, "codebook")
    check_keys(raw, dict.fromkeys(_TOP_KEYS, (dict, list)), path, "")
    study = _table(raw, "study", path)
    check_keys(study, _STUDY_KEYS, path, "study.")
    _check_lists(study, _STUDY_LISTS, path, "study.")
    _check_date_format(study.get("date_format"), path)
    for key in ("id", "waves"):
        if key not in study:
            raise DataError(f"{path}: [study] needs the key '{key}'")
    waves = tuple(str(w) for w in study["waves"])
    twice = sorted({w for w in waves if waves.count(w) > 1})
    if twice or not waves:
        what = f"list {twice} more than once" if twice else "are empty"
        raise DataError(f"{path}: [study] waves {what}; list each wave once, in order")
    _check_arms(study, path)
    _check_distinct_keys(study, path)
    columns = _columns(raw, path, waves)
    _check_keys_undeclared(study, columns, path)
    return Codebook(
        path=path,
        name=study.get("name", path.stem),
        id=study["id"],
        files=_files(raw, path, waves),
        waves=waves,
        wave=study.get("wave", "wave"),
        group=study.get("group"),
        groups=_optional_tuple(study.get("groups"), str),
        intervention=study.get("intervention"),
        comparator=study.get("comparator"),
        group_labels=_group_labels(study, path),
        clusters=tuple(study.get("clusters", ())),
        date=study.get("date"),
        date_format=study.get("date_format"),
        covariates=_covariates(study, columns, path),
        missing_codes=tuple(float(c) for c in study.get("missing_codes", ())),
        decimal=_decimal(study.get("decimal", "."), path),
        recruitment=_recruitment(raw, path),
        columns=columns,
        instruments=_instrument_items(columns),
        definitions=_definitions(raw, path),
    )


def _check_arms(study: Mapping[str, Any], path: Path) -> None:
    """The intervention arm is declared, never guessed from the data's order."""
    group = study.get("group")
    for key in ("intervention", "comparator", "groups"):
        if key in study and group is None:
            raise DataError(f"{path}: [study] sets '{key}' but names no 'group' column")
    if group is not None and "intervention" not in study:
        groups = study.get("groups")
        which = f" (one of {', '.join(map(str, groups))})" if groups else ""
        raise DataError(
            f"{path}: [study] names the group column '{group}' but not which arm "
            f'is the intervention: add intervention = "<arm>"{which}, a value of '
            f"'{group}' or its SPSS/Stata value label"
        )
    if group is not None and study.get("comparator") == study["intervention"]:
        raise DataError(
            f"{path}: [study] 'comparator' and 'intervention' are both "
            f"'{study['intervention']}'"
        )


def _check_keys_undeclared(
    study: Mapping[str, Any], columns: Mapping[str, ColumnSpec], path: Path
) -> None:
    """The id, group, wave and cluster columns are declared by [study] alone
    (a [columns] entry would give them a type and rules of another kind)."""
    keys = [study.get(k) for k in ("id", "group", "wave")] + list(
        study.get("clusters", ())
    )
    for column in keys:
        if column is not None and column in columns:
            raise DataError(
                f"{path}: column '{column}' is a key column of [study]; remove it "
                "from [columns] (its values are checked as ids, arms, waves or "
                "clusters)"
            )
    date = study.get("date")
    if date in columns and columns[date].type != "date":
        raise DataError(
            f"{path}: column '{date}' is the interview date of [study] but "
            f"[columns] declares it '{columns[date].type}'; remove it or make it "
            'type = "date"'
        )


def _check_distinct_keys(study: Mapping[str, Any], path: Path) -> None:
    """The id, group, cluster, wave and date columns are different columns."""
    roles: dict[str, str] = {}
    named = [(k, study.get(k)) for k in ("id", "group", "wave", "date")]
    named += [("clusters", c) for c in study.get("clusters", ())]
    named += [("covariates", c) for c in study.get("covariates", ())]
    for role, column in named:
        if column is None:
            continue
        if not column.strip():
            raise DataError(f"{path}: [study] {role} names no column (an empty name)")
        if role == "covariates":
            continue
        if column in roles and role == roles[column]:
            raise DataError(f"{path}: [study] {role} names the column '{column}' twice")
        if column in roles:
            raise DataError(
                f"{path}: [study] {roles[column]} and {role} both name the column "
                f"'{column}'; each needs a column of its own"
            )
        roles[column] = role


def _group_labels(study: Mapping[str, Any], path: Path) -> dict[str, str]:
    """``group_labels = { "1" = "Connecting People" }``: labels for the group's
    codes when the file has none (a CSV), or to replace the file's."""
    labels = study.get("group_labels", {})
    bad = [k for k, v in labels.items() if not isinstance(v, str)]
    if bad:
        raise DataError(f"{path}: 'study.group_labels.{bad[0]}' must be a text label")
    if labels and "group" not in study:
        raise DataError(f"{path}: [study] sets 'group_labels' but names no 'group'")
    return {str(k): v for k, v in labels.items()}


def code_text(value: Any) -> str:
    """A code as text, as the data hold it: ``1.0`` and ``1`` are ``"1"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(raw: Mapping[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise DataError(f"{path}: '{key}' must be a table ([{key}])")
    return value


def _files(raw: Mapping[str, Any], path: Path, waves: tuple[str, ...]):
    entries = raw.get("files")
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{path}: the codebook lists no data files ([[files]])")
    specs = []
    for number, entry in enumerate(entries, start=1):
        where = f"files[{number}]."
        check_keys(entry, _FILE_KEYS, path, where)
        if "path" not in entry:
            raise DataError(f"{path}: '{where}path' is missing")
        wave = entry.get("wave")
        if wave is not None and wave not in waves:
            raise DataError(f"{path}: '{where}wave' is '{wave}', not one of {waves}")
        spec = FileSpec(path.parent / entry["path"], wave, entry.get("sheet"))
        same = [s for s in specs if _same_file(s, spec)]
        if same:
            raise DataError(
                f"{path}: 'files[{number}]' is '{entry['path']}', listed already "
                f"(for wave '{same[0].wave}'): give each wave its own file, or one "
                "long file with a wave column"
            )
        specs.append(spec)
    return tuple(specs)


def _same_file(a: FileSpec, b: FileSpec) -> bool:
    try:
        same = a.path.resolve() == b.path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reading will name it
        same = a.path == b.path
    return same and a.sheet == b.sheet


def _recruitment(raw: Mapping[str, Any], path: Path) -> FileSpec | None:
    if "recruitment" not in raw:
        return None
    entry = _table(raw, "recruitment", path)
    check_keys(entry, {"path": str, "sheet": (str, int)}, path, "recruitment.")
    if "path" not in entry:
        raise DataError(f"{path}: 'recruitment.path' is missing")
    return FileSpec(path.parent / entry["path"], None, entry.get("sheet"))


def _columns(
    raw: Mapping[str, Any], path: Path, waves: tuple[str, ...]
) -> dict[str, ColumnSpec]:
    specs: dict[str, ColumnSpec] = {}
    for name, entry in _table(raw, "columns", path).items():
        check_keys(entry, _COLUMN_KEYS, path, f"columns.{name}.")
        _check_lists(entry, _COLUMN_LISTS, path, f"columns.{name}.")
        specs[name] = _column(name, entry, path, waves, None)
    for instrument, entry in _table(raw, "instruments", path).items():
        where = f"instruments.{instrument}."
        check_keys(entry, _INSTRUMENT_KEYS, path, where)
        _check_lists(entry, _COLUMN_LISTS, path, where)
        items = _expand_items(entry.get("items"), path, where)
        options = {
            "type": "integer",
            **{k: v for k, v in entry.items() if k not in ("items", "definition")},
        }
        for item in items:
            if item in specs:
                raise DataError(f"{path}: column '{item}' is declared twice")
            specs[item] = _column(item, options, path, waves, instrument)
    return specs


def _column(
    name: str, entry: Mapping[str, Any], path: Path, waves: tuple, instrument
) -> ColumnSpec:
    kind = entry.get("type", "numeric")
    if kind not in COLUMN_TYPES:
        raise DataError(
            f"{path}: column '{name}' has type '{kind}'; "
            f"the types are {', '.join(COLUMN_TYPES)}"
        )
    values = entry.get("values")
    if values is not None and not values:
        raise DataError(f"{path}: column '{name}' has an empty list of values")
    if kind in ("numeric", "integer") and values is not None:
        text = [v for v in values if not isinstance(v, int | float)]
        if text:
            raise DataError(
                f"{path}: column '{name}' is {kind} but its values include "
                f"{text[0]!r}; give numbers, or make the column categorical"
            )
    _check_outcome_type(name, kind, entry, path)
    low, high = entry.get("min"), entry.get("max")
    if low is not None and high is not None and low > high:
        raise DataError(f"{path}: column '{name}' has min {low} above max {high}")
    on = _optional_tuple(entry.get("waves"), str)
    unknown = sorted(set(on or ()) - set(waves))
    if unknown:
        raise DataError(f"{path}: column '{name}' names unknown waves {unknown}")
    return ColumnSpec(
        name=name,
        type=kind,
        min=entry.get("min"),
        max=entry.get("max"),
        values=_optional_tuple(entry.get("values"), None),
        waves=on,
        required=entry.get("required", False),
        missing_codes=tuple(float(c) for c in entry.get("missing_codes", ())),
        instrument=instrument,
        label=entry.get("label", ""),
    )


def _check_outcome_type(
    name: str, kind: str, entry: Mapping[str, Any], path: Path
) -> None:
    """A binary column has two values (absent first) and no range; a count has
    no list of values and a range that starts at 0 or above."""
    values = entry.get("values")
    if kind == "binary":
        ranged = [k for k in ("min", "max") if k in entry]
        if ranged:
            raise DataError(
                f"{path}: column '{name}' is binary, so it has no '{ranged[0]}': "
                "its values are 0 and 1, or the two it lists in 'values'"
            )
        if values is not None and (
            len(values) != 2 or len({code_text(v) for v in values}) != 2
        ):
            raise DataError(
                f"{path}: column '{name}' is binary: 'values' lists its two "
                f'values, absence first (e.g. ["no", "yes"]); got {values}'
            )
    if kind == "count":
        if values is not None:
            raise DataError(
                f"{path}: column '{name}' is a count (0, 1, 2, ...): it takes "
                "'min'/'max', not 'values'; a few codes make it integer or categorical"
            )
        if entry.get("min") is not None and entry["min"] < 0:
            raise DataError(
                f"{path}: column '{name}' is a count, which is never negative; "
                f"its min is {entry['min']}"
            )


def _expand_items(items: Any, path: Path, where: str) -> list[str]:
    """A list of names, or one pattern such as ``"wemwbs_{1..14}"``."""
    if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
        return list(items)
    if isinstance(items, str):
        try:
            return expand(items)
        except ValueError as exc:
            raise DataError(f"{path}: '{where}items' {exc}") from None
    raise DataError(
        f"{path}: '{where}items' must be a list of column names or a pattern "
        'like "wemwbs_{1..14}"'
    )


_NUMBER = (int, float)
_CODE = (int, float, str)
_STUDY_LISTS = {
    "groups": _CODE,
    "clusters": str,
    "waves": _CODE,
    "covariates": str,
    "missing_codes": _NUMBER,
}
_COLUMN_LISTS = {"values": _CODE, "waves": _CODE, "missing_codes": _NUMBER}
_LIST_WORDS = {str: "names (text)", _NUMBER: "numbers", _CODE: "numbers or text"}


def _check_lists(table: Mapping[str, Any], kinds: Mapping, path: Path, where: str):
    """Every element of a list key has the type the key needs."""
    for key, kind in kinds.items():
        for value in table.get(key, ()):
            if isinstance(value, bool) or not isinstance(value, kind):
                hint = ""
                if key == "missing_codes" and isinstance(value, str):
                    hint = (
                        "; a text such as 'refused' in a numeric column is "
                        "reported by validate: recode it, or declare the column text"
                    )
                raise DataError(
                    f"{path}: '{where}{key}' must hold {_LIST_WORDS[kind]}; "
                    f"{value!r} is {type(value).__name__}{hint}"
                )
            if isinstance(value, float) and not np.isfinite(value):
                raise DataError(f"{path}: '{where}{key}' holds {value!r}")


def _check_date_format(fmt: str | None, path: Path) -> None:
    """A strptime format that can read back a date it wrote, with a year, month
    and day."""
    if fmt is None:
        return
    missing = [d for d in ("%d", ("%m", "%b", "%B"), ("%Y", "%y")) if not _has(fmt, d)]
    sample = dt.datetime(2024, 3, 31)
    try:
        ok = dt.datetime.strptime(sample.strftime(fmt), fmt).date() == sample.date()
    except ValueError:
        ok = False
    if missing or not ok:
        raise DataError(
            f"{path}: 'study.date_format' {fmt!r} is not a date format with a day, "
            'month and year, e.g. "%d/%m/%Y" (codes as in Python\'s strptime)'
        )


def _has(fmt: str, directives: str | tuple[str, ...]) -> bool:
    options = (directives,) if isinstance(directives, str) else directives
    return any(d in fmt for d in options)


def _decimal(mark: str, path: Path) -> str:
    if mark not in (".", ","):
        raise DataError(f'{path}: \'study.decimal\' must be "." or ","; got {mark!r}')
    return mark


def _definitions(raw: Mapping[str, Any], path: Path) -> dict[str, str]:
    """Instrument -> its scoring definition: a built-in name or a TOML file path."""
    out = {}
    for instrument, entry in _table(raw, "instruments", path).items():
        ref = entry.get("definition")
        if ref is not None and ref.endswith(".toml"):
            definition = path.parent / ref
            check_input(definition, "instrument definition", MAX_TEXT_CONFIG_BYTES)
            out[instrument] = str(definition)
        elif ref is not None:
            out[instrument] = ref
    return out


def _instrument_items(columns: Mapping[str, ColumnSpec]) -> dict[str, tuple[str, ...]]:
    items: dict[str, list[str]] = {}
    for spec in columns.values():
        if spec.instrument:
            items.setdefault(spec.instrument, []).append(spec.name)
    return {name: tuple(names) for name, names in items.items()}


def _covariates(
    study: Mapping[str, Any], columns: Mapping[str, ColumnSpec], path: Path
) -> tuple[str, ...]:
    names = tuple(study.get("covariates", ()))
    undeclared = [c for c in names if c not in columns]
    if undeclared:
        raise DataError(
            f"{path}: covariates {undeclared} are not declared under [columns]"
        )
    return names


def _optional_tuple(values: Any, kind: type | None) -> tuple | None:
    if values is None:
        return None
    return tuple(kind(v) if kind else v for v in values)
