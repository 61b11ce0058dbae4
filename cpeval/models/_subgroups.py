"""Effects within declared subgroups and the test of their interaction with the arm."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm

from .._checks import numeric, require_columns, treatment
from .._results import EstimateResults
from ..exceptions import DataError
from ._cr2 import cr2, cr2_wald
from ._formula import formula_error
from ._intervals import t_pvalue
from ._lmm import check_rank

__all__ = ["SubgroupResult", "subgroup_effects"]

MAX_LEVELS = 10  # more distinct values than this: a measurement, not a subgroup


@dataclass(frozen=True, slots=True, repr=False)
class SubgroupResult(EstimateResults):
    """The intervention's effect within each level of a subgroup.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        Adjusted mean difference (intervention minus comparator) in each level of
        the subgroup, its standard error, degrees of freedom and p-value.
    cov : pandas.DataFrame
        Covariance of the level effects.
    cov_type : {"CR2", "OLS"}
    subgroup : str
        The subgroup column.
    counts : pandas.DataFrame
        Participants analysed by level (rows) and arm (columns ``intervention``,
        ``comparator``).
    n_obs, n_clusters : int
    interaction_f, interaction_df_num, interaction_df_denom, interaction_pvalue : float
        The test that the effect is the same in every level: the CR2 Hotelling
        T-squared test "HTZ" with clusters, the F test of nested OLS models
        without.
    level : float
        Default confidence level of ``conf_int()``.
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    cov_type: str
    subgroup: str
    counts: pd.DataFrame
    n_obs: int
    n_clusters: int
    interaction_f: float
    interaction_df_num: float
    interaction_df_denom: float
    interaction_pvalue: float
    level: float

    _title = "Effects by subgroup"
    _term_label = "level"

    @property
    def interaction_test(self) -> str:
        """``"CR2 HTZ"`` with clusters, ``"F"`` without."""
        return "CR2 HTZ" if self.cov_type == "CR2" else "F"

    def _header(self) -> list[tuple[str, object]]:
        return [
            *EstimateResults._header(self),
            ("subgroup", self.subgroup),
            ("clusters", self.n_clusters),
            ("interaction test", self.interaction_test),
            ("interaction F", self.interaction_f),
            (
                "interaction df",
                f"{self.interaction_df_num:g}, {self.interaction_df_denom:.4g}",
            ),
            ("interaction p", self.interaction_pvalue),
        ]

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        counts = self.counts.reindex(frame.index)
        return frame.assign(
            n_intervention=counts["intervention"].to_numpy(),
            n_comparator=counts["comparator"].to_numpy(),
        )


def subgroup_effects(
    data: pd.DataFrame,
    *,
    outcome: str,
    baseline: str,
    group: str,
    subgroup: str,
    treated: object = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    level: float = 0.95,
) -> SubgroupResult:
    """The adjusted effect in each level of a subgroup, and the interaction test.

    One ANCOVA holds every level: follow-up on baseline, covariates, the
    subgroup, and the arm within each level of the subgroup (R:
    ``outcome ~ baseline + covariates + S + S:arm``), so each level's coefficient
    of the arm is the effect in that level, adjusted for the same covariates
    (their slopes are common to all levels).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant.
    outcome, baseline : str
        Follow-up and baseline columns of the outcome.
    group : str
        The arm column (0/1, or labels with ``treated``).
    subgroup : str
        A categorical column (text, or numbers with at most 10 distinct values);
        its levels are taken in their categorical order, else sorted.
    treated : optional
        The intervention's value of ``group`` when it holds labels.
    covariates : sequence of str
        Further terms, in patsy syntax (code: never build them from untrusted
        text).
    cluster : str, optional
        Cluster column: CR2 covariance with Satterthwaite df per level, and the
        interaction tested by clubSandwich's HTZ test. Without it, OLS.
    level : float
        Confidence level.

    Returns
    -------
    SubgroupResult

    Raises
    ------
    DataError
        A column is absent; the subgroup has one level, too many values, or a
        level without participants in one of the arms; fewer than two clusters.

    Notes
    -----
    Rows missing any model column are left out (``n_obs`` counts the rest). The
    estimates, CR2 standard errors, Satterthwaite df and the HTZ test equal R
    ``clubSandwich`` 0.5.8 ``coef_test`` and ``Wald_test(constraints =
    constrain_equal(...), test = "HTZ")``; without clusters, ``summary.lm`` and
    ``anova`` of the models with and without the interaction
    (``tests/reference/subgroups``). An interaction test has little power: a
    subgroup's own interval is no evidence that the effect differs.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import subgroup_effects
    >>> d = pd.read_csv("tests/reference/subgroups/subgroups.csv")
    >>> fit = subgroup_effects(d, outcome="outcome", baseline="baseline",
    ...                        group="allocated", subgroup="sex",
    ...                        covariates=["age"], cluster="team")
    >>> round(float(fit.params["male"]), 3), round(fit.interaction_pvalue, 3)
    (2.076, 0.462)
    """
    used, terms = _complete(
        data, outcome, baseline, group, subgroup, treated, covariates, cluster
    )
    levels = _levels(used, subgroup, group, cluster)
    x, names, effects = _design(used, baseline, group, subgroup, levels, terms)
    fit = sm.OLS(used[outcome].astype(float).to_numpy(), x).fit()
    beta, residuals = fit.params, fit.resid
    contrasts = np.zeros((len(levels) - 1, len(names)))
    contrasts[:, effects[0]] = -1.0
    contrasts[np.arange(len(levels) - 1), effects[1:]] = 1.0
    if cluster is None:  # the F test of the nested models, as R anova
        vcov, df = fit.cov_params(), np.full(len(names), fit.df_resid)
        f = fit.f_test(contrasts)
        test = (float(f.fvalue), f.df_num, float(f.df_denom), float(f.pvalue))
        n_clusters = 0
    else:  # two or more clusters in each arm of each level (_levels)
        clusters = used[cluster].to_numpy()
        n_clusters = len(pd.unique(clusters))
        vcov, df = cr2(x, residuals, clusters)
        test = cr2_wald(x, residuals, clusters, beta, contrasts)
    index = pd.Index(levels, name=subgroup)
    cov = vcov[np.ix_(effects, effects)]
    se = np.sqrt(np.diag(cov))
    counts = pd.crosstab(used[subgroup], used[group]).reindex(index=levels)
    counts = counts.rename(columns={1: "intervention", 0: "comparator"})
    return SubgroupResult(
        params=pd.Series(beta[effects], index=index),
        se=pd.Series(se, index=index),
        df=pd.Series(df[effects], index=index),
        pvalues=pd.Series(t_pvalue(beta[effects], se, df[effects]), index=index),
        cov=pd.DataFrame(cov, index=index, columns=index),
        cov_type="OLS" if cluster is None else "CR2",
        subgroup=subgroup,
        counts=counts[["intervention", "comparator"]],
        n_obs=len(used),
        n_clusters=n_clusters,
        interaction_f=test[0],
        interaction_df_num=float(test[1]),
        interaction_df_denom=test[2],
        interaction_pvalue=test[3],
        level=level,
    )


