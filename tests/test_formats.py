"""The example study saved as Excel, SPSS, Stata and Parquet loads to the same data."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from cpeval._files import write_atomic
from cpeval.io import load_study, read_data
from tests.conftest import EXAMPLE, tree_hashes

NAMES = ("baseline", "followup", "recruited")


def _save(frame: pd.DataFrame, path) -> None:
    writers = {
        ".xlsx": lambda: frame.to_excel(path, index=False),
        ".sav": lambda: pyreadstat.write_sav(frame, str(path)),
        ".dta": lambda: pyreadstat.write_dta(frame, str(path)),
        ".parquet": lambda: frame.to_parquet(path, index=False),
    }
    writers[path.suffix]()


def _as_format(tmp_path, suffix: str):
    for name in NAMES:
        frame = read_data(EXAMPLE / f"{name}.csv", text_columns=["id"])
        _save(frame.reset_index(drop=True), tmp_path / f"{name}{suffix}")
    text = (EXAMPLE / "codebook.toml").read_text(encoding="utf-8")
    for name in NAMES:
        text = text.replace(f'"{name}.csv"', f'"{name}{suffix}"')
    path = tmp_path / "codebook.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".xlsx", ".sav", ".dta", ".parquet"])
def test_same_study_in_every_format(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    reference = load_study(EXAMPLE / "codebook.toml")
    codebook = _as_format(tmp_path, suffix)
    before = tree_hashes(tmp_path)
    study = load_study(codebook)
    assert tree_hashes(tmp_path) == before
    drop = ["source_file", "source_row"]
    pd.testing.assert_frame_equal(
        study.data.drop(columns=drop), reference.data.drop(columns=drop)
    )
    pd.testing.assert_frame_equal(study.flow.table, reference.flow.table)


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "out" / "table.csv"
    write_atomic(target, "a\n")
    write_atomic(target, b"b\n")
    assert target.read_bytes() == b"b\n"
    assert [p.name for p in target.parent.iterdir()] == ["table.csv"]
    assert target.stat().st_mode & 0o044  # readable by others, as umask allows
