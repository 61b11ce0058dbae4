"""Profiled REML/ML for linear models with nested random intercepts.

For ``groups = [g1, g2, ..., gK]`` (outermost first) the covariance of the
observations is ``sigma^2 (I + sum_k theta_k^2 Z_k Z_k')`` with ``Z_k`` the
indicator matrix of level ``k`` (clusters of ``g1..gk`` combined). Because the
levels nest, each level adds one rank-one term per cluster to a block-diagonal
matrix, so the inverse and log-determinant follow from the Sherman-Morrison
formula applied level by level, on per-cluster sums: no n x n matrix is formed
and one evaluation costs O(clusters x p^2).

This is the same criterion lme4 optimises: ``log|V| = log|L_theta|^2`` (matrix
determinant lemma) and ``log|X'V^-1 X| = log|R_X|^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NestedDesign", "Solution", "criterion", "deviance_at", "finish"]


@dataclass(frozen=True)
class NestedDesign:
    """Per-cluster sufficient statistics of ``y`` and ``X`` for each level.

    Parameters
    ----------
    xtx, xty, yty :
        Sums over all rows of ``X'X``, ``X'y`` and ``y'y``.
    counts, x_sums, y_sums :
        For the innermost level, per cluster: rows, column sums of X, sum of y.
    parents :
        For each level from the innermost outwards but the outermost, where each
        parent's run of child clusters starts (children are numbered in parent
        order, so a parent's children are contiguous: ``np.add.reduceat``).
    n, p : int
        Rows and fixed-effect columns.
    """

    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    counts: np.ndarray
    x_sums: np.ndarray
    y_sums: np.ndarray
    parents: tuple[np.ndarray, ...]
    n: int
    p: int

    @classmethod
    def build(cls, x: np.ndarray, y: np.ndarray, codes: list[np.ndarray]):
        """``codes[k]``: cluster number of each row at level k (outermost first),
        with clusters of level k+1 nested in those of level k."""
        inner = codes[-1]
        n_inner = int(inner.max()) + 1
        counts = np.bincount(inner, minlength=n_inner).astype(float)
        x_sums = np.column_stack(
            [np.bincount(inner, weights=col, minlength=n_inner) for col in x.T]
        )
        y_sums = np.bincount(inner, weights=y, minlength=n_inner)
        parents = []
        for k in range(len(codes) - 1, 0, -1):
            child, parent = codes[k], codes[k - 1]
            mapping = np.zeros(int(child.max()) + 1, dtype=np.int64)
            mapping[child] = parent
            if np.any(np.diff(mapping) < 0):
                raise ValueError("child clusters must be numbered in parent order")
            parents.append(np.flatnonzero(np.diff(mapping, prepend=-1)))
        return cls(
            xtx=x.T @ x,
            xty=x.T @ y,
            yty=float(y @ y),
            counts=counts,
            x_sums=x_sums,
            y_sums=y_sums,
            parents=tuple(parents),
            n=len(y),
            p=x.shape[1],
        )

    def solve(self, theta: np.ndarray) -> Solution:
        """Quadratic forms in ``V^-1`` and ``log|V|`` at ``theta``."""
        return solve(self, theta)

    def solve_with_derivatives(self, theta: np.ndarray):
        """:meth:`solve` and its exact first derivatives in theta."""
        return solve_with_derivatives(self, theta)


@dataclass(frozen=True)
class Solution:
    """Everything the criterion computed at one theta (scaled by sigma^2 = 1)."""

    logdet_v: float
    xvx: np.ndarray
    xvy: np.ndarray
    yvy: float
    beta: np.ndarray
    rss: float
    logdet_xvx: float


def solve(design: NestedDesign, theta: np.ndarray) -> Solution:
    """Quadratic forms in ``V^-1`` and ``log|V|`` at ``theta`` (innermost last)."""
    p = design.p
    # [X'V^-1 X, X'V^-1 y; y'V^-1 X, y'V^-1 y] as one (p + 1) square matrix, and
    # per cluster [x sums, y sum] as one array, so each level costs one product
    quad = np.zeros((p + 1, p + 1))
    quad[:p, :p], quad[:p, p], quad[p, :p] = design.xtx, design.xty, design.xty
    quad[p, p] = design.yty
    s = design.counts
    a = np.column_stack([design.x_sums, design.y_sums])
    logdet = 0.0
    levels = len(theta)
    for step in range(levels):
        th2 = theta[levels - 1 - step] ** 2
        denom = 1.0 + th2 * s
        logdet += float(np.log(denom).sum())
        quad -= (a * (th2 / denom)[:, None]).T @ a
        if step < levels - 1:
            starts = design.parents[step]
            s = np.add.reduceat(s / denom, starts)
            a = np.add.reduceat(a / denom[:, None], starts, axis=0)
    return finish(quad, p, logdet)


def finish(quad: np.ndarray, p: int, logdet_v: float) -> Solution:
    """beta, residual sum of squares and ``log|X'V^-1 X|`` from ``W'V^-1 W``
    (``W = [X y]``) and ``log|V|``; raises LinAlgError if ``X'V^-1 X`` is
    numerically singular."""
    xvx, xvy, yvy = quad[:p, :p], quad[:p, p], float(quad[p, p])
    chol = np.linalg.cholesky(xvx)
    beta = np.linalg.solve(xvx, xvy)
    rss = float(yvy - beta @ xvy)
    logdet_xvx = 2.0 * float(np.log(np.diag(chol)).sum())
    return Solution(logdet_v, xvx, xvy, yvy, beta, rss, logdet_xvx)


def criterion(design: NestedDesign, theta: np.ndarray, reml: bool) -> float:
    """-2 log-likelihood (REML or ML) profiled over beta and sigma, as lme4.

    Infinite where ``X'V^-1 X`` is numerically singular (a very large variance
    for a level at which a fixed effect is constant), so optimisers step back.
    """
    try:
        sol = design.solve(theta)
    except np.linalg.LinAlgError:
        return np.inf
    n, p = design.n, design.p
    if reml:
        dof = n - p
        return (
            sol.logdet_v
            + sol.logdet_xvx
            + dof * (1 + np.log(2 * np.pi * sol.rss / dof))
        )
    return sol.logdet_v + n * (1 + np.log(2 * np.pi * sol.rss / n))


def deviance_at(design: NestedDesign, varpar: np.ndarray, reml: bool) -> float:
    """-2 log-likelihood at (theta..., sigma) without profiling sigma (lmerTest's
    ``devfun_vp``), for the Satterthwaite derivatives."""
    theta, sigma2 = varpar[:-1], varpar[-1] ** 2
    sol = design.solve(theta)
    n, p = design.n, design.p
    dof = n - p if reml else n
    value = sol.logdet_v + dof * np.log(2 * np.pi * sigma2) + sol.rss / sigma2
    return value + (sol.logdet_xvx if reml else 0.0)


@dataclass(frozen=True)
class Derivatives:
    """First derivatives, in each ``theta_k``, of what :func:`solve` computes:
    ``logdet_v`` (a vector) and ``W'V^-1 W`` (``K x (p+1) x (p+1)``)."""

    logdet_v: np.ndarray
    quad: np.ndarray


