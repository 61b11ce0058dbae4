"""Missing data: Rubin's rules (with Barnard-Rubin df).

Multiple imputation by chained equations, missingness reports and delta-adjusted
sensitivity analyses arrive with the rest of the missing-data work.
"""

from ._pool import PooledEstimate, pool

__all__ = ["PooledEstimate", "pool"]
