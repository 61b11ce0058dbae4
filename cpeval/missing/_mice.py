"""Multiple imputation by chained equations (mice's pmm, logreg and polyreg), by arm."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
        Column -> "pmm" or "logreg".
    seed : int
    iterations : int
    by : str or None
        The stratifying column (imputation run separately in each arm).
    """

    datasets: tuple[pd.DataFrame, ...]
    imputed: pd.DataFrame
    methods: dict
    seed: int
    iterations: int
    by: str | None = None
    deltas: dict = field(default_factory=dict)

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
    m: int = 5,
    iterations: int = 10,
    seed: int,
    n_jobs: int = 1,
    client=None,
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
        Cluster column entered as fixed effects (indicator columns).
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
    data, levels = _typed(data, [*columns, *predictors])
    methods = {c: _method(data[c], levels.get(c)) for c in columns}
    data = data.assign(**{c: _coded(data[c], levels[c]) for c in levels})
    mask = data[columns].isna()
    sizes = {c: len(v) for c, v in levels.items()}
    tasks = [
        (data, columns, predictors, by, cluster, methods, sizes, iterations, stream)
        for stream in spawn_seeds(seed, m)
    ]
    datasets = parallel_map(_one_imputation, tasks, n_jobs=n_jobs, client=client)
    datasets = [
        d.assign(**{c: _decoded(d[c], levels[c]) for c in levels}) for d in datasets
    ]
    return Imputations(tuple(datasets), mask, methods, seed, iterations, by)


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


def _one_imputation(
    data, columns, predictors, by, cluster, methods, sizes, iterations, stream
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


def _impute_block(block, columns, predictors, cluster, methods, sizes, iterations, rng):
    """The imputed columns of one stratum, as arrays (name -> values)."""
    work = {c: block[c].to_numpy(float, copy=True) for c in columns}
    missing = {c: np.isnan(work[c]) for c in columns}
    for c in columns:
        observed = work[c][~missing[c]]
        if missing[c].any():
            if len(observed) == 0:
                raise DataError(f"column '{c}' has no observed values in a stratum")
            work[c][missing[c]] = rng.choice(observed, missing[c].sum())
    fixed = _fixed_part(block, predictors, cluster, sizes)
    for _ in range(iterations):
        for c in columns:
            if not missing[c].any():
                continue
            others = [o for o in columns if o != c]
            x = np.column_stack([fixed, _numeric(work, others, sizes, len(fixed))])
            y = work[c]
            if methods[c] == "polyreg":
                work[c][missing[c]] = _polyreg(x, y, missing[c], rng, sizes[c])
                continue
            draw = _pmm if methods[c] == "pmm" else _logreg
            work[c][missing[c]] = draw(x, y, missing[c], rng)
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
    pred_obs = xo @ beta_hat
    pred_mis = x[miss] @ beta_star
    gaps = np.abs(pred_mis[:, None] - pred_obs[None, :])
    k = min(DONORS, len(yo))
    nearest = np.argpartition(gaps, k - 1, axis=1)[:, :k]
    pick = nearest[np.arange(len(pred_mis)), rng.integers(0, k, len(pred_mis))]
    return yo[pick]


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
