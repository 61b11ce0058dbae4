"""Generalised linear mixed models in lme4's formulation (``glmer``).

Binomial (logit, probit) and Poisson (log) outcomes with any random-effect
structure from lme4 formula syntax (``_reterms``), fitted as lme4 1.1-31's
``glmer`` does (Bates, Maechler, Bolker and Walker 2015, *J Stat Softw* 67(1);
``lme4:::mkGlmerDevfun``, ``optimizeGlmer``, and ``glmerLaplace`` /
``glmerAGQ`` in ``src/external.cpp``):

- **PIRLS.** For given ``theta`` and ``beta``, the conditional modes ``u`` of the
  spherical random effects minimise the penalised deviance (deviance residuals
  plus ``|u|^2``; ``eta = X beta + Z Lambda(theta) u``), by penalised
  iteratively reweighted least squares with Fisher weights
  ``w = m mu'(eta)^2 / V(mu)`` and step halving, on the sparse
  ``A = Lambda' Z' W Z Lambda + I`` (``SparseFactor``: QDLDL, one pattern).
  As lme4's ``pwrssUpdate``: every evaluation starts from the linear predictor
  at the end of the previous stage (``lp0``) and stops when the penalised
  deviance changes by less than ``tolPwrss = 1e-7``, relative.
- **Laplace.** ``-2 log L = -2 log p(y | u) + |u|^2 + log|A|`` at the modes
  (lme4's ``glmResp::Laplace``: ``ldL2 + sqrL + aic``), with ``log|A|`` from
  the last PIRLS iteration's weights, one step behind the modes, as lme4
  computes it. That makes the criterion lme4's function to the last digit;
  ``log|A|`` at the exact modes moves cbpp's estimates by 4e-4 and its
  standard errors by 1.3%.
- **Adaptive Gauss-Hermite quadrature** (one scalar random-effect term only,
  as lme4): each level's integral over its own ``u_i`` with ``k`` nodes
  centred at the mode and scaled by the conditional SD ``1 / sqrt(A_ii)``.
- **Two stages** (lme4's ``nAGQ0initStep``): first ``theta`` alone, with
  ``beta`` in PIRLS beside ``u`` (lme4's ``nAGQ = 0`` criterion); then
  ``theta`` and ``beta`` together on the Laplace or quadrature deviance.
- **Standard errors** as lme4's ``vcov()`` of a ``glmer`` fit: from the
  finite-difference Hessian ``H`` of the deviance in ``(theta, beta)``
  (``glmerControl(calc.derivs = TRUE)``, ``vcov.merMod(use.hessian = TRUE)``):
  the ``beta`` block of ``2 H^-1``, which carries the uncertainty of
  ``theta``. lme4 falls back to the ``RX``-based ``(X' W X - ...)^-1`` (theta
  held fixed) only when that matrix is not positive definite; so does this.

The criterion minimised is always ``-2`` times the full marginal
log-likelihood (lme4's ``logLik`` for the Laplace fit; for quadrature lme4
leaves out the saturated model's log-likelihood, and ``GlmmResult.llf`` keeps
it). The optimiser differs from lme4's (L-BFGS-B, restarted off a zero
standard deviation, then Newton steps, where lme4 runs bobyqa and
Nelder-Mead); the estimates agree with lme4's within its optimisers'
tolerances (about 1e-5, relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, special
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

from .._checks import numeric
from .._format import show
from .._results import check_level
from ..exceptions import DataError
from ._families import GlmFamily
from ._formula import patsy_matrices
from ._glmm_results import GlmmResult, _RiskModel
from ._intervals import t_pvalue
from ._lmm import check_rank
from ._pls import SparseFactor
from ._reterms import (
    RandomTerms,
    build_terms,
    complete_rows,
    lower_pairs,
    split_formula,
    varcorr,
)

__all__ = ["GlmmResult", "fit_glmm"]

Family = Literal["binomial", "poisson"]
#: Links each family allows (the first is the canonical link, lme4's default).
LINKS: dict[str, tuple[str, ...]] = {
    "binomial": ("logit", "probit"),
    "poisson": ("log",),
}
#: lme4's ``mkGlmerDevfun``: ``nAGQ <= 25``.
MAX_AGQ = 25
#: lme4's ``glmerControl(tolPwrss = 1e-7)``: PIRLS stops when the penalised
#: deviance changes by less than this, relative. lme4's Laplace deviance takes
#: ``log|A|`` from the last iteration's weights (one step behind the modes);
#: the criterion here is the same function, so the estimates are lme4's.
PIRLS_TOL = 1e-7
#: lme4's ``maxit`` of PIRLS (``mkGlmerDevfun(maxit = 100L)``).
PIRLS_MAXIT = 100
#: lme4's ``maxstephalfit`` (``pwrssUpdate``).
STEP_HALVINGS = 20
#: lme4's ``deriv12(delta = 1e-4)``: the step of the finite-difference gradient
#: and Hessian of the deviance in ``(theta, beta)``.
HESSIAN_STEP = 1e-4
#: lme4's ``check.conv.grad`` tolerance (``.makeCC("warning", tol = 2e-3)``).
GRADIENT_TOL = 2e-3
#: lme4's ``check.conv.hess`` tolerance (``.makeCC("warning", tol = 1e-6)``).
HESSIAN_TOL = 1e-6
#: lme4's ``isSingular`` tolerance: a diagonal theta below it is on the boundary.
SINGULAR_TOL = 1e-4
#: lme4's ``glmerControl(boundary.tol = 1e-5)``: a theta this close to its bound
#: is set on it when the deviance is no worse.
BOUNDARY_TOL = 1e-5
#: L-BFGS-B's stopping rules (both stages; lme4 uses bobyqa and Nelder-Mead,
#: whose own tolerances leave its estimates about 1e-5 from the optimum).
LBFGS_OPTIONS = {"ftol": 1e-12, "gtol": 1e-7, "maxiter": 2000}
#: Newton steps after L-BFGS-B, at most; a step that moves no parameter by more
#: than ``NEWTON_MOVE`` is the last, and a step halved below ``MIN_STEP_SCALE``
#: is abandoned.
NEWTON_STEPS = 5
NEWTON_MOVE = 1e-8
MIN_STEP_SCALE = 1e-3
#: Where a standard deviation stuck at 0 restarts (``_minimise``).
OFF_BOUNDARY = 0.1
#: A relative SD at most 1000: keeps ``A`` well conditioned.
THETA_MAX = 1e3


# ------------------------------------------------------------------ the criterion


class _PirlsFailed(ArithmeticError):
    """PIRLS did not converge or could not lower the penalised deviance."""


@dataclass
class _Mode:
    """The conditional modes at one ``(theta, beta)`` and what depends on them."""

    u: np.ndarray
    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    logdet: float  # log|A| (lme4's ldL2), at the last PIRLS iteration's weights
    loglik: float  # log p(y | u), with the binomial/Poisson constants
    weights: np.ndarray  # those Fisher weights


class _ZLambda:
    """``Z Lambda(theta)`` and the factor of ``A = Lambda' Z' W Z Lambda + I``.

    Row ``r`` of ``Z Lambda`` holds, for each term, ``x_r' T`` (``T`` the term's
    lower-triangular block of ``Lambda``) in its level's ``k`` columns: a fixed
    pattern whose values change with ``theta``. Each stored value of ``A`` is a
    sum over rows of ``w_r`` times a product of two of those values, so ``A``
    is a sparse map (fixed pattern, values set once per ``theta``) applied to
    ``w``: no sparse matrix product inside PIRLS. With one scalar term ``A``
    is diagonal and needs no factorisation.
    """

    def __init__(self, terms: RandomTerms) -> None:
        self.terms = terms
        n, q = terms.n, terms.q
        offsets = np.cumsum([0] + [t.levels * t.k for t in terms.terms])
        columns = np.column_stack(
            [
                offset + t.codes[:, None] * t.k + np.arange(t.k)[None, :]
                for offset, t in zip(offsets, terms.terms, strict=False)
            ]
        )  # n x K: the column of each stored value of a row
        self.columns = columns
        first, second = np.triu_indices(columns.shape[1])
        lo = np.minimum(columns[:, first], columns[:, second]).ravel()
        hi = np.maximum(columns[:, first], columns[:, second]).ravel()
        # the factor's values in its order: the upper triangle and diagonal,
        # column by column (keys ``column * q + row``, as ``SparseFactor``)
        keys = np.unique(
            np.concatenate([hi.astype(np.int64) * q + lo, np.arange(q) * (q + 1)])
        )
        where = np.searchsorted(keys, hi.astype(np.int64) * q + lo)
        rows = np.repeat(np.arange(n), len(first))
        self.order = np.lexsort((rows, where))
        indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(where, minlength=len(keys)))]
        )
        # the map's pattern is fixed: set_theta only rewrites its values
        self.map = sp.csr_matrix(
            (np.ones(len(rows)), rows[self.order], indptr), shape=(len(keys), n)
        )
        self.first, self.second = first, second
        self.q = q
        # one scalar term (each row in one level): A is diagonal, no factor
        self.diagonal = len(keys) == q
        self.factor = None
        if not self.diagonal:
            pattern = sp.csc_matrix((np.ones(len(lo)), (lo, hi)), shape=(q, q))
            self.factor = SparseFactor(pattern)

    def set_theta(self, theta: np.ndarray) -> None:
        blocks, start = [], 0
        for t in self.terms.terms:
            tri = np.zeros((t.k, t.k))
            for position, (i, j) in enumerate(lower_pairs(t.k)):
                tri[i, j] = theta[start + position]
            start += t.n_theta
            blocks.append(t.matrix @ tri)
        self.values = np.column_stack(blocks)  # n x K, stored in self.columns
        products = self.values[:, self.first] * self.values[:, self.second]
        self.map.data[:] = products.ravel()[self.order]

    def factor_at(self, w: np.ndarray) -> None:
        """Factor ``A`` at the weights ``w``."""
        values = self.map @ w
        if self.diagonal:
            self.a_diagonal = values + 1.0
        else:
            self.factor.factor_values(values, shift=1.0)

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A^-1 b`` for a vector or the columns of a matrix."""
        if self.diagonal:
            d = self.a_diagonal
            return b / (d if b.ndim == 1 else d[:, None])
        return self.factor.solve(b)

    def logdet(self) -> float:
        """``log|A|`` (lme4's ``ldL2``)."""
        if self.diagonal:
            return float(np.log(self.a_diagonal).sum())
        return self.factor.logdet()

    def mul(self, u: np.ndarray) -> np.ndarray:
        """``Z Lambda u``."""
        return np.sum(self.values * u[self.columns], axis=1)

    def tmul(self, v: np.ndarray) -> np.ndarray:
        """``Lambda' Z' v`` for a vector or the columns of a matrix."""
        flat = self.columns.ravel()
        if v.ndim == 1:
            return np.bincount(flat, (self.values * v[:, None]).ravel(), self.q)
        return np.column_stack([self.tmul(col) for col in v.T])


