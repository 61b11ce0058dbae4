"""The exact derivatives behind the mixed-model optimiser and Satterthwaite df.

The nested and Schur engines differentiate their criterion exactly
(``solve_with_derivatives``); these tests hold the derivatives to central
differences of the criterion itself (relative 1e-5: the differences' own error
with a 1e-5 step), the deviance Hessian formula to a numerical Hessian of the
deviance (relative 1e-4), and the df from the exact path to the df from purely
numerical derivatives (relative 1e-4), on designs with 1-3 nested levels,
crossed intercepts and correlated or uncorrelated random slopes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

from cpeval.models import _nested as nested
from cpeval.models._lmm import _codes, _design
from cpeval.models._lmm_df import (
    satterthwaite_df,
    satterthwaite_exact,
    satterthwaite_parts,
)
from cpeval.models._lmm_optimise import ExactCriterion
from cpeval.models._pls import SchurDesign, make_design
from cpeval.models._reterms import build_terms, split_formula

MIXED = Path(__file__).parent / "reference" / "mixed"
LMM = Path(__file__).parent / "reference" / "lmm"
NESTED = {
    "one level": ("unbalanced.csv", "y ~ time * group", ["team"]),
    "two levels": ("unbalanced.csv", "y ~ time * group", ["team", "id"]),
    "three levels": ("three_levels.csv", "y ~ time * group", None),
}
SCHUR = {
    "crossed": (
        "team_wave.csv",
        "y ~ wave * arm + (1 | team) + (1 | team:wave) + (1 | id)",
    ),
    "correlated slope": (
        "team_wave.csv",
        "y ~ wave * arm + (1 + wave | team) + (1 | id)",
    ),
    "uncorrelated slope": (
        "team_wave.csv",
        "y ~ wave * arm + (wave || team) + (1 | id)",
    ),
}


def _nested_design(name):
    file, formula, groups = NESTED[name]
    data = pd.read_csv(LMM / file)
    if groups is None:
        groups = [c for c in ("trust", "team", "id") if c in data.columns]
    y, x, used = _design(data, formula, groups)
    return nested.NestedDesign.build(x.to_numpy(float), y, _codes(used, groups))


def _schur_design(name):
    file, formula = SCHUR[name]
    data = pd.read_csv(MIXED / file)
    fixed, bars = split_formula(formula)
    y, x, used = _design(data, fixed, [], shown=formula)
    terms = build_terms(used, bars, formula)
    design = make_design(terms, x.to_numpy(float), y)
    assert isinstance(design, SchurDesign)
    return design, terms


def _designs():
    for name in NESTED:
        design = _nested_design(name)
        yield name, design, np.zeros(len(design.parents) + 1)
    for name in SCHUR:
        design, terms = _schur_design(name)
        yield name, design, terms.lower


CASES = list(_designs())


def _theta(lower: np.ndarray, seed: int) -> np.ndarray:
    """A point inside the bounds, off-diagonals of either sign."""
    rng = np.random.default_rng(seed)
    return np.where(
        lower == 0, rng.uniform(0.2, 1.5, len(lower)), rng.normal(0, 0.3, len(lower))
    )


def _assert_numerical(exact, function, point, epsilon=1e-5):
    """``exact`` equals the central differences of ``function`` at ``point``
    (relative 1e-5 of the largest entry)."""
    numeric = approx_fprime(point, function, epsilon=epsilon, centered=True)
    np.testing.assert_allclose(
        exact, np.ravel(numeric), rtol=1e-5, atol=1e-5 * np.abs(exact).max()
    )


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(("name", "design", "lower"), CASES, ids=[c[0] for c in CASES])
def test_criterion_gradient_is_exact(name, design, lower, reml):
    for seed in range(3):
        theta = _theta(lower, seed)
        value, grad = nested.criterion_and_gradient(design, theta, reml)
        assert value == pytest.approx(nested.criterion(design, theta, reml), abs=1e-9)
        _assert_numerical(grad, lambda t: nested.criterion(design, t, reml), theta)


@pytest.mark.parametrize(("name", "design", "lower"), CASES, ids=[c[0] for c in CASES])
def test_profile_and_covariance_derivatives(name, design, lower):
    """The derivatives the deviance Hessian and the df are built from: of the
    residual sum of squares, of ``log|X'V^-1 X|`` and of the covariance."""
    theta = _theta(lower, 7)
    varpar = np.append(theta, 3.0)
    sol, deriv = design.solve_with_derivatives(theta)
    drss, dlogdet_xvx = nested.profile_gradient(sol, deriv, design.p)
    _assert_numerical(drss, lambda t: design.solve(t).rss, theta)
    _assert_numerical(dlogdet_xvx, lambda t: design.solve(t).logdet_xvx, theta)
    sol, deriv = design.solve_with_derivatives(theta)
    exact_cov = nested.covariance_gradient(sol, deriv, 3.0, design.p)

    def cov(v):
        return (v[-1] ** 2 * np.linalg.inv(design.solve(v[:-1]).xvx)).ravel()

    numeric_cov = approx_fprime(varpar, cov, epsilon=1e-6, centered=True)
    numeric_cov = numeric_cov.T.reshape(len(varpar), design.p, design.p)
    scale = np.abs(exact_cov).max()
    np.testing.assert_allclose(exact_cov, numeric_cov, atol=1e-6 * scale)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(("name", "design", "lower"), CASES, ids=[c[0] for c in CASES])
