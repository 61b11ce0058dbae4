"""Item-level multiple imputation with scale scores derived passively from the
completed items (Eekhout et al. 2014; van Buuren, FIMD 2nd ed., section 6.4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .._checks import numeric
from .._format import show
from ..exceptions import DataError
from ._mice import Imputations, impute

__all__ = ["impute_items"]

ScoreRule = str | Callable[[pd.DataFrame], "pd.Series | np.ndarray"]

RULES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "sum": lambda items: items.sum(axis=1),
    "mean": lambda items: items.mean(axis=1),
}


def impute_items(
    data: pd.DataFrame,
    items: Mapping[str, Sequence[str]],
    *,
    score: ScoreRule | Mapping[str, ScoreRule] = "sum",
    predictors: Sequence[str] = (),
    by: str | None = None,
    cluster: str | None = None,
    m: int = 5,
    iterations: int = 10,
    seed: int,
    n_jobs: int = 1,
    client=None,
) -> Imputations:
    """Impute the items of questionnaires, then derive each score from them.

    The items are imputed by chained equations (:func:`impute`: predictive mean
    matching, so an imputed item is always a value observed for that item, in
    range) and every score is computed from the completed items of each data
    set ("passive" imputation), never imputed itself.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant; not modified.
    items : mapping of str to sequence of str
        Score name -> its item columns, e.g. ``{"wemwbs_total": ["wemwbs_1",
        ..., "wemwbs_14"]}``. Items must hold numbers (numbers written as text
        are read as numbers). A score name must not already be a column.
    score : {"sum", "mean"}, callable, or mapping of score name to either
        How a score is derived from its completed items: ``"sum"`` (default),
        ``"mean"``, or a function given the score's items (a data frame, one
        column per item, in the order of ``items``) returning one number per
        row. A mapping gives the rule per score; scores it leaves out are sums.
    predictors : sequence of str
        Complete columns that predict every item (e.g. the baseline score).
    by : str, optional
        Stratifying column (the arm): each stratum is imputed on its own.
    cluster : str, optional
        Cluster column entered as fixed effects in every item's model.
    m : int
        Number of imputations.
    iterations : int
        Cycles of the chained equations through the items.
    seed : int
        Required; every imputation gets its own stream spawned from it (as
        :func:`impute`).
    n_jobs : int
        Worker processes over the imputations; -1 for every core.
    client : dask.distributed.Client, optional
        Impute on this Dask cluster (the data sets are the same for any
        ``n_jobs`` or backend).

    Returns
    -------
    Imputations
        Its ``datasets`` hold the completed items (as floats) and one column
        per score; ``imputed`` marks an imputed score wherever any of its items
        was imputed (so :func:`delta_adjust` can shift it); ``methods`` names
        each score's rule, e.g. ``"passive (sum of 14 items)"``.

    Raises
    ------
    DataError
        No items; a named column the data lack; an item that is text, not a
        number (naming the row and value); a score name that is already a
        column; an item listed twice in a score or also given as a predictor,
        ``by`` or ``cluster``; an unknown rule.

    Notes
    -----
    Which items predict which: :func:`impute` regresses each imputed column on
    all the other imputed columns plus ``predictors`` (and ``cluster``
    indicators); it has no per-column predictor matrix. With one scale, each
    item is therefore predicted by the other items of its scale and the
    predictors, as Eekhout et al. (2014) recommend. With several scales in one
    call, each item is predicted by every other item of every scale; with many
    items and few people per stratum those regressions grow large (collinear
    predictors are dropped, as in mice), and the lighter model of FIMD section
    6.4 (own-scale items plus the other scales' totals) cannot be expressed.
    Only items are imputed: other incomplete columns cannot be predictors (they
    are refused by :func:`impute`), and the derived scores are added after the
    chained equations, not fed back into them.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.missing import impute_items
    >>> rng = np.random.default_rng(0)
    >>> level = rng.normal(size=60)
    >>> d = pd.DataFrame(
    ...     {f"q{j}": np.clip(np.round(3 + level + rng.normal(size=60)), 1, 5)
    ...      for j in (1, 2, 3, 4)}
    ... ).assign(arm=np.arange(60) % 2)
    >>> d.loc[::7, "q2"] = np.nan
    >>> imp = impute_items(d, {"total": ["q1", "q2", "q3", "q4"]}, by="arm",
    ...                    m=3, iterations=5, seed=1)
    >>> first = imp.datasets[0]
    >>> bool((first["total"] == first[["q1", "q2", "q3", "q4"]].sum(axis=1)).all())
    True
    >>> int(imp.imputed["total"].sum()), bool(first["q2"].isin([1, 2, 3, 4, 5]).all())
    (9, True)
    """
    scales = _scales(items)
    rules = _rules(score, scales)
    columns = list(dict.fromkeys(c for names in scales.values() for c in names))
    predictors = [predictors] if isinstance(predictors, str) else list(predictors)
    others = [*predictors, *(x for x in (by, cluster) if x)]
    absent = sorted({str(c) for c in [*columns, *others] if c not in data.columns})
    if absent:
        raise DataError(f"impute_items names columns the data do not have: {absent}")
    clash = [name for name in scales if name in data.columns]
    if clash:
        raise DataError(
            f"score '{show(clash[0])}' is already a column of the data; it is "
            "derived from the imputed items, so drop that column or name the "
            "score otherwise"
        )
    both = [c for c in columns if c in others]
    if both:
        raise DataError(
            f"column '{show(both[0])}' is an item and also a predictor, by or "
            "cluster; name it once"
        )
    work = data.assign(**numeric(data[columns], "item column"))
    imputations = impute(
        work,
        columns,
        predictors=predictors,
        by=by,
        cluster=cluster,
        m=m,
        iterations=iterations,
        seed=seed,
        n_jobs=n_jobs,
        client=client,
    )
    datasets = tuple(
        completed.assign(
            **{
                name: _derive(rules[name], completed[names], name)
                for name, names in scales.items()
            }
        )
        for completed in imputations.datasets
    )
    mask = imputations.imputed.assign(
        **{
            name: imputations.imputed[names].any(axis=1)
            for name, names in scales.items()
        }
    )
    methods = {
        **imputations.methods,
        **{name: _describe(rules[name], scales[name]) for name in scales},
    }
    return replace(imputations, datasets=datasets, imputed=mask, methods=methods)


def _scales(items) -> dict[str, list[str]]:
    if not isinstance(items, Mapping) or not items:
        raise DataError(
            "impute_items needs items: a mapping of score name to its item "
            "columns, e.g. {'total': ['q1', 'q2', 'q3']}"
        )
    scales = {}
    for name, names in items.items():
        if not isinstance(name, str) or not name:
            raise DataError(f"a score name must be text; got {name!r}")
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise DataError(
                f"the items of score '{show(name)}' must be a list of column "
                f"names, not a {type(names).__name__}"
            )
        names = list(names)
        if not names:
            raise DataError(f"score '{show(name)}' has no items")
        twice = [c for c in dict.fromkeys(names) if names.count(c) > 1]
        if twice:
            raise DataError(
                f"item '{show(twice[0])}' is listed twice in score '{show(name)}'"
            )
        scales[name] = names
    return scales


def _rules(score, scales) -> dict[str, ScoreRule]:
    given = score if isinstance(score, Mapping) else dict.fromkeys(scales, score)
    unknown = [name for name in given if name not in scales]
    if unknown:
        raise DataError(
            f"score rule given for '{show(unknown[0])}', which is not a score; "
            f"scores: {list(scales)}"
        )
    rules = {name: given.get(name, "sum") for name in scales}
    for name, rule in rules.items():
        if not callable(rule) and rule not in RULES:
            raise DataError(
                f"score '{show(name)}': rule {show(rule)!r} is not 'sum', 'mean' "
                "or a function of the items"
            )
    return rules


def _derive(rule: ScoreRule, items: pd.DataFrame, name: str) -> pd.Series:
    if not callable(rule):
        return RULES[rule](items).astype(float)
    values = rule(items.copy())
    if isinstance(values, pd.Series):
        if not values.index.equals(items.index):
            raise DataError(
                f"the rule of score '{show(name)}' returned rows other than the "
                "data's (a Series with another index)"
            )
    else:
        values = np.asarray(values)
        if values.shape != (len(items),):
            raise DataError(
                f"the rule of score '{show(name)}' returned shape {values.shape}; "
                f"need one value per row ({len(items)})"
            )
        values = pd.Series(values, index=items.index)
    values = numeric(values.rename(name), "derived score")
    if values.isna().any():
        raise DataError(
            f"the rule of score '{show(name)}' gave {int(values.isna().sum())} "
            "missing values from completed items"
        )
    return values


def _describe(rule: ScoreRule, names: list[str]) -> str:
    what = rule if isinstance(rule, str) else getattr(rule, "__name__", "<")
    if what.startswith("<"):
        what = "a function"  # a lambda or a callable object
    return f"passive ({what} of {len(names)} items)"
