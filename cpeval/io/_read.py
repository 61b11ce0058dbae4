"""Read one questionnaire export (CSV/TSV, Excel, SPSS, Stata, Parquet) safely.

Every reader returns the same shape: a DataFrame whose index, named ``row``, is
the row number a person sees when opening the file (the header is row 1 of a
CSV or Excel sheet; SPSS and Stata cases count from 1), plus a
:class:`ReadReport`, kept in ``DataFrame.attrs["cpeval_read"]`` as plain data
(so that pandas can still save the frame) and rebuilt by ``ReadReport.of(frame)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import sha256
from ..exceptions import DataError

__all__ = ["MISSING_TOKENS", "ReadReport", "read_data"]

#: Cell texts read as missing in CSV and Excel files (after trimming spaces).
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", "."})

_DELIMITERS = (",", ";", "\t", "|")
_TEXT_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # utf-8-sig reads plain UTF-8

# Leading bytes of the binary formats cpeval reads, with the suffixes they fit.
_MAGIC: tuple[tuple[bytes, str, frozenset[str]], ...] = (
    (b"PK\x03\x04", "an Excel workbook (zip archive)", frozenset({".xlsx", ".xlsm"})),
    (b"$FL2", "an SPSS .sav file", frozenset({".sav"})),
    (b"$FL3", "a compressed SPSS .zsav file", frozenset({".zsav", ".sav"})),
    (b"<stata_dta>", "a Stata .dta file", frozenset({".dta"})),
    (b"PAR1", "a Parquet file", frozenset({".parquet"})),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls file", frozenset()),
    (b"%PDF", "a PDF document", frozenset()),
)
_TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})


@dataclass(frozen=True, slots=True)
class ReadReport:
    """What :func:`read_data` did to one file.

    Parameters
    ----------
    path : str
        The file read.
    format : str
        ``"csv"``, ``"excel"``, ``"spss"``, ``"stata"`` or ``"parquet"``.
    sha256 : str
        SHA-256 of the file's bytes, for provenance.
    n_rows : int
        Data rows returned.
    encoding, delimiter : str or None
        What was sniffed from a text file (``None`` for binary formats).
    sheet : str or None
        The Excel sheet read.
    value_labels : mapping
        SPSS/Stata value labels: column -> {code: label}. Codes stay in the data.
    column_labels : mapping
        SPSS/Stata variable labels: column -> label.
    missing_recoded : mapping
        Column -> number of cells turned into missing because they held a
        declared missing code (in the file's metadata or passed by the caller).
    blank_rows : int
        Entirely blank lines or rows passed over (they hold no data).
    """

    path: str
    format: str
    sha256: str
    n_rows: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    column_labels: Mapping[str, str] = field(default_factory=dict)
    missing_recoded: Mapping[str, int] = field(default_factory=dict)
    blank_rows: int = 0

    @classmethod
    def of(cls, frame: pd.DataFrame) -> ReadReport:
        """The report of a frame returned by :func:`read_data`."""
        try:
            return cls(**frame.attrs["cpeval_read"])
        except (KeyError, TypeError):
            raise ValueError("the frame was not returned by cpeval.read_data") from None

    def to_frame(self) -> pd.DataFrame:
        """One row per column with recoded-missing counts and labels."""
        columns = sorted(
            set(self.missing_recoded) | set(self.value_labels) | set(self.column_labels)
        )
        return pd.DataFrame(
            {
                "column": columns,
                "label": [self.column_labels.get(c, "") for c in columns],
                "missing_recoded": [self.missing_recoded.get(c, 0) for c in columns],
                "value_labels": [len(self.value_labels.get(c, {})) for c in columns],
            }
        )


def read_data(
    path: str | Path,
    *,
    missing_codes: Sequence[float] | Mapping[str, Sequence[float]] = (),
    text_columns: Iterable[str] = (),
    sheet: str | int | None = None,
    decimal: str = ".",
) -> pd.DataFrame:
    """Read a questionnaire export into a DataFrame, never changing the file.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.tsv``/``.txt`` (encoding and delimiter sniffed: UTF-8 with or
        without BOM, UTF-16 with BOM, Windows-1252/latin-1; comma, semicolon, tab or
        bar), ``.xlsx``/``.xlsm``, ``.sav``/``.zsav``, ``.dta`` or ``.parquet`` file.
    missing_codes : sequence of float or mapping, optional
        Codes that mean "missing" (e.g. ``[-99, 999]``): for every column, or as a
        mapping column -> codes. Codes declared in an SPSS/Stata file are always
        applied. Recoded cells are counted per column in the report.
    text_columns : iterable of str, optional
        Columns kept as text even when every value looks numeric (ids such as
        ``"007"``). Numbers in SPSS/Stata id columns become text like ``"7"``.
    sheet : str or int, optional
        Excel sheet name or 0-based position; the first sheet by default.
    decimal : {".", ","}
        Decimal mark of text files.

    Returns
    -------
    pandas.DataFrame
        Columns as in the file; a column is float when all its values are
        numeric, text otherwise. The index ``row`` holds file row numbers and
        ``attrs["cpeval_read"]`` the :class:`ReadReport` as a dict;
        ``ReadReport.of(frame)`` returns it as the object.

    Raises
    ------
    DataError
        The file is missing, empty, has no data rows, is not what its suffix
        says, cannot be parsed, or has unnamed, duplicate or ragged columns.

    Examples
    --------
    >>> from cpeval.io import ReadReport, read_data
    >>> df = read_data("data/synthetic/example/baseline.csv", text_columns=["id"])
    >>> ReadReport.of(df).delimiter
    ','
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        supported = ", ".join(sorted(_READERS))
        raise DataError(
            f"{path}: cannot read files ending in '{suffix or '(none)'}'; "
            f"cpeval reads {supported}"
        )
    _check_content(path, suffix)
    frame, info = _READERS[suffix](path, sheet=sheet, decimal=decimal)
    text = set(text_columns)
    frame, recoded = _finish(frame, path, info, missing_codes, text)
    if frame.empty:
        raise DataError(f"{path}: the file has column names but no data rows")
    report = ReadReport(
        path=str(path),
        sha256=sha256(path),
        n_rows=len(frame),
        missing_recoded=recoded,
        **info,
    )
    frame.attrs["cpeval_read"] = asdict(report)
    return frame


# --------------------------------------------------------------------------- checks


def _check_content(path: Path, suffix: str) -> None:
    """Refuse empty files and files whose bytes do not fit their suffix."""
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head.strip():
        raise DataError(f"{path}: the file is empty")
    kind, fits = _sniff_kind(head)
    if suffix in _TEXT_SUFFIXES:
        if kind is not None:
            raise DataError(
                f"{path}: the file is {kind}, not a text (CSV) file; "
                "give it its proper extension"
            )
        if _looks_binary(head):
            raise DataError(f"{path}: the file holds binary data, not delimited text")
    elif suffix not in fits:
        actual = kind or "a text file"
        raise DataError(
            f"{path}: a '{suffix}' file was expected but the content is {actual}; "
            "check the file or its extension"
        )


def _sniff_kind(head: bytes) -> tuple[str | None, frozenset[str]]:
    for magic, kind, suffixes in _MAGIC:
        if head.startswith(magic):
            return kind, suffixes
    if len(head) > 3 and 104 <= head[0] <= 119 and head[1] in (1, 2) and head[2] == 1:
        return "a Stata .dta file (old format)", frozenset({".dta"})
    return None, frozenset()


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text with a byte-order mark
    if b"\x00" in head:
        return True
    control = sum(b < 32 and b not in (9, 10, 13) for b in head)
    return control > len(head) * 0.05


# ------------------------------------------------------------------------- readers


def _read_text(path: Path, *, sheet: object, decimal: str) -> tuple[pd.DataFrame, dict]:
    text, encoding = _decode(path.read_bytes(), path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, line = [], 1
    try:
        for fields in reader:
            records.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}, row {line}: cannot parse the text: {exc}") from None
    frame, blank = _frame_from_records(records, path)
    info = {"format": "csv", "encoding": encoding, "delimiter": delimiter}
    return _with_decimal(frame, decimal), {**info, "blank_rows": blank}


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    for encoding in _TEXT_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        bom = raw.startswith(b"\xef\xbb\xbf")
        return text, "utf-8" if encoding == "utf-8-sig" and not bom else encoding
    raise DataError(f"{path}: cannot decode the text")  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    header = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in _DELIMITERS}
    return max(_DELIMITERS, key=lambda d: (counts[d], -_DELIMITERS.index(d)))


