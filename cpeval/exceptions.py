"""Exceptions and warnings raised by cpeval.

Every error about the user's data is a :class:`DataError`, which is also a
``ValueError`` so that ordinary ``except ValueError`` code catches it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CpevalError", "CpevalWarning", "DataError"]


class CpevalError(Exception):
    """Base class of every exception cpeval raises on purpose."""


class DataError(CpevalError, ValueError):
    """Input data (a file, a column, a value or a codebook) is not usable.

    Parameters
    ----------
    message : str
        One line naming the file, and where it applies the row, participant,
        column and value.
    problems : pandas.DataFrame, optional
        Every problem found, one row each, when several were found at once.
    """

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(message)
        self.problems = problems


class CpevalWarning(UserWarning):
    """Base class of the warnings cpeval issues, so they can be filtered at once."""
