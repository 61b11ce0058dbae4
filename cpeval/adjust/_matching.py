"""Nearest-neighbour matching on the propensity score (MatchIt's algorithm)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .._results import DescriptiveResults
from ..exceptions import DataError
from ._propensity import PropensityScore

__all__ = ["Matching", "match_nearest"]


@dataclass(frozen=True, repr=False)
class Matching(DescriptiveResults):
    """Matched sets and the weights that go with them (ATT).

    Parameters
    ----------
    pairs : pandas.DataFrame
        One row per matched control: ``subclass``, ``treated`` and ``control``
        (row labels of the data).
    weights : pandas.Series
        1 for matched treated rows, ``1/k``-type weights for matched controls
        (scaled to sum to the number of matched controls), 0 for the unmatched.
    n_unmatched_treated : int
        Treated rows left without a match (no control within the caliper).
    caliper : float or None
        The caliper on the distance scale actually used.
    """

    pairs: pd.DataFrame
    weights: pd.Series
    n_unmatched_treated: int
    caliper: float | None

    _title = "Nearest-neighbour matching (ATT)"

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("matched sets", int(self.pairs["subclass"].nunique())),
            ("matched controls", len(self.pairs)),
            ("unmatched treated", self.n_unmatched_treated),
            ("caliper", self.caliper),
        ]

    def to_frame(self) -> pd.DataFrame:
        """The matched pairs: ``subclass``, ``treated``, ``control``."""
        return self.pairs.copy()

    def _tables(self) -> list[tuple[str, pd.DataFrame]]:
        return [("First matched pairs", self.pairs.head(10))]


def match_nearest(
    ps: PropensityScore,
    *,
    caliper: float | None = 0.2,
    ratio: int = 1,
    replace: bool = False,
    distance: Literal["logit", "score"] = "logit",
    exact: pd.DataFrame | None = None,
    order: Literal["largest", "smallest", "data"] = "largest",
) -> Matching:
    """Greedy nearest-neighbour matching, with a caliper, with or without replacement.

    Parameters
    ----------
    ps : PropensityScore
    caliper : float, optional
        In standard deviations of the distance over all rows (as MatchIt's
        ``std.caliper = TRUE``); ``None`` for no caliper.
    ratio : int
        Controls per treated row (k:1), matched in rounds as MatchIt does.
    replace : bool
        Let a control serve several treated rows (then its weight adds up).
    distance : {"logit", "score"}
        Match on the logit of the score (MatchIt ``link = "linear.logit"``) or the
        score itself.
    exact : pandas.DataFrame, optional
        Columns (aligned on the data) that matched rows must share.
    order : {"largest", "smallest", "data"}
        The order in which treated rows choose (MatchIt ``m.order``).

    Returns
    -------
    Matching

    Notes
    -----
    Treated rows, in ``order`` of their distance, each take the nearest unused
    control (ties go to the first in data order) whose distance differs by at
    most the caliper and that shares the ``exact`` values; with ``ratio = k`` this
    is repeated k times, each round in the same order. The matched sets equal R
    ``MatchIt::matchit(method = "nearest")``, with and without replacement
    (``tests/reference/matching``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.adjust import match_nearest, propensity_score
    >>> d = pd.read_csv("tests/reference/weighting/observational.csv")
    >>> m = match_nearest(propensity_score(d, "treated ~ age + severity + female"))
    >>> int(m.weights.sum()) == 2 * len(m.pairs)
    True
    """
    if ratio < 1:
        raise DataError(f"ratio must be 1 or more; got {ratio}")
    d = (ps.logit if distance == "logit" else ps.score).to_numpy(float)
    t = ps.treated.to_numpy()
    width = None if caliper is None else caliper * float(np.std(d, ddof=1))
    keys = _exact_keys(exact, ps.score.index)
    treated_pos = np.flatnonzero(t == 1)
    controls = np.flatnonzero(t == 0)
    sequence = {
        "largest": treated_pos[np.argsort(-d[treated_pos], kind="stable")],
        "smallest": treated_pos[np.argsort(d[treated_pos], kind="stable")],
        "data": treated_pos,
    }[order]
    used = np.zeros(len(d), bool)
    matches: dict[int, list[int]] = {i: [] for i in treated_pos}
    for round_ in range(ratio):
        for i in sequence:
            if round_ > 0 and len(matches[i]) < round_:
                continue  # unmatched in an earlier round
            gap = np.abs(d[controls] - d[i])
            ok = keys[controls] == keys[i]
            if not replace:
                ok &= ~used[controls]
            else:
                ok &= ~np.isin(controls, matches[i])
            if width is not None:
                ok &= gap <= width
            if not ok.any():
                continue
            best = controls[np.flatnonzero(ok)[np.argmin(gap[ok])]]
            used[best] = True
            matches[i].append(best)
    return _result(ps, matches, width)


def _exact_keys(exact: pd.DataFrame | None, index: pd.Index) -> np.ndarray:
    if exact is None:
        return np.zeros(len(index), dtype=np.int64)
    rows = exact.reindex(index)
    if rows.isna().any().any():
        raise DataError("exact-matching columns have missing values for some rows")
    return rows.groupby(list(rows.columns), sort=True).ngroup().to_numpy(np.int64)


def _result(ps: PropensityScore, matches: dict[int, list[int]], width) -> Matching:
    labels = ps.score.index
    records, weights = [], np.zeros(len(labels))
    subclass = 0
    for i, found in matches.items():
        if not found:
            continue
        subclass += 1
        weights[i] = 1.0
        for j in found:
            records.append(
                {"subclass": subclass, "treated": labels[i], "control": labels[j]}
            )
            weights[j] += 1.0 / len(found)
    control = (ps.treated.to_numpy() == 0) & (weights > 0)
    if control.any():  # scale control weights to sum to the matched controls
        weights[control] *= control.sum() / weights[control].sum()
    unmatched = sum(1 for found in matches.values() if not found)
    return Matching(
        pairs=pd.DataFrame(records, columns=["subclass", "treated", "control"]),
        weights=pd.Series(weights, index=labels, name="weight"),
        n_unmatched_treated=unmatched,
        caliper=width,
    )
