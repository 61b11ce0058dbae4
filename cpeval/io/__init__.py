"""Read study files, check them against a codebook, link the waves, count the flow.

The first stage of the pipeline: ``read_data`` reads one export,
``load_codebook`` parses the study codebook, ``validate`` reports every problem
at once, and ``load_study`` returns the linked long-format data with the
participant flow. Nothing here writes to an input file.
"""

from typing import TYPE_CHECKING

from .. import _lazy_exports

if TYPE_CHECKING:
    from ._codebook import Codebook, ColumnSpec, FileSpec, load_codebook
    from ._read import MISSING_TOKENS, ReadReport, read_data
    from ._study import ParticipantFlow, Study, load_study, participant_flow
    from ._validate import Problem, ValidationReport, validate

__all__ = [
    "MISSING_TOKENS",
    "Codebook",
    "ColumnSpec",
    "FileSpec",
    "ParticipantFlow",
    "Problem",
    "ReadReport",
    "Study",
    "ValidationReport",
    "load_codebook",
    "load_study",
    "participant_flow",
    "read_data",
    "validate",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "._codebook": ("Codebook", "ColumnSpec", "FileSpec", "load_codebook"),
        "._read": ("MISSING_TOKENS", "ReadReport", "read_data"),
        "._study": ("ParticipantFlow", "Study", "load_study", "participant_flow"),
        "._validate": ("Problem", "ValidationReport", "validate"),
    },
)
