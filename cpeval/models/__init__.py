"""Outcome models: linear mixed models with nested random intercepts
(Satterthwaite df), ANCOVA with CR2 cluster-robust inference, effect sizes, and
the arm difference at every follow-up wave (``effect_by_wave``).

Also difference-in-differences (linearmodels PanelOLS), ICCs, the design effect,
and agreement between raters (Cohen's kappa, ICCs of ratings); the restricted wild
cluster bootstrap of the ANCOVA difference and of the pre-post effect for few
clusters.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._agreement import KappaResult, cohen_kappa, icc_ratings
    from ._ancova import AncovaResult, ancova
    from ._cr2 import cr2, cr2_wald
    from ._design import design_effect
    from ._did import DidResult, did
    from ._effects import EffectSize, partial_eta_squared, treatment_effect
    from ._gee import GeeResult, fit_gee
    from ._glmm import GlmmResult, fit_glmm
    from ._iv import IvResult, fit_iv
    from ._lmm import LmmResult, check_nested, fit_lmm
    from ._subgroups import SubgroupResult, subgroup_effects
    from ._waves import WaveEffects, effect_by_wave
    from ._wild import WildBootstrap, wild_bootstrap_ancova, wild_bootstrap_prepost

__all__ = [
    "AncovaResult",
    "DidResult",
    "EffectSize",
    "GeeResult",
    "GlmmResult",
    "IvResult",
    "KappaResult",
    "LmmResult",
    "SubgroupResult",
    "WaveEffects",
    "WildBootstrap",
    "ancova",
    "check_nested",
    "cohen_kappa",
    "cr2",
    "cr2_wald",
    "design_effect",
    "did",
    "effect_by_wave",
    "fit_gee",
    "fit_glmm",
    "fit_iv",
    "fit_lmm",
    "icc_ratings",
    "partial_eta_squared",
    "subgroup_effects",
    "treatment_effect",
    "wild_bootstrap_ancova",
    "wild_bootstrap_prepost",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._agreement": ("KappaResult", "cohen_kappa", "icc_ratings"),
        "._ancova": ("AncovaResult", "ancova"),
        "._cr2": ("cr2", "cr2_wald"),
        "._design": ("design_effect",),
        "._did": ("DidResult", "did"),
        "._iv": ("IvResult", "fit_iv"),
        "._effects": ("EffectSize", "partial_eta_squared", "treatment_effect"),
        "._gee": ("GeeResult", "fit_gee"),
        "._glmm": ("GlmmResult", "fit_glmm"),
        "._lmm": ("LmmResult", "check_nested", "fit_lmm"),
        "._subgroups": ("SubgroupResult", "subgroup_effects"),
        "._waves": ("WaveEffects", "effect_by_wave"),
        "._wild": ("WildBootstrap", "wild_bootstrap_ancova", "wild_bootstrap_prepost"),
    },
)
