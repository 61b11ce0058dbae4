"""Cluster-robust covariance CR2 with Satterthwaite degrees of freedom.

Bell & McCaffrey (2002); Pustejovsky & Tipton (2018), as R clubSandwich's
``vcovCR(type = "CR2")`` and ``coef_test(test = "Satterthwaite")`` for OLS.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import DataError

__all__ = ["cr2", "cr2_wald"]


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
    parts = _Parts(x, residuals, clusters)
    vcov = parts.bread @ parts.meat @ parts.bread
    return vcov, _satterthwaite(parts.bread, parts.scores(), parts.norms())


class _Parts:
    """Per-cluster pieces of CR2: the bread ``M = (X'X)^-1``, the meat and, for
    each cluster ``j``, ``X_j`` and ``V_j = A_j X_j M`` (columns: coefficients)."""

    def __init__(self, x: np.ndarray, residuals: np.ndarray, clusters) -> None:
        bread = np.linalg.inv(x.T @ x)
        root = np.linalg.cholesky(bread)
        labels, groups = np.unique(clusters, return_inverse=True)
        order = np.argsort(groups, kind="stable")
        bounds = np.searchsorted(groups[order], np.arange(len(labels) + 1))
        meat = np.zeros_like(bread)
        self.x: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        for j in range(len(labels)):
            rows = order[bounds[j] : bounds[j + 1]]
            adjust = _Adjustment(x[rows] @ root)
            score = x[rows].T @ adjust.apply(residuals[rows])
            meat += np.outer(score, score)
            self.x.append(x[rows])
            self.v.append(adjust.apply(x[rows] @ bread))
        self.bread, self.meat = bread, meat

    def scores(self, contrasts: np.ndarray | None = None) -> np.ndarray:
        """``X_j' V_j C'`` stacked over clusters: shape (J, p, q)."""
        return np.stack(
            [
                xj.T @ (vj if contrasts is None else vj @ contrasts.T)
                for xj, vj in zip(self.x, self.v, strict=True)
            ]
        )

    def norms(self) -> np.ndarray:
        """``|V_j u_k|^2`` for every cluster and coefficient: shape (J, p)."""
        return np.stack([(vj**2).sum(axis=0) for vj in self.v])

    def gram(self, contrasts: np.ndarray) -> np.ndarray:
        """clubSandwich's P array for the rows ``c_s`` of ``contrasts``: entry
        ``[s, t, i, j] = [i = j] (V_i c_s)'(V_i c_t) - s_is' M s_jt``, shape
        (q, q, J, J)."""
        s = self.scores(contrasts)  # J x p x q
        cross = np.stack([(vj @ contrasts.T).T @ (vj @ contrasts.T) for vj in self.v])
        n = len(self.v)
        gram = -np.einsum("ips,pr,jrt->stij", s, self.bread, s)
        gram[:, :, np.arange(n), np.arange(n)] += np.moveaxis(cross, 0, -1)
        return gram


def cr2_wald(
    x: np.ndarray,
    residuals: np.ndarray,
    clusters: np.ndarray,
    params: np.ndarray,
    contrasts: np.ndarray,
) -> tuple[float, float, float, float]:
    """CR2 Wald test of ``contrasts @ params = 0`` by the Hotelling T-squared
    approximation "HTZ" (Pustejovsky & Tipton 2018), as R clubSandwich's
    ``Wald_test(fit, constraints, vcov = "CR2", test = "HTZ")`` for OLS.

    Parameters
    ----------
    x, residuals, clusters : ndarray
        As :func:`cr2`.
    params : ndarray, shape (p,)
        The OLS coefficients.
    contrasts : ndarray, shape (q, p)
        One row per constraint.

    Returns
    -------
    tuple of float
        ``(F, df_num, df_denom, p_value)``: ``F = (nu - q + 1) / (nu q) Q`` with
        ``Q`` the Wald statistic on the CR2 covariance, on ``q`` and
        ``nu - q + 1`` df, where ``nu = q (q + 1) / sum_st Var(Omega~_st)`` under
        the working model (independent errors with equal variance). With one
        constraint, ``F = t^2`` on the Satterthwaite df of :func:`cr2`.

    Examples
    --------
    >>> import numpy as np
    >>> from cpeval.models import cr2_wald
    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(60), rng.normal(size=(60, 2))])
    >>> y = rng.normal(size=60)
    >>> beta = np.linalg.lstsq(x, y, rcond=None)[0]
    >>> f, q, df, p = cr2_wald(x, y - x @ beta, np.repeat(np.arange(12), 5),
    ...                        beta, np.array([[0.0, 1, -1]]))
    >>> q, bool(0 < p < 1)
    (1, True)
    """
    from scipy import stats

    contrasts = np.atleast_2d(np.asarray(contrasts, dtype=float))
    if contrasts.ndim != 2 or contrasts.shape[1] != x.shape[1]:
        raise DataError(
            f"contrasts must have one column per coefficient ({x.shape[1]}); got "
            f"shape {contrasts.shape}"
        )
    parts = _Parts(x, residuals, clusters)
    vcov = parts.bread @ parts.meat @ parts.bread
    q = contrasts.shape[0]
    gram = parts.gram(contrasts)
    omega = np.trace(gram, axis1=2, axis2=3)
    values, vectors = np.linalg.eigh(omega)
    root = vectors @ np.diag(values**-0.5) @ vectors.T  # Omega^(-1/2)
    b = np.einsum("sa,abij,bt->stij", root, gram, root)
    variance = np.einsum("stij,tsij->st", b, b) + np.einsum("ssij,ttij->st", b, b)
    nu = q * (q + 1) / variance.sum()
    estimate = contrasts @ params
    wald = float(estimate @ np.linalg.solve(contrasts @ vcov @ contrasts.T, estimate))
    df_denom = nu - q + 1
    f_stat = max(df_denom / nu, 0.0) * wald / q
    p_value = float(stats.f.sf(f_stat, q, df_denom)) if df_denom > 0 else np.nan
    return float(f_stat), q, float(df_denom), p_value


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
