"""The report's first screen: the question, the design in one sentence, and the
answer for each primary outcome and for cost-effectiveness, in plain words.

Written from the result objects, like the findings; nothing is guessed: whether
the groups were randomised is what the config declares (``[analysis] design``),
and the report says so when it does not.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..report import Summary
from ._findings import (
    _join,
    _money,
    _points,
    _qalys,
    _wave,
    is_ratio,
    ratio_name,
    share,
)

__all__ = ["DESIGNS", "summary"]

#: What ``[analysis] design`` may declare, and how the report says it.
DESIGNS: dict[str, str] = {
    "randomised": "A randomised comparison",
    "cluster-randomised": "A cluster-randomised comparison",
    "non-randomised": "A non-randomised comparison (the groups were not formed "
    "by chance, so they may differ in ways the analysis cannot fully allow for)",
}


def summary(cfg, study, data: pd.DataFrame, analyses, directions, economics=None):
    """The :class:`~cpeval.report.Summary` of a run."""
    i, c = study.arms
    wave = cfg.wave(study.codebook)
    outcomes = _join([f"{label}" for label in cfg.outcomes])
    question = cfg.question or (
        f"{'Do' if len(cfg.outcomes) > 1 else 'Does'} {outcomes} at {_wave(wave)} "
        f"differ between people in {i} and people in {c}, allowing for where they "
        "started?"
    )
    answers = tuple(
        (row["outcome"], _answer(row, i, c, directions.get(row["column"]), cfg.design))
        for row in analyses.primary()
    )
    return Summary(
        question=question,
        design=_design(cfg, study, data, wave),
        answers=answers,
        cost_effectiveness=_cost_effectiveness(economics[0], i, c)
        if economics
        else None,
    )


def _design(cfg, study, data: pd.DataFrame, wave: str) -> str:
    book = study.codebook
    i, c = study.arms
    kind = DESIGNS.get(cfg.design) if cfg.design else None
    lead = kind or (
        "A comparison (the config does not declare whether the groups were "
        "randomised: set [analysis] design)"
    )
    baseline = data[data["time"] == 0]
    counts = baseline.groupby(book.group)[book.id].nunique()
    arms = f"{int(counts.get(i, 0))} people in {i} and {int(counts.get(c, 0))} in {c}"
    clusters = [
        f"{baseline[level].nunique()} {_plural(level, baseline[level].nunique())}"
        for level in reversed(book.clusters)
    ]
    where = f", in {' within '.join(clusters)}" if clusters else ""
    followups = _join([_wave(w) for w in book.waves[1:]])
    return (
        f"{lead} of {arms}{where}, interviewed at {_wave(book.waves[0])} and "
        f"followed up at {followups}; the primary follow-up is {_wave(wave)}."
    )


def _plural(noun: str, n: int) -> str:
    return noun if n == 1 else f"{noun}s"


def _ratio_answer(row: Mapping, i: str, c: str, higher: str | None, design) -> str:
    """A binary or count outcome: the odds or rate ratio, 1 for no difference."""
    r, low, high = row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]
    name = ratio_name(row)
    what = "odds" if name == "odds ratio" else "rate"
    head = (
        f"{name.capitalize()} {r:.2f} for {i} against {c} (95% CI {low:.2f} to "
        f"{high:.2f}; n = {row['n_participants']}; 1 means no difference)."
    )
    if not (low > 1 or high < 1):
        return (
            f"{head} No clear difference: the data fit {i} having "
            f"{'odds' if what == 'odds' else 'a rate'} from "
            f"{low:.2f} to {high:.2f} times {c}'s"
            + _direction_note(higher)
            + ", so this study alone does not show that it changes this outcome."
        )
    if higher is None:
        return (
            head + " The difference is unlikely to be chance alone, but the "
            "outcome's definition does not say whether higher is better."
        )
    better = (r > 1) == (higher == "better")
    return head + f" This favours {i if better else c}" + _design_caveat(design)


def _design_caveat(design) -> str:
    """How a clear difference's sentence ends: a caution unless randomised."""
    return {
        "randomised": ".",
        "cluster-randomised": ".",
        "non-randomised": "; in a non-randomised comparison part of it may come "
        "from how the groups differed.",
    }.get(
        design,
        "; unless the groups were randomised, part of it may come from "
        "how they differed.",
    )


def _answer(row: Mapping, i: str, c: str, higher: str | None, design) -> str:
    if is_ratio(row):
        return _ratio_answer(row, i, c, higher, design)
    d, low, high = row["difference"], row["ci_low"], row["ci_high"]
    head = (
        f"{_points(d)} in {i} than in {c} (95% CI from "
        f"{_points(low)} to {_points(high)}; n = {row['n_participants']})."
    )
    clear = low > 0 or high < 0
    if higher is None:
        good, bad = "higher", "lower"
    else:
        good, bad = ("higher", "lower") if higher == "better" else ("lower", "higher")
    if not clear:
        return (
            f"{head} No clear difference: the data fit {i} scoring up to "
            f"{abs(low if good == 'higher' else high):.2f} points {bad} or up to "
            f"{abs(high if good == 'higher' else low):.2f} points {good} than {c}"
            + _direction_note(higher)
            + ", so this study alone does not show that it changes this outcome."
        )
    if higher is None:
        meaning = (
            " The difference is unlikely to be chance alone, but the outcome's "
            "definition does not say whether higher is better."
        )
    else:
        better = (d > 0) == (higher == "better")
        near, far = sorted((abs(low), abs(high)))
        meaning = (
            f" This favours {i if better else c}: the difference could be as small "
            f"as {near:.2f} or as large as {far:.2f} points"
        )
        meaning += _design_caveat(design)
    return head + meaning


def _direction_note(higher: str | None) -> str:
    if higher is None:
        return " (the definition does not say whether higher is better)"
    return " (higher is better)" if higher == "better" else " (lower is better)"


def _cost_effectiveness(a, i: str, c: str) -> str:
    chances = _join(
        [f"{share(p)} at £{w:,.0f} per QALY" for w, p in a.p_cost_effective.items()]
    )
    likely = list(a.p_cost_effective.values())
    if min(likely) >= 0.95:
        verdict = f"{i} is very likely to be good value for money"
    elif min(likely) >= 0.5:
        verdict = f"{i} is more likely than not to be good value for money"
    elif max(likely) < 0.05:
        verdict = f"{i} is very unlikely to be good value for money"
    elif max(likely) < 0.5:
        verdict = f"{i} is more likely than not to be poor value for money"
    else:
        verdict = "whether it is good value depends on the threshold"
    return (
        f"The chance that {i} is cost-effective compared with {c} is {chances}: "
        f"{verdict} at these thresholds. Costs per person were "
        f"{_money(a.delta_cost)} (95% CI from {_money(a.cost_ci[0])} to "
        f"{_money(a.cost_ci[1])}) and QALYs {_qalys(a.delta_qalys)} (95% CI from "
        f"{_qalys(a.qalys_ci[0])} to {_qalys(a.qalys_ci[1])}) in {i} ({a.label}, "
        f"n = {a.n_intervention + a.n_comparator})."
    )
