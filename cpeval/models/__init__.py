"""Outcome models: ANCOVA with cluster-robust (CR2) inference and effect sizes.

The mixed-model engine (``fit_lmm``), difference-in-differences, rater agreement
and design quantities arrive with the rest of the outcome-models work.
"""

from ._ancova import AncovaResult, ancova
from ._cr2 import cr2
from ._effects import EffectSize, partial_eta_squared, treatment_effect

__all__ = [
    "AncovaResult",
    "EffectSize",
    "ancova",
    "cr2",
    "partial_eta_squared",
    "treatment_effect",
]
