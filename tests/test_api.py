"""Public names import, carry numpydoc docstrings, and raise DataError as ValueError."""

from __future__ import annotations

import inspect

import pytest

import cpeval
import cpeval.adjust
import cpeval.economics
import cpeval.io
import cpeval.missing
import cpeval.models
import cpeval.scales


@pytest.mark.parametrize(
    "module",
    [
        cpeval,
        cpeval.io,
        cpeval.scales,
        cpeval.models,
        cpeval.missing,
        cpeval.adjust,
        cpeval.economics,
    ],
)
def test_all_names_import(module):
    for name in module.__all__:
        assert hasattr(module, name), name


def _public_functions():
    for module in (
        cpeval.io,
        cpeval.scales,
        cpeval.models,
        cpeval.missing,
        cpeval.adjust,
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield obj


@pytest.mark.parametrize(
    "function", list(_public_functions()), ids=lambda f: f.__name__
)
def test_docstring_parameters_match_signature(function):
    doc = inspect.getdoc(function)
    assert doc and "Examples\n--------" in doc
    expected = set(inspect.signature(function).parameters)
    if not expected:
        assert "Parameters\n----------" not in doc
        return
    assert "Parameters\n----------" in doc
    documented = set()
    for line in doc.split("Parameters\n----------", 1)[1].splitlines():
        if line.startswith(("Returns", "Raises", "Notes", "Examples")):
            break
        if line and not line.startswith(" ") and " : " in line:
            documented.update(n.strip() for n in line.split(" : ")[0].split(","))
    assert documented == expected


def test_data_error_is_a_value_error():
    assert issubclass(cpeval.DataError, ValueError)
    assert issubclass(cpeval.DataError, cpeval.CpevalError)


def test_every_data_folder_ships_in_the_wheel():
    """Each cpeval/<package>/data folder is named in pyproject's package-data (the
    editable install the tests use would not notice a missing one)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-data"]
    for folder in (root / "cpeval").rglob("data"):
        if folder.is_dir():
            package = ".".join(folder.parent.relative_to(root).parts)
            assert "data/**/*" in declared.get(package, []), package
