"""Power by simulation for two-arm cluster-allocated pre-post designs.

:class:`TrialDesign` states a design (clusters, unequal sizes, ICC, baseline-
follow-up correlation, attrition, effect; optionally costs and QALYs);
:func:`simulate_trial` draws one trial from it; :func:`simulate_power` analyses
many with the package's own models (``ancova`` with CR2 by cluster, or
``fit_lmm``) and reports power with its exact (Clopper-Pearson) Monte Carlo
interval and, with costs, the probability that the intervention is
cost-effective; :func:`sample_size` searches over clusters or cluster size; and
:func:`closed_form_power` is the design-effect calculation for the simple case.
Replicates run on joblib or Dask (``n_jobs``, ``client``) with identical results.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._parallel import chunks, parallel_map, spawn_seeds
from ._results import DescriptiveResults, format_number
from .exceptions import DataError
from .models import design_effect, effect_by_wave, fit_lmm

__all__ = [
    "PowerResult",
    "TrialDesign",
    "closed_form_power",
    "sample_size",
    "simulate_power",
    "simulate_trial",
]

Model = Literal["ancova", "lmm"]
CHUNK = 25  # replicates per task, whatever the number of workers


@dataclass(frozen=True)
class TrialDesign:
    """A two-arm design allocated by cluster, measured at baseline and follow-up.

    Parameters
    ----------
    clusters : int
        Clusters in all (teams); the first half are control, the rest
        intervention (an odd count puts the extra cluster in the intervention arm).
    cluster_size : float
        Mean participants recruited per cluster.
    cluster_size_cv : float
        Coefficient of variation of cluster sizes: sizes are drawn from a gamma
        distribution with this CV, rounded, at least 2; 0 gives equal sizes.
    icc : float
        Intracluster correlation of the outcome (at each wave).
    effect : float
        Difference between arms at follow-up in outcome SDs (the SD is 1).
    baseline_correlation : float or None
        Correlation of baseline and follow-up values, the same for the cluster and
        the participant parts; None: no baseline measure.
    attrition : float
        Share of participants lost at follow-up, completely at random.
    cost_mean : float or None
        Mean cost per participant in the control arm; None: no economics.
    cost_cv : float
        CV of costs within arm (gamma distributed).
    cost_difference : float
        Intervention minus control mean cost.
    qaly_mean, qaly_sd, qaly_difference : float
        QALYs over follow-up: control mean, SD, and intervention minus control.

    Notes
    -----
    Costs and QALYs share the outcome's ICC: QALYs through a normal cluster
    effect, costs through a log-normal cluster multiplier with log-variance
    ``log(1 + icc cv^2)``. Both are missing for participants lost at follow-up.
    """

    clusters: int
    cluster_size: float
    cluster_size_cv: float = 0.0
    icc: float = 0.05
    effect: float = 0.3
    baseline_correlation: float | None = 0.5
    attrition: float = 0.0
    cost_mean: float | None = None
    cost_cv: float = 1.0
    cost_difference: float = 0.0
    qaly_mean: float = 0.35
    qaly_sd: float = 0.08
    qaly_difference: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "clusters must be at least 4 (2 per arm)": self.clusters >= 4,
            "cluster_size must be at least 2": self.cluster_size >= 2,
            "cluster_size_cv must be >= 0": self.cluster_size_cv >= 0,
            "icc must be in [0, 1)": 0 <= self.icc < 1,
            "attrition must be in [0, 1)": 0 <= self.attrition < 1,
            "baseline_correlation must be in (-1, 1)": self.baseline_correlation is None
            or -1 < self.baseline_correlation < 1,
            "cost_cv and qaly_sd must be positive": self.cost_cv > 0
            and self.qaly_sd > 0,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise DataError(f"TrialDesign: {'; '.join(failed)} (got {self})")


def simulate_trial(design: TrialDesign, seed) -> pd.DataFrame:
    """Draw one trial: one row per participant.

    Parameters
    ----------
    design : TrialDesign
    seed : int or numpy.random.SeedSequence

    Returns
    -------
    pandas.DataFrame
        ``cluster``, ``id``, ``treated``, ``baseline`` (if measured),
        ``followup`` (missing if lost), and ``cost``, ``qaly`` with economics.

    Examples
    --------
    >>> from cpeval.power import TrialDesign, simulate_trial
    >>> trial = simulate_trial(TrialDesign(clusters=10, cluster_size=16), seed=1)
    >>> len(trial), int(trial["treated"].sum())
    (160, 80)
    """
    rng = np.random.default_rng(seed)
    d = design
    sizes = _cluster_sizes(d, rng)
    cluster = np.repeat(np.arange(d.clusters), sizes)
    treated = (cluster >= d.clusters // 2).astype(int)
    n = len(cluster)
    r = 0.0 if d.baseline_correlation is None else d.baseline_correlation
    a0, a1 = _pairs(rng, d.clusters, r, d.icc)
    e0, e1 = _pairs(rng, n, r, 1 - d.icc)
    data = {"cluster": cluster, "id": np.arange(n), "treated": treated}
    if d.baseline_correlation is not None:
        data["baseline"] = a0[cluster] + e0
    followup = a1[cluster] + e1 + d.effect * treated
    lost = rng.random(n) < d.attrition
    data["followup"] = np.where(lost, np.nan, followup)
    if d.cost_mean is not None:
        data.update(_economics(d, rng, cluster, treated, lost))
    return pd.DataFrame(data)


def _cluster_sizes(d: TrialDesign, rng) -> np.ndarray:
    if d.cluster_size_cv == 0:
        return np.full(d.clusters, round(d.cluster_size))
    shape = 1 / d.cluster_size_cv**2
    draws = rng.gamma(shape, d.cluster_size / shape, d.clusters)
    return np.maximum(np.round(draws).astype(int), 2)


def _pairs(rng, n: int, r: float, variance: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of normal values with this variance and correlation."""
    z0, z1 = rng.standard_normal(n), rng.standard_normal(n)
    sd = np.sqrt(variance)
    return sd * z0, sd * (r * z0 + np.sqrt(1 - r**2) * z1)


