"""The report's key findings, written from the result objects (never parsed back
from rendered tables).

Each difference is intervention minus comparator, stated with its sign in words
and its interval in the same words; an outcome's definition says whether higher is
better, and only then does a sentence say which arm a difference favours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["findings", "share"]


def findings(
    study,
    analyses,
    directions: Mapping[str, str | None],
    wave: str,
    *,
    economics=None,
    diagnostics: list[str] = (),
    subgroups=None,
) -> list[str]:
    """Plain sentences: who was seen, the primary analysis and its results, the
    sensitivity analyses and other waves, the diagnostics, the economics."""
    i, c = study.arms
    lines = [_flow_sentence(study)]
    primary = analyses.primary()
    if primary:
        lines.append(
            f"Primary analysis: {primary[0]['analysis']} with "
            f"{_article(primary[0]['model'])} {primary[0]['model']}, {i} compared "
            f"with {c} at {_wave(wave)}, adjusted for baseline. Other rows of the "
            "outcomes table are other waves or sensitivity analyses."
        )
    if analyses.score is not None:
        labels = {r["column"]: r["outcome"] for r in analyses.rows}
        ancova = primary and primary[0]["model"] == "ANCOVA"
        lines.append(_balance_sentence(analyses.score, labels, ancova=bool(ancova)))
    for row in primary:
        lines.append(_effect_sentence(row, i, c, directions.get(row["column"])))
    if len(primary) > 1:
        lines.append(
            f"{len(primary)} outcomes were compared: even with no real effect, about "
            "one 95% interval in twenty excludes no difference (zero, or 1 for a "
            "ratio) by chance alone."
            if any(is_ratio(r) for r in primary)
            else f"{len(primary)} outcomes were compared: even with no real effect, "
            "about one 95% interval in twenty excludes zero by chance alone."
        )
    rated = [r for r in primary if np.isfinite(r.get("e_value", np.nan))]
    if rated:
        lines.append(_e_value_sentence(rated))
    lines += _other_rows(analyses, i, c)
    if subgroups is not None:
        lines.append(_subgroup_sentence(subgroups.tests))
    lines += list(diagnostics)
    if economics:
        lines += _economic_sentences(economics, i, c, wave)
    return lines


def _flow_sentence(study) -> str:
    flow = study.flow.table
    book = study.codebook
    recruited = flow[flow["stage"] == "recruited"].iloc[0]
    others = [a for a in flow.columns[3:-1] if a not in study.arms]
    arms = ", ".join(f"{arm} {int(recruited[arm])}" for arm in study.arms)
    if others:
        arms += ", and not compared: " + ", ".join(
            f"{arm} {int(recruited[arm])}" for arm in others
        )
    seen = [
        f"{int(flow.loc[flow['stage'] == f'interviewed at {w}', 'total'].iloc[0])} "
        f"at {_wave(w)}"
        for w in book.waves
    ]
    return (
        f"{int(recruited['total'])} people were recruited ({arms}); "
        f"{_join(seen)} were interviewed."
    )


def _balance_sentence(score, labels: Mapping[str, str], *, ancova: bool) -> str:
    balance = score.balance["diff"].abs().rename(index=dict(labels))
    terms = score.balance.loc[list(score.terms), "diff_adj"].abs()
    return (
        f"At baseline the groups differed by up to {balance.max():.2f} standard "
        f"deviations ({balance.idxmax()}). Weighting by the propensity score left "
        f"its own characteristics ({', '.join(score.terms)}) within "
        f"{terms.max():.2f} standard deviations; "
        + (
            "the outcome models adjust for each outcome's baseline value"
            if ancova
            else "the outcome models compare change from baseline"
        )
        + ", so they allow for baseline differences in the outcomes themselves."
    )


def is_ratio(row: Mapping) -> bool:
    """A binary or count outcome's row: its effect is an odds or rate ratio."""
    ratio = row.get("ratio")
    return ratio is not None and ratio == ratio  # present and not NaN


def ratio_name(row: Mapping) -> str:
    """``"odds ratio"`` or ``"rate ratio"``."""
    return str(row.get("scale", "log ratio")).removeprefix("log ")