def _read_excel(path: Path, *, sheet: str | int | None, decimal: str) -> tuple:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot open the Excel workbook: {exc}") from None
    try:
        names = book.sheetnames
        name = names[sheet or 0] if isinstance(sheet, int | None) else sheet
        if name not in names:
            raise DataError(f"{path}: no sheet '{sheet}'; the sheets are {names}")
        rows = book[name].iter_rows(values_only=True)
        records = [(i, [_cell_text(v) for v in row]) for i, row in enumerate(rows, 1)]
    except IndexError:
        raise DataError(f"{path}: no sheet at position {sheet}") from None
    finally:
        book.close()
    records = _fit_to_header(records, path)
    frame, blank = _frame_from_records(records, path)
    return frame, {"format": "excel", "sheet": name, "blank_rows": blank}


def _read_spss(path: Path, *, sheet: object, decimal: str) -> tuple:
    import pyreadstat

    frame, meta = _pyreadstat(pyreadstat.read_sav, path, "SPSS")
    recoded = {}
    for column, ranges in (meta.missing_ranges or {}).items():
        values = frame[column]
        mask = np.zeros(len(values), dtype=bool)
        for bounds in ranges:
            mask |= ((values >= bounds["lo"]) & (values <= bounds["hi"])).to_numpy()
        frame.loc[mask, column] = np.nan
        recoded[column] = int(mask.sum())
    return frame, _labels(meta, "spss", recoded)


