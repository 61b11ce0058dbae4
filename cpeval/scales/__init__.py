"""Score outcome instruments from definitions stored as data.

``score`` applies any instrument definition (built in, or a user's TOML file);
``list_instruments`` shows the catalogue with each definition's status.
"""

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

__all__ = [
    "Instrument",
    "Reliability",
    "Scale",
    "combine_ratings",
    "fidelity_group",
    "get_instrument",
    "list_instruments",
    "load_instrument",
    "reliability",
    "score",
]
