"""Linear mixed models in lme4's formulation, with Satterthwaite or Kenward-Roger df.

Two engines compute the same profiled REML/ML criterion:

- nested random intercepts (``groups=["team", "id"]``): per-cluster sums and
  the Sherman-Morrison formula, level by level (``_nested``), fast at any size;
- any random-effect structure from lme4 formula syntax (random slopes,
  correlated or ``||``, nested and crossed terms): penalised least squares on a
  sparse ``Lambda' Z' Z Lambda + I`` (``_reterms``, ``_pls``).

The result is :class:`LmmResult` (``_lmm_results``); the df are in ``_lmm_df``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from types import SimpleNamespace
from typing import Literal

import nlopt
import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import ThreadpoolController

from .._checks import numeric
from .._results import check_level
from ..exceptions import DataError
from ._formula import patsy_matrices
from ._intervals import t_pvalue
from ._kr import kr_ddf
from ._lmm_df import (
    gradient,
    hessian,
    kenward_roger_fit,
    satterthwaite_df,
    satterthwaite_parts,
)
from ._lmm_results import LmmResult
from ._nested import NestedDesign, criterion
from ._pls import make_design
from ._reterms import (
    RandomTerm,
    RandomTerms,
    build_terms,
    complete_rows,
    lower_pairs,
    split_formula,
    varcorr,
)

__all__ = ["LmmResult", "check_nested", "check_rank", "fit_lmm"]

DfMethod = Literal["satterthwaite", "kenward-roger", "wald"]
DF_METHODS = ("satterthwaite", "kenward-roger", "wald")
#: BLAS threads while fitting (the matrices are small).
BLAS_THREADS = 1
#: lme4's ``isSingular`` tolerance: a diagonal theta below it is on the boundary.
SINGULAR_TOL = 1e-4
#: lme4's ``check.conv.grad`` tolerance (``.makeCC("warning", tol = 2e-3)``) on
#: the scaled gradient ``H^-1 g``.
GRADIENT_TOL = 2e-3
#: Residuals of the fixed effects alone below this (relative to the outcome's
#: size) are rounding: the outcome is fitted exactly.
EXACT_FIT = 1e-10
#: A level's SD at most 1000 residual SDs: keeps ``X'V^-1 X`` invertible.
THETA_MAX = 1e3
#: lme4's ``nloptwrap`` defaults (``environment(nloptwrap)$defaultControl``).
BOBYQA_XTOL_ABS = 1e-8
BOBYQA_FTOL_ABS = 1e-8
BOBYQA_MAXEVAL = 100_000
#: The sparse engine stops polishing when a Newton step would lower the
#: criterion (-2 log-likelihood) by less than half this: far below the 1e-6 in
#: logLik at which fits are compared with lme4.
NEWTON_DECREMENT = 1e-9
#: Bound parameters with a gradient below this are moving off the boundary.
BOUNDARY_SLOPE = -1e-2


def fit_lmm(
    data: pd.DataFrame,
    formula: str,
    groups: Sequence[str] | None = None,
    *,
    reml: bool = True,
    df_method: DfMethod = "satterthwaite",
    level: float = 0.95,
) -> LmmResult:
    """Linear mixed model, as lme4's ``lmer`` with lmerTest's df.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.
    formula : str
        lme4 syntax, ``"y ~ time * arm + (1 + time | team) + (1 | team:wave)
        + (1 | id)"``: fixed effects in patsy syntax and random-effect terms
        ``(expr | group)`` (correlated), ``(expr || group)`` (uncorrelated), with
        groups ``g``, ``a:b`` (combinations) or ``a/b`` (``b`` within ``a``).
        Or fixed effects only, with ``groups``. A formula is code: patsy
        evaluates it as Python (as in statsmodels), so never build one from
        untrusted text; write a column whose name is not a Python name as
        ``Q("name")``.
    groups : sequence of str, optional
        Nested random intercepts, outermost first, e.g. ``["trust", "team",
        "id"]`` (as lme4's ``(1 | trust/team/id)``), with a formula of fixed
        effects only: the fast engine for this common design.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    df_method : {"satterthwaite", "kenward-roger", "wald"}
        Satterthwaite df (as lmerTest), Kenward-Roger df and adjusted
        covariance (as pbkrtest and ``lmerTest`` with ``ddf = "Kenward-Roger"``;
        REML fits only), or Wald z tests.
    level : float
        Confidence level.

    Returns
    -------
    LmmResult

    Raises
    ------
    DataError
        A column is missing, the model cannot be built, or an option is not
        one of its values.

    Notes
    -----
    ``theta`` minimises the profiled REML/ML criterion (bounded: standard
    deviations at least 0; lme4's start, then other starts, then Newton steps).
    Convergence is checked as lme4 does (``GRADIENT_TOL`` on the scaled
    gradient) and the fit is singular when a diagonal ``theta`` is below
    ``SINGULAR_TOL``. Checked against lme4, lmerTest and pbkrtest
    (``tests/reference/lmm``, ``tests/reference/mixed``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_lmm
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
    >>> sorted(fit.vcomp)
    ['Residual', 'id', 'team']
    >>> s = pd.read_csv("tests/reference/mixed/sleepstudy.csv")
    >>> slopes = fit_lmm(s, "Reaction ~ Days + (Days | Subject)")
    >>> slopes.theta_names
    ('Subject.(Intercept)', 'Subject.Days.(Intercept)', 'Subject.Days')
    """
    _check_options(reml, df_method, level)
    # the matrices are small (fixed effects, a few hundred random effects): a
    # second BLAS thread costs more than it saves (20 times on a busy machine)
    with _blas().limit(limits=BLAS_THREADS, user_api="blas"):
        return _fit(data, formula, groups, reml, df_method, level)


@cache
def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (a search costs 25 ms)."""
    return ThreadpoolController()


def _fit(data, formula, groups, reml, df_method, level) -> LmmResult:
    if not data.index.is_unique:  # rows are named by label in errors
        data = data.reset_index(drop=True)
    outcome = formula.split("~")[0].strip()
    if outcome in data.columns:  # text would become indicator columns
        data = data.assign(**{outcome: numeric(data[outcome], "the outcome")})
    if groups is not None:
        return _fit_nested(data, formula, list(groups), reml, df_method, level)
    fixed, bars = split_formula(formula)
    if not bars:
        raise DataError(
            f"the model {formula!r} has no random effects: add a term such as "
            "(1 | team), or give the nested grouping columns in groups="
        )
    used = data.loc[complete_rows(data, bars, formula)]
    y, x, used = _design(used, fixed, [], shown=formula)
    check_rank(x, formula)
    _check_variation(y, x, formula)
    terms = build_terms(used, bars, formula)
    design = make_design(terms, x.to_numpy(float), y)
    theta, converged, notes = _optimise(design, terms.start, terms.lower, reml)
    return _result(
        design,
        theta,
        names=list(x.columns),
        reml=reml,
        df_method=df_method,
        level=level,
        n_dropped=len(data) - design.n,
        converged=converged,
        structure=_general_structure(terms),
        notes=notes,
        design_info=x.design_info,
        kr_terms=terms,
        design_x=x.to_numpy(float),
    )


def _check_options(reml: object, df_method: object, level: float) -> None:
    if not isinstance(reml, bool):
        raise DataError(f"reml must be True or False; got {reml!r}")
    if df_method not in DF_METHODS:
        raise DataError(
            f"df_method must be one of {list(DF_METHODS)}; got {df_method!r}"
        )
    if df_method == "kenward-roger" and not reml:
        raise DataError(
            "Kenward-Roger df need a REML fit (pbkrtest refuses ML fits too); "
            "use reml=True or df_method='satterthwaite'"
        )
    check_level(level)


def _fit_nested(data, formula, groups, reml, df_method, level) -> LmmResult:
    if "|" in formula:
        raise DataError(
            f"the formula {formula!r} has a random-effects term and groups= as "
            "well: give the random effects one way, either in the formula (lme4 "
            "syntax) or as nested random intercepts in groups="
        )
    absent = [g for g in groups if g not in data.columns]
    if absent:
        raise DataError(f"the grouping columns {absent} are not in the data")
    if not groups:
        raise DataError("groups= is empty: name at least one grouping column")
    y, x, used = _design(data, formula, groups)
    check_nested(used, groups)
    _check_levels(used, groups)
    check_rank(x, formula)
    _check_variation(y, x, formula)
    codes = _codes(used, groups)
    design = NestedDesign.build(x.to_numpy(float), y, codes)
    start = np.ones(len(groups))
    theta, converged, notes = _optimise(
        design, start, np.zeros(len(groups)), reml, thorough=True
    )
    structure = _Structure(
        theta_names=tuple(f"{g}.(Intercept)" for g in groups),
        groups=tuple(groups),
        columns=tuple(("(Intercept)",) for _ in groups),
        n_groups={g: int(c.max()) + 1 for g, c in zip(groups, codes, strict=True)},
    )
    kr_terms = (
        _nested_terms(codes, groups, len(y)) if df_method == "kenward-roger" else None
    )
    return _result(
        design,
        theta,
        names=list(x.columns),
        reml=reml,
        df_method=df_method,
        level=level,
        n_dropped=len(data) - design.n,
        converged=converged,
        structure=structure,
        notes=notes,
        design_info=x.design_info,
        kr_terms=kr_terms,
        design_x=x.to_numpy(float),
    )


def _design(data: pd.DataFrame, formula: str, groups: list[str], shown=None):
    used = data.dropna(subset=groups)
    y, x = patsy_matrices(formula, used, formula=shown)
    if len(y) == 0:
        raise DataError(f"the model {formula!r} has no complete rows")
    return y.iloc[:, 0].to_numpy(float), x, used.loc[x.index]


def _check_variation(y: np.ndarray, x: pd.DataFrame, formula: str) -> None:
    """An outcome the fixed effects fit exactly (a constant, or a column
    computed from the covariates) leaves no variance to split: the criterion
    would take the log of 0."""
    matrix = x.to_numpy(float)
    beta, *_ = np.linalg.lstsq(matrix, y, rcond=None)
    spread = np.sqrt(np.mean((y - matrix @ beta) ** 2))
    if spread <= EXACT_FIT * (1.0 + float(np.abs(y).max())):
        raise DataError(
            f"the model {formula!r}: the fixed effects fit the outcome exactly in "
            f"all {len(y)} rows used (it is constant, or computed from the "
            "covariates), so there is no variance left to model"
        )


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


@dataclass(frozen=True)
class _Structure:
    """Names of the random effects, for the result."""

    theta_names: tuple[str, ...]
    groups: tuple[str, ...]  # each term's grouping factor
    columns: tuple[tuple[str, ...], ...]  # each term's random effects
    n_groups: dict[str, int]


def _general_structure(terms: RandomTerms) -> _Structure:
    return _Structure(
        theta_names=tuple(terms.theta_names()),
        groups=tuple(t.group for t in terms.terms),
        columns=tuple(t.columns for t in terms.terms),
        n_groups={t.group: t.levels for t in terms.terms},
    )


def _nested_terms(codes: list[np.ndarray], groups: list[str], n: int) -> RandomTerms:
    """The nested levels as random-intercept terms (for Kenward-Roger)."""
    terms = [
        RandomTerm(g, ("(Intercept)",), int(c.max()) + 1, c, np.ones((n, 1)))
        for g, c in zip(groups, codes, strict=True)
    ]
    return RandomTerms(tuple(terms), n=n)


def _optimise(
    design, start: np.ndarray, lower: np.ndarray, reml: bool, thorough: bool = False
):
    """theta minimising the criterion, whether lme4's convergence check holds,
    and notes on the Hessian; ``thorough`` always tries a second start."""
    diagonal = lower == 0

    def objective(theta):
        return criterion(design, np.asarray(theta), reml)

    # the criterion can have local optima: start where lme4 does and (nested
    # engine) again from whichever scaled start has the lowest criterion; both
    # engines retry off the boundary below
    search = _bounded if thorough else _bobyqa
    best = search(objective, start, lower)
    if thorough:
        others = [np.where(diagonal, s, 0.0) for s in (0.3, 3.0, 0.1)]
        result = search(objective, min(others, key=objective), lower)
        if result.fun < best.fun:
            best = result
    decrement = 0.0 if thorough else NEWTON_DECREMENT
    theta, derivatives = _newton(
        objective,
        np.asarray(best.x, float),
        float(best.fun),
        lower,
        decrement=decrement,
    )
    value = objective(theta)
    # a flat criterion can stop a search at 0: step each bound parameter off it
    for k in np.flatnonzero(diagonal & (theta < SINGULAR_TOL)):
        begin = theta.copy()
        begin[k] = 0.1
        retry = search(objective, begin, lower)
        if retry.fun < value:
            candidate, polished = _newton(
                objective,
                np.asarray(retry.x, float),
                retry.fun,
                lower,
                decrement=decrement,
            )
            if objective(candidate) < value:
                theta, value, derivatives = candidate, objective(candidate), polished
    converged, notes = _convergence(objective, theta, lower, derivatives)
    return theta, converged, notes


def _put(base: np.ndarray, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = base.copy()
    full[where] = values
    return full


def _free(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Parameters inside their bounds (off-diagonals are always free)."""
    return (lower != 0) | (theta > SINGULAR_TOL)


def _derivatives(objective, theta: np.ndarray, free: np.ndarray):
    """Gradient and Hessian of the criterion in the free parameters only."""

    def restricted(values):
        return objective(_put(theta, free, values))

    return gradient(restricted, theta[free]), hessian(restricted, theta[free])


def _newton(
    objective,
    theta: np.ndarray,
    value: float,
    lower: np.ndarray,
    steps: int = 10,
    decrement: float = 0.0,
):
    """Polish a point with Newton steps on the free parameters (step halving,
    bounds kept); stops when a step no longer lowers the criterion, moves
    theta by less than 1e-9, or its Newton decrement ``g'H^-1 g`` (twice the
    fall it predicts) is below ``decrement``. Returns theta and ``(free,
    gradient, Hessian)`` at it (None if theta moved last or nothing is free)."""
    derivatives = None
    for _ in range(steps):
        free = _free(theta, lower)
        if not free.any():
            return theta, None
        grad, curvature = _derivatives(objective, theta, free)
        derivatives = (free, grad, curvature)
        try:
            np.linalg.cholesky(curvature)  # a minimum: positive definite
            step = np.linalg.solve(curvature, grad)
        except np.linalg.LinAlgError:
            break
        if grad @ step < decrement:  # the step would lower it by less
            break
        scale, moved = 1.0, False
        while scale > 1e-3:
            candidate = theta.copy()
            candidate[free] = np.clip(
                theta[free] - scale * step, lower[free], THETA_MAX
            )
            new = objective(candidate)
            if new <= value:
                moved = np.max(np.abs(candidate - theta)) > 1e-9
                theta, value = candidate, new
                break
            scale /= 2
        if not moved:
            break
        derivatives = None  # theta moved: they are stale
    return theta, derivatives


def _bounded(objective, start: np.ndarray, lower: np.ndarray):
    bounds = [(max(lo, -THETA_MAX), THETA_MAX) for lo in lower]
    return optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-10, "gtol": 1e-5, "maxiter": 1000},
    )


def _bobyqa(objective, start: np.ndarray, lower: np.ndarray) -> SimpleNamespace:
    """lme4's default optimiser for lmer (``nloptwrap``): NLopt's BOBYQA with
    lme4's tolerances and bounds (finite upper bounds make NLopt take a first
    step of a quarter of the range: thousands of evaluations)."""
    search = nlopt.opt(nlopt.LN_BOBYQA, len(start))
    search.set_min_objective(lambda theta, grad: float(objective(theta)))
    search.set_lower_bounds(np.asarray(lower, float))
    search.set_upper_bounds(np.full(len(start), np.inf))
    search.set_xtol_abs(BOBYQA_XTOL_ABS)
    search.set_ftol_abs(BOBYQA_FTOL_ABS)
    search.set_maxeval(BOBYQA_MAXEVAL)
    x = search.optimize(np.asarray(start, float))
    return SimpleNamespace(x=np.asarray(x), fun=search.last_optimum_value())


def _convergence(objective, theta: np.ndarray, lower: np.ndarray, derivatives=None):
    """lme4's checks: the scaled gradient ``H^-1 g`` on the free parameters is
    below ``GRADIENT_TOL``, no bound parameter has a downhill gradient, and the
    Hessian is positive definite (``derivatives``: the Newton polish's, if at
    this theta)."""
    free = _free(theta, lower)
    if (~free).any():
        at = np.where(free, theta, np.maximum(theta, SINGULAR_TOL))
        slope = gradient(lambda v: objective(_put(at, ~free, v)), at[~free])
        if np.any(slope < BOUNDARY_SLOPE):
            return False, ("the criterion still falls off the boundary",)
    if not free.any():
        return True, ()
    if derivatives is None or not np.array_equal(derivatives[0], free):
        derivatives = (free, *_derivatives(objective, theta, free))
    _, grad, curvature = derivatives
    try:
        step = np.linalg.solve(curvature, grad)
    except np.linalg.LinAlgError:
        return False, (
            "the Hessian is numerically singular (lme4: unable to evaluate the "
            "scaled gradient)",
        )
    negative = int(np.sum(np.linalg.eigvalsh(curvature) < 0))
    if negative:
        return False, (
            f"degenerate Hessian with {negative} negative eigenvalue(s) (lme4's "
            "check.conv.hess): not a minimum",
        )
    worst = float(np.max(np.abs(step)))
    if worst >= GRADIENT_TOL:
        return False, (
            f"failed to converge with max|scaled gradient| = {worst:.3g} "
            f"(lme4's tolerance {GRADIENT_TOL})",
        )
    return True, ()


def _result(
    design,
    theta: np.ndarray,
    *,
    names: list[str],
    reml: bool,
    df_method: str,
    level: float,
    n_dropped: int,
    converged: bool,
    structure: _Structure,
    notes: tuple[str, ...],
    design_info,
    kr_terms: RandomTerms | None,
    design_x: np.ndarray,
) -> LmmResult:
    sol = design.solve(theta)
    dof = design.n - design.p if reml else design.n
    sigma2 = sol.rss / dof
    cov = sigma2 * np.linalg.inv(sol.xvx)
    varpar_cov = cov_grad = kr = None
    rows = np.eye(design.p)
    if df_method == "satterthwaite":
        varpar_cov, cov_grad = satterthwaite_parts(design, theta, np.sqrt(sigma2), reml)
        df = satterthwaite_df(rows, cov, varpar_cov, cov_grad)
    elif df_method == "kenward-roger":
        kr = kenward_roger_fit(design_x, kr_terms, theta, sigma2)
        cov = kr.vcov
        df = np.array([kr_ddf(row, kr).ddf for row in rows])
    else:
        df = np.full(design.p, np.inf)
    se = np.sqrt(np.diag(cov))
    varcorr = _varcorr(structure, theta, np.sqrt(sigma2))
    singular = bool(np.any(_diagonal(structure) & (theta < SINGULAR_TOL)))
    return LmmResult(
        params=pd.Series(sol.beta, index=names),
        se=pd.Series(se, index=names),
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(sol.beta, se, df), index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        vcomp=_vcomp(varcorr),
        theta=tuple(float(v) for v in theta),
        llf=-criterion(design, theta, reml) / 2,
        reml=reml,
        df_method=df_method,
        n_obs=design.n,
        n_dropped=n_dropped,
        n_groups=structure.n_groups,
        converged=converged,
        singular=singular,
        messages=_messages(varcorr, singular, converged, notes),
        level=level,
        varpar_cov=varpar_cov,
        cov_grad=cov_grad,
        design_info=design_info,
        theta_names=structure.theta_names,
        varcorr=varcorr,
        kr=kr,
    )


def _diagonal(structure: _Structure) -> np.ndarray:
    flags = []
    for columns in structure.columns:
        k = len(columns)
        flags += [i == j for i, j in lower_pairs(k)]
    return np.array(flags)


def _varcorr(structure: _Structure, theta: np.ndarray, sigma: float) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(fit))``."""
    return varcorr(zip(structure.groups, structure.columns, strict=True), theta, sigma)


def _vcomp(varcorr: pd.DataFrame) -> dict[str, float]:
    """Variances keyed by group (random intercepts) or ``group: column``."""
    variances = varcorr[varcorr["var2"].isna()]
    slopes = variances["var1"].notna() & variances["var1"].ne("(Intercept)")
    single = variances.groupby("grp", sort=False)["grp"].transform("size").eq(1)
    out = {}
    for (_, row), slope, alone in zip(
        variances.iterrows(), slopes, single, strict=True
    ):
        if row["grp"] == "Residual" or (alone and not slope):
            key = row["grp"]
        else:
            key = f"{row['grp']}: {row['var1']}"
        out[key] = float(row["vcov"])
    residual = out.pop("Residual")
    return {**out, "Residual": residual}


def _messages(
    varcorr: pd.DataFrame, singular: bool, converged: bool, notes: tuple[str, ...]
) -> tuple[str, ...]:
    out = []
    if singular:
        zero = varcorr[
            varcorr["var2"].isna()
            & varcorr["grp"].ne("Residual")
            & (varcorr["sdcor"] < 1e-8)
        ]
        for _, row in zero.iterrows():
            what = "" if row["var1"] == "(Intercept)" else f" in '{row['var1']}'"
            out.append(
                f"boundary (singular) fit: the variance{what} between "
                f"'{row['grp']}' groups is estimated as (near) zero"
            )
        if not out:
            out.append("boundary (singular) fit: see varcorr (lme4's isSingular)")
    out += list(notes)
    if not converged and not notes:
        out.append("the optimiser did not report convergence")
    return tuple(out)
