"""Drawing trials for :mod:`cpeval.power`, and the worker that analyses them.

This module is what a worker process of :func:`cpeval.power.simulate_power`
imports, so it imports numpy only at the top (scipy and the model engines when
first used, pandas and the public estimators only when a replicate needs them).

The continuous outcome's two analyses have a fast path on numpy arrays, the
same arithmetic as the public estimators in the same order, so the numbers
are the same to the last bit (``tests/test_power.py`` checks this):

- ``ancova``: OLS by statsmodels' pseudo-inverse and
  :func:`cpeval.models.cr2` on ``[1, baseline, arm]``, as
  :func:`cpeval.models.ancova` does after patsy;
- ``lmm``: the nested engine (``NestedDesign``, the exact criterion and its
  optimiser, the exact-path Satterthwaite df) on the fixed-effect matrix and
  cluster numbers that :func:`cpeval.models.fit_lmm` would build with patsy
  and pandas.

Whenever a replicate is not the usual case (an arm with nobody at follow-up, a
collinear design, a cluster level with one unit), the fast path declines and
the public estimator analyses it, so errors read exactly as before.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._threads import one_blas_thread
from .exceptions import DataError
from .models._intervals import t_pvalue

#: Variance of the standard logistic distribution (the latent residual).
LOGISTIC_VARIANCE = np.pi**2 / 3
#: Gauss-Hermite nodes for risks and ICCs of the logistic-normal model (the
#: integrands are smooth: 80 nodes give risks to better than 1e-12 for latent
#: SDs up to 3).
QUADRATURE_NODES = 80
#: As :func:`cpeval.models.fit_lmm` (``_lmm.EXACT_FIT``): residuals of the fixed
#: effects alone below this (relative to the outcome's size) are rounding.
EXACT_FIT = 1e-10
#: The confidence level of the INMB's interval (``fit_lmm``'s default).
LEVEL = 0.95
#: statsmodels' ``pinv_extended`` cut-off (``rcond``) for OLS by ``pinv``.
PINV_RCOND = 1e-15


# ------------------------------------------------------------------ drawing


def draw(d, seed) -> dict[str, np.ndarray]:
    """One trial's columns (see :func:`cpeval.power.simulate_trial`), drawn
    from ``numpy.random.default_rng(seed)``; ``d`` is a
    :class:`~cpeval.power.TrialDesign` or anything with its fields."""
    rng = np.random.default_rng(seed)
    sizes = _cluster_sizes(d, rng)
    cluster = np.repeat(np.arange(d.clusters), sizes)
    treated = (cluster >= d.clusters // 2).astype(int)
    n = len(cluster)
    r = 0.0 if d.baseline_correlation is None else d.baseline_correlation
    data = {"cluster": cluster, "id": np.arange(n), "treated": treated}
    if d.outcome == "binary":
        baseline, followup = _binary_waves(d, rng, cluster, treated, r)
    else:
        a0, a1 = _pairs(rng, d.clusters, r, d.icc)
        e0, e1 = _pairs(rng, n, r, 1 - d.icc)
        baseline = a0[cluster] + e0
        followup = a1[cluster] + e1 + d.effect * treated
    if d.baseline_correlation is not None:
        data["baseline"] = baseline
    lost = rng.random(n) < d.attrition
    data["followup"] = np.where(lost, np.nan, followup)
    if d.cost_mean is not None:
        data.update(_economics(d, rng, cluster, treated, lost))
    return data


def _cluster_sizes(d, rng) -> np.ndarray:
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


def _binary_waves(d, rng, cluster, treated, r: float):
    """0/1 baseline and follow-up values from the logistic random-intercept
    model of :class:`~cpeval.power.TrialDesign` (Notes)."""
    participant = LOGISTIC_VARIANCE / (1 - r)  # var(v + e)
    var_u = d.icc / (1 - d.icc) * participant
    var_v = r * participant
    u0, u1 = _pairs(rng, d.clusters, r, var_u)
    v = rng.normal(0, np.sqrt(var_v), len(cluster))
    sd = np.sqrt(var_u + var_v)  # of u + v: the intercepts give marginal risks
    p1 = risk_at_odds_ratio(d.control_risk, d.odds_ratio)
    follow_a = np.array([intercept(d.control_risk, sd), intercept(p1, sd)])
    base_risk = d.control_risk if d.baseline_risk is None else d.baseline_risk
    base_a = intercept(base_risk, sd)
    baseline = rng.random(len(cluster)) < expit(base_a + u0[cluster] + v)
    followup = rng.random(len(cluster)) < expit(follow_a[treated] + u1[cluster] + v)
    return baseline.astype(float), followup.astype(float)


def expit(x):
    return 1 / (1 + np.exp(-x))


def risk_at_odds_ratio(risk: float, odds_ratio: float) -> float:
    odds = odds_ratio * risk / (1 - risk)
    return odds / (1 + odds)


def normal_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for the standard normal."""
    x, w = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    return x, w / w.sum()


