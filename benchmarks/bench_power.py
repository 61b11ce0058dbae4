"""Power by simulation: time for 1,000 replicates beside R, and agreement with
the closed form.

Run: python benchmarks/bench_power.py [replicates]
Design: 10 teams (5 per arm), 16 participants each (160), ICC 0.05, baseline
correlation 0.5. Times ``simulate_power`` on 1 and 2 local processes for the
CR2 ANCOVA and the mixed model, and beside them the same simulations in R,
timed inside R on the same number of replicates (base R data generation;
``lm`` + ``clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite")``
for the ANCOVA; ``lmerTest::lmer`` with its Satterthwaite df for the mixed
model, or ``lme4::lmer`` when lmerTest is absent). R runs on one core, so the
ratios compare one core with one core (and cpeval's two processes with it).
Targets (issue 16): the CR2 ANCOVA faster than R on one core, the mixed model
at least 3 times faster than R on one core, and n_jobs=2 faster than n_jobs=1.
The simple case (no baseline, equal teams, mixed model) is compared with the
closed-form design-effect power.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time

from cpeval.power import TrialDesign, closed_form_power, simulate_power

DESIGN = TrialDesign(clusters=10, cluster_size=16, icc=0.05, effect=0.5)
R_DATA = """
set.seed(1)
reps <- {reps}
simulate <- function() {{
  team <- rep(1:10, each = 16); arm <- as.integer(team > 5); n <- 160
  a0 <- rnorm(10, 0, sqrt(0.05))
  a1 <- 0.5 * a0 + sqrt(1 - 0.25) * rnorm(10, 0, sqrt(0.05))
  e0 <- rnorm(n, 0, sqrt(0.95))
  e1 <- 0.5 * e0 + sqrt(1 - 0.25) * rnorm(n, 0, sqrt(0.95))
  list(team = team, arm = arm, n = n,
       y0 = a0[team] + e0, y1 = a1[team] + e1 + 0.5 * arm)
}}
"""
R_ANCOVA = (
    R_DATA
    + """
suppressMessages(library(clubSandwich))
start <- proc.time()[["elapsed"]]
hits <- 0
for (r in 1:reps) {{
  s <- simulate()
  d <- data.frame(y1 = s$y1, y0 = s$y0, arm = s$arm, team = s$team)
  fit <- lm(y1 ~ y0 + arm, data = d)
  test <- coef_test(fit, vcov = "CR2", cluster = d$team, test = "Satterthwaite")
  hits <- hits + (test$p_Satt[3] < 0.05)
}}
cat(proc.time()[["elapsed"]] - start, hits / reps, "clubSandwich")
"""
)
R_LMM = (
    R_DATA
    + """
test <- requireNamespace("lmerTest", quietly = TRUE)
suppressMessages(library(if (test) "lmerTest" else "lme4", character.only = TRUE))
start <- proc.time()[["elapsed"]]
hits <- 0
for (r in 1:reps) {{
  s <- simulate()
  d <- data.frame(y = c(s$y0, s$y1), time = rep(0:1, each = s$n),
                  arm = rep(s$arm, 2), team = rep(s$team, 2), id = rep(1:s$n, 2))
  fit <- lmer(y ~ time * arm + (1 | team/id), data = d)
  if (test) {{
    p <- summary(fit)$coefficients["time:arm", "Pr(>|t|)"]
  }} else {{
    z <- fixef(fit)[["time:arm"]] / sqrt(vcov(fit)["time:arm", "time:arm"])
    p <- 2 * pnorm(-abs(z))
  }}
  hits <- hits + (p < 0.05)
}}
cat(proc.time()[["elapsed"]] - start, hits / reps,
    if (test) "lmerTest" else "lme4-z")
"""
)


def _r(script: str, reps: int) -> tuple[float, float, str] | None:
    """R's seconds, power and what it ran (None without Rscript or on error)."""
    if shutil.which("Rscript") is None:
        return None
    run = subprocess.run(
        ["Rscript", "-e", script.format(reps=reps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0 or not run.stdout.strip():
        return None
    seconds, power, what = run.stdout.split()[-3:]
    return float(seconds), float(power), what


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
                f"{timings[model, n_jobs]:8.2f} {result.power:6.3f}"
            )
    for model in ("ancova", "lmm"):
        one, two = timings[model, 1], timings[model, 2]
        print(f"{model}: n_jobs=2 / n_jobs=1 = {two / one:.2f} (target below 1)")
    for model, script, target in (
        ("ancova", R_ANCOVA, 1.0),
        ("lmm", R_LMM, 3.0),
    ):
        peer = _r(script, replicates)
        if peer is None:
            print(f"R peer for {model}: not run (Rscript or its packages absent)")
            continue
        seconds, power, what = peer
        one, two = timings[model, 1], timings[model, 2]
        print(
            f"R {what} loop, {replicates} replicates: {seconds:.2f} s (power "
            f"{power:.3f}); R / cpeval: {seconds / one:.1f} on one core, "
            f"{seconds / two:.1f} with n_jobs=2 (target at least {target:g} on "
            "one core)"
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
