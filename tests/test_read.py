"""read_data: formats, sniffing, missing codes, labels, row numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import Workbook

import cpeval
from cpeval.io import ReadReport, read_data

ROWS = "id,age,q1\n007,34,1\n008,-99,2\n009,51,\n"


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "prefix", "reported"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16", b"", "utf-16"),  # Python writes the BOM itself
    ],
)
def test_csv_encodings(tmp_path, encoding, prefix, reported):
    path = tmp_path / "a.csv"
    path.write_bytes(prefix + "id,name\n1,Zo\u00eb\n".encode(encoding))
    frame = read_data(path)
    assert list(frame.columns) == ["id", "name"]
    assert frame["name"].tolist() == ["Zo\u00eb"]
    assert ReadReport.of(frame).encoding == reported


def test_latin1_csv_is_decoded(tmp_path):
    path = _write(tmp_path / "a.csv", "id;team\n1;\u00c9quipe Nord\n", "latin-1")
    frame = read_data(path)
    report = ReadReport.of(frame)
    assert frame["team"].tolist() == ["\u00c9quipe Nord"]
    assert report.encoding == "cp1252"  # Windows-1252, the superset of latin-1 text
    assert report.delimiter == ";"


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('"x,y";b\n1;2\n', ";"),
    ],
)
def test_delimiter_sniffing(tmp_path, text, delimiter):
    frame = read_data(_write(tmp_path / "a.csv", text))
    assert ReadReport.of(frame).delimiter == delimiter
    assert len(frame.columns) in (2, 3)


def test_decimal_comma_when_asked(tmp_path):
    path = _write(tmp_path / "a.csv", "a;b\n1,5;x\n2;y\n")
    assert read_data(path)["a"].tolist() == ["1,5", "2"]
    assert read_data(path, decimal=",")["a"].tolist() == [1.5, 2.0]


def test_missing_codes_are_recoded_and_counted(tmp_path):
    path = _write(tmp_path / "a.csv", ROWS)
    frame = read_data(path, missing_codes=[-99], text_columns=["id"])
    assert frame["id"].tolist() == ["007", "008", "009"]
    assert np.isnan(frame.loc[3, "age"])
    assert np.isnan(frame.loc[4, "q1"])
    report = ReadReport.of(frame)
    assert report.missing_recoded == {"age": 1}
    assert report.to_frame().set_index("column").loc["age", "missing_recoded"] == 1


def test_missing_codes_per_column(tmp_path):
    path = _write(tmp_path / "a.csv", "a,b\n-99,-99\n1,2\n")
    frame = read_data(path, missing_codes={"a": [-99]})
    assert frame["a"].isna().tolist() == [True, False]
    assert frame["b"].tolist() == [-99.0, 2.0]


def test_index_is_the_file_row_number(tmp_path):
    path = _write(tmp_path / "a.csv", "a,b\n1,2\n\n3,4\n\n")
    frame = read_data(path)
    assert frame.index.name == "row"
    assert frame.index.tolist() == [2, 4]
    assert ReadReport.of(frame).blank_rows == 1


def test_quoted_newline_counts_rows_as_a_spreadsheet_does(tmp_path):
    # the record after a line break inside quotes is row 3, as Excel shows it
    path = _write(tmp_path / "a.csv", 'a,b\n1,"two\nlines"\n3,4\n')
    frame = read_data(path)
    assert frame.index.tolist() == [2, 3]
    assert frame.loc[2, "b"] == "two\nlines"


def test_text_columns_keep_white_space_for_validation(tmp_path):
    path = _write(tmp_path / "a.csv", "id,x\nP1 ,NA\n,1\n")
    frame = read_data(path, text_columns=["id"])
    assert frame["id"].tolist()[0] == "P1 "
    assert pd.isna(frame["id"].tolist()[1])
    assert frame["x"].isna().tolist() == [True, False]


def test_excel(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Baseline"
    sheet.append(["id", "when", "score"])
    sheet.append(["A1", pd.Timestamp("2025-03-01").to_pydatetime(), 3])
    sheet.append(["A2", None, 4.5])
    path = tmp_path / "a.xlsx"
    book.save(path)
    frame = read_data(path, sheet="Baseline")
    assert frame.index.tolist() == [2, 3]
    assert frame["when"].tolist()[0] == "2025-03-01"
    assert frame["score"].tolist() == [3.0, 4.5]
    assert ReadReport.of(frame).sheet == "Baseline"
    with pytest.raises(cpeval.DataError, match="no sheet 'Other'"):
        read_data(path, sheet="Other")


def test_excel_cell_right_of_header_is_an_error(tmp_path):
    book = Workbook()
    book.active.append(["id", "x"])
    book.active.append(["A1", 1, "stray"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    with pytest.raises(cpeval.DataError, match=r"row 2: column 3 holds 'stray'"):
        read_data(path)


def test_spss_labels_and_user_missing(tmp_path):
    frame = pd.DataFrame({"id": [1.0, 2.0, 3.0], "arm": [1.0, 2.0, 1.0]})
    frame["q"] = [1.0, 99.0, 3.0]
    path = tmp_path / "a.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        missing_ranges={"q": [99]},
        variable_value_labels={"arm": {1.0: "control", 2.0: "intervention"}},
        column_labels={"q": "Item q", "id": None, "arm": "Arm"},
    )
    read = read_data(path, text_columns=["id"])
    report = ReadReport.of(read)
    assert read["id"].tolist() == ["1", "2", "3"]
    assert read["q"].isna().tolist() == [False, True, False]
    assert report.missing_recoded == {"q": 1}
    assert report.value_labels["arm"] == {1.0: "control", 2.0: "intervention"}
    assert report.column_labels == {"arm": "Arm", "q": "Item q"}
    assert read.index.tolist() == [1, 2, 3]


def test_stata_extended_missing(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "x": [1.0, "a", 3.0]}, dtype=object)
    path = tmp_path / "a.dta"
    pyreadstat.write_dta(frame, str(path), missing_user_values={"x": ["a"]})
    read = read_data(path)
    assert read["x"].isna().tolist() == [False, True, False]
    assert ReadReport.of(read).missing_recoded == {"x": 1}
    assert ReadReport.of(read).format == "stata"


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "a.parquet"
    pd.DataFrame({"id": ["x", "y"], "v": [1, -99]}).to_parquet(path)
    read = read_data(path, missing_codes=[-99])
    assert read["v"].isna().tolist() == [False, True]
    assert ReadReport.of(read).format == "parquet"


def test_missing_file():
    with pytest.raises(cpeval.DataError, match="no such file"):
        read_data("no/such/file.csv")


def test_reading_leaves_files_unchanged(tmp_path):
    path = _write(tmp_path / "a.csv", ROWS)
    before = path.read_bytes()
    read_data(path, missing_codes=[-99])
    assert path.read_bytes() == before


def test_report_travels_as_plain_data(tmp_path):
    pytest.importorskip("pyarrow")
    frame = read_data(_write(tmp_path / "a.csv", ROWS), missing_codes=[-99])
    frame.to_parquet(tmp_path / "a.parquet")  # no warning: attrs are plain data
    assert ReadReport.of(frame).n_rows == 3
    with pytest.raises(ValueError, match=r"not returned by cpeval\.read_data"):
        ReadReport.of(pd.DataFrame())
