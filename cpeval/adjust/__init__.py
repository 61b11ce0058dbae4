"""Adjustment for non-randomised designs: propensity scores, weights, weighted
outcome models.

Balance tables and Love plots; matching and AIPW arrive with the rest of this work.
"""

from ._balance import balance_table, love_plot
from ._outcome import WeightedEffect, weighted_effect
from ._propensity import (
    PropensityScore,
    Weights,
    effective_sample_size,
    ipw_weights,
    propensity_score,
)

__all__ = [
    "PropensityScore",
    "WeightedEffect",
    "Weights",
    "balance_table",
    "effective_sample_size",
    "ipw_weights",
    "love_plot",
    "propensity_score",
    "weighted_effect",
]
