"""cpeval: evaluate the outcomes of social interventions in mental health.

The pipeline runs ``io`` (read, validate, link waves) -> ``scales`` -> ``models``
-> ``economics`` -> ``tables``/``report``. This release holds the ``io`` and
``scales`` stages.

The stages are imported when first used (``cpeval.models``, ``cpeval.read_data``):
``import cpeval`` itself loads only the exceptions, so the command line and the
worker processes of a parallel run start quickly.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .exceptions import CpevalError, CpevalWarning, DataError

if TYPE_CHECKING:
    from . import adjust, economics, io, missing, models, scales
    from .io import load_codebook, load_study, participant_flow, read_data, validate

    __version__: str

__all__ = [
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


def _lazy_exports(
    package: str,
    exports: Mapping[str, Iterable[str]],
    submodules: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` (PEP 562) for ``package``.

    ``exports`` maps a module (relative to ``package``, as ``"._lmm"``) to the
    names it gives; ``submodules`` are subpackages given as attributes. Each is
    imported when first asked for, then kept in the package's namespace.
    """
    where = {name: module for module, names in exports.items() for name in names}
    modules = frozenset(submodules)
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name in modules:
            return importlib.import_module(f".{name}", package)
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where, *modules})

    return __getattr__, __dir__


_getattr, _dir = _lazy_exports(
    __name__,
    {
        ".io": (
            "load_codebook",
            "load_study",
            "participant_flow",
            "read_data",
            "validate",
        )
    },
    submodules=("adjust", "economics", "io", "missing", "models", "scales"),
)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        global __version__
        from importlib.metadata import PackageNotFoundError, version

        try:
            __version__ = version("cpeval")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            __version__ = "0.0.0+unknown"
        return __version__
    return _getattr(name)


def __dir__() -> list[str]:
    return sorted({*_dir(), "__version__"})
