"""Coverage of the two reanalyses over regenerated synthetic studies (issue 7).

Run: python benchmarks/coverage_simulation.py [replicates] [workers] [first_seed]
[designs]  (designs: "pilot", "implementation" or "pilot,implementation", the
default)

Each replicate regenerates a study with a new seed and runs the outcome analyses
of the committed configs (``analysis/*.toml``) exactly as ``cpeval run`` does:

- Pilot (two-level multiple imputation then ANCOVA, CR2 by agency; and the
  complete-case ANCOVA): the share of studies whose 95% CI for the high- against
  low/moderate-fidelity difference contains the designed effect on the score
  scale (target: at least 90%), by analysis. The designed effect on the score
  scale is the complete-case point estimate from one very large study of the
  same design (everyone seen: nothing to impute).
- Implementation (mixed model with propensity adjustment; available data and
  multiple imputation): the share whose 95% CI for time x arm contains zero
  (no true effects; nominal 95%).

Replicates run in parallel with joblib (``workers``, default 2). ``first_seed``
(default 0) shifts every replicate's seed, for a fresh set of studies.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from cpeval.io import load_study
from cpeval.pipeline import load_config
from cpeval.pipeline._outcomes import analysis_data, outcome_table
from cpeval.scales import score_study
from cpeval.simulate import IMPLEMENTATION, PILOT, write_study

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = {"pilot": PILOT, "implementation": IMPLEMENTATION}
DESIGNS_RUN = ("pilot", "implementation")


def replicate(
    name: str, seed: int, *, config: dict | None = None, **design: int
) -> pd.DataFrame:
    """One regenerated study of a design, analysed as its config says.

    ``config`` replaces fields of the config (e.g. ``{"imputation": None}``) and
    keyword arguments fields of the design. Returns the outcome table (one row
    per outcome and analysis).
    """
    cfg = load_config(ROOT / "analysis" / f"{name}_study.toml")
    cfg = cfg.model_copy(update=config or {})
    design = dataclasses.replace(DESIGNS[name], **design)
    source = ROOT / "data" / "synthetic" / name
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_study(design, folder, seed=seed)
        for extra in (
            "codebook.toml",
            "rguk_illustrative.toml",
            "sis_illustrative.toml",
        ):
            shutil.copy(source / extra, folder / extra)
        study = score_study(load_study(folder / "codebook.toml"))
    table, _ = outcome_table(cfg, analysis_data(study), study.codebook, say=_quiet)
    return table.assign(design=name, seed=seed)


def _quiet(*_) -> None:
    pass


def main(
    replicates: int,
    workers: int,
    first_seed: int = 0,
    designs: tuple[str, ...] = ("pilot", "implementation"),
) -> None:
    from joblib import Parallel, delayed

    start = time.perf_counter()
    big = replicate(
        "pilot",
        1,
        config={"imputation": None, "subgroups": {}},
        recruited=20_000,
        baseline=20_000,
        followup=15_000,
    )
    truth = big.set_index("outcome")["difference"]
    offsets = {"pilot": 1000, "implementation": 5000}
    runs = Parallel(n_jobs=workers)(
        delayed(replicate)(name, offsets[name] + first_seed + seed)
        for name in designs
        for seed in range(replicates)
    )
    elapsed = time.perf_counter() - start
    results = pd.concat(runs, ignore_index=True)
    pilot = results[results["design"] == "pilot"].copy()
    pilot["covered"] = (pilot["ci_low"] <= pilot["outcome"].map(truth)) & (
        pilot["outcome"].map(truth) <= pilot["ci_high"]
    )
    implementation = results[results["design"] == "implementation"].copy()
    implementation["covered"] = (implementation["ci_low"] <= 0) & (
        implementation["ci_high"] >= 0
    )
    print(
        f"{replicates} regenerated studies of each design, {elapsed:.0f} s "
        f"with {workers} workers"
    )
    shares = pilot.groupby(["outcome", "analysis"], sort=False)["covered"]
    for (outcome, analysis), share in shares.mean().items():
        print(
            f"pilot, {outcome}, {analysis}: designed effect {truth[outcome]:.3f} "
            f"(score units); 95% CI covers it in {share:.1%} (target >= 90%)"
        )
    shares = implementation.groupby(["outcome", "analysis"], sort=False)["covered"]
    for (outcome, analysis), share in shares.mean().items():
        print(
            f"implementation, {outcome}, {analysis}: 95% CI covers 0 in "
            f"{share:.1%} (nominal 95%)"
        )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 200,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        int(sys.argv[3]) if len(sys.argv) > 3 else 0,
        tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else DESIGNS_RUN,
    )
