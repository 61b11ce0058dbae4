"""The report's figures: trajectories, forest plot, Love plot, CE plane and CEAC,
each saved as PNG and SVG (SVG without a date and with a fixed hash salt, so that
two runs write the same bytes)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_atomic
from ..report import Figure

__all__ = ["ALT", "CAPTIONS", "PALETTE", "draw_figures"]

#: Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

CAPTIONS = {
    "trajectories": "Trajectories: observed mean of each outcome by arm at every "
    "wave, with 95% confidence intervals.",
    "forest_plot": "Forest plot: adjusted difference between arms (intervention minus "
    "comparator) with 95% confidence intervals, for each outcome, analysis and "
    "follow-up wave; the dashed line is no difference.",
    "love_plot": "Love plot of baseline balance: absolute standardised difference "
    "of each covariate before and after weighting by the propensity score; below the "
    "dashed line (0.1) counts as balanced.",
    "subgroup_forest": "Subgroups declared in the config: the adjusted difference "
    "between arms (intervention minus comparator) within each level, with 95% "
    "confidence intervals; diamonds are everyone analysed. Compare levels by the "
    "interaction test in the subgroup tests table.",
    "ce_plane": "Cost-effectiveness plane: bootstrap replicates of incremental "
    "QALYs and cost; points below the dashed line are cost-effective at that "
    "willingness to pay.",
    "ceac": "Cost-effectiveness acceptability curve: the probability that the "
    "intervention is cost-effective at each willingness to pay per QALY.",
}


#: Text alternatives: what each figure shows, and where its numbers are.
ALT = {
    "trajectories": "Line charts, one per outcome, of the observed mean score of "
    "each arm at each wave with 95% confidence intervals. The means are in the "
    "outcomes table.",
    "forest_plot": "Forest plot: each outcome's adjusted difference between arms "
    "with its 95% confidence interval, one row per analysis and wave, against a "
    "line at no difference. The numbers are in the outcomes table.",
    "love_plot": "Love plot: the absolute standardised difference of each "
    "baseline characteristic before and after propensity weighting, against a "
    "line at 0.1. The numbers are in the balance table.",
    "subgroup_forest": "Forest plot by subgroup: for each continuous outcome, the "
    "difference between arms with its 95% confidence interval in everyone "
    "analysed and in each level of each declared subgroup, against a line at no "
    "difference. The numbers, counts and interaction tests are in the subgroup "
    "tables.",
    "ce_plane": "Cost-effectiveness plane: a cloud of bootstrap replicates of the "
    "difference in QALYs (across) and in cost (up), with the willingness-to-pay "
    "line. The estimates and intervals are in the economics table.",
    "ceac": "Cost-effectiveness acceptability curve: the probability that the "
    "intervention is cost-effective, from £0 to £50,000 per QALY. The "
    "probabilities at the thresholds are in the economics table.",
}


def draw_figures(
    cfg,
    outcomes: pd.DataFrame,
    data: pd.DataFrame,
    book,
    out: Path,
    *,
    arms: tuple[str, str],
    balance: pd.DataFrame | None = None,
    cea=None,
    subgroups: pd.DataFrame | None = None,
) -> list[Figure]:
    """Draw every figure, save each as PNG and SVG, and return them as report
    figures (with captions and text alternatives)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "cpeval"
    with matplotlib.rc_context({"axes.prop_cycle": matplotlib.cycler(color=PALETTE)}):
        figures = _draw(cfg, outcomes, data, book, balance=balance, cea=cea)
        if subgroups is not None:
            figures["subgroup_forest"] = _subgroup_forest(subgroups)
    i, c = arms
    captions = {
        name: text.replace("intervention minus comparator", f"{i} minus {c}")
        for name, text in CAPTIONS.items()
    }
    return [_save(name, fig, out, captions[name]) for name, fig in figures.items()]


def _draw(cfg, outcomes, data, book, *, balance, cea) -> dict:
    from ..adjust import love_plot
    from ..economics import plot_ce_plane, plot_ceac

    figures = {
        "trajectories": _trajectories(cfg, data, book),
        "forest_plot": _forest(outcomes),
    }
    if balance is not None:
        figures["love_plot"] = love_plot(balance).figure
    if cea is not None:
        wtp = cfg.economics.wtp
        plane = plot_ce_plane(cea, wtp=float(wtp[0]))
        plane.set_xlabel("incremental QALYs")
        plane.set_ylabel("incremental cost (£)")
        for line in plane.get_lines():
            if line.get_label().endswith("per unit"):
                line.set_label(line.get_label().replace("per unit", "per QALY"))
        plane.legend(fontsize="small")
        curve = plot_ceac(cea, np.linspace(0, 50_000, 51))
        curve.set_xlabel("willingness to pay per QALY (£)")
        figures["ce_plane"], figures["ceac"] = plane.figure, curve.figure
    return figures