def solve_with_derivatives(
    design: NestedDesign, theta: np.ndarray
) -> tuple[Solution, Derivatives]:
    """:func:`solve` and its exact first derivatives in theta (forward mode).

    Each level's Sherman-Morrison update is differentiated as it is applied:
    with ``d = 1 + theta^2 s`` per cluster, ``log|V|`` gains ``sum log d``,
    ``W'V^-1 W`` loses ``a' diag(theta^2 / d) a``, and the next level's sums are
    ``s / d`` and ``a / d`` added within parents; the derivatives of ``s``,
    ``a`` and ``d`` are carried along (``K`` times the cost of one solve).
    """
    p, levels = design.p, len(theta)
    quad = np.zeros((p + 1, p + 1))
    quad[:p, :p], quad[:p, p], quad[p, :p] = design.xtx, design.xty, design.xty
    quad[p, p] = design.yty
    s = design.counts
    a = np.column_stack([design.x_sums, design.y_sums])
    # derivatives of s and a in the parameters of the levels done so far
    ds = np.zeros((0, len(s)))
    da = np.zeros((0, *a.shape))
    logdet, dlogdet = 0.0, np.zeros(levels)
    dquad = np.zeros((levels, p + 1, p + 1))
    for step in range(levels):
        j = levels - 1 - step  # this level's parameter; those after it are done
        th2 = theta[j] ** 2
        denom = 1.0 + th2 * s
        ddenom = np.vstack([2.0 * theta[j] * s, th2 * ds])  # rows j, j+1, ...
        logdet += float(np.log(denom).sum())
        dlogdet[j:] += (ddenom / denom).sum(axis=1)
        weight = th2 / denom
        dweight = -th2 * ddenom / denom**2
        dweight[0] += 2.0 * theta[j] / denom
        quad -= (a * weight[:, None]).T @ a
        for row in range(levels - j):
            change = (a * dweight[row][:, None]).T @ a
            if row:  # a does not depend on this level's own parameter yet
                cross = (da[row - 1] * weight[:, None]).T @ a
                change += cross + cross.T
            dquad[j + row] -= change
        if step < levels - 1:
            starts = design.parents[step]
            ratio = ddenom / denom**2
            da = np.concatenate([np.zeros((1, *a.shape)), da])
            ds = np.add.reduceat(
                np.vstack([np.zeros(len(s)), ds]) / denom - s * ratio, starts, axis=1
            )
            da = np.add.reduceat(
                da / denom[:, None] - a[None] * ratio[:, :, None], starts, axis=1
            )
            s = np.add.reduceat(s / denom, starts)
            a = np.add.reduceat(a / denom[:, None], starts, axis=0)
    return finish(quad, p, logdet), Derivatives(dlogdet, dquad)


