"""Strict reading of cpeval's TOML files (codebooks, instrument definitions)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._files import MAX_TEXT_CONFIG_BYTES, check_input
from .exceptions import DataError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is a DataError naming it."""
    check_input(path, what, MAX_TEXT_CONFIG_BYTES)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: the {what} is not valid TOML: {exc}") from None
    except RecursionError:
        raise DataError(
            f"{path}: the {what} nests its tables or lists too deeply"
        ) from None


def check_keys(table: Any, allowed: Mapping[str, Any], where: object, prefix: str):
    """Refuse a non-table, an unknown key or a value of the wrong type.

    ``allowed`` maps each key to its type (or tuple of types); ``prefix`` is the
    dotted path of the table, e.g. ``"study."``, used in messages.
    """
    if not isinstance(table, dict):
        raise DataError(f"{where}: '{prefix.rstrip('.')}' must be a table of keys")
    for key, value in table.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise DataError(
                f"{where}: unknown key '{prefix}{key}'; known keys: {known}"
            )
        wrong_bool = isinstance(value, bool) and allowed[key] is not bool
        if not isinstance(value, allowed[key]) or wrong_bool:
            raise DataError(
                f"{where}: '{prefix}{key}' has the wrong type "
                f"({type(value).__name__}: {value!r})"
            )
