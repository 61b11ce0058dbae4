"""The run's tables as readers see them: the outcomes table with arms named by
their labels, each row with its wave, role and population; and each table's
declared :class:`~cpeval.tables.TableSpec` (headings, spanners, formats, notes)."""

from __future__ import annotations

import pandas as pd

from ..tables import Merge, TableSpec, interval, table_one, table_one_spec

__all__ = [
    "baseline_wide",
    "outcome_display",
    "table_formats",
    "table_labels",
    "table_spec",
]

# Column headings for readers; the CSV tables keep these identifiers for scripts.
_LABELS = {
    "p_val": "p",
    "se": "SE",
    "ci_low": "95% CI from",
    "ci_high": "95% CI to",
    "df_method": "df method",
    "n_obs": "observations",
    "hedges_g": "Hedges' g",
    "first_stage_f": "first-stage F",
    "e_value": "E-value",
    "e_value_ci": "E-value (CI)",
    "partial_eta2": "partial eta squared",
    "fmi": "fraction of missing information",
    "diff": "standardised difference",
    "var_ratio": "variance ratio",
    "ks": "Kolmogorov-Smirnov",
    "diff_adj": "standardised difference (weighted)",
    "var_ratio_adj": "variance ratio (weighted)",
    "ks_adj": "Kolmogorov-Smirnov (weighted)",
    "sd": "SD",
    "q1": "lower quartile",
    "q3": "upper quartile",
    "smd": "standardised mean difference",
    "scale": "difference scale",
    "ratio_ci_low": "ratio 95% CI from",
    "ratio_ci_high": "ratio 95% CI to",
    "risk_difference_ci_low": "risk difference 95% CI from",
    "risk_difference_ci_high": "risk difference 95% CI to",
}


#: What the outcomes table's E-value columns mean (non-randomised designs).
E_VALUE_NOTE = (
    "E-value: how strongly an unmeasured confounder would have to be associated "
    "with both the arm and the outcome (as a risk ratio, beyond the covariates "
    "adjusted for) to explain the difference away; E-value (CI): the same for the "
    "confidence limit nearer no difference (1 when the interval already includes "
    "it). Mean differences are standardised by the outcome's pooled within-arm SD "
    "at that wave (risk ratio about exp(0.91 d)); odds ratios of outcomes in 15% "
    "or more count as their square root (VanderWeele and Ding 2017)."
)

#: The run's tables as readers see them named.
TITLES = {
    "participant_flow": "Participant flow by arm",
    "baseline": "Baseline characteristics by arm",
    "outcomes": "Outcomes: differences between arms",
    "balance": "Baseline balance before and after propensity weighting",
    "costs": "Costs per participant by category",
    "economics": "Cost-effectiveness",
    "dose": "Effect per unit of dose (instrumental variable)",
    "subgroups": "Differences between arms within declared subgroups",
    "subgroup_tests": "Subgroup interaction tests: is the difference the same in "
    "every level?",
}

#: Under both subgroup tables: how to read them.
SUBGROUP_NOTE = (
    "Only subgroups declared in the config were analysed, continuous outcomes at "
    "the primary wave, by ANCOVA with the arm within each level. Read the "
    "interaction test, not one level's interval: with many tests some have "
    "p < 0.05 by chance (about 1 in 20 when the effect is the same everywhere); "
    "p-values are not adjusted for multiplicity."
)


def table_labels(name: str, table: pd.DataFrame, arms: tuple[str, str]) -> dict:
    """Readable headings of the run's table ``name``; the balance table's
    treated/control columns named by the arms."""
    i, c = arms
    labels = {k: v for k, v in _LABELS.items() if k in table.columns}
    for suffix, words in (("", ""), ("_adj", " (weighted)")):
        for key, arm in (("treated", i), ("control", c)):
            column = f"mean_{key}{suffix}"
            if column in table.columns:
                labels[column] = f"mean ({arm}){words}"
    return labels


_COUNTS = ("n", "n_obs", "count", "missing", "total")


def table_formats(name: str, table: pd.DataFrame) -> dict[str, str]:
    """How each column of the run's table ``name`` is shown: counts as whole
    numbers, p-values to 3 decimals ("<0.001"), costs in pounds. The tables'
    data stay unrounded (CSV); XLSX gets the matching number formats."""
    formats = {}
    for column in map(str, table.columns):
        if column in _COUNTS or column.startswith("n ("):
            formats[column] = "count"
        elif column == "p_val":
            formats[column] = "p"
        elif name in ("dose", "subgroup_tests") and column in (
            "clusters",
            "levels",
            "df_num",
            "not analysed (not seen at the wave, or a value missing)",
        ):
            formats[column] = "count"
        elif name == "costs" and column.startswith(("mean", "sd", "difference")):
            formats[column] = "money"
        elif name == "participant_flow" and column not in (
            "stage",
            "outcome",
            "analysis",
        ):
            formats[column] = "count"
    return formats


