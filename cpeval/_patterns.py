"""Column-name patterns shared by codebooks and instrument definitions."""

from __future__ import annotations

import re

_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")
MAX_NAMES = 10_000  # names one pattern may make


def expand(pattern: str, limit: int = MAX_NAMES) -> list[str]:
    """Expand one number range in a name: ``"wemwbs_{1..3}"`` -> three names.

    A name without a range is returned alone. A range of more than ``limit``
    names, or one that runs backwards, is a ``ValueError`` (before any name is
    made).

    Examples
    --------
    >>> expand("q{2..4}_t")
    ['q2_t', 'q3_t', 'q4_t']
    """
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    if len(_RANGE.findall(pattern)) > 1:
        raise ValueError(f"{pattern!r} has more than one range; list the names")
    low, high = int(match.group(1)), int(match.group(2))
    if high < low:
        raise ValueError(f"range {{{low}..{high}}} runs backwards")
    if high - low + 1 > limit:
        raise ValueError(
            f"range {{{low}..{high}}} names {high - low + 1:,} columns, more than "
            f"{limit:,}"
        )
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [f"{head}{i}{tail}" for i in range(low, high + 1)]
