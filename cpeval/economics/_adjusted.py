"""Regression-adjusted incremental costs and effects (OLS per equation, or SUR)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._results import EstimateResults
from ..exceptions import DataError
from ..models._intervals import t_pvalue
from ._cea import quadrant

__all__ = ["AdjustedIncremental", "adjusted_incremental"]


@dataclass(frozen=True, repr=False)
class AdjustedIncremental(EstimateResults):
    """Adjusted differences in cost and effect, with their joint covariance.

    Parameters
    ----------
    delta_cost, delta_effect : float
        The arm coefficients of the cost and effect equations.
    cov : pandas.DataFrame
        2 x 2 covariance of (delta_cost, delta_effect).
    method : str
        "SUR" or "OLS" (SUR with the same regressors in both equations is OLS).
    coefficients : pandas.Series
        Every coefficient, named ``cost_<term>`` and ``effect_<term>``.
    n_obs : int, optional
        Participants used.

    Notes
    -----
    ``params`` are the two differences (aligned with ``se`` and ``cov``);
    before this release ``params`` held every coefficient, now
    ``coefficients``. Inference is large-sample: ``df`` is infinite and
    ``conf_int(level)`` is ``params -/+ z se``.
    """

    delta_cost: float
    delta_effect: float
    cov: pd.DataFrame
    method: str
    coefficients: pd.Series
    n_obs: int | None = None

    _title = "Adjusted incremental cost and effect"
    _term_label = "quantity"
    df = float("inf")

    @property
    def params(self) -> pd.Series:
        """The two differences, ``delta_cost`` and ``delta_effect``."""
        return pd.Series(
            {"delta_cost": self.delta_cost, "delta_effect": self.delta_effect}
        )

    @property
    def se(self) -> pd.Series:
        """Standard errors of the two differences (by name)."""
        return pd.Series(
            {k: float(np.sqrt(self.cov.loc[k, k])) for k in self.cov.index}
        )

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided normal p-values of the two differences."""
        return pd.Series(
            t_pvalue(self.params, self.se, np.inf), index=self.params.index
        )

    @property
    def cov_type(self) -> str:
        """The model behind the covariance (SUR, OLS, or gamma GLM / OLS)."""
        return f"model-based ({self.method})"

    @property
    def icer(self) -> float:
        """Adjusted ICER."""
        return self.delta_cost / self.delta_effect if self.delta_effect else np.inf

    @property
    def quadrant(self) -> str:
        """Quadrant of the adjusted differences."""
        return quadrant(self.delta_cost, self.delta_effect)

    def inmb(self, wtp: float) -> tuple[float, float]:
        """INMB at ``wtp`` and its standard error (from the joint covariance)."""
        if self.cov.isna().any().any():
            raise DataError("the joint covariance was not estimated; use the bootstrap")
        weights = np.array([-1.0, wtp])
        value = wtp * self.delta_effect - self.delta_cost
        return value, float(np.sqrt(weights @ self.cov.to_numpy() @ weights))


