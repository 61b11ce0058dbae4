"""A run is all or nothing: ``cpeval run`` stages its outputs beside ``--out`` and
moves them into place whole (cpeval._files.staged_folder).

Reruns are byte-identical, so at any moment the output folder must hold exactly
the reference run's files: a run killed (SIGKILL) at any point, a failed run or
a full disk leaves it as it was, and the next run leaves no staging folder.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cpeval
from cpeval import _files
from cpeval.cli import main
from tests.conftest import ROOT, tree_hashes
from tests.zoo.studies import Layout, write

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock")


def _command(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "cpeval.cli", "run", str(config), "--out", str(out)]


def _leftovers(out: Path) -> list[str]:
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}.") and not p.name.endswith(".lock")
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A zoo study, its reference run and how long a run takes."""
    folder = tmp_path_factory.mktemp("staged")
    config = write(folder / "study", Layout())
    out = folder / "out"
    start = time.monotonic()
    subprocess.run(_command(config, out), check=True, capture_output=True, cwd=ROOT)
    return config, out, tree_hashes(out), time.monotonic() - start


@pytest.mark.parametrize("fraction", [0.35, 0.6, 0.8, 0.9, 0.97])
def test_a_killed_run_leaves_the_previous_results(study, fraction):
    config, out, reference, seconds = study
    child = subprocess.Popen(
        _command(config, out),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds * fraction)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert tree_hashes(out) == reference  # the old run, or a whole new identical one
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    assert tree_hashes(out) == reference
    assert _leftovers(out) == []


def test_a_failed_run_leaves_the_previous_results(study, tmp_path):
    config, out, reference, _ = study
    bad = config.with_name("bad.toml")
    bad.write_text(config.read_text().replace('"age"', '"agee"'))
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    assert tree_hashes(out) == reference
    assert _leftovers(out) == []


def test_a_full_disk_leaves_the_previous_results(study, monkeypatch, capsys):
    config, out, reference, _ = study
    real = _files.write_atomic
    calls = []

    def full(path, data):
        calls.append(path)
        if len(calls) == 6:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    for module in ("cpeval.pipeline", "cpeval.pipeline._figures", "cpeval.report"):
        monkeypatch.setattr(f"{module}.write_atomic", full)
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "cannot write the outputs: No space left on device" in error
    assert "earlier results there are unchanged" in error
    assert tree_hashes(out) == reference
    assert _leftovers(out) == []


def test_a_read_only_file_system_is_a_data_error(study, monkeypatch, capsys):
    config, out, reference, _ = study

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_files.tempfile, "mkdtemp", read_only)
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "cannot write the outputs: Read-only file system" in error
    assert tree_hashes(out) == reference


def test_a_smaller_config_leaves_no_stale_files(study, tmp_path):
    config, _, _, _ = study
    out = tmp_path / "out"
    more = config.with_name("more.toml")
    more.write_text(config.read_text().replace('["csv"]', '["csv", "md", "tex"]'))
    assert main(["run", str(more), "--out", str(out), "--quiet"]) == 0
    assert any(p.suffix == ".md" for p in (out / "tables").iterdir())
    (out / "notes.txt").write_text("a file of the user's own")
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    suffixes = {p.suffix for p in (out / "tables").iterdir()}
    assert suffixes == {".csv"}
    assert not (out / "notes.txt").exists()  # --out holds one run's files only


def test_two_runs_into_one_folder_cannot_mix(study, tmp_path):
    import fcntl

    config, _, _, _ = study
    out = tmp_path / "out"
    with open(tmp_path / ".out.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(cpeval.DataError, match="another cpeval run is writing"):
            cpeval.pipeline.run(config, out, say=lambda *_: None)
    assert not out.exists() and _leftovers(out) == []


def test_a_swap_cut_short_is_recovered(tmp_path):
    out = tmp_path / "out"
    aside = tmp_path / ".out.old-abc"  # killed between the two renames
    aside.mkdir()
    (aside / "report.html").write_text("previous")
    (tmp_path / ".out.tmp-def").mkdir()  # and a staging folder of a killed run
    _files._recover(out)
    assert (out / "report.html").read_text() == "previous"
    assert _leftovers(out) == []


def test_out_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "out"
    path.write_text("x")
    refused = pytest.raises(cpeval.DataError, match="the output path is a file")
    with refused, _files.staged_folder(path):
        pass
    assert path.read_text() == "x"


def test_a_folder_that_is_not_a_cpeval_run_is_never_replaced(study, tmp_path):
    config, _, _, _ = study
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("years of work")
    assert main(["run", str(config), "--out", str(home), "--quiet"]) == 2
    assert (home / "thesis.docx").read_text() == "years of work"
    assert sorted(p.name for p in home.iterdir()) == ["thesis.docx"]
    assert _leftovers(home) == []
