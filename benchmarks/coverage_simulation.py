"""Coverage of the reanalyses over regenerated synthetic studies (issue 7).

Run: python benchmarks/coverage_simulation.py [replicates]
Pilot: the share of regenerated studies whose 95% CI for the high- against
low/moderate-fidelity difference (ANCOVA, CR2) contains the designed effect on
the score scale (target: at least 90%). The designed effect on the score scale is
estimated once from one very large study of the same design. Implementation: the
share whose mixed-model 95% CI for time x arm contains zero (no true effect;
nominal 95%).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cpeval.io import load_study
from cpeval.models import ancova, fit_lmm
from cpeval.scales import score_study
from cpeval.simulate import IMPLEMENTATION, PILOT, write_study

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ["rguk_total", "social_inclusion_total"]


def _study(design, seed: int, folder: Path):
    write_study(design, folder, seed=seed)
    source = ROOT / "data" / "synthetic" / design.name
    for name in ("codebook.toml", "rguk_illustrative.toml", "sis_illustrative.toml"):
        shutil.copy(source / name, folder / name)
    return score_study(load_study(folder / "codebook.toml"))


def _pilot_effects(study, cluster: str | None = "team") -> dict[str, tuple]:
    data = study.data.assign(treated=(study.data["fidelity"] == "high").astype(int))
    out = {}
    for column in OUTCOMES:
        base = data[data["wave"] == "baseline"][["id", "treated", "team", column]]
        follow = data[data["wave"] == "9 months"][["id", column]]
        merged = base.rename(columns={column: "b"}).merge(
            follow.rename(columns={column: "f"}), on="id"
        )
        fit = ancova(
            merged, outcome="f", baseline="b", group="treated", cluster=cluster
        )
        ci = fit.conf_int().loc["treated"]
        out[column] = (fit.params["treated"], ci["ci_low"], ci["ci_high"])
    return out


def main(replicates: int) -> None:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        big = dataclasses.replace(
            PILOT, recruited=20_000, baseline=20_000, followup=15_000
        )
        truth = {
            k: v[0]
            for k, v in _pilot_effects(
                _study(big, 1, Path(folder) / "big"), cluster=None
            ).items()
        }
        covered = {k: 0 for k in OUTCOMES}
        for seed in range(replicates):
            effects = _pilot_effects(
                _study(PILOT, 1000 + seed, Path(folder) / f"p{seed}")
            )
            for k, (_, low, high) in effects.items():
                covered[k] += low <= truth[k] <= high
        zero = 0
        for seed in range(replicates):
            study = _study(IMPLEMENTATION, 5000 + seed, Path(folder) / f"i{seed}")
            data = study.data.assign(
                time=study.data["wave"].cat.codes.astype(int),
                treated=(study.data["arm"] == "intervention").astype(int),
            )
            fit = fit_lmm(data, "rguk_total ~ time * treated", ["site", "team", "id"])
            row = fit.tidy().set_index("term").loc["time:treated"]
            zero += row["ci_low"] <= 0 <= row["ci_high"]
    print(
        f"{replicates} regenerated studies of each design, "
        f"{time.perf_counter() - start:.0f} s"
    )
    for k in OUTCOMES:
        print(
            f"pilot {k}: designed effect {truth[k]:.3f} (score units); "
            f"95% CI covers it in {covered[k] / replicates:.1%} (target >= 90%)"
        )
    print(
        f"implementation rguk_total: 95% CI covers 0 in {zero / replicates:.1%} "
        "(nominal 95%)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
