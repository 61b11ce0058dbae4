"""Adjustment for non-randomised designs: propensity scores (participant or
cluster level), IPW and overlap weights, nearest-neighbour matching, balance tables
and Love plots, weighted and doubly robust (weighted regression, AIPW) outcome
estimates, and E-values for unmeasured confounding.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._aipw import AipwResult, aipw
    from ._balance import balance_table, love_plot
    from ._clusters import cluster_allocation, cluster_propensity_score
    from ._evalue import EValue, e_value, effect_e_value
    from ._matching import Matching, match_nearest
    from ._outcome import WeightedEffect, weighted_effect
    from ._propensity import (
        PropensityScore,
        Weights,
        effective_sample_size,
        ipw_weights,
        propensity_score,
    )

__all__ = [
    "AipwResult",
    "EValue",
    "Matching",
    "PropensityScore",
    "WeightedEffect",
    "Weights",
    "aipw",
    "balance_table",
    "cluster_allocation",
    "cluster_propensity_score",
    "e_value",
    "effect_e_value",
    "effective_sample_size",
    "ipw_weights",
    "love_plot",
    "match_nearest",
    "propensity_score",
    "weighted_effect",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._aipw": ("AipwResult", "aipw"),
        "._balance": ("balance_table", "love_plot"),
        "._clusters": ("cluster_allocation", "cluster_propensity_score"),
        "._evalue": ("EValue", "e_value", "effect_e_value"),
        "._matching": ("Matching", "match_nearest"),
        "._outcome": ("WeightedEffect", "weighted_effect"),
        "._propensity": (
            "PropensityScore",
            "Weights",
            "effective_sample_size",
            "ipw_weights",
            "propensity_score",
        ),
    },
)