def _economics(d: TrialDesign, rng, cluster, treated, lost) -> dict:
    n, k = len(cluster), d.clusters
    shape = 1 / d.cost_cv**2
    log_var = np.log1p(d.icc * d.cost_cv**2)
    multiplier = np.exp(rng.normal(-log_var / 2, np.sqrt(log_var), k))[cluster]
    mean = d.cost_mean + d.cost_difference * treated
    if np.any(mean <= 0):
        raise DataError("cost_mean + cost_difference must be positive")
    cost = mean * multiplier * rng.gamma(shape, 1 / shape, n)
    qaly_cluster = rng.normal(0, np.sqrt(d.icc), k)[cluster]
    noise = qaly_cluster + rng.normal(0, np.sqrt(1 - d.icc), n)
    qaly = d.qaly_mean + d.qaly_difference * treated + d.qaly_sd * noise
    return {
        "cost": np.where(lost, np.nan, cost),
        "qaly": np.where(lost, np.nan, qaly),
    }


# ------------------------------------------------------------------ analysis


def _analyse(trial: pd.DataFrame, model: Model, wtp: float | None) -> dict:
    """Effect, SE, df and p of one trial, and with costs the INMB at ``wtp``."""
    if model == "ancova" and "baseline" not in trial:
        raise DataError("model='ancova' needs a baseline measure")
    row = _effect(trial, model)
    if wtp is not None and "cost" in trial:
        nmb = trial.assign(nmb=wtp * trial["qaly"] - trial["cost"]).dropna(
            subset=["nmb"]
        )
        effect = fit_lmm(nmb, "nmb ~ treated", ["cluster"]).to_frame()
        inmb = effect.set_index("term").loc["treated"]
        row.update(
            {
                "inmb": inmb["params"],
                "inmb_ci_low": inmb["ci_low"],
                "p_cost_effective": stats.t.cdf(
                    inmb["params"] / inmb["se"], inmb["df"]
                ),
            }
        )
    return row


def _effect(trial: pd.DataFrame, model: Model) -> dict:
    """The arm difference at follow-up: with a baseline by
    :func:`cpeval.models.effect_by_wave` (the pipeline's analysis), without one by
    a mixed model of follow-up with a random intercept per cluster."""
    if "baseline" in trial:
        long = pd.concat(
            [
                trial.assign(y=trial["baseline"], time=0),
                trial.assign(y=trial["followup"], time=1),
            ]
        ).dropna(subset=["y"])
        fit = effect_by_wave(
            long,
            outcome="y",
            group="treated",
            wave="time",
            id="id",
            method=model,
            groups=["cluster", "id"],
            cluster="cluster",
            effect_sizes=False,
        ).to_frame()
        row = fit.iloc[0]
    else:
        follow = trial.dropna(subset=["followup"])
        effect = fit_lmm(follow, "followup ~ treated", ["cluster"]).to_frame()
        row = effect.set_index("term").loc["treated"]
    return {
        "estimate": row["params"],
        "se": row["se"],
        "df": row["df"],
        "p_val": row["pvalues"],
    }


