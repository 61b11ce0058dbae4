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
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype as is_numeric

from .._files import MAX_DATA_BYTES, check_input, sha256
from .._format import is_missing
from ..exceptions import DataError, one_line
from . import _csv_fast

__all__ = ["MISSING_TOKENS", "ReadReport", "read_data"]

#: Cell texts read as missing in CSV and Excel files (after trimming spaces).
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", "."})

# Every character str.strip() removes (those for which str.isspace is true),
# for Series.str.strip, which pyarrow's utf8_trim runs with no Python loop.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)

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
_MAX_HEADER_BYTES = 2**20  # a header line longer than this is not a header
_MAX_FIELD_CHARS = csv.field_size_limit()  # csv's own limit (131,072)
# Excel workbooks are checked before they are parsed (a zip bomb, a sheet whose
# dimension spans the whole grid, millions of shared strings) and then streamed.
_XLSX_MAX_UNZIPPED = 512 * 2**20  # all parts together, uncompressed
_XLSX_MAX_STRINGS_BYTES = 64 * 2**20  # sharedStrings.xml is held in memory
_XLSX_MAX_STRINGS = 2_000_000
_XLSX_MAX_ROWS = 1_048_576
_XLSX_MAX_COLUMNS = 4_000
_XLSX_MAX_CELLS = 20_000_000
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


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
    notes : tuple of str
        What was read in a way the user should know of (a hidden sheet passed
        over, formula cells without a saved value, rows in another encoding).
        Validation reports each as a warning.
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
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, frame: pd.DataFrame) -> ReadReport:
        """The report of a frame returned by :func:`read_data`."""
        try:
            fields = dict(frame.attrs["cpeval_read"])
            fields["notes"] = tuple(fields.get("notes", ()))
            return cls(**fields)
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
        Excel sheet name or 0-based position; by default the first visible
        sheet (a hidden sheet before it is passed over, with a note).
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
    check_input(path, "file", MAX_DATA_BYTES)
    if isinstance(sheet, bool) or (isinstance(sheet, int) and sheet < 0):
        raise DataError(f"{path}: sheet must be a name or a position 0, 1, ...")
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        supported = ", ".join(sorted(_READERS))
        raise DataError(
            f"{path}: cannot read files ending in '{suffix or '(none)'}'; "
            f"cpeval reads {supported}"
        )
    _check_content(path, suffix)
    text = set(text_columns)
    options = {"text": text} if suffix in _TEXT_SUFFIXES else {}
    frame, info = _READERS[suffix](path, sheet=sheet, decimal=decimal, **options)
    digest = info.pop("sha256", None) or sha256(path)  # text files: of the bytes read
    frame, recoded = _finish(frame, path, info, missing_codes, text)
    if frame.empty:
        raise DataError(f"{path}: the file has column names but no data rows")
    report = ReadReport(
        path=str(path),
        sha256=digest,
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
    elif suffix in (".xlsx", ".xlsm") and head.startswith(b"\xd0\xcf\x11\xe0"):
        if _is_encrypted(path):
            raise DataError(
                f"{path}: the workbook is password-protected (encrypted); remove "
                "the password in Excel (File > Info > Protect Workbook) and save again"
            )
        raise DataError(
            f"{path}: the content is an old Excel .xls file; save it as .xlsx or CSV"
        )
    elif suffix not in fits:
        actual = kind or "a text file"
        raise DataError(
            f"{path}: a '{suffix}' file was expected but the content is {actual}; "
            "check the file or its extension"
        )


def _is_encrypted(path: Path) -> bool:
    """An encrypted .xlsx is an OLE container holding an 'EncryptedPackage'."""
    with open(path, "rb") as handle:
        return _ENCRYPTED in handle.read(1 << 20)


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


def _read_text(
    path: Path, *, sheet: object, decimal: str, text: Set[str] = frozenset()
) -> tuple[pd.DataFrame, dict]:
    """Rows are numbered as a spreadsheet shows them: one per record (a line
    break inside quotes stays in its cell), the header being row 1.

    A plain file (one record per line, quotes only around whole cells) is
    parsed by pandas' C engine (:func:`_fast_text`); any other by :mod:`csv`
    (:func:`_csv_text`). Both give the same frame and the same errors; ``text``
    names the columns kept as text.
    """
    raw = path.read_bytes()
    _check_header_length(raw, path)
    decoded, encoding, notes = _decode(raw, path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(decoded)
    digest = hashlib.sha256(raw).hexdigest()  # the bytes in hand: no second read
    fast = None
    if decimal == "." and not notes:  # pandas parses the bytes in hand
        fast = _fast_text(raw, path, encoding=encoding, delimiter=delimiter, text=text)
    del raw
    frame, blank = fast if fast is not None else _csv_text(decoded, path, delimiter)
    info = {"format": "csv", "encoding": encoding, "delimiter": delimiter}
    return _with_decimal(frame, decimal, path), {
        **info,
        "sha256": digest,
        "blank_rows": blank,
        "notes": notes,
    }


def _csv_text(text: str, path: Path, delimiter: str) -> tuple[pd.DataFrame, int]:
    """The frame of raw cell texts and the blank rows, read by :mod:`csv`."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, row = [], 1
    try:
        for row, fields in enumerate(reader, start=1):
            records.append((row, fields))
    except csv.Error as exc:
        raise DataError(
            f"{path}, row {row + 1}: cannot parse the text: {_csv_reason(exc)}"
        ) from None
    return _frame_from_records(records, path)


def _fast_text(
    raw: bytes, path: Path, *, encoding: str, delimiter: str, text: Set[str]
) -> tuple[pd.DataFrame, int] | None:
    """The frame and blank rows by pandas' C engine, numeric columns already
    numbers; ``None`` when the bytes do not show one record per line (then
    :func:`_csv_text` reads the file). Header and ragged rows are checked as
    :func:`_frame_from_records` checks them, with the same messages."""
    codec = _csv_fast.fast_encoding(encoding)
    if codec is None or not delimiter.isascii():
        return None
    lines = _csv_fast.scan(raw, delimiter, _MAX_FIELD_CHARS)
    if lines is None:
        return None
    filled = np.flatnonzero(~lines.blank)
    if len(filled) < 2:
        return None  # empty or header only: the csv path says which
    header, body = int(filled[0]), filled[1:]
    line = lines.text(raw, header, encoding)
    names = [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]
    _check_header(names, path)
    ragged = body[lines.fields[body] != len(names)]
    if len(ragged):
        first = int(ragged[0])
        n = int(lines.fields[first])
        raise _ragged_error(path, first + 1, n, len(names), len(ragged) - 1)
    frame = _csv_fast.read_body(
        raw,
        lines,
        header,
        names,
        delimiter=delimiter,
        encoding=codec,
        missing=MISSING_TOKENS,
        text=text,
    )
    if frame is None:
        return None
    trailing = len(lines.blank) - 1 - int(filled[-1])
    return frame, int(lines.blank.sum()) - trailing


def _check_header_length(raw: bytes, path: Path) -> None:
    start = len(raw) - len(raw.lstrip(b"\r\n\xef\xbb\xbf\xff\xfe"))
    end = raw.find(b"\n", start, start + _MAX_HEADER_BYTES + 1)
    if end == -1 and len(raw) - start > _MAX_HEADER_BYTES:
        raise DataError(
            f"{path}, row 1: the header line is longer than "
            f"{_MAX_HEADER_BYTES // 2**20} MB; this is not a questionnaire export"
        )


def _csv_reason(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell holds more than {_MAX_FIELD_CHARS:,} characters"
    return str(exc)


def _decode(raw: bytes, path: Path) -> tuple[str, str, tuple[str, ...]]:
    """Text, its encoding and notes: UTF-16 (BOM), UTF-8, or Windows-1252.

    A UTF-8 file with a few lines in another encoding (an edit in another
    program) is read line by line, each line as UTF-8 where it can be, and the
    other lines named in a note.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", ()
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: the UTF-16 text is cut or damaged at byte {exc.start:,} "
                f"of {len(raw):,}; export the file again"
            ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8", ()
    mixed = _mixed_utf8(raw)
    if mixed is not None:
        return mixed
    for encoding in _TEXT_ENCODINGS[1:]:
        try:
            return raw.decode(encoding), encoding, ()
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: cannot decode the text")  # pragma: no cover


def _mixed_utf8(raw: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """Lines decoded one by one when some are valid non-ASCII UTF-8 and others
    are not UTF-8 at all; ``None`` when no line is non-ASCII UTF-8."""
    lines = raw.split(b"\n")
    utf8, other = 0, []
    for number, line in enumerate(lines, start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other.append(number)
    if not utf8:
        return None
    text = "\n".join(_line_text(line) for line in lines).removeprefix("\ufeff")
    shown = ", ".join(map(str, other[:5])) + (" ..." if len(other) > 5 else "")
    note = (
        f"the file is UTF-8 but {len(other)} line(s) ({shown}) are not; they were "
        "read as Windows-1252: check their accented letters and save the file as "
        "UTF-8"
    )
    return text, "utf-8 (mixed)", (note,)


def _line_text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    start = len(text) - len(text.lstrip("\r\n"))
    end = text.find("\n", start)
    header = text[start : end if end != -1 else len(text)].rstrip("\r")
    counts = {}
    for d in _DELIMITERS:
        try:
            counts[d] = len(next(csv.reader([header], delimiter=d), []))
        except csv.Error:
            counts[d] = 0
    return max(_DELIMITERS, key=lambda d: (counts[d], -_DELIMITERS.index(d)))


def _read_excel(path: Path, *, sheet: str | int | None, decimal: str) -> tuple:
    _check_workbook(path)
    values, formulas = _open_workbook(path, True), _open_workbook(path, False)
    notes: list[str] = []
    try:
        name = _sheet_name(values, sheet, path, notes)
        _check_dimension(values[name], name, path)
        rows = _stream_rows(values[name], formulas[name], name, path, notes)
        records = [(i, [_cell_text(v) for v in row]) for i, row in enumerate(rows, 1)]
    finally:
        values.close()
        formulas.close()
    if not any(any(c.strip() for c in fields) for _, fields in records):
        raise DataError(
            f"{path}: sheet '{name}' is empty (the sheets are {_sheets(path)}); name "
            "the data's sheet with sheet = ... in the codebook"
        )
    records = _fit_to_header(records, path)
    frame, blank = _frame_from_records(records, path)
    info = {"format": "excel", "sheet": name, "blank_rows": blank}
    return frame, {**info, "notes": tuple(notes)}


def _sheets(path: Path) -> list[str]:
    book = _open_workbook(path, True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _check_workbook(path: Path) -> None:
    """Refuse a workbook that would exhaust memory or time before parsing it."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot open the Excel workbook: {exc}") from None
    total = sum(part.file_size for part in parts)
    if total > _XLSX_MAX_UNZIPPED:
        raise DataError(
            f"{path}: the workbook unpacks to {total / 2**20:,.0f} MB, more than the "
            f"{_XLSX_MAX_UNZIPPED // 2**20} MB cpeval reads (a damaged or hostile "
            "file?); save the data sheet alone as CSV"
        )
    for part in parts:
        if not part.filename.lower().endswith("sharedstrings.xml"):
            continue
        count = _declared_strings(path, part)
        if part.file_size > _XLSX_MAX_STRINGS_BYTES or count > _XLSX_MAX_STRINGS:
            raise DataError(
                f"{path}: the workbook's shared text table holds {count:,} texts "
                f"in {part.file_size / 2**20:,.0f} MB, more than cpeval reads "
                f"({_XLSX_MAX_STRINGS:,} texts, {_XLSX_MAX_STRINGS_BYTES // 2**20} MB);"
                " save the sheet as CSV"
            )


def _declared_strings(path: Path, part: zipfile.ZipInfo) -> int:
    """The shared-string count the part declares (``uniqueCount``), read from
    its first kilobyte only."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as handle:
            head = handle.read(1024).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0  # openpyxl will say what is wrong with the part
    match = re.search(r'uniqueCount="(\d+)"', head)
    return int(match.group(1)) if match else 0


def _open_workbook(path: Path, data_only: bool) -> Any:
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        message = one_line(str(exc), 300)
        raise DataError(f"{path}: cannot open the Excel workbook: {message}") from None


def _sheet_name(book: Any, sheet: str | int | None, path: Path, notes: list) -> str:
    names = book.sheetnames
    if isinstance(sheet, str):
        if sheet not in names:
            raise DataError(f"{path}: no sheet '{sheet}'; the sheets are {names}")
        return sheet
    if isinstance(sheet, int):
        if sheet >= len(names):
            raise DataError(
                f"{path}: no sheet at position {sheet}; the sheets are {names}"
            )
        return names[sheet]
    visible = [n for n in names if book[n].sheet_state == "visible"]
    if not visible:
        raise DataError(f"{path}: every sheet is hidden; name one with sheet = ...")
    hidden = names[: names.index(visible[0])]
    if hidden:
        notes.append(
            f"hidden sheet(s) {', '.join(repr(h) for h in hidden)} passed over; "
            f"the first visible sheet '{visible[0]}' was read (set sheet = ... "
            "in the codebook to choose)"
        )
    return visible[0]


def _check_dimension(worksheet: Any, name: str, path: Path) -> None:
    """The sheet's declared size, before a cell is read."""
    try:
        rows, columns = worksheet.max_row or 0, worksheet.max_column or 0
    except (ValueError, TypeError):
        return  # no usable dimension: the streaming limits still apply
    _check_size(rows, columns, name, path)
    worksheet.reset_dimensions()  # read cells as they are, never padded to a size


def _check_size(rows: int, columns: int, name: str, path: Path) -> None:
    if (
        rows > _XLSX_MAX_ROWS
        or columns > _XLSX_MAX_COLUMNS
        or rows * columns > _XLSX_MAX_CELLS
    ):
        raise DataError(
            f"{path}: sheet '{name}' spans {rows:,} rows by {columns:,} columns, "
            f"more than cpeval reads ({_XLSX_MAX_COLUMNS:,} columns, "
            f"{_XLSX_MAX_CELLS:,} cells); delete the stray cells far from the data "
            "or save the data as CSV"
        )


def _stream_rows(values: Any, formulas: Any, name: str, path: Path, notes: list):
    """The sheet's rows as values, within the size limits; formula cells with no
    saved value (a file written by a program that does not calculate) are counted
    by column letter and named in a note."""
    formulas.reset_dimensions()
    unsaved: dict[int, int] = {}
    width = 0
    pairs = zip(
        values.iter_rows(values_only=True),
        formulas.iter_rows(values_only=True),
        strict=False,
    )
    for number, (row, written) in enumerate(pairs, start=1):
        width = max(width, len(row))
        _check_size(number, width, name, path)
        for column, (value, formula) in enumerate(zip(row, written, strict=False)):
            if value is None and isinstance(formula, str) and formula.startswith("="):
                unsaved[column] = unsaved.get(column, 0) + 1
        yield row
    if unsaved:
        from openpyxl.utils import get_column_letter

        shown = ", ".join(
            f"{get_column_letter(c + 1)} ({n})" for c, n in sorted(unsaved.items())
        )
        notes.append(
            f"sheet '{name}': formula cells without a saved value were read as "
            f"missing in column(s) {shown}; open the file in Excel and save it, "
            "so that the values are stored"
        )


def _read_spss(path: Path, *, sheet: object, decimal: str) -> tuple:
    import pyreadstat

    frame, meta = _pyreadstat(pyreadstat.read_sav, path, "SPSS")
    frame = _trim_padding(frame, meta.readstat_variable_types or {})
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
    kinds = meta.readstat_variable_types or {}
    for column in frame.columns:
        values = frame[column]
        if kinds.get(column, "string") == "string" or values.dtype.kind in "fiuM":
            continue
        # a numeric Stata variable holding .a to .z: extended missing values
        mask = np.array([_extended_missing(v) for v in values], dtype=bool)
        if not mask.any():
            frame[column] = _dates_or_numbers(values)
            continue
        frame[column] = pd.to_numeric(values.mask(mask), errors="coerce")
        recoded[column] = int(mask.sum())
    return _trim_padding(frame, kinds), _labels(meta, "stata", recoded)


def _dates_or_numbers(values: pd.Series) -> pd.Series:
    """A Stata date (%td) column comes as date objects: keep them as dates."""
    present = values.dropna()
    if len(present) and all(isinstance(v, dt.date) for v in present):
        return pd.to_datetime(values)
    return values


def _extended_missing(value: object) -> bool:
    if not isinstance(value, str):
        return False
    text = value.lstrip(".")
    return len(text) == 1 and "a" <= text <= "z"


def _trim_padding(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """SPSS and Stata store text in fixed widths: trailing spaces are padding."""
    for column in frame.columns:
        values = frame[column]
        if kinds.get(column) != "string" or is_numeric(values):
            continue
        if isinstance(values.dtype, pd.StringDtype):  # no Python loop in pyarrow
            frame[column] = values.str.rstrip(" ")
        else:
            frame[column] = values.map(
                lambda v: v.rstrip(" ") if isinstance(v, str) else v
            )
    return frame


def _read_parquet(path: Path, *, sheet: object, decimal: str) -> tuple:
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow: pip install 'cpeval[parquet]'"
        ) from None
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        reason = one_line(str(exc), 300)
        raise DataError(f"{path}: cannot read the Parquet file: {reason}") from None
    if not _default_index(frame.index):  # pandas wrote its index, e.g. the ids
        frame = frame.reset_index()
    frame = frame.apply(_wall_time)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    return frame, {"format": "parquet"}


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0


def _wall_time(values: pd.Series) -> pd.Series:
    """Time-zone-aware times as the local date and time they show; binary
    (bytes) columns as UTF-8 text."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_localize(None)
    if values.dtype == object and any(isinstance(v, bytes) for v in values):
        return values.map(
            lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v
        )
    return values


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
        reason = one_line(str(exc), 300)
        raise DataError(f"{path}: cannot read the {program} file: {reason}") from None
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
        raise _ragged_error(path, row, n, len(names), len(ragged) - 1)
    index = pd.RangeIndex(0, 0) if not body else pd.Index([r for r, _ in body])
    frame = pd.DataFrame([f for _, f in body], columns=names, index=index, dtype=object)
    frame.index.name = "row"
    blank = len(records) - len(filled) - _trailing_blank(records)
    return frame, blank


def _ragged_error(path: Path, row: int, n: int, width: int, others: int) -> DataError:
    """The first row whose field count differs from the header's, and how many
    ``others`` do too."""
    more = f" (and {others} more rows)" if others else ""
    return DataError(
        f"{path}, row {row}: has {n} fields but the header has {width}{more}"
    )


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
                f"{path}, row {row}: column {extra[0] + 1} holds "
                f"'{fields[extra[0]]}' but the header names {width} columns (a "
                "merged or empty header cell? give every column its own name)"
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


def _with_decimal(frame: pd.DataFrame, decimal: str, path: Path) -> pd.DataFrame:
    """Decimal commas to points; a number with a point in a decimal-comma file
    (a thousands separator, or a mixed export) is refused, never guessed."""
    if decimal == ".":
        return frame
    if decimal != ",":
        raise DataError(f"decimal must be '.' or ','; got {decimal!r}")
    for column in frame.columns:
        dotted = frame[column].str.match(r"^\s*-?\d+\.\d+\s*$", na=False)
        if dotted.any():
            row = dotted.index[dotted.to_numpy()][0]
            raise DataError(
                f"{path}, row {row}, column '{column}': '{frame.at[row, column]}' has "
                "a decimal point, but the codebook says decimal = ',': a thousands "
                "separator? write the number without it, or as 1,5"
            )
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
    if keep_text and _is_str(values):
        blank = (values.str.strip(_WHITE_SPACE) == "").to_numpy(dtype=bool)
        return values.astype(object).mask(blank)
    if keep_text:
        kept = values.map(_text_raw, na_action="ignore").astype(object)
        return kept.mask(kept.map(lambda v: isinstance(v, str) and not v.strip()))
    if _is_str(values):
        return _clean_strings(values)
    cells = _cells(values.tolist())  # plain Python: fast on wide files
    return pd.Series(cells, index=values.index, dtype=object, name=values.name)


def _is_str(values: pd.Series) -> bool:
    """pandas' default text dtype ``str`` (missing as NaN), which the C engine
    and pyreadstat give."""
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.na_value is np.nan


def _clean_strings(values: pd.Series) -> pd.Series:
    """:func:`_cells` of a column of pandas' str dtype, vectorised (by pyarrow's
    string kernels where pandas keeps text in pyarrow): only the cells with
    white space at an end go through Python."""
    tokens = values.isin(sorted(MISSING_TOKENS)).to_numpy(dtype=bool)
    cells = values.astype(object).mask(tokens)
    trimmed = values.str.strip(_WHITE_SPACE)
    padded = (trimmed != values).to_numpy(dtype=bool) & values.notna().to_numpy()
    if padded.any():
        cells[padded] = _cells(values[padded].tolist())
    return cells


def _cells(values: list) -> list:
    """:func:`_cell` of each value, text inlined (most cells are text)."""
    return [
        (np.nan if (text := v.strip()) in MISSING_TOKENS else text)
        if type(v) is str
        else _cell(v)
        for v in values
    ]


def _cell(value: object) -> object:
    """One text cell trimmed; missing tokens (and missing values) as NaN."""
    if is_missing(value):
        return np.nan
    text = _text(value)
    return np.nan if isinstance(text, str) and text in MISSING_TOKENS else text


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
    items = values.tolist()
    first = next((v for v in items if type(v) is str or not is_missing(v)), None)
    if first is None:  # no value present
        return values.astype(float)
    if isinstance(first, str) and not _is_number(first):
        return values  # one text that is not a number keeps the column text
    present = [v for v in items if type(v) is str or not is_missing(v)]
    if not all(isinstance(v, str | int | float) for v in present):
        return values  # dates and other objects stay as they are
    numbers = pd.to_numeric(values, errors="coerce")
    if int(numbers.notna().sum()) == len(present):
        return numbers.astype(float)
    return values


def _is_number(text: str) -> bool:
    """Whether :func:`pandas.to_numeric` reads ``text`` as a number (it reads
    each value on its own, so one failure fails it in a whole column too)."""
    return bool(
        pd.to_numeric(pd.Series([text], dtype=object), errors="coerce").notna()[0]
    )


def _codes_for(
    missing_codes: Sequence[float] | Mapping[str, Sequence[float]], column: str
) -> list[float]:
    if isinstance(missing_codes, Mapping):
        return [float(c) for c in missing_codes.get(column, ())]
    return [float(c) for c in missing_codes]