def _complete(data, outcome, baseline, group, subgroup, treated, covariates, cluster):
    """Rows with every model column (the arm coded 0/1), and the covariates'
    design columns on those rows (patsy's, without the intercept)."""
    needed = [outcome, baseline, group, subgroup] + ([cluster] if cluster else [])
    needed += [c for c in covariates if c.isidentifier()]
    require_columns(data, needed)
    used = data.dropna(subset=needed)
    used = used.assign(**numeric(used[[outcome, baseline]], "outcome or baseline"))
    used = used.assign(**{group: treatment(used[group], treated).astype(int)})
    terms = pd.DataFrame(index=used.index)
    if covariates:
        formula = " + ".join(covariates)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                terms = patsy.dmatrix(formula, used, return_type="dataframe")
        except patsy.PatsyError as exc:
            raise formula_error(formula, exc, used.columns) from None
        terms = terms.drop(columns="Intercept")
        used = used.loc[terms.index]  # a covariate term missing: left out too
    if set(used[group]) != {0, 1}:
        raise DataError(
            f"group column '{group}' must hold both arms among the rows analysed; "
            f"got {sorted(set(used[group]))}"
        )
    return used, terms


def _levels(used: pd.DataFrame, subgroup: str, group: str, cluster) -> list:
    values = used[subgroup]
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = [c for c in values.cat.categories if (values == c).any()]
    elif pd.api.types.is_numeric_dtype(values):
        levels = sorted(pd.unique(values))
    else:
        levels = sorted(pd.unique(values), key=str)
    if len(levels) > MAX_LEVELS:
        raise DataError(
            f"subgroup '{subgroup}' has {len(levels)} distinct values: a subgroup is "
            f"a category with at most {MAX_LEVELS} levels; cut a measurement into "
            "bands first"
        )
    if len(levels) < 2:
        raise DataError(
            f"subgroup '{subgroup}' has {len(levels)} level among the rows analysed "
            f"({levels}): there is nothing to compare"
        )
    for value in levels:
        rows = used[values == value]
        for code, arm in ((1, "intervention"), (0, "comparator")):
            members = rows[rows[group] == code]
            if members.empty:
                raise DataError(
                    f"subgroup '{subgroup}' level {value!r} has nobody in the {arm} "
                    "arm among the rows analysed: its effect cannot be estimated; "
                    "recode it into another level or leave the subgroup out"
                )
            _check_level_size(members, subgroup, value, arm, cluster)
    return levels


def _check_level_size(members, subgroup, value, arm: str, cluster) -> None:
    """Two or more participants (and, with clusters, two or more clusters) in
    each arm of each level: with fewer, the level's effect fits its data
    exactly and its standard error, and the interaction test, mean nothing."""
    if cluster is not None and members[cluster].nunique() < 2:
        raise DataError(
            f"subgroup '{subgroup}' level {value!r} has {len(members)} "
            f"participant(s) in 1 {cluster} in the {arm} arm: a level needs two "
            f"or more {cluster}s in each arm for its effect to have a standard "
            "error; recode it into another level or leave the subgroup out"
        )
    if len(members) < 2:
        raise DataError(
            f"subgroup '{subgroup}' level {value!r} has 1 participant in the "
            f"{arm} arm: a level needs two or more in each arm; recode it into "
            "another level or leave the subgroup out"
        )


def _design(used, baseline, group, subgroup, levels, terms):
    """Columns: intercept, baseline, covariates, level indicators (all but the
    first), then the arm within each level; and the positions of the last."""
    blocks = [np.ones((len(used), 1)), used[[baseline]].to_numpy(float)]
    blocks.append(terms.to_numpy(float))
    names = ["Intercept", baseline, *terms.columns]
    values = used[subgroup].to_numpy()
    arm = used[group].to_numpy(float)
    member = np.column_stack([values == v for v in levels]).astype(float)
    blocks += [member[:, 1:], member * arm[:, None]]
    names += [f"{subgroup}[{v}]" for v in levels[1:]]
    start = len(names)
    names += [f"{subgroup}[{v}]:{group}" for v in levels]
    x = np.column_stack(blocks)
    check_rank(pd.DataFrame(x, columns=names), f"{subgroup} by {group}")
    return x, names, np.arange(start, start + len(levels))