def _read_stata(path: Path, *, sheet: object, decimal: str) -> tuple:
    import pyreadstat

    frame, meta = _pyreadstat(pyreadstat.read_dta, path, "Stata")
    recoded = {}
    for column, letters in (meta.missing_user_values or {}).items():
        mask = frame[column].isin(letters).to_numpy()
        frame[column] = pd.to_numeric(frame[column].mask(mask), errors="coerce")
        recoded[column] = int(mask.sum())
    return frame, _labels(meta, "stata", recoded)


def _read_parquet(path: Path, *, sheet: object, decimal: str) -> tuple:
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow: pip install 'cpeval[parquet]'"
        ) from None
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"{path}: cannot read the Parquet file: {exc}") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame, {"format": "parquet"}


_READERS: dict[str, Callable[..., tuple[pd.DataFrame, dict]]] = {
    ".csv": _read_text,
    ".tsv": _read_text,
    ".txt": _read_text,
    ".xlsx": _read_excel,
    ".xlsm": _read_excel,
    ".sav": _read_spss,
    ".zsav": _read_spss,
    ".dta": _read_stata,
    ".parquet": _read_parquet,
}


def _pyreadstat(function: Callable, path: Path, program: str) -> tuple:
    try:
        frame, meta = function(str(path), user_missing=True)
    except Exception as exc:  # pyreadstat raises its own non-ValueError types
        raise DataError(f"{path}: cannot read the {program} file: {exc}") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame, meta


def _labels(meta: Any, fmt: str, recoded: dict[str, int]) -> dict:
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    return {
        "format": fmt,
        "value_labels": dict(meta.variable_value_labels or {}),
        "column_labels": labels,
        "file_recoded": recoded,
    }


# ---------------------------------------------------------------- shared shaping


def _frame_from_records(
    records: list[tuple[int, list[str]]], path: Path
) -> tuple[pd.DataFrame, int]:
    """Header + rows of text -> DataFrame indexed by row number; blank rows counted."""
    filled = [
        (row, fields) for row, fields in records if any(f.strip() for f in fields)
    ]
    if not filled:
        raise DataError(f"{path}: the file is empty")
    (_, header), body = filled[0], filled[1:]
    names = [name.strip() for name in header]
    _check_header(names, path)
    ragged = [(row, len(f)) for row, f in body if len(f) != len(names)]
    if ragged:
        row, n = ragged[0]
        more = f" (and {len(ragged) - 1} more rows)" if len(ragged) > 1 else ""
        raise DataError(
            f"{path}, row {row}: has {n} fields but the header has {len(names)}{more}"
        )
    index = pd.RangeIndex(0, 0) if not body else pd.Index([r for r, _ in body])
    frame = pd.DataFrame([f for _, f in body], columns=names, index=index, dtype=object)
    frame.index.name = "row"
    blank = len(records) - len(filled) - _trailing_blank(records)
    return frame, blank


