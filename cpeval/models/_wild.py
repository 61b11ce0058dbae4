"""The restricted wild cluster bootstrap (WCR) for designs with few clusters: the
ANCOVA arm difference (``wild_bootstrap_ancova``) and the pre-post effect, the
``time:group`` interaction of two waves in long format
(``wild_bootstrap_prepost``). Both build an OLS design and hand it to one core,
``_wild_bootstrap``.

The bootstrap t statistic is the coefficient over its CR1 cluster-robust standard
error; bootstrap samples are built from the model fitted under the null (the
restricted residuals, flipped by cluster with Rademacher or Webb weights), as in
Cameron, Gelbach and Miller (2008), MacKinnon and Webb (2017) and Stata's
``boottest`` (Roodman, MacKinnon, Nielsen and Webb 2019, *Stata Journal*
19(1):4-60). The p-value is symmetric: the share of bootstrap ``|t*|`` at least
the observed ``|t|``. The confidence interval inverts the test: the values of the
difference the test does not reject at ``1 - level``, found by bisection with the
same draws. With Rademacher weights and ``2**G <= n_boot`` every one of the
``2**G`` sign patterns is used once (full enumeration), so the result is exact and
needs no seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from patsy import PatsyError, dmatrix

from .._checks import numeric, require_columns, treatment
from .._format import show
from .._results import EstimateResults, check_level
from ..exceptions import DataError
from ._ancova import ols_fit
from ._lmm import check_rank
from ._waves import _arm_names, _columns, _covariate_terms, _spoken

__all__ = ["WildBootstrap", "wild_bootstrap_ancova", "wild_bootstrap_prepost"]

Weights = Literal["rademacher", "webb"]
#: The weight distributions: Rademacher (+-1) and Webb's six-point (Webb 2013).
WEIGHTS: dict[str, np.ndarray] = {
    "rademacher": np.array([-1.0, 1.0]),
    "webb": np.array(
        [-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)]
    ),
}
_PRECISION = 1e-6  # interval limits to this fraction of the standard error


@dataclass(frozen=True)
class _Problem:
    """The regression, sorted by cluster, and the bootstrap draws."""

    X: np.ndarray
    y: np.ndarray
    starts: np.ndarray  # first row of each cluster
    k: int  # the tested column
    draws: np.ndarray  # (clusters, n_boot) weights

    @cached_property
    def _qr(self) -> tuple[np.ndarray, np.ndarray]:
        """``Q`` of ``X = QR`` and row ``k`` of ``R^-1``: ``beta_k`` is
        ``(Q r_k)' y`` (QR, not the inverse of ``X'X``, whose rounding error
        grows with the square of the condition number)."""
        q, r = np.linalg.qr(self.X)
        row = np.linalg.solve(r.T, np.eye(r.shape[0])[:, self.k])
        return q, row

    @cached_property
    def _w(self) -> np.ndarray:
        """``X (X'X)^-1 e_k``: ``beta_k = w' y``."""
        q, row = self._qr
        return q @ row

    @cached_property
    def _scale(self) -> float:
        """CR1's small-sample factor G/(G-1) (N-1)/(N-K), as Stata's."""
        n, p = self.X.shape
        g = len(self.starts)
        return g / (g - 1) * (n - 1) / (n - p)

    def cr1(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficient ``k`` and its CR1 standard error, for each column of
        ``Y`` (the small-sample factor G/(G-1) (N-1)/(N-K), as Stata's)."""
        q, w = self._qr[0], self._w
        resid = Y - q @ (q.T @ Y)
        scores = np.add.reduceat(w[:, None] * resid, self.starts, axis=0)
        return w @ Y, np.sqrt(self._scale * (scores**2).sum(axis=0))

    @cached_property
    def _observed(self) -> tuple[float, float]:
        """Coefficient ``k`` and its CR1 standard error in the data."""
        beta, se = self.cr1(self.y[:, None])
        return float(beta[0]), float(se[0])

    @cached_property
    def _linear(self) -> tuple[np.ndarray, ...]:
        """The pieces, free of ``r``, of every bootstrap t as a function of the
        null value ``r`` (Roodman, MacKinnon, Nielsen and Webb 2019, section 3).

        Under the null the restricted residuals are ``u - r v`` (``u``, ``v``:
        ``y`` and column ``k`` residualised on the other columns), and with
        ``w = X (X'X)^-1 e_k`` (orthogonal to the other columns, ``w' x_k = 1``)
        a bootstrap sample's ``beta_k - r`` is ``sum_g d_g (a_g - r c_g)``
        (``a_g``, ``c_g``: cluster sums of ``w u`` and ``w v``), and its CR1
        scores are ``(K0 - r K1) d`` with ``K = diag(a) - m q'`` (``m_g``,
        ``q_g``: cluster sums of ``w Q`` and of ``Q u`` or ``Q v``, ``X = QR``).
        So each ``r`` costs ``O(G^2 B)``, not a regression per draw.
        """
        q, w = self._qr[0], self._w
        others, _ = np.linalg.qr(np.delete(self.X, self.k, axis=1))
        column = self.X[:, self.k]
        u = self.y - others @ (others.T @ self.y)
        v = column - others @ (others.T @ column)
        starts = self.starts
        a = np.add.reduceat(w * u, starts)
        c = np.add.reduceat(w * v, starts)
        m = np.add.reduceat(w[:, None] * q, starts, axis=0)
        k0 = np.diag(a) - m @ np.add.reduceat(q * u[:, None], starts, axis=0).T
        k1 = np.diag(c) - m @ np.add.reduceat(q * v[:, None], starts, axis=0).T
        return a, c, k0, k1

    def t_stats(self, r: float) -> tuple[float, np.ndarray]:
        """The observed t of ``beta_k = r`` and its bootstrap distribution."""
        beta, se = self._observed
        t_obs = (beta - r) / se
        a, c, k0, k1 = self._linear
        difference = (a - r * c) @ self.draws
        scores = (k0 - r * k1) @ self.draws
        return t_obs, difference / np.sqrt(self._scale * (scores**2).sum(axis=0))

    def p_value(self, r: float) -> float:
        """The symmetric bootstrap p-value of ``beta_k = r``."""
        t_obs, t_star = self.t_stats(r)
        return float(np.mean(np.abs(t_star) >= abs(t_obs) * (1 - 1e-12)))


@dataclass(frozen=True, repr=False)
class WildBootstrap(EstimateResults):
    """The wild cluster bootstrap test and interval of one regression
    coefficient: the ANCOVA arm difference or the pre-post effect.

    Parameters
    ----------
    params, se : pandas.Series
        The coefficient and its CR1 cluster-robust standard error: the ANCOVA
        difference (intervention minus comparator; term ``group``) or the
        pre-post effect (the intervention arm's change from baseline to
        follow-up minus the comparator's; term ``"time:group"``).
    df : pandas.Series
        Clusters minus one (reported; the p-value and interval come from the
        bootstrap, not from a t distribution).
    pvalues : pandas.Series
        The bootstrap p-value: the share of bootstrap ``|t*|`` at least the
        observed ``|t|``.
    cov : pandas.DataFrame
        The CR1 variance of the coefficient.
    n_obs, n_clusters, n_boot : int
        Rows used, clusters and bootstrap samples (``2**G`` when enumerated).
    n_dropped : int
        Rows left out for a missing value: in any model column (ANCOVA), or in
        the outcome or a covariate at the two waves compared (pre-post).
    effect : str
        What was tested: ``"ANCOVA"``, or the pre-post model and its waves.
    weights : {"rademacher", "webb"}
    enumerated : bool
        Every Rademacher sign pattern used once (exact).
    level : float
        Default level of ``conf_int()``, which inverts the test at call time.

    Notes
    -----
    ``conf_int(level)`` is not ``params -/+ t se``: it is the set of values of
    the difference that the bootstrap test does not reject at ``1 - level``,
    with the same draws.
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    n_obs: int
    n_clusters: int
    n_boot: int
    n_dropped: int
    effect: str
    weights: str
    enumerated: bool
    level: float
    problem: _Problem = field(repr=False, compare=False)

    _title = "Wild cluster bootstrap (restricted, WCR)"

    @property
    def cov_type(self) -> str:
        """How the test was made."""
        return f"wild cluster bootstrap ({self.weights}, restricted), CR1 t"

    def _header(self):
        return [
            ("effect", self.effect),
            ("n_obs", self.n_obs),
            ("rows dropped (missing)", self.n_dropped),
            ("clusters", self.n_clusters),
            ("bootstrap samples", self.n_boot),
            ("weights", self.weights + (" (all sign patterns)" * self.enumerated)),
            ("level", self.level),
        ]

    def _notes(self) -> list[str]:
        return [
            "p: share of bootstrap |t*| at least |t| (t: CR1 errors); interval: "
            "the values the test does not reject (inverted with the same draws)"
        ]

    def _interval(self, level: float) -> pd.DataFrame:
        estimate, se = float(self.params.iloc[0]), float(self.se.iloc[0])
        low, high = invert(self.problem, estimate, se, 1 - check_level(level))
        return pd.DataFrame(
            {"ci_low": [low], "ci_high": [high]}, index=self.params.index
        )


def invert(problem: _Problem, estimate: float, se: float, alpha: float):
    """The interval of values of the coefficient not rejected at ``alpha``."""
    if problem.p_value(estimate) < alpha:  # cannot happen for a symmetric test
        raise DataError("the bootstrap rejects the estimate itself; no interval")
    bounds = []
    for sign in (-1.0, 1.0):
        inside, width = estimate, 2 * se
        outside = estimate + sign * width
        for _ in range(40):  # widen until the test rejects
            if problem.p_value(outside) < alpha:
                break
            inside, width = outside, 2 * width
            outside = estimate + sign * width
        else:
            bounds.append(sign * np.inf)  # too few draws to reject anywhere
            continue
        while abs(outside - inside) > _PRECISION * se:
            middle = (inside + outside) / 2
            if problem.p_value(middle) < alpha:
                outside = middle
            else:
                inside = middle
        bounds.append((inside + outside) / 2)
    return bounds[0], bounds[1]


def _check_options(n_boot: int, weights: str, level: float) -> None:
    """The bootstrap's options, checked before any fitting."""
    if weights not in WEIGHTS:
        raise DataError(f"weights must be one of {sorted(WEIGHTS)}; got {weights!r}")
    if not isinstance(n_boot, int) or n_boot < 99:
        raise DataError(f"n_boot must be a whole number of 99 or more; got {n_boot!r}")
    check_level(level)


def _wild_bootstrap(
    X: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    k: int,
    *,
    term: str,
    cluster: str,
    what: str,
    effect: str,
    n_dropped: int,
    n_boot: int,
    weights: str,
    seed: int | None,
    level: float,
) -> WildBootstrap:
    """The restricted wild cluster bootstrap of coefficient ``k`` of the OLS
    regression of ``y`` on ``X`` (full rank), clustered by ``clusters``.

    ``term`` names the coefficient in the result, ``cluster`` the cluster column
    and ``what`` the coefficient in messages; ``effect`` and ``n_dropped`` are
    reported as they are.
    """
    _check_options(n_boot, weights, level)
    codes, _ = pd.factorize(np.asarray(clusters), sort=True)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    if n_clusters < 3:
        raise DataError(
            f"cluster '{cluster}' has {n_clusters} clusters; the wild cluster "
            "bootstrap needs three or more"
        )
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    enumerated = weights == "rademacher" and 2**n_clusters <= n_boot
    if enumerated:
        draws = np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters))).T
    else:
        if seed is None:
            raise DataError("seed is required for random bootstrap draws")
        rng = np.random.default_rng(seed)
        draws = rng.choice(WEIGHTS[weights], size=(n_clusters, n_boot))
    problem = _Problem(
        X=np.asarray(X, float)[order],
        y=np.asarray(y, float)[order],
        starts=starts,
        k=k,
        draws=draws,
    )
    beta, se = (float(v[0]) for v in problem.cr1(problem.y[:, None]))
    if not se > 1e-10 * (1 + float(np.abs(problem.y).max())):  # rounding only
        raise DataError(
            f"{what} has no cluster-robust variation (its CR1 standard error is 0 "
            "up to rounding): the model fits every cluster exactly"
        )
    index = pd.Index([term])
    return WildBootstrap(
        params=pd.Series([beta], index=index),
        se=pd.Series([se], index=index),
        df=pd.Series([float(n_clusters - 1)], index=index),
        pvalues=pd.Series([problem.p_value(0.0)], index=index),
        cov=pd.DataFrame([[se**2]], index=index, columns=index),
        n_obs=len(problem.y),
        n_clusters=n_clusters,
        n_boot=int(draws.shape[1]),
        n_dropped=int(n_dropped),
        effect=effect,
        weights=weights,
        enumerated=enumerated,
        level=level,
        problem=problem,
    )


