"""The result of a generalised linear mixed model: odds and rate ratios, and
risk differences (marginal over the random effects, or conditional on them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from patsy import PatsyError, build_design_matrices
from scipy import special

from .._results import EstimateResults
from ..exceptions import DataError
from ._families import GlmFamily
from ._intervals import t_interval, t_pvalue
from ._lmm_df import jacobian
from ._reterms import lower_pairs

__all__ = ["GlmmResult"]

#: Gauss-Hermite nodes of the population-averaged risk (``risk_difference``):
#: ``int expit(eta + s t) phi(t) dt`` is exact to about 1e-12 for ``s <= 3``.
RISK_NODES = 64


@dataclass(frozen=True)
class _RiskModel:
    """What the risk difference needs to rebuild the model's matrices."""

    design_info: Any
    random: tuple
    terms: tuple[tuple[tuple[str, ...], int], ...]  # each term's columns, n_theta
    frame: pd.DataFrame
    trials: str | None
    family: GlmFamily


Kind = Literal["marginal", "conditional"]


@dataclass(frozen=True, repr=False)
class GlmmResult(EstimateResults):
    """A fitted generalised linear mixed model (lme4's ``glmer``).

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Fixed effects on the link scale (patsy term names), standard errors,
        infinite df (Wald z) and two-sided p-values, as lme4's ``summary()``.
    cov : pandas.DataFrame
        lme4's ``vcov()``: from the Hessian in ``(theta, beta)`` (``cov_source``
        ``"Hessian"``) or, if that is not positive definite, from ``RX``.
    theta, theta_names : tuple
        lme4's covariance parameters (relative Cholesky factors; for a random
        intercept, its SD on the link scale) and names.
    varcorr : pandas.DataFrame
        lme4's ``as.data.frame(VarCorr(fit))``: ``grp``, ``var1``, ``var2``,
        ``vcov``, ``sdcor`` (no residual row for a GLMM).
    llf : float
        Marginal log-likelihood (Laplace or quadrature), with every constant:
        lme4's ``logLik`` for ``n_agq = 1``; for ``n_agq > 1`` lme4's plus the
        saturated model's log-likelihood, which lme4 leaves out.
    deviance : float
        lme4's ``deviance()``: the sum of squared deviance residuals at the
        conditional modes.
    aic, bic : float
        From ``llf`` (equal to lme4's for ``n_agq = 1``).
    family, link : str
    n_agq : int
        1 for Laplace, else quadrature nodes.
    n_obs, n_dropped : int
        Rows used, and rows left out for a missing value in a model column.
    n_groups : mapping of str to int
    converged, singular : bool
        lme4's ``checkConv`` and ``isSingular`` (a diagonal theta < 1e-4).
    messages : tuple of str
    level : float
    cov_source : {"Hessian", "RX"}
    cov_params : pandas.DataFrame or None
        Covariance of ``(theta, beta)``: twice the inverse Hessian (used by the
        population-averaged risk difference).

    Notes
    -----
    ``conf_int()`` is ``params -/+ z se``; :meth:`odds_ratios` and
    :meth:`rate_ratios` exponentiate those limits; :meth:`risk_difference`
    gives risks and their difference by the delta method.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_glmm
    >>> cbpp = pd.read_csv("tests/reference/mixed/cbpp.csv", dtype={"period": str})
    >>> fit = fit_glmm(cbpp, "incidence ~ period + (1 | herd)", trials="size")
    >>> text = str(fit.summary())
    >>> "period[T.4]" in text, fit.converged
    (True, True)
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    theta: tuple[float, ...]
    theta_names: tuple[str, ...]
    varcorr: pd.DataFrame
    llf: float
    deviance: float
    aic: float
    bic: float
    family: str
    link: str
    n_agq: int
    n_obs: int
    n_dropped: int
    n_groups: Mapping[str, int]
    converged: bool
    singular: bool
    messages: tuple[str, ...] = ()
    level: float = 0.95
    cov_source: str = "Hessian"
    cov_params: pd.DataFrame | None = field(default=None, repr=False)
    _model: _RiskModel | None = field(default=None, repr=False)

    @property
    def _title(self) -> str:  # type: ignore[override]
        how = (
            "Laplace" if self.n_agq == 1 else f"adaptive quadrature, {self.n_agq} nodes"
        )
        return f"Generalised linear mixed model ({self.family}, {self.link}; {how})"

    @property
    def cov_type(self) -> str:
        """``"model-based"``: lme4's ``vcov()``."""
        return "model-based"

    def _header(self) -> list[tuple[str, object]]:
        groups = ", ".join(f"{g} ({n})" for g, n in self.n_groups.items())
        sds = ", ".join(
            f"{r.grp} {r.var1}: {r.sdcor:.4g}"
            for r in self.varcorr.itertuples()
            if r.var2 is None
        )
        return [
            *super()._header(),
            ("groups", groups),
            ("random-effect SDs", sds),
            ("log-likelihood", self.llf),
            ("AIC", self.aic),
            ("converged", self.converged),
            ("singular", self.singular),
        ]

    def _notes(self) -> list[str]:
        return [*super()._notes(), *self.messages]

    def _ratios(self, name: str, level: float | None) -> pd.DataFrame:
        limits = self.conf_int(level)
        return (
            pd.DataFrame(
                {
                    name: np.exp(self.params),
                    "ci_low": np.exp(limits["ci_low"]),
                    "ci_high": np.exp(limits["ci_high"]),
                    "pvalues": self.pvalues,
                }
            )
            .rename_axis("term")
            .reset_index()
        )

    def odds_ratios(self, level: float | None = None) -> pd.DataFrame:
        """Odds ratios (``exp(params)``) with exponentiated Wald limits.

        Conditional on the random effects (for one cluster), as the logit
        coefficients are. The intercept row is the baseline odds.

        Parameters
        ----------
        level : float, optional
            Defaults to the fit's level.

        Returns
        -------
        pandas.DataFrame
            ``term``, ``odds_ratio``, ``ci_low``, ``ci_high``, ``pvalues``.

        Raises
        ------
        DataError
            The model is not a binomial logit model.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_glmm
        >>> cbpp = pd.read_csv("tests/reference/mixed/cbpp.csv", dtype={"period": str})
        >>> fit = fit_glmm(cbpp, "incidence ~ period + (1 | herd)", trials="size")
        >>> round(float(fit.odds_ratios()["odds_ratio"].iloc[1]), 3)
        0.371
        """
        if (self.family, self.link) != ("binomial", "logit"):
            raise DataError(
                f"odds ratios need a binomial logit model; this one is "
                f"{self.family} with a {self.link} link"
            )
        return self._ratios("odds_ratio", level)

    def rate_ratios(self, level: float | None = None) -> pd.DataFrame:
        """Rate ratios (``exp(params)``) with exponentiated Wald limits.

        Conditional on the random effects, as the log-link coefficients are.
        The intercept row is the baseline rate.

        Parameters
        ----------
        level : float, optional

        Returns
        -------
        pandas.DataFrame
            ``term``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``pvalues``.

        Raises
        ------
        DataError
            The model is not a Poisson model.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_glmm
        >>> ticks = pd.read_csv("tests/reference/mixed/grouseticks.csv",
        ...                     dtype={"YEAR": str})
        >>> fit = fit_glmm(ticks, "TICKS ~ YEAR + height_c + (1 | BROOD)",
        ...                family="poisson")
        >>> list(fit.rate_ratios().columns)
        ['term', 'rate_ratio', 'ci_low', 'ci_high', 'pvalues']
        """
        if self.family != "poisson":
            raise DataError(
                f"rate ratios need a Poisson model; this one is {self.family}"
            )
        return self._ratios("rate_ratio", level)

    def risk_difference(
        self,
        term: str,
        *,
        treated: object = 1,
        control: object = 0,
        data: pd.DataFrame | None = None,
        kind: Kind = "marginal",
        level: float | None = None,
    ) -> pd.DataFrame:
        """Risks under two values of a column, and their difference (binomial).

        Every row of ``data`` is given ``term = control``, then ``term =
        treated``, and its predicted risk averaged over the rows (weighted by
        the trials of a binomial count model): standardisation, or
        g-computation, over the observed covariates.

        Parameters
        ----------
        term : str
            The column to set (an arm, a wave), as in the formula.
        treated, control : object
            The two values compared (default 1 and 0).
        data : pandas.DataFrame, optional
            Rows to average over; default the rows the model was fitted on.
        kind : {"marginal", "conditional"}
            ``"marginal"`` (default): population-averaged, each row's risk
            integrated over the fitted random-effect distribution,
            ``E[g^-1(x' beta + z' b)]`` with ``b ~ N(0, Sigma(theta))``
            (Gauss-Hermite with ``RISK_NODES`` nodes; exactly
            ``Phi(eta / sqrt(1 + s^2))`` for probit). ``"conditional"``: the
            risk in a cluster whose random effects are 0 (``u = 0``), the
            scale of the odds ratios, closer to 0.5 than the marginal risk.
        level : float, optional
            Defaults to the fit's level.

        Returns
        -------
        pandas.DataFrame
            Rows ``"<term>=<control>"``, ``"<term>=<treated>"`` and
            ``"difference"`` (treated minus control); columns ``estimate``,
            ``se``, ``statistic``, ``pvalues`` (difference only), ``ci_low``,
            ``ci_high``, ``kind`` and ``delta_method_over`` (``"theta, beta"``;
            ``"beta"`` for the conditional risks, or when the covariance of
            ``(theta, beta)`` was not positive definite and ``theta`` is held
            fixed).

        Notes
        -----
        Delta method: the gradient of each quantity in ``(theta, beta)``
        (central differences) with ``cov_params``, twice the inverse Hessian of
        the deviance (the marginal risks depend on ``theta``; the conditional
        ones on ``beta`` only). Wald limits on the risk scale. No bootstrap.

        Raises
        ------
        DataError
            Not a binomial model, an unknown ``kind``, ``term`` not a column,
            or ``data`` lacking a model column.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_glmm
        >>> cbpp = pd.read_csv("tests/reference/mixed/cbpp.csv", dtype={"period": str})
        >>> fit = fit_glmm(cbpp, "incidence ~ period + (1 | herd)", trials="size")
        >>> rd = fit.risk_difference("period", treated="2", control="1")
        >>> rd.index.tolist()
        ['period=1', 'period=2', 'difference']
        >>> round(float(rd.loc["difference", "estimate"]), 3)
        -0.119
        """
        if self.family != "binomial":
            raise DataError(
                f"a risk difference needs a binomial model; this is {self.family}"
            )
        if kind not in ("marginal", "conditional"):
            raise DataError(f"kind must be 'marginal' or 'conditional'; got {kind!r}")
        level = self._level(level)
        model = self._model
        if model is None:
            raise DataError("this result does not keep the model's design")
        frame = model.frame if data is None else data.reset_index(drop=True)
        if term not in frame.columns:
            raise DataError(f"risk_difference: {term!r} is not a column of the data")
        parts = [
            _risk_parts(model, frame.assign(**{term: value}))
            for value in (control, treated)
        ]
        nt = len(self.theta)
        with_theta = self.cov_params is not None and kind == "marginal"
        if with_theta:
            cov_all = self.cov_params.to_numpy()
        else:  # beta alone: the conditional risks do not depend on theta
            cov_all = np.zeros((nt + len(self.params),) * 2)
            cov_all[nt:, nt:] = self.cov.to_numpy()

        def risks(v: np.ndarray) -> np.ndarray:
            r = [_mean_risk(model, part, v[:nt], v[nt:], kind) for part in parts]
            return np.array([r[0], r[1], r[1] - r[0]])

        v = np.concatenate([np.asarray(self.theta), self.params.to_numpy()])
        estimate = risks(v)
        grad = jacobian(risks, v)
        se = np.sqrt(np.einsum("ij,jk,ik->i", grad, cov_all, grad))
        names = [f"{term}={control}", f"{term}={treated}", "difference"]
        table = pd.DataFrame(
            {"estimate": estimate, "se": se}, index=pd.Index(names, name="quantity")
        )
        table["statistic"] = [np.nan, np.nan, estimate[2] / se[2]]
        table["pvalues"] = [np.nan, np.nan, float(t_pvalue(estimate[2], se[2], np.inf))]
        limits = t_interval(table["estimate"], table["se"], np.inf, level)
        table["ci_low"], table["ci_high"] = limits["ci_low"], limits["ci_high"]
        table["kind"] = kind
        table["delta_method_over"] = "theta, beta" if with_theta else "beta"
        return table


