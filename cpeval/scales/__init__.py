"""Score outcome instruments from definitions stored as data.

``score`` applies any instrument definition (built in, or a user's TOML file);
``list_instruments`` shows the catalogue with each definition's status.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._eq5d import eq5d_index, eq5d_summary, list_value_sets, resolve_country
    from ._fidelity import combine_ratings, fidelity_group
    from ._instrument import (
        Instrument,
        Scale,
        get_instrument,
        list_instruments,
        load_instrument,
    )
    from ._reliability import Reliability, reliability
    from ._score import score
    from ._study import scale_directions, score_study

__all__ = [
    "Instrument",
    "Reliability",
    "Scale",
    "combine_ratings",
    "eq5d_index",
    "eq5d_summary",
    "fidelity_group",
    "get_instrument",
    "list_instruments",
    "list_value_sets",
    "load_instrument",
    "reliability",
    "resolve_country",
    "scale_directions",
    "score",
    "score_study",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._eq5d": ("eq5d_index", "eq5d_summary", "list_value_sets", "resolve_country"),
        "._fidelity": ("combine_ratings", "fidelity_group"),
        "._instrument": (
            "Instrument",
            "Scale",
            "get_instrument",
            "list_instruments",
            "load_instrument",
        ),
        "._reliability": ("Reliability", "reliability"),
        "._score": ("score",),
        "._study": ("scale_directions", "score_study"),
    },
)
