"""Kenward-Roger small-sample inference for linear mixed models.

The adjusted covariance of the fixed effects and the denominator degrees of freedom
of Kenward & Roger (1997), computed exactly as R pbkrtest 0.5.2 does
(``vcovAdj``, ``Lb_ddf``, ``KRmodcomp``; Halekoh & Hojsgaard 2014), which is also
what ``lmerTest::summary(fit, ddf = "Kenward-Roger")`` reports for each coefficient.

The module knows nothing of model fitting: it works on the design matrix ``X``, the
fitted marginal covariance ``V`` and the derivatives ``G_r = dV/dgamma_r`` of ``V``
with respect to the variance parameters, all dense (or, for ``G_r``, sparse) arrays.

References
----------
Kenward, M. G. & Roger, J. H. (1997). Small sample inference for fixed effects from
restricted maximum likelihood. *Biometrics* 53(3), 983-997.

Halekoh, U. & Hojsgaard, S. (2014). A Kenward-Roger approximation and parametric
bootstrap methods for tests in linear mixed models - the R package pbkrtest.
*Journal of Statistical Software* 59(9), 1-30.

R package pbkrtest 0.5.2, functions ``vcovAdj_internal``, ``.get_SigmaG``,
``Lb_ddf`` and ``.KR_adjust``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numpy.typing import ArrayLike

from ..exceptions import DataError

__all__ = [
    "MAX_KR_ROWS",
    "KRAdjustment",
    "KRDdf",
    "KRFTest",
    "g_matrices",
    "kenward_roger",
    "kr_ddf",
    "kr_ftest",
]

MAX_KR_ROWS = 10_000
"""Most rows for which KR is computed: it needs several dense n x n matrices (V^-1
and ``G_r V^-1`` for each random-effect parameter, 0.8 GB each at 10,000 rows)."""

SINGULAR_INFORMATION = 1e-10
"""pbkrtest inverts the information matrix when its smallest absolute eigenvalue
exceeds this, and otherwise uses the Moore-Penrose inverse (``MASS::ginv``)."""

GINV_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
"""``MASS::ginv``'s tolerance: singular values below this times the largest are 0."""

ZERO_V0 = 1e-10
"""pbkrtest sets ``V0 = 1 + c1 B`` to 0 when its absolute value is below this."""

DIV_ZERO = 1e-14
"""pbkrtest's ``.divZero``: 0/0 (both below this in absolute value) is taken as 1."""

DDF_NEAR_TWO = 0.01
"""``.KR_adjust`` sets the F scaling to 1 when the ddf is within this of 2."""

Matrix: TypeAlias = np.ndarray | sp.spmatrix | sp.sparray


@dataclass(frozen=True)
class KRAdjustment:
    """The Kenward-Roger adjusted covariance and what the ddf of a contrast needs.

    Attributes
    ----------
    vcov : ndarray, shape (p, p)
        Adjusted covariance of the fixed effects, ``Phi + 2 Phi U Phi`` (pbkrtest's
        ``vcovAdj``); lmerTest's KR standard errors are the roots of its diagonal.
    phi : ndarray, shape (p, p)
        Unadjusted covariance ``(X' V^-1 X)^-1`` (lme4's ``vcov``).
    p : ndarray, shape (m, p, p)
        ``P_r = -X' V^-1 G_r V^-1 X`` for each variance parameter.
    q : ndarray, shape (m, m, p, p)
        ``Q_rs = X' V^-1 G_r V^-1 G_s V^-1 X`` (``Q_sr = Q_rs'``).
    w : ndarray, shape (m, m)
        ``W = 2 I^-1``, the inverse of the REML expected information of the
        variance parameters, with ``I`` as in :attr:`information`.
    information : ndarray, shape (m, m)
        pbkrtest's ``IE2``: ``tr(V^-1 G_r V^-1 G_s) - 2 tr(Phi Q_rs)
        + tr(Phi P_r Phi P_s)``, twice the REML expected information.
    condition : float
        Smallest absolute eigenvalue of :attr:`information`; at or below
        ``SINGULAR_INFORMATION`` ``w`` is a Moore-Penrose inverse, as in pbkrtest.
    """

    vcov: np.ndarray
    phi: np.ndarray
    p: np.ndarray
    q: np.ndarray
    w: np.ndarray
    information: np.ndarray
    condition: float