@dataclass(frozen=True)
class _RiskPart:
    x: np.ndarray  # fixed-effect design with the term set
    z: list[np.ndarray]  # each random term's n x k matrix
    weights: np.ndarray


def _risk_parts(model: _RiskModel, frame: pd.DataFrame) -> _RiskPart:
    try:
        (x,) = build_design_matrices(
            [model.design_info], frame, NA_action="drop", return_type="dataframe"
        )
        randoms = build_design_matrices(
            list(model.random), frame, NA_action="drop", return_type="dataframe"
        )
    except PatsyError as exc:
        raise DataError(
            f"risk_difference: cannot build the model on the data: {exc}"
        ) from None
    index = x.index
    columns: dict[str, pd.Series] = {}
    for matrix in randoms:
        index = index.intersection(matrix.index)
        for name in matrix.columns:
            columns["(Intercept)" if name == "Intercept" else name] = matrix[name]
    if model.trials is not None:
        if model.trials not in frame.columns:
            raise DataError(
                f"risk_difference: the data need the trials column {model.trials!r}"
            )
        weights = pd.to_numeric(frame[model.trials], errors="coerce")
        index = index.intersection(frame.index[weights.notna()])
        weights = weights.loc[index].to_numpy(float)
    else:
        weights = np.ones(len(index))
    if len(index) == 0:
        raise DataError("risk_difference: no complete rows in the data")
    z = [
        np.column_stack([columns[c].loc[index].to_numpy(float) for c in cols])
        for cols, _ in model.terms
    ]
    return _RiskPart(x.loc[index].to_numpy(float), z, weights)


def _mean_risk(
    model: _RiskModel, part: _RiskPart, theta: np.ndarray, beta: np.ndarray, kind: str
) -> float:
    eta = part.x @ beta
    fam = model.family
    if kind == "conditional":
        risk = fam.linkinv(eta)
    else:
        var = np.zeros(len(eta))
        start = 0
        for (cols, n_theta), zi in zip(model.terms, part.z, strict=True):
            k = len(cols)
            tri = np.zeros((k, k))
            for position, (i, j) in enumerate(lower_pairs(k)):
                tri[i, j] = theta[start + position]
            start += n_theta
            var += np.sum((zi @ tri) ** 2, axis=1)
        s = np.sqrt(var)
        if fam.link == "probit":
            risk = special.ndtr(eta / np.sqrt(1 + var))
        else:
            nodes, weights = np.polynomial.hermite_e.hermegauss(RISK_NODES)
            weights = weights / np.sqrt(2 * np.pi)
            risk = fam.linkinv(eta[:, None] + s[:, None] * nodes[None, :]) @ weights
    return float(np.sum(part.weights * risk) / np.sum(part.weights))
