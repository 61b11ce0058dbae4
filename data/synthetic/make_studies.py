"""Write the synthetic pilot and implementation studies (run: python make_studies.py).

The raw files (CSV, and an SPSS copy of the implementation
study's baseline.csv) come from cpeval.simulate with the seeds below; running this again
writes byte-identical files (a test checks it). Codebooks, illustrative scoring
declarations and READMEs in each folder are written by hand.
"""

import sys
from pathlib import Path

from cpeval.simulate import IMPLEMENTATION, PILOT, write_study

HERE = Path(__file__).parent
SEEDS = {"pilot": 20130107, "implementation": 20180301}


def main(root: Path) -> None:
    for design in (PILOT, IMPLEMENTATION):
        sav = design.name == "implementation"  # one SPSS copy, of baseline.csv
        write_study(design, root / design.name, seed=SEEDS[design.name], sav=sav)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
