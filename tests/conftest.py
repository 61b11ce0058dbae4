"""Shared fixtures: paths to the committed test data and the example study."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE = ROOT / "data" / "synthetic" / "example"


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below ``folder``, to prove nothing was written."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture
def example_codebook() -> Path:
    return EXAMPLE / "codebook.toml"
