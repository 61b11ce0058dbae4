"""Degrees of freedom of a linear mixed model: Satterthwaite (as lmerTest) and
Kenward-Roger (as pbkrtest), and the numerical derivatives they need.

Satterthwaite: ``df = 2 (l'C l)^2 / (g' A g)``, with ``C`` the fixed-effect
covariance as a function of ``(theta, sigma)``, ``g`` its gradient and ``A``
twice the inverse Hessian of the deviance in ``(theta, sigma)`` (lmerTest's
``vcov_varpar``; Kuznetsova, Brockhoff and Christensen 2017, *J Stat Softw*
82(13)). Both derivatives are central differences
(``statsmodels.tools.numdiff``) with steps ``STEP_SCALE * max(|v|, STEP_FLOOR)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import DataError
from ._nested import covariance_gradient, deviance_at, deviance_hessian

if TYPE_CHECKING:  # scipy.sparse and pandas, for Kenward-Roger only
    from ._kr import KRAdjustment
    from ._reterms import RandomTerms

__all__ = [
    "FixedEffects",
    "fixed_effects",
    "gradient",
    "hessian",
    "kenward_roger_fit",
    "satterthwaite_df",
    "satterthwaite_exact",
    "satterthwaite_parts",
]

STEP_SCALE = 1e-3  # relative step of the central differences
STEP_FLOOR = 1e-2  # smallest scale of a step (theta at or near 0)


def steps(v: np.ndarray) -> np.ndarray:
    """The central-difference step for each parameter."""
    return STEP_SCALE * np.maximum(np.abs(v), STEP_FLOOR)


def gradient(function: Callable[[np.ndarray], float], v: np.ndarray) -> np.ndarray:
    """Central-difference gradient of a scalar function."""
    v = np.asarray(v, float)
    return jacobian(lambda u: np.array([function(u)]), v)[0]


def jacobian(function: Callable[[np.ndarray], np.ndarray], v: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian, ``outputs x parameters``."""
    from statsmodels.tools.numdiff import approx_fprime

    v = np.asarray(v, float)
    # approx_fprime halves the step it is given for central differences
    out = approx_fprime(v, function, epsilon=2 * steps(v), centered=True)
    return np.asarray(out).reshape(-1, len(v))


def hessian(function: Callable[[np.ndarray], float], v: np.ndarray) -> np.ndarray:
    """Central-difference Hessian (the four-point formula)."""
    from statsmodels.tools.numdiff import approx_hess3

    v = np.asarray(v, float)
    return approx_hess3(v, function, epsilon=steps(v))


def satterthwaite_parts(design, theta: np.ndarray, sigma: float, reml: bool):
    """Twice the inverse Hessian of the deviance in ``(theta, sigma)``, and the
    derivatives of the fixed-effect covariance in those parameters (lmerTest).

    ``design`` is any design with ``solve(theta)`` and ``p`` (nested or sparse).
    """
    varpar = np.append(theta, sigma)
    curvature = hessian(lambda v: deviance_at(design, v, reml), varpar)
    try:
        a = 2 * np.linalg.inv(curvature)
    except np.linalg.LinAlgError:
        a = np.full_like(curvature, np.nan)

    def cov(v):
        return (v[-1] ** 2 * np.linalg.inv(design.solve(v[:-1]).xvx)).ravel()

    p = design.p
    jac = jacobian(cov, varpar)  # (p*p) x k
    return a, jac.T.reshape(len(varpar), p, p)


def satterthwaite_exact(design, theta: np.ndarray, reml: bool, curvature: np.ndarray):
    """:func:`satterthwaite_parts` for an engine with exact first derivatives
    (``design.solve_with_derivatives``: nested, Schur) and the optimiser's
    Hessian of the profiled criterion (``curvature``, in theta at the optimum):
    no further numerical derivatives."""
    sol, deriv = design.solve_with_derivatives(np.asarray(theta, float))
    dof = design.n - design.p if reml else design.n
    sigma = float(np.sqrt(sol.rss / dof))
    try:
        a = 2 * np.linalg.inv(deviance_hessian(design, sol, deriv, curvature, reml))
    except np.linalg.LinAlgError:
        a = np.full((len(theta) + 1,) * 2, np.nan)
    return a, covariance_gradient(sol, deriv, sigma, design.p)