def _check_header(names: list[str], path: Path) -> None:
    for position, name in enumerate(names, start=1):
        if not name:
            raise DataError(
                f"{path}: column {position} of the header has no name; "
                "name it or delete the column"
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(
                f"{path}: column name '{name}' appears twice "
                f"(columns {seen[name]} and {position})"
            )
        seen[name] = position


def _trailing_blank(records: list[tuple[int, list[str]]]) -> int:
    count = 0
    for _, fields in reversed(records):
        if any(f.strip() for f in fields):
            break
        count += 1
    return count


def _fit_to_header(
    records: list[tuple[int, list[str]]], path: Path
) -> list[tuple[int, list[str]]]:
    """Cut Excel rows to the header's width; refuse data right of the header."""
    filled = [fields for _, fields in records if any(f.strip() for f in fields)]
    if not filled:
        return records
    width = max(i + 1 for i, f in enumerate(filled[0]) if f.strip())
    fitted = []
    for row, fields in records:
        extra = [i for i, f in enumerate(fields[width:], width) if f.strip()]
        if extra:
            raise DataError(
                f"{path}, row {row}, column {extra[0] + 1}: value "
                f"'{fields[extra[0]]}' lies right of the last named column"
            )
        fitted.append((row, (fields + [""] * width)[:width]))
    return fitted


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        is_date = value.time() == dt.time(0)
        return value.date().isoformat() if is_date else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _with_decimal(frame: pd.DataFrame, decimal: str) -> pd.DataFrame:
    if decimal == ".":
        return frame
    if decimal != ",":
        raise DataError(f"decimal must be '.' or ','; got {decimal!r}")
    pattern = r"^\s*-?\d+,\d+\s*$"
    return frame.apply(
        lambda col: col.where(
            ~col.str.match(pattern, na=False), col.str.replace(",", ".")
        )
    )


def _finish(
    frame: pd.DataFrame,
    path: Path,
    info: dict,
    missing_codes: Sequence[float] | Mapping[str, Sequence[float]],
    text: set[str],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Trim text, apply missing codes, and type each column numeric or text."""
    recoded = dict(info.pop("file_recoded", {}))
    out = {}
    for column in frame.columns:
        values = _clean(frame[column], keep_text=column in text)
        codes = _codes_for(missing_codes, column)
        if codes and column not in text and values.dtype.kind != "M":
            hit = pd.to_numeric(values, errors="coerce").isin(codes).to_numpy()
            values = values.mask(hit)
            if hit.any():
                recoded[column] = recoded.get(column, 0) + int(hit.sum())
        out[column] = values if column in text else _maybe_numeric(values)
    typed = pd.DataFrame(out, index=frame.index)
    return typed, {k: v for k, v in recoded.items() if v}


def _clean(values: pd.Series, *, keep_text: bool) -> pd.Series:
    """Numbers stay numbers; text is trimmed and missing tokens become missing.

    Text columns (ids and design keys) keep their spaces, so that validation can
    report ids that differ only by white space; only blank cells become missing.
    """
    if pd.api.types.is_numeric_dtype(values) and not keep_text:
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.map(_number_text, na_action="ignore").astype(object)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if keep_text:
        kept = values.map(_text_raw, na_action="ignore").astype(object)
        return kept.mask(kept.map(lambda v: isinstance(v, str) and not v.strip()))
    stripped = values.map(_text, na_action="ignore")
    return stripped.mask(stripped.isin(MISSING_TOKENS)).astype(object)


def _text_raw(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _text(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _maybe_numeric(values: pd.Series) -> pd.Series:
    if values.dtype.kind in "fiub" or values.dtype.kind == "M":
        return values
    present = values.dropna()
    if present.empty:
        return values.astype(float)
    if not all(isinstance(v, str | int | float) for v in present):
        return values  # dates and other objects stay as they are
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all():
        return pd.to_numeric(values, errors="coerce").astype(float)
    return values


def _codes_for(
    missing_codes: Sequence[float] | Mapping[str, Sequence[float]], column: str
) -> list[float]:
    if isinstance(missing_codes, Mapping):
        return [float(c) for c in missing_codes.get(column, ())]
    return [float(c) for c in missing_codes]
