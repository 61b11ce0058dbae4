"""Write the committed files of the hostile-input corpus (run from anywhere).

Most hostile inputs are made at test time by ``tests/hostile/cases.py`` (they
are large, or are pipes and symbolic links that git cannot hold). The files
here need a library the tests do not: ``encrypted.xlsx`` is a real
password-protected workbook (password "secret") written by msoffcrypto-tool.
"""

from __future__ import annotations

import io
from pathlib import Path

from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook

HERE = Path(__file__).parent


def main() -> None:
    book = Workbook()
    book.active.append(["id", "arm", "team", "interview_date", "age", "q1", "q2", "q3"])
    book.active.append(["P01", "control", "T1", "2025-01-10", 34, 1, 2, 3])
    plain = io.BytesIO()
    book.save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt("secret", encrypted)
    (HERE / "encrypted.xlsx").write_bytes(encrypted.getvalue())


if __name__ == "__main__":
    main()
