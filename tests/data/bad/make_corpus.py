"""Write the bad-input corpus used by tests/test_bad_inputs.py (run from anywhere).

Each file is a small baseline or follow-up export of the corpus study (see
``codebook.toml``) with exactly one fault, named by the file. ``good_*`` files are
clean. The Excel and SPSS files carry creation times, so regenerating them does
not reproduce them byte for byte; the committed files are the corpus.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
from openpyxl import Workbook

HERE = Path(__file__).parent
HEADER = "id,arm,team,interview_date,age,q1,q2,q3"
BASE = [
    "P01,control,T1,2025-01-10,34,1,2,3",
    "P02,control,T1,2025-01-11,45,2,2,2",
    "P03,intervention,T2,2025-01-12,52,4,5,4",
    "P04,intervention,T2,2025-01-13,29,3,3,3",
]
FOLLOW = [
    "P01,control,T1,2025-07-10,34,2,2,3",
    "P02,control,T1,2025-07-11,45,2,3,2",
    "P03,intervention,T2,2025-07-12,52,5,5,4",
]


def lines(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def replace(rows: list[str], index: int, row: str) -> list[str]:
    return [row if i == index else r for i, r in enumerate(rows)]


TEXT = {
    "good_baseline.csv": lines(HEADER, BASE),
    "good_followup.csv": lines(HEADER, FOLLOW),
    "empty.csv": b"",
    "blank_lines_only.csv": b"\n\n  \n",
    "header_only.csv": lines(HEADER, []),
    "binary_junk.csv": bytes(range(256)) * 4,
    "csv_named_xlsx.xlsx": lines(HEADER, BASE),
    "csv_named_sav.sav": lines(HEADER, BASE),
    "unsupported.json": b'{"id": "P01"}\n',
    "latin1_out_of_range.csv": lines(
        HEADER, replace(BASE, 1, "Zo\u00eb-02,control,T1,2025-01-11,45,2,7,2")
    )
    .decode("utf-8")
    .encode("latin-1"),
    "semicolon_decimal_comma.csv": lines(
        HEADER.replace(",", ";"),
        [
            r.replace(",", ";")
            for r in replace(BASE, 2, "P03,intervention,T2,2025-01-12,52.5,4,5,4")
        ],
    ).replace(b"52.5", b"52,5"),
    "duplicate_ids.csv": lines(HEADER, [*BASE, "P02,control,T1,2025-01-14,45,2,2,2"]),
    "text_in_item.csv": lines(
        HEADER, replace(BASE, 0, "P01,control,T1,2025-01-10,34,often,2,3")
    ),
    "out_of_range_code.csv": lines(
        HEADER, replace(BASE, 3, "P04,intervention,T2,2025-01-13,29,3,3,6")
    ),
    "fraction_in_item.csv": lines(
        HEADER, replace(BASE, 2, "P03,intervention,T2,2025-01-12,52,4,2.5,4")
    ),
    "age_out_of_range.csv": lines(
        HEADER, replace(BASE, 1, "P02,control,T1,2025-01-11,450,2,2,2")
    ),
    "followup_only_participant.csv": lines(
        HEADER, [*FOLLOW, "P99,control,T1,2025-07-14,61,1,1,1"]
    ),
    "team_change.csv": lines(
        HEADER, replace(FOLLOW, 2, "P03,intervention,T9,2025-07-12,52,5,5,4")
    ),
    "group_change.csv": lines(
        HEADER, replace(FOLLOW, 0, "P01,intervention,T1,2025-07-10,34,2,2,3")
    ),
    "missing_id_column.csv": lines(
        HEADER.removeprefix("id,"), [r.split(",", 1)[1] for r in BASE]
    ),
    "unknown_column.csv": lines(HEADER + ",notes", [r + ",fine" for r in BASE]),
    "dates_out_of_order.csv": lines(
        HEADER, replace(FOLLOW, 1, "P02,control,T1,2024-12-01,45,2,3,2")
    ),
    "not_a_date.csv": lines(
        HEADER, replace(BASE, 0, "P01,control,T1,31/02/2025,34,1,2,3")
    ),
    "id_differs_by_case.csv": lines(
        HEADER, replace(FOLLOW, 0, "p01,control,T1,2025-07-10,34,2,2,3")
    ),
    "id_differs_by_space.csv": lines(
        HEADER, replace(FOLLOW, 1, "P02 ,control,T1,2025-07-11,45,2,3,2")
    ),
    "ragged_row.csv": lines(
        HEADER, replace(BASE, 2, "P03,intervention,T2,2025-01-12,52,4,5,4,9")
    ),
    "duplicate_column.csv": lines(HEADER + ",q2", [r + ",1" for r in BASE]),
    "unnamed_column.csv": lines(HEADER + ",", [r + ",x" for r in BASE]),
    "group_not_allowed.csv": lines(
        HEADER, replace(BASE, 0, "P01,treatment,T1,2025-01-10,34,1,2,3")
    ),
    "missing_group.csv": lines(HEADER, replace(BASE, 1, "P02,,T1,2025-01-11,45,2,2,2")),
    "missing_id.csv": lines(
        HEADER, replace(BASE, 3, ",intervention,T2,2025-01-13,29,3,3,3")
    ),
}


def frame(rows: list[str]) -> pd.DataFrame:
    cells = [r.split(",") for r in rows]
    df = pd.DataFrame(cells, columns=HEADER.split(","))
    for c in ["age", "q1", "q2", "q3"]:
        df[c] = df[c].astype(float)
    return df


def write_excel_two_headers(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(
        ["Participant", "Arm", "Team", "Date", "Age", "Item 1", "Item 2", "Item 3"]
    )
    for row in BASE:
        values = row.split(",")
        sheet.append(values[:4] + [float(v) for v in values[4:]])
    book.save(path)


def write_truncated(path: Path, writer) -> None:
    full = path.with_suffix(".full" + path.suffix)
    writer(frame(BASE), str(full))
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 3])


def main() -> None:
    for name, content in TEXT.items():
        (HERE / name).write_bytes(content)
    write_excel_two_headers(HERE / "excel_two_header_rows.xlsx")
    write_truncated(HERE / "truncated.sav", pyreadstat.write_sav)
    write_truncated(HERE / "truncated.dta", pyreadstat.write_dta)
    (HERE / "xlsx_named_csv.csv").write_bytes(
        (HERE / "excel_two_header_rows.xlsx").read_bytes()
    )


if __name__ == "__main__":
    main()