def intercept(risk: float, sd: float) -> float:
    """``a`` with ``E expit(a + sd Z) = risk``, ``Z`` standard normal."""
    from scipy import optimize

    x, w = normal_nodes()
    target = np.log(risk / (1 - risk))
    if sd == 0:
        return float(target)

    def gap(a):
        return float(w @ expit(a + sd * x)) - risk

    span = 10 + 10 * sd
    return float(optimize.brentq(gap, target - span, target + span, xtol=1e-14))


def _economics(d, rng, cluster, treated, lost) -> dict:
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


# ------------------------------------------------------------------ the worker


def replicates(fields: dict, model: str, wtp, seeds) -> list[dict]:
    """Simulate and analyse one batch of ``(index, seed)`` replicates (a task
    for a worker). ``fields`` are the design's (``dataclasses.asdict``), so
    that unpickling a task imports nothing beyond this module.

    BLAS runs on one thread for the whole batch: the matrices are small, and a
    second thread costs more than it saves."""
    d = _Fields(fields)
    fast = d.outcome == "continuous" and model in ("ancova", "lmm")
    rows = []
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        for index, seed in seeds:
            try:
                row = _fast_row(d, model, wtp, seed) if fast else None
                if row is None:
                    row = _public_row(fields, model, wtp, seed)
                if not np.isfinite(row.get("p_val", 0.0)):
                    # counted as a failure, not as a replicate that did not reject
                    raise DataError(
                        f"no p-value: the df are {row.get('df', np.nan):.3g} "
                        "(a degenerate fit)"
                    )
                rows.append({"replicate": index, **row, "error": ""})
            except (DataError, np.linalg.LinAlgError, ValueError) as exc:
                rows.append({"replicate": index, "error": str(exc).splitlines()[0]})
    return rows


class _Fields:
    """A design's fields as attributes."""

    def __init__(self, fields: dict) -> None:
        self.__dict__.update(fields)


def _public_row(fields: dict, model: str, wtp, seed) -> dict:
    """The replicate analysed by the public estimators (data frames, patsy)."""
    from .power import TrialDesign, _analyse, simulate_trial

    return _analyse(simulate_trial(TrialDesign(**fields), seed), model, wtp)


def _fast_row(d, model: str, wtp, seed) -> dict | None:
    """:func:`cpeval.power._analyse` of a continuous outcome on arrays; None
    when a fit is not the usual case (the public path then analyses it)."""
    data = draw(d, seed)
    if model == "ancova" and "baseline" not in data:
        return None  # the public path says why
    cluster, treated, followup = data["cluster"], data["treated"], data["followup"]
    seen = ~np.isnan(followup)
    if not (treated[seen].any() and not treated[seen].all()):
        return None  # an arm with nobody at follow-up
    if "baseline" not in data:
        fit = _lmm_one_level(cluster[seen], treated[seen], followup[seen])
    elif model == "ancova":
        baseline = data["baseline"][seen]
        fit = _ancova(cluster[seen], treated[seen], baseline, followup[seen])
    else:
        fit = _lmm_two_waves(cluster, treated, data["baseline"], followup, seen)
    if fit is None:
        return None
    estimate, se, df, p = fit
    row = {"estimate": estimate, "se": se, "df": df, "p_val": p}
    if wtp is not None and "cost" in data:
        nmb = wtp * data["qaly"] - data["cost"]
        kept = ~np.isnan(nmb)
        if not (treated[kept].any() and not treated[kept].all()):
            return None
        inmb = _lmm_one_level(cluster[kept], treated[kept], nmb[kept])
        if inmb is None:
            return None
        estimate, se, df, _ = inmb
        row.update(
            {
                "inmb": estimate,
                "inmb_ci_low": estimate - _t_quantile(0.5 + LEVEL / 2, df) * se,
                "p_cost_effective": _t_cdf(estimate / se, df),
            }
        )
    return row


