"""The hostile-input corpus: malformed, hostile and surprising inputs, each with
the outcome cpeval owes the user.

Every case writes its study into a fresh folder and returns the ``cpeval``
command to run on it. Its outcome is one of

- ``"error"``: the command exits 2 with one line ``cpeval: error: ...`` that
  names the file and matches ``says``;
- ``"warning"``: ``cpeval validate`` exits 1 and lists a warning matching
  ``says`` (the data are usable);
- ``"result"``: the command succeeds and ``check(folder)`` confirms the right
  answer.

Cases marked ``heavy`` are run in a child process with a time and memory
bound (they used to hang or exhaust memory). ``python -m tests.hostile``
prints the table of cases and outcomes, with the peak memory of the heavy ones.

The small study is the bad-input corpus's (``tests/data/bad``); cases that need
a full analysis use the zoo's study with economics (``tests/zoo``).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import DATA, ROOT

BAD = DATA / "bad"
HOSTILE = DATA / "hostile"
HEADER = "id,arm,team,interview_date,age,q1,q2,q3"


@dataclass(frozen=True)
class Hostile:
    """One hostile input and what cpeval must do with it."""

    name: str
    make: Callable[[Path], list[str]]  # writes the input; returns the argv
    outcome: str  # "error", "warning" or "result"
    says: str = ""  # a regular expression the message must match
    check: Callable[[Path], None] | None = None
    heavy: bool = False  # run in a bounded child process


# --------------------------------------------------------------- the small study


def _study(
    folder: Path,
    baseline: bytes | None = None,
    followup: bytes | None = None,
    *,
    codebook: Callable[[str], str] = lambda text: text,
    suffix: str = ".csv",
) -> Path:
    """The corpus study in ``folder``, with either file and the codebook changed."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"baseline{suffix}"
    base.write_bytes(baseline or (BAD / "good_baseline.csv").read_bytes())
    follow = folder / "followup.csv"
    follow.write_bytes(followup or (BAD / "good_followup.csv").read_bytes())
    text = (BAD / "codebook.toml").read_text(encoding="utf-8")
    text = text.replace('"good_baseline.csv"', f'"{base.name}"')
    text = text.replace('"good_followup.csv"', '"followup.csv"')
    path = folder / "codebook.toml"
    path.write_text(codebook(text), encoding="utf-8")
    return path


def _validate(path: Path) -> list[str]:
    return ["validate", str(path)]


def _good_rows(wave: str = "baseline") -> list[str]:
    text = (BAD / f"good_{wave}.csv").read_text(encoding="utf-8")
    return text.splitlines()[1:]


