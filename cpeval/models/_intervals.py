"""t-based confidence limits and p-values shared by the model results."""

from __future__ import annotations

import numpy as np
import pandas as pd


def t_interval(estimate, se, df, level: float) -> pd.DataFrame:
    """``estimate -/+ t_(1+level)/2, df * se``; infinite df gives the normal."""
    from scipy import stats

    q = stats.t.ppf(0.5 + level / 2, np.asarray(df, float))
    return pd.DataFrame({"ci_low": estimate - q * se, "ci_high": estimate + q * se})


def t_pvalue(estimate, se, df) -> np.ndarray:
    """Two-sided p-value of ``estimate / se`` on ``df`` (normal for infinite df)."""
    from scipy import stats

    t = np.asarray(estimate, float) / np.asarray(se, float)
    return 2 * stats.t.sf(np.abs(t), np.asarray(df, float))