def _replicates(design, model, wtp, seeds) -> list[dict]:
    """Simulate and analyse one chunk of replicates (a task for a worker)."""
    rows = []
    for index, seed in seeds:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = _analyse(simulate_trial(design, seed), model, wtp)
            rows.append({"replicate": index, **row, "error": ""})
        except (DataError, np.linalg.LinAlgError, ValueError) as exc:
            rows.append({"replicate": index, "error": str(exc).splitlines()[0]})
    return rows


# ------------------------------------------------------------------ results


@dataclass(frozen=True, repr=False)
class PowerResult(DescriptiveResults):
    """Power of a design, from simulated replicates.

    Parameters
    ----------
    design : TrialDesign
    model : str
    alpha : float
    wtp : float or None
    replicates : pandas.DataFrame
        One row per replicate: ``estimate``, ``se``, ``df``, ``p_val`` (and
        ``inmb``, ``inmb_ci_low``, ``p_cost_effective`` with costs), ``error``
        (empty unless the analysis failed; failed replicates are left out of
        the power and counted in ``n_failed``).
    """

    design: TrialDesign
    model: str
    alpha: float
    wtp: float | None
    replicates: pd.DataFrame

    _title = "Simulated power"

    def _header(self) -> list[tuple[str, object]]:
        low, high = self.power_ci
        return [
            ("model", self.model),
            ("alpha", self.alpha),
            ("replicates", len(self.replicates)),
            ("failed", self.n_failed),
            ("power", self.power),
            ("95% Monte Carlo CI", f"{low:.3f} to {high:.3f}"),
        ]

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        row = self.to_frame().iloc[0]
        frame = pd.DataFrame(
            {"quantity": row.index, "value": [format_number(v) for v in row]}
        )
        return [("", frame)]

    @property
    def n_failed(self) -> int:
        """Replicates whose analysis failed."""
        return int((self.replicates["error"] != "").sum())

    @property
    def _ok(self) -> pd.DataFrame:
        return self.replicates[self.replicates["error"] == ""]

    @property
    def power(self) -> float:
        """Share of analysed replicates with ``p < alpha``."""
        return float((self._ok["p_val"] < self.alpha).mean())

    @property
    def power_ci(self) -> tuple[float, float]:
        """Exact (Clopper-Pearson) 95% Monte Carlo interval of the power."""
        hits = int((self._ok["p_val"] < self.alpha).sum())
        ci = stats.binomtest(hits, len(self._ok)).proportion_ci(0.95, "exact")
        return float(ci.low), float(ci.high)

    def to_frame(self) -> pd.DataFrame:
        """One row: design, model, replicates, power with its interval, mean
        estimate, and (with costs) the mean probability cost-effective and the
        share of replicates whose INMB interval lies above zero."""
        low, high = self.power_ci
        row = {
            **asdict(self.design),
            "model": self.model,
            "alpha": self.alpha,
            "replicates": len(self.replicates),
            "failed": self.n_failed,
            "power": self.power,
            "power_ci_low": low,
            "power_ci_high": high,
            "mean_estimate": float(self._ok["estimate"].mean()),
        }
        if "inmb" in self._ok:
            row["wtp"] = self.wtp
            row["mean_p_cost_effective"] = float(self._ok["p_cost_effective"].mean())
            row["share_inmb_above_zero"] = float((self._ok["inmb_ci_low"] > 0).mean())
        return pd.DataFrame([row])


