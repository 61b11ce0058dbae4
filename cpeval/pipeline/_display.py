"""The outcomes table as readers see it: arms named by their labels, each row with
its wave, role and population."""

from __future__ import annotations

import pandas as pd

__all__ = ["outcome_display", "table_formats", "table_labels"]

# Column headings for readers; the CSV tables keep these identifiers for scripts.
_LABELS = {
    "p_val": "p",
    "se": "SE",
    "ci_low": "95% CI from",
    "ci_high": "95% CI to",
    "df_method": "df method",
    "n_obs": "observations",
    "hedges_g": "Hedges' g",
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
}


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
        elif name == "costs" and column.startswith(("mean", "sd", "difference")):
            formats[column] = "money"
        elif name == "participant_flow" and column not in (
            "stage",
            "outcome",
            "analysis",
        ):
            formats[column] = "count"
    return formats


def outcome_display(analyses, arms: tuple[str, str], book) -> pd.DataFrame:
    """The rows of :class:`~._outcomes.OutcomeAnalyses` with readable columns.

    The internal keys (``mean_baseline_intervention``, ...) become
    ``baseline mean (<intervention>)``; ``difference`` says which arm is
    subtracted from which.
    """
    i, c = arms
    cluster = book.clusters[-1] if book.clusters else "cluster"
    names = {
        "outcome": "outcome",
        "analysis": "analysis",
        "role": "role",
        "wave": "wave",
        "n_participants": "n",
        "n_intervention": f"n ({i})",
        "n_comparator": f"n ({c})",
        "mean_baseline_intervention": f"baseline mean ({i})",
        "mean_baseline_comparator": f"baseline mean ({c})",
        "mean_followup_intervention": f"follow-up mean ({i})",
        "mean_followup_comparator": f"follow-up mean ({c})",
        "difference": f"difference ({i} minus {c})",
        "se": "se",
        "ci_low": "ci_low",
        "ci_high": "ci_high",
        "p_val": "p_val",
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
