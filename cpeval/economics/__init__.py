"""Trial-based economic evaluation: costs from service use, QALYs, incremental
analysis, the stratified bootstrap with CEAC, CEAF, INMB and EVPI, and plots.

Also the two-stage cluster bootstrap and regression-adjusted (OLS or SUR)
incremental analysis. Bootstrap with multiple imputation and gamma-log cost models
arrive with the rest of the economics work.
"""

from ._adjusted import AdjustedIncremental, adjusted_incremental
from ._cea import BootstrapCEA, Incremental, bootstrap_cea, incremental, quadrant
from ._costs import cost_service_use, cost_totals, load_price_index, load_unit_costs
from ._plots import plot_ce_plane, plot_ceac
from ._qaly import qalys

__all__ = [
    "AdjustedIncremental",
    "BootstrapCEA",
    "Incremental",
    "adjusted_incremental",
    "bootstrap_cea",
    "cost_service_use",
    "cost_totals",
    "incremental",
    "load_price_index",
    "load_unit_costs",
    "plot_ce_plane",
    "plot_ceac",
    "qalys",
    "quadrant",
]
