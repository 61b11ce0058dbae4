"""The cpeval command: exit codes, outputs, reproducibility, inputs untouched."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cpeval.cli import main
from tests.conftest import EXAMPLE, tree_hashes


def test_help_lists_commands_with_examples(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "validate" in out and "examples:" in out


def test_validate_example_writes_outputs(tmp_path, capsys):
    before = tree_hashes(EXAMPLE)
    assert (
        main(["validate", str(EXAMPLE / "codebook.toml"), "--out", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    assert "Participant flow:" in out and "cpeval: no problems found" in out
    assert "reports each model's own n" in out  # validate's "analysed" explained
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "problems.csv",
        "files.csv",
        "flow.csv",
        "exclusions.csv",
        "provenance.json",
    }
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    assert [i["rows"] for i in provenance["inputs"]] == [55, 47, 60]
    assert all(len(i["sha256"]) == 64 for i in provenance["inputs"])
    assert tree_hashes(EXAMPLE) == before


def test_outputs_are_byte_identical_across_runs(tmp_path):
    codebook = str(EXAMPLE / "codebook.toml")
    main(["validate", codebook, "--out", str(tmp_path / "a"), "--quiet"])
    main(["validate", codebook, "--out", str(tmp_path / "b"), "--quiet"])
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")


def test_quiet_prints_only_the_verdict(capsys):
    assert main(["validate", str(EXAMPLE / "codebook.toml"), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "cpeval: no problems found"


def test_warnings_exit_1(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("id,date\n1,\n")
    (tmp_path / "codebook.toml").write_text(
        '[study]\nid = "id"\nwaves = ["b"]\ndate = "date"\n'
        '[[files]]\npath = "a.csv"\nwave = "b"\n'
    )
    assert main(["validate", str(tmp_path / "codebook.toml")]) == 1
    assert "warning: " in capsys.readouterr().out


def test_bad_codebook_is_one_line_on_stderr_without_traceback(tmp_path):
    path = tmp_path / "codebook.toml"
    path.write_text("[study\n")
    run = subprocess.run(
        [sys.executable, "-m", "cpeval.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "not valid TOML" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_internal_error_exits_3_with_one_line(monkeypatch, capsys):
    """A bug (an exception that is not a DataError) is not blamed on the data:
    exit 3, one line naming the exception and where to report it."""
    import cpeval.cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cpeval.cli, "_validate", broken)
    assert main(["validate", str(EXAMPLE / "codebook.toml")]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("cpeval: internal error: ZeroDivisionError: division by zero")
    assert "(at cli.py:" in err and "Reporting a bug" in err
    monkeypatch.setenv("CPEVAL_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        main(["validate", str(EXAMPLE / "codebook.toml")])