def table_spec(name: str, table: pd.DataFrame, arms: tuple[str, str]) -> TableSpec:
    """The declared spec of the run's table ``name``: readable headings (arms by
    their labels), formats, spanners, merged intervals and notes.

    Counts are whole numbers, p-values to 3 decimals ("<0.001"), costs in pounds,
    QALYs to 3 decimals, probabilities as percentages; the outcomes table shows
    its 95% CI as "a to b" and its observed means under "baseline mean" and
    "follow-up mean"; the balance table groups its columns before and after
    weighting; the economics table (a row per quantity) formats by row; the
    wide baseline table (:func:`baseline_wide`) is
    :func:`~cpeval.tables.table_one_spec`. CSV keeps the data as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.pipeline._display import table_spec
    >>> t = pd.DataFrame({"ci_low": [-1.0], "ci_high": [2.0], "p_val": [0.01]})
    >>> spec = table_spec("outcomes", t, ("CP", "usual care"))
    >>> spec.formats["p_val"], spec.merges[0].label
    ('p', '95% CI')
    """
    title = TITLES.get(name, name.replace("_", " "))
    columns = [str(c) for c in table.columns]
    if name == "baseline" and any(c.startswith("proportion (") for c in columns):
        return table_one_spec(table, title=title)
    labels = table_labels(name, table, arms)
    formats = table_formats(name, table)
    spanners: dict[str, list[str]] = {}
    merges: list[Merge] = []
    notes: list[str] = []
    row_key, row_formats = None, {}
    i, c = arms
    if name == "outcomes":
        if {"ci_low", "ci_high"} <= set(columns):
            merges.append(interval("ci_low", "ci_high"))
        for key, what in (("ratio", "ratio"), ("risk_difference", "risk difference")):
            if {f"{key}_ci_low", f"{key}_ci_high"} <= set(columns):
                merges.append(
                    interval(f"{key}_ci_low", f"{key}_ci_high", f"{what} 95% CI")
                )
        if "e_value" in columns:
            notes.append(E_VALUE_NOTE)
        for stage in ("baseline mean", "follow-up mean"):
            pair = [f"{stage} ({i})", f"{stage} ({c})"]
            if _adjacent(columns, pair):
                spanners[stage] = pair
                labels |= {pair[0]: i, pair[1]: c}
    elif name == "dose":
        if {"ci_low", "ci_high"} <= set(columns):
            merges.append(interval("ci_low", "ci_high"))
        if "outcome" in columns:  # the economic rows in pounds and QALYs
            row_key = "outcome"
            row_formats = {
                str(q): "qaly" if str(q).startswith("QALYs") else "money"
                for q in table["outcome"].tolist()
                if str(q).startswith(("cost to", "QALYs to", "net monetary"))
            }
            for column in ("df", "first_stage_f"):
                formats.setdefault(column, "number")
        notes.append(
            "Two-stage least squares, allocation as the instrument: the difference "
            "in the outcome per unit of dose among those whose dose the allocation "
            "changed, on complete cases (not imputed). A first-stage F under 10 "
            "marks a weak instrument."
        )
        if table["outcome"].astype(str).str.startswith("net monetary benefit").any():
            notes.append(
                "Cost, QALYs and net monetary benefit per unit of dose: the same "
                "method on the economic evaluation's participants; a positive net "
                "benefit per unit means more dose is worth its cost at that "
                "willingness to pay."
            )
    elif name in ("subgroups", "subgroup_tests"):
        if {"ci_low", "ci_high"} <= set(columns):
            merges.append(interval("ci_low", "ci_high"))
        notes.append(SUBGROUP_NOTE)
    elif name == "balance":
        for suffix, stage in (("", "before weighting"), ("_adj", "after weighting")):
            group = [
                f"{k}{suffix}"
                for k in ("mean_treated", "mean_control", "diff", "var_ratio", "ks")
                if f"{k}{suffix}" in columns
            ]
            if group and _adjacent(columns, group):
                spanners[stage] = group
                for key in group:
                    labels[key] = labels.get(key, key).replace(" (weighted)", "")
    elif name == "costs":
        notes.append("Mean (SD) cost per participant, £.")
    elif name == "economics" and "quantity" in columns:
        row_key = "quantity"
        row_formats = {
            str(q): kind
            for q in table["quantity"].tolist()
            if (kind := _quantity_format(str(q))) is not None
        }
        formats.pop("quantity", None)
    return TableSpec(
        title,
        labels=labels,
        formats=formats,
        spanners=spanners,
        notes=notes,
        merges=merges,
        row_key=row_key,
        row_formats=row_formats,
    )


