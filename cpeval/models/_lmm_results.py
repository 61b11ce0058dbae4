"""The result of a linear mixed model: fixed effects, variance components, df."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ._intervals import t_interval, t_pvalue
from ._kr import kr_ddf
from ._lmm_df import satterthwaite_df

__all__ = ["LmmResult"]

_OLD_COLUMNS = {"params": "estimate", "pvalues": "p_val"}


@dataclass(frozen=True, repr=False)
class LmmResult(EstimateResults):
    """A fitted linear mixed model.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Fixed effects (patsy term names), standard errors, degrees of freedom
        (Satterthwaite, or infinite for Wald z) and two-sided p-values.
    cov : pandas.DataFrame
        Covariance of the fixed effects.
    vcomp : mapping of str to float
        Variance of each random effect and ``"Residual"``: keyed by the group
        for a random intercept (``"team"``), by ``"group: column"`` for a slope
        or a term with several effects (``"Subject: Days"``).
    theta : tuple of float
        lme4's covariance parameters (relative Cholesky factors; for random
        intercepts, sd / residual sd), in the order of ``theta_names``.
    theta_names : tuple of str
        lme4's names of ``theta`` (``"Subject.(Intercept)"``,
        ``"Subject.Days.(Intercept)"``, ``"Subject.Days"``).
    varcorr : pandas.DataFrame
        lme4's ``as.data.frame(VarCorr(fit))``: ``grp``, ``var1``, ``var2``,
        ``vcov`` (variance or covariance), ``sdcor`` (sd or correlation).
    llf : float
        REML or ML log-likelihood, as lme4's ``logLik``.
    reml : bool
    df_method : {"satterthwaite", "kenward-roger", "wald"}
    n_obs : int
        Rows used; ``n_dropped`` rows had a missing value in a model column.
    n_groups : mapping of str to int
        Clusters per level.
    converged : bool
    singular : bool
        A variance component is on the boundary (a diagonal theta < 1e-4, as
        lme4's ``isSingular``).
    messages : tuple of str
        Diagnostics in words.
    level : float
        Default confidence level of ``conf_int()``.

    Notes
    -----
    ``fe_params``, ``bse`` and ``cov_fe`` are deprecated aliases of ``params``,
    ``se`` and ``cov`` (they warn; they go in the next release); ``tidy()`` is
    the old table, with ``estimate`` and ``p_val`` columns.
    ``conf_int(level)`` is ``params -/+ t se`` on each term's df (Satterthwaite
    or Kenward-Roger; normal for Wald fits). With Kenward-Roger, ``cov`` and
    ``se`` are pbkrtest's adjusted covariance and its standard errors.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import fit_lmm
    >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
    >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
    >>> text = str(fit.summary())  # print(fit.summary()) shows the table
    >>> text.splitlines()[1].strip(), "time:group" in text
    ('Linear mixed model (REML)', True)
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    vcomp: Mapping[str, float]
    theta: tuple[float, ...]
    llf: float
    reml: bool
    df_method: str
    n_obs: int
    n_dropped: int
    n_groups: Mapping[str, int]
    converged: bool
    singular: bool
    messages: tuple[str, ...] = field(default=())
    level: float = 0.95
    varpar_cov: np.ndarray | None = field(default=None, repr=False)
    cov_grad: np.ndarray | None = field(default=None, repr=False)
    design_info: object = field(default=None, repr=False)
    theta_names: tuple[str, ...] = ()
    varcorr: pd.DataFrame | None = field(default=None, repr=False)
    kr: object = field(default=None, repr=False)

    fe_params = deprecated_alias("params", "fe_params")
    bse = deprecated_alias("se", "bse")
    cov_fe = deprecated_alias("cov", "cov_fe")

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Linear mixed model ({'REML' if self.reml else 'ML'})"

    @property
    def cov_type(self) -> str:
        """``"model-based"``: the REML/ML covariance of the fixed effects."""
        return "model-based"

    def _header(self) -> list[tuple[str, object]]:
        groups = ", ".join(f"{g} ({n})" for g, n in self.n_groups.items())
        return [
            *super()._header(),
            ("groups", groups),
            ("log-likelihood", self.llf),
            ("converged", self.converged),
            ("singular", self.singular),
        ]

    def _notes(self) -> list[str]:
        return [*super()._notes(), *self.messages]

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(df_method=self.df_method)

    @property
    def icc(self) -> dict[str, float]:
        """Share of the total variance at each grouping level (random
        intercepts only: with slopes the share depends on the covariate)."""
        if (
            self.varcorr is not None
            and (
                self.varcorr["var1"].ne("(Intercept)")
                & self.varcorr["grp"].ne("Residual")
            ).any()
        ):
            raise DataError(
                "the ICC is defined here for random intercepts only; this model "
                "has random slopes, so the share of variance depends on the slope "
                "variable (read varcorr instead)"
            )
        total = sum(self.vcomp.values())
        return {g: v / total for g, v in self.vcomp.items() if g != "Residual"}

    def icc_table(self) -> pd.DataFrame:
        """ICC of each level with a delta-method standard error and Wald interval.

        Returns
        -------
        pandas.DataFrame
            Columns ``level``, ``icc``, ``se``, ``ci_low``, ``ci_high`` (clipped to
            [0, 1]); the se needs the Satterthwaite ingredients (NaN for Wald fits).

        Notes
        -----
        ``icc_k = theta_k^2 / (1 + sum_j theta_j^2)``; its variance is
        ``g' A g`` with ``g`` the gradient in ``(theta, sigma)`` and ``A`` the
        asymptotic covariance of those parameters, twice the inverse Hessian of
        the deviance (lmerTest's ``vcov_varpar``).

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit_lmm(d, "y ~ time * group", ["team", "id"]).icc_table()["level"].tolist()
        ['team', 'id']
        """
        theta = np.asarray(self.theta)
        total = 1 + np.sum(theta**2)
        z = stats.norm.ppf(0.5 + self.level / 2)
        rows = []
        for k, name in enumerate(self.icc):
            icc = theta[k] ** 2 / total
            grad = -2 * theta * theta[k] ** 2 / total**2
            grad[k] += 2 * theta[k] / total
            grad = np.append(grad, 0.0)  # does not depend on sigma
            cov = self.varpar_cov
            se = float(np.sqrt(grad @ cov @ grad)) if cov is not None else np.nan
            low, high = max(icc - z * se, 0.0), min(icc + z * se, 1.0)
            rows.append(
                {"level": name, "icc": icc, "se": se, "ci_low": low, "ci_high": high}
            )
        return pd.DataFrame(rows)

    def tidy(self) -> pd.DataFrame:
        """Deprecated: :meth:`to_frame` with the old column names.

        One row per fixed effect: term, estimate, se, df, statistic, p_val,
        ci_low, ci_high, df_method. Warns; goes in the next release.
        """
        warnings.warn(
            "LmmResult.tidy is deprecated; use to_frame (columns params and "
            "pvalues for estimate and p_val); the alias goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_frame().rename(columns=_OLD_COLUMNS)

    def contrast(self, weights, name: str = "contrast") -> pd.DataFrame:
        """A linear combination of the fixed effects, with its own df.

        Parameters
        ----------
        weights : mapping of term to float, or array
            ``l`` in ``l' beta``.
        name : str
            Row label.

        Returns
        -------
        pandas.DataFrame
            One row: estimate, se, df, statistic, p_val, ci_low, ci_high, df_method.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
        >>> row = fit.contrast({"time": 1, "time:group": 1}, name="change, group 1")
        >>> round(float(row["estimate"].iloc[0]), 3)
        2.964
        """
        if isinstance(weights, Mapping):
            unknown = sorted(set(weights) - set(self.params.index))
            if unknown:
                raise DataError(f"no fixed effects named {unknown}")
            weights = [weights.get(t, 0.0) for t in self.params.index]
        return self._contrasts(np.atleast_2d(np.asarray(weights, float)), [name])

    def _contrasts(self, rows: np.ndarray, names: list[str]) -> pd.DataFrame:
        estimate = rows @ self.params.to_numpy()
        cov = self.cov.to_numpy()
        var = np.einsum("ij,jk,ik->i", rows, cov, rows)
        if self.df_method == "kenward-roger" and self.kr is not None:
            df = np.array([kr_ddf(row, self.kr).ddf for row in rows])
        elif self.df_method == "wald" or self.cov_grad is None:
            df = np.full(len(rows), np.inf)
        else:
            df = satterthwaite_df(rows, cov, self.varpar_cov, self.cov_grad)
        se = np.sqrt(var)
        table = pd.DataFrame(
            {
                "estimate": estimate,
                "se": se,
                "df": df,
                "statistic": estimate / se,
                "p_val": t_pvalue(estimate, se, df),
            },
            index=pd.Index(names, name="contrast"),
        )
        table = table.join(t_interval(table["estimate"], table["se"], df, self.level))
        table["df_method"] = self.df_method
        return table

    def adjusted_means(self, data: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
        """Model-adjusted means for each combination of ``by`` (e.g. group, time).

        Parameters
        ----------
        data : pandas.DataFrame
            The fitted data; other covariates keep their observed values.
        by : sequence of str
            Columns whose observed combinations are set for everyone in turn.

        Returns
        -------
        pandas.DataFrame
            One row per combination, as :meth:`contrast`.

        Notes
        -----
        Each mean is ``mean_i(x_i)' beta`` with ``by`` set to the combination for
        every row ``i`` (marginal means over the observed covariates; for a model
        with only ``by`` terms, emmeans' estimated marginal means).

        Examples
        --------
        >>> import pandas as pd
        >>> from cpeval.models import fit_lmm
        >>> d = pd.read_csv("tests/reference/lmm/unbalanced.csv")
        >>> fit = fit_lmm(d, "y ~ time * group", ["team", "id"])
        >>> len(fit.adjusted_means(d, ["group", "time"]))
        4
        """
        from patsy import build_design_matrices

        by = list(by)
        combos = data[by].drop_duplicates().sort_values(by).to_numpy()
        rows = []
        for combo in combos:
            setting = data.assign(**dict(zip(by, combo, strict=True)))
            (x,) = build_design_matrices([self.design_info], setting, NA_action="raise")
            rows.append(np.asarray(x).mean(axis=0))
        names = [
            ", ".join(f"{b}={v}" for b, v in zip(by, c, strict=True)) for c in combos
        ]
        table = self._contrasts(np.array(rows), names)
        for position, column in enumerate(by):
            table.insert(position, column, combos[:, position])
        return table.reset_index(drop=True)