def wild_bootstrap_ancova(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    cluster: str,
    treated: object = None,
    covariates: Sequence[str] = (),
    n_boot: int = 9999,
    weights: Weights = "webb",
    seed: int | None = None,
    level: float = 0.95,
) -> WildBootstrap:
    """The ANCOVA arm difference tested by the restricted wild cluster bootstrap.

    Parameters
    ----------
    data, outcome, baseline, group, treated, covariates : see ancova
        As :func:`cpeval.models.ancova` (terms in ``covariates`` are code: patsy
        evaluates them, so never build them from untrusted text).
    cluster : str
        The cluster column (team, agency).
    n_boot : int
        Bootstrap samples. With Rademacher weights and ``2**G <= n_boot`` all
        ``2**G`` sign patterns are used instead (exact).
    weights : {"webb", "rademacher"}
        Webb's six-point weights suit few clusters (fewer than about 12), where
        Rademacher weights have too few distinct patterns.
    seed : int, optional
        Seeds the draws (required unless they are enumerated).
    level : float
        Level of the interval.

    Returns
    -------
    WildBootstrap

    See Also
    --------
    wild_bootstrap_prepost : the same test of the pre-post effect.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import wild_bootstrap_ancova
    >>> d = pd.read_csv("tests/reference/ancova/pilot_like.csv")
    >>> res = wild_bootstrap_ancova(d, outcome="followup", baseline="baseline",
    ...                             group="arm", cluster="cluster",
    ...                             weights="rademacher", n_boot=99999)
    >>> res.enumerated, res.n_boot, round(float(res.pvalues.iloc[0]), 4)
    (True, 16384, 0.2386)
    """
    _check_options(n_boot, weights, level)
    fit, used = ols_fit(
        data,
        outcome=outcome,
        baseline=baseline,
        group=group,
        treated=treated,
        covariates=covariates,
        cluster=cluster,
    )
    rows = fit.model.data.row_labels
    return _wild_bootstrap(
        fit.model.exog,
        fit.model.endog,
        used.loc[rows, cluster].to_numpy(),
        list(fit.params.index).index(group),
        term=group,
        cluster=cluster,
        what=f"the difference in '{outcome}'",
        effect="ANCOVA",
        n_dropped=len(data) - len(rows),
        n_boot=n_boot,
        weights=weights,
        seed=seed,
        level=level,
    )


