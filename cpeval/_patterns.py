"""Column-name patterns shared by codebooks and instrument definitions."""

from __future__ import annotations

import re

_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def expand(pattern: str) -> list[str]:
    """Expand one number range in a name: ``"wemwbs_{1..3}"`` -> three names.

    A name without a range is returned alone.

    Examples
    --------
    >>> expand("q{2..4}_t")
    ['q2_t', 'q3_t', 'q4_t']
    """
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    low, high = int(match.group(1)), int(match.group(2))
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [f"{head}{i}{tail}" for i in range(low, high + 1)]