def _ratio_sentence(row: dict, i: str, c: str, higher: str | None) -> str:
    """A binary or count outcome: the odds or rate ratio, which is 1 for no
    difference, and for a binary outcome the risk difference."""
    r, low, high = row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]
    name = ratio_name(row)
    what = "odds" if name == "odds ratio" else "rate"
    clear = low > 1 or high < 1
    certain = (
        "the 95% interval does not include 1, so chance alone is an unlikely "
        "explanation"
        if clear
        else "the 95% interval includes 1 (no difference), so chance could explain it"
    )
    if higher is None:
        favours = "; the outcome's definition does not say whether higher is better"
    elif not clear or r == 1:
        favours = ""
    else:
        better = (r > 1) == (higher == "better")
        favours = f", favouring {i if better else c}"
    text = (
        f"{row['outcome']} at {_wave(row['wave'])}: {name} {r:.2f} ({i} against "
        f"{c}: the {what} {_times(r)} in {i}; 95% CI {low:.2f} to {high:.2f}; "
        f"n = {row['n_participants']})"
    )
    rd = row.get("risk_difference")
    if rd is not None and rd == rd:
        text += (
            f"; risk difference {_percentage_points(rd)} (95% CI from "
            f"{_percentage_points(row['risk_difference_ci_low'])} to "
            f"{_percentage_points(row['risk_difference_ci_high'])})"
        )
    return f"{text}{favours}; {certain}."


def _times(ratio: float) -> str:
    """A ratio in words: '1.85 times as high', 'the same'."""
    if abs(ratio - 1) < 0.005:
        return "about the same"
    return f"{ratio:.2f} times as high"


def _percentage_points(value: float) -> str:
    """A risk difference in words: '12.0 percentage points higher'."""
    return _points(100 * value, "percentage points", digits=1)


def _effect_sentence(row: dict, i: str, c: str, higher: str | None) -> str:
    if is_ratio(row):
        return _ratio_sentence(row, i, c, higher)
    d, low, high = row["difference"], row["ci_low"], row["ci_high"]
    certain = (
        "the 95% interval does not include zero, so chance alone is an unlikely "
        "explanation"
        if low > 0 or high < 0
        else "the 95% interval includes zero (no difference), so chance could "
        "explain it"
    )
    if higher is None:
        favours = "; the outcome's definition does not say whether higher is better"
    elif d == 0 or low <= 0 <= high:  # no arm is favoured by an unclear difference
        favours = ""
    else:
        better = (d > 0) == (higher == "better")
        favours = f", favouring {i if better else c}"
    return (
        f"{row['outcome']} at {_wave(row['wave'])}: {_points(d)} in {i} than in {c} "
        f"(95% CI from {_points(low)} to {_points(high)}; n = "
        f"{row['n_participants']}){favours}; {certain}."
    )


def _e_value_sentence(rows: list[dict]) -> str:
    """The primary rows' E-values in words (non-randomised designs)."""
    parts = []
    for row in rows:
        limit = row["e_value_ci"]
        tail = (
            "its interval already includes no difference"
            if limit == 1
            else f"{limit:.2f} to make its interval include no difference"
        )
        parts.append(f"{row['e_value']:.2f} for {row['outcome']} ({tail})")
    return (
        "Unmeasured confounding (E-values): to explain a difference away, a factor "
        "that was not measured would have to be associated with both the arm and "
        "the outcome by a risk ratio of at least "
        + "; ".join(parts)
        + ". Without randomisation such a factor cannot be ruled out; "
        "the larger the E-value, the stronger it would have to be."
    )


def _subgroup_sentence(tests) -> str:
    """The interaction tests of the declared subgroups, read with their number."""
    n = len(tests)
    low = tests[tests["p_val"] < 0.05]
    chance = (
        f"with {n} test{'s' if n != 1 else ''}, about {n * 0.05:.1f} would by chance"
    )
    if low.empty:
        return (
            f"Subgroups (declared in the config): none of the {n} interaction "
            "tests had p < 0.05, so these data give no evidence that the "
            "difference between arms depends on "
            + _join(list(dict.fromkeys(tests["subgroup"])))
            + "; such tests have little power, so neither do they show that it "
            "does not. Each level's difference is in the subgroups table and figure."
        )
    found = [
        f"{r['outcome']} by {r['subgroup']} ({_p(r['p_val'])})"
        for r in low.to_dict("records")
    ]
    return (
        f"Subgroups (declared in the config): {len(low)} of {n} interaction "
        f"tests had p < 0.05: {_join(found)}; {chance}, so read them as a "
        "question for a further study rather than a finding. Each level's "
        "difference is in the subgroups table and figure."
    )


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _points(value: float, unit: str = "points", digits: int = 2) -> str:
    """A signed difference in words: '0.52 points higher', '0.10 points lower'."""
    if abs(value) < 0.5 * 10**-digits:
        return f"{0:.{digits}f} {unit} different"
    return f"{abs(value):.{digits}f} {unit} {'higher' if value > 0 else 'lower'}"