def wild_bootstrap_prepost(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    group: str,
    cluster: str,
    id: str,
    treated: object = None,
    baseline_wave: object = None,
    followup_wave: object = None,
    covariates: Sequence[str] = (),
    n_boot: int = 9999,
    weights: Weights = "webb",
    seed: int | None = None,
    level: float = 0.95,
) -> WildBootstrap:
    """The pre-post effect tested by the restricted wild cluster bootstrap.

    The OLS regression ``outcome ~ time * group + covariates`` on the interviews
    of two waves (long format) with CR1 errors clustered by ``cluster``; the
    effect is the ``time:group`` interaction, the intervention arm's mean change
    from baseline to follow-up minus the comparator's. Clustering by the
    allocation cluster (team) also covers a participant's two interviews, as
    participants are nested in clusters (which is checked).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per interview (participant and wave).
    outcome : str
        The outcome column (numbers).
    time : str
        The wave column (when each interview took place).
    group : str
        The arm column: 0/1 (1 = intervention), or labels with ``treated``.
    cluster : str
        The allocation cluster (team): each participant's rows in one cluster.
    id : str
        The participant column.
    treated : optional
        The intervention's value of ``group`` when it holds labels (required
        then: which arm is the intervention is never guessed).
    baseline_wave, followup_wave : optional
        The values of ``time`` compared. Without them ``time`` must hold 0 and
        1 only (0 = baseline) or be an ordered categorical with two waves
        present (the first is baseline); one of them is enough when ``time``
        holds two waves. Rows at other waves are not used.
    covariates : sequence of str
        Further columns (numbers as they are, text as factors), each row's own
        value (a baseline characteristic should repeat on both rows).
    n_boot : int
        Bootstrap samples. With Rademacher weights and ``2**G <= n_boot`` all
        ``2**G`` sign patterns are used instead (exact).
    weights : {"webb", "rademacher"}
        Webb's six-point weights suit few clusters (fewer than about 12), where
        Rademacher weights have too few distinct patterns.
    seed : int, optional
        Seeds the draws (required unless they are enumerated).
    level : float
        Level of the interval.

    Returns
    -------
    WildBootstrap
        Term ``"<time>:<group>"``; ``n_obs`` interviews used, ``n_dropped``
        interviews at the two waves left out for a missing outcome or
        covariate.

    Raises
    ------
    DataError
        A column is absent; the waves compared or the intervention arm are not
        declared where they must be; a wave, arm, cluster or participant is
        missing on a row; a participant is in two clusters or two arms, or
        has two rows at one wave; an arm has no outcome at a wave; fewer than
        three clusters; the model cannot be estimated.

    See Also
    --------
    wild_bootstrap_ancova : the same test of the ANCOVA difference.

    Notes
    -----
    Every interview with an outcome is used, whether or not the participant
    has the other wave (:func:`cpeval.models.did` absorbs participant effects
    instead, so a participant seen once adds nothing there). The p-value and
    interval are those of :func:`wild_bootstrap_ancova`: restricted residuals
    flipped by cluster, symmetric p, interval by test inversion.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import wild_bootstrap_prepost
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> res = wild_bootstrap_prepost(d, outcome="y", time="time", group="group",
    ...                              cluster="team", id="id",
    ...                              weights="rademacher", n_boot=99999)
    >>> res.params.index[0], res.n_clusters, res.n_boot, res.n_dropped
    ('time:group', 12, 4096, 0)
    >>> round(float(res.params.iloc[0]), 4), round(float(res.pvalues.iloc[0]), 4)
    (-0.7084, 0.48)
    """
    _check_options(n_boot, weights, level)
    require_columns(data, [outcome, time, group, cluster, id, *covariates])
    base, follow = _two_waves(data[time], time, baseline_wave, followup_wave)
    _refuse_missing(data, [time], "every interview needs its wave")
    rows = data[(data[time] == base) | (data[time] == follow)]
    _refuse_missing(rows, [group, cluster, id], "at the waves compared")
    arm = treatment(rows[group], treated)
    _check_nesting(rows, id, cluster, group, time)
    model = pd.DataFrame(
        {
            "_y": numeric(rows[outcome], "outcome").to_numpy(),
            "_w1": (rows[time] == follow).to_numpy(float),
            "_arm": arm.to_numpy(),
            "_c": rows[cluster].to_numpy(),
        }
    )
    model, terms = _covariate_terms(
        rows.reset_index(drop=True), model, covariates, "_x"
    )
    complete = model.dropna(subset=["_y", *_columns(terms)])
    n_dropped = len(model) - len(complete)
    wanted = f"'{outcome}'" + (" and every covariate" if covariates else "")
    _check_arms_seen(
        complete, _arm_names(rows[group], treated), wanted, time, (base, follow)
    )
    names = {"_w1": time, "_arm": group}
    names |= {f"_x{j}": c for j, c in enumerate(covariates, start=1)}
    spoken = f"{outcome} ~ {time} * {group}" + "".join(f" + {c}" for c in covariates)
    try:
        X = dmatrix(
            " + ".join(["_w1", "_arm", "_w1:_arm", *terms]),
            complete,
            return_type="dataframe",
        )
    except PatsyError as exc:  # not expected: every name is cpeval's own
        raise DataError(f"cannot build the model {spoken!r}: {exc}") from None
    columns = [_spoken(str(c), names) for c in X.columns]
    check_rank(X.set_axis(columns, axis=1), spoken)
    return _wild_bootstrap(
        X.to_numpy(float),
        complete["_y"].to_numpy(float),
        complete["_c"].to_numpy(),
        list(X.columns).index("_w1:_arm"),
        term=f"{time}:{group}",
        cluster=cluster,
        what=f"the pre-post effect on '{outcome}'",
        effect=f"pre-post: {spoken}; {time} {show(base)} (baseline) to {show(follow)}",
        n_dropped=n_dropped,
        n_boot=n_boot,
        weights=weights,
        seed=seed,
        level=level,
    )


