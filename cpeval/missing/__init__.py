"""Missing data: multiple imputation by chained equations (by arm), Rubin's rules
with Barnard-Rubin df.

Missingness reports and delta-adjusted sensitivity analyses arrive with the rest of
the missing-data work.
"""

from ._mice import Imputations, impute
from ._pool import PooledEstimate, pool

__all__ = ["Imputations", "PooledEstimate", "impute", "pool"]