@dataclass(frozen=True)
class KRDdf:
    """Kenward-Roger denominator df of a hypothesis ``L beta = 0``.

    Attributes
    ----------
    ndf : int
        Numerator df, the number of rows of ``L``.
    ddf : float
        Denominator df (for one row, the df of the t test lmerTest reports).
    f_scaling : float
        Factor ``lambda`` by which the Wald F statistic is multiplied (1 when the
        ddf is within 0.01 of 2, as pbkrtest).
    a1, a2 : float
        Kenward & Roger's ``A1`` and ``A2``.
    rho : float
        ``rho = V[F*] / (2 E[F*]^2)`` from which ``ddf = 4 + (q + 2) / (q rho - 1)``.
    """

    ndf: int
    ddf: float
    f_scaling: float
    a1: float
    a2: float
    rho: float


@dataclass(frozen=True)
class KRFTest:
    """Kenward-Roger F test of ``L beta = rhs`` (pbkrtest ``KRmodcomp``).

    Attributes
    ----------
    statistic : float
        Scaled F statistic ``f_scaling * statistic_unscaled`` (pbkrtest ``Fstat``).
    ndf : int
    ddf : float
    f_scaling : float
    p_value : float
        ``P(F(ndf, ddf) > statistic)``.
    statistic_unscaled : float
        Wald statistic with the adjusted covariance, over ``ndf`` (``FstatU``).
    p_value_unscaled : float
        ``P(F(ndf, ddf) > statistic_unscaled)`` (``p.valueU``).
    """

    statistic: float
    ndf: int
    ddf: float
    f_scaling: float
    p_value: float
    statistic_unscaled: float
    p_value_unscaled: float


def g_matrices(z_terms: Sequence[tuple[Matrix, int]], n: int) -> list[sp.csr_matrix]:
    """Derivatives ``G_r = dV/dgamma_r`` of the marginal covariance, pbkrtest's order.

    ``V = sum_r gamma_r G_r``: for each random-effect term, one parameter per element
    of the lower triangle of its ``k x k`` covariance matrix, taken column by column
    (``(1,1), (2,1), ..., (k,1), (2,2), ...``; as pbkrtest's ``.get_SigmaG``, which
    reads ``VarCorr`` with ``lower.tri`` and builds the matrices from the same
    positions of the upper triangle taken row by row), then the residual variance
    ``sigma^2`` with ``G = I``. A variance ``(i, i)`` gives
    ``Z (I_levels (x) E_ii) Z'``; a covariance ``(i, j)`` gives
    ``Z (I_levels (x) (E_ij + E_ji)) Z'``.

    Parameters
    ----------
    z_terms : sequence of (Z_term, k)
        Each random-effect term, in the model's order: its dense or sparse
        ``n x (levels * k)`` matrix with columns level-major (for each level of the
        grouping factor its ``k`` columns: intercept, slope, ...), as lme4's ``Zt``
        rows, and ``k``.
    n : int
        Number of observations.

    Returns
    -------
    list of scipy.sparse.csr_matrix, each n x n
        ``k (k + 1) / 2`` matrices for each term, then the identity.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.kron(np.eye(2), np.ones((2, 1)))  # 2 clusters of 2, intercepts
    >>> [g.toarray().tolist() for g in g_matrices([(z, 1)], 4)][0][0]
    [1.0, 1.0, 0.0, 0.0]
    >>> len(g_matrices([(np.hstack([z, z * 3]), 2)], 4))  # k = 2: 3 + residual
    4
    """
    out: list[sp.csr_matrix] = []
    for z_term, k in z_terms:
        z = sp.csr_matrix(z_term, dtype=float)
        if z.shape[0] != n:
            raise DataError(f"a random-effect term has {z.shape[0]} rows, not {n}")
        if k < 1 or z.shape[1] % k:
            raise DataError(
                f"a random-effect term has {z.shape[1]} columns, not a multiple of"
                f" its {k} effects per level"
            )
        columns = [z[:, i::k] for i in range(k)]  # one column per level
        for j in range(k):
            for i in range(j, k):
                g = columns[i] @ columns[j].T
                if i != j:
                    g = g + g.T
                out.append(sp.csr_matrix(g))
    out.append(sp.identity(n, format="csr"))
    return out


