"""The analysis config: a TOML file naming codebook, outcomes, models, settings."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._toml import check_keys, read_toml
from ..exceptions import DataError

__all__ = ["AnalysisConfig", "load_config"]

_TOP = {
    "analysis": dict,
    "outcomes": dict,
    "model": dict,
    "propensity": dict,
    "imputation": dict,
    "economics": dict,
}
_ANALYSIS = {
    "name": str,
    "codebook": str,
    "seed": int,
    "formats": list,
    "primary_wave": str,
}
_MODEL = {"kind": str, "groups": list, "covariates": list, "sensitivity": str}
_PROPENSITY = {"covariates": list}
_IMPUTATION = {"m": int, "iterations": int}
_ECONOMICS = {
    "value_set": dict,
    "eq5d": str,
    "age": str,
    "sex": str,
    "services": dict,
    "unit_costs": str,
    "price_index": str,
    "price_year": str,
    "perspective": str,
    "discount": (int, float),
    "wtp": list,
    "n_boot": int,
    "cluster": str,
}
PERSPECTIVES = ("nhs_pss", "societal")
FORMATS = ("csv", "md", "html", "tex", "xlsx")


@dataclass(frozen=True)
class AnalysisConfig:
    """A parsed analysis config. Build it with :func:`load_config`.

    Parameters
    ----------
    path, codebook : Path
    name : str
    seed : int
        Seeds the bootstrap and the imputations.
    outcomes : dict
        Label -> scored column.
    model : dict
        ``kind`` ("lmm" or "ancova"), ``groups`` (lmm: random intercepts,
        outermost first), ``covariates``, and ``sensitivity = "ancova"`` for
        CR2 ANCOVA rows beside a mixed model.
    propensity : dict
        ``covariates`` of the propensity score (baseline values); empty for none.
    imputation : dict
        ``m`` and ``iterations``; empty for no multiple imputation.
    economics : dict
        Value set, EQ-5D instrument, service columns to unit-cost items, unit
        costs, price index and year, perspective, discount rate, WTP, bootstrap
        (``docs/analysis.md``).
    formats : tuple of str
        Table formats written.
    primary_wave : str, optional
        The follow-up wave the findings and the economic evaluation use; the
        codebook's last wave when not given.
    """

    path: Path
    name: str
    codebook: Path
    seed: int
    outcomes: dict[str, str]
    model: dict[str, Any]
    propensity: dict[str, Any] = field(default_factory=dict)
    imputation: dict[str, Any] = field(default_factory=dict)
    economics: dict[str, Any] = field(default_factory=dict)
    formats: tuple[str, ...] = FORMATS
    primary_wave: str | None = None

    def wave(self, book) -> str:
        """The primary follow-up wave, checked against the codebook's waves."""
        if self.primary_wave is None:
            return book.waves[-1]
        if self.primary_wave not in book.waves[1:]:
            raise DataError(
                f"{self.path}: '[analysis] primary_wave' is '{self.primary_wave}', "
                f"not one of the follow-up waves {list(book.waves[1:])}"
            )
        return self.primary_wave


def load_config(path: str | Path) -> AnalysisConfig:
    """Read an analysis config (see ``analysis/implementation_study.toml``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    AnalysisConfig

    Raises
    ------
    DataError
        Unknown or missing keys, wrong types, an unknown model kind, no outcomes,
        or fewer than two imputations.

    Examples
    --------
    >>> from cpeval.pipeline import load_config
    >>> load_config("analysis/implementation_study.toml").model["kind"]
    'lmm'
    """
    path = Path(path)
    raw = read_toml(path, "analysis config")
    check_keys(raw, _TOP, path, "")
    head = raw.get("analysis", {})
    for section, keys in (
        ("analysis", _ANALYSIS),
        ("model", _MODEL),
        ("propensity", _PROPENSITY),
        ("imputation", _IMPUTATION),
        ("economics", _ECONOMICS),
    ):
        check_keys(raw.get(section, {}), keys, path, f"{section}.")
    for key in ("name", "codebook", "seed"):
        if key not in head:
            raise DataError(f"{path}: '[analysis] {key}' is missing")
    model = raw.get("model", {})
    if model.get("kind") not in ("lmm", "ancova"):
        raise DataError(f"{path}: 'model.kind' must be 'lmm' or 'ancova'")
    if model.get("sensitivity", "ancova") != "ancova" or model.get(
        "sensitivity"
    ) == model.get("kind"):
        raise DataError(
            f"{path}: 'model.sensitivity' can only be 'ancova', beside kind = 'lmm'"
        )
    if not raw.get("outcomes"):
        raise DataError(f"{path}: the config names no [outcomes]")
    imputation = dict(raw.get("imputation", {}))
    if imputation and imputation.get("m", 0) < 2:
        raise DataError(f"{path}: 'imputation.m' must be 2 or more")
    if "propensity" in raw and not raw["propensity"].get("covariates"):
        raise DataError(f"{path}: 'propensity.covariates' names no covariates")
    economics = dict(raw.get("economics", {}))
    if economics.get("perspective", "nhs_pss") not in PERSPECTIVES:
        raise DataError(
            f"{path}: 'economics.perspective' must be one of {PERSPECTIVES}"
        )
    if not 0 <= economics.get("discount", 0.035) < 1:
        raise DataError(f"{path}: 'economics.discount' must be a rate from 0 to 1")
    if "unit_costs" in economics:  # relative to the config, like the codebook
        economics["unit_costs"] = str(path.parent / economics["unit_costs"])
    return AnalysisConfig(
        path=path,
        name=head["name"],
        codebook=path.parent / head["codebook"],
        seed=head["seed"],
        outcomes=dict(raw["outcomes"]),
        model=dict(raw["model"]),
        propensity=dict(raw.get("propensity", {})),
        imputation=imputation,
        economics=economics,
        formats=tuple(head.get("formats", _default_formats())),
        primary_wave=head.get("primary_wave"),
    )


def _default_formats() -> tuple[str, ...]:
    """Every format; DOCX only when python-docx is installed (the 'docx' extra)."""
    extra = ("docx",) if importlib.util.find_spec("docx") else ()
    return (*FORMATS, *extra)