# ------------------------------------------------------------------ ANCOVA


def _ancova(cluster, treated, baseline, followup):
    """:func:`cpeval.models.ancova` of follow-up on baseline and arm with CR2
    by cluster: the arm's estimate, SE, df and p (None: not the usual case)."""
    from .models._cr2 import cr2

    x = np.column_stack([np.ones(len(followup)), baseline, treated.astype(float)])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return None
    params = _pinv(x) @ followup  # statsmodels' OLS (method="pinv")
    residuals = followup - x @ params
    vcov, df = cr2(x, residuals, cluster)
    se = np.sqrt(np.diag(vcov))
    p = t_pvalue(params, se, df)
    return params[2], se[2], df[2], p[2]


def _pinv(x: np.ndarray) -> np.ndarray:
    """statsmodels' ``pinv_extended`` (the pseudo-inverse its OLS fits use)."""
    u, s, vt = np.linalg.svd(x, False)
    cutoff = PINV_RCOND * np.maximum.reduce(s)
    s = np.where(s > cutoff, 1.0 / np.where(s > cutoff, s, 1.0), 0.0)
    return np.dot(np.transpose(vt), np.multiply(s[:, np.newaxis], np.transpose(u)))


# ------------------------------------------------------------------ mixed model


def _lmm_two_waves(cluster, treated, baseline, followup, seen):
    """``y ~ time * arm`` with random intercepts for cluster and participant
    on every measure (:func:`cpeval.models.effect_by_wave`, ``method="lmm"``):
    rows are the baseline measures then the follow-up ones seen, in order."""
    n = len(cluster)
    m = int(seen.sum())
    y = np.concatenate([baseline, followup[seen]])
    wave = np.concatenate([np.zeros(n), np.ones(m)])
    arm = np.concatenate([treated, treated[seen]]).astype(float)
    ids = np.concatenate([np.arange(n), np.flatnonzero(seen)])
    x = _columns([np.ones(n + m), wave, arm, wave * arm])
    codes = [np.concatenate([cluster, cluster[seen]]).astype(np.int64), ids]
    return _lmm(x, y, codes, term=3)


def _lmm_one_level(cluster, treated, y):
    """``y ~ arm`` with a random intercept per cluster (``fit_lmm(data,
    "y ~ treated", ["cluster"])``)."""
    x = _columns([np.ones(len(y)), treated.astype(float)])
    _, codes = np.unique(cluster, return_inverse=True)
    return _lmm(x, y, [codes.astype(np.int64)], term=1)


def _columns(columns) -> np.ndarray:
    """Columns laid out as patsy's data frame gives them (``to_numpy``: one
    column after another), so that every product sums in the same order."""
    return np.asfortranarray(np.column_stack(columns))


def _lmm(x: np.ndarray, y: np.ndarray, codes: list[np.ndarray], term: int):
    """:func:`cpeval.models.fit_lmm` with nested random intercepts (REML,
    Satterthwaite df) from its arrays: the estimate, SE, df and p of column
    ``term`` (None: a check of ``fit_lmm`` would fail; it then says which)."""
    from .models._lmm_df import fixed_effects
    from .models._lmm_optimise import ExactCriterion, optimise
    from .models._nested import NestedDesign

    p = x.shape[1]
    if np.linalg.matrix_rank(x) < p or any(c.max() < 1 for c in codes):
        return None  # check_rank, _check_levels
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)  # _check_variation
    if np.sqrt(np.mean((y - x @ beta) ** 2)) <= EXACT_FIT * (1.0 + np.abs(y).max()):
        return None
    design = NestedDesign.build(x, y, codes)
    objective = ExactCriterion(design, True)
    levels = len(codes)
    theta, _, _ = optimise(objective, np.ones(levels), np.zeros(levels))
    fixed = fixed_effects(objective, theta, True, "satterthwaite")  # as fit_lmm
    se = np.sqrt(np.diag(fixed.cov))
    pvalues = t_pvalue(fixed.beta, se, fixed.df)
    return fixed.beta[term], se[term], fixed.df[term], pvalues[term]


# ------------------------------------------------------------------ t


def _t_cdf(t: float, df: float) -> float:
    from scipy import special

    return special.stdtr(df, t)


def _t_quantile(q: float, df: float) -> float:
    from scipy import special

    return special.stdtrit(df, q)
