"""Model formulas: patsy's errors become one-line DataErrors naming the column."""

from __future__ import annotations

import re
from collections.abc import Iterable

from patsy import PatsyError

from ..exceptions import DataError

QUOTE_HINT = (
    "a column name that is not a Python identifier (a dot, a space, a keyword "
    'such as "yield") must be quoted in a formula as Q("name")'
)


def formula_error(
    formula: str, exc: PatsyError, columns: Iterable[str] = ()
) -> DataError:
    """A DataError for a formula patsy could not build, naming the missing column
    (and the quoting a non-identifier column name needs)."""
    first = str(exc).splitlines()[0]
    missing = re.search(r"name '([^']+)' is not defined", first)
    if missing:
        name = missing.group(1)
        odd = [c for c in columns if not str(c).isidentifier() and name in str(c)]
        hint = f'; {QUOTE_HINT}, e.g. Q("{odd[0]}")' if odd else ""
        return DataError(
            f"the model {formula!r} names a column the data do not have: '{name}'{hint}"
        )
    if "SyntaxError" in first:
        return DataError(f"cannot read the model {formula!r}: {QUOTE_HINT}")
    return DataError(f"cannot build the model {formula!r}: {first}")
