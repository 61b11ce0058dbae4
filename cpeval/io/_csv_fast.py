"""The fast path for plain CSV text: pandas' C engine after a byte-level scan.

The C engine is used only when the scan shows that every record is one
physical line and that pandas and :mod:`csv` split it alike: quotes only around
whole cells that hold no delimiter, quote or line break (``"P01","control"``,
as R's write.csv writes them), no NUL byte, no carriage return other than in
CR LF, no line longer than the csv module's field limit. Fields are then
counted per line with numpy (delimiters + 1), so that ragged rows are found,
and named by line number, before pandas parses a cell. Whenever the scan
cannot be certain (a line that holds nothing but white space and non-ASCII
bytes, which may be Unicode white space) it returns ``None`` and the caller
reads the text with :mod:`csv`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Bytes that are no text in a cell: ASCII white space as str.strip() sees it
# (the line break included) and the quote (a line of "" cells is blank).
_NOT_TEXT = b' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"'
_BOM = b"\xef\xbb\xbf"
_NON_ASCII = bytes(range(128, 256))
# The encodings _decode reports, as pandas is to read the bytes (past the BOM).
_FAST_ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "cp1252": "cp1252",
    "latin-1": "latin-1",
}


@dataclass(frozen=True, slots=True)
class Lines:
    """The physical lines of a file, as the byte scan found them.

    Parameters
    ----------
    starts : numpy.ndarray
        Byte offset of each line (int64); line ``i`` is file row ``i + 1``.
    fields : numpy.ndarray
        Fields on each line: its delimiters + 1.
    blank : numpy.ndarray
        True where the line holds only delimiters and white space.
    """

    starts: np.ndarray
    fields: np.ndarray
    blank: np.ndarray

    def text(self, raw: bytes, line: int, encoding: str) -> str:
        """Line ``line`` (0-based) decoded, without its line break."""
        stop = self.starts[line + 1] if line + 1 < len(self.starts) else len(raw)
        piece = raw[self.starts[line] : stop].decode(encoding)
        return piece.removesuffix("\n").removesuffix("\r")


def fast_encoding(encoding: str) -> str | None:
    """The codec pandas reads the bytes with; ``None`` when the encoding (UTF-16,
    a mixed file) needs the slow path."""
    return _FAST_ENCODINGS.get(encoding)


def scan(raw: bytes, delimiter: str, max_line: int) -> Lines | None:
    """Lines, their field counts and blank lines; ``None`` when a record may
    span lines or a line may not be what it seems.

    Parameters
    ----------
    raw : bytes
        The file (UTF-8, Windows-1252 or latin-1: ASCII bytes mean ASCII).
    delimiter : str
        One ASCII character.
    max_line : int
        Longest line, in bytes, read here (the csv module refuses longer cells).
    """
    if b"\x00" in raw or not raw:
        return None
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    breaks = _positions(data, ord("\n"))
    mark = ord(delimiter)
    if b'"' in raw and not _whole_cell_quotes(raw, data, breaks, mark):
        return None
    starts = np.concatenate(([0], breaks + 1))
    if raw.endswith(b"\n"):
        starts = starts[:-1]
    if np.diff(np.append(starts, len(raw))).max() > max_line:
        return None
    fields = _counts(data, starts, mark) + 1
    blank = _blank_lines(raw, data, starts, delimiter)
    return None if blank is None else Lines(starts, fields, blank)


# Bytes looked at in one numpy pass: the temporary arrays stay in the cache and
# are reused, where whole-file arrays would be fresh memory (page faults) each time.
_STEP = 1 << 20


def _positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of ``byte`` in ``data`` (int64), in steps of :data:`_STEP`."""
    parts = [
        np.flatnonzero(data[at : at + _STEP] == byte) + at
        for at in range(0, len(data), _STEP)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _counts(data: np.ndarray, starts: np.ndarray, byte: int) -> np.ndarray:
    """How often ``byte`` occurs from each of ``starts`` (increasing offsets) to
    the next, the last to the end; a step of lines at a time."""
    counts = np.zeros(len(starts), dtype=np.int64)
    low = 0
    while low < len(starts):
        high = max(int(np.searchsorted(starts, starts[low] + _STEP)), low + 1)
        end = starts[high] if high < len(starts) else len(data)
        part = (data[starts[low] : end] == byte).view(np.uint8)
        # summed as int32 (a step is short): faster than numpy's int64
        counts[low:high] = np.add.reduceat(
            part, starts[low:high] - starts[low], dtype=np.int32
        )
        low = high
    return counts


def _whole_cell_quotes(
    raw: bytes, data: np.ndarray, breaks: np.ndarray, mark: int
) -> bool:
    """Whether quotes come in pairs, each opening a cell (after a delimiter, a
    line break or the file's start) and closing it (before a delimiter, a line
    break or the end), with no delimiter or line break between them: then
    pandas and :mod:`csv` both read the cell as the text inside, and every
    delimiter on a line separates two cells."""
    quotes = _positions(data, ord('"'))
    if len(quotes) % 2:
        return False
    opens, closes = quotes[0::2], quotes[1::2]
    first = len(_BOM) if raw.startswith(_BOM) else 0
    before = data[np.maximum(opens - 1, 0)]
    opened = (opens == first) | ((opens > first) & np.isin(before, (mark, 10)))
    last = len(data) - 1
    after = data[np.minimum(closes + 1, last)]
    closed = (closes == last) | np.isin(after, (mark, 10, 13))
    one_line = np.searchsorted(breaks, opens) == np.searchsorted(breaks, closes)
    inside = _counts(data, quotes, mark)[0::2]
    return bool(opened.all() and closed.all() and one_line.all() and not inside.any())


def _blank_lines(
    raw: bytes, data: np.ndarray, starts: np.ndarray, delimiter: str
) -> np.ndarray | None:
    """Lines holding only delimiters, quotes and white space. A line that
    starts with ASCII text (after a quote) is not blank; the others are looked
    at one by one."""
    plain = np.ones(256, dtype=bool)
    plain[list(_NOT_TEXT + _NON_ASCII + delimiter.encode())] = False
    blank = np.zeros(len(starts), dtype=bool)
    ends = np.append(starts[1:], len(raw))
    removed = _NOT_TEXT + delimiter.encode()
    head = data[starts]
    second = data[np.minimum(starts + 1, len(data) - 1)]
    text = plain[head] | ((head == ord('"')) & plain[second])  # "x... is text
    for line in np.flatnonzero(~text).tolist():
        rest = raw[starts[line] : ends[line]].translate(None, removed)
        if not rest:
            blank[line] = True
        elif not rest.translate(None, _NON_ASCII):
            return None  # non-ASCII bytes only: Unicode white space, perhaps
    return blank


def read_body(
    source: bytes,
    lines: Lines,
    header: int,
    names: Sequence[str],
    *,
    delimiter: str,
    encoding: str,
    missing: Collection[str],
    text: Collection[str],
) -> pd.DataFrame | None:
    """The data lines after line ``header`` as pandas' C engine types them.

    ``source`` is the file's bytes as read once (the data, the scan and the
    SHA-256 all come from them).

    Numeric columns come as numbers (missing tokens as NaN), other columns as
    their untrimmed text, and the ``text`` columns as untouched text (their
    missing tokens kept). Blank lines are dropped; the index is the row number.
    ``None`` when pandas does not return one row per line.
    """
    width = len(names)
    keep = ~lines.blank[header + 1 :]
    if lines.fields[header + 1 :][~keep].max(initial=0) > width:
        return None  # a blank line with extra delimiters: pandas would refuse it
    kept = [i for i, name in enumerate(names) if name in text]
    options = {
        "na_values": {i: list(missing) for i in range(width) if i not in kept},
        "dtype": dict.fromkeys(kept, object),
    }
    frame = _c_engine(source, header, width, delimiter, encoding, options)
    if frame is None or len(frame) != len(keep):
        return None
    loose = [i for i in frame.columns if i not in kept and _untyped(frame[i])]
    if loose:  # booleans, huge integers, or text in one chunk and numbers in
        options["dtype"].update(dict.fromkeys(loose, object))  # another
        again = _c_engine(source, header, width, delimiter, encoding, options, loose)
        if again is None or len(again) != len(keep):
            return None
        frame[loose] = again[loose]
    if not keep.all():
        frame = frame.loc[keep]
    frame.columns = list(names)
    rows = np.flatnonzero(keep) + header + 2
    frame.index = pd.Index(rows.astype(np.int64), name="row")
    return frame


def _untyped(values: pd.Series) -> bool:
    """Neither numbers nor text: booleans (True/False), huge integers that
    pandas kept as Python ints, or a mix of numbers and text (pandas types
    each chunk of a long file on its own)."""
    return not (values.dtype.kind in "fiu" or isinstance(values.dtype, pd.StringDtype))


def _c_engine(
    source: bytes,
    header: int,
    width: int,
    delimiter: str,
    encoding: str,
    options: dict,
    columns: Sequence[int] | None = None,
) -> pd.DataFrame | None:
    """The lines after line ``header`` (counting blank lines), columns named
    0, 1, ...; read in chunks (low_memory), faster than skipping lines."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(
                io.BytesIO(source),
                engine="c",
                sep=delimiter,
                header=header,
                names=list(range(width)),
                usecols=columns,
                index_col=False,
                skip_blank_lines=False,
                keep_default_na=False,
                encoding=encoding,
                **options,
            )
    except (ValueError, OverflowError):  # ParserError is a ValueError
        return None
