"""The hostile-input corpus (tests/hostile/cases.py) through the ``cpeval`` command.

Each case ends as its table says: a one-line error (exit 2) that names the file
and matches the case, a warning in the validation report (exit 1), or the right
result; never a traceback (exit 3 would be a bug). Heavy cases run in a child
process that must finish within a time bound and under 1 GB of memory.
"""

from __future__ import annotations

import re

import pytest

from cpeval.cli import main
from tests.conftest import tree_hashes
from tests.hostile.cases import CASES, by_name, first_error, run_bounded, warned

LIGHT = [c for c in CASES if not c.heavy]
HEAVY = [c for c in CASES if c.heavy]
SECONDS = 60  # a heavy case must end well inside this; they take a few seconds
MEMORY = 2**30  # bytes of peak resident memory


def _messages(stdout: str, stderr: str) -> list[str]:
    """The error lines: the command's one-line error, or validate's problems."""
    line = first_error(stderr)
    problems = [
        x.strip() for x in stdout.splitlines() if x.strip().startswith("error:")
    ]
    return [line] if line else problems


def _assert_outcome(case, code: int, stdout: str, stderr: str, folder) -> None:
    assert "Traceback" not in stdout + stderr, stderr
    assert code != 3, stderr
    if case.outcome == "error":
        assert code == 2, (code, stdout, stderr)
        messages = _messages(stdout, stderr)
        assert messages, stderr
        hit = [m for m in messages if re.search(case.says, m)]
        assert hit, (case.says, messages)
        assert str(folder) in hit[0] or "out:" in hit[0], hit[0]
        assert "\n" not in hit[0]
    elif case.outcome == "warning":
        assert code == 1, (code, stdout, stderr)
        assert warned(stdout + stderr, case.says), stdout + stderr
    else:
        assert code in (0, 1), (code, stdout, stderr)
        assert not _messages(stdout, stderr), stdout + stderr


@pytest.mark.parametrize("case", LIGHT, ids=lambda c: c.name)
def test_hostile_input(case, tmp_path, capsys):
    folder = tmp_path / "study"
    argv = case.make(folder)
    before = (
        tree_hashes(folder) if folder.is_dir() and case.outcome != "error" else None
    )
    code = main(argv)
    printed = capsys.readouterr()
    _assert_outcome(case, code, printed.out, printed.err, folder)
    if case.check is not None:
        case.check(folder)
    if before is not None:  # inputs are never written to
        after = tree_hashes(folder)
        assert {k: v for k, v in after.items() if k in before} == before


@pytest.mark.parametrize("case", HEAVY, ids=lambda c: c.name)
def test_hostile_input_fails_fast(case, tmp_path):
    folder = tmp_path / "study"
    argv = case.make(folder)
    ran = run_bounded(argv, SECONDS, 4 * MEMORY)  # the cap keeps the machine safe
    assert ran.code is not None, f"cpeval {' '.join(argv)} ran past {SECONDS} s"
    _assert_outcome(case, ran.code, ran.stdout, ran.stderr, folder)
    assert ran.peak_bytes < MEMORY, f"{ran.peak_bytes / 2**20:.0f} MB"


def test_every_case_has_a_unique_name_and_an_expectation():
    cases = by_name()
    assert len(cases) >= 45
    for case in cases.values():
        assert case.outcome in ("error", "warning", "result")
        assert case.outcome == "result" or case.says, case.name
        assert case.outcome != "result" or case.check is not None, case.name
