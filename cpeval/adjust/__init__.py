"""Adjustment for non-randomised designs: propensity scores, weights, weighted
outcome models.

Matching, balance tables and AIPW arrive with the rest of this work.
"""

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
    "effective_sample_size",
    "ipw_weights",
    "propensity_score",
    "weighted_effect",
]
