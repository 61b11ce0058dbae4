"""Print the hostile-input corpus as a table: python -m tests.hostile

Every case runs in a child process (60 s, 4 GB address-space cap): its exit
code, seconds, peak memory and first message, and whether the outcome is the
expected one.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from tests.hostile.cases import CASES, first_error, run_bounded, warned


def _message(ran, outcome: str, says: str) -> str:
    if outcome == "warning":
        output = ran.stdout + ran.stderr
        lines = [x.strip() for x in output.splitlines() if re.search(says, x)]
    else:
        lines = [first_error(ran.stderr)] + [
            x.strip() for x in ran.stdout.splitlines() if x.strip().startswith("error:")
        ]
    found = [x for x in lines if x]
    return (found[0] if found else "").split(": ", 1)[-1][:110]


def main() -> None:
    print("| case | expected | exit | ok | seconds | peak MB | message |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for case in CASES:
        with tempfile.TemporaryDirectory() as folder:
            argv = case.make(Path(folder) / "study")
            ran = run_bounded(argv, 60, 4 * 2**30)
        if case.outcome == "error":
            ok = ran.code == 2 and bool(
                re.search(case.says, first_error(ran.stderr) + ran.stdout)
            )
        elif case.outcome == "warning":
            ok = ran.code == 1 and warned(ran.stdout + ran.stderr, case.says)
        else:
            ok = ran.code in (0, 1)
        message = _message(ran, case.outcome, case.says or "$^").replace("|", "\\|")
        print(
            f"| {case.name} | {case.outcome} | {ran.code} | {'yes' if ok else 'NO'} | "
            f"{ran.seconds:.1f} | {ran.peak_bytes / 2**20:.0f} | {message} |"
        )


if __name__ == "__main__":
    main()
