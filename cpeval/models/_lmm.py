"""Linear mixed models with nested random intercepts, as lme4 + lmerTest."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from patsy import PatsyError, dmatrices
from scipy import optimize, stats

from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ._formula import QUOTE_HINT, formula_error
from ._intervals import t_interval, t_pvalue
from ._nested import NestedDesign, criterion, deviance_at, solve

__all__ = ["LmmResult", "fit_lmm"]

DfMethod = Literal["satterthwaite", "wald"]
_OLD_COLUMNS = {"params": "estimate", "pvalues": "p_val"}
SINGULAR_TOL = 1e-4  # lme4's isSingular tolerance on theta
THETA_MAX = 1e3  # a level's SD at most 1000 residual SDs: keeps X'V^-1 X invertible


@dataclass(frozen=True, repr=False)
class LmmResult(EstimateResults):
    """A fitted linear mixed model.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Fixed effects (patsy term names), standard errors, degrees of freedom
        (Satterthwaite, or infinite for Wald z) and two-sided p-values.
    cov : pandas.DataFrame
        Covariance of the fixed effects.
    vcomp : mapping of str to float
        Variance of each random intercept (by group name) and ``"Residual"``.
    theta : tuple of float
        Relative standard deviations (sd / residual sd), outermost first.
    llf : float
        REML or ML log-likelihood, as lme4's ``logLik``.
    reml : bool
    df_method : {"satterthwaite", "wald"}
    n_obs : int
        Rows used; ``n_dropped`` rows had a missing value in a model column.
    n_groups : mapping of str to int
        Clusters per level.
    converged : bool
    singular : bool
        A variance component is on the boundary (theta < 1e-4, as lme4).
    messages : tuple of str
        Diagnostics in words.
    level : float
        Default confidence level of ``conf_int()``.

    Notes
    -----
    ``fe_params``, ``bse`` and ``cov_fe`` are deprecated aliases of ``params``,
    ``se`` and ``cov`` (they warn; they go in the next release); ``tidy()`` is
    the old table, with ``estimate`` and ``p_val`` columns.
    ``conf_int(level)`` is ``params -/+ t se`` on each term's Satterthwaite df
    (normal for Wald fits).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_lmm
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
    >>> text = str(fit.summary())  # print(fit.summary()) shows the table
    >>> text.splitlines()[1].strip(), "time:group" in text
    ('Linear mixed model (REML)', True)
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    vcomp: Mapping[str, float]
    theta: tuple[float, ...]
    llf: float
    reml: bool
    df_method: str
    n_obs: int
    n_dropped: int
    n_groups: Mapping[str, int]
    converged: bool
    singular: bool
    messages: tuple[str, ...] = field(default=())
    level: float = 0.95
    varpar_cov: np.ndarray | None = field(default=None, repr=False)
    cov_grad: np.ndarray | None = field(default=None, repr=False)
    design_info: object = field(default=None, repr=False)

    fe_params = deprecated_alias("params", "fe_params")
    bse = deprecated_alias("se", "bse")
    cov_fe = deprecated_alias("cov", "cov_fe")

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Linear mixed model ({'REML' if self.reml else 'ML'})"

    @property
    def cov_type(self) -> str:
        """``"model-based"``: the REML/ML covariance of the fixed effects."""
        return "model-based"

    def _header(self) -> list[tuple[str, object]]:
        groups = ", ".join(f"{g} ({n})" for g, n in self.n_groups.items())
        return [
            *super()._header(),
            ("groups", groups),
            ("log-likelihood", self.llf),
            ("converged", self.converged),
            ("singular", self.singular),
        ]

    def _notes(self) -> list[str]:
        return [*super()._notes(), *self.messages]

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(df_method=self.df_method)

    @property
    def icc(self) -> dict[str, float]:
        """Share of the total variance at each grouping level."""
        total = sum(self.vcomp.values())
        return {g: v / total for g, v in self.vcomp.items() if g != "Residual"}

    def icc_table(self) -> pd.DataFrame:
        """ICC of each level with a delta-method standard error and Wald interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``level``, ``icc``, ``se``, ``ci_low``, ``ci_high`` (clipped to
            [0, 1]); the se needs the Satterthwaite ingredients (NaN for Wald fits).

        Notes
        -----
        ``icc_k = theta_k^2 / (1 + sum_j theta_j^2)``; its variance is
        ``g' A g`` with ``g`` the gradient in ``(theta, sigma)`` and ``A`` the
        asymptotic covariance of those parameters, twice the inverse Hessian of
        the deviance (lmerTest's ``vcov_varpar``).

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit_lmm(d, "y ~ time * group", ["team", "id"]).icc_table()["level"].tolist()
        ['team', 'id']
        """
        theta = np.asarray(self.theta)
        total = 1 + np.sum(theta**2)
        z = stats.norm.ppf(0.5 + self.level / 2)
        rows = []
        for k, name in enumerate(self.icc):
            icc = theta[k] ** 2 / total
            grad = -2 * theta * theta[k] ** 2 / total**2
            grad[k] += 2 * theta[k] / total
            grad = np.append(grad, 0.0)  # does not depend on sigma
            cov = self.varpar_cov
            se = float(np.sqrt(grad @ cov @ grad)) if cov is not None else np.nan
            low, high = max(icc - z * se, 0.0), min(icc + z * se, 1.0)
            rows.append(
                {"level": name, "icc": icc, "se": se, "ci_low": low, "ci_high": high}
            )
        return pd.DataFrame(rows)

    def tidy(self) -> pd.DataFrame:
        """Deprecated: :meth:`to_frame` with the old column names.

        One row per fixed effect: term, estimate, se, df, statistic, p_val,
        ci_low, ci_high, df_method. Warns; goes in the next release.
        """
        warnings.warn(
            "LmmResult.tidy is deprecated; use to_frame (columns params and "
            "pvalues for estimate and p_val); the alias goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_frame().rename(columns=_OLD_COLUMNS)

    def contrast(self, weights, name: str = "contrast") -> pd.DataFrame:
        """A linear combination of the fixed effects, with its own df.

        Parameters
        ----------
        weights : mapping of term to float, or array
            ``l`` in ``l' beta``.
        name : str
            Row label.

        Returns
        -------
        pandas.DataFrame
            One row: estimate, se, df, statistic, p_val, ci_low, ci_high, df_method.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
        >>> row = fit.contrast({"time": 1, "time:group": 1}, name="change, group 1")
        >>> round(float(row["estimate"].iloc[0]), 3)
        2.964
        """
        if isinstance(weights, Mapping):
            unknown = sorted(set(weights) - set(self.params.index))
            if unknown:
                raise DataError(f"no fixed effects named {unknown}")
            weights = [weights.get(t, 0.0) for t in self.params.index]
        return self._contrasts(np.atleast_2d(np.asarray(weights, float)), [name])

    def _contrasts(self, rows: np.ndarray, names: list[str]) -> pd.DataFrame:
        estimate = rows @ self.params.to_numpy()
        cov = self.cov.to_numpy()
        var = np.einsum("ij,jk,ik->i", rows, cov, rows)
        if self.df_method == "wald" or self.cov_grad is None:
            df = np.full(len(rows), np.inf)
        else:
            grads = np.einsum("ij,mjk,ik->im", rows, self.cov_grad, rows)
            df = 2 * var**2 / np.einsum("im,mn,in->i", grads, self.varpar_cov, grads)
        se = np.sqrt(var)
        table = pd.DataFrame(
            {
                "estimate": estimate,
                "se": se,
                "df": df,
                "statistic": estimate / se,
                "p_val": t_pvalue(estimate, se, df),
            },
            index=pd.Index(names, name="contrast"),
        )
        table = table.join(t_interval(table["estimate"], table["se"], df, self.level))
        table["df_method"] = self.df_method
        return table

    def adjusted_means(self, data: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
        """Model-adjusted means for each combination of ``by`` (e.g. group, time).

        Parameters
        ----------
        data : pandas.DataFrame
            The fitted data; other covariates keep their observed values.
        by : sequence of str
            Columns whose observed combinations are set for everyone in turn.

        Returns
        -------
        pandas.DataFrame
            One row per combination, as :meth:`contrast`.

        Notes
        -----
        Each mean is ``mean_i(x_i)' beta`` with ``by`` set to the combination for
        every row ``i`` (marginal means over the observed covariates; for a model
        with only ``by`` terms, emmeans' estimated marginal means).

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
        >>> len(fit.adjusted_means(d, ["group", "time"]))
        4
        """
        from patsy import build_design_matrices

        by = list(by)
        combos = data[by].drop_duplicates().sort_values(by).to_numpy()
        rows = []
        for combo in combos:
            setting = data.assign(**dict(zip(by, combo, strict=True)))
            (x,) = build_design_matrices([self.design_info], setting, NA_action="raise")
            rows.append(np.asarray(x).mean(axis=0))
        names = [
            ", ".join(f"{b}={v}" for b, v in zip(by, c, strict=True)) for c in combos
        ]
        table = self._contrasts(np.array(rows), names)
        for position, column in enumerate(by):
            table.insert(position, column, combos[:, position])
        return table.reset_index(drop=True)


def fit_lmm(
    data: pd.DataFrame,
    formula: str,
    groups: Sequence[str],
    *,
    reml: bool = True,
    df_method: DfMethod = "satterthwaite",
    level: float = 0.95,
) -> LmmResult:
    """Linear mixed model with nested random intercepts.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.
    formula : str
        Fixed effects in patsy syntax, e.g. ``"y ~ time * group"``.
        A formula is code: patsy evaluates it as Python (as in statsmodels),
        so never build one from untrusted text; write a column whose name is
        not a Python name as ``Q("name")``.
    groups : sequence of str
        Grouping columns, outermost first, e.g. ``["trust", "team", "id"]``; each
        level gets a random intercept and is nested in the one before (as lme4's
        ``(1 | trust/team/id)``).
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    df_method : {"satterthwaite", "wald"}
        Satterthwaite degrees of freedom (as lmerTest) or Wald z tests.
    level : float
        Confidence level.

    Returns
    -------
    LmmResult

    Raises
    ------
    DataError
        A column is missing, or the model cannot be built.

    Notes
    -----
    The relative standard deviations ``theta`` are found by minimising the
    profiled REML/ML criterion (bounded at 0, several starts); see
    ``cpeval.models._nested`` for the exact computation. Satterthwaite df follow
    lmerTest: ``df = 2 (l'C l)^2 / (g' A g)`` with ``C`` the fixed-effect
    covariance as a function of ``(theta, sigma)``, ``g`` its gradient and ``A``
    twice the inverse Hessian of the deviance, both by central differences.
    Checked against lme4 and lmerTest (``tests/reference/lmm``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_lmm
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
    >>> sorted(fit.vcomp)
    ['Residual', 'id', 'team']
    """
    groups = list(groups)
    if "|" in formula:
        raise DataError(
            f"the formula {formula!r} has a random-effects term: fit_lmm takes the "
            "fixed effects in the formula and the random intercepts in groups=, "
            "e.g. 'y ~ days' with groups=['Subject'] for lme4's "
            "'y ~ days + (1 | Subject)'"
        )
    absent = [g for g in groups if g not in data.columns]
    if absent:
        raise DataError(f"the grouping columns {absent} are not in the data")
    y, x, used = _design(data, formula, groups)
    check_nested(used, groups)
    _check_levels(used, groups)
    check_rank(x, formula)
    codes = _codes(used, groups)
    design = NestedDesign.build(x.to_numpy(float), y, codes)
    theta, converged = _optimise(design, len(groups), reml)
    sol = solve(design, theta)
    dof = design.n - design.p if reml else design.n
    sigma2 = sol.rss / dof
    names = list(x.columns)
    cov = sigma2 * np.linalg.inv(sol.xvx)
    bse = np.sqrt(np.diag(cov))
    varpar_cov = cov_grad = None
    if df_method == "satterthwaite":
        varpar_cov, cov_grad = _satterthwaite_parts(
            design, theta, np.sqrt(sigma2), reml
        )
        grads = np.einsum("mii->im", cov_grad)
        df = 2 * np.diag(cov) ** 2 / np.einsum("im,mn,in->i", grads, varpar_cov, grads)
    elif df_method == "wald":
        df = np.full(design.p, np.inf)
    else:
        raise DataError(
            f"df_method must be 'satterthwaite' or 'wald'; got {df_method!r}"
        )
    singular = bool(np.any(theta < SINGULAR_TOL))
    return LmmResult(
        params=pd.Series(sol.beta, index=names),
        se=pd.Series(bse, index=names),
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(sol.beta, bse, df), index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        vcomp={
            **{g: sigma2 * th**2 for g, th in zip(groups, theta, strict=True)},
            "Residual": sigma2,
        },
        theta=tuple(float(v) for v in theta),
        llf=-criterion(design, theta, reml) / 2,
        reml=reml,
        df_method=df_method,
        n_obs=design.n,
        n_dropped=len(data) - design.n,
        n_groups={g: int(c.max()) + 1 for g, c in zip(groups, codes, strict=True)},
        converged=converged,
        singular=singular,
        messages=_messages(groups, theta, converged),
        level=level,
        varpar_cov=varpar_cov,
        cov_grad=cov_grad,
        design_info=x.design_info,
    )


def _design(data: pd.DataFrame, formula: str, groups: list[str]):
    used = data.dropna(subset=groups).reset_index(drop=True)  # labels may repeat
    try:
        y, x = dmatrices(formula, used, return_type="dataframe", NA_action="drop")
    except PatsyError as exc:
        raise formula_error(formula, exc, used.columns) from None
    except SyntaxError:
        raise DataError(f"cannot read the model {formula!r}: {QUOTE_HINT}") from None
    if len(y) == 0:
        raise DataError(f"the model {formula!r} has no complete rows")
    return y.iloc[:, 0].to_numpy(float), x, used.loc[x.index]


def check_nested(data: pd.DataFrame, groups: Sequence[str]) -> None:
    """Refuse grouping levels that do not nest: a unit of one level found under
    several units of the level before it is crossed, or shares its label with
    other units, and the nested engine would fit the wrong model.

    Parameters
    ----------
    data : pandas.DataFrame
    groups : sequence of str
        Grouping columns, outermost first.

    Raises
    ------
    DataError
        Naming the level, a unit found under several parents, and the fix.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"site": ["a", "a", "b"], "team": ["t1", "t2", "t3"]})
    >>> check_nested(d, ["site", "team"])
    """
    for outer, inner in pairwise(groups):
        parents = data.groupby(inner, observed=True)[outer].nunique()
        shared = parents[parents > 1]
        if len(shared):
            unit = shared.index[0]
            under = sorted(map(str, data.loc[data[inner] == unit, outer].unique()))[:3]
            raise DataError(
                f"'{inner}' is not nested in '{outer}': {inner} '{unit}' appears "
                f"under {int(shared.iloc[0])} {outer}s ({', '.join(under)}), and "
                f"{len(shared)} {inner} label(s) do so. Crossed factors cannot be "
                f"fitted as nested; if these are different {inner}s that share a "
                f"label, give each a label of its own (e.g. {outer} and {inner} "
                "joined)"
            )


def _check_levels(used: pd.DataFrame, groups: list[str]) -> None:
    """A random intercept needs two or more units (lme4: "grouping factors must
    have > 1 sampled level")."""
    for group in groups:
        units = used[group].dropna().unique()
        if len(units) < 2:
            shown = f" ('{units[0]}')" if len(units) else ""
            raise DataError(
                f"the grouping level '{group}' has one unit{shown} among the rows "
                "used: a random intercept needs two or more; leave it out of "
                "groups (lme4 refuses it too: grouping factors must have > 1 "
                "sampled level)"
            )


def check_rank(x: pd.DataFrame, formula: str) -> None:
    """Collinear fixed effects (a constant covariate, an arm with no rows at a
    wave) have no estimate: say which term, instead of a singular matrix."""
    matrix = x.to_numpy(float)
    if np.linalg.matrix_rank(matrix) == matrix.shape[1]:
        return
    for k in range(1, matrix.shape[1] + 1):
        if np.linalg.matrix_rank(matrix[:, :k]) < k:
            raise DataError(
                f"the model {formula!r} cannot be estimated: the term "
                f"'{x.columns[k - 1]}' is constant or a combination of the terms "
                "before it among the rows used (a covariate with one value, or a "
                "category found in one arm or wave only)"
            )


def _codes(used: pd.DataFrame, groups: list[str]) -> list[np.ndarray]:
    """Cluster number of each row at each level (levels nest by construction)."""
    return [
        used.groupby(groups[: k + 1], sort=True, observed=True)
        .ngroup()
        .to_numpy(np.int64)
        for k in range(len(groups))
    ]


def _optimise(design: NestedDesign, levels: int, reml: bool):
    def objective(theta):
        return criterion(design, np.asarray(theta), reml)

    # the criterion can have local optima: start where lme4 does (theta = 1) and
    # again from whichever other start has the lowest criterion
    others = [np.full(levels, s) for s in (0.3, 3.0, 0.1)]
    second = min(others, key=objective)
    best = None
    for start in (np.ones(levels), second):
        result = _bounded(objective, start)
        if best is None or result.fun < best.fun:
            best = result
    theta = _newton(objective, np.asarray(best.x, float), float(best.fun))
    value = objective(theta)
    # a flat criterion can stop a search at 0: step each bound level off it
    for level in np.flatnonzero(theta < SINGULAR_TOL):
        start = theta.copy()
        start[level] = 0.1
        retry = _bounded(objective, start)
        if retry.fun < value:
            candidate = _newton(objective, np.asarray(retry.x, float), retry.fun)
            if objective(candidate) < value:
                theta, value = candidate, objective(candidate)
    return theta, _stationary(objective, theta)


def _newton(objective, theta: np.ndarray, value: float, steps: int = 10):
    """Polish a point with Newton steps on the interior parameters (central
    differences, step halving, bounds kept); stops when a step no longer lowers
    the criterion or moves theta by less than 1e-9."""
    for _ in range(steps):
        free = theta > SINGULAR_TOL
        if not free.any():
            break
        grad = _jacobian(lambda v: np.array([objective(v)]), theta)[0][free]
        hessian = _hessian(objective, theta)[np.ix_(free, free)]
        try:
            np.linalg.cholesky(hessian)  # a minimum: positive definite
            step = np.linalg.solve(hessian, grad)
        except np.linalg.LinAlgError:
            break
        scale, moved = 1.0, False
        while scale > 1e-3:
            candidate = theta.copy()
            candidate[free] = np.clip(theta[free] - scale * step, 0.0, THETA_MAX)
            new = objective(candidate)
            if new <= value:
                moved = np.max(np.abs(candidate - theta)) > 1e-9
                theta, value = candidate, new
                break
            scale /= 2
        if not moved:
            break
    return theta


def _bounded(objective, start: np.ndarray):
    return optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=[(0.0, THETA_MAX)] * len(start),
        options={"ftol": 1e-10, "gtol": 1e-5, "maxiter": 1000},
    )


def _stationary(objective, theta: np.ndarray) -> bool:
    """Converged as lme4 checks it: the Newton step H^-1 g on the free (interior)
    parameters is below 2e-3, and no bound parameter has a downhill gradient."""
    free = theta > SINGULAR_TOL
    grad = _jacobian(lambda v: np.array([objective(v)]), np.maximum(theta, 1e-4))[0]
    if np.any(grad[~free] < -1e-2):
        return False
    if not free.any():
        return True
    hessian = _hessian(objective, theta)[np.ix_(free, free)]
    try:
        step = np.linalg.solve(hessian, grad[free])
    except np.linalg.LinAlgError:
        return False
    return bool(np.max(np.abs(step)) < 2e-3)


def _satterthwaite_parts(design: NestedDesign, theta, sigma: float, reml: bool):
    """Twice the inverse Hessian of the deviance in (theta, sigma), and the
    derivatives of the fixed-effect covariance in those parameters (lmerTest)."""
    varpar = np.append(theta, sigma)
    hessian = _hessian(lambda v: deviance_at(design, v, reml), varpar)
    try:
        a = 2 * np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        a = np.full_like(hessian, np.nan)

    def cov(v):
        return (v[-1] ** 2 * np.linalg.inv(solve(design, v[:-1]).xvx)).ravel()

    p = design.p
    jac = _jacobian(cov, varpar)  # (p*p) x k
    return a, jac.T.reshape(len(varpar), p, p)


def _step(v: np.ndarray) -> np.ndarray:
    return 1e-4 * np.maximum(np.abs(v), 1e-2)


def _jacobian(function, v: np.ndarray) -> np.ndarray:
    h = _step(v)
    columns = []
    for i in range(len(v)):
        e = np.zeros_like(v)
        e[i] = h[i]
        columns.append((function(v + e) - function(v - e)) / (2 * h[i]))
    return np.column_stack(columns)


def _hessian(function, v: np.ndarray) -> np.ndarray:
    h = _step(v)
    k = len(v)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            value = (
                function(v + ei + ej)
                - function(v + ei - ej)
                - function(v - ei + ej)
                + function(v - ei - ej)
            ) / (4 * h[i] * h[j])
            out[i, j] = out[j, i] = value
    return out


def _messages(groups: list[str], theta: np.ndarray, converged: bool) -> tuple[str, ...]:
    notes = []
    for g, th in zip(groups, theta, strict=True):
        if th < SINGULAR_TOL:
            notes.append(
                f"boundary (singular) fit: the variance between '{g}' groups is "
                "estimated as (near) zero"
            )
    if not converged:
        notes.append("the optimiser did not report convergence")
    return tuple(notes)
