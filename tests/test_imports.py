"""Imports are lazy: ``import cpeval``, ``cpeval --help`` and a parallel
worker load only what they use, while every public name still resolves.

Each check of what is loaded runs in a fresh interpreter (this process has
imported everything already). No timings here: ``benchmarks/bench_import.py``
measures them.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cpeval

#: Never loaded by ``import cpeval`` or ``cpeval --help``.
HEAVY = (
    "statsmodels",
    "matplotlib",
    "scipy.optimize",
    "linearmodels",
    "great_tables",
    "weasyprint",
    "docx",
    "jinja2",
)
#: Nor these: ``import cpeval`` loads the exceptions only.
LIGHT = (*HEAVY, "numpy", "pandas", "scipy", "patsy", "pydantic", "openpyxl")
PACKAGES = (
    "cpeval",
    "cpeval.io",
    "cpeval.scales",
    "cpeval.models",
    "cpeval.adjust",
    "cpeval.missing",
    "cpeval.economics",
    "cpeval.report",
)
ROOT = Path(cpeval.__file__).parent


def _loaded(code: str, watch=LIGHT) -> dict:
    """Run ``code`` in a fresh interpreter; its output, exit code and which of
    ``watch`` it loaded (the last line of its output)."""
    script = (
        "import json, sys\ncode = 0\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except SystemExit as stop:\n    code = stop.code\n"
        f"print(json.dumps([code, [m for m in {list(watch)!r} if m in sys.modules]]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    *output, last = run.stdout.splitlines()
    code, loaded = json.loads(last)
    return {"code": code, "out": "\n".join(output), "loaded": loaded}


def test_import_cpeval_loads_no_dependency():
    result = _loaded("import cpeval\nfrom cpeval import DataError, CpevalWarning")
    assert result["loaded"] == []


def test_importing_every_subpackage_loads_no_dependency():
    result = _loaded("\n".join(f"import {name}" for name in PACKAGES))
    assert result["loaded"] == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["run", "--help"], ["validate", "--help"], ["--version"], []],
    ids=" ".join,
)
def test_cli_help_loads_no_dependency(argv):
    result = _loaded(f"from cpeval.cli import main\ncode = main({argv!r})")
    assert result["code"] == 0
    assert result["loaded"] == []
    if argv == ["--version"]:
        assert result["out"] == cpeval.__version__
    else:
        assert result["out"].startswith("usage: cpeval")
        assert "examples:" in result["out"]


def test_cli_as_a_module_prints_the_help():
    run = subprocess.run(
        [sys.executable, "-m", "cpeval.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout.startswith("usage: cpeval") and "validate" in run.stdout


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("cpeval._power_worker", ["numpy"]),
        ("cpeval.missing._mice", ["numpy", "pandas"]),
        ("cpeval._parallel", ["numpy"]),
    ],
)
def test_a_worker_imports_only_what_it_uses(module, expected):
    """A worker of ``simulate_power`` unpickles ``_power_worker.replicates``,
    one of ``impute`` ``_mice._one_imputation``: importing their module does
    not import the package's estimators."""
    if not ROOT.joinpath(*module.split(".")[1:]).with_suffix(".py").exists():
        pytest.skip(f"{module} is not in this tree")
    result = _loaded(f"import {module}", watch=(*LIGHT, "patsy", "scipy.stats"))
    assert result["loaded"] == expected


def test_a_bootstrap_worker_loads_no_model_library():
    """A worker of ``bootstrap_cea`` unpickles ``_cea._block_means``: no
    statsmodels, patsy, linearmodels or plotting (scipy.stats, which loads
    scipy.optimize, is imported by ``_cea`` itself)."""
    models = [m for m in (*HEAVY, "patsy") if m != "scipy.optimize"]
    result = _loaded("import cpeval.economics._cea", watch=models)
    assert result["loaded"] == []


def _lazy_table(package: str) -> tuple[dict, dict]:
    """From the package's ``__init__.py``: name -> module of the imports under
    ``if TYPE_CHECKING:``, and of the ``_lazy_exports`` table."""
    path = ROOT.joinpath(*package.split(".")[1:], "__init__.py")
    tree = ast.parse(path.read_text())
    checked, lazy = {}, {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for item in node.body:
                if isinstance(item, ast.ImportFrom):
                    module = "." * item.level + (item.module or "")
                    for alias in item.names:
                        checked[alias.asname or alias.name] = module
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "_lazy_exports"
        ):
            table = ast.literal_eval(node.args[1])
            lazy = {name: module for module, names in table.items() for name in names}
            for keyword in node.keywords:
                if keyword.arg == "submodules":
                    for name in ast.literal_eval(keyword.value):
                        lazy[name] = "."
    return checked, lazy


@pytest.mark.parametrize("package", PACKAGES)
def test_type_checkers_see_what_runs(package):
    """The ``if TYPE_CHECKING:`` imports name the same objects, from the same
    modules, as the lazy table."""
    checked, lazy = _lazy_table(package)
    assert lazy and checked == lazy


@pytest.mark.parametrize("package", [*PACKAGES, "cpeval.pipeline"])
def test_every_public_name_resolves_and_is_listed(package):
    module = importlib.import_module(package)
    _, lazy = _lazy_table(package) if package != "cpeval.pipeline" else ({}, {})
    listed = dir(module)
    for name in module.__all__:
        value = getattr(module, name)
        assert name in listed
        where = lazy.get(name)
        if where == ".":
            assert value is importlib.import_module(f"{package}.{name}")
        elif where is not None:
            assert value is getattr(importlib.import_module(where, package), name)
    assert set(lazy) <= set(module.__all__)


def test_the_public_api_keeps_its_names():
    assert cpeval.__all__ == [
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
    from cpeval import DataError, read_data
    from cpeval.io import read_data as from_io
    from cpeval.models import fit_lmm

    assert read_data is from_io is cpeval.io.read_data
    assert fit_lmm is cpeval.models.fit_lmm
    assert issubclass(DataError, ValueError)
    assert isinstance(cpeval.__version__, str) and cpeval.__version__


@pytest.mark.parametrize("package", PACKAGES)
def test_a_wrong_name_is_an_attribute_error(package):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError) as error:
        module.no_such_name  # noqa: B018
    assert str(error.value) == f"module {package!r} has no attribute 'no_such_name'"
    assert not hasattr(module, "_no_such_private")
    with pytest.raises(ImportError, match="cannot import name 'no_such_name'"):
        exec(f"from {package} import no_such_name", {})
