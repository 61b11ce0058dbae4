"""Trial-based economic evaluation: costs from service use, QALYs, incremental
analysis, the stratified bootstrap with CEAC, CEAF, INMB and EVPI, and plots.

Also the two-stage cluster bootstrap, regression-adjusted (OLS or SUR) incremental
analysis, and bootstrap with multiple imputation in both orders.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._adjusted import AdjustedIncremental, adjusted_incremental
    from ._cea import BootstrapCEA, Incremental, bootstrap_cea, incremental, quadrant
    from ._costs import cost_service_use, cost_totals, load_price_index, load_unit_costs
    from ._mi import PooledCEA, bootstrap_then_impute, impute_then_bootstrap
    from ._plots import plot_ce_plane, plot_ceac
    from ._qaly import qalys
    from ._voi import evppi_regression

__all__ = [
    "AdjustedIncremental",
    "BootstrapCEA",
    "Incremental",
    "PooledCEA",
    "adjusted_incremental",
    "bootstrap_cea",
    "bootstrap_then_impute",
    "cost_service_use",
    "cost_totals",
    "evppi_regression",
    "impute_then_bootstrap",
    "incremental",
    "load_price_index",
    "load_unit_costs",
    "plot_ce_plane",
    "plot_ceac",
    "qalys",
    "quadrant",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._adjusted": ("AdjustedIncremental", "adjusted_incremental"),
        "._cea": (
            "BootstrapCEA",
            "Incremental",
            "bootstrap_cea",
            "incremental",
            "quadrant",
        ),
        "._costs": (
            "cost_service_use",
            "cost_totals",
            "load_price_index",
            "load_unit_costs",
        ),
        "._mi": ("PooledCEA", "bootstrap_then_impute", "impute_then_bootstrap"),
        "._plots": ("plot_ce_plane", "plot_ceac"),
        "._qaly": ("qalys",),
        "._voi": ("evppi_regression",),
    },
)
