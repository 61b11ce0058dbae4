"""Set up and run cpeval's two jobs on a fresh machine: ``python3 tasks.py analysis``
(the main job, the reanalysis of the synthetic studies into ``results/``) and
``python3 tasks.py tests`` (the test suite).

It makes a virtual environment in ``.venv`` (ignored by git), installs tox into it
and runs ``tox -e <job>``, so it works where the system Python refuses pip
installs (PEP 668, as on Debian and Ubuntu). Where the ``venv`` module cannot
install pip itself (Debian without python3-venv), the environment is made without
pip and the system's pip installs tox into it (``pip --python``). Extra arguments
go to tox, e.g. ``python3 tasks.py tests -- -k zoo``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = HERE / ".venv"
JOBS = ("analysis", "tests", "lint")


def _python() -> Path:
    folder = "Scripts" if sys.platform == "win32" else "bin"
    return ENV / folder / ("python.exe" if sys.platform == "win32" else "python")


def _has_tox(python: Path) -> bool:
    found = subprocess.run(
        [str(python), "-c", "import tox"], capture_output=True, check=False
    )
    return found.returncode == 0


def _environment() -> Path:
    """The virtual environment with tox in it, made once."""
    python = _python()
    if python.exists() and _has_tox(python):
        return python
    try:
        venv.create(ENV, with_pip=True, clear=True)
        install = [str(python), "-m", "pip"]
    except (subprocess.CalledProcessError, OSError):
        venv.create(ENV, with_pip=False, clear=True)
        install = [sys.executable, "-m", "pip", "--python", str(python)]
    quiet = ["--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, "install", *quiet, "tox>=4"], check=True)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in JOBS:
        print(f"usage: python3 tasks.py {{{','.join(JOBS)}}} [-- tox arguments]")
        return 2
    python = _environment()
    extra = argv[1:]
    command = [str(python), "-m", "tox", "-e", argv[0], *extra]
    return subprocess.run(command, cwd=HERE, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
