"""Score outcome instruments from definitions stored as data.

``score`` applies any instrument definition (built in, or a user's TOML file);
``list_instruments`` shows the catalogue with each definition's status.
"""

from ._eq5d import eq5d_index, eq5d_summary, list_value_sets
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
    "scale_directions",
    "score",
    "score_study",
]