def _csv(rows: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def _with_row(index: int, row: str, wave: str = "baseline") -> bytes:
    rows = _good_rows(wave)
    rows[index] = row
    return _csv(rows)


def _codebook_edit(old: str, new: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        return _validate(_study(folder, codebook=lambda t: _replace(t, old, new)))

    return make


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def _baseline_edit(index: int, row: str) -> Callable[[Path], list[str]]:
    return lambda folder: _validate(_study(folder, _with_row(index, row)))


def _followup_edit(index: int, row: str) -> Callable[[Path], list[str]]:
    return lambda folder: _validate(
        _study(folder, followup=_with_row(index, row, "followup"))
    )


def _load(folder: Path):
    import cpeval

    return cpeval.load_study(folder / "codebook.toml")


# ---------------------------------------------------------- reading the files


def _huge_header(folder: Path) -> list[str]:
    path = _study(folder)
    with open(folder / "baseline.csv", "wb") as handle:
        block = b"x" * (1 << 20)
        for _ in range(200):
            handle.write(block)
        handle.write(b"\n1\n")
    return _validate(path)


def _utf16_cut(folder: Path) -> list[str]:
    data = (BAD / "good_baseline.csv").read_text().encode("utf-16")
    return _validate(_study(folder, data[:-1]))


def _stray_latin1(folder: Path) -> list[str]:
    rows = _good_rows()
    rows[0] = rows[0].replace("T1", "Z\u00fcrich-1a")
    rows[1] = rows[1].replace("T1", "Z\u00fcrich-1a")
    data = bytearray(_csv(rows))
    # one line re-saved by a Windows program: its ü is the single byte 0xfc
    team = "Z\u00fcrich-1a"
    second = data.index(team.encode(), data.index(b"P02"))
    data[second : second + len(team.encode())] = team.encode("cp1252")
    follow = (BAD / "good_followup.csv").read_text().replace("T1", team).encode()
    return _validate(_study(folder, bytes(data), follow))


def _check_stray_latin1(folder: Path) -> None:
    study = _load(folder)
    teams = set(study.data["team"])
    assert teams == {"Z\u00fcrich-1a", "T2"}, teams


def _quoted_newline_rows(folder: Path) -> list[str]:
    rows = _good_rows()
    rows[0] = 'P01,control,T1,2025-01-10,34,1,2,"3"'
    rows[1] = 'P02,control,"T\n1",2025-01-11,45,2,2,2'
    rows[3] = "P04,intervention,T2,2025-01-13,29,3,3,6"  # out of range, row 5
    return _validate(_study(folder, _csv(rows)))


def _check_quoted_newline_rows(folder: Path) -> None:
    import cpeval

    problems = cpeval.validate(folder / "codebook.toml").to_frame()
    where = dict(zip(problems["rule"], problems["row"], strict=False))
    assert where.get("control_character") == 3, problems
    assert where.get("not_allowed") == 5, problems  # the spreadsheet's row 5


def _nfc_nfd(folder: Path) -> list[str]:
    base = _with_row(0, "Jos\u00e9-01,control,T1,2025-01-10,34,1,2,3")
    follow = _with_row(0, "Jose\u0301-01,control,T1,2025-07-10,34,2,2,3", "followup")
    return _validate(_study(folder, base, follow))


def _nfd_column(folder: Path) -> list[str]:
    base, follow = (
        (BAD / f"good_{w}.csv").read_text().replace(",age,", ",\u00e1ge,").encode()
        for w in ("baseline", "followup")
    )

    def edit(text: str) -> str:
        return _replace(text, "age = {", '"a\u0301ge" = {')

    return _validate(_study(folder, base, follow, codebook=edit))


def _inf_count(value: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        rows = [r + ",1" for r in _good_rows()]
        rows[2] = rows[2][:-1] + value
        data = _csv(rows, HEADER + ",visits")
        edit = _add_column('visits = { type = "integer", min = 0 }')
        return _validate(_study(folder, data, codebook=edit))

    return make


def _add_column(declaration: str) -> Callable[[str], str]:
    return lambda text: _replace(
        text,
        "[columns]\n",
        f"[columns]\n{declaration}\n",
    )


def _spss_padded(folder: Path) -> list[str]:
    import pyreadstat

    rows = [r.split(",") for r in _good_rows()]
    frame = pd.DataFrame(rows, columns=HEADER.split(","))
    frame["id"] = frame["id"].str.ljust(8)  # SPSS pads text to its width
    for column in ("age", "q1", "q2", "q3"):
        frame[column] = frame[column].astype(float)
    path = _study(folder, b"x", suffix=".sav")
    pyreadstat.write_sav(frame, str(folder / "baseline.sav"))
    return _validate(path)


def _check_linked(folder: Path) -> None:
    study = _load(folder)
    assert len(study.data) == 7, study.data
    assert set(study.data["id"]) == {"P01", "P02", "P03", "P04"}


def _stata_extended(folder: Path) -> list[str]:
    import pyreadstat

    rows = [r.split(",") for r in _good_rows()]
    frame = pd.DataFrame(rows, columns=HEADER.split(","))
    for column in ("age", "q1", "q2", "q3"):
        frame[column] = frame[column].astype(float).astype(object)
    frame.loc[1, "q2"], frame.loc[3, "q3"] = "a", "b"  # .a refused, .b not asked
    path = _study(folder, b"x", suffix=".dta")
    pyreadstat.write_dta(
        frame,
        str(folder / "baseline.dta"),
        missing_user_values={"q2": ["a"], "q3": ["b"]},
    )
    return _validate(path)


def _check_stata_extended(folder: Path) -> None:
    from cpeval.io import ReadReport, read_data

    report = ReadReport.of(read_data(folder / "baseline.dta"))
    assert report.missing_recoded == {"q2": 1, "q3": 1}, report
    study = _load(folder)
    base = study.data[study.data["wave"] == "baseline"].set_index("id")
    assert np.isnan(base.loc["P02", "q2"]) and np.isnan(base.loc["P04", "q3"])


def _stata_dates(kind: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        frame = _parquet_frame()
        frame["interview_date"] = pd.to_datetime(frame["interview_date"])
        path = _study(folder, b"x", suffix=".dta")
        frame.to_stata(
            folder / "baseline.dta",
            write_index=False,
            convert_dates={"interview_date": kind},
        )
        return _validate(path)

    return make


def _wide(folder: Path, n: int = 10_000) -> list[str]:
    """Every item of a 10,000-item instrument, in both files."""
    items = ",".join(f"q{i}" for i in range(1, n + 1))
    ones = ",".join("1" * n)

    def widen(wave: str) -> bytes:
        rows = [",".join(r.split(",")[:5]) + "," + ones for r in _good_rows(wave)]
        return _csv(rows, ",".join(HEADER.split(",")[:5]) + "," + items)

    def edit(text: str) -> str:
        return _replace(text, 'items = "q{1..3}"', f'items = "q{{1..{n}}}"')

    return _validate(
        _study(folder, widen("baseline"), widen("followup"), codebook=edit)
    )


def _check_wide(folder: Path) -> None:
    assert (folder / "baseline.csv").stat().st_size > 100_000


def _repeated_rows(folder: Path) -> list[str]:
    rows = [f"X{i:05d},control,T1,2025-01-10,34,1,2,3" for i in range(10_000)]
    return _validate(_study(folder, _csv(_good_rows() + rows + rows)))


def _same_label(folder: Path) -> list[str]:
    base = (BAD / "good_baseline.csv").read_text().replace(",control,", ",0,")
    follow = (BAD / "good_followup.csv").read_text().replace(",control,", ",0,")
    base, follow = (t.replace(",intervention,", ",1,") for t in (base, follow))

    def edit(text: str) -> str:
        text = _replace(text, 'groups = ["control", "intervention"]\n', "")
        text = _replace(text, 'intervention = "intervention"', 'intervention = "1"')
        labels = 'group_labels = { "0" = "control", "1" = "control" }\n\n'
        return text.replace("[[files]]", labels + "[[files]]", 1)

    path = _study(folder, base.encode(), follow.encode(), codebook=edit)
    return _validate(path)


def _deep_toml(folder: Path) -> list[str]:
    nested = "[" * 500 + "]" * 500
    return _codebook_edit("values = [1, 2, 3, 4, 5]", f"values = {nested}")(folder)


def _decimal_point(folder: Path) -> list[str]:
    rows = [r.replace(",", ";") for r in _good_rows()]
    rows[1] = rows[1].replace(";45;", ";45.5;")
    data = _csv(rows, HEADER.replace(",", ";"))
    return _validate(_study(folder, data, codebook=_decimal_comma))


def _decimal_comma(text: str) -> str:
    date = 'date = "interview_date"'
    return _replace(text, date, date + '\ndecimal = ","')


def _parquet(frame: pd.DataFrame, folder: Path, *, index: bool) -> list[str]:
    path = _study(folder, b"x", suffix=".parquet")
    frame.to_parquet(folder / "baseline.parquet", index=index)
    return _validate(path)


def _parquet_frame() -> pd.DataFrame:
    rows = [r.split(",") for r in _good_rows()]
    frame = pd.DataFrame(rows, columns=HEADER.split(","))
    for column in ("age", "q1", "q2", "q3"):
        frame[column] = frame[column].astype(float)
    return frame


def _parquet_index(folder: Path) -> list[str]:
    return _parquet(_parquet_frame().set_index("id"), folder, index=True)


def _parquet_tz(folder: Path) -> list[str]:
    frame = _parquet_frame()
    dates = pd.to_datetime(frame["interview_date"]) + pd.Timedelta(hours=9)
    frame["interview_date"] = dates.dt.tz_localize("Europe/London")
    return _parquet(frame, folder, index=False)


def _check_dates(folder: Path) -> None:
    study = _load(folder)
    base = study.data[study.data["wave"] == "baseline"].set_index("id")
    assert base.loc["P01", "interview_date"].date().isoformat() == "2025-01-10"
    assert base["interview_date"].dt.tz is None


def _parquet_broken(folder: Path) -> list[str]:
    path = _study(folder, b"x", suffix=".parquet")
    _parquet_frame().to_parquet(folder / "baseline.parquet")
    data = (folder / "baseline.parquet").read_bytes()
    (folder / "baseline.parquet").write_bytes(data[:4] + b"\x00" * 64 + data[-200:])
    return _validate(path)


# ---------------------------------------------------------------- Excel files


def _workbook(folder: Path, fill: Callable) -> list[str]:
    from openpyxl import Workbook

    book = Workbook()
    fill(book)
    path = _study(folder, b"x", suffix=".xlsx")
    book.save(folder / "baseline.xlsx")
    return _validate(path)


def _rows_into(sheet, rows: list[str]) -> None:
    sheet.append(HEADER.split(","))
    for row in rows:
        cells = row.split(",")
        sheet.append(cells[:4] + [float(v) for v in cells[4:]])


def _formulas(folder: Path) -> list[str]:
    def fill(book):
        _rows_into(book.active, _good_rows())
        book.active["E2"] = "=30+4"  # openpyxl stores no computed value

    return _workbook(folder, fill)


def _hidden_first(folder: Path) -> list[str]:
    def fill(book):
        stale = book.active
        stale.title = "old copy"
        _rows_into(stale, [r.replace("control", "contorl") for r in _good_rows()])
        stale.sheet_state = "hidden"
        _rows_into(book.create_sheet("data"), _good_rows())

    return _workbook(folder, fill)


def _far_cell(folder: Path) -> list[str]:
    def fill(book):
        _rows_into(book.active, _good_rows())
        book.active["XFD1048576"] = 1

    return _workbook(folder, fill)


def _far_cell_hidden(folder: Path) -> list[str]:
    """The far cell, with a sheet dimension that lies (says A1:H5)."""
    argv = _far_cell(folder)
    path = folder / "baseline.xlsx"
    with zipfile.ZipFile(path) as plain:
        parts = {item.filename: plain.read(item) for item in plain.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(
        rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:H5"/>', parts[sheet]
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as lying:
        for name, data in parts.items():
            lying.writestr(name, data)
    return argv


def _shared_strings(folder: Path, n: int = 60_000_000) -> list[str]:
    """A valid-looking workbook whose shared-string table has ``n`` entries."""
    path = _study(folder, b"x", suffix=".xlsx")
    source = folder / "plain.xlsx"

    def fill(book):
        _rows_into(book.active, _good_rows())

    from openpyxl import Workbook

    book = Workbook()
    fill(book)
    book.save(source)
    with (
        zipfile.ZipFile(source) as plain,
        zipfile.ZipFile(folder / "baseline.xlsx", "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for item in plain.infolist():
            if not item.filename.endswith("sharedStrings.xml"):
                bomb.writestr(item, plain.read(item))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as handle:
            handle.write(f'<sst count="{n}" uniqueCount="{n}">'.encode())
            block = b"<si><t/></si>" * 1_000_000
            for _ in range(n // 1_000_000):
                handle.write(block)
            handle.write(b"<si><t/></si>" * (n % 1_000_000))
            handle.write(b"</sst>")
    source.unlink()
    return _validate(path)


def _empty_first_sheet(folder: Path) -> list[str]:
    def fill(book):
        book.active.title = "notes"
        _rows_into(book.create_sheet("data"), _good_rows())

    return _workbook(folder, fill)


def _serial_dates(folder: Path) -> list[str]:
    def fill(book):
        _rows_into(book.active, _good_rows())
        book.active["D2"] = 45667  # 2025-01-10 as Excel stores it, unformatted

    return _workbook(folder, fill)


def _merged_header(folder: Path) -> list[str]:
    def fill(book):
        _rows_into(book.active, _good_rows())
        book.active.merge_cells("F1:H1")

    return _workbook(folder, fill)


def _parquet_bytes(folder: Path) -> list[str]:
    frame = _parquet_frame()
    frame["arm"] = frame["arm"].str.encode("utf-8")
    return _parquet(frame, folder, index=False)


def _encrypted(folder: Path) -> list[str]:
    return _validate(
        _study(folder, (HOSTILE / "encrypted.xlsx").read_bytes(), suffix=".xlsx")
    )


def _sheet_minus_one(folder: Path) -> list[str]:
    def edit(text: str) -> str:
        return _replace(
            text, 'path = "baseline.xlsx"\n', 'path = "baseline.xlsx"\nsheet = -1\n'
        )

    def fill(book):
        _rows_into(book.active, _good_rows())

    from openpyxl import Workbook

    book = Workbook()
    fill(book)
    path = _study(folder, b"x", suffix=".xlsx", codebook=edit)
    book.save(folder / "baseline.xlsx")
    return _validate(path)


# --------------------------------------------------------- paths that are not files


def _codebook_folder(folder: Path) -> list[str]:
    (folder / "codebook.toml").mkdir(parents=True)
    return _validate(folder / "codebook.toml")


def _codebook_loop(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    os.symlink(folder / "b.toml", folder / "a.toml")
    os.symlink(folder / "a.toml", folder / "b.toml")
    return _validate(folder / "a.toml")


def _codebook_fifo(folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    os.mkfifo(folder / "codebook.toml")
    return _validate(folder / "codebook.toml")


def _data_folder(folder: Path) -> list[str]:
    path = _study(folder)
    (folder / "baseline.csv").unlink()
    (folder / "baseline.csv").mkdir()
    return _validate(path)


def _data_fifo(folder: Path) -> list[str]:
    path = _study(folder)
    (folder / "baseline.csv").unlink()
    os.mkfifo(folder / "baseline.csv")
    return _validate(path)


def _sparse(folder: Path) -> list[str]:
    path = _study(folder)
    with open(folder / "baseline.csv", "r+b") as handle:
        handle.truncate(600 * 2**20)
    return _validate(path)


def _huge_pattern(folder: Path) -> list[str]:
    return _codebook_edit('items = "q{1..3}"', 'items = "q_{1..50000000}"')(folder)


# ------------------------------------------------------------- a whole analysis


def _zoo(folder: Path, edit_config=None, edit_followup=None, **layout) -> list[str]:
    from tests.zoo.studies import Layout, write

    config = write(folder, Layout(economics=True, **layout))
    if edit_config is not None:
        config.write_text(edit_config(config.read_text()))
    if edit_followup is not None:
        path = folder / "wave1.csv"
        path.write_text(edit_followup(pd.read_csv(path)).to_csv(index=False))
    return ["run", str(config), "--out", str(folder / "out")]


def _config(old: str, new: str) -> Callable[[Path], list[str]]:
    return lambda folder: _zoo(folder, edit_config=lambda t: _replace(t, old, new))


def _blank_outcome(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(wb=np.nan)


def _dated_run(folder: Path) -> list[str]:
    def edit(frame):
        frame.loc[0, "date"] = "2099-07-10"
        return frame

    return _zoo(folder, edit_followup=edit)


def _check_report_warns(folder: Path) -> None:
    page = (folder / "out" / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="warnings-h">Data warnings</h2>' in page
    assert "the date 2099-07-10 is in the future" in page


def _code_covariate(template: str) -> Callable[[Path], list[str]]:
    """A config covariate holding Python that would create a file if run."""

    def make(folder: Path) -> list[str]:
        code = template.format(marker=(folder / "pwned").as_posix())
        return _zoo(
            folder,
            edit_config=lambda t: _replace(
                t, 'covariates = ["age"]', f'covariates = ["{code}"]'
            ),
        )

    return make


def _code_column(folder: Path) -> list[str]:
    """A data column whose name is Python code, declared and used as a model
    and propensity covariate: the run must treat it as a name and run nothing."""
    code = f"__import__('os').system('touch {(folder / 'pwned').as_posix()}')"
    return _zoo(folder, names={"age": code}, propensity=True)


def _check_ran_nothing(folder: Path) -> None:
    _no_marker(folder)
    assert (folder / "out" / "report.html").exists()


def _no_marker(folder: Path) -> None:
    assert not (folder / "pwned").exists()


def _constant_age(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(age=40.0)


def _zoo_baseline(folder: Path, edit, **layout) -> list[str]:
    argv = _zoo(folder, **layout)
    path = folder / "wave0.csv"
    path.write_text(edit(pd.read_csv(path)).to_csv(index=False))
    return argv


def _one_team(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(site="S0", team="T00")


def _unit_costs(old: str, new: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        argv = _zoo(folder)
        path = folder / "unit_costs.csv"
        path.write_text(_replace(path.read_text(), old, new))
        return argv

    return make


def _no_definition(folder: Path) -> list[str]:
    _zoo(folder)
    (folder / "wellbeing.toml").unlink()
    return _validate(folder / "codebook.toml")


def _one_arm(folder: Path) -> list[str]:
    base = (BAD / "good_baseline.csv").read_text().replace("intervention", "control")
    follow = (BAD / "good_followup.csv").read_text().replace("intervention", "control")
    return _validate(_study(folder, base.encode(), follow.encode()))


_UK_3L = '{ version = "3L", type = "TTO", country = "UK" }'


def _out_is_file(folder: Path) -> list[str]:
    argv = _zoo(folder)
    (folder / "out").write_text("not a folder")
    return argv


# --------------------------------------------------------------- messages


def _control_in_value(folder: Path) -> list[str]:
    row = "P01,contr\x1bol\x07,T1,2025-01-10,34,1,2,3"
    return _validate(_study(folder, _with_row(0, row)))


def _check_one_line(folder: Path) -> None:
    import cpeval

    try:
        cpeval.load_study(folder / "codebook.toml")
    except cpeval.DataError as exc:
        message = str(exc)
    else:
        raise AssertionError("no error")
    assert "\n" not in message and "\x1b" not in message and "\x07" not in message
    assert "contr\\x1bol\\x07" in message, message


# ---------------------------------------------------------------- the corpus

CASES: list[Hostile] = [
    # reading
    Hostile(
        "a 200 MB single-line CSV header",
        _huge_header,
        "error",
        r"baseline\.csv, row 1: the header line is longer than 1 MB",
        heavy=True,
    ),
    Hostile(
        "UTF-16 with BOM, last byte cut",
        _utf16_cut,
        "error",
        r"baseline\.csv: the UTF-16 text is cut or damaged",
    ),
    Hostile(
        "UTF-8 with one line saved as Windows-1252",
        _stray_latin1,
        "warning",
        r"1 line\(s\) \(3\) are not; they were read as Windows-1252",
        check=_check_stray_latin1,
    ),
    Hostile(
        "a line break inside quotes in a key, and a later fault",
        _quoted_newline_rows,
        "error",
        r"row 3, participant P02, column 'team': the value 'T\\n1' holds a line break",
        check=_check_quoted_newline_rows,
    ),
    Hostile(
        "an interview date with a time zone among plain dates",
        _baseline_edit(0, "P01,control,T1,2025-01-10T09:00:00+01:00,34,1,2,3"),
        "result",
        check=_check_dates,
    ),
    Hostile(
        "time-zone-aware Parquet dates",
        _parquet_tz,
        "result",
        check=_check_dates,
    ),
    Hostile(
        "a date of year and month only",
        _baseline_edit(0, "P01,control,T1,2018-03,34,1,2,3"),
        "error",
        r"row 2.*column 'interview_date'.*'2018-03' is not a date",
    ),
    Hostile(
        "a follow-up dated 2099",
        _followup_edit(0, "P01,control,T1,2099-07-10,34,2,2,3"),
        "warning",
        r"row 2.*the date 2099-07-10 is in the future",
    ),
    Hostile(
        "a follow-up dated 2099, through cpeval run",
        _dated_run,
        "warning",
        r"wave1\.csv, row 2, .*the date 2099-07-10 is in the future",
        check=_check_report_warns,
    ),
    Hostile(
        "a baseline dated 1900",
        _baseline_edit(1, "P02,control,T1,1900-01-11,45,2,2,2"),
        "warning",
        r"row 3.*the date 1900-01-11 is more than 5 years from the file's median",
    ),
    Hostile(
        "service-use count 'inf'",
        _inf_count("inf"),
        "error",
        r"row 4.*column 'visits'.*'inf' is not a finite number",
    ),
    Hostile(
        "service-use count 'Infinity'",
        _inf_count("Infinity"),
        "error",
        r"row 4.*column 'visits'.*'inf' is not a finite number",
    ),
    Hostile(
        "service-use count 1e308",
        _inf_count("1e308"),
        "error",
        r"row 4.*column 'visits': '1e\+308' is too large to be a count",
    ),
    Hostile(
        "ids equal but for Unicode normalisation (NFC vs NFD)",
        _nfc_nfd,
        "error",
        r"differ only in how their accented letters are encoded",
    ),
    Hostile(
        "a codebook column name in NFD, the file's in NFC",
        _nfd_column,
        "error",
        r"the codebook has 'a\u0301ge', which differs only in case or in how "
        r"accented letters are encoded",
    ),
    Hostile(
        "SPSS string ids padded with spaces, CSV ids not",
        _spss_padded,
        "result",
        check=_check_linked,
    ),
    Hostile(
        "Stata extended missing values .a and .b in items",
        _stata_extended,
        "result",
        check=_check_stata_extended,
    ),
    Hostile(
        "a Parquet file with the id as its pandas index",
        _parquet_index,
        "result",
        check=_check_linked,
    ),
    Hostile(
        "a damaged Parquet file (a long schema error)",
        _parquet_broken,
        "error",
        r"baseline\.parquet: cannot read the Parquet file",
    ),
    # Excel
    Hostile(
        "xlsx age cells that are formulas with no saved value",
        _formulas,
        "warning",
        r"formula cells without a saved value were read as missing in column\(s\) E",
    ),
    Hostile(
        "xlsx whose first sheet is a hidden stale copy",
        _hidden_first,
        "result",
        check=_check_linked,
    ),
    Hostile(
        "xlsx whose first sheet is hidden: the warning",
        _hidden_first,
        "warning",
        r"hidden sheet\(s\) 'old copy' passed over; the first visible sheet 'data'",
    ),
    Hostile(
        "xlsx with one cell at XFD1048576",
        _far_cell,
        "error",
        r"baseline\.xlsx: sheet 'Sheet' spans 1,048,576 rows by 16,384 columns",
        heavy=True,
    ),
    Hostile(
        "xlsx with one cell at XFD1048576 and a dimension that says A1:H5",
        _far_cell_hidden,
        "error",
        r"baseline\.xlsx: sheet 'Sheet' spans .* by 16,384 columns",
        heavy=True,
    ),
    Hostile(
        "xlsx with 60 million shared strings (a few MB on disk)",
        _shared_strings,
        "error",
        r"baseline\.xlsx: the workbook unpacks to .* MB, more than the 512 MB",
        heavy=True,
    ),
    Hostile(
        "xlsx with 3 million (tiny) shared strings",
        lambda folder: _shared_strings(folder, 3_000_000),
        "error",
        r"baseline\.xlsx: the workbook's shared text table holds 3,000,000 texts",
        heavy=True,
    ),
    Hostile(
        "xlsx whose first sheet is empty, the data on the second",
        _empty_first_sheet,
        "error",
        r"baseline\.xlsx: sheet 'notes' is empty \(the sheets are \['notes', 'data'",
    ),
    Hostile(
        "xlsx dates stored as serial numbers",
        _serial_dates,
        "error",
        r"'45667' is not a date .*an Excel date stored as its serial number",
    ),
    Hostile(
        "xlsx with a merged header cell",
        _merged_header,
        "error",
        r"baseline\.xlsx, row 2: column 7 holds '2' but the header names 6 columns "
        r"\(a merged or empty header cell",
    ),
    Hostile(
        "a Parquet file whose arm column is binary (bytes)",
        _parquet_bytes,
        "result",
        check=_check_linked,
    ),
    Hostile(
        "a password-protected xlsx",
        _encrypted,
        "error",
        r"baseline\.xlsx: the workbook is password-protected",
    ),
    Hostile(
        "sheet = -1",
        _sheet_minus_one,
        "error",
        r"baseline\.xlsx: sheet must be a name or a position",
    ),
    # paths that are not files
    Hostile(
        "the codebook argument is a folder",
        _codebook_folder,
        "error",
        r"codebook\.toml: the codebook path is a folder",
    ),
    Hostile(
        "the codebook is a symbolic-link loop",
        _codebook_loop,
        "error",
        r"a\.toml: the codebook path is a loop of symbolic links",
    ),
    Hostile(
        "the codebook is a named pipe",
        _codebook_fifo,
        "error",
        r"codebook\.toml: the codebook path is a named pipe",
        heavy=True,
    ),
    Hostile(
        "a data file that is a folder",
        _data_folder,
        "error",
        r"baseline\.csv: the file path is a folder",
    ),
    Hostile(
        "a data file that is a named pipe",
        _data_fifo,
        "error",
        r"baseline\.csv: the file path is a named pipe",
        heavy=True,
    ),
    # codebook values
    Hostile(
        'codebook missing_codes = ["refused"]',
        _codebook_edit(
            'date = "interview_date"',
            'date = "interview_date"\nmissing_codes = ["refused"]',
        ),
        "error",
        r"'study\.missing_codes' must hold numbers; 'refused' is str",
    ),
    Hostile(
        "codebook clusters = [1, 2]",
        _codebook_edit('clusters = ["team"]', "clusters = [1, 2]"),
        "error",
        r"'study\.clusters' must hold names \(text\); 1 is int",
    ),
    Hostile(
        'codebook date_format = "%Q-%m-%d"',
        _codebook_edit(
            'date = "interview_date"',
            'date = "interview_date"\ndate_format = "%Q-%m-%d"',
        ),
        "error",
        r"'study\.date_format' '%Q-%m-%d' is not a date format",
    ),
    Hostile(
        "codebook id and group naming one column",
        _codebook_edit('group = "arm"', 'group = "id"'),
        "error",
        r"\[study\] id and group both name the column 'id'",
    ),
    Hostile(
        "a 600 MB data file (sparse: no disk used)",
        _sparse,
        "error",
        r"baseline\.csv: the file is 600 MB, more than the 512 MB cpeval reads",
        heavy=True,
    ),
    Hostile(
        'items = "q_{1..50000000}"',
        _huge_pattern,
        "error",
        r"'instruments\.corpus\.items' range \{1\.\.50000000\} names 50,000,000 "
        r"columns, more than 10,000",
        heavy=True,
    ),
    # a whole analysis
    Hostile(
        "an arm with no follow-up",
        lambda folder: _zoo(folder, lost="Usual care"),
        "error",
        r"no participant in the comparator arm \('Usual care'\) has 'wellbeing_total'",
    ),
    Hostile(
        "every outcome blank at follow-up",
        lambda folder: _zoo(folder, edit_followup=_blank_outcome),
        "error",
        r"has 'wellbeing_total' at wave '6 months': the arms cannot be compared",
    ),
    Hostile(
        "a config covariate that is not a column",
        _config('covariates = ["age"]', 'covariates = ["agee"]'),
        "error",
        r"covariates \['agee'\] are not",
    ),
    Hostile(
        "config wtp = []",
        _config("wtp = [20000]", "wtp = []"),
        "error",
        r"wtp",
    ),
    Hostile(
        'config wtp = ["a lot"]',
        _config("wtp = [20000]", 'wtp = ["a lot"]'),
        "error",
        r"wtp",
    ),
    Hostile(
        "config wtp = [nan, inf]",
        _config("wtp = [20000]", "wtp = [nan, inf]"),
        "error",
        r"wtp",
    ),
    Hostile(
        "config seed = -1",
        _config("seed = 7", "seed = -1"),
        "error",
        r"seed",
    ),
    Hostile(
        "config groups = []",
        _config('kind = "lmm"', 'kind = "lmm"\ngroups = []'),
        "error",
        r"groups",
    ),
    Hostile(
        "config imputation iterations = 0",
        lambda folder: _zoo(
            folder,
            imputation=2,
            edit_config=lambda t: _replace(t, "iterations = 5", "iterations = 0"),
        ),
        "error",
        r"iterations",
    ),
    Hostile(
        "config n_boot = 10**9",
        _config("n_boot = 300", "n_boot = 1000000000"),
        "error",
        r"n_boot.*allow_large",
    ),
    Hostile(
        "config economics cluster that is not a column",
        _config('cluster = "team"', 'cluster = "teem"'),
        "error",
        r"teem",
    ),
    Hostile(
        "config service column that is not a column",
        _config('services = { gp = "zoo_gp" }', 'services = { gpp = "zoo_gp" }'),
        "error",
        r"gpp",
    ),
    Hostile(
        "a config covariate that is Python code",
        _code_covariate("__import__('os').system('touch {marker}')"),
        "error",
        r"not",
        check=_no_marker,
    ),
    Hostile(
        "a config covariate that is Python code inside I()",
        _code_covariate("I(__import__('os').system('touch {marker}'))"),
        "error",
        r"not",
        check=_no_marker,
    ),
    Hostile(
        "a data column whose name is Python code, used as a covariate",
        _code_column,
        "result",
        check=_check_ran_nothing,
    ),
    Hostile(
        "--out names a file",
        _out_is_file,
        "error",
        r"out: the output path is a file, not a folder",
    ),
    # found by a new-user probe
    Hostile(
        "Stata %td dates",
        _stata_dates("td"),
        "result",
        check=_check_dates,
    ),
    Hostile(
        "Stata %tc date-times",
        _stata_dates("tc"),
        "result",
        check=_check_dates,
    ),
    Hostile(
        "20,000 repeated rows (an export appended twice)",
        _repeated_rows,
        "error",
        r"participant X00000, column 'id': a second record for this participant",
        heavy=True,
    ),
    Hostile(
        "10,000 item columns",
        _wide,
        "result",
        check=_check_wide,
        heavy=True,
    ),
    Hostile(
        "two codes of the arm under one label",
        _same_label,
        "error",
        r"codes 0, 1 of 'arm' carry the same label 'control'",
    ),
    Hostile(
        "the same file for two waves",
        _codebook_edit('path = "followup.csv"', 'path = "baseline.csv"'),
        "error",
        r"'files\[2\]' is 'baseline\.csv', listed already \(for wave 'baseline'\)",
    ),
    Hostile(
        "a wave listed twice",
        _codebook_edit(
            'waves = ["baseline", "followup"]',
            'waves = ["baseline", "followup", "followup"]',
        ),
        "error",
        r"\[study\] waves list \['followup'\] more than once",
    ),
    Hostile(
        "TOML nested 500 deep",
        _deep_toml,
        "error",
        r"codebook\.toml: the codebook nests its tables or lists too deeply",
    ),
    Hostile(
        "an empty list of values",
        _codebook_edit("values = [1, 2, 3, 4, 5]", "values = []"),
        "error",
        r"column 'q1' has an empty list of values",
    ),
    Hostile(
        "a point in a decimal-comma file",
        _decimal_point,
        "error",
        r"baseline\.csv, row 3, column 'age': '45\.5' has a decimal point",
    ),
    Hostile(
        "a constant covariate, ANCOVA",
        lambda folder: _zoo_baseline(folder, _constant_age, kind="ancova"),
        "error",
        r"the term 'age' is constant or a combination",
    ),
    Hostile(
        "one site and team for the whole trial, mixed model",
        lambda folder: _zoo_baseline(folder, _one_team),
        "error",
        r"the grouping level 'site' has one unit \('S0'\)",
    ),
    Hostile(
        "an outcome collected at baseline only",
        _config('"wellbeing" = "wellbeing_total"', '"wellbeing" = "age"'),
        "error",
        r"outcome 'wellbeing' is 'age', collected at baseline only",
    ),
    Hostile(
        "an outcome that is the arm column",
        _config('"wellbeing" = "wellbeing_total"', '"wellbeing" = "arm"'),
        "error",
        r"outcome 'wellbeing' is 'arm', a key column",
    ),
    Hostile(
        "a constant [propensity] covariate",
        lambda folder: _zoo_baseline(
            folder, lambda f: f.assign(sex="female"), propensity=True
        ),
        "error",
        r"propensity covariate 'sex' has one value at baseline",
    ),
    Hostile(
        "an instrument definition file that does not exist",
        _no_definition,
        "error",
        r"wellbeing\.toml: no such instrument definition",
    ),
    Hostile(
        "every participant in one arm",
        _one_arm,
        "warning",
        r"no participant of the arm 'intervention' was interviewed at 'baseline'",
    ),
    Hostile(
        'config formats = ["exe"]',
        _config('formats = ["csv"]', 'formats = ["exe"]'),
        "error",
        r"analysis\.formats",
    ),
    Hostile(
        "a unit cost of inf",
        _unit_costs(",50.0,", ",inf,"),
        "error",
        r"unit_costs\.csv: item 'zoo_gp' has no valid unit cost \(inf\)",
    ),
    Hostile(
        "a unit-cost perspective typed 'NHS'",
        _unit_costs(",nhs_pss,", ",NHS,"),
        "error",
        r"item 'zoo_gp' has perspective 'NHS'; the perspectives are nhs_pss, societal",
    ),
    Hostile(
        "a societal service under the NHS perspective",
        _unit_costs(",nhs_pss,", ",societal,"),
        "error",
        r"costs 'gp' as 'zoo_gp', a societal cost, but the perspective is nhs_pss",
    ),
    Hostile(
        "an EQ-5D-3L value set on 5L data",
        _config("[economics]\n", f"[economics]\nvalue_set = {_UK_3L}\n"),
        "error",
        r"value_set is EQ-5D-3L but the EQ-5D items hold codes up to 5",
    ),
    # messages
    Hostile(
        "a NUL byte in a cell",
        _baseline_edit(0, "P01,control,T1,2025-01-10,34,1,2\x00,3"),
        "error",
        r"baseline\.csv: the file holds binary data, not delimited text",
    ),
    Hostile(
        "escape and bell characters in a value",
        _control_in_value,
        "error",
        r"row 2.*column 'arm'",
        check=_check_one_line,
    ),
]


def by_name() -> dict[str, Hostile]:
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names), "case names must be unique"
    return {case.name: case for case in CASES}


def first_error(stderr: str) -> str:
    lines = [x for x in stderr.splitlines() if x.startswith("cpeval: error: ")]
    return lines[0] if len(lines) == 1 else ""


def warned(output: str, pattern: str) -> bool:
    """A warning line of ``validate`` (stdout) or ``run`` (stderr) matches."""
    return any(
        line.strip().startswith(("warning:", "cpeval: warning:"))
        and re.search(pattern, line)
        for line in output.splitlines()
    )


@dataclass(frozen=True)
class Bounded:
    """How a command ran in a child process."""

    code: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    peak_bytes: int  # the child's peak resident memory


def run_bounded(argv: list[str], seconds: float, memory: int) -> Bounded:
    """Run ``cpeval argv`` in a child with an address-space cap of ``memory``
    bytes, killed after ``seconds``; measure its own peak memory (wait4)."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "cpeval.cli", *argv],
            stdout=out,
            stderr=err,
            preexec_fn=cap,
            cwd=ROOT,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        )
        timer = threading.Timer(seconds, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - start
        out.seek(0), err.seek(0)
        killed = elapsed >= seconds and child.returncode < 0
        return Bounded(
            None if killed else child.returncode,
            out.read(),
            err.read(),
            elapsed,
            usage.ru_maxrss * 1024,
        )
