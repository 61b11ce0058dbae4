"""Internal consistency per scale: Cronbach's alpha with its Feldt interval,
McDonald's omega (total) from a one-factor minres model, and corrected item-total
correlations. Checked against R psych (tests/reference/reliability)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._results import DescriptiveResults, percent
from ..exceptions import DataError
from ._instrument import Instrument, get_instrument
from ._score import item_scores

__all__ = ["Reliability", "cronbach_alpha", "omega_total", "reliability"]


@dataclass(frozen=True, slots=True, repr=False)
class Reliability(DescriptiveResults):
    """Reliability of each scale of an instrument.

    Parameters
    ----------
    scales : pandas.DataFrame
        One row per scale (and ``by`` group): ``n`` complete cases, ``items``,
        ``alpha``, ``alpha_ci_low``, ``alpha_ci_high`` and ``omega_total``.
    items : pandas.DataFrame
        One row per item and scale: ``r_drop``, the correlation of the item with
        the sum of the scale's other items.
    level : float
        Confidence level of the alpha interval.
    """

    scales: pd.DataFrame
    items: pd.DataFrame
    level: float

    _title = "Reliability (Cronbach's alpha, omega total)"

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("scales", len(self.scales)),
            ("items", len(self.items)),
            ("level", percent(self.level)),
        ]

    def to_frame(self) -> pd.DataFrame:
        """The per-scale table."""
        return self.scales.copy()


def reliability(
    data: pd.DataFrame,
    instrument: str | Instrument,
    items: Sequence[str] | Mapping[str, str] | str | None = None,
    *,
    by: str | None = None,
    level: float = 0.95,
) -> Reliability:
    """Cronbach's alpha with CI, McDonald's omega and item-total correlations.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses.
    instrument : str or Instrument
        The instrument; item scores are used (codes mapped, reverse keys applied).
    items : list, mapping or str, optional
        Item columns, as in :func:`score`.
    by : str, optional
        A column to compute within, such as the wave.
    level : float
        Confidence level of the Feldt interval for alpha.

    Returns
    -------
    Reliability

    Notes
    -----
    Each scale uses the rows with all its items answered (listwise).
    ``alpha = k/(k-1) (1 - sum(var_i)/var(total))``; the Feldt interval is
    ``1 - (1 - alpha) F_q(n-1, (n-1)(k-1))`` at ``q = 1 - a/2`` (lower) and ``a/2``
    (upper). Omega total is ``1 - sum(1 - l_i^2) / sum(R)`` with ``l`` the
    loadings of a one-factor minres (unweighted least squares) fit to the
    correlation matrix ``R``; it needs three or more items. These equal R
    ``psych::alpha`` (``raw_alpha``, ``feldt``, ``r.drop``) and
    ``psych::omega(nfactors = 1)$omega.tot`` on complete cases.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cpeval.scales import reliability
    >>> rng = np.random.default_rng(1)
    >>> level = rng.normal(size=(200, 1))
    >>> codes = np.clip(np.round(3 + level + rng.normal(size=(200, 14))), 1, 5)
    >>> data = pd.DataFrame(codes, columns=[f"wemwbs_{i}" for i in range(1, 15)])
    >>> round(float(reliability(data, "wemwbs").scales["alpha"].iloc[0]), 2)
    0.91
    """
    inst = get_instrument(instrument)
    if by is not None and by not in data.columns:
        raise DataError(f"the data have no column '{by}' to group by")
    values = item_scores(data, inst, items)
    groups = [(None, np.ones(len(data), bool))]
    if by is not None:
        keys = data[by]
        groups = [(g, (keys == g).to_numpy()) for g in pd.unique(keys.dropna())]
    scale_rows, item_rows = [], []
    for group, mask in groups:
        for scale in inst.scales:
            block = values[mask][:, scale.items]
            block = block[~np.isnan(block).any(axis=1)]
            head = {} if by is None else {by: group}
            scale_rows.append({**head, "scale": scale.name, **_summary(block, level)})
            for position, r in zip(scale.items, _r_drop(block), strict=True):
                item_rows.append(
                    {
                        **head,
                        "scale": scale.name,
                        "item": position + 1,
                        "label": inst.labels[position],
                        "r_drop": r,
                    }
                )
    return Reliability(pd.DataFrame(scale_rows), pd.DataFrame(item_rows), level)


def cronbach_alpha(block: np.ndarray) -> float:
    """Cronbach's alpha of complete item scores (rows respondents, columns items)."""
    n, k = block.shape
    if k < 2 or n < 2:
        return np.nan
    cov = np.cov(block, rowvar=False)
    total = cov.sum()
    return float(k / (k - 1) * (1 - np.trace(cov) / total)) if total > 0 else np.nan


def omega_total(block: np.ndarray) -> float:
    """McDonald's omega total from a one-factor minres fit to the correlations."""
    n, k = block.shape
    if k < 3 or n <= k or np.any(block.std(axis=0) == 0):
        return np.nan
    corr = np.corrcoef(block, rowvar=False)
    upper = np.triu_indices(k, 1)
    fit = optimize.least_squares(
        lambda load: (corr - np.outer(load, load))[upper],
        np.full(k, 0.5),
        xtol=1e-14,
        ftol=1e-14,
        gtol=1e-14,
    )
    return float(1 - np.sum(1 - fit.x**2) / corr.sum())


def _summary(block: np.ndarray, level: float) -> dict[str, float]:
    n, k = block.shape
    alpha = cronbach_alpha(block)
    low, high = _feldt(alpha, n, k, level)
    return {
        "n": n,
        "items": k,
        "alpha": alpha,
        "alpha_ci_low": low,
        "alpha_ci_high": high,
        "omega_total": omega_total(block),
    }


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    if np.isnan(alpha):
        return np.nan, np.nan
    tail = (1 - level) / 2
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(tail, df1, df2)
    return float(low), float(high)


def _r_drop(block: np.ndarray) -> list[float]:
    n, k = block.shape
    if n < 3 or k < 2:
        return [np.nan] * k
    total = block.sum(axis=1)
    out = []
    for j in range(k):
        rest = total - block[:, j]
        ok = block[:, j].std() > 0 and rest.std() > 0
        out.append(float(np.corrcoef(block[:, j], rest)[0, 1]) if ok else np.nan)
    return out
