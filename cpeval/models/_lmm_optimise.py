"""Finding theta for a linear mixed model: the optimiser, the Newton polish and
lme4's convergence checks.

Two kinds of criterion:

- :class:`NumericCriterion` (the sparse engine): values only, searched from
  lme4's start by lme4's own optimiser (NLopt's BOBYQA with ``nloptwrap``'s
  tolerances), with derivatives by central differences of values;
- :class:`ExactCriterion` (nested random intercepts, and the Schur engine):
  the same search, then the exact gradient (``_nested.criterion_and_gradient``)
  and the Hessian as central differences of it for the Newton polish, the
  convergence check and, with no further evaluation, the Satterthwaite df
  (``_lmm_df.satterthwaite_exact``).

BOBYQA measured faster than L-BFGS-B with the exact gradient on both engines
(an evaluation with the gradient costs 2-3 values, and a gradient search stops
at 0 wherever a scalar term's theta reaches it, because the criterion is even
in it, whether or not 0 is a minimum).
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np

from ._lmm_df import gradient, hessian, steps
from ._nested import criterion, criterion_and_gradient

__all__ = ["ExactCriterion", "NumericCriterion", "optimise"]

#: lme4's ``isSingular`` tolerance: a diagonal theta below it is on the boundary.
SINGULAR_TOL = 1e-4
#: lme4's ``check.conv.grad`` tolerance (``.makeCC("warning", tol = 2e-3)``) on
#: the scaled gradient ``H^-1 g``.
GRADIENT_TOL = 2e-3
#: A level's SD at most 1000 residual SDs: keeps ``X'V^-1 X`` invertible.
THETA_MAX = 1e3
#: lme4's ``nloptwrap`` defaults (``environment(nloptwrap)$defaultControl``).
BOBYQA_XTOL_ABS = 1e-8
BOBYQA_FTOL_ABS = 1e-8
BOBYQA_MAXEVAL = 100_000
#: Newton steps polish the optimum until one would lower the criterion by less
#: than half this: far below the 1e-6 in logLik at which fits are compared
#: with lme4.
NEWTON_DECREMENT = 1e-9
#: Bound parameters with a gradient below this are moving off the boundary.
BOUNDARY_SLOPE = -1e-2
#: Other starts (scaled from lme4's start of 1) whose criterion is checked
#: against the optimum found (nested engine: a second search only if one is lower).
OTHER_STARTS = (0.3, 3.0, 0.1)


class NumericCriterion:
    """The profiled criterion of a design; derivatives by central differences."""

    def __init__(self, design, reml: bool) -> None:
        self.design, self.reml = design, reml

    def __call__(self, theta) -> float:
        return criterion(self.design, np.asarray(theta, float), self.reml)

    def search(self, start: np.ndarray, lower: np.ndarray) -> SimpleNamespace:
        """lme4's default optimiser for lmer (``nloptwrap``): NLopt's BOBYQA
        with lme4's tolerances and bounds (finite upper bounds make NLopt take a
        first step of a quarter of the range: thousands of evaluations)."""
        import nlopt

        best = SimpleNamespace(x=np.asarray(start, float), fun=np.inf)

        def objective(theta, grad):
            value = float(self(theta))
            if value < best.fun:
                best.x, best.fun = np.array(theta, float), value
            return value

        search = nlopt.opt(nlopt.LN_BOBYQA, len(start))
        search.set_min_objective(objective)
        search.set_lower_bounds(np.asarray(lower, float))
        search.set_upper_bounds(np.full(len(start), np.inf))
        search.set_xtol_abs(BOBYQA_XTOL_ABS)
        search.set_ftol_abs(BOBYQA_FTOL_ABS)
        search.set_maxeval(BOBYQA_MAXEVAL)
        # rounding can stop the search (nloptr returns NLOPT_ROUNDOFF_LIMITED to
        # lme4 as a status, not an error): keep the best point it found; the
        # Newton polish and the convergence check judge it
        with contextlib.suppress(nlopt.RoundoffLimited):
            search.optimize(np.asarray(start, float))
        return best

    def gradient(self, theta: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Gradient in the parameters ``which`` (a boolean mask)."""
        return gradient(lambda v: self(_put(theta, which, v)), theta[which])

    def derivatives(self, theta: np.ndarray, free: np.ndarray):
        """Gradient and Hessian in the free parameters only."""

        def restricted(values):
            return self(_put(theta, free, values))

        return gradient(restricted, theta[free]), hessian(restricted, theta[free])


