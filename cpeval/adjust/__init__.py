"""Adjustment for non-randomised designs: propensity scores, weights, weighted
outcome models.

Balance tables, Love plots and nearest-neighbour matching.
"""

from ._balance import balance_table, love_plot
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
    "Matching",
    "PropensityScore",
    "WeightedEffect",
    "Weights",
    "balance_table",
    "effective_sample_size",
    "ipw_weights",
    "love_plot",
    "match_nearest",
    "propensity_score",
    "weighted_effect",
]