def kenward_roger(x: ArrayLike, v: ArrayLike, g: Sequence[Matrix]) -> KRAdjustment:
    """Kenward-Roger adjusted covariance of the fixed effects, as pbkrtest.

    With ``Phi = (X' V^-1 X)^-1``, ``P_r = -X' V^-1 G_r V^-1 X``,
    ``Q_rs = X' V^-1 G_r V^-1 G_s V^-1 X`` and ``W`` the inverse of the REML
    expected information of the variance parameters,
    ``Phi_A = Phi + 2 Phi [sum_rs W_rs (Q_rs - P_r Phi P_s)] Phi``
    (Kenward & Roger 1997, eq. 2 and 3, without the ``R_rs`` terms: ``V`` is linear
    in its parameters, so their second derivatives vanish, and pbkrtest drops them).

    Parameters
    ----------
    x : array_like, shape (n, p)
        Fixed-effects design matrix, full column rank.
    v : array_like, shape (n, n)
        Fitted marginal covariance of the outcome, ``sigma^2 (Z Lambda Lambda' Z' +
        I)`` at the REML estimates (pbkrtest refits an ML fit by REML first).
    g : sequence of matrices, each n x n
        ``dV/dgamma_r`` for each variance parameter (dense or sparse; see
        :func:`g_matrices`).

    Returns
    -------
    KRAdjustment

    Raises
    ------
    DataError
        If ``n`` exceeds ``MAX_KR_ROWS``, the shapes disagree, ``V`` is not
        positive definite or ``X`` is rank deficient.

    Notes
    -----
    As pbkrtest's ``vcovAdj_internal``: ``W = 2 IE2^-1`` with
    ``IE2_rs = tr(V^-1 G_r V^-1 G_s) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s)``
    (twice the expected, not the observed, REML information; the residual variance
    is a parameter like the others, with ``G = I``), and the Moore-Penrose inverse
    when the smallest absolute eigenvalue of ``IE2`` is at most 1e-10.

    Examples
    --------
    >>> import numpy as np
    >>> cluster = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])  # 3 clusters, unequal
    >>> z = np.eye(3)[cluster]
    >>> x = np.column_stack([np.ones(9), np.arange(9.0)])
    >>> g = g_matrices([(z, 1)], 9)  # cluster variance, then residual
    >>> kr = kenward_roger(x, 0.5 * g[0] + 1.0 * g[1], g)
    >>> np.round(np.sqrt(np.diag(kr.vcov) / np.diag(kr.phi)), 3)  # SE inflation
    array([1.221, 1.402])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise DataError("X must be a matrix (n x p)")
    n, n_fixed = x.shape
    if n > MAX_KR_ROWS:
        raise DataError(
            f"Kenward-Roger needs several dense n x n matrices, and n = {n} exceeds"
            f" {MAX_KR_ROWS:,} rows; use Satterthwaite degrees of freedom instead"
        )
    v = np.asarray(v.toarray() if sp.issparse(v) else v, dtype=float)
    if v.shape != (n, n):
        raise DataError(f"V must be {n} x {n} (the rows of X), not {v.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(v))):
        raise DataError("X and V must be finite")
    g = [_check_g(gr, n) for gr in g]
    if not g:
        raise DataError("Kenward-Roger needs at least one variance parameter")
    if np.linalg.matrix_rank(x) < n_fixed:
        raise DataError("X is rank deficient: Kenward-Roger needs full column rank")
    vinv = _inverse(v, "V")
    t = vinv @ x  # V^-1 X
    phi = _inverse(x.T @ t, "X' V^-1 X")
    m = len(g)
    o = [gr @ t for gr in g]  # G_r V^-1 X
    p = np.stack([_symmetric(-(orr.T @ t)) for orr in o])
    vo = [vinv @ orr for orr in o]  # V^-1 G_r V^-1 X
    q = np.empty((m, m, n_fixed, n_fixed))
    for r in range(m):
        for s in range(r, m):
            q[r, s] = o[r].T @ vo[s]
            q[s, r] = q[r, s].T
    ktrace = _trace_products(g, vinv)
    info = np.empty((m, m))
    for r in range(m):
        phi_p = phi @ p[r]
        for s in range(r, m):
            info[r, s] = info[s, r] = (
                ktrace[r, s] - 2 * np.sum(phi * q[r, s]) + np.sum(phi_p * (p[s] @ phi))
            )
    condition = float(np.min(np.abs(np.linalg.eigvalsh(info))))
    if condition > SINGULAR_INFORMATION:
        w = 2 * np.linalg.inv(info)
    else:
        w = 2 * np.linalg.pinv(info, rcond=GINV_TOLERANCE)
    w = _symmetric(w)
    u = np.zeros((n_fixed, n_fixed))
    for r in range(m):
        p_phi = p[r] @ phi
        for s in range(m):
            u += w[r, s] * (q[r, s] - p_phi @ p[s])
    vcov = _symmetric(phi + 2 * phi @ u @ phi)
    return KRAdjustment(
        vcov=vcov, phi=phi, p=p, q=q, w=w, information=info, condition=condition
    )


def kr_ddf(contrast: ArrayLike, adjustment: KRAdjustment) -> KRDdf:
    """Kenward-Roger denominator df of ``L beta = 0`` (pbkrtest ``Lb_ddf``).

    With ``Theta = L' (L Phi L')^-1 L``, ``A1 = sum_rs W_rs tr(Theta Phi P_r Phi)
    tr(Theta Phi P_s Phi)`` and ``A2 = sum_rs W_rs tr(Theta Phi P_r Phi Theta Phi
    P_s Phi)``, ``q`` rows of ``L``, ``B = (A1 + 6 A2) / (2q)``,
    ``g = ((q + 1) A1 - (q + 4) A2) / ((q + 2) A2)``,
    ``c1, c2, c3 = (g, q - g, q + 2 - g) / (3q + 2 (1 - g))``,
    ``rho = (1 - A2/q)^2 (1 + c1 B) / (q (1 - c2 B)^2 (1 - c3 B))``,
    ``ddf = 4 + (q + 2) / (q rho - 1)`` and
    ``f_scaling = ddf (1 - A2/q) / (ddf - 2)`` (Kenward & Roger 1997, section 4).

    Parameters
    ----------
    contrast : array_like, shape (p,) or (q, p)
        Contrast matrix of full row rank (one row: a single contrast).
    adjustment : KRAdjustment
        From :func:`kenward_roger`.

    Returns
    -------
    KRDdf

    Notes
    -----
    The quantities are computed in floating point as pbkrtest does, with no guard
    beyond pbkrtest's: ``A2 = 0`` (a contrast free of the variance parameters)
    gives an infinite or undefined ``g`` and so a nan or infinite ddf.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.kron(np.eye(4), np.ones((3, 1)))
    >>> x = np.column_stack([np.ones(12), np.repeat([0.0, 1.0], 6)])
    >>> g = g_matrices([(z, 1)], 12)
    >>> kr = kenward_roger(x, 0.5 * g[0] + 1.0 * g[1], g)
    >>> round(kr_ddf([0, 1], kr).ddf, 6)  # arm allocated by cluster: 4 - 2
    2.0
    """
    lmat = _contrast(contrast, adjustment.phi.shape[0])
    phi, p, w = adjustment.phi, adjustment.p, adjustment.w
    n_rows = lmat.shape[0]
    theta = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
    theta_phi = theta @ phi
    us = [theta_phi @ pr @ phi for pr in p]
    traces = np.array([np.trace(ur) for ur in us])
    m = len(us)
    a1 = a2 = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for r in range(m):
            for s in range(r, m):
                e = 1.0 if r == s else 2.0
                a1 += e * w[r, s] * traces[r] * traces[s]
                a2 += e * w[r, s] * np.sum(us[r] * us[s].T)
        q = np.float64(n_rows)
        b = (a1 + 6 * a2) / (2 * q)
        gg = ((q + 1) * a1 - (q + 4) * a2) / ((q + 2) * a2)
        denominator = 3 * q + 2 * (1 - gg)
        c1, c2, c3 = (
            gg / denominator,
            (q - gg) / denominator,
            (q + 2 - gg) / denominator,
        )
        v0 = 1 + c1 * b
        v1 = 1 - c2 * b
        v2 = 1 - c3 * b
        if abs(v0) < ZERO_V0:
            v0 = 0.0
        rho = 1 / q * _div_zero(1 - a2 / q, v1) ** 2 * v0 / v2
        ddf = 4 + (q + 2) / (q * rho - 1)
        if abs(ddf - 2) < DDF_NEAR_TWO:
            f_scaling = 1.0
        else:
            f_scaling = ddf * (1 - a2 / q) / (ddf - 2)
    return KRDdf(
        ndf=n_rows,
        ddf=float(ddf),
        f_scaling=float(f_scaling),
        a1=float(a1),
        a2=float(a2),
        rho=float(rho),
    )


def kr_ftest(
    contrast: ArrayLike,
    beta: ArrayLike,
    adjustment: KRAdjustment,
    rhs: ArrayLike | None = None,
) -> KRFTest:
    """Kenward-Roger F test of ``L beta = rhs`` (pbkrtest ``KRmodcomp`` with ``L``).

    ``F = f_scaling (L b - rhs)' (L Phi_A L')^-1 (L b - rhs) / q`` on ``q`` and
    ``ddf`` degrees of freedom, with ``Phi_A`` the adjusted covariance and ``ddf``,
    ``f_scaling`` from :func:`kr_ddf`.

    Parameters
    ----------
    contrast : array_like, shape (p,) or (q, p)
        Contrast matrix of full row rank.
    beta : array_like, shape (p,)
        Fixed-effect estimates.
    adjustment : KRAdjustment
        From :func:`kenward_roger`.
    rhs : array_like, shape (q,), optional
        Hypothesised value of ``L beta`` (default 0; pbkrtest's ``L betaH``).

    Returns
    -------
    KRFTest

    Examples
    --------
    >>> import numpy as np
    >>> z = np.kron(np.eye(4), np.ones((3, 1)))
    >>> x = np.column_stack([np.ones(12), np.repeat([0.0, 1.0], 6)])
    >>> g = g_matrices([(z, 1)], 12)
    >>> kr = kenward_roger(x, 0.5 * g[0] + 1.0 * g[1], g)
    >>> test = kr_ftest([[0, 1]], [3.0, 1.0], kr)
    >>> test.ndf, round(test.ddf, 6)
    (1, 2.0)
    """
    from scipy import stats

    lmat = _contrast(contrast, adjustment.phi.shape[0])
    beta = np.asarray(beta, dtype=float).reshape(-1)
    if beta.shape[0] != lmat.shape[1]:
        raise DataError(
            f"beta has {beta.shape[0]} values, L has {lmat.shape[1]} columns"
        )
    difference = lmat @ beta
    if rhs is not None:
        difference = difference - np.broadcast_to(
            np.asarray(rhs, float), (lmat.shape[0],)
        )
    ddf = kr_ddf(lmat, adjustment)
    wald = float(
        difference @ np.linalg.solve(lmat @ adjustment.vcov @ lmat.T, difference)
    )
    unscaled = wald / ddf.ndf
    scaled = ddf.f_scaling * unscaled
    return KRFTest(
        statistic=scaled,
        ndf=ddf.ndf,
        ddf=ddf.ddf,
        f_scaling=ddf.f_scaling,
        p_value=float(stats.f.sf(scaled, ddf.ndf, ddf.ddf)),
        statistic_unscaled=unscaled,
        p_value_unscaled=float(stats.f.sf(unscaled, ddf.ndf, ddf.ddf)),
    )


def _check_g(g: Matrix, n: int) -> Matrix:
    g = sp.csr_matrix(g, dtype=float) if sp.issparse(g) else np.asarray(g, dtype=float)
    if g.shape != (n, n):
        raise DataError(f"each G_r must be {n} x {n}, not {g.shape}")
    return g


def _is_identity(g: Matrix) -> bool:
    n = g.shape[0]
    if sp.issparse(g):
        return g.nnz == n and bool(np.all(g.diagonal() == 1.0))
    return bool(np.array_equal(g, np.eye(n)))


def _trace_products(g: Sequence[Matrix], vinv: np.ndarray) -> np.ndarray:
    """``tr(G_r V^-1 G_s V^-1)`` for all ``r, s`` (pbkrtest's ``Ktrace``).

    ``H_r = G_r V^-1`` is formed once for each non-identity ``G_r`` (``V^-1`` itself
    stands for the residual's), and ``tr(H_r H_s) = sum(H_r * H_s')`` (summed without
    forming the product).
    """
    h = [vinv if _is_identity(gr) else np.asarray(gr @ vinv) for gr in g]
    m = len(h)
    out = np.empty((m, m))
    for r in range(m):
        for s in range(r, m):
            out[r, s] = out[s, r] = np.einsum("ij,ji->", h[r], h[s])
    return out


def _inverse(a: np.ndarray, what: str) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (``chol2inv``)."""
    try:
        factor = scipy.linalg.cho_factor(a, lower=True)
    except np.linalg.LinAlgError:
        raise DataError(f"{what} is not positive definite") from None
    inverse = scipy.linalg.cho_solve(factor, np.eye(a.shape[0]), overwrite_b=True)
    return _symmetric(inverse)


def _symmetric(a: np.ndarray) -> np.ndarray:
    return (a + a.T) / 2


def _contrast(contrast: ArrayLike, n_fixed: int) -> np.ndarray:
    lmat = np.atleast_2d(np.asarray(contrast, dtype=float))
    if lmat.ndim != 2 or lmat.shape[1] != n_fixed:
        raise DataError(f"L must have {n_fixed} columns (one per fixed effect)")
    if not np.all(np.isfinite(lmat)):
        raise DataError("L must be finite")
    if np.linalg.matrix_rank(lmat) < lmat.shape[0]:
        raise DataError("L must have full row rank")
    return lmat


def _div_zero(x: float, y: float) -> float:
    """pbkrtest's ``.divZero``: ``x / y``, or 1 when both are (nearly) zero."""
    if abs(x) < DIV_ZERO and abs(y) < DIV_ZERO:
        return 1.0
    return x / y