def _adjacent(columns: list[str], group: list[str]) -> bool:
    if not set(group) <= set(columns):
        return False
    places = [columns.index(g) for g in group]
    return places == list(range(places[0], places[0] + len(group)))


def _quantity_format(quantity: str) -> str | None:
    """How a row of the economics table is shown, by its quantity."""
    if quantity.startswith(("participants", "excluded")):
        return "count"
    if quantity.startswith("probability"):
        return "percent"
    if "QALYs" in quantity:
        return "qaly"
    if "cost" in quantity or quantity.startswith(("INMB", "ICER", "EVPI", "EVPPI")):
        return "money"
    return None


def baseline_wide(
    data: pd.DataFrame, variables: list[str], group: str, arms: tuple[str, str]
) -> pd.DataFrame:
    """The run's baseline table: :func:`~cpeval.tables.table_one` with the arms
    in the order the codebook declares them (intervention, comparator), each
    numeric variable with its mean (SD) and median (IQR).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.pipeline._display import baseline_wide
    >>> d = pd.DataFrame({"arm": ["z", "a"], "age": [30, 50]})
    >>> wide = baseline_wide(d, ["age"], "arm", ("z", "a"))
    >>> wide[["level", "mean (z)", "median (z)"]].values.tolist()
    [['mean (SD)', 30.0, nan], ['median (IQR)', nan, 30.0]]
    """
    return table_one(data, variables, group, arms, median=True)


def outcome_display(analyses, arms: tuple[str, str], book) -> pd.DataFrame:
    """The rows of :class:`~._outcomes.OutcomeAnalyses` with readable columns.

    The internal keys (``mean_baseline_intervention``, ...) become
    ``baseline mean (<intervention>)``; ``difference`` says which arm is
    subtracted from which. With a binary or count outcome the table also says
    each row's ``scale`` (what the difference is: a mean difference, or a log
    odds or rate ratio), and gives the odds or rate ratio (intervention over
    comparator) and, for binary outcomes, the marginal risk difference, each
    with its interval.
    """
    i, c = arms
    cluster = book.clusters[-1] if book.clusters else "cluster"
    names = {
        "outcome": "outcome",
        "analysis": "analysis",
        "role": "role",
        "wave": "wave",
        "n_participants": "n",
        # the answer first, so it is on screen without scrolling
        "ratio": f"odds or rate ratio ({i} / {c})",
        "ratio_ci_low": "ratio_ci_low",
        "ratio_ci_high": "ratio_ci_high",
        "risk_difference": f"risk difference ({i} minus {c})",
        "risk_difference_ci_low": "risk_difference_ci_low",
        "risk_difference_ci_high": "risk_difference_ci_high",
        "scale": "scale",
        "difference": f"difference ({i} minus {c})",
        "se": "se",
        "ci_low": "ci_low",
        "ci_high": "ci_high",
        "p_val": "p_val",
        "e_value": "e_value",
        "e_value_ci": "e_value_ci",
        "n_intervention": f"n ({i})",
        "n_comparator": f"n ({c})",
        "mean_baseline_intervention": f"baseline mean ({i})",
        "mean_baseline_comparator": f"baseline mean ({c})",
        "mean_followup_intervention": f"follow-up mean ({i})",
        "mean_followup_comparator": f"follow-up mean ({c})",
        "df": "df",
        "df_method": "df_method",
        "model": "model",
        "n_obs": "n_obs",
        "icc": f"ICC ({cluster})",
        "singular": "singular fit",
        "hedges_g": "hedges_g",
        "partial_eta2": "partial_eta2",
        "fmi": "fmi",
    }
    frame = analyses.to_frame()
    frame["role"] = frame["role"].map(
        {
            "primary": "primary",
            "secondary": "primary analysis, other wave",
            "sensitivity": "sensitivity",
        }
    )
    present = [k for k in names if k in frame.columns]
    return frame[present].rename(columns=names)
