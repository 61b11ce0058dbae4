"""ANCOVA of follow-up on baseline and covariates, with CR2 cluster-robust inference."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import PatsyError

from .._checks import require_columns, treatment
from .._results import EstimateResults, deprecated_alias
from ..exceptions import DataError
from ._cr2 import cr2
from ._formula import QUOTE_HINT, formula_error
from ._intervals import t_pvalue
from ._lmm import check_rank
from ._lmm_results import _OLD_COLUMNS

__all__ = ["AncovaResult", "ancova"]


@dataclass(frozen=True, slots=True, repr=False)
class AncovaResult(EstimateResults):
    """A fitted ANCOVA.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Coefficients, standard errors, degrees of freedom and two-sided p-values,
        indexed by term (patsy names, e.g. ``"Intercept"``, ``"arm"``).
    cov : pandas.DataFrame
        Covariance of the coefficients.
    cov_type : {"CR2", "OLS"}
        CR2 cluster-robust with Satterthwaite df, or the model-based OLS
        covariance with the residual df.
    effect_term : str
        The term holding the treatment effect (adjusted mean difference).
    n_obs, n_clusters : int
        Rows used and clusters (0 without clusters).
    df_resid : float
        Residual degrees of freedom of the OLS fit.
    t_ols : float
        The effect's t statistic with the model-based OLS standard error (the
        ANOVA F = t^2 behind the partial eta squared).
    level : float
        Default confidence level of ``conf_int()``.
    treated : object, optional
        The group value coded 1 (``ancova(treated=)``), for text arms.

    Notes
    -----
    ``bse``, ``vcov`` and ``n`` are deprecated aliases of ``se``, ``cov`` and
    ``n_obs`` (they warn; they go in the next release); ``tidy()`` is the old
    table, with ``estimate`` and ``p_val`` columns. ``conf_int(level)`` is
    ``params -/+ t se`` on each coefficient's df (CR2 Satterthwaite, or the
    residual df).
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    cov_type: str
    effect_term: str
    n_obs: int
    n_clusters: int
    df_resid: float
    t_ols: float
    level: float
    treated: object = None

    bse = deprecated_alias("se", "bse")
    vcov = deprecated_alias("cov", "vcov")
    n = deprecated_alias("n_obs", "n")
    _title = "ANCOVA"

    @property
    def df_method(self) -> str:
        """``"CR2 Satterthwaite"`` with clusters, ``"residual"`` without."""
        return "CR2 Satterthwaite" if self.cov_type == "CR2" else "residual"

    def _header(self) -> list[tuple[str, object]]:
        return [  # no zero-argument super() in a slots dataclass
            *EstimateResults._header(self),
            ("effect term", self.effect_term),
            ("clusters", self.n_clusters),
        ]

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(cov_type=self.cov_type)

    def tidy(self) -> pd.DataFrame:
        """Deprecated: :meth:`to_frame` with the old column names (``estimate``,
        ``p_val``). Warns; goes in the next release."""
        warnings.warn(
            "AncovaResult.tidy is deprecated; use to_frame (columns params and "
            "pvalues for estimate and p_val); the alias goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_frame().rename(columns=_OLD_COLUMNS)


def ancova(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    treated: object = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.95,
) -> AncovaResult:
    """Follow-up regressed on baseline, group and covariates (complete cases).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant.
    outcome, baseline : str
        Follow-up and baseline columns of the outcome.
    group : str
        The arm column; its coefficient is the adjusted mean difference
        (intervention minus comparator).
    treated : optional
        The intervention's value of ``group`` when it holds labels; without it
        ``group`` must hold 0/1 (1 = intervention).
    covariates : sequence of str
        Further terms, in patsy syntax (e.g. ``"C(site)"``, ``"age"``). Terms are code:
        patsy evaluates them as Python (as in statsmodels), so never build them
        from untrusted text.
    cluster : str, optional
        Cluster column: CR2 cluster-robust covariance with Satterthwaite df.
        Without it, the model-based OLS covariance and residual df.
    level : float
        Confidence level.

    Returns
    -------
    AncovaResult

    Raises
    ------
    DataError
        A named column is absent, the group is not 0/1, or fewer than two clusters.

    Notes
    -----
    Rows missing any model column are left out and counted in ``n_obs`` (report them
    in the participant flow). CR2 and its Satterthwaite df equal R
    ``clubSandwich::coef_test(fit, vcov = "CR2", test = "Satterthwaite")``
    (``tests/reference/ancova``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import ancova
    >>> d = pd.read_csv("tests/reference/ancova/pilot_like.csv")
    >>> fit = ancova(d, outcome="followup", baseline="baseline", group="arm",
    ...              covariates=["age"], cluster="cluster")
    >>> round(float(fit.params["arm"]), 3), fit.cov_type
    (2.426, 'CR2')
    """
    fit, used = ols_fit(
        data,
        outcome=outcome,
        baseline=baseline,
        group=group,
        treated=treated,
        covariates=covariates,
        cluster=cluster,
    )
    names = list(fit.params.index)
    t_ols = float(fit.tvalues[group])
    if cluster is None:
        vcov = fit.cov_params().to_numpy()
        df = np.full(len(names), float(fit.df_resid))
        n_clusters = 0
    else:
        clusters = used.loc[fit.model.data.row_labels, cluster].to_numpy()
        n_clusters = len(np.unique(clusters))
        if n_clusters < 2:
            raise DataError(
                f"cluster '{cluster}' has {n_clusters} cluster; need two or more"
            )
        vcov, df = cr2(fit.model.exog, fit.resid.to_numpy(), clusters)
    bse = np.sqrt(np.diag(vcov))
    return AncovaResult(
        params=fit.params,
        se=pd.Series(bse, index=names),
        df=pd.Series(df, index=names),
        pvalues=pd.Series(t_pvalue(fit.params.to_numpy(), bse, df), index=names),
        cov=pd.DataFrame(vcov, index=names, columns=names),
        cov_type="OLS" if cluster is None else "CR2",
        effect_term=group,
        n_obs=int(fit.nobs),
        n_clusters=n_clusters,
        df_resid=float(fit.df_resid),
        t_ols=t_ols,
        level=level,
        treated=treated,
    )


def ols_fit(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    treated: object,
    covariates: Sequence[str],
    cluster: str | None,
):
    """The ANCOVA's OLS fit on complete cases, and those rows (``group`` coded
    0/1): shared by :func:`ancova` and the wild cluster bootstrap."""
    needed = [outcome, baseline, group] + ([cluster] if cluster else [])
    needed += [c for c in covariates if c.isidentifier()]
    require_columns(data, needed)
    used = data.dropna(subset=needed)
    used = used.assign(**{group: treatment(used[group], treated)})
    _check_group(used[group], group)
    formula = f"{outcome} ~ " + " + ".join([baseline, group, *covariates])
    try:
        with warnings.catch_warnings():  # check_rank below names the term
            warnings.filterwarnings("ignore", "The design matrix is rank-deficient")
            fit = smf.ols(
                formula, data=used.assign(**{group: used[group].astype(float)})
            ).fit()
    except PatsyError as exc:
        raise formula_error(formula, exc, used.columns) from None
    except SyntaxError:
        raise DataError(f"cannot read the model {formula!r}: {QUOTE_HINT}") from None
    model = fit.model
    check_rank(pd.DataFrame(model.exog, columns=model.exog_names), formula)
    return fit, used


def _check_group(values: pd.Series, name: str) -> None:
    codes = set(pd.unique(values.astype(float)))
    if not codes <= {0.0, 1.0} or len(codes) < 2:
        raise DataError(
            f"group column '{name}' must hold 0 and 1 (1 = intervention); "
            f"got {sorted(codes)}"
        )