def _other_rows(analyses, i: str, c: str) -> list[str]:
    """Sensitivity analyses and the primary analysis at other waves, one sentence
    per outcome, each labelled."""
    lines = []
    for outcome in dict.fromkeys(r["outcome"] for r in analyses.rows):
        rows = [
            r
            for r in analyses.rows
            if r["outcome"] == outcome and r["role"] != "primary"
        ]
        if not rows:
            continue
        parts = [
            f"{r['analysis']} at {_wave(r['wave'])}, {ratio_name(r)} "
            f"{r['ratio']:.2f} (95% CI {r['ratio_ci_low']:.2f} to "
            f"{r['ratio_ci_high']:.2f}; n = {r['n_participants']})"
            if is_ratio(r)
            else f"{r['analysis']} at {_wave(r['wave'])}, {_points(r['difference'])} "
            f"(95% CI from {_points(r['ci_low'])} to {_points(r['ci_high'])}; "
            f"n = {r['n_participants']})"
            for r in rows
        ]
        roles = {r["role"] for r in rows}
        what = " and ".join(label for role, label in _ROLES.items() if role in roles)
        versus = "against" if is_ratio(rows[0]) else "minus"
        lines.append(f"{outcome}, {what} ({i} {versus} {c}): " + "; ".join(parts) + ".")
    return lines


_ROLES = {"secondary": "other waves", "sensitivity": "sensitivity analyses"}


def _economic_sentences(analyses, i: str, c: str, wave: str) -> list[str]:
    lines = []
    for n, a in enumerate(analyses):
        lead = (
            "Economics, primary analysis"
            if n == 0
            else "Economics, sensitivity analysis"
        )
        lines.append(
            f"{lead} ({a.label}, {a.n_intervention + a.n_comparator} participants, "
            f"baseline to {_wave(wave)}): costs per person were "
            f"{_money(a.delta_cost)} in {i} than in {c} (95% CI from "
            f"{_money(a.cost_ci[0])} to "
            f"{_money(a.cost_ci[1])}), and QALYs {_qalys(a.delta_qalys)} (95% CI "
            f"from {_qalys(a.qalys_ci[0])} to {_qalys(a.qalys_ci[1])})."
        )
        icer = _icer_sentence(a, i)
        lines.append(icer[0].upper() + icer[1:])
        for w, p in a.p_cost_effective.items():
            lines.append(
                f"The probability that {i} is cost-effective at £{w:,.0f} per QALY "
                f"is {share(p)} ({a.label})."
            )
        if n == 0 and a.evpi:
            lines.append(_value_of_information(a))
    return lines


def _value_of_information(a) -> str:
    """The primary analysis's EVPI and EVPPI per person, in words."""
    parts = [
        f"at £{w:,.0f} per QALY, {_pounds(a.evpi[w])} for removing all "
        f"uncertainty, {_pounds(a.evppi_qalys[w])} for knowing the QALY "
        f"difference exactly and {_pounds(a.evppi_cost[w])} for knowing the cost "
        "difference exactly"
        for w in a.evpi
    ]
    return (
        "Value of further research, per person who would receive the decision "
        "(EVPI and EVPPI): " + "; ".join(parts) + ". Multiplied by the number of "
        "people affected over the decision's lifetime, these bound what a further "
        "study could be worth; the EVPPI shows which difference that value comes "
        "from."
    )


def _pounds(value: float) -> str:
    return f"£{value:,.2f}" if value < 100 else f"£{value:,.0f}"


def _icer_sentence(a, i: str) -> str:
    """Where the point estimate lies on the CE plane, with the ICER only where it
    means something, and a caution when an interval includes no difference."""
    if a.quadrant == "SE":
        text = f"On the point estimates {i} was cheaper and more effective (dominant)"
    elif a.quadrant == "NW":
        text = f"On the point estimates {i} was costlier and less effective (dominated)"
    elif a.icer is None:
        text = "The QALY difference is zero, so there is no ICER"
    elif a.quadrant == "NE":
        text = f"The ICER is £{a.icer:,.0f} per QALY gained"
    else:
        text = f"{i} was cheaper and less effective: £{a.icer:,.0f} saved per QALY lost"
    unsure = [
        what
        for what, (low, high) in (("cost", a.cost_ci), ("QALY", a.qalys_ci))
        if low <= 0 <= high
    ]
    if unsure:
        text += (
            f"; but the 95% interval of the {' and of the '.join(unsure)} "
            "difference includes zero, so this is uncertain"
        )
    return text + "."


def _money(value: float) -> str:
    if abs(value) < 0.5:
        return "£0 different"
    return f"£{abs(value):,.0f} {'higher' if value > 0 else 'lower'}"


def _qalys(value: float) -> str:
    if abs(value) < 0.0005:
        return "0.000 different"
    return f"{abs(value):.3f} {'higher' if value > 0 else 'lower'}"


def share(p: float) -> str:
    """A probability as a percentage, without claiming certainty the bootstrap
    cannot give."""
    if p >= 0.995:
        return "over 99%"
    if p <= 0.005:
        return "under 1%"
    return f"{p:.0%}"


def _wave(name) -> str:
    """A wave in a sentence: "wave 6" for a bare number, the name otherwise."""
    text = str(name)
    return f"wave {text}" if text.replace(".", "", 1).isdigit() else text


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
