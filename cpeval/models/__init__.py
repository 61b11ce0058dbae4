"""Outcome models: linear mixed models with nested random intercepts
(Satterthwaite df), ANCOVA with CR2 cluster-robust inference, effect sizes.

Difference-in-differences, fidelity as moderator, rater agreement and design
quantities arrive with the rest of the outcome-models work.
"""

from ._ancova import AncovaResult, ancova
from ._cr2 import cr2
from ._design import design_effect
from ._effects import EffectSize, partial_eta_squared, treatment_effect
from ._lmm import LmmResult, fit_lmm

__all__ = [
    "AncovaResult",
    "EffectSize",
    "LmmResult",
    "ancova",
    "cr2",
    "design_effect",
    "fit_lmm",
    "partial_eta_squared",
    "treatment_effect",
]
