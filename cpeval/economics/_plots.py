"""Cost-effectiveness plane and acceptability curve (matplotlib Axes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._cea import BootstrapCEA

__all__ = ["plot_ce_plane", "plot_ceac"]


def plot_ce_plane(result: BootstrapCEA, *, wtp: float = 20_000, ax=None):
    """Replicates on the cost-effectiveness plane with a willingness-to-pay line.

    Parameters
    ----------
    result : BootstrapCEA
    wtp : float
        Slope of the threshold line (cost per unit of effect).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cpeval.economics import bootstrap_cea, plot_ce_plane
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> ax = plot_ce_plane(bootstrap_cea(d, cost="cost", effect="qaly", group="arm",
    ...                                  n_boot=100, seed=1))
    >>> ax.get_xlabel()
    'incremental effect'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    reps = result.replicates
    ax.scatter(  # thousands of points: drawn as one image inside a vector figure
        reps["delta_effect"],
        reps["delta_cost"],
        s=4,
        alpha=0.3,
        label="replicates",
        rasterized=True,
    )
    ax.scatter(
        [result.delta_effect],
        [result.delta_cost],
        color="black",
        marker="x",
        label="estimate",
    )
    span = np.abs(reps["delta_effect"]).max() * 1.1 or 1.0
    xs = np.array([-span, span])
    ax.plot(xs, wtp * xs, linestyle="--", color="grey", label=f"£{wtp:,.0f} per unit")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("incremental effect")
    ax.set_ylabel("incremental cost")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_ceac(
    result: BootstrapCEA, wtp: Sequence[float], *, frontier: bool = True, ax=None
):
    """The cost-effectiveness acceptability curve (and frontier).

    Parameters
    ----------
    result : BootstrapCEA
    wtp : sequence of float
        The willingness-to-pay grid.
    frontier : bool
        Also draw the acceptability frontier.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cpeval.economics import bootstrap_cea, plot_ceac
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> res = bootstrap_cea(d, cost="cost", effect="qaly", group="arm",
    ...                     n_boot=100, seed=1)
    >>> ax = plot_ceac(res, range(0, 50_001, 5_000))
    >>> tuple(float(v) for v in ax.get_ylim())
    (0.0, 1.0)
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    curve = result.ceac(wtp)
    # drawn over the frame, so a curve at 0 or 1 stays visible
    ax.plot(
        curve["wtp"],
        curve["p_cost_effective"],
        label="intervention cost-effective",
        linewidth=2,
        clip_on=False,
        zorder=3,
    )
    if frontier:
        front = result.ceaf(wtp)
        ax.plot(
            front["wtp"],
            front["p_optimal"],
            linestyle=":",
            label="frontier",
            clip_on=False,
            zorder=4,
        )
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("willingness to pay per unit of effect")
    ax.set_ylabel("probability cost-effective")
    ax.legend(loc="best", fontsize="small")
    return ax
