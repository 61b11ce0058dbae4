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