# ------------------------------------------------------------------ pre-post checks


def _present(values: pd.Series) -> list:
    """The values a column holds, in their order (categories) or sorted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        held = set(values.dropna().unique())
        return [v for v in values.cat.categories if v in held]
    held = list(pd.unique(values.dropna()))
    try:
        return sorted(held)
    except TypeError:
        return sorted(held, key=str)


def _two_waves(values: pd.Series, name: str, baseline, followup) -> tuple:
    """The baseline and follow-up waves: declared, or read from a 0/1 coding or
    an ordered categorical of two waves; anything else is refused."""
    waves = _present(values)
    held = ", ".join(f"'{show(w)}'" for w in waves[:8])
    for said, keyword in ((baseline, "baseline_wave"), (followup, "followup_wave")):
        if said is not None and said not in waves:
            raise DataError(
                f"{keyword}={said!r}: the wave column '{name}' has no such wave "
                f"(it holds {held})"
            )
    if len(waves) < 2:
        raise DataError(
            f"the wave column '{name}' holds one wave only ({held}): a pre-post "
            "comparison needs baseline and follow-up"
        )
    if baseline is not None and followup is not None:
        if baseline == followup:
            raise DataError(
                f"baseline_wave and followup_wave are both {baseline!r}: compare "
                "two different waves"
            )
        return baseline, followup
    if baseline is not None or followup is not None:
        others = [w for w in waves if w != (baseline if followup is None else followup)]
        if len(others) == 1:
            return (baseline, others[0]) if followup is None else (others[0], followup)
        missing = "followup_wave" if followup is None else "baseline_wave"
        raise DataError(
            f"the wave column '{name}' holds {len(waves)} waves ({held}): say "
            f"which other wave is compared ({missing}=...)"
        )
    if len(waves) > 2:
        raise DataError(
            f"the wave column '{name}' holds {len(waves)} waves ({held}): say which "
            "two are compared (baseline_wave=..., followup_wave=...)"
        )
    ordered = isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered
    coded = values.dtype != object and set(waves) == {0, 1}
    if ordered or coded:
        return waves[0], waves[1]
    raise DataError(
        f"the wave column '{name}' holds {held}, not 0/1: say which is the "
        "baseline (baseline_wave=...)"
    )


def _refuse_missing(rows: pd.DataFrame, columns: list[str], why: str) -> None:
    for column in columns:
        gaps = rows[column].isna()
        if gaps.any():
            raise DataError(
                f"'{column}' is missing on {int(gaps.sum())} rows (the first is row "
                f"{gaps.idxmax()!r}): {why}; fill it in or remove those rows"
            )


def _check_nesting(rows: pd.DataFrame, id: str, cluster: str, group: str, time: str):
    """Each participant in one cluster and one arm, with one row per wave."""
    for column, unit in ((cluster, "cluster"), (group, "arm")):
        spread = rows.groupby(id, sort=False)[column].nunique()
        if (spread > 1).any():
            who = spread.index[(spread > 1).to_numpy()][0]
            found = ", ".join(
                f"'{show(v)}'" for v in _present(rows.loc[rows[id] == who, column])
            )
            raise DataError(
                f"participant '{show(who)}' ('{id}') has rows in more than one "
                f"{unit} of '{column}' ({found}): a participant's interviews must "
                f"all be in one {unit}"
                + (
                    f" (errors are clustered by '{column}', which must hold every "
                    "participant's rows)"
                    if unit == "cluster"
                    else ""
                )
            )
    twice = rows.duplicated([id, time], keep=False)
    if twice.any():
        first = rows[twice].iloc[0]
        raise DataError(
            f"participant '{show(first[id])}' ('{id}') has {int(twice.sum())} rows "
            f"at wave '{show(first[time])}' of '{time}': one row per interview"
        )


def _check_arms_seen(complete, names, wanted: str, time: str, waves) -> None:
    """Each arm has a usable interview at each wave."""
    seen = complete.groupby(["_w1", "_arm"]).size()
    for w, label in enumerate(waves):
        for arm in (1.0, 0.0):
            if seen.get((float(w), arm), 0) == 0:
                raise DataError(
                    f"no interview in {names[arm]} at wave '{show(label)}' of "
                    f"'{time}' has {wanted}: the arms' changes cannot be "
                    "compared"
                )
