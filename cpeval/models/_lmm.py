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
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd

from .._checks import is_number_dtype, numeric
from .._results import check_level
from .._threads import one_blas_thread
from ..exceptions import DataError
from ._formula import patsy_matrices
from ._intervals import t_pvalue
from ._lmm_df import fixed_effects
from ._lmm_optimise import (
    SINGULAR_TOL,
    ExactCriterion,
    NumericCriterion,
    optimise,
)
from ._lmm_results import LmmResult
from ._nested import NestedDesign
from ._pls import make_design
from ._reterms import (
    RandomTerm,
    RandomTerms,
    build_terms,
    complete_rows,
    group_codes,
    lower_pairs,
    split_formula,
    varcorr,
)

__all__ = ["LmmResult", "check_nested", "check_rank", "fit_lmm"]

DfMethod = Literal["satterthwaite", "kenward-roger", "wald"]
DF_METHODS = ("satterthwaite", "kenward-roger", "wald")
#: Residuals of the fixed effects alone below this (relative to the outcome's
#: size) are rounding: the outcome is fitted exactly.
EXACT_FIT = 1e-10


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
    deviations at least 0) from lme4's start, with the exact gradient where the
    engine has one (nested random intercepts, the Schur engine), then Newton
    steps (``_lmm_optimise``).
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
    with one_blas_thread():
        return _fit(data, formula, groups, reml, df_method, level)


def _fit(data, formula, groups, reml, df_method, level) -> LmmResult:
    if not data.index.is_unique:  # rows are named by label in errors
        data = data.reset_index(drop=True)
    outcome = formula.split("~")[0].strip()
    if outcome in data.columns and not is_number_dtype(data[outcome].dtype):
        # text would become indicator columns
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
    exact = hasattr(design, "solve_with_derivatives")  # the Schur engine
    objective = (ExactCriterion if exact else NumericCriterion)(design, reml)
    theta, converged, notes = optimise(objective, terms.start, terms.lower)
    return _result(
        objective,
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
    codes = _codes(used, groups)
    # nested when each unit of a level has one set of ancestors: as many
    # combinations down to it as units of it (else say where, as check_nested)
    if any(
        int(c.max()) + 1 != len(pd.unique(used[g]))
        for g, c in zip(groups, codes, strict=True)
    ):
        check_nested(used, groups)
    _check_levels(used, groups)
    check_rank(x, formula)
    _check_variation(y, x, formula)
    design = NestedDesign.build(x.to_numpy(float), y, codes)
    objective = ExactCriterion(design, reml)
    start = np.ones(len(groups))  # lme4's
    theta, converged, notes = optimise(objective, start, np.zeros(len(groups)))
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
        objective,
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
        pairs = data[[outer, inner]].dropna()
        units = len(np.unique(group_codes(pairs, [inner])))
        if units == len(np.unique(group_codes(pairs, [outer, inner]))):
            continue  # each unit of this level under one unit of the level before
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
    return [group_codes(used, groups[: k + 1]) for k in range(len(groups))]


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


def _result(
    objective: NumericCriterion,
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
    fixed = fixed_effects(objective, theta, reml, df_method, kr_terms, design_x)
    beta, cov, df, sigma2 = fixed.beta, fixed.cov, fixed.df, fixed.sigma2
    se = np.sqrt(np.diag(cov))
    varcorr = _varcorr(structure, theta, np.sqrt(sigma2))
    singular = bool(np.any(_diagonal(structure) & (theta < SINGULAR_TOL)))
    return LmmResult(
        params=pd.Series(beta, index=names),
        se=pd.Series(se, index=names),
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(beta, se, df), index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        vcomp=_vcomp(varcorr),
        theta=tuple(float(v) for v in theta),
        llf=-objective(theta) / 2,
        reml=reml,
        df_method=df_method,
        n_obs=objective.design.n,
        n_dropped=n_dropped,
        n_groups=structure.n_groups,
        converged=converged,
        singular=singular,
        messages=_messages(varcorr, singular, converged, notes),
        level=level,
        varpar_cov=fixed.varpar_cov,
        cov_grad=fixed.cov_grad,
        design_info=design_info,
        theta_names=structure.theta_names,
        varcorr=varcorr,
        kr=fixed.kr,
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
    groups = variances["grp"].tolist()
    out = {}
    for group, column, value in zip(
        groups, variances["var1"].tolist(), variances["vcov"].tolist(), strict=True
    ):
        alone = groups.count(group) == 1 and column == "(Intercept)"
        key = group if group == "Residual" or alone else f"{group}: {column}"
        out[key] = float(value)
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
