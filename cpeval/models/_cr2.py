"""Cluster-robust covariance CR2 with Satterthwaite degrees of freedom.

Bell & McCaffrey (2002); Pustejovsky & Tipton (2018), as R clubSandwich's
``vcovCR(type = "CR2")`` and ``coef_test(test = "Satterthwaite")`` for OLS.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cr2"]


def cr2(
    x: np.ndarray, residuals: np.ndarray, clusters: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance of OLS coefficients and the Satterthwaite df of each.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Design matrix of the fitted OLS model.
    residuals : ndarray, shape (n,)
        OLS residuals.
    clusters : ndarray, shape (n,)
        Cluster label of each row.

    Returns
    -------
    vcov : ndarray, shape (p, p)
    df : ndarray, shape (p,)
        Satterthwaite degrees of freedom of each coefficient's t test.

    Notes
    -----
    With ``M = (X'X)^-1``, ``H = X M X'`` and, per cluster ``j``,
    ``A_j = (I - H_jj)^(-1/2)`` (symmetric square root),
    ``V = M (sum_j X_j' A_j e_j e_j' A_j X_j) M``. For coefficient ``k``,
    ``g_j = (I - H)[:, j]' A_j X_j M u_k`` and
    ``df = (sum_j g_j'g_j)^2 / sum_ij (g_i'g_j)^2`` (working model: independent
    errors with equal variance).

    Examples
    --------
    >>> import numpy as np
    >>> from cpeval.models import cr2
    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(40), rng.normal(size=40)])
    >>> vcov, df = cr2(x, rng.normal(size=40), np.repeat(np.arange(8), 5))
    >>> vcov.shape, bool(df[1] < 8)
    ((2, 2), True)
    """
    bread = np.linalg.inv(x.T @ x)
    root = np.linalg.cholesky(bread)
    labels, groups = np.unique(clusters, return_inverse=True)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(len(labels) + 1))
    meat = np.zeros_like(bread)
    scores, norms = [], []
    for j in range(len(labels)):
        rows = order[bounds[j] : bounds[j + 1]]
        adjust = _Adjustment(x[rows] @ root)
        score = x[rows].T @ adjust.apply(residuals[rows])
        meat += np.outer(score, score)
        v = adjust.apply(x[rows] @ bread)  # columns: A_j X_j M u_k
        scores.append(x[rows].T @ v)
        norms.append((v**2).sum(axis=0))
    vcov = bread @ meat @ bread
    return vcov, _satterthwaite(bread, np.stack(scores), np.stack(norms))


class _Adjustment:
    """``A_j = (I - H_jj)^(-1/2)`` applied without forming it (H_jj has rank <= p).

    ``H_jj = (X_j L)(X_j L)'`` with ``M = L L'``; from the thin SVD ``X_j L = U S V'``,
    ``A_j = I + U diag((1 - s^2)^(-1/2) - 1) U'``, a Moore-Penrose inverse root
    where ``1 - s^2`` is zero (as clubSandwich).
    """

    def __init__(self, scaled: np.ndarray) -> None:
        u, singular, _ = np.linalg.svd(scaled, full_matrices=False)
        rest = 1 - singular**2
        factor = (
            np.where(rest > 1e-10, 1 / np.sqrt(np.clip(rest, 1e-10, None)), 0.0) - 1
        )
        self.u, self.factor = u, factor

    def apply(self, values: np.ndarray) -> np.ndarray:
        inner = self.u.T @ values
        scale = self.factor if values.ndim == 1 else self.factor[:, None]
        return values + self.u @ (scale * inner)


def _satterthwaite(bread: np.ndarray, scores: np.ndarray, norms: np.ndarray):
    """df per coefficient from ``g_i'g_j = [i = j] |v_j|^2 - s_i' M s_j``.

    ``scores[j][:, k] = X_j' v_jk`` and ``norms[j, k] = |v_jk|^2``; the Gram matrix
    of the ``g_j`` needs no n x n matrix.
    """
    dfs = np.empty(bread.shape[0])
    for k in range(len(dfs)):
        s = scores[:, :, k].T  # p x J
        gram = np.diag(norms[:, k]) - s.T @ bread @ s
        dfs[k] = np.trace(gram) ** 2 / np.sum(gram**2)
    return dfs
