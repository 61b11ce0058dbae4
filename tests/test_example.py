"""The committed example study regenerates byte for byte from its seed."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import EXAMPLE, tree_hashes


def test_example_regenerates_identically(tmp_path):
    subprocess.run(
        [sys.executable, str(EXAMPLE / "make_example.py"), str(tmp_path)], check=True
    )
    committed = {k: v for k, v in tree_hashes(EXAMPLE).items() if k.endswith(".csv")}
    assert tree_hashes(tmp_path) == committed
