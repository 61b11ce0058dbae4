"""cpeval: evaluate the outcomes of social interventions in mental health.

The pipeline runs ``io`` (read, validate, link waves) -> ``scales`` -> ``models``
-> ``economics`` -> ``tables``/``report``. This release holds the ``io`` and
``scales`` stages.
"""

from importlib.metadata import PackageNotFoundError, version

from . import adjust, economics, io, missing, models, scales
from .exceptions import CpevalError, CpevalWarning, DataError
from .io import load_codebook, load_study, participant_flow, read_data, validate

try:
    __version__ = version("cpeval")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "CpevalError",
    "CpevalWarning",
    "DataError",
    "__version__",
    "adjust",
    "economics",
    "io",
    "load_codebook",
    "load_study",
    "missing",
    "models",
    "participant_flow",
    "read_data",
    "scales",
    "validate",
]