class _Problem:
    """The data of a GLMM and its deviance as a function of ``(theta, beta)``.

    ``y`` is a proportion for the binomial (``successes / trials``) with prior
    weights ``m`` (the trials), and a count for Poisson (``m = 1``).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        m: np.ndarray,
        terms: RandomTerms,
        family: GlmFamily,
        n_agq: int,
    ) -> None:
        self.x, self.y, self.m = x, y, m
        self.n, self.p = x.shape
        self.terms = terms
        self.family = family
        self.n_agq = n_agq
        self.n_theta = len(terms.start)
        self.zop = _ZLambda(terms)
        if family.name == "binomial":
            k, size = np.round(m * y), np.round(m)
            self._k, self._size = k, size
            self._const = (
                special.gammaln(size + 1)
                - special.gammaln(k + 1)
                - special.gammaln(size - k + 1)
            )
            mustart = (m * y + 0.5) / (m + 1)
        else:
            self._const = -special.gammaln(y + 1)
            mustart = y + 0.1
        self.loglik_saturated = float(self.loglik_rows(y).sum())
        self.lp0 = family.linkfun(mustart)
        if n_agq > 1:
            term = terms.terms[0]
            self.codes, self.levels = term.codes, term.levels
            self.zcol = term.matrix[:, 0]
            nodes, weights = np.polynomial.hermite_e.hermegauss(n_agq)
            self.nodes, self.node_weights = nodes, weights / np.sqrt(2 * np.pi)

    # -- pieces
    def loglik_rows(self, mu: np.ndarray) -> np.ndarray:
        """``log p(y_i | mu_i)`` of each row."""
        if self.family.name == "binomial":
            return (
                self._const
                + special.xlogy(self._k, mu)
                + special.xlog1py(self._size - self._k, -mu)
            )
        return self._const + special.xlogy(self.y, mu) - mu

    def _weights(self, eta: np.ndarray, mu: np.ndarray):
        d = self.family.mu_eta(eta)
        var = self.family.variance(mu)
        return self.m * d**2 / var, d

    # -- PIRLS
    def pirls(self, theta: np.ndarray, beta: np.ndarray | None = None) -> _Mode:
        """The conditional modes at ``theta`` and ``beta`` (``beta=None``: the
        first stage's joint modes of ``u`` and ``beta``), from the linear
        predictor ``lp0``, as lme4's ``pwrssUpdate``: each iteration solves
        the penalised weighted least squares of the working response for the
        modes themselves, halves a step that raises the penalised deviance,
        and stops when that changes by less than ``PIRLS_TOL``, relative.

        Raises
        ------
        _PirlsFailed
            No convergence in ``PIRLS_MAXIT`` iterations, or step halving
            failed.
        """
        fam, x = self.family, self.x
        zl = self.zop
        zl.set_theta(theta)
        joint = beta is None
        offset = np.zeros(self.n) if joint else x @ beta
        eta = self.lp0
        mu = fam.linkinv(eta)
        u = b = None
        old = np.inf
        for _ in range(PIRLS_MAXIT):
            w, d = self._weights(eta, mu)
            work = eta - offset + (self.y - mu) / d
            zl.factor_at(w)
            cu = zl.tmul(w * work)
            if joint:
                c = zl.tmul(w[:, None] * x)
                ac = zl.solve(c)
                rx = x.T @ (w[:, None] * x) - c.T @ ac
                b_new = np.linalg.solve(rx, x.T @ (w * work) - ac.T @ cu)
                u_new = zl.solve(cu - c @ b_new)
            else:
                b_new = beta
                u_new = zl.solve(cu)
            eta, mu, pdev = self._update(zl, u_new, b_new, offset, joint)
            if abs(old - pdev) < PIRLS_TOL * pdev:
                break
            if not pdev <= old:  # lme4's step halving
                for _ in range(STEP_HALVINGS):
                    u_new = (u + u_new) / 2
                    if joint:
                        b_new = (b + b_new) / 2
                    eta, mu, pdev = self._update(zl, u_new, b_new, offset, joint)
                    if pdev <= old:
                        break
                if not pdev - old <= PIRLS_TOL:
                    raise _PirlsFailed("step halving failed to lower the deviance")
            u, b, old = u_new, b_new, pdev
        else:
            raise _PirlsFailed(f"PIRLS did not converge in {PIRLS_MAXIT} iterations")
        # as lme4: log|A| and the weights are those of the last iteration's
        # factorisation, one PIRLS step behind the modes
        return _Mode(
            u=u_new,
            beta=np.asarray(b_new, float),
            eta=eta,
            mu=mu,
            logdet=zl.logdet(),
            loglik=float(self.loglik_rows(mu).sum()),
            weights=w,
        )

    def _update(self, zl, u, b, offset, joint):
        eta = offset + zl.mul(u) + (self.x @ b if joint else 0.0)
        mu = self.family.linkinv(eta)
        # lme4's penalised deviance: deviance residuals (not -2 log p) + |u|^2
        pdev = 2 * (self.loglik_saturated - self.loglik_rows(mu).sum()) + u @ u
        if not np.isfinite(pdev):
            pdev = np.inf
        return eta, mu, pdev

    # -- the deviances
    def stage_one(self, theta: np.ndarray) -> float:
        """lme4's ``nAGQ = 0`` criterion: ``u`` and ``beta`` both in PIRLS."""
        try:
            mode = self.pirls(np.asarray(theta, float), None)
        except (_PirlsFailed, np.linalg.LinAlgError):
            return np.inf
        return -2 * mode.loglik + mode.u @ mode.u + mode.logdet

    def deviance(self, params: np.ndarray) -> float:
        """``-2 log L`` (Laplace, or quadrature for ``n_agq > 1``) at
        ``(theta, beta)``; infinite where PIRLS fails."""
        try:
            return self._deviance(np.asarray(params, float))
        except (_PirlsFailed, np.linalg.LinAlgError):
            return np.inf

    def _deviance(self, params: np.ndarray) -> float:
        theta, beta = params[: self.n_theta], params[self.n_theta :]
        mode = self.pirls(theta, beta)
        if self.n_agq == 1:
            return -2 * mode.loglik + mode.u @ mode.u + mode.logdet
        return self._quadrature(theta[0], mode)

    def _quadrature(self, theta: float, mode: _Mode) -> float:
        """lme4's ``glmerAGQ`` (the same nodes, centre and scale), summing
        ``-2 log p(y | u)`` where lme4 sums deviance residuals: the saturated
        log-likelihood lme4 leaves out is in."""
        codes, levels = self.codes, self.levels
        precision = 1 + theta**2 * np.bincount(
            codes, mode.weights * self.zcol**2, minlength=levels
        )
        sd = 1 / np.sqrt(precision)

        def devc(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
            dev = -2 * self.loglik_rows(mu)  # deviance residuals less a constant
            return np.bincount(codes, dev, minlength=levels) + u**2

        base = devc(mode.u, mode.mu)
        mult = np.zeros(levels)
        for z, weight in zip(self.nodes, self.node_weights, strict=True):
            shift = z * sd
            eta = mode.eta + theta * self.zcol * shift[codes]
            diff = devc(mode.u + shift, self.family.linkinv(eta)) - base
            mult += weight * np.exp(-0.5 * diff + z**2 / 2)
        return float(base.sum() + np.log(precision).sum() - 2 * np.log(mult).sum())

    def rx_cov(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """``(X'WX - X'W Z Lambda A^-1 Lambda' Z'W X)^-1`` at the modes (lme4's
        ``unsc()``: the covariance with ``theta`` held fixed)."""
        mode = self.pirls(theta, beta)
        w, x = mode.weights, self.x
        c = self.zop.tmul(w[:, None] * x)
        rx = x.T @ (w[:, None] * x) - c.T @ self.zop.solve(c)
        return np.linalg.inv(rx)


# ------------------------------------------------------------------ optimisation


@dataclass
class _Fit:
    params: np.ndarray  # theta then beta
    deviance: float
    gradient: np.ndarray
    hessian: np.ndarray
    converged: bool
    notes: tuple[str, ...]


def _bounded(objective, start: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    bounds = list(zip(lower, upper, strict=True))
    return optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=bounds,
        options=LBFGS_OPTIONS,
    )


def _minimise(objective, start, lower, upper, diagonal) -> tuple[np.ndarray, float]:
    """L-BFGS-B from ``start``, then again from ``OFF_BOUNDARY`` for each
    standard deviation left at 0, keeping the lowest deviance: the deviance is
    even in a scalar term's theta, so 0 is always a stationary point, and a
    gradient method that reaches it (a long first step) stays there whether or
    not it is a minimum (lme4's bobyqa, without derivatives, does not)."""
    result = _bounded(objective, start, lower, upper)
    v, value = np.asarray(result.x, float), float(result.fun)
    for k in diagonal:
        if v[k] < SINGULAR_TOL:
            begin = v.copy()
            begin[k] = OFF_BOUNDARY
            retry = _bounded(objective, begin, lower, upper)
            if retry.fun < value:
                v, value = np.asarray(retry.x, float), float(retry.fun)
    return v, value


def _derivatives(objective, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian (statsmodels' numdiff) with
    lme4's ``deriv12`` step ``HESSIAN_STEP``; the off-diagonal formula is
    ``deriv12``'s, the diagonal uses steps of twice the size."""
    steps = np.full(len(v), HESSIAN_STEP)
    grad = approx_fprime(v, objective, epsilon=2 * steps, centered=True)
    hess = approx_hess3(v, objective, epsilon=steps)
    return np.asarray(grad, float).ravel(), np.asarray(hess, float)


def _newton(objective, v: np.ndarray, value: float, lower: np.ndarray, n_theta: int):
    """Polish a point with Newton steps on the free parameters (step halving,
    bounds kept) until a step no longer lowers the deviance; returns the point,
    its deviance and the derivatives there."""
    grad, hess = _derivatives(objective, v)
    for _ in range(NEWTON_STEPS):
        free = np.ones(len(v), bool)
        free[:n_theta] = (lower[:n_theta] != 0) | (v[:n_theta] > SINGULAR_TOL)
        try:
            np.linalg.cholesky(hess[np.ix_(free, free)])  # a minimum
            step = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        except np.linalg.LinAlgError:
            break
        scale, moved = 1.0, False
        while scale > MIN_STEP_SCALE:
            candidate = v.copy()
            candidate[free] = v[free] - scale * step
            candidate[:n_theta] = np.clip(
                candidate[:n_theta], lower[:n_theta], THETA_MAX
            )
            new = objective(candidate)
            if new < value:
                moved = np.max(np.abs(candidate - v)) > NEWTON_MOVE
                v, value = candidate, new
                break
            scale /= 2
        if scale <= MIN_STEP_SCALE:
            break
        grad, hess = _derivatives(objective, v)
        if not moved:
            break
    return v, value, grad, hess


def _optimise(problem: _Problem, formula: str) -> _Fit:
    """lme4's two stages, then the derivatives and its convergence checks."""
    try:
        return _stages(problem)
    except (_PirlsFailed, np.linalg.LinAlgError) as exc:
        raise DataError(
            f"the model {formula!r} cannot be fitted: the conditional modes were not "
            f"found ({exc}); an outcome that one covariate value predicts "
            "perfectly (separation), or a group with every outcome the same and a "
            "large variance, can do this"
        ) from None


def _stages(problem: _Problem) -> _Fit:
    terms = problem.terms
    lower_theta = terms.lower
    # stage 1 (lme4: bobyqa over theta on the nAGQ = 0 criterion, from its start)
    first = problem.pirls(terms.start, None)  # lme4's initial glmerLaplace call
    problem.lp0 = first.eta
    upper_theta = np.full(problem.n_theta, THETA_MAX)
    diagonal = np.flatnonzero(lower_theta == 0)
    theta1, _ = _minimise(
        problem.stage_one,
        terms.start,
        np.maximum(lower_theta, -THETA_MAX),
        upper_theta,
        diagonal,
    )
    mode1 = problem.pirls(theta1, None)
    problem.lp0 = mode1.eta  # lme4's updateGlmerDevfun: lp0 at the stage-1 fit
    # stage 2 (lme4: Nelder-Mead over theta and beta)
    start = np.concatenate([theta1, mode1.beta])
    lower = np.concatenate([lower_theta, np.full(problem.p, -np.inf)])
    objective = problem.deviance
    v, value = _minimise(
        objective,
        start,
        lower,
        np.concatenate([upper_theta, np.full(problem.p, np.inf)]),
        diagonal,
    )
    # lme4's check.boundary: a theta within BOUNDARY_TOL of its bound goes on it
    for k in np.flatnonzero((lower_theta == 0) & (v[: problem.n_theta] < BOUNDARY_TOL)):
        if v[k] > 0:
            candidate = v.copy()
            candidate[k] = 0.0
            new = objective(candidate)
            if new <= value:
                v, value = candidate, new
    if not np.isfinite(value):
        raise _PirlsFailed("PIRLS failed at the estimates")
    v, value, grad, hess = _newton(objective, v, value, lower, problem.n_theta)
    converged, notes = _convergence(v, grad, hess, problem.n_theta, lower_theta)
    return _Fit(v, value, grad, hess, converged, notes)


def _convergence(v, grad, hess, n_theta, lower_theta) -> tuple[bool, tuple[str, ...]]:
    """lme4's ``checkConv``: no gradient check for a singular fit; the gradient
    scaled by the Cholesky factor of the Hessian (or the gradient itself, the
    smaller) below ``GRADIENT_TOL``; no negative or zero eigenvalue of the
    Hessian (fixed-effect block and all)."""
    notes: list[str] = []
    singular = bool(np.any((lower_theta == 0) & (v[:n_theta] < SINGULAR_TOL)))
    if singular:
        return True, ()
    converged = True
    try:
        upper = np.linalg.cholesky(hess).T
        scaled = np.linalg.solve(upper, grad)
    except np.linalg.LinAlgError:
        scaled = None
    if scaled is None or not np.all(np.isfinite(scaled)):
        converged = False
        notes.append("unable to evaluate the scaled gradient (lme4's check.conv.grad)")
    else:
        worst = float(np.max(np.minimum(np.abs(scaled), np.abs(grad))))
        if worst > GRADIENT_TOL:
            converged = False
            notes.append(
                f"failed to converge with max|grad| = {worst:.3g} (lme4's tolerance "
                f"{GRADIENT_TOL})"
            )
    for block, what in ((hess[n_theta:, n_theta:], "fixed-effect "), (hess, "")):
        ok, note = _check_hessian(block, what)
        converged &= ok
        if note:
            notes.append(note)
    return converged, tuple(dict.fromkeys(notes))


def _check_hessian(h: np.ndarray, what: str) -> tuple[bool, str]:
    """lme4's ``checkHess``."""
    if not np.all(np.isfinite(h)):
        return (
            False,
            f"problem with the {what}Hessian check (infinite or missing values)",
        )
    eig = np.linalg.eigvalsh(h)
    negative = int(np.sum(eig < -HESSIAN_TOL))
    if negative:
        return False, (
            f"degenerate {what}Hessian with {negative} negative eigenvalue(s) "
            "(lme4's check.conv.hess): not a minimum"
        )
    if np.any(np.abs(eig) < HESSIAN_TOL):
        return False, (
            f"{what}Hessian is numerically singular: parameters are not uniquely "
            "determined"
        )
    if eig.max() * HESSIAN_TOL > 1:
        return True, "model is nearly unidentifiable: very large eigenvalue (rescale?)"
    if eig.min() / eig.max() < HESSIAN_TOL:
        return True, "model is nearly unidentifiable: large eigenvalue ratio (rescale?)"
    return True, ""


# ------------------------------------------------------------------ fit_glmm


def fit_glmm(
    data: pd.DataFrame,
    formula: str,
    *,
    family: Family = "binomial",
    link: str | None = None,
    trials: str | None = None,
    n_agq: int = 1,
    level: float = 0.95,
) -> GlmmResult:
    """Generalised linear mixed model, as lme4's ``glmer``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (or per binomial count with ``trials``).
    formula : str
        lme4 syntax, ``"y ~ arm * wave + (1 | team) + (1 | id)"``: fixed
        effects in patsy syntax and random-effect terms ``(expr | group)``
        (correlated) or ``(expr || group)`` (uncorrelated), groups ``g``,
        ``a:b`` or ``a/b``. A formula is code: patsy evaluates it as Python, so
        never build one from untrusted text.
    family : {"binomial", "poisson"}
    link : str, optional
        ``"logit"`` (default) or ``"probit"`` for the binomial, ``"log"``
        (default) for Poisson.
    trials : str, optional
        For a binomial count: the column of trials, the outcome being the
        successes (lme4's ``cbind(successes, trials - successes)``). Without
        it a binomial outcome must be 0/1.
    n_agq : int
        1 (default): the Laplace approximation, any random-effect structure.
        2 to 25: adaptive Gauss-Hermite quadrature with that many nodes, for
        one scalar random-effect term only (``(1 | g)``), as lme4's ``nAGQ``.
    level : float
        Confidence level.

    Returns
    -------
    GlmmResult

    Raises
    ------
    DataError
        An option is not one of its values; a column is missing; an outcome
        value is not 0/1 (binomial), between 0 and the trials (with
        ``trials``) or a count (Poisson), naming the column, row and value;
        the fixed effects are collinear; quadrature is asked for a model other
        than one scalar random-effect term.

    Notes
    -----
    The algorithm is lme4's (see the module docstring): PIRLS for the
    conditional modes, the Laplace or adaptive quadrature deviance, and two
    optimisation stages (``theta`` with ``beta`` in PIRLS, then ``theta`` and
    ``beta`` together; L-BFGS-B and Newton steps here, where lme4 uses bobyqa
    and Nelder-Mead). ``cov`` is lme4's ``vcov()``: the fixed-effect block of
    twice the inverse finite-difference Hessian of the deviance in
    ``(theta, beta)``. Rows with a missing value in a model column are left
    out and counted in ``n_dropped``. Checked against lme4 1.1-31 on cbpp
    (logit Laplace and 10-node quadrature, probit) and grouseticks (Poisson
    with two random terms, 5-node quadrature): ``tests/reference/mixed``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_glmm
    >>> cbpp = pd.read_csv("tests/reference/mixed/cbpp.csv", dtype={"period": str})
    >>> fit = fit_glmm(cbpp, "incidence ~ period + (1 | herd)", trials="size")
    >>> round(float(fit.params["period[T.2]"]), 3), round(fit.theta[0], 3)
    (-0.992, 0.642)
    >>> round(fit.llf, 2)
    -92.03
    """
    fam = _check_options(family, link, trials, n_agq, level)
    fixed, bars = split_formula(formula)
    if not bars:
        raise DataError(
            f"the model {formula!r} has no random effects: add a term such as "
            "(1 | team)"
        )
    work = data.reset_index(drop=True)  # labels may repeat; rows by position
    labels = data.index
    outcome = fixed.split("~")[0].strip()
    if outcome in work.columns:  # text is an error naming the row; True/False 1/0
        work[outcome] = numeric(data[outcome], "outcome").to_numpy()
    rows = complete_rows(work, bars, formula)
    if trials is not None:
        if trials not in work.columns:
            raise DataError(f"trials names a column the data do not have: {trials!r}")
        rows = rows.intersection(work.index[work[trials].notna()])
    used = work.loc[rows]
    yframe, x = patsy_matrices(fixed, used, formula=formula)
    if len(x) == 0:
        raise DataError(f"the model {formula!r} has no complete rows")
    used = used.loc[x.index]
    if yframe.shape[1] != 1:
        raise DataError(
            f"the outcome of {formula!r} must be numeric (0/1 for a binomial "
            "model, counts for Poisson); it is text or a category"
        )
    y = yframe.iloc[:, 0].to_numpy(float)
    sizes = None if trials is None else _trials(used, trials, labels)
    _check_outcome(y, sizes, fam, outcome, labels[x.index.to_numpy()], trials)
    check_rank(x, formula)
    terms = build_terms(used, bars, formula, allow_n=True)
    if n_agq > 1 and (len(terms.terms) != 1 or terms.terms[0].k != 1):
        raise DataError(
            f"n_agq={n_agq} (adaptive quadrature) is only available for a model "
            f"with a single scalar random-effect term such as (1 | group); "
            f"{formula!r} has {len(terms.terms)} term(s) with "
            f"{', '.join(str(t.k) for t in terms.terms)} effect(s) per level "
            "(lme4 refuses it too); use n_agq=1 (Laplace)"
        )
    if sizes is None:
        m = np.ones(len(y))
    else:
        m, y = sizes, y / sizes
    problem = _Problem(x.to_numpy(float), y, m, terms, fam, int(n_agq))
    fit = _optimise(problem, formula)
    return _result(
        problem,
        fit,
        names=list(x.columns),
        level=level,
        n_dropped=len(data) - len(y),
        design_info=x.design_info,
        frame=used,
        trials=trials,
        bars=bars,
        formula=formula,
    )


def _check_options(family, link, trials, n_agq, level) -> GlmFamily:
    if family not in LINKS:
        raise DataError(f"family must be one of {list(LINKS)}; got {family!r}")
    link = LINKS[family][0] if link is None else link
    if link not in LINKS[family]:
        raise DataError(
            f"link for family {family!r} must be one of {list(LINKS[family])}; "
            f"got {link!r}"
        )
    if trials is not None and family != "binomial":
        raise DataError(
            f"trials= gives binomial sizes; family {family!r} takes counts alone"
        )
    if trials is not None and not isinstance(trials, str):
        raise DataError(f"trials must be a column name; got {trials!r}")
    if (
        isinstance(n_agq, bool)
        or not isinstance(n_agq, int | np.integer)
        or not 1 <= n_agq <= MAX_AGQ
    ):
        raise DataError(
            f"n_agq must be a whole number from 1 (Laplace) to {MAX_AGQ} "
            f"(quadrature nodes, lme4's limit); got {n_agq!r}"
        )
    check_level(level)
    return GlmFamily(family, link)


def _trials(used: pd.DataFrame, trials: str, labels: pd.Index) -> np.ndarray:
    values = pd.to_numeric(used[trials], errors="coerce")
    bad = values.isna() | (values < 1) | (values != np.round(values))
    if bad.any():
        position = bad.idxmax()
        raise DataError(
            f"trials '{trials}', row {labels[position]!r}: value "
            f"'{show(used.at[position, trials])}' is not a whole number of 1 or more"
        )
    return values.to_numpy(float)


def _check_outcome(y, sizes, fam, outcome, labels, trials) -> None:
    """0/1, 0..trials, or counts; the first bad row named."""
    whole = np.isfinite(y) & (y == np.round(y))
    if fam.name == "poisson":
        bad, want = ~whole | (y < 0), "a count (a whole number, 0 or more)"
    elif sizes is None:
        bad, want = ~np.isin(y, (0.0, 1.0)), "0 or 1 (or give trials= for counts)"
    else:
        bad = ~whole | (y < 0) | (y > sizes)
        want = f"a whole number from 0 to its trials ('{trials}')"
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"outcome '{outcome}', row {labels[k]!r}: value '{show(y[k])}' must be "
            f"{want} for a {fam.name} model"
        )
    share = y if sizes is None else y / np.where(sizes > 0, sizes, 1)
    if fam.name == "poisson" and not (y > 0).any():
        raise DataError(
            f"outcome '{outcome}' is 0 in all {len(y)} rows used: a rate of 0 has "
            "no finite log and the model cannot be estimated"
        )
    if fam.name == "binomial" and (np.all(share == 0) or np.all(share == 1)):
        raise DataError(
            f"outcome '{outcome}' is {'0' if share[0] == 0 else '1 (every trial)'} in "
            f"all {len(y)} rows used: with one outcome only, no odds can be estimated"
        )


# ------------------------------------------------------------------ the result


def _varcorr(terms: RandomTerms, theta: np.ndarray) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(fit))`` (no residual for a GLMM)."""
    blocks = [(t.group, t.columns) for t in terms.terms]
    return varcorr(blocks, theta, residual=False)


def _result(
    problem: _Problem,
    fit: _Fit,
    *,
    names: list[str],
    level: float,
    n_dropped: int,
    design_info,
    frame: pd.DataFrame,
    trials: str | None,
    bars,
    formula: str,
) -> GlmmResult:
    nt = problem.n_theta
    theta, beta = fit.params[:nt], fit.params[nt:]
    notes = list(fit.notes)
    cov, full = _hessian_cov(fit.hessian, nt)
    cov_source = "Hessian"
    if cov is None:  # lme4's fallback, with its warning
        notes.append(
            "the covariance from the finite-difference Hessian is not positive "
            "definite: falling back to the one from RX, theta held fixed (lme4)"
        )
        cov, cov_source = problem.rx_cov(theta, beta), "RX"
    se = np.sqrt(np.diag(cov))
    mode = problem.pirls(theta, beta)
    deviance_resid = float(2 * (problem.loglik_saturated - mode.loglik))
    llf = -fit.deviance / 2  # every constant in, for quadrature too
    n_par = nt + problem.p
    terms = problem.terms
    singular = bool(np.any(terms.diagonal & (theta < SINGULAR_TOL)))
    varcorr = _varcorr(terms, theta)
    messages = []
    if singular:
        zero = varcorr[varcorr["var2"].isna() & (varcorr["sdcor"] < SINGULAR_TOL)]
        for _, row in zero.iterrows():
            what = "" if row["var1"] == "(Intercept)" else f" in '{row['var1']}'"
            messages.append(
                f"boundary (singular) fit: the variance{what} between "
                f"'{row['grp']}' groups is estimated as (near) zero"
            )
        if not messages:
            messages.append("boundary (singular) fit: see varcorr (lme4's isSingular)")
    messages += notes
    index = pd.Index(names)
    theta_names = tuple(terms.theta_names())
    all_names = [*theta_names, *names]
    return GlmmResult(
        params=pd.Series(beta, index=index),
        se=pd.Series(se, index=index),
        df=pd.Series(np.inf, index=index),
        pvalues=pd.Series(t_pvalue(beta, se, np.inf), index=index),
        cov=pd.DataFrame(cov, index=index, columns=index),
        theta=tuple(float(t) for t in theta),
        theta_names=theta_names,
        varcorr=varcorr,
        llf=float(llf),
        deviance=deviance_resid,
        aic=float(-2 * llf + 2 * n_par),
        bic=float(-2 * llf + np.log(problem.n) * n_par),
        family=problem.family.name,
        link=problem.family.link,
        n_agq=problem.n_agq,
        n_obs=problem.n,
        n_dropped=n_dropped,
        n_groups={t.group: t.levels for t in terms.terms},
        converged=fit.converged,
        singular=singular,
        messages=tuple(messages),
        level=level,
        cov_source=cov_source,
        cov_params=(
            None
            if full is None
            else pd.DataFrame(full, index=all_names, columns=all_names)
        ),
        _model=_RiskModel(
            design_info=design_info,
            random=_random_infos(frame, bars, formula),
            terms=tuple((t.columns, t.n_theta) for t in terms.terms),
            frame=frame,
            trials=trials,
            family=problem.family,
        ),
    )


def _hessian_cov(hess: np.ndarray, n_theta: int):
    """lme4's ``vcov.merMod``: the ``beta`` block of ``H^-1 + H^-T`` (twice the
    inverse Hessian of the deviance, symmetrised), or None when that block is
    not positive definite; and the whole matrix, the covariance of
    ``(theta, beta)``, when it is positive definite (else None)."""
    try:
        inv = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return None, None
    full = inv + inv.T
    if not np.all(np.isfinite(full)):
        return None, None
    block = full[n_theta:, n_theta:]
    cov = block if np.linalg.eigvalsh(block).min() > 0 else None
    whole = full if cov is not None and np.linalg.eigvalsh(full).min() > 0 else None
    return cov, whole


def _random_infos(frame: pd.DataFrame, bars, formula: str) -> tuple:
    """patsy's design info of each random-effect expression (for new data)."""
    return tuple(
        patsy_matrices(bar.expr, frame, formula=formula, na_action="raise").design_info
        for bar in bars
    )
