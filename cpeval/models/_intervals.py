"""t-based confidence limits and p-values shared by the model results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def t_interval(estimate, se, df, level: float) -> pd.DataFrame:
    """``estimate -/+ t_(1+level)/2, df * se``; infinite df gives the normal."""
    import pandas as pd
    from scipy import stats

    q = stats.t.ppf(0.5 + level / 2, np.asarray(df, float))
    return pd.DataFrame({"ci_low": estimate - q * se, "ci_high": estimate + q * se})


def t_pvalue(estimate, se, df) -> np.ndarray:
    """Two-sided p-value of ``estimate / se`` on ``df`` (normal for infinite df).

    ``2 stdtr(df, -|t|)``, which is what scipy's ``t.sf`` computes (equal to the
    last bit), without loading scipy.stats: power workers use it too.
    """
    from scipy import special

    t = np.asarray(estimate, float) / np.asarray(se, float)
    return 2 * special.stdtr(np.asarray(df, float), -np.abs(t))