def satterthwaite_df(
    rows: np.ndarray, cov: np.ndarray, varpar_cov: np.ndarray, cov_grad: np.ndarray
) -> np.ndarray:
    """Satterthwaite df of each contrast row ``l``: ``2 (l'C l)^2 / (g' A g)``."""
    var = np.einsum("ij,jk,ik->i", rows, cov, rows)
    grads = np.einsum("ij,mjk,ik->im", rows, cov_grad, rows)
    return 2 * var**2 / np.einsum("im,mn,in->i", grads, varpar_cov, grads)


def kenward_roger_fit(
    x: np.ndarray, terms: RandomTerms, theta: np.ndarray, sigma2: float
) -> KRAdjustment:
    """pbkrtest's adjustment at a REML fit: ``V = sigma^2 (I + Z Lambda Lambda'
    Z')`` and the derivative matrices of each covariance parameter (dense
    ``n x n``, as pbkrtest; refused above ``MAX_KR_ROWS`` rows)."""
    from ._kr import MAX_KR_ROWS, g_matrices, kenward_roger

    n = x.shape[0]
    if n > MAX_KR_ROWS:
        raise DataError(
            f"Kenward-Roger df need several dense n x n matrices and this model "
            f"has {n:,} rows (the limit is {MAX_KR_ROWS:,}); use "
            "df_method='satterthwaite', which is close to Kenward-Roger at this size"
        )
    zl = (terms.z @ terms.lambda_(theta)).toarray()
    v = sigma2 * (zl @ zl.T + np.eye(n))
    g = g_matrices([(t.z(), t.k) for t in terms.terms], n)
    return kenward_roger(x, v, g)


@dataclass(frozen=True)
class FixedEffects:
    """The fixed effects of a fit and what their inference needs."""

    beta: np.ndarray
    cov: np.ndarray
    df: np.ndarray
    sigma2: float
    varpar_cov: np.ndarray | None = None
    cov_grad: np.ndarray | None = None
    kr: Any = None


def fixed_effects(
    objective,
    theta: np.ndarray,
    reml: bool,
    df_method: str,
    kr_terms: RandomTerms | None = None,
    design_x: np.ndarray | None = None,
) -> FixedEffects:
    """beta, their covariance and df at ``theta``: Satterthwaite from the
    exact derivatives when the criterion has them (``objective.hessian``: the
    nested and Schur engines) or numerical ones, Kenward-Roger (its adjusted
    covariance; needs ``kr_terms`` and ``design_x``), or Wald (infinite df)."""
    design = objective.design
    sol = design.solve(theta)
    dof = design.n - design.p if reml else design.n
    sigma2 = sol.rss / dof
    cov = sigma2 * np.linalg.inv(sol.xvx)
    rows = np.eye(design.p)
    if df_method == "satterthwaite":
        if hasattr(objective, "hessian"):
            curvature = objective.hessian(theta)
            parts = satterthwaite_exact(design, theta, reml, curvature)
        else:
            parts = satterthwaite_parts(design, theta, np.sqrt(sigma2), reml)
        df = satterthwaite_df(rows, cov, *parts)
        return FixedEffects(sol.beta, cov, df, sigma2, *parts)
    if df_method == "kenward-roger":
        from ._kr import kr_ddf

        kr = kenward_roger_fit(design_x, kr_terms, theta, sigma2)
        df = np.array([kr_ddf(row, kr).ddf for row in rows])
        return FixedEffects(sol.beta, kr.vcov, df, sigma2, kr=kr)
    return FixedEffects(sol.beta, cov, np.full(design.p, np.inf), sigma2)