class ExactCriterion(NumericCriterion):
    """The criterion with its exact gradient (nested and Schur engines)."""

    def __init__(self, design, reml: bool) -> None:
        super().__init__(design, reml)
        self._hessians: dict[bytes, np.ndarray] = {}

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        return criterion_and_gradient(self.design, np.asarray(theta, float), self.reml)

    def gradient(self, theta: np.ndarray, which: np.ndarray) -> np.ndarray:
        return self.value_and_gradient(theta)[1][which]

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """The full Hessian at ``theta``: central differences of the exact
        gradient, symmetrised (kept for the Satterthwaite df)."""
        key = np.asarray(theta, float).tobytes()
        if key not in self._hessians:
            h = steps(theta)
            columns = []
            for k in range(len(theta)):
                up, down = theta.copy(), theta.copy()
                up[k] += h[k]
                down[k] -= h[k]
                columns.append(
                    (self.value_and_gradient(up)[1] - self.value_and_gradient(down)[1])
                    / (2 * h[k])
                )
            curvature = np.column_stack(columns)
            self._hessians = {key: (curvature + curvature.T) / 2}
        return self._hessians[key]

    def derivatives(self, theta: np.ndarray, free: np.ndarray):
        grad = self.value_and_gradient(theta)[1][free]
        return grad, self.hessian(theta)[np.ix_(free, free)]


def optimise(objective: NumericCriterion, start: np.ndarray, lower: np.ndarray):
    """theta minimising the criterion, whether lme4's convergence check holds,
    and notes on the Hessian."""
    diagonal = lower == 0
    best = objective.search(start, lower)
    if isinstance(objective, ExactCriterion):
        # the criterion can have local optima: search again from another start
        # only if its criterion is already below the optimum found
        others = [np.where(diagonal, s, 0.0) for s in OTHER_STARTS]
        values = [objective(other) for other in others]
        if min(values) < best.fun:
            result = objective.search(others[int(np.argmin(values))], lower)
            if result.fun < best.fun:
                best = result
    theta, derivatives = _newton(objective, best.x, float(best.fun), lower)
    value = objective(theta)
    # a flat criterion can stop a search at 0: step each bound parameter off it
    # (with an exact gradient, those still worth it after each move)
    pending, tried = list(_retry_at(objective, theta, diagonal)), set()
    while pending:
        k = pending.pop(0)
        tried.add(k)
        begin = theta.copy()
        begin[k] = 0.1
        retry = objective.search(begin, lower)
        if retry.fun < value:
            candidate, polished = _newton(objective, retry.x, retry.fun, lower)
            if objective(candidate) < value:
                theta, value, derivatives = candidate, objective(candidate), polished
                if isinstance(objective, ExactCriterion):
                    pending = [
                        j
                        for j in _retry_at(objective, theta, diagonal)
                        if j not in tried
                    ]
    converged, notes = _convergence(objective, theta, lower, derivatives)
    return theta, converged, notes


def _retry_at(objective, theta: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """The bound parameters to search off the boundary again. With an exact
    gradient (scalar terms: the criterion is even in each theta, so its slope
    at 0 is 0 and a gradient search stops there whether or not it is a
    minimum), only those along which the criterion curves down at 0: those
    with a negative diagonal in the Hessian; otherwise every bound parameter."""
    bound = np.flatnonzero(diagonal & (theta < SINGULAR_TOL))
    if not isinstance(objective, ExactCriterion) or not len(bound):
        return bound
    curvature = np.diag(objective.hessian(theta))
    return bound[curvature[bound] < 0]


def _put(base: np.ndarray, where: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = base.copy()
    full[where] = values
    return full


def _free(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Parameters inside their bounds (off-diagonals are always free)."""
    return (lower != 0) | (theta > SINGULAR_TOL)


def _newton(objective, theta: np.ndarray, value: float, lower: np.ndarray, steps=10):
    """Polish a point with Newton steps on the free parameters (step halving,
    bounds kept); stops when a step no longer lowers the criterion, moves
    theta by less than 1e-9, or its Newton decrement ``g'H^-1 g`` (twice the
    fall it predicts) is below ``NEWTON_DECREMENT``. Returns theta and
    ``(free, gradient, Hessian)`` at it (None if theta moved last or nothing is
    free)."""
    theta = np.asarray(theta, float)
    derivatives = None
    for _ in range(steps):
        free = _free(theta, lower)
        if not free.any():
            return theta, None
        grad, curvature = objective.derivatives(theta, free)
        derivatives = (free, grad, curvature)
        try:
            np.linalg.cholesky(curvature)  # a minimum: positive definite
            step = np.linalg.solve(curvature, grad)
        except np.linalg.LinAlgError:
            break
        if grad @ step < NEWTON_DECREMENT:  # the step would lower it by less
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


def _convergence(objective, theta: np.ndarray, lower: np.ndarray, derivatives=None):
    """lme4's checks: the scaled gradient ``H^-1 g`` on the free parameters is
    below ``GRADIENT_TOL``, no bound parameter has a downhill gradient, and the
    Hessian is positive definite (``derivatives``: the Newton polish's, if at
    this theta)."""
    free = _free(theta, lower)
    if (~free).any():
        at = np.where(free, theta, np.maximum(theta, SINGULAR_TOL))
        slope = objective.gradient(at, ~free)
        if np.any(slope < BOUNDARY_SLOPE):
            return False, ("the criterion still falls off the boundary",)
    if not free.any():
        return True, ()
    if derivatives is None or not np.array_equal(derivatives[0], free):
        derivatives = (free, *objective.derivatives(theta, free))
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