def profile_gradient(
    sol: Solution, deriv: Derivatives, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives in theta of the residual sum of squares and of
    ``log|X'V^-1 X|``: ``d rss = d(y'V^-1 y) - 2 beta' d(X'V^-1 y) + beta'
    d(X'V^-1 X) beta`` and ``d log|X'V^-1 X| = tr((X'V^-1 X)^-1 d(X'V^-1 X))``."""
    dxvx, dxvy, dyvy = deriv.quad[:, :p, :p], deriv.quad[:, :p, p], deriv.quad[:, p, p]
    beta = sol.beta
    drss = dyvy - 2.0 * dxvy @ beta + np.einsum("i,kij,j->k", beta, dxvx, beta)
    inverse = np.linalg.inv(sol.xvx)
    dlogdet_xvx = np.einsum("ij,kji->k", inverse, dxvx)
    return drss, dlogdet_xvx


def criterion_and_gradient(
    design, theta: np.ndarray, reml: bool
) -> tuple[float, np.ndarray]:
    """:func:`criterion` and its exact gradient in theta (``inf`` and NaNs where
    ``X'V^-1 X`` is numerically singular), for a design with
    ``solve_with_derivatives`` (nested, or the Schur engine)."""
    theta = np.asarray(theta, float)
    try:
        sol, deriv = design.solve_with_derivatives(theta)
    except np.linalg.LinAlgError:
        return np.inf, np.full(len(theta), np.nan)
    n, p = design.n, design.p
    drss, dlogdet_xvx = profile_gradient(sol, deriv, p)
    dof = n - p if reml else n
    value = sol.logdet_v + dof * (1 + np.log(2 * np.pi * sol.rss / dof))
    grad = deriv.logdet_v + dof * drss / sol.rss
    if reml:
        value += sol.logdet_xvx
        grad = grad + dlogdet_xvx
    return float(value), grad


def covariance_gradient(
    sol: Solution, deriv: Derivatives, sigma: float, p: int
) -> np.ndarray:
    """Exact derivatives of the fixed-effect covariance ``sigma^2 (X'V^-1
    X)^-1`` in ``(theta..., sigma)``, ``(K + 1) x p x p``."""
    inverse = np.linalg.inv(sol.xvx)
    d_theta = -(sigma**2) * np.einsum(
        "ij,kjl,lm->kim", inverse, deriv.quad[:, :p, :p], inverse
    )
    return np.concatenate([d_theta, (2.0 * sigma * inverse)[None]])


def deviance_hessian(
    design,
    sol: Solution,
    deriv: Derivatives,
    curvature: np.ndarray,
    reml: bool,
) -> np.ndarray:
    """The Hessian of :func:`deviance_at` in ``(theta..., sigma)`` at the
    optimum, from the Hessian of the profiled criterion (``curvature``): with
    ``sigma^2 = rss / dof``, ``D_tt = P'' + dof rss' rss'^T / rss^2``, ``D_ts =
    -2 rss' / sigma^3`` and ``D_ss = 4 dof / sigma^2``, where ``P`` is the
    profiled criterion and ``rss'`` the gradient of the residual sum of squares."""
    n, p = design.n, design.p
    dof = n - p if reml else n
    drss, _ = profile_gradient(sol, deriv, p)
    sigma2 = sol.rss / dof
    k = len(drss)
    out = np.empty((k + 1, k + 1))
    out[:k, :k] = curvature + dof * np.outer(drss, drss) / sol.rss**2
    out[:k, k] = out[k, :k] = -2.0 * drss / sigma2**1.5
    out[k, k] = 4.0 * dof / sigma2
    return out
