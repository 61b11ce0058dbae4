"""Full-page screenshots of both reports at a phone's and a desktop's width.

Run (after the main job, with the test environment's Python, which has selenium)::

    .tox/tests/bin/python analysis/screenshots.py results/

Reads ``results/implementation/report.html`` and ``results/pilot/report.html``,
opens each in Debian's headless Chromium at 390 and 1280 px and writes
``results/screenshots/<study>-<width>.png`` (the whole page, up to 50,000 px
tall) and ``results/screenshots/findings.json``: what the browser test checks
(overflow, images, clipped figures, console errors, axe-core's violations). It
prints the problems found and exits 1 when there are any. Needs ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them); shares its browser code with the
test (``tests/browser.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# tests/browser.py is the one place that starts the browser; import it from the
# repository this script sits in
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import browser

STUDIES = ("implementation", "pilot")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    results = Path(argv[0])
    reason = browser.missing()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 2
    pages = {s: results / s / "report.html" for s in STUDIES}
    absent = [str(p) for p in pages.values() if not p.is_file()]
    if absent:
        print(f"screenshots: no report at {', '.join(absent)}", file=sys.stderr)
        return 2
    out = results / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    findings, failed = {}, False
    for width in browser.WIDTHS:
        with browser.chromium(width) as driver:
            for study, page in pages.items():
                shot = out / f"{study}-{width}.png"
                found = browser.inspect(driver, page, width, screenshot=shot)
                problems = browser.problems(found, width)
                found.pop("text")
                found["problems"] = problems
                findings[f"{study}-{width}"] = found
                failed = failed or bool(problems)
                print(f"{shot}: {len(problems)} problem(s)")
                for problem in problems:
                    print(f"  {problem}")
    (out / "findings.json").write_text(json.dumps(findings, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
