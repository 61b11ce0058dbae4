"""Exceptions and warnings raised by cpeval.

Every error about the user's data is a :class:`DataError`, which is also a
``ValueError`` so that ordinary ``except ValueError`` code catches it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CpevalError", "CpevalWarning", "DataError"]


_BREAKS = re.compile(r"[\r\n\t]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_MESSAGE = 2000  # characters; a message quoting a whole file is cut


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line: line breaks and tabs become spaces, other control
    characters (NUL, escape) are shown as ``\\xNN``, and a long text is cut.

    Examples
    --------
    >>> one_line("two\\nlines\\x00")
    'two lines\\\\x00'
    """
    text = _BREAKS.sub(" ", text)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) > limit:
        text = f"{text[:limit]} ... ({len(text) - limit:,} more characters)"
    return text


class CpevalError(Exception):
    """Base class of every exception cpeval raises on purpose."""


class DataError(CpevalError, ValueError):
    """Input data (a file, a column, a value or a codebook) is not usable.

    Parameters
    ----------
    message : str
        One line naming the file, and where it applies the row, participant,
        column and value. Line breaks and control characters in quoted values
        are shown escaped, and a very long message is cut.
    problems : pandas.DataFrame, optional
        Every problem found, one row each, when several were found at once.
    """

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(one_line(message))
        self.problems = problems


class CpevalWarning(UserWarning):
    """Base class of the warnings cpeval issues, so they can be filtered at once."""