def simulate_power(
    design: TrialDesign,
    *,
    model: Model = "ancova",
    n_replicates: int = 1000,
    alpha: float = 0.05,
    wtp: float | None = 20_000,
    seed: int,
    n_jobs: int = 1,
    client=None,
) -> PowerResult:
    """Simulate ``n_replicates`` trials of ``design`` and analyse each.

    Parameters
    ----------
    design : TrialDesign
    model : {"ancova", "lmm"}
        ``ancova``: follow-up on baseline and arm with CR2 errors by cluster and
        Satterthwaite df (needs a baseline). ``lmm``: nested random intercepts
        (cluster, participant) on both waves, the time x arm effect with
        Satterthwaite df; without a baseline, follow-up on arm with a cluster
        random intercept. The two-wave ``lmm`` assumes each cluster's effect is
        the same at both waves; when it changes (``icc > 0`` with
        ``baseline_correlation < 1``) its time x arm test is anti-conservative
        (type I error 0.138 at ICC 0.05, correlation 0.5, 10 clusters of 16;
        ``ancova`` 0.055), so its power is overstated there.
    n_replicates : int
    alpha : float
        Two-sided significance level.
    wtp : float, optional
        Willingness to pay per QALY for the economic summaries (with costs).
    seed : int
        Each replicate draws from its own stream spawned from it.
    n_jobs : int
        Local worker processes (joblib); results do not depend on it.
    client : dask.distributed.Client, optional
        Run on this Dask cluster instead; results do not change.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from cpeval.power import TrialDesign, simulate_power
    >>> res = simulate_power(TrialDesign(clusters=10, cluster_size=16, effect=0.5),
    ...                      n_replicates=20, seed=1)
    >>> 0 <= res.power <= 1, res.n_failed
    (True, 0)
    """
    if model not in ("ancova", "lmm"):
        raise DataError(f"model must be 'ancova' or 'lmm'; got {model!r}")
    if n_replicates < 1 or not 0 < alpha < 1:
        raise DataError("need n_replicates >= 1 and 0 < alpha < 1")
    seeds = list(enumerate(spawn_seeds(seed, n_replicates)))
    tasks = [(design, model, wtp, part) for part in chunks(seeds, CHUNK)]
    rows = [
        row
        for part in parallel_map(_replicates, tasks, n_jobs=n_jobs, client=client)
        for row in part
    ]
    table = pd.DataFrame(rows)
    if "estimate" not in table:
        raise DataError(f"every replicate failed; the first: {rows[0]['error']}")
    return PowerResult(design, model, alpha, wtp, table)


def sample_size(
    design: TrialDesign,
    *,
    over: Literal["clusters", "cluster_size"],
    values,
    target: float = 0.8,
    **options,
) -> pd.DataFrame:
    """Power over a grid of cluster counts or cluster sizes, smallest first.

    Each value is simulated with the same seed (common random numbers), and the
    search stops at the first value whose power reaches ``target``.

    Parameters
    ----------
    design : TrialDesign
    over : {"clusters", "cluster_size"}
    values : sequence of numbers
        Increasing values to try.
    target : float
        Power wanted.
    **options
        Passed to :func:`simulate_power` (``seed`` is required).

    Returns
    -------
    pandas.DataFrame
        One row per value tried (:meth:`PowerResult.to_frame`) with ``reached``;
        ``attrs["smallest"]`` is the first value reaching the target, or None.

    Examples
    --------
    >>> from cpeval.power import TrialDesign, sample_size
    >>> grid = sample_size(TrialDesign(clusters=4, cluster_size=20, effect=0.8),
    ...                    over="clusters", values=[4, 8], n_replicates=20, seed=3)
    >>> list(grid["clusters"]) == [4, 8][: len(grid)]
    True
    """
    if over not in ("clusters", "cluster_size"):
        raise DataError(f"over must be 'clusters' or 'cluster_size'; got {over!r}")
    values = list(values)
    if not values or values != sorted(values):
        raise DataError("values must be a non-empty increasing sequence")
    rows, smallest = [], None
    for value in values:
        result = simulate_power(replace(design, **{over: value}), **options)
        rows.append(result.to_frame().assign(reached=result.power >= target))
        if result.power >= target:
            smallest = value
            break
    table = pd.concat(rows, ignore_index=True)
    table.attrs["smallest"] = smallest
    return table


def closed_form_power(
    *,
    effect: float,
    clusters: int,
    cluster_size: float,
    icc: float,
    cluster_size_cv: float = 0.0,
    alpha: float = 0.05,
) -> float:
    """Power of the two-arm comparison of follow-up means, by the design effect.

    ``SE^2 = 2 DE / (k m)`` with ``k = clusters / 2`` per arm, ``m`` the cluster
    size and ``DE = 1 + ((cv^2 + 1) m - 1) icc`` (:func:`cpeval.models.design_effect`);
    the test is a t test on ``clusters - 2`` df, so power is the non-central t
    probability ``P(|T(df, effect / SE)| > t(1 - alpha/2, df))``.

    Parameters
    ----------
    effect : float
        Difference in outcome SDs.
    clusters : int
        Clusters in all (both arms).
    cluster_size : float
    icc : float
    cluster_size_cv : float
    alpha : float

    Returns
    -------
    float

    Examples
    --------
    >>> from cpeval.power import closed_form_power
    >>> round(closed_form_power(effect=0.5, clusters=10, cluster_size=16, icc=0.05), 3)
    0.556
    """
    k = clusters / 2
    se = np.sqrt(
        2 * design_effect(icc, cluster_size, cluster_size_cv) / (k * cluster_size)
    )
    df = clusters - 2
    crit = stats.t.ppf(1 - alpha / 2, df)
    ncp = effect / se
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))
