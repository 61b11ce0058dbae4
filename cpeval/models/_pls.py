"""Penalised least squares for any random-effect structure (lme4's formulation).

For ``V = I + Z Lambda Lambda' Z'`` (``sigma^2 = 1``) and ``W = [X y]``, with
``A = Lambda' Z' Z Lambda + I`` (``q x q``, sparse), the matrix determinant lemma
and the Woodbury identity give

- ``log|V| = log|A|``,
- ``W' V^-1 W = W'W - (Lambda' Z' W)' A^-1 (Lambda' Z' W)``,

which is lme4's penalised least-squares solution (Bates et al. 2015, *J Stat
Softw* 67(1), eqs. 16-34) written with ``A^-1`` instead of ``L_theta^-1``. The
profiled REML/ML criterion then follows from ``W' V^-1 W`` exactly as for nested
random intercepts (``cpeval.models._nested.criterion``).

``A`` is factored with QDLDL (an ``L D L'`` factorisation with an AMD
fill-reducing ordering, from the OSQP project; ``pip install qdldl`` has wheels).
lme4 uses CHOLMOD; scikit-sparse, its Python binding, has no wheels and needs
SuiteSparse's headers to build, so it cannot be installed on a machine with only
Python and pip. The sparsity pattern of ``A`` does not change with ``theta``, so
each evaluation only refactors the numbers (``qdldl.Solver.update``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import qdldl
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from ._nested import Derivatives, Solution, finish
from ._reterms import RandomTerms

__all__ = ["SchurDesign", "SparseDesign", "SparseFactor", "make_design"]

_PATTERN_SEED = 20150101  # values for the structural pattern of A (any nonzero)


@dataclass
class SparseFactor:
    """``L D L'`` of symmetric positive-definite matrices with one fixed pattern.

    Parameters
    ----------
    pattern : scipy.sparse matrix
        Any matrix with the largest pattern the factored matrices can have
        (only its upper triangle and diagonal are used).
    """

    pattern: sp.spmatrix
    _keys: np.ndarray = field(init=False, repr=False)
    _diagonal: np.ndarray = field(init=False, repr=False)
    _template: sp.csc_matrix = field(init=False, repr=False)
    _solver: object = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        q = self.pattern.shape[0]
        upper = sp.triu(self.pattern + sp.identity(q), format="csc")
        upper.sum_duplicates()
        upper.sort_indices()
        upper.data = np.ones_like(upper.data)
        self._template = upper
        self._keys = _keys(upper)
        self._diagonal = np.searchsorted(self._keys, np.arange(q) * (q + 1))

    def values(self, matrix: sp.spmatrix) -> np.ndarray:
        """The upper triangle of ``matrix`` as values on the factor's pattern."""
        upper = sp.triu(matrix, format="csc")
        upper.sum_duplicates()
        upper.sort_indices()
        keys = _keys(upper)
        where = np.searchsorted(self._keys, keys)
        if np.any(where >= len(self._keys)) or np.any(self._keys[where] != keys):
            raise ValueError("the matrix has entries outside the factor's pattern")
        values = np.zeros(len(self._keys))
        values[where] = upper.data
        return values

    def factor(self, matrix: sp.spmatrix, shift: float = 0.0) -> None:
        """Factor ``matrix + shift I`` (``matrix``'s pattern inside ``pattern``)."""
        self.factor_values(self.values(matrix), shift)

    def factor_values(self, values: np.ndarray, shift: float = 0.0) -> None:
        """Factor the matrix with these values on the pattern, plus ``shift I``."""
        values = values.copy()
        values[self._diagonal] += shift
        template = self._template
        filled = sp.csc_matrix(
            (values, template.indices, template.indptr), shape=template.shape
        )
        if self._solver is None:
            self._solver = qdldl.Solver(filled, upper=True)
        else:
            self._solver.update(filled, upper=True)

    def logdet(self) -> float:
        """``log|matrix|`` of the last factored matrix."""
        d = self._solver.factors()[1]
        if np.any(d <= 0):
            raise np.linalg.LinAlgError("the matrix is not positive definite")
        return float(np.log(d).sum())

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``matrix^-1 b`` for a vector or the columns of a matrix."""
        b = np.asarray(b, float)
        if b.ndim == 1:
            return np.asarray(self._solver.solve(b))
        return np.column_stack([self._solver.solve(col) for col in b.T])


def _keys(matrix: sp.csc_matrix) -> np.ndarray:
    """Position ``column * rows + row`` of each stored value (sorted for CSC)."""
    columns = np.repeat(
        np.arange(matrix.shape[1], dtype=np.int64), np.diff(matrix.indptr)
    )
    return columns * matrix.shape[0] + matrix.indices.astype(np.int64)


@dataclass
class SparseDesign:
    """``Z'Z``, ``Z'W`` and ``W'W`` of a model, and the factor of ``A``.

    Parameters
    ----------
    terms : RandomTerms
    x : numpy.ndarray
        ``n x p`` fixed-effects design.
    y : numpy.ndarray
        Outcome.
    """

    terms: RandomTerms
    x: np.ndarray
    y: np.ndarray
    n: int = field(init=False)
    p: int = field(init=False)
    ztz: sp.csc_matrix = field(init=False, repr=False)
    ztw: np.ndarray = field(init=False, repr=False)
    wtw: np.ndarray = field(init=False, repr=False)
    factor: SparseFactor = field(init=False, repr=False)
    _pairs: np.ndarray = field(init=False, repr=False)
    _a_parts: np.ndarray = field(init=False, repr=False)
    _b_parts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        z = self.terms.z
        w = np.column_stack([self.x, self.y])
        self.n, self.p = self.x.shape
        self.ztz = (z.T @ z).tocsc()
        self.ztw = np.asarray(z.T @ w)
        self.wtw = w.T @ w
        rng = np.random.default_rng(_PATTERN_SEED)
        lam = self.terms.lambda_(rng.uniform(0.5, 1.5, len(self.terms.start)))
        self.factor = SparseFactor(lam.T @ self.ztz @ lam)
        self._precompute()

    def _precompute(self) -> None:
        """``Lambda = sum_r theta_r E_r``, so ``Lambda' Z'Z Lambda`` is
        ``sum_{r<=s} theta_r theta_s M_rs`` and ``Lambda' Z'W`` is
        ``sum_r theta_r E_r' Z'W``: the ``M_rs`` (on the factor's pattern) and
        ``E_r' Z'W`` are computed once, so an evaluation is a weighted sum."""
        m = len(self.terms.start)
        units = [self.terms.lambda_(np.eye(m)[r]) for r in range(m)]
        pairs, parts = [], []
        for r in range(m):
            for s in range(r, m):
                part = units[r].T @ self.ztz @ units[s]
                if r != s:
                    part = part + part.T
                if part.nnz:
                    pairs.append((r, s))
                    parts.append(self.factor.values(part))
        self._pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        self._a_parts = np.array(parts)
        self._b_parts = np.array([np.asarray(e.T @ self.ztw) for e in units])

    def solve(self, theta: np.ndarray) -> Solution:
        """Quadratic forms in ``V^-1`` and ``log|V|`` at ``theta``."""
        theta = np.asarray(theta, float)
        weights = theta[self._pairs[:, 0]] * theta[self._pairs[:, 1]]
        self.factor.factor_values(weights @ self._a_parts, shift=1.0)
        b = np.tensordot(theta, self._b_parts, axes=1)
        quad = self.wtw - b.T @ self.factor.solve(b)
        return finish(quad, self.p, self.factor.logdet())


#: Largest number of random effects outside the eliminated term for which the
#: Schur complement is used (a dense ``q2 x q2`` Cholesky each evaluation; above
#: a few hundred the sparse factorisation is faster).
SCHUR_MAX = 200


@dataclass
class SchurDesign:
    """The same criterion with one scalar term eliminated first.

    A scalar term (one random effect per level, e.g. ``(1 | id)``) has a
    diagonal block ``A_11 = I + theta_1^2 diag(Z_1'Z_1)``: each row belongs to one
    level. With ``A_12 = theta_1 Z_1'Z_2 Lambda_2`` and the rest ``A_22``,
    ``log|A| = sum log A_11 + log|S|`` and the solves go through the Schur
    complement ``S = A_22 - A_12' A_11^-1 A_12`` (``q2 x q2``, dense).
    ``A_11`` takes few values (the rows per participant), so the participants
    are grouped by it and ``Z_2'Z_1 D Z_1'Z_2``, ``Z_2'Z_1 D Z_1'W`` and
    ``W'Z_1 D Z_1'W`` are weighted sums of per-group matrices computed once:
    an evaluation costs ``O(groups q2^2 + q2^3)``, whatever the number of
    participants.

    Parameters
    ----------
    terms : RandomTerms
    x, y : numpy.ndarray
    first : int
        Index (in ``terms.terms``) of the scalar term to eliminate.
    """

    terms: RandomTerms
    x: np.ndarray
    y: np.ndarray
    first: int
    n: int = field(init=False)
    p: int = field(init=False)

    def __post_init__(self) -> None:
        w = np.column_stack([self.x, self.y])
        self.n, self.p = self.x.shape
        terms = self.terms.terms
        one = terms[self.first]
        rest = tuple(t for i, t in enumerate(terms) if i != self.first)
        self._rest = RandomTerms(rest, n=self.terms.n)
        z1, z2 = one.z(), self._rest.z
        d1 = np.asarray(z1.multiply(z1).sum(axis=0)).ravel()
        z12 = (z1.T @ z2).tocsr()
        w1 = np.asarray(z1.T @ w)
        q2 = z2.shape[1]
        m = len(self._rest.start)
        self._units = np.array(
            [self._rest.lambda_(np.eye(m)[r]).toarray() for r in range(m)]
        ).reshape(m, q2, q2)
        # Lambda_2's derivatives are 0/1 patterns with at most one 1 in each
        # column: unit' M is rows of M moved, kept as (from, to) positions
        self._unit_moves = [np.nonzero(u) for u in self._units]
        if any(len(np.unique(cols)) < len(cols) for _, cols in self._unit_moves):
            raise ValueError("a column of Lambda has two entries of one theta")
        diagonal = all(np.array_equal(u, np.diag(np.diag(u))) for u in self._units)
        self._diagonal = (
            np.array([np.diag(u) for u in self._units]).reshape(m, q2)
            if diagonal
            else None
        )
        self._z22 = (z2.T @ z2).toarray()
        self._w2 = np.asarray(z2.T @ w)
        self.wtw = w.T @ w
        self._where = sum(t.n_theta for t in terms[: self.first])
        # A_11 has few distinct values (rows per participant): sums over the
        # levels that share one are computed once
        values, group = np.unique(d1, return_inverse=True)
        self._values = values
        self._counts = np.bincount(group, minlength=len(values)).astype(float)
        self._zz = np.empty((len(values), q2, q2))
        self._zw = np.empty((len(values), q2, self.p + 1))
        self._ww = np.empty((len(values), self.p + 1, self.p + 1))
        for v in range(len(values)):
            rows = np.flatnonzero(group == v)
            part = z12[rows]
            self._zz[v] = (part.T @ part).toarray()
            self._zw[v] = np.asarray(part.T @ w1[rows])
            self._ww[v] = w1[rows].T @ w1[rows]

    def _lambda(self, theta: np.ndarray) -> _Lambda:
        """``Lambda_2`` at ``theta`` (the parameters other than ``theta_1``)."""
        rest = np.delete(theta, self._where)
        if self._diagonal is not None:
            return _Lambda(diagonal=rest @ self._diagonal)
        return _Lambda(matrix=np.tensordot(rest, self._units, axes=1))

    def solve(self, theta: np.ndarray) -> Solution:
        """Quadratic forms in ``V^-1`` and ``log|V|`` at ``theta``."""
        theta = np.asarray(theta, float)
        t2 = theta[self._where] ** 2
        lam2 = self._lambda(theta)
        a11 = 1.0 + t2 * self._values  # each distinct diagonal value of A_11
        weights = t2 / a11
        inner = self._z22 - np.tensordot(weights, self._zz, axes=1)
        schur = lam2.both(inner)
        schur[np.diag_indices_from(schur)] += 1.0
        chol = np.linalg.cholesky(schur)  # LinAlgError if not positive definite
        c = lam2.left(self._w2 - np.tensordot(weights, self._zw, axes=1))
        half = solve_triangular(chol, c, lower=True)
        quad = self.wtw - np.tensordot(weights, self._ww, axes=1) - half.T @ half
        logdet = float(self._counts @ np.log(a11))
        logdet += 2.0 * float(np.log(np.diag(chol)).sum())
        return finish(quad, self.p, logdet)

    def solve_with_derivatives(self, theta: np.ndarray) -> tuple[Solution, Derivatives]:
        """:meth:`solve` and its exact first derivatives in theta.

        With ``G = Z_2'W - Z_2'Z_1 D Z_1'W`` (``D = diag(theta_1^2 / A_11)``),
        ``c = Lambda_2' G`` and ``S = Lambda_2' (Z_2'Z_2 - Z_2'Z_1 D Z_1'Z_2)
        Lambda_2 + I``: ``W'V^-1 W = W'W - W'Z_1 D Z_1'W - c' S^-1 c``, so ``d(W'V^-1
        W) = -W'Z_1 dD Z_1'W - dc' S^-1 c - c' S^-1 dc + c' S^-1 dS S^-1 c`` and
        ``d log|S| = tr(S^-1 dS)``; ``theta_1`` enters through ``D`` (``dD =
        2 theta_1 / A_11^2``) and ``log A_11``, the others through ``Lambda_2``
        (linear in them).
        """
        from scipy.linalg import cho_solve

        theta = np.asarray(theta, float)
        where, p1 = self._where, self.p + 1
        t1 = theta[where]
        lam2 = self._lambda(theta)
        a11 = 1.0 + t1**2 * self._values
        weights, dweights = t1**2 / a11, 2.0 * t1 / a11**2
        inner = self._z22 - np.tensordot(weights, self._zz, axes=1)
        g = self._w2 - np.tensordot(weights, self._zw, axes=1)
        inner_lam = lam2.right(inner)
        schur = lam2.left(inner_lam)
        schur[np.diag_indices_from(schur)] += 1.0
        chol = np.linalg.cholesky(schur)
        c = lam2.left(g)
        s_c = cho_solve((chol, True), c)
        s_inv = cho_solve((chol, True), np.eye(len(schur)))
        quad = self.wtw - np.tensordot(weights, self._ww, axes=1) - c.T @ s_c
        logdet = float(self._counts @ np.log(a11))
        logdet += 2.0 * float(np.log(np.diag(chol)).sum())
        dlogdet = np.zeros(len(theta))
        dquad = np.zeros((len(theta), p1, p1))
        others = [k for k in range(len(theta)) if k != where]
        for (rows, cols), k in zip(self._unit_moves, others, strict=True):
            d_schur = np.zeros_like(schur)
            d_schur[cols] = inner_lam[rows]
            d_schur = d_schur + d_schur.T
            d_c = np.zeros_like(c)
            d_c[cols] = g[rows]
            dlogdet[k], dquad[k] = _schur_terms(s_inv, s_c, d_schur, d_c)
        d_inner = -np.tensordot(dweights, self._zz, axes=1)
        d_g = -np.tensordot(dweights, self._zw, axes=1)
        dlogdet[where], dquad[where] = _schur_terms(
            s_inv, s_c, lam2.both(d_inner), lam2.left(d_g)
        )
        dlogdet[where] += float(self._counts @ (2.0 * t1 * self._values / a11))
        dquad[where] -= np.tensordot(dweights, self._ww, axes=1)
        return finish(quad, self.p, logdet), Derivatives(dlogdet, dquad)


@dataclass(frozen=True)
class _Lambda:
    """``Lambda_2`` as a matrix, or as its diagonal when every remaining term
    is a scalar random intercept (products then cost ``O(q^2)``)."""

    matrix: np.ndarray | None = None
    diagonal: np.ndarray | None = None

    def left(self, m: np.ndarray) -> np.ndarray:
        """``Lambda_2' m``."""
        if self.diagonal is not None:
            return self.diagonal[:, None] * m
        return self.matrix.T @ m

    def right(self, m: np.ndarray) -> np.ndarray:
        """``m Lambda_2``."""
        if self.diagonal is not None:
            return m * self.diagonal[None, :]
        return m @ self.matrix

    def both(self, m: np.ndarray) -> np.ndarray:
        """``Lambda_2' m Lambda_2``."""
        return self.left(self.right(m))


def _schur_terms(s_inv, s_c, d_schur, d_c):
    """``tr(S^-1 dS)`` and ``-dc' S^-1 c - c' S^-1 dc + c' S^-1 dS S^-1 c``."""
    cross = d_c.T @ s_c
    return float(np.sum(s_inv * d_schur)), s_c.T @ d_schur @ s_c - cross - cross.T


#: The Schur engine groups the participants by their diagonal value of
#: ``A_11`` (rows per participant); with more distinct values than this (a
#: random slope on a continuous variable) the sparse factorisation is used.
SCHUR_GROUPS = 64


def make_design(terms: RandomTerms, x: np.ndarray, y: np.ndarray):
    """The faster exact engine for these terms: the Schur complement when a
    scalar term can be eliminated and at most ``SCHUR_MAX`` random effects
    remain; otherwise the sparse factorisation."""
    scalar = [i for i, t in enumerate(terms.terms) if t.k == 1]
    if scalar and len(terms.terms) > 1:
        first = max(scalar, key=lambda i: terms.terms[i].levels)
        z1 = terms.terms[first].matrix[:, 0]
        distinct = len(np.unique(np.bincount(terms.terms[first].codes, weights=z1**2)))
        if terms.q - terms.terms[first].levels <= SCHUR_MAX and (
            distinct <= SCHUR_GROUPS
        ):
            return SchurDesign(terms, x, y, first)
    return SparseDesign(terms, x, y)
