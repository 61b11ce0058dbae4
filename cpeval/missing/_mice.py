"""Multiple imputation by chained equations (mice's pmm, logreg and polyreg, and the
two-level 2l.pan), by arm."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import numeric
from .._parallel import parallel_map, spawn_seeds
from ..exceptions import DataError
from ._pool import PooledEstimate, pool

__all__ = ["Imputations", "impute"]

DONORS = 5  # mice's default number of PMM donors


@dataclass(frozen=True)
class Imputations:
    """m completed data sets and how they were made.

    Parameters
    ----------
    datasets : tuple of pandas.DataFrame
        The completed data, one per imputation (same index as the input).
    imputed : pandas.DataFrame
        Boolean mask of the cells that were imputed.
    methods : mapping
        Column -> "pmm", "logreg" or "polyreg"; with random cluster intercepts
        "2l.pan" (``cluster_model="random"``) or "2l.pmm" (``"random-pmm"``).
    seed : int
    iterations : int
    by : str or None
        The stratifying column (imputation run separately in each arm).
    deltas : mapping
        Shifts applied by ``delta_adjust``.
    cluster_model : str
        How the cluster entered the imputation models ("fixed", "random" or
        "random-pmm").
    """

    datasets: tuple[pd.DataFrame, ...]
    imputed: pd.DataFrame
    methods: dict
    seed: int
    iterations: int
    by: str | None = None
    deltas: dict = field(default_factory=dict)
    cluster_model: str = "fixed"

    @property
    def m(self) -> int:
        """Number of imputations."""
        return len(self.datasets)

    def analyse(
        self,
        analysis: Callable[[pd.DataFrame], tuple],
        *,
        df_complete: float | None = None,
    ) -> PooledEstimate:
        """Fit ``analysis`` to every completed data set and pool (Rubin's rules).

        ``analysis(data)`` returns ``(estimates, variances)`` (scalars, arrays or
        Series with parameter names).
        """
        results = [analysis(d) for d in self.datasets]
        estimates = pd.DataFrame([_series(r[0]) for r in results])
        variances = pd.DataFrame([_series(r[1]) for r in results])
        return pool(estimates, variances, df_complete=df_complete)


def _series(value) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.astype(float)
    return pd.Series(np.atleast_1d(np.asarray(value, float)))


def impute(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    predictors: Sequence[str] = (),
    by: str | None = None,
    cluster: str | None = None,
    cluster_model: str = "fixed",
    m: int = 5,
    iterations: int = 10,
    seed: int,
    n_jobs: int = 1,
    client=None,
    predictor_sets: Mapping[str, Sequence[str]] | None = None,
    passive: Mapping[str, Sequence[str]] | None = None,
) -> Imputations:
    """Impute missing values by chained equations, separately in each arm.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : sequence of str
        Columns to impute: numbers by predictive mean matching, 0/1 columns and
        two-category text by logistic regression, text with more categories by
        multinomial (polytomous) regression; text comes back as text.
    predictors : sequence of str
        Complete columns used as predictors besides the imputed columns (text
        enters as indicators of each category but the first).
    by : str, optional
        Stratifying column (the arm): each stratum is imputed on its own.
    cluster : str, optional
        Cluster column (a team, a practice).
    cluster_model : {"fixed", "random", "random-pmm"}
        How the cluster enters the imputation of numeric columns. "fixed":
        indicator columns (fixed effects). "random": a two-level normal model
        with a random intercept per cluster (as mice's ``2l.pan``; see Notes).
        "random-pmm": the same model, then predictive mean matching on predicted
        means that include the cluster effects. 0/1 and text columns keep their
        single-level methods (``logreg``, ``polyreg``) with the cluster as fixed
        effects whatever ``cluster_model`` says.
    m : int
        Number of imputations.
    iterations : int
        Cycles through the columns.
    seed : int
        Required; every imputation gets its own stream spawned from it.
    n_jobs : int
        Worker processes (joblib) over the imputations; -1 for every core.
    client : dask.distributed.Client, optional
        Impute on this Dask cluster. Each imputation has its own stream, so the
        data sets are the same for any ``n_jobs`` or backend.
    predictor_sets : mapping, optional
        Imputed column -> the imputed or ``passive`` columns that predict it
        (mice's predictor matrix); a column not named is predicted by every
        other imputed column. ``predictors`` and the clusters predict every
        column.
    passive : mapping, optional
        Name -> numeric imputed columns whose sum it is, recomputed after every
        draw of one of them (mice's passive imputation, ``~ I(a + b + ...)``):
        e.g. a questionnaire's total predicting the items of another wave. Used
        in ``predictor_sets``; not returned.

    Returns
    -------
    Imputations

    Notes
    -----
    As mice: missing cells start as random draws of observed values; each cycle
    regresses each column on all the others with a draw of the parameters from
    their posterior (``pmm``: Bayesian linear regression, then for each missing
    value one of the 5 observed cases whose predicted mean (with the estimated
    coefficients) is closest to its predicted mean (with the drawn ones);
    ``logreg``: logistic regression, coefficients drawn from their normal
    approximation, then a Bernoulli draw; ``polyreg``: a multinomial logit with
    weight decay 1e-4, each missing category drawn from its predicted
    probabilities). A predictor that is constant or collinear within a stratum
    (a category absent from one arm) is left out of that regression.

    ``cluster_model="random"`` imputes a numeric column from the homoscedastic
    random-intercept model y = X b + u_j + e, u_j ~ N(0, tau2), e ~ N(0, s2),
    with the predictors and the other imputed columns as fixed effects, by the
    Gibbs sampler of mice's ``2l.pan`` (Schafer and Yucel's pan): a flat prior
    on b; on s2 and tau2 inverse-Wishart priors of 1 df whose scale is the
    column's observed variance in the stratum (pan's priors, put on y divided
    by its observed SD, so that the imputations do not depend on y's units).
    Each draw runs 100 cycles from the REML fit; a cycle draws b given the
    variances (the u_j integrated out), the u_j given b, then s2 and tau2; the
    imputed values are x'b + u_j + N(0, s2) from the last cycle (a cluster with
    no observed value draws u_j from N(0, tau2)). Agrees with mice 3.15's
    ``2l.pan`` within Monte Carlo error (``tests/reference/mice2l``).

    Not mice's ``2l.norm``: it gives each cluster its own residual variance and
    every predictor a random slope (it drops fixed-only predictors), and needs
    many clusters per predictor, where the random-intercept model is the one
    analysed afterwards (``fit_lmm``) and works in arms with few clusters. Not
    ``2l.lmer``: its tau2 draw from the shrunken predicted cluster effects
    spreads the imputed clusters too little when they are small (a completed-
    data ICC of 0.09 against 2l.pan's 0.19 with 60 clusters of 2 to 6).

    The prior on tau2 pulls the imputed clusters a little apart: in
    simulations the completed data's ICC came out about 0.035 too high with
    60 clusters of 2 to 6 (ICC 0.2, 40% missing; fixed effects: 0.18 too
    high) and with 6 clusters of 10 to 20 (ICC 0.05), 0.01 with 20 clusters of
    5 to 25 (ICC 0.26); with a prior 100 times weaker, no bias was seen.

    ``"random-pmm"`` gives each missing value the observed value of one of the
    5 cases whose x'b_hat + u_hat_j (REML estimates, and the cluster effect
    predicted from the cluster's other observed rows) are nearest its x'b + u_j
    (the Gibbs draw). In the same simulations its ICC was within 0.01 of the
    truth. Like ``pmm`` it cannot impute beyond the observed values, so it
    pulls imputations in when values are missing mostly at one end.

    With ``"random"`` or ``"random-pmm"`` every row needs its cluster, each
    stratum at least 2 clusters, and each such column values in at least 2.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.missing import impute
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"x": rng.normal(size=50), "arm": rng.integers(0, 2, 50)})
    >>> d["y"] = d["x"] + rng.normal(size=50)
    >>> d.loc[::5, "y"] = np.nan
    >>> imp = impute(d, ["y"], predictors=["x"], by="arm", m=3, seed=1)
    >>> imp.m, int(imp.imputed["y"].sum())
    (3, 10)
    >>> d["team"] = np.repeat(np.arange(10), 5)  # 10 teams of 5
    >>> imp = impute(d, ["y"], predictors=["x"], cluster="team",
    ...              cluster_model="random", m=2, seed=1)
    >>> imp.methods
    {'y': '2l.pan'}
    """
    columns, predictors = list(columns), list(predictors)
    absent = [
        c
        for c in [*columns, *predictors, *(x for x in (by, cluster) if x)]
        if c not in data.columns
    ]
    if absent:
        raise DataError(f"imputation names columns the data do not have: {absent}")
    for c in columns:
        if data[c].isna().all():
            raise DataError(f"column '{c}' has no observed values to impute from")
    incomplete = [p for p in predictors if data[p].isna().any()]
    if incomplete:
        raise DataError(f"predictors {incomplete} have missing values; impute them too")
    if by is not None:
        stranded = data[by].isna() & data[columns].isna().any(axis=1)
        if stranded.any():
            raise DataError(
                f"the stratifying column '{by}' is missing in {int(stranded.sum())} "
                f"rows with values to impute (first: {stranded.idxmax()!r}): they "
                "are in no stratum, so their values would stay missing"
            )
    data, levels = _typed(data, [*columns, *predictors])
    methods = {c: _method(data[c], levels.get(c)) for c in columns}
    plan = _plan(data, columns, levels, predictor_sets, passive)
    methods = _cluster_methods(data, methods, cluster, cluster_model, by)
    data = data.assign(**{c: _coded(data[c], levels[c]) for c in levels})
    mask = data[columns].isna()
    sizes = {c: len(v) for c, v in levels.items()}
    tasks = [
        (data, columns, predictors, by, cluster, methods, sizes, iterations, stream)
        + ((plan,) if plan else ())
        for stream in spawn_seeds(seed, m)
    ]
    datasets = parallel_map(_one_imputation, tasks, n_jobs=n_jobs, client=client)
    datasets = [
        d.assign(**{c: _decoded(d[c], levels[c]) for c in levels}) for d in datasets
    ]
    return Imputations(
        tuple(datasets), mask, methods, seed, iterations, by, {}, cluster_model
    )


GIBBS_STEPS = 100  # Gibbs cycles per draw (from the REML fit), as mice's 2l.norm
CLUSTER_MODELS = ("fixed", "random", "random-pmm")
TWO_LEVEL = {("pmm", "random"): "2l.pan", ("pmm", "random-pmm"): "2l.pmm"}
TWO_LEVEL_NAMES = set(TWO_LEVEL.values())


def _cluster_methods(data, methods: dict, cluster, cluster_model: str, by) -> dict:
    """``methods`` with the two-level ones for numeric columns when the clusters
    get random intercepts (after checking the clusters allow it)."""
    if cluster is not None and data[cluster].isna().any():
        unlabelled = data.index[data[cluster].isna()]
        raise DataError(
            f"cluster '{cluster}' is missing in {len(unlabelled)} row(s) (first: "
            f"{unlabelled[0]!r}): every row needs its cluster (an unlabelled row "
            "would be taken as the first cluster)"
        )
    if not _check_cluster_model(cluster_model, cluster):
        return methods
    methods = {c: TWO_LEVEL.get((v, cluster_model), v) for c, v in methods.items()}
    _check_clusters(
        data, cluster, by, [c for c in methods if methods[c] in TWO_LEVEL_NAMES]
    )
    return methods


def _check_cluster_model(cluster_model: str, cluster: str | None) -> bool:
    """Whether the clusters get random intercepts; a DataError for an unknown
    ``cluster_model`` or random intercepts without a cluster column."""
    if cluster_model not in CLUSTER_MODELS:
        raise DataError(
            f"cluster_model must be one of {', '.join(CLUSTER_MODELS)}, "
            f"not '{cluster_model}'"
        )
    if cluster_model != "fixed" and cluster is None:
        raise DataError(
            f"cluster_model='{cluster_model}' needs the cluster column (cluster=...)"
        )
    return cluster_model != "fixed"


def _check_clusters(data: pd.DataFrame, cluster: str, by: str | None, columns) -> None:
    """Random intercepts need every cluster label, and in each stratum at least 2
    clusters, with each two-level column observed in at least 2 of them."""
    unlabelled = data.index[data[cluster].isna()]
    if len(unlabelled):
        raise DataError(
            f"cluster '{cluster}' is missing in {len(unlabelled)} row(s) (first: "
            f"{unlabelled[0]!r}): random intercepts need every row's cluster"
        )
    strata = [(None, data)] if by is None else data.groupby(by, sort=True)
    for value, stratum in strata:
        where = "" if by is None else f" in stratum {by}={value}"
        found = stratum[cluster].nunique()
        if found < 2:
            raise DataError(
                f"cluster column '{cluster}' holds {found} cluster{where}: random "
                "intercepts need at least 2"
            )
        for c in columns:
            seen = stratum.loc[stratum[c].notna(), cluster].nunique()
            if seen < 2:
                raise DataError(
                    f"column '{c}' is observed in {seen} cluster{where}: random "
                    "intercepts need it observed in at least 2"
                )


def _typed(data: pd.DataFrame, names) -> tuple[pd.DataFrame, dict[str, list]]:
    """Numbers stored as text become numbers; a column mixing numbers and text is
    refused (naming the row and value); the categories of each text column are
    returned in sorted order."""
    out: dict[str, list] = {}
    converted = {}
    for name in dict.fromkeys(names):
        values = data[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():
            converted[name] = numbers.astype(float)
            continue
        if numbers.notna().any():
            numeric(values, "imputed column")  # raises, naming row and value
        present = sorted(values.dropna().unique(), key=str)
        if len(present) < 2 and values.isna().any():
            raise DataError(
                f"column '{name}' has {len(present)} category: nothing to impute from"
            )
        out[name] = present
    return data.assign(**converted), out


def _method(values: pd.Series, levels: list | None) -> str:
    if levels is not None:
        return "logreg" if len(levels) == 2 else "polyreg"
    return "logreg" if set(values.dropna().unique()) <= {0, 1} else "pmm"


def _coded(values: pd.Series, levels: list) -> pd.Series:
    """Categories as codes 0, 1, ... (missing kept) for the regressions."""
    codes = {level: float(k) for k, level in enumerate(levels)}
    return values.map(codes).astype(float)


def _decoded(values: pd.Series, levels: list) -> pd.Series:
    return values.map(lambda v: levels[int(v)], na_action="ignore").astype(object)


def _plan(data, columns, levels, predictor_sets, passive) -> dict:
    """The checked ``predictor_sets`` and ``passive`` (empty when neither is
    given, so the tasks and their results stay as before)."""
    for what, given in (("predictor_sets", predictor_sets), ("passive", passive)):
        for key, names in (given or {}).items():
            if isinstance(names, str):
                raise DataError(
                    f"{what}['{key}'] is the text {names!r}: give a list of "
                    f"columns, e.g. [{names!r}]"
                )
    sets = {k: list(v) for k, v in (predictor_sets or {}).items()}
    sums = {k: list(v) for k, v in (passive or {}).items()}
    for name, members in sums.items():
        if name in data.columns:
            raise DataError(f"passive column '{name}' is a column of the data already")
        bad = [c for c in members if c not in columns or c in levels]
        if bad or not members:
            raise DataError(
                f"passive column '{name}' must sum numeric imputed columns; "
                f"{bad or 'none'} are not"
            )
    for column, names in sets.items():
        if column not in columns:
            raise DataError(f"predictor_sets names '{column}', not an imputed column")
        bad = [n for n in names if (n not in columns and n not in sums) or n == column]
        if bad:
            raise DataError(
                f"predictor_sets['{column}'] names {bad}: each must be another "
                "imputed column or a passive one"
            )
    if not sets and not sums:
        return {}
    return {"sets": {c: list(v) for c, v in sets.items()}, "passive": sums}


def _one_imputation(
    data,
    columns,
    predictors,
    by,
    cluster,
    methods,
    sizes,
    iterations,
    stream,
    plan=None,
):
    """One completed data set, drawn from its own stream.

    The imputation runs on numpy arrays (one per imputed column), stratum by
    stratum, and each column is written back to the data frame once."""
    rng = np.random.default_rng(stream)
    if by is None:
        groups = [np.arange(len(data))]
    else:
        strata = data.groupby(by, sort=True)  # rows missing `by` in none
        codes = strata.ngroup().to_numpy()
        groups = [np.flatnonzero(codes == g) for g in range(strata.ngroups)]
    filled = {c: data[c].to_numpy(float, copy=True) for c in columns}
    for rows in groups:
        block = _impute_block(
            data.iloc[rows],
            columns,
            predictors,
            cluster,
            methods,
            sizes,
            iterations,
            rng,
            plan or {},
        )
        for c in columns:
            filled[c][rows] = block[c]
    completed = data.copy()
    for c in columns:
        if not data[c].isna().any():
            continue  # nothing drawn: the column keeps its values and type
        if completed[c].dtype == np.float64:
            completed[c] = filled[c]
        else:
            completed.loc[:, c] = filled[c]
    return completed


def _impute_block(
    block, columns, predictors, cluster, methods, sizes, iterations, rng, plan=None
):
    """The imputed columns of one stratum, as arrays (name -> values); ``plan``:
    the predictor sets and passive sums (:func:`_plan`)."""
    plan = plan or {}
    sets, sums = plan.get("sets", {}), plan.get("passive", {})
    work = {c: block[c].to_numpy(float, copy=True) for c in columns}
    missing = {c: np.isnan(work[c]) for c in columns}
    for c in columns:
        observed = work[c][~missing[c]]
        if missing[c].any():
            if len(observed) == 0:
                raise DataError(f"column '{c}' has no observed values in a stratum")
            work[c][missing[c]] = rng.choice(observed, missing[c].sum())
    fixed = _fixed_part(block, predictors, cluster, sizes)
    single = _fixed_part(block, predictors, None, sizes)  # the 2l methods' part
    two_levels = any(methods[c] in TWO_LEVEL_NAMES for c in columns)
    groups = pd.factorize(block[cluster], sort=True)[0] if two_levels else None
    for name, members in sums.items():
        work[name] = np.sum([work[c] for c in members], axis=0)
    for _ in range(iterations):
        for c in columns:
            if not missing[c].any():
                continue
            others = sets.get(c, [o for o in columns if o != c])
            two_level = methods[c] in TWO_LEVEL_NAMES
            base = single if two_level else fixed
            x = np.column_stack([base, _numeric(work, others, sizes, len(base))])
            y = work[c]
            if methods[c] == "polyreg":
                work[c][missing[c]] = _polyreg(x, y, missing[c], rng, sizes[c])
            elif two_level:
                match = methods[c] == "2l.pmm"
                work[c][missing[c]] = _two_level(x, y, missing[c], groups, rng, match)
            else:
                draw = _pmm if methods[c] == "pmm" else _logreg
                work[c][missing[c]] = draw(x, y, missing[c], rng)
            for name, members in sums.items():
                if c in members:
                    work[name] = np.sum([work[k] for k in members], axis=0)
    return work


def _numeric(work, names, sizes, n: int) -> np.ndarray:
    """Columns as predictors: numbers as they are, categories (codes 0..K-1) as
    indicators of each level but the first. ``work``: a data frame or a
    mapping of names to arrays, of ``n`` rows."""
    parts = [np.empty((n, 0))]
    for name in names:
        values = np.asarray(work[name], dtype=float)
        if name in sizes:
            parts.append(
                (values[:, None] == np.arange(1, sizes[name])[None, :]).astype(float)
            )
        else:
            parts.append(values[:, None])
    return np.column_stack(parts)


def _fixed_part(work, predictors, cluster, sizes) -> np.ndarray:
    parts = [np.ones((len(work), 1))]
    if predictors:
        parts.append(_numeric(work, predictors, sizes, len(work)))
    if cluster:
        dummies = pd.get_dummies(work[cluster], drop_first=True, dtype=float)
        parts.append(dummies.to_numpy())
    return np.column_stack(parts)


def _independent(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` that add to its rank, first come first kept: a predictor
    constant in a stratum (a category absent from one arm) or a combination of
    others is left out of that regression, as mice's remove.lindep does."""
    n, p = x.shape
    if n >= p > 0:
        # full column rank with a margin: every column passes the test below
        # (a subset of columns has no smaller least singular value, and no
        # larger greatest one, so no larger tolerance), so all are kept
        singular = np.linalg.svd(x, compute_uv=False)
        tolerance = singular.max() * n * np.finfo(float).eps  # matrix_rank's
        if singular.min() > 2 * tolerance:
            return np.arange(p)
    keep: list[int] = []
    for j in range(p):
        trial = x[:, [*keep, j]]
        if np.linalg.matrix_rank(trial) == len(keep) + 1:
            keep.append(j)
    return np.array(keep, dtype=int)


def _pmm(x, y, miss, rng):
    x = x[:, _independent(x[~miss])]
    xo, yo = x[~miss], y[~miss]
    beta_hat, beta_star = _bayes_linear(xo, yo, rng)
    return _match(xo @ beta_hat, x[miss] @ beta_star, yo, rng)


def _match(pred_obs, pred_mis, yo, rng):
    """Type-1 predictive mean matching: each missing value is the observed value
    of one of the ``DONORS`` cases with the nearest predicted means."""
    gaps = np.abs(pred_mis[:, None] - pred_obs[None, :])
    k = min(DONORS, len(yo))
    nearest = np.argpartition(gaps, k - 1, axis=1)[:, :k]
    pick = nearest[np.arange(len(pred_mis)), rng.integers(0, k, len(pred_mis))]
    return yo[pick]


def _two_level(x, y, miss, groups, rng, match: bool = False):
    """A draw of the missing values from the random-intercept model (groups:
    cluster codes 0..G-1), or with ``match`` the observed values matched to it."""
    x = x[:, _independent(x[~miss])]
    xo, yo = x[~miss], y[~miss]
    if np.ptp(yo) == 0:
        return np.full(miss.sum(), yo[0])  # nothing varies: no model to fit
    sums = _ClusterSums(xo, yo, groups[~miss], int(groups.max()) + 1)
    start = _reml(sums)
    beta, effects, sigma2 = _gibbs(sums, start, np.var(yo, ddof=1), rng)
    pred_mis = x[miss] @ beta + effects[groups[miss]]
    if match:
        return _match(_donor_means(sums, start), pred_mis, yo, rng)
    return pred_mis + np.sqrt(sigma2) * rng.standard_normal(miss.sum())


def _donor_means(sums: _ClusterSums, fit: _InterceptFit) -> np.ndarray:
    """The observed rows' predicted means: x'b_hat plus their cluster's effect
    predicted from the cluster's other rows (a row's own value left out, else
    in small clusters it would leak into its predicted mean and the matched
    values would exaggerate the cluster effects)."""
    resid, rsum = sums.residual_sums(fit.beta)
    others = sums.counts[sums.groups] - 1
    effect = fit.ratio / (1 + others * fit.ratio) * (rsum[sums.groups] - resid)
    return sums.y - resid + effect


class _ClusterSums:
    """The observed rows' cluster sizes and sums, from which the random-intercept
    model's fixed effects and cluster effects follow for any variance ratio lam
    = tau2 / sigma2 (V_g = I + lam J, V_g^-1 = I - w_g J)."""

    def __init__(self, x, y, groups, size: int):
        self.x, self.y, self.groups, self.size = x, y, groups, size
        self.counts = np.bincount(groups, minlength=size).astype(float)
        self.xsum = np.column_stack(
            [np.bincount(groups, weights=col, minlength=size) for col in x.T]
        )
        self.ysum = np.bincount(groups, weights=y, minlength=size)
        self.xtx, self.xty = x.T @ x, x.T @ y

    def normal_equations(self, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """X'V^-1 X and X'V^-1 y."""
        w = lam / (1 + self.counts * lam)
        a = self.xtx - (self.xsum * w[:, None]).T @ self.xsum
        return a, self.xty - self.xsum.T @ (w * self.ysum)

    def gls(self, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """X'V^-1 X and the generalised least-squares fixed effects."""
        a, c = self.normal_equations(lam)
        return a, np.linalg.solve(a, c)

    def residual_sums(self, beta) -> tuple[np.ndarray, np.ndarray]:
        """Residuals y - X beta and their sum in each cluster."""
        resid = self.y - self.x @ beta
        return resid, np.bincount(self.groups, weights=resid, minlength=self.size)

    def deviance(self, lam: float) -> float:
        """The REML criterion (up to a constant) at ``lam``."""
        a, beta = self.gls(lam)
        resid, rsum = self.residual_sums(beta)
        w = lam / (1 + self.counts * lam)
        dof = len(self.y) - self.x.shape[1]
        quadratic = resid @ resid - (w * rsum) @ rsum  # r'V^-1 r
        log_det = np.log1p(self.counts * lam).sum() + np.linalg.slogdet(a)[1]
        return log_det + dof * np.log(max(quadratic, np.finfo(float).tiny))


@dataclass(frozen=True)
class _InterceptFit:
    """Fixed effects, cluster effects (BLUPs; 0 where a cluster has no observed
    row), residual variance and the variance ratio tau2 / sigma2."""

    beta: np.ndarray
    effects: np.ndarray
    sigma2: float
    ratio: float


def _reml(sums: _ClusterSums) -> _InterceptFit:
    """REML fit of y = X b + u_g + e (as lme4's ``lmer(y ~ X + (1 | g))``), over
    theta = sd(u) / sd(e) >= 0, a fit on the boundary (theta = 0) included."""
    from scipy.optimize import minimize_scalar

    def ratio(t: float) -> float:  # t in [0, 1) -> theta^2
        return (t / (1 - t)) ** 2

    found = minimize_scalar(
        lambda t: sums.deviance(ratio(t)),
        bounds=(0.0, 1 - 1e-9),
        method="bounded",
        options={"xatol": 1e-10},
    )
    lam = ratio(found.x) if found.fun < sums.deviance(0.0) else 0.0
    _, beta = sums.gls(lam)
    resid, rsum = sums.residual_sums(beta)
    w = lam / (1 + sums.counts * lam)
    sigma2 = (resid @ resid - (w * rsum) @ rsum) / max(len(sums.y) - len(beta), 1)
    return _InterceptFit(beta, w * rsum, sigma2, lam)


def _gibbs(sums: _ClusterSums, start: _InterceptFit, scale: float, rng):
    """``GIBBS_STEPS`` cycles of the Gibbs sampler of mice's 2l.pan (Schafer and
    Yucel's pan): flat prior on the fixed effects; sigma2 and tau2 with
    inverse-Wishart priors of 1 df and scale ``scale`` (the observed variance:
    pan's priors on y standardised). Each cycle draws the fixed effects given
    the variances (cluster effects integrated out), the cluster effects given
    them, then sigma2 and tau2. Returns the last fixed effects, cluster effects
    (all clusters) and sigma2."""
    sigma2, tau2 = start.sigma2, start.ratio * start.sigma2
    for _ in range(GIBBS_STEPS):
        a, c = sums.normal_equations(tau2 / sigma2)
        root = np.linalg.inv(np.linalg.cholesky(a))  # a^-1 = root' root
        z = rng.standard_normal(len(c))
        beta = root.T @ (root @ c + np.sqrt(sigma2) * z)  # N(a^-1 c, sigma2 a^-1)
        resid, rsum = sums.residual_sums(beta)
        shrink = tau2 / (sigma2 + sums.counts * tau2)
        effects = shrink * rsum + np.sqrt(shrink * sigma2) * rng.standard_normal(
            sums.size
        )
        errors = resid - effects[sums.groups]
        sigma2 = (scale + errors @ errors) / rng.chisquare(1 + len(errors))
        tau2 = (scale + effects @ effects) / rng.chisquare(1 + sums.size)
    return beta, effects, sigma2


def _bayes_linear(x, y, rng, ridge: float = 1e-5):
    """mice's norm.draw: beta_hat, and beta drawn from its posterior."""
    xtx = x.T @ x
    penalty = ridge * np.diag(np.diag(xtx))
    inverse = np.linalg.inv(xtx + penalty)
    beta_hat = inverse @ x.T @ y
    resid = y - x @ beta_hat
    df = max(len(y) - x.shape[1], 1)
    sigma = np.sqrt((resid @ resid) / rng.chisquare(df))
    root = np.linalg.cholesky((inverse + inverse.T) / 2)
    beta_star = beta_hat + sigma * root @ rng.standard_normal(x.shape[1])
    return beta_hat, beta_star


DECAY = 1e-4  # mice's polyreg weight decay (nnet.decay)


def _polyreg(x, y, miss, rng, k: int):
    """mice's polyreg: a multinomial logit (weight decay 1e-4) of the observed
    codes, then each missing code drawn from its predicted probabilities."""
    x = x[:, _independent(x[~miss])]
    beta = multinomial_logit(x[~miss], y[~miss].astype(int), k)
    eta = x[miss] @ beta
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    u = rng.random(len(prob))[:, None]
    return (u > np.cumsum(prob, axis=1)).sum(axis=1).astype(float)


def multinomial_logit(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Coefficients (p x k, the first category's zero) of a multinomial logit
    with weight decay ``DECAY`` on the others, by Newton-Raphson with step
    halving on the penalised log-likelihood."""
    n, p = x.shape
    target = np.eye(k)[y][:, 1:]
    beta = np.zeros((p, k - 1))
    ridge = 2 * DECAY * np.eye(p * (k - 1))

    def loss(b):
        eta = np.column_stack([np.zeros(n), x @ b])
        top = eta.max(axis=1, keepdims=True)
        logp = eta - top - np.log(np.exp(eta - top).sum(axis=1, keepdims=True))
        return -(np.eye(k)[y] * logp).sum() + DECAY * (b * b).sum(), np.exp(logp)

    value, prob = loss(beta)
    for _ in range(100):
        pr = prob[:, 1:]
        grad = x.T @ (pr - target) + 2 * DECAY * beta
        weights = pr[:, :, None] * np.eye(k - 1)[None] - pr[:, :, None] * pr[:, None]
        hessian = np.einsum("ij,iab,il->jalb", x, weights, x).reshape(
            p * (k - 1), p * (k - 1)
        )
        step = np.linalg.solve(hessian + ridge, grad.ravel()).reshape(p, k - 1)
        scale = 1.0
        while scale > 1e-6:
            candidate = beta - scale * step
            new, new_prob = loss(candidate)
            if new <= value:
                break
            scale /= 2
        moved = np.abs(candidate - beta).max()
        beta, value, prob = candidate, new, new_prob
        if moved < 1e-9:
            break
    return np.column_stack([np.zeros(p), beta])


def _logreg(x, y, miss, rng):
    import statsmodels.api as sm

    x = x[:, _independent(x[~miss])]
    xo, yo = x[~miss], y[~miss]
    if len(np.unique(yo)) < 2:
        return np.full(miss.sum(), yo[0])
    fit = sm.GLM(yo, xo, family=sm.families.Binomial()).fit_regularized(
        alpha=1e-6, L1_wt=0.0
    )
    beta = np.asarray(fit.params)
    p = 1 / (1 + np.exp(-(xo @ beta)))
    info = xo.T @ (xo * (p * (1 - p))[:, None]) + 1e-6 * np.eye(len(beta))
    cov = np.linalg.inv(info)
    beta_star = rng.multivariate_normal(beta, (cov + cov.T) / 2)
    prob = 1 / (1 + np.exp(-(x[miss] @ beta_star)))
    return (rng.random(miss.sum()) < prob).astype(float)
