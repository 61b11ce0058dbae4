"""Power by simulation for two-arm cluster-allocated pre-post designs.

:class:`TrialDesign` states a design (clusters, unequal sizes, ICC, baseline-
follow-up correlation, attrition, effect; a continuous or a binary outcome;
optionally costs and QALYs); :func:`simulate_trial` draws one trial from it;
:func:`simulate_power` analyses many with the package's own models (``ancova``
with CR2 by cluster, or ``fit_lmm``, for a continuous outcome; ``fit_gee`` with
Mancl-DeRouen errors for a binary one) and reports power with its exact
(Clopper-Pearson) Monte Carlo interval and, with costs, the probability that the
intervention is cost-effective; :func:`sample_size` searches over clusters or
cluster size; and :func:`closed_form_power` is the design-effect calculation for
the simple case (two means, or two proportions as Donner and Klar's).
Replicates run on joblib or Dask (``n_jobs``, ``client``) with identical results.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from . import _power_worker
from ._parallel import chunks, parallel_map, spawn_seeds
from ._power_worker import (
    LOGISTIC_VARIANCE,
    draw,
    expit,
    intercept,
    normal_nodes,
    risk_at_odds_ratio,
)
from ._results import DescriptiveResults, format_number
from .exceptions import DataError
from .models import design_effect, effect_by_wave, fit_gee, fit_glmm, fit_lmm

__all__ = [
    "PowerResult",
    "TrialDesign",
    "closed_form_power",
    "proportion_icc",
    "sample_size",
    "simulate_power",
    "simulate_trial",
]

Model = Literal["ancova", "lmm", "gee", "glmm"]
Outcome = Literal["continuous", "binary"]
#: Replicates per task on a Dask cluster.
CHUNK = 25
#: Tasks per local worker process (a few, so that the load evens out; each
#: task costs a round trip and a BLAS thread limit).
TASKS_PER_WORKER = 4
#: The analyses open to each kind of outcome.
MODELS: dict[str, tuple[str, ...]] = {
    "continuous": ("ancova", "lmm"),
    "binary": ("gee", "glmm"),
}
#: The default difference in SDs of a continuous outcome.
DEFAULT_EFFECT = 0.3


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
        Intracluster correlation of the outcome (at each wave); for a binary
        outcome on the latent (logit) scale, see Notes.
    effect : float
        Continuous outcome only: difference between arms at follow-up in outcome
        SDs (the SD is 1); 0.3 if not given.
    baseline_correlation : float or None
        Correlation of baseline and follow-up values, the same for the cluster and
        the participant parts (for a binary outcome of the latent values, and in
        [0, 1)); None: no baseline measure.
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
    outcome : {"continuous", "binary"}
    control_risk : float
        Binary outcome only (required): the control arm's risk at follow-up,
        over all its participants (population-averaged).
    odds_ratio : float
        Binary outcome only (required): the population-averaged (marginal) odds
        ratio at follow-up, intervention against control: the intervention
        arm's risk is ``p1 = OR o0 / (1 + OR o0)`` with ``o0`` the control odds.
        1 is no effect.
    baseline_risk : float, optional
        Binary outcome with a baseline only: the risk at baseline, in both arms;
        defaults to ``control_risk``.

    Notes
    -----
    Costs and QALYs share the outcome's ICC: QALYs through a normal cluster
    effect, costs through a log-normal cluster multiplier with log-variance
    ``log(1 + icc cv^2)``. Both are missing for participants lost at follow-up.

    A binary outcome follows a logistic model with random intercepts for the
    cluster (at each wave) and the participant (shared by the two waves)::

        logit P(y_ijt = 1 | u, v) = a_t,arm + u_jt + v_i

    or, equally, ``y = 1`` when the latent ``a + u + v + e > 0``, ``e`` standard
    logistic (variance ``pi^2/3``). The participant part of the latent value,
    ``v + e``, has variance ``s^2 = (pi^2/3) / (1 - r)`` with ``var(v) = r s^2``,
    ``r`` the ``baseline_correlation`` (0 without a baseline); the cluster
    effects ``u_j0, u_j1`` are normal with variance ``icc / (1 - icc) s^2`` and
    correlation ``r``. So ``icc`` is the latent ICC ``var(u) / (var(u) + var(v)
    + pi^2/3)``, which is ``sigma_u^2 / (sigma_u^2 + pi^2/3)`` without a
    baseline, and ``r`` is the latent correlation of baseline and follow-up for
    a participant, for both parts, as for a continuous outcome. The intercepts
    ``a`` are solved (Gauss-Hermite quadrature) so that the risks over clusters
    and participants are ``baseline_risk``, ``control_risk`` and ``p1``: the
    odds ratio is the population-averaged one, which a GEE estimates and the
    two proportions of :func:`closed_form_power` compare. The cluster-specific
    odds ratio ``exp(a_1,1 - a_1,0)`` of the generating model is further from
    1, and so is an odds ratio adjusted for the baseline measure. The ICC and
    correlation of the 0/1 values themselves are smaller than the latent ones
    (:func:`proportion_icc` converts the ICC).
    """

    clusters: int
    cluster_size: float
    cluster_size_cv: float = 0.0
    icc: float = 0.05
    effect: float | None = None
    baseline_correlation: float | None = 0.5
    attrition: float = 0.0
    cost_mean: float | None = None
    cost_cv: float = 1.0
    cost_difference: float = 0.0
    qaly_mean: float = 0.35
    qaly_sd: float = 0.08
    qaly_difference: float = 0.0
    outcome: Outcome = "continuous"
    control_risk: float | None = None
    odds_ratio: float | None = None
    baseline_risk: float | None = None

    def __post_init__(self) -> None:
        if self.outcome not in MODELS:
            raise DataError(
                f"TrialDesign: outcome must be one of {list(MODELS)}; got "
                f"{self.outcome!r}"
            )
        binary_only = ("control_risk", "odds_ratio", "baseline_risk")
        if self.outcome == "continuous":
            given = [name for name in binary_only if getattr(self, name) is not None]
            if given:
                raise DataError(
                    f"TrialDesign: {', '.join(given)} apply to a binary outcome "
                    "only; give outcome='binary' (a continuous outcome's effect "
                    "is effect=, in SDs)"
                )
            if self.effect is None:
                object.__setattr__(self, "effect", DEFAULT_EFFECT)
        else:
            self._check_binary()
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

    def _check_binary(self) -> None:
        if self.effect is not None:
            raise DataError(
                "TrialDesign: effect= (a difference in SDs) applies to a "
                "continuous outcome only; a binary outcome's effect is odds_ratio="
            )
        for name in ("control_risk", "odds_ratio"):
            if getattr(self, name) is None:
                raise DataError(f"TrialDesign: a binary outcome needs {name}=")
        risks = {"control_risk": self.control_risk, "baseline_risk": self.baseline_risk}
        for name, value in risks.items():
            if value is not None and not 0 < value < 1:
                raise DataError(f"TrialDesign: {name} must be in (0, 1); got {value}")
        if not (np.isfinite(self.odds_ratio) and self.odds_ratio > 0):
            raise DataError(
                f"TrialDesign: odds_ratio must be positive; got {self.odds_ratio}"
            )
        if self.baseline_correlation is None:
            if self.baseline_risk is not None:
                raise DataError(
                    "TrialDesign: baseline_risk needs a baseline measure "
                    "(baseline_correlation is None)"
                )
        elif not 0 <= self.baseline_correlation < 1:
            raise DataError(
                "TrialDesign: baseline_correlation must be in [0, 1) for a binary "
                "outcome (the share of the latent participant variance shared by "
                f"the waves); got {self.baseline_correlation}"
            )


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
        ``followup`` (missing if lost; 0/1 for a binary outcome), and ``cost``,
        ``qaly`` with economics.

    Examples
    --------
    >>> from cpeval.power import TrialDesign, simulate_trial
    >>> trial = simulate_trial(TrialDesign(clusters=10, cluster_size=16), seed=1)
    >>> len(trial), int(trial["treated"].sum())
    (160, 80)
    """
    return pd.DataFrame(draw(design, seed))


def proportion_icc(icc: float, risk: float) -> float:
    """The ICC of 0/1 values from a latent (logit-scale) ICC, at this risk.

    Under ``logit P(y = 1 | u) = a + u``, ``u ~ N(0, sigma^2)`` with
    ``icc = sigma^2 / (sigma^2 + pi^2/3)`` and ``a`` such that the risk over
    clusters is ``risk``, the correlation of two 0/1 values of one cluster is
    ``(E[expit(a + u)^2] - risk^2) / (risk (1 - risk))`` (Gauss-Hermite
    quadrature); this is the ICC of proportions in Donner and Klar's design
    effect. It is smaller than the latent ICC, and depends on the risk.

    Parameters
    ----------
    icc : float
        Latent ICC, in [0, 1).
    risk : float
        In (0, 1).

    Returns
    -------
    float

    Examples
    --------
    >>> from cpeval.power import proportion_icc
    >>> round(proportion_icc(0.05, 0.3), 4)
    0.0343
    """
    if not 0 <= icc < 1 or not 0 < risk < 1:
        raise DataError(f"need 0 <= icc < 1 and 0 < risk < 1; got {icc}, {risk}")
    sd = np.sqrt(icc / (1 - icc) * LOGISTIC_VARIANCE)
    x, w = normal_nodes()
    conditional = expit(intercept(risk, sd) + sd * x)
    return float((w @ conditional**2 - risk**2) / (risk * (1 - risk)))


# ------------------------------------------------------------------ analysis


def _analyse(trial: pd.DataFrame, model: Model, wtp: float | None) -> dict:
    """Effect, SE, df and p of one trial, and with costs the INMB at ``wtp``."""
    if model == "ancova" and "baseline" not in trial:
        raise DataError("model='ancova' needs a baseline measure")
    if model in MODELS["binary"]:
        row = _binary_effect(trial, model)
    else:
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


def _binary_effect(trial: pd.DataFrame, model: Model) -> dict:
    """The log odds ratio at follow-up, adjusted for the baseline measure if
    there is one: a binomial GEE (exchangeable within cluster, Mancl-DeRouen
    errors) or a logistic GLMM with a cluster random intercept (Laplace); t on
    clusters minus fixed parameters for both."""
    follow = trial.dropna(subset=["followup"])
    terms = ["treated", "baseline"] if "baseline" in trial else ["treated"]
    if model == "gee":
        fit = fit_gee(
            follow,
            outcome="followup",
            terms=terms,
            cluster="cluster",
            family="binomial",
            correlation="exchangeable",
            cov_type="mancl-derouen",
        )
        estimate, se, df = fit.params["treated"], fit.se["treated"], fit.df["treated"]
    else:
        fit = fit_glmm(follow, f"followup ~ {' + '.join(terms)} + (1 | cluster)")
        if not fit.converged:
            raise DataError(f"the GLMM did not converge: {'; '.join(fit.messages)}")
        estimate, se = fit.params["treated"], fit.se["treated"]
        df = follow["cluster"].nunique() - len(fit.params)
    return {
        "estimate": float(estimate),
        "se": float(se),
        "df": float(df),
        "p_val": float(2 * stats.t.sf(abs(estimate / se), df)),
    }


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
        One row per replicate: ``estimate`` (for a binary outcome the log odds
        ratio), ``se``, ``df``, ``p_val`` (and
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
    model: Model | None = None,
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
    model : {"ancova", "lmm", "gee"}, optional
        For a continuous outcome ``ancova`` (the default) or ``lmm``; for a
        binary one ``gee`` (the default); others are refused before simulating.
        ``ancova``: follow-up on baseline and arm with CR2 errors by cluster and
        Satterthwaite df (needs a baseline). ``lmm``: nested random intercepts
        (cluster, participant) on both waves, the time x arm effect with
        Satterthwaite df; without a baseline, follow-up on arm with a cluster
        random intercept. The two-wave ``lmm`` assumes each cluster's effect is
        the same at both waves; when it changes (``icc > 0`` with
        ``baseline_correlation < 1``) its time x arm test is anti-conservative
        (type I error 0.138 at ICC 0.05, correlation 0.5, 10 clusters of 16;
        ``ancova`` 0.055), so its power is overstated there. ``gee``: a binomial
        GEE (:func:`cpeval.models.fit_gee`) of follow-up on arm and the
        baseline measure (if any), exchangeable working correlation within
        cluster, Mancl-DeRouen bias-reduced errors and t on clusters minus
        parameters. ``glmm``: a logistic mixed model
        (:func:`cpeval.models.fit_glmm`, Laplace, as lme4's ``glmer``) of
        follow-up on arm and the baseline measure (if any) with a random
        intercept per cluster, its Wald statistic referred to t on clusters
        minus fixed parameters (lme4 reports z, anti-conservative with few
        clusters). The estimate is the log odds ratio adjusted for baseline:
        population-averaged for ``gee``, cluster-specific for ``glmm``.
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
    allowed = MODELS[design.outcome]
    if model is None:
        model = allowed[0]
    if model not in allowed:
        raise DataError(
            f"model must be one of {list(allowed)} for a {design.outcome} outcome; "
            f"got {model!r}"
        )
    if n_replicates < 1 or not 0 < alpha < 1:
        raise DataError("need n_replicates >= 1 and 0 < alpha < 1")
    seeds = list(enumerate(spawn_seeds(seed, n_replicates)))
    # the design travels as its fields, so a worker imports _power_worker only
    fields = asdict(design)
    size = _batch_size(n_replicates, n_jobs, client)
    tasks = [(fields, model, wtp, part) for part in chunks(seeds, size)]
    rows = [
        row
        for part in parallel_map(
            _power_worker.replicates, tasks, n_jobs=n_jobs, client=client
        )
        for row in part
    ]
    table = pd.DataFrame(rows)
    if "estimate" not in table:
        raise DataError(f"every replicate failed; the first: {rows[0]['error']}")
    return PowerResult(design, model, alpha, wtp, table)


def _batch_size(n_replicates: int, n_jobs, client) -> int:
    """Replicates per task: all in one on one process, a few tasks per local
    worker, ``CHUNK`` on Dask. Each replicate has its own seed, so results do
    not depend on it."""
    if client is not None:
        return CHUNK
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, int) or n_jobs < 1:
        return CHUNK  # parallel_map refuses it
    tasks = 1 if n_jobs == 1 else n_jobs * TASKS_PER_WORKER
    return max(1, -(-n_replicates // tasks))


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
    effect: float | None = None,
    clusters: int,
    cluster_size: float,
    icc: float,
    cluster_size_cv: float = 0.0,
    alpha: float = 0.05,
    control_risk: float | None = None,
    odds_ratio: float | None = None,
    icc_scale: Literal["latent", "proportion"] = "latent",
) -> float:
    """Power of the two-arm comparison of follow-up means or proportions, by the
    design effect.

    Means (``effect``): ``SE^2 = 2 DE / (k m)`` with ``k = clusters / 2`` per
    arm, ``m`` the cluster size and ``DE = 1 + ((cv^2 + 1) m - 1) icc``
    (:func:`cpeval.models.design_effect`).

    Proportions (``control_risk`` and ``odds_ratio``, a binary outcome):
    Donner and Klar's variance of a difference of two proportions from cluster
    randomised arms, ``SE^2 = (p0 (1 - p0) DE0 + p1 (1 - p1) DE1) / (k m)``
    (Donner A, Klar N. *Design and Analysis of Cluster Randomization Trials in
    Health Research*. London: Arnold, 2000; Donner, Birkett and Buck 1981,
    *Am J Epidemiol* 114:906-914), ``p1`` the intervention risk at the odds
    ratio and ``DE_a`` the design effect at the ICC of 0/1 values. With
    ``icc_scale="latent"`` (the default, as :class:`TrialDesign`'s ``icc``)
    that ICC is
    :func:`proportion_icc` of ``icc`` at each arm's risk, so it differs a
    little between arms; with ``"proportion"`` ``icc`` is already the ICC of
    the 0/1 values, the same in both arms (Donner and Klar's ``rho``).

    Either way the test is a t test on ``clusters - 2`` df, so power is the
    non-central t probability ``P(|T(df, d / SE)| > t(1 - alpha/2, df))``,
    ``d`` the difference (Donner and Klar's formula uses the normal; the t is
    its few-cluster version and tends to it as clusters grow).

    Parameters
    ----------
    effect : float, optional
        Difference in outcome SDs (a continuous outcome).
    clusters : int
        Clusters in all (both arms).
    cluster_size : float
    icc : float
    cluster_size_cv : float
    alpha : float
    control_risk, odds_ratio : float, optional
        A binary outcome instead: the control risk and the (population-
        averaged) odds ratio at follow-up.
    icc_scale : {"latent", "proportion"}
        The scale of ``icc`` for a binary outcome.

    Returns
    -------
    float

    Examples
    --------
    >>> from cpeval.power import closed_form_power
    >>> round(closed_form_power(effect=0.5, clusters=10, cluster_size=16, icc=0.05), 3)
    0.556
    >>> round(closed_form_power(control_risk=0.3, odds_ratio=2, clusters=20,
    ...                         cluster_size=30, icc=0.02, icc_scale="proportion"), 3)
    0.874
    """
    binary = control_risk is not None or odds_ratio is not None
    if binary == (effect is not None):
        raise DataError(
            "closed_form_power needs effect= (a continuous outcome) or "
            "control_risk= and odds_ratio= (a binary outcome), not both"
        )
    k = clusters / 2
    df = clusters - 2
    crit = stats.t.ppf(1 - alpha / 2, df)
    if binary:
        difference, se = _proportions_se(
            control_risk, odds_ratio, icc, icc_scale, cluster_size, cluster_size_cv
        )
        ncp = difference / (se / np.sqrt(k))
    else:
        se = np.sqrt(
            2 * design_effect(icc, cluster_size, cluster_size_cv) / (k * cluster_size)
        )
        ncp = effect / se
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def _proportions_se(p0, odds_ratio, icc, icc_scale, m, cv) -> tuple[float, float]:
    """The difference of risks and its SE with one cluster per arm."""
    for name, value in (("control_risk", p0), ("odds_ratio", odds_ratio)):
        if value is None:
            raise DataError(f"closed_form_power: a binary outcome needs {name}=")
    if not 0 < p0 < 1 or not odds_ratio > 0:
        raise DataError(
            f"need 0 < control_risk < 1 and odds_ratio > 0; got {p0}, {odds_ratio}"
        )
    if icc_scale not in ("latent", "proportion"):
        raise DataError(
            f"icc_scale must be 'latent' or 'proportion'; got {icc_scale!r}"
        )
    p1 = risk_at_odds_ratio(p0, odds_ratio)
    variance = 0.0
    for p in (p0, p1):
        rho = proportion_icc(icc, p) if icc_scale == "latent" else icc
        variance += p * (1 - p) * design_effect(rho, m, cv) / m
    return p1 - p0, float(np.sqrt(variance))