def test_deviance_hessian_from_the_profiled_one(name, design, lower, reml):
    """At sigma^2 = rss / dof the deviance's Hessian in (theta, sigma) follows
    from the profiled criterion's; the exact df equal the numerical ones."""
    theta = _theta(lower, 11)
    objective = ExactCriterion(design, reml)
    sol, deriv = design.solve_with_derivatives(theta)
    dof = design.n - design.p if reml else design.n
    sigma = np.sqrt(sol.rss / dof)
    formula = nested.deviance_hessian(
        design, sol, deriv, objective.hessian(theta), reml
    )
    varpar = np.append(theta, sigma)
    numeric = approx_hess3(
        varpar, lambda v: nested.deviance_at(design, v, reml), epsilon=1e-4
    )
    np.testing.assert_allclose(
        formula, numeric, rtol=1e-4, atol=1e-4 * np.abs(formula).max()
    )
    cov = sigma**2 * np.linalg.inv(sol.xvx)
    rows = np.eye(design.p)
    exact = satterthwaite_df(
        rows, cov, *satterthwaite_exact(design, theta, reml, objective.hessian(theta))
    )
    slow = satterthwaite_df(rows, cov, *satterthwaite_parts(design, theta, sigma, reml))
    np.testing.assert_allclose(exact, slow, rtol=1e-4)


def test_bobyqa_stopped_by_rounding_keeps_its_best_point(monkeypatch):
    """NLopt raises RoundoffLimited where nloptr reports a status to lme4: the
    search keeps the best point it evaluated (a power simulation once stopped
    with an exception here)."""
    import nlopt

    from cpeval.models._lmm_optimise import NumericCriterion

    class Stopped:
        """NLopt's interface; evaluates three points, then gives up."""

        def __init__(self, algorithm, n):
            self.n = n

        def set_min_objective(self, function):
            self.function = function

        def __getattr__(self, name):  # bounds and tolerances
            return lambda *args: None

        def optimize(self, x):
            for point in (x, x * 0.5, x * 2.0):
                self.function(point, np.empty(0))
            raise nlopt.RoundoffLimited

    monkeypatch.setattr(nlopt, "opt", Stopped)
    design = _nested_design("two levels")
    objective = NumericCriterion(design, True)
    start = np.array([1.0, 1.0])
    result = objective.search(start, np.zeros(2))
    values = {s: objective(start * s) for s in (1.0, 0.5, 2.0)}
    scale = min(values, key=values.get)
    np.testing.assert_array_equal(result.x, start * scale)
    assert result.fun == values[scale]
