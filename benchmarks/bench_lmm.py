"""Mixed-model fit times: cpeval.models.fit_lmm beside R lme4 (when R is present).

Run: python benchmarks/bench_lmm.py [--quick]

Three models, each timed at several sizes (participants, teams):

- ``nested``: ``y ~ time * group + (1 | team/id)``, two interviews (20% lost at
  follow-up): cpeval's nested engine (``groups=["team", "id"]``);
- ``slope``: ``y ~ time * group + (1 + time | team) + (1 | id)``, three waves:
  a correlated random slope (the sparse engine);
- ``crossed``: ``y ~ time * group + (1 | team) + (1 | team:time) + (1 | id)``,
  three waves: the team-by-wave effect crossed with participant (sparse engine).

Times are best of 10 up to 2,000 participants and of 3 above, after one untimed
fit (imports; it also leaves patsy's DesignInfo of the formula, from which later
fits build their design matrices directly, as the pipeline's repeated fits do);
``first`` is the same best time with that DesignInfo forgotten before each fit
(a formula's first fit: patsy builds the matrices). lme4's is ``lmer()`` alone,
timed inside R by the same script (Rscript with lme4 installed, e.g. Debian
r-cran-lme4). cpeval's time includes the Satterthwaite df, which lme4's does not
(lmerTest adds them on demand). ``evals`` is cpeval's criterion evaluations
(values + evaluations with the exact gradient, which cost two to three values)
beside lme4's (``fit@optinfo$feval``). ``--quick`` runs the smallest size only.

Targets (issue 16): nested intercepts faster than lme4 at every size from 100 to
200,000 participants, ratio >= 1.5 at 160 and >= 5 at 200,000.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _timing import best_of, r_output

from cpeval.models import _formula, _nested, _pls, fit_lmm

MODELS = {
    "nested": ("y ~ time * group + (1 | team/id)", 2, ["team", "id"]),
    "slope": ("y ~ time * group + (1 + time | team) + (1 | id)", 3, None),
    "crossed": ("y ~ time * group + (1 | team) + (1 | team:time) + (1 | id)", 3, None),
}
SIZES = {
    "nested": [(100, 10), (160, 10), (2_000, 40), (20_000, 200), (200_000, 2_000)],
    "slope": [(2_000, 40), (20_000, 200)],
    "crossed": [(2_000, 40), (20_000, 200)],
}
R_SCRIPT = """
suppressMessages(library(lme4))
d <- read.csv("{path}")
best <- Inf
for (i in 1:{repeat}) best <- min(best, system.time(
  fit <- lmer(%s, data = d))[["elapsed"]])
cat(best, fit@optinfo$feval)
"""
#: Runs timed (best of) at 2,000 participants or fewer, on both sides: a small
#: fit takes milliseconds and one busy moment would decide a best of 3.
SMALL_REPEAT = 10
COUNTED = {
    "values": [_nested.NestedDesign, _pls.SchurDesign, _pls.SparseDesign],
    "gradients": [_nested.NestedDesign, _pls.SchurDesign],
}


def simulate(n: int, teams: int, waves: int, seed: int) -> pd.DataFrame:
    """Participants in teams (arm by team), interviewed at ``waves`` waves;
    team effects with a slope over time and a team-by-wave part."""
    rng = np.random.default_rng(seed)
    team = rng.integers(0, teams, n)
    group = team % 2
    u_team = rng.normal(0, 1.5, teams)[team]
    u_slope = rng.normal(0, 0.5, teams)[team]
    u_wave = rng.normal(0, 1.0, (teams, waves))
    u_id = rng.normal(0, 5, n)
    rows = []
    for t in range(waves):
        keep = np.ones(n, bool) if t == 0 else rng.random(n) > 0.2
        y = 40 + 2 * t + u_team + u_slope * t + u_wave[team, t] + u_id
        y = y + rng.normal(0, 6, n)
        frame = pd.DataFrame(
            {"team": team, "id": np.arange(n), "group": group, "time": t, "y": y}
        )
        rows.append(frame[keep])
    return pd.concat(rows, ignore_index=True)


def evaluations(fit) -> str:
    """``values+gradients``: the criterion evaluations of one call of ``fit``."""
    counts = {"values": 0, "gradients": 0}
    saved = []
    for kind, method in (("values", "solve"), ("gradients", "solve_with_derivatives")):
        for cls in COUNTED[kind]:
            original = getattr(cls, method)

            def counted(self, theta, _original=original, _kind=kind):
                counts[_kind] += 1
                return _original(self, theta)

            saved.append((cls, method, original))
            setattr(cls, method, counted)
    try:
        fit()
    finally:
        for cls, method, original in saved:
            setattr(cls, method, original)
    return f"{counts['values']}+{counts['gradients']}"


def lme4(formula: str, data: pd.DataFrame, repeat: int) -> tuple[float, int] | None:
    """lme4's best time and its number of criterion evaluations."""
    out = r_output(R_SCRIPT.replace("{repeat}", str(repeat)) % formula, data)
    if not out:
        return None
    seconds, feval = out.split()
    return float(seconds), int(float(feval))


def main(quick: bool = False) -> None:
    print(
        f"{'model':>8} {'participants':>12} {'rows':>7} {'cpeval s':>9} "
        f"{'lme4 s':>8} {'ratio':>6} {'first':>6} {'ratio':>6} {'evals':>8} {'lme4':>5}"
    )
    for model, (formula, waves, groups) in MODELS.items():
        for n, teams in SIZES[model][:1] if quick else SIZES[model]:
            data = simulate(n, teams, waves, seed=n)
            if groups:
                fixed = formula.split(" + (")[0]

                def fit(d=data, f=fixed, g=groups):
                    return fit_lmm(d, f, g)
            else:

                def fit(d=data, f=formula):
                    return fit_lmm(d, f)

            repeat = SMALL_REPEAT if n <= 2_000 else 3
            fit()  # first use: lazy imports
            ours = best_of(fit, repeat=repeat)
            first = best_of(
                lambda f=fit: (_formula._DESIGNS.clear(), f()), repeat=repeat
            )
            count = evaluations(fit)
            peer = lme4(formula, data, repeat)
            ratio = f"{peer[0] / ours:6.2f}" if peer else "     -"
            cold = f"{peer[0] / first:6.2f}" if peer else "     -"
            text = f"{peer[0]:8.3f}" if peer else "       -"
            feval = f"{peer[1]:5d}" if peer else "    -"
            print(
                f"{model:>8} {n:12,d} {len(data):7,d} {ours:9.3f} {text} {ratio} "
                f"{first:6.3f} {cold} {count:>8} {feval}"
            )
    print(
        "ratio = lme4 time / cpeval time (above 1: cpeval faster); first: cpeval's "
        "time for a formula's first fit (patsy builds the design), and its ratio"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