def _save(name: str, fig, out: Path, caption: str) -> Figure:
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # long labels: the figure is still drawn
        warnings.filterwarnings("ignore", "Tight layout not applied")
        fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150)
    write_atomic(out / "figures" / f"{name}.png", png.getvalue())
    svg = io.StringIO()
    fig.savefig(svg, format="svg", dpi=100, metadata={"Date": None})
    write_atomic(out / "figures" / f"{name}.svg", svg.getvalue())
    plt.close(fig)
    return Figure(name, svg.getvalue(), png.getvalue(), caption, ALT[name])


def _trajectories(cfg, data: pd.DataFrame, book):
    import matplotlib.pyplot as plt

    labels = data.groupby("treated")[book.group].first()
    names = list(cfg.outcomes)
    fig, axes = plt.subplots(
        1, len(names), figsize=(4 * len(names), 3.2), squeeze=False
    )
    for ax, label in zip(axes[0], names, strict=True):
        column = cfg.outcomes[label]
        stats = (
            data.groupby(["treated", "time"])[column].agg(["mean", "sem"]).reset_index()
        )
        for treated, part in reversed(list(stats.groupby("treated"))):  # 1 first
            ax.errorbar(
                part["time"],
                part["mean"],
                yerr=1.96 * part["sem"],
                capsize=3,
                marker="o",
                label=str(labels[treated]),
            )
        ax.set_xticks(range(len(book.waves)), list(book.waves), fontsize=7)
        ax.set_title(label, fontsize=8)
    axes[0][0].set_ylabel("observed mean (95% CI)")
    axes[0][0].legend(fontsize="small")
    return fig


def _forest(outcomes: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 * len(outcomes) + 1.2))
    positions = np.arange(len(outcomes))[::-1]
    ax.errorbar(
        outcomes["difference"],
        positions,
        xerr=[
            outcomes["difference"] - outcomes["ci_low"],
            outcomes["ci_high"] - outcomes["difference"],
        ],
        fmt="s",
        capsize=3,
    )
    ax.axvline(0, color="grey", linestyle="--")
    labels = outcomes["outcome"] + "\n" + outcomes["analysis"] + ", " + outcomes["wave"]
    xlabel = "adjusted difference (95% CI)"
    if "scale" in outcomes.columns:  # binary or count outcomes: their log ratios
        ratio = outcomes["scale"].ne("mean difference")
        labels = labels.where(~ratio, labels + " (" + outcomes["scale"] + ")")
        xlabel += "; log odds or rate ratio for binary and count outcomes"
    ax.set_yticks(positions, labels, fontsize=7)
    ax.set_xlabel(xlabel)
    return fig


def _subgroup_forest(table: pd.DataFrame):
    """One panel per outcome: each subgroup's rows (everyone analysed, then each
    level), top to bottom, with their intervals."""
    import matplotlib.pyplot as plt

    from ._subgroups import ALL

    outcomes = list(dict.fromkeys(table["outcome"]))
    rows = len(table) // len(outcomes)
    fig, axes = plt.subplots(
        len(outcomes),
        1,
        figsize=(7, (0.32 * rows + 0.9) * len(outcomes)),
        squeeze=False,
    )
    for ax, outcome in zip(axes[:, 0], outcomes, strict=True):
        part = table[table["outcome"] == outcome]
        positions = np.arange(len(part))[::-1]
        everyone = part["level"].eq(ALL).to_numpy()
        for marker, chosen in (("D", everyone), ("s", ~everyone)):
            shown = part[chosen]
            ax.errorbar(
                shown["difference"],
                positions[chosen],
                xerr=[
                    shown["difference"] - shown["ci_low"],
                    shown["ci_high"] - shown["difference"],
                ],
                fmt=marker,
                capsize=3,
                color=PALETTE[0],
            )
        ax.axvline(0, color="grey", linestyle="--")
        labels = np.where(
            everyone, part["subgroup"] + ": " + ALL, "    " + part["level"]
        )
        ax.set_yticks(positions, [_plain(str(x)) for x in labels], fontsize=7)
        ax.set_title(_plain(outcome), fontsize=8)
    axes[-1, 0].set_xlabel("adjusted difference (95% CI)")
    return fig


def _plain(text: str) -> str:
    """A label drawn as written: matplotlib reads text between $ signs as maths."""
    return text.replace("$", r"\$")
