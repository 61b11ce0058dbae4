"""Write flat_boundary.csv: a synthetic implementation study (seed 5020) whose
REML criterion is nearly flat in the trust variance, so a search can stop at 0
although the optimum is at theta = 0.042 (run from the repository root:
python tests/reference/lmm/make_flat_boundary.py)."""

import shutil
import tempfile
from pathlib import Path

import numpy as np

from cpeval.io import load_study
from cpeval.pipeline._outcomes import analysis_data, propensity
from cpeval.scales import score_study
from cpeval.simulate import IMPLEMENTATION, write_study

HERE = Path(__file__).parent
SOURCE = HERE.parents[2] / "data" / "synthetic" / "implementation"

with tempfile.TemporaryDirectory() as folder:
    folder = Path(folder)
    write_study(IMPLEMENTATION, folder, seed=5020)
    for name in ("codebook.toml", "rguk_illustrative.toml", "sis_illustrative.toml"):
        shutil.copy(SOURCE / name, folder / name)
    data = analysis_data(score_study(load_study(folder / "codebook.toml")))
score = propensity(data, "id", ["age", "sex"])
out = data.assign(x=data["id"].map(score.logit)).rename(
    columns={"wemwbs_total": "y", "treated": "group", "site": "trust"}
)[["trust", "team", "id", "time", "group", "x", "y"]]
out["x"] = np.round(out["x"], 12)
out.to_csv(HERE / "flat_boundary.csv", index=False)
