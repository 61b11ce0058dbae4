"""Model formulas: patsy's errors become one-line DataErrors naming the column."""

from __future__ import annotations

import re

from patsy import PatsyError

from ..exceptions import DataError


def formula_error(formula: str, exc: PatsyError) -> DataError:
    """A DataError for a formula patsy could not build, naming the missing column."""
    first = str(exc).splitlines()[0]
    missing = re.search(r"name '([^']+)' is not defined", first)
    if missing:
        return DataError(
            f"the model {formula!r} names a column the data do not have: "
            f"'{missing.group(1)}'"
        )
    return DataError(f"cannot build the model {formula!r}: {first}")
