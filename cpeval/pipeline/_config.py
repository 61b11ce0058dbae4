"""The analysis config: a TOML file naming codebook, outcomes, models, settings.

Parsed once into typed, frozen pydantic models (unknown keys refused); every
default lives here, in one place.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .._toml import read_toml
from ..exceptions import DataError
from ..models._waves import DEFAULT_DF
from ..report import REPORT_FORMATS

__all__ = [
    "AnalysisConfig",
    "EconomicsConfig",
    "GeeConfig",
    "ImputationConfig",
    "ModelConfig",
    "PropensityConfig",
    "WildBootstrapConfig",
    "load_config",
]

FORMATS = ("csv", "md", "html", "tex", "xlsx")
Float = Annotated[float, Strict()]
Amount = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]
# resources a config may ask for without [analysis] allow_large = true
LIMITS = {
    "economics.n_boot": 100_000,
    "imputation.m": 200,
    "imputation.iterations": 200,
}
Names = tuple[StrictStr, ...]
#: Whether (and how) the groups were randomised, as ``[analysis] design`` declares.
Design = Literal["randomised", "cluster-randomised", "non-randomised"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The sensitivity analyses ``[model] sensitivity`` may ask for.
Sensitivity = Literal[
    "ancova", "wild-bootstrap-ancova", "wild-bootstrap-prepost", "gee"
]


class WildBootstrapConfig(_Section):
    """``[model.wild_bootstrap]``: ``n_boot`` and ``weights`` ("webb" or
    "rademacher") of the wild cluster bootstrap; unset, the defaults of
    :func:`cpeval.models.wild_bootstrap_ancova` (the seed comes from
    ``[analysis] seed``)."""

    n_boot: StrictInt | None = Field(None, ge=99)
    weights: Literal["webb", "rademacher"] | None = None


class GeeConfig(_Section):
    """``[model.gee]``: the working ``correlation`` ("exchangeable" or
    "independence") and the sandwich ``cov_type`` ("robust", "mancl-derouen"
    or "kauermann-carroll"); unset, the defaults of
    :func:`cpeval.models.fit_gee`."""

    correlation: Literal["exchangeable", "independence"] | None = None
    cov_type: Literal["robust", "mancl-derouen", "kauermann-carroll"] | None = None


class ModelConfig(_Section):
    """``[model]``: ``kind`` ("lmm" or "ancova"), ``groups`` (lmm: random
    intercepts, outermost first; default the codebook's clusters and id),
    ``covariates`` (baseline values); for the mixed model ``wave_effects``
    (levels with a random effect at each wave), ``slopes`` (levels with random
    slopes over waves) and ``df`` ("satterthwaite" or "kenward-roger");
    ``sensitivity``: analyses beside the primary one ("ancova",
    "wild-bootstrap-ancova", "wild-bootstrap-prepost", "gee"; one name or a
    list), with ``[model.wild_bootstrap]`` and ``[model.gee]`` options."""

    kind: Literal["lmm", "ancova"]
    groups: Names | None = Field(None, min_length=1)
    covariates: Names = ()
    wave_effects: Names = ()
    slopes: Names = ()
    df: Literal["satterthwaite", "kenward-roger"] = DEFAULT_DF
    sensitivity: tuple[Sensitivity, ...] = ()
    wild_bootstrap: WildBootstrapConfig = WildBootstrapConfig()
    gee: GeeConfig = GeeConfig()

    @field_validator("sensitivity", mode="before")
    @classmethod
    def _one_or_a_list(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _options_fit_the_model(self) -> ModelConfig:
        if self.kind != "lmm":
            for key in ("wave_effects", "slopes", "df"):
                if key in self.model_fields_set:
                    raise ValueError(
                        f"{key}: is an option of the mixed model (kind = 'lmm'), "
                        f"not of kind = {self.kind!r}"
                    )
            if "ancova" in self.sensitivity:
                raise ValueError(
                    "sensitivity: 'ancova' is the primary analysis already "
                    "(kind = 'ancova'); it can be a sensitivity analysis beside "
                    "kind = 'lmm'"
                )
        twice = sorted({s for s in self.sensitivity if self.sensitivity.count(s) > 1})
        if twice:
            raise ValueError(f"sensitivity: names {twice} more than once")
        wild = any(s.startswith("wild") for s in self.sensitivity)
        for key, used in (("wild_bootstrap", wild), ("gee", "gee" in self.sensitivity)):
            if key in self.model_fields_set and not used:
                raise ValueError(
                    f"{key}: sets options of an analysis that [model] "
                    "sensitivity does not ask for"
                )
        return self


class PropensityConfig(_Section):
    """``[propensity]``: the baseline covariates of the propensity score, and,
    with ``[imputation]``, how the score is combined across the completed data
    sets (as R MatchThem's ``approach``): ``"within"`` (the default) estimates
    it in each data set and uses it there; ``"across"`` estimates it in each,
    averages each participant's probability over the data sets and uses that
    one score in all of them."""

    covariates: Names = Field(min_length=1)
    approach: Literal["within", "across"] = "within"


class DoseConfig(_Section):
    """``[dose]``: the column of the dose each participant received (fidelity of
    their team, sessions attended; 0 where the intervention was not delivered),
    for the effect per unit of dose with allocation as the instrument."""

    exposure: StrictStr


class SubgroupConfig(_Section):
    """One ``[subgroups]`` entry: a column known at baseline (a category, such
    as sex or a team's client group), or a measurement cut into bands at
    ``cut_points`` (``[45]``: under 45, 45 and over)."""

    column: StrictStr
    cut_points: tuple[StrictFloat | StrictInt, ...] | None = None

    @model_validator(mode="after")
    def _increasing(self) -> SubgroupConfig:
        points = self.cut_points or ()
        if self.cut_points is not None and not points:
            raise ValueError("cut_points: give one or more, e.g. [65]")
        if not all(math.isfinite(p) for p in points):
            raise ValueError(f"cut_points: must be finite numbers; got {list(points)}")
        if any(b <= a for a, b in itertools.pairwise(points)):
            raise ValueError(f"cut_points: must increase; got {list(points)}")
        return self


class ImputationConfig(_Section):
    """``[imputation]``: ``m`` imputations (2 or more), ``iterations``, and how
    the clusters enter the imputation of numeric columns (``cluster_model``, as
    :func:`cpeval.missing.impute`): ``"fixed"`` (indicators, the default),
    ``"random"`` (a random intercept per cluster, as mice's 2l.pan) or
    ``"random-pmm"`` (the same, then predictive mean matching); and whether the
    outcome ``"scores"`` are imputed (the default) or the questionnaire
    ``"items"``, the scores then derived from the completed items."""

    m: StrictInt = Field(ge=2)
    iterations: StrictInt = Field(10, ge=1)
    cluster_model: Literal["fixed", "random", "random-pmm"] = "fixed"
    level: Literal["scores", "items"] = "scores"


class ValueSet(_Section):
    """An EQ-5D value set, in R eq5d's vocabulary."""

    version: Literal["3L", "5L"] = "5L"
    type: StrictStr = "VT"
    country: StrictStr = "England"


class EconomicsConfig(_Section):
    """``[economics]``: value set, EQ-5D instrument, service columns to unit-cost
    items, unit costs, price index and year, perspective, discount rate, WTP and
    bootstrap (``docs/analysis.md``)."""

    value_set: ValueSet = ValueSet()
    eq5d: StrictStr | None = None
    age: StrictStr | None = None
    sex: StrictStr | None = None
    services: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    unit_costs: StrictStr | None = None
    price_index: StrictStr = "NHSCII"
    price_index_file: StrictStr | None = None
    price_year: StrictStr = "2022/23"
    perspective: Literal["nhs_pss", "societal"] = "nhs_pss"
    discount: Float = Field(0.035, ge=0, lt=1)
    wtp: tuple[Amount, ...] = Field((20000.0, 30000.0), min_length=1)
    n_boot: StrictInt = Field(2000, ge=1)
    cluster: StrictStr | None = None


class _Analysis(_Section):
    name: StrictStr
    codebook: StrictStr
    seed: StrictInt = Field(ge=0)
    formats: tuple[Literal["csv", "md", "html", "tex", "xlsx", "docx"], ...] | None = (
        Field(None, min_length=1)
    )
    allow_large: StrictBool = False
    primary_wave: StrictStr | StrictInt | None = None  # as the codebook's waves
    question: StrictStr | None = Field(None, min_length=1)
    design: Design | None = None
    report_formats: tuple[Literal["html", "docx", "pdf"], ...] = Field(
        REPORT_FORMATS, min_length=1
    )


class AnalysisConfig(_Section):
    """A parsed analysis config. Build it with :func:`load_config`.

    Parameters
    ----------
    path, codebook : Path
    name : str
    seed : int
        Seeds the bootstrap and the imputations.
    outcomes : dict
        Label -> scored column.
    model : ModelConfig
    propensity, imputation, economics, dose : optional
        ``None`` when the config has no such section.
    subgroups : dict
        Label -> :class:`SubgroupConfig`, in the config's order (none without
        ``[subgroups]``): only declared subgroups are analysed.
    formats : tuple of str
        Table formats written.
    primary_wave : str, optional
        The follow-up wave the findings and the economic evaluation use; the
        codebook's last wave when not given.
    question : str, optional
        The question the report opens with (one is written from the outcomes,
        arms and primary wave when not given).
    design : {"randomised", "cluster-randomised", "non-randomised"}, optional
        Whether the groups were randomised; never guessed: without it the
        report says it was not declared and fills in no outcome checklist.
    report_formats : tuple of str
        The report's formats: "html", "docx", "pdf" (all by default).
    """

    path: Path
    name: str
    codebook: Path
    seed: int
    outcomes: dict[str, str]
    model: ModelConfig
    propensity: PropensityConfig | None = None
    imputation: ImputationConfig | None = None
    economics: EconomicsConfig | None = None
    dose: DoseConfig | None = None
    subgroups: dict[str, SubgroupConfig] = Field(default_factory=dict)
    formats: tuple[str, ...] = FORMATS
    primary_wave: str | None = None
    question: str | None = None
    design: Design | None = None
    report_formats: tuple[str, ...] = REPORT_FORMATS

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

    def check_names(self, columns, book) -> None:
        """Every column the config names is in the data (before anything is
        fitted, so that no method sentence describes something not done)."""
        named = {
            "[model] covariates": self.model.covariates,
            "[propensity] covariates": self.propensity_covariates,
        }
        if self.dose is not None:
            named["[dose] exposure"] = (self.dose.exposure,)
        if self.subgroups:
            named["[subgroups]"] = tuple(g.column for g in self.subgroups.values())
        if self.economics is not None:
            econ = self.economics
            named["[economics] services"] = tuple(econ.services)
            named["[economics] cluster, age, sex"] = tuple(
                c for c in (econ.cluster, econ.age, econ.sex) if c is not None
            )
        for where, names in named.items():
            absent = [n for n in names if n not in columns]
            if absent:
                raise DataError(
                    f"{self.path}: {where} {absent} are not in the data (the "
                    f"codebook's columns: {sorted(book.columns)[:12]}...)"
                )

    @property
    def propensity_covariates(self) -> tuple[str, ...]:
        """The score's covariates (none without ``[propensity]``)."""
        return self.propensity.covariates if self.propensity else ()


_SECTIONS = {
    "analysis": _Analysis,
    "outcomes": None,
    "model": ModelConfig,
    "propensity": PropensityConfig,
    "imputation": ImputationConfig,
    "economics": EconomicsConfig,
    "dose": DoseConfig,
    "subgroups": None,
}


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
        or fewer than two imputations; the message names the file and the key.

    Examples
    --------
    >>> from cpeval.pipeline import load_config
    >>> load_config("analysis/implementation_study.toml").model.kind
    'lmm'
    """
    path = Path(path)
    raw = read_toml(path, "analysis config")
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise DataError(
            f"{path}: unknown section '[{unknown[0]}]'; the sections are "
            f"{', '.join(_SECTIONS)}"
        )
    sections = {
        key: _parse(schema, raw[key], key, path)
        for key, schema in _SECTIONS.items()
        if schema is not None and key in raw
    }
    for key in ("analysis", "model"):
        if key not in sections:
            raise DataError(f"{path}: the config has no [{key}] section")
    outcomes = raw.get("outcomes")
    if not isinstance(outcomes, dict) or not outcomes:
        raise DataError(f"{path}: the config names no [outcomes]")
    bad = [k for k, v in outcomes.items() if not isinstance(v, str)]
    if bad:
        raise DataError(f"{path}: 'outcomes.{bad[0]}' must name a scored column")
    propensity = sections.get("propensity")
    if (
        propensity
        and "approach" in propensity.model_fields_set
        and "imputation" not in sections
    ):
        raise DataError(
            f"{path}: 'propensity.approach' says how the score is combined "
            "across imputed data sets, and the config has no [imputation]: "
            "leave it out"
        )
    head = sections.pop("analysis")
    if not head.allow_large:
        _within_limits(sections, path)
    economics = sections.get("economics")
    if economics is not None:  # files relative to the config, like the codebook
        files = {
            key: str(path.parent / value)
            for key in ("unit_costs", "price_index_file")
            if (value := getattr(economics, key)) is not None
        }
        economics = economics.model_copy(update=files)
    return AnalysisConfig(
        path=path,
        name=head.name,
        codebook=path.parent / head.codebook,
        seed=head.seed,
        outcomes=dict(outcomes),
        model=sections["model"],
        propensity=sections.get("propensity"),
        imputation=sections.get("imputation"),
        economics=economics,
        dose=sections.get("dose"),
        subgroups=_subgroups(raw["subgroups"], path) if "subgroups" in raw else {},
        formats=head.formats or _default_formats(),
        primary_wave=None if head.primary_wave is None else str(head.primary_wave),
        question=head.question,
        design=head.design,
        report_formats=tuple(dict.fromkeys(head.report_formats)),
    )


def _subgroups(table: Any, path: Path) -> dict[str, SubgroupConfig]:
    """``[subgroups]``: label = "column", or label = { column, cut_points }."""
    if not isinstance(table, dict):
        raise DataError(f"{path}: 'subgroups' must be a table ([subgroups])")
    if not table:
        raise DataError(
            f'{path}: [subgroups] names no subgroup: declare one (sex = "sex") '
            "or leave the section out"
        )
    for label, value in table.items():
        if not isinstance(value, str | dict):
            raise DataError(
                f"{path}: 'subgroups.{label}' must name a column (\"sex\") or be "
                f'a table ({{ column = "age", cut_points = [45] }}); got {value!r}'
            )
    return {
        str(label): _parse(
            SubgroupConfig,
            {"column": value} if isinstance(value, str) else value,
            f"subgroups.{label}",
            path,
        )
        for label, value in table.items()
    }


def _within_limits(sections: dict, path: Path) -> None:
    for key, limit in LIMITS.items():
        section, name = key.split(".")
        value = getattr(sections.get(section), name, None)
        if value is not None and value > limit:
            raise DataError(
                f"{path}: '{key}' is {value:,}, above {limit:,}: a run that large "
                "can exhaust memory and time; set allow_large = true under "
                "[analysis] to run it knowingly"
            )


def _parse(schema: type[BaseModel], table: Any, key: str, path: Path) -> Any:
    """One section, or a one-line DataError naming the file and the dotted key."""
    if not isinstance(table, dict):
        raise DataError(f"{path}: '{key}' must be a table ([{key}])")
    try:
        return schema.model_validate(table)
    except ValidationError as exc:
        # an unknown key first: it is usually the misspelling of a missing one
        error = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = ".".join([key, *(str(p) for p in error["loc"])])
        if error["type"] == "extra_forbidden":
            known = ", ".join(_table_of(schema, error["loc"][:-1]).model_fields)
            raise DataError(
                f"{path}: unknown key '{where}'; known keys: {known}"
            ) from None
        if error["type"] == "missing":
            raise DataError(f"{path}: '{where}' is missing") from None
        message = error["msg"].removeprefix("Value error, ")
        message = message.replace("Input should be", "must be", 1)
        message = message.replace("a valid tuple", "a list")
        if error["type"] == "greater_than_equal":
            message = f"must be {error['ctx']['ge']} or more"
        named = re.match(r"(\w+): ", message)
        if error["type"] == "value_error" and named:  # a check across keys
            where, message = f"{key}.{named.group(1)}", message[named.end() :]
        scalar = not isinstance(error.get("input"), dict)
        shown = f" (got {error['input']!r})" if "input" in error and scalar else ""
        if error["type"] == "too_short":
            message = (
                "names no covariates"
                if where.endswith("covariates")
                else "is empty: give at least one value"
            )
        raise DataError(f"{path}: '{where}' {_lower(message)}{shown}") from None


def _table_of(schema: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The schema of the (sub)table at ``loc``: ``[model.gee]``'s for
    ``("gee",)`` in ``[model]``."""
    for name in loc:
        field = schema.model_fields.get(str(name))
        inner = getattr(field, "annotation", None)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            break
        schema = inner
    return schema


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _default_formats() -> tuple[str, ...]:
    """Every table format."""
    return (*FORMATS, "docx")
