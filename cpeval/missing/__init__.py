"""Missing data: multiple imputation by chained equations (by arm), Rubin's rules
with Barnard-Rubin df.

Also missingness patterns and summaries, and delta-adjusted (missing not at random)
sensitivity analyses with a tipping-point table.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._items import impute_items
    from ._mice import Imputations, impute
    from ._pool import PooledEstimate, pool
    from ._report import delta_adjust, missing_patterns, missing_summary, tipping_point

__all__ = [
    "Imputations",
    "PooledEstimate",
    "delta_adjust",
    "impute",
    "impute_items",
    "missing_patterns",
    "missing_summary",
    "pool",
    "tipping_point",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._items": ("impute_items",),
        "._mice": ("Imputations", "impute"),
        "._pool": ("PooledEstimate", "pool"),
        "._report": (
            "delta_adjust",
            "missing_patterns",
            "missing_summary",
            "tipping_point",
        ),
    },
)
