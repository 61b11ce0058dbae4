"""Power by simulation: time for 1,000 replicates, and agreement with the closed form.

Run: python benchmarks/bench_power.py [replicates]
Design: 10 teams (5 per arm), 16 participants each (160), ICC 0.05. Times
``simulate_power`` on 1 and 2 local processes for the CR2 ANCOVA and the mixed
model (target: 1,000 replicates under 60 s on 2 cores), and beside it the same
simulation in R (base R data generation, lme4::lmer per replicate; when Rscript
with lme4 is installed), timed inside R. The simple case (no baseline, equal
teams, mixed model) is compared with the closed-form design-effect power.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time

from cpeval.power import TrialDesign, closed_form_power, simulate_power

DESIGN = TrialDesign(clusters=10, cluster_size=16, icc=0.05, effect=0.5)
R_SCRIPT = """
suppressMessages(library(lme4))
set.seed(1)
reps <- {reps}
start <- proc.time()[["elapsed"]]
hits <- 0
for (r in 1:reps) {{
  team <- rep(1:10, each = 16); arm <- as.integer(team > 5); n <- 160
  a0 <- rnorm(10, 0, sqrt(0.05))
  a1 <- 0.5 * a0 + sqrt(1 - 0.25) * rnorm(10, 0, sqrt(0.05))
  e0 <- rnorm(n, 0, sqrt(0.95))
  e1 <- 0.5 * e0 + sqrt(1 - 0.25) * rnorm(n, 0, sqrt(0.95))
  d <- data.frame(y = c(a0[team] + e0, a1[team] + e1 + 0.5 * arm),
                  time = rep(0:1, each = n), arm = rep(arm, 2),
                  team = rep(team, 2), id = rep(1:n, 2))
  fit <- lmer(y ~ time * arm + (1 | team/id), data = d)
  est <- fixef(fit)[["time:arm"]]; se <- sqrt(vcov(fit)["time:arm", "time:arm"])
  hits <- hits + (abs(est / se) > 1.96)
}}
cat(proc.time()[["elapsed"]] - start, hits / reps)
"""


def _r(reps: int) -> tuple[float, float] | None:
    if shutil.which("Rscript") is None:
        return None
    run = subprocess.run(
        ["Rscript", "-e", R_SCRIPT.format(reps=reps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        return None
    seconds, power = run.stdout.split()
    return float(seconds), float(power)


def main(replicates: int) -> None:
    print(f"design: {DESIGN}")
    print(f"{'model':>7} {'n_jobs':>6} {'replicates':>10} {'seconds':>8} {'power':>6}")
    timings = {}
    for model in ("ancova", "lmm"):
        for n_jobs in (1, 2):
            start = time.perf_counter()
            result = simulate_power(
                DESIGN,
                model=model,
                n_replicates=replicates,
                wtp=None,
                seed=1,
                n_jobs=n_jobs,
            )
            timings[model, n_jobs] = time.perf_counter() - start
            print(
                f"{model:>7} {n_jobs:>6} {replicates:>10} "
                f"{timings[model, n_jobs]:8.1f} {result.power:6.3f}"
            )
    peer = _r(min(replicates, 200))
    if peer:
        per_rep = peer[0] / min(replicates, 200)
        ours = timings["lmm", 1] / replicates
        print(
            f"R lme4 (lmer only, no df), {min(replicates, 200)} replicates: "
            f"{per_rep * 1000:.1f} ms per replicate against cpeval's "
            f"{ours * 1000:.1f} ms with Satterthwaite df (ratio {per_rep / ours:.2f}; "
            "above 1: cpeval faster); R's power (z test) "
            f"{peer[1]:.3f}"
        )
    simple = TrialDesign(
        clusters=10, cluster_size=16, icc=0.05, effect=0.5, baseline_correlation=None
    )
    result = simulate_power(
        simple, model="lmm", n_replicates=replicates, wtp=None, seed=2, n_jobs=2
    )
    expected = closed_form_power(effect=0.5, clusters=10, cluster_size=16, icc=0.05)
    mc = math.sqrt(expected * (1 - expected) / replicates)
    low, high = result.power_ci
    print(
        f"simple case: simulated power {result.power:.3f} (95% MC CI {low:.3f} to "
        f"{high:.3f}); closed form {expected:.3f}; difference "
        f"{(result.power - expected) / mc:+.2f} Monte Carlo SEs"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
