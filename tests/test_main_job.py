"""``analysis/main_job.py``, the main job's runner: each analysis is a ``cpeval
run`` whose output and exit code come back whole, and the job's exit code is the
worst of them. (The main job itself runs in CI: ``.ci/run``.)"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "analysis" / "main_job.py"


def _module():
    spec = importlib.util.spec_from_file_location("main_job", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_bad_config_comes_back_as_its_exit_code_and_message(tmp_path) -> None:
    code, _, complained, _ = _module().run_one(
        str(tmp_path / "absent.toml"), str(tmp_path / "out"), []
    )
    assert code == 2
    assert complained.startswith("cpeval: error:")
    assert "absent.toml" in complained
    assert "Traceback" not in complained
    assert not (tmp_path / "out").exists()


def test_a_usage_error_is_an_exit_code_not_a_crash(tmp_path) -> None:
    code, _, complained, _ = _module().run_one(
        "analysis/pilot_study.toml", str(tmp_path / "out"), ["--no-such-option"]
    )
    assert code == 2
    assert "unrecognized arguments: --no-such-option" in complained


def test_the_job_reports_every_run_and_exits_with_the_worst(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--results", str(tmp_path), "--no-such-option"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    for config in ("implementation_study.toml", "pilot_study.toml"):
        assert f"== cpeval run analysis/{config}" in done.stdout
    assert done.stderr.count("unrecognized arguments: --no-such-option") == 2
    assert "main job:" in done.stdout and "exit 2" in done.stdout
    assert not any(tmp_path.iterdir())