def adjusted_incremental(
    data: pd.DataFrame,
    *,
    cost: str,
    effect: str,
    group: str,
    cost_covariates: Sequence[str] = (),
    effect_covariates: Sequence[str] = (),
    method: Literal["sur", "ols"] = "sur",
    cost_model: Literal["linear", "gamma"] = "linear",
) -> AdjustedIncremental:
    """Incremental cost and effect adjusted for covariates, estimated jointly.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant; ``group`` is 0/1 (1 = intervention).
    cost, effect, group : str
    cost_covariates, effect_covariates : sequence of str
        Covariates of each equation (e.g. baseline utility in the effect equation,
        as Manca et al. 2005 recommend for QALYs); they may differ. They enter
        formulas, which are code (patsy evaluates them as Python), so never
        build them from untrusted text.
    method : {"sur", "ols"}
        Seemingly unrelated regression (feasible GLS, one step, residual
        covariance ``e'e/n``), or OLS per equation with the same cross-equation
        covariance. With identical covariate sets the two coincide.
    cost_model : {"linear", "gamma"}
        ``"gamma"``: costs by a gamma GLM with log link; the difference is the
        mean of the predictions with everyone treated minus everyone untreated,
        with a delta-method SE (the covariance with the effect difference is not
        estimated, so use the bootstrap for joint uncertainty).

    Returns
    -------
    AdjustedIncremental

    Notes
    -----
    SUR through linearmodels ``SUR(...).fit(method="gls", cov_type="unadjusted",
    iterate=False)``; equal to R ``systemfit(..., method = "SUR", methodResidCov
    = "noDfCor")`` (``tests/reference/cea``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.economics import adjusted_incremental
    >>> d = pd.read_csv("tests/reference/cea/trial.csv")
    >>> res = adjusted_incremental(d, cost="cost_shifted", effect="qaly", group="arm",
    ...                            cost_covariates=["age"], effect_covariates=["u0"])
    >>> res.method
    'SUR'
    """
    needed = [cost, effect, group, *cost_covariates, *effect_covariates]
    absent = sorted({c for c in needed if c not in data.columns})
    if absent:
        raise DataError(f"the data have no columns {absent}")
    rows = data.dropna(subset=needed)
    if set(rows[group].unique()) != {0, 1}:
        raise DataError(f"group '{group}' must hold 0 and 1")
    if cost_model == "gamma":
        return _gamma_costs(
            rows, cost, effect, group, cost_covariates, effect_covariates
        )
    if cost_model != "linear":
        raise DataError(f"cost_model must be 'linear' or 'gamma'; got {cost_model!r}")
    equations = {
        "cost": f"{cost} ~ 1 + " + " + ".join([group, *cost_covariates]),
        "effect": f"{effect} ~ 1 + " + " + ".join([group, *effect_covariates]),
    }
    from linearmodels.system import SUR

    model = SUR.from_formula(equations, rows)
    same = list(cost_covariates) == list(effect_covariates)
    fit = model.fit(
        method="ols" if method == "ols" or same else "gls",
        cov_type="unadjusted",
        iterate=False,
    )
    names = [f"cost_{group}", f"effect_{group}"]
    cov = fit.cov.loc[names, names]
    cov.index = cov.columns = ["delta_cost", "delta_effect"]
    return AdjustedIncremental(
        delta_cost=float(fit.params[names[0]]),
        delta_effect=float(fit.params[names[1]]),
        cov=cov,
        method="OLS" if method == "ols" or same else "SUR",
        coefficients=fit.params,
        n_obs=len(rows),
    )


def _gamma_costs(
    rows, cost, effect, group, cost_covs, effect_covs
) -> AdjustedIncremental:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    if (rows[cost] <= 0).any():
        raise DataError("a gamma cost model needs every cost above 0")
    glm = smf.glm(
        f"{cost} ~ " + " + ".join([group, *cost_covs]),
        rows,
        family=sm.families.Gamma(sm.families.links.Log()),
    ).fit()
    x1 = glm.model.data.orig_exog.assign(**{group: 1.0}).to_numpy(float)
    x0 = glm.model.data.orig_exog.assign(**{group: 0.0}).to_numpy(float)
    beta = glm.params.to_numpy()
    mu1, mu0 = np.exp(x1 @ beta), np.exp(x0 @ beta)
    grad = (x1 * mu1[:, None]).mean(axis=0) - (x0 * mu0[:, None]).mean(axis=0)
    var_cost = float(grad @ glm.cov_params().to_numpy() @ grad)
    ols = smf.ols(f"{effect} ~ " + " + ".join([group, *effect_covs]), rows).fit()
    cov = pd.DataFrame(
        [[var_cost, np.nan], [np.nan, float(ols.bse[group] ** 2)]],
        index=["delta_cost", "delta_effect"],
        columns=["delta_cost", "delta_effect"],
    )
    params = pd.concat(
        [glm.params.add_prefix("cost_"), ols.params.add_prefix("effect_")]
    )
    return AdjustedIncremental(
        delta_cost=float(mu1.mean() - mu0.mean()),
        delta_effect=float(ols.params[group]),
        cov=cov,
        method="gamma GLM (costs) / OLS (effects)",
        coefficients=params,
        n_obs=len(rows),
    )
