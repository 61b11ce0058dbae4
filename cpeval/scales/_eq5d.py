"""EQ-5D index values from value-set tables (the R package eq5d's vocabulary).

The coefficients are data (``data/eq5d``). Each model term's meaning is one entry
in ``TERMS_3L`` / ``TERMS_5L``, as the value-set publications define it and as R
eq5d computes it. Every value set is evaluated once for all its states
(243 or 3125), so scoring a profile is a table look-up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd

from .._format import show
from ..exceptions import DataError

__all__ = ["eq5d_index", "eq5d_summary", "list_value_sets", "resolve_country"]

Version = Literal["3L", "5L"]
Kind = Literal["TTO", "VAS", "VT", "CW", "RCW", "DSU"]
DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")
LEVELS = {"3L": 3, "5L": 5}
# (version, type) -> file of the table and how it is used
_SOURCES = {
    ("3L", "TTO"): ("TTO.csv", "terms"),
    ("3L", "VAS"): ("VAS.csv", "terms"),
    ("5L", "VT"): ("VT.csv", "terms"),
    ("5L", "CW"): ("CW.csv", "lookup"),
    ("3L", "RCW"): ("RCW.csv", "lookup"),
    ("5L", "DSU"): ("DSU5L_UK.csv", "dsu"),
    ("3L", "DSU"): ("DSU3L.csv", "dsu"),
}
AGE_BANDS = ((18, 35), (35, 45), (45, 55), (55, 65), (65, 100.000001))
SEXES = ("male", "female")

# ----------------------------------------------------------------- model terms
# Each term maps the states (an n x 5 array of levels) to the multiplier of its
# coefficient. Level terms such as MO2 are generated below.


def _count(states: np.ndarray, level: int) -> np.ndarray:
    return (states == level).sum(axis=1)


def _beyond_first(count: np.ndarray) -> np.ndarray:
    return np.maximum(count - 1, 0)


TERMS_3L: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "FullHealth": lambda s: np.ones(len(s)),
    "AtLeastOne2Or3": lambda s: (s > 1).any(axis=1),
    "AtLeastOne3": lambda s: (s == 3).any(axis=1),
    # dimensions with problems beyond the first (Italy, Portugal, USA)
    "D1": lambda s: _beyond_first((s > 1).sum(axis=1)),
    "I2": lambda s: _beyond_first(_count(s, 2)),
    "I2square": lambda s: _beyond_first(_count(s, 2)) ** 2,
    "I3": lambda s: _beyond_first(_count(s, 3)),
    "I3square": lambda s: _beyond_first(_count(s, 3)) ** 2,
    # only levels 1 and 2 (at least one 2); only levels 1 and 3 (at least one 3)
    "O2": lambda s: (_count(s, 3) == 0) & (_count(s, 2) >= 1),
    "O3": lambda s: (_count(s, 2) == 0) & (_count(s, 3) >= 1),
    "Z2": lambda s: (_count(s, 2) >= 1) & (_count(s, 3) >= 1),
    "Z3": lambda s: np.where(_count(s, 3) >= 1, _count(s, 2), 0),
    "C2square": lambda s: _count(s, 2) ** 2,
    "C3square": lambda s: _count(s, 3) ** 2,
    "X5": lambda s: (s > 1).all(axis=1),
}
TERMS_5L: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "StartValue": lambda s: np.ones(len(s)),
    "Intercept": lambda s: (s > 1).any(axis=1),
    "Num45sq": lambda s: _beyond_first((s >= 4).sum(axis=1)) ** 2,
    "N4": lambda s: (s >= 4).any(axis=1),
    "N5": lambda s: (s == 5).any(axis=1),
    # Singapore (Luo et al. 2025): level products counted from level 1 = 0
    "MOAD": lambda s: (s[:, 0] - 1) * (s[:, 4] - 1),
    "PDAD": lambda s: (s[:, 3] - 1) * (s[:, 4] - 1),
}
for _d, _name in enumerate(DIMENSIONS):
    for _level in range(1, 6):
        _term = f"{_name}{_level}"
        _fn = (lambda d, lv: lambda s: s[:, d] == lv)(_d, _level)
        TERMS_5L[_term] = _fn
        if _level in (2, 3):
            TERMS_3L[_term] = _fn
    TERMS_5L[f"{_name}45"] = (lambda d: lambda s: s[:, d] >= 4)(_d)
    for _other in range(_d + 1, 5):  # 3L pairwise interactions, e.g. MO2SC3
        for _a in (2, 3):
            for _b in (2, 3):
                TERMS_3L[f"{_name}{_a}{DIMENSIONS[_other]}{_b}"] = (
                    lambda d, a, o, b: lambda s: (s[:, d] == a) & (s[:, o] == b)
                )(_d, _a, _other, _b)


# ------------------------------------------------------------------ public API


def eq5d_index(
    profiles: pd.Series | pd.DataFrame | np.ndarray | list,
    *,
    version: Version,
    type: Kind,  # the R eq5d argument name
    country: str,
    age: pd.Series | np.ndarray | list | None = None,
    sex: pd.Series | np.ndarray | list | None = None,
    errors: Literal["raise", "coerce"] = "raise",
) -> pd.Series:
    """EQ-5D index (utility) values, unrounded.

    Parameters
    ----------
    profiles : Series, DataFrame, array or list
        Five-digit profiles as strings or integers (e.g. ``"11121"``), or a
        DataFrame with columns MO, SC, UA, PD and AD (any case).
    version : {"3L", "5L"}
        The descriptive system of ``profiles``.
    type : {"TTO", "VAS", "VT", "CW", "RCW", "DSU"}
        3L: ``"TTO"`` or ``"VAS"`` value sets, ``"RCW"`` (reverse crosswalk to a
        5L value set) or ``"DSU"`` (NICE DSU mapping to 5L). 5L: ``"VT"`` value
        sets, ``"CW"`` (van Hout 2012 crosswalk to a 3L value set) or ``"DSU"``
        (NICE DSU mapping to the UK 3L value set).
    country : str
        A value set of that version and type; see :func:`list_value_sets`. Case,
        spaces and underscores do not matter (``"Sri Lanka"``), and a two-letter
        ISO 3166 code names its country (``"LK"``) where it fits one value set
        of the version and type (:func:`resolve_country`).
    age, sex : array-like, optional
        Needed for ``"DSU"``: age in years (18-100) and sex (male/female, m/f).
    errors : {"raise", "coerce"}
        An invalid or missing profile, age or sex raises
        :class:`~cpeval.DataError` naming the row and value, or gives NaN.

    Returns
    -------
    pandas.Series
        Float, aligned with the input. Not rounded.

    Notes
    -----
    For a terms model the index is the sum over terms of coefficient times the
    term's multiplier (``TERMS_3L``/``TERMS_5L``); coefficients carry their sign
    and ``FullHealth``/``StartValue`` is always included, so 11111 need not be 1.
    German VAS factors multiply instead (``models.csv``); 22 Australian TTO states
    take fixed values (``TTO_fixed.csv``). Crosswalks and DSU mappings are table
    look-ups. Validated against R eq5d's own tests and published tables
    (``tests/reference/eq5d``).

    Examples
    --------
    >>> from cpeval.scales import eq5d_index
    >>> eq5d_index(["11111", "11121", "33333"], version="3L", type="TTO",
    ...            country="UK").round(3).tolist()
    [1.0, 0.796, -0.594]
    """
    table = _value_set(version, type, country)
    levels = LEVELS[version]
    index, valid = _state_index(profiles, levels, errors, allow_missing=False)
    if type == "DSU":
        index, valid = _dsu_index(index, valid, age, sex, errors, len(index))
    values = np.where(valid, table[np.where(valid, index, 0)], np.nan)
    return pd.Series(values, index=_index_of(profiles), name=f"eq5d_{type.lower()}")


def list_value_sets() -> pd.DataFrame:
    """The value sets cpeval computes, with their citations.

    Returns
    -------
    pandas.DataFrame
        Columns ``version``, ``type``, ``country``, ``pubmed``, ``doi``, ``isbn``,
        ``url`` and ``method``.

    Examples
    --------
    >>> from cpeval.scales import list_value_sets
    >>> sets = list_value_sets()
    >>> bool(((sets.version == "5L") & (sets.country == "England")).any())
    True
    """
    refs = _read("references.csv").rename(columns=str.lower)
    refs = refs.rename(columns={"externalurl": "url"})
    refs["version"] = refs["version"].str.replace("EQ-5D-", "", regex=False)
    rows = []
    for version, kind in _SOURCES:
        for country in _countries(version, kind):
            rows.append({"version": version, "type": kind, "country": country})
    catalogue = pd.DataFrame(rows)
    cited = catalogue.assign(
        cited=[
            _variants(v, k).get(c, c)
            for v, k, c in zip(
                catalogue["version"],
                catalogue["type"],
                catalogue["country"],
                strict=True,
            )
        ]
    )
    refs = refs.rename(columns={"country": "cited"})
    merged = cited.merge(refs, on=["version", "type", "cited"], how="left")
    merged["method"] = merged.apply(lambda r: _method(r.version, r.type), axis=1)
    columns = ["version", "type", "country", "pubmed", "doi", "isbn", "url", "method"]
    return merged[columns]


def eq5d_summary(
    data: pd.DataFrame, *, by: list[str] | str | None = None, levels: int | None = None
) -> pd.DataFrame:
    """Share reporting problems on each dimension, and the ceiling (11111) share.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns MO, SC, UA, PD, AD (any case) with levels, plus any ``by`` columns.
    by : str or list of str, optional
        Grouping columns, e.g. ``["arm", "wave"]``.
    levels : int, optional
        3 or 5, to check the codes; by default any code from 1 up is accepted.

    Returns
    -------
    pandas.DataFrame
        Per group: ``n`` complete profiles, ``<dim>_problems`` (share at level 2
        or worse) for each dimension, and ``ceiling`` (share at 11111).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.scales import eq5d_summary
    >>> d = pd.DataFrame({"mo": [1, 2], "sc": [1, 1], "ua": [1, 1], "pd": [1, 3],
    ...                   "ad": [1, 1]})
    >>> eq5d_summary(d)[["n", "MO_problems", "ceiling"]].to_dict("records")
    [{'n': 2, 'MO_problems': 0.5, 'ceiling': 0.5}]
    """
    keys = [by] if isinstance(by, str) else list(by or [])
    dims = _dimension_frame(data)
    if levels is not None:
        _state_index(dims, levels, "raise")
    frame = pd.concat(
        [data[keys].reset_index(drop=True), dims.reset_index(drop=True)], axis=1
    )
    frame = frame.dropna(subset=list(DIMENSIONS))
    problems = frame[list(DIMENSIONS)] > 1
    frame = frame.assign(
        **{f"{d}_problems": problems[d] for d in DIMENSIONS},
        ceiling=~problems.any(axis=1),
    )
    shares = [f"{d}_problems" for d in DIMENSIONS] + ["ceiling"]
    if not keys:
        out = frame[shares].astype(float).mean().to_frame().T
        out.insert(0, "n", len(frame))
        return out
    grouped = frame.groupby(keys, observed=True, sort=True)
    out = grouped[shares].mean().astype(float)
    out.insert(0, "n", grouped.size())
    return out.reset_index()


# --------------------------------------------------------------- value sets


@cache
def _read(name: str) -> pd.DataFrame:
    path = resources.files("cpeval.scales") / "data" / "eq5d" / name
    with path.open("rb") as handle:
        return pd.read_csv(handle, dtype={"state": str, "State": str})


def _countries(version: str, kind: str) -> list[str]:
    name, how = _SOURCES[(version, kind)]
    frame = _read(name)
    if how == "dsu":
        if version == "5L":
            return ["UK"]
        return [c for c in frame.columns if c + "Copula" in frame.columns]
    return [*frame.columns[1:], *_variants(version, kind)]


def _variants(version: str, kind: str) -> dict[str, str]:
    """Value sets defined as another one with some states fixed
    (``variants.csv``, their fixed states in ``TTO_fixed.csv``): name -> base."""
    frame = _read("variants.csv")
    rows = frame[(frame["version"] == version) & (frame["type"] == kind)]
    return dict(zip(rows["country"], rows["base"], strict=True))


def _method(version: str, kind: str) -> str:
    return {
        "TTO": "value set (model terms)",
        "VAS": "value set (model terms)",
        "VT": "value set (model terms)",
        "CW": "crosswalk look-up (van Hout 2012)",
        "RCW": "reverse crosswalk look-up (EuroQol table, R eq5d method 'EQ')",
        "DSU": "NICE DSU mapping look-up by age band and sex",
    }[kind]


def _value_set(version: str, kind: str, country: str) -> np.ndarray:
    if version not in LEVELS:
        raise DataError(f"version must be '3L' or '5L'; got {version!r}")
    if (version, kind) not in _SOURCES:
        kinds = sorted(k for v, k in _SOURCES if v == version)
        raise DataError(
            f"type for version {version} must be one of {kinds}; got {kind!r}"
        )
    return _table(version, kind, resolve_country(version, kind, country))


def resolve_country(version: str, kind: str, country: str) -> str:
    """cpeval's name of a value set's country, from its name written any way
    (``"Sri_Lanka"``, ``"sri lanka"``) or its ISO 3166 two-letter code (``"LK"``,
    ``aliases.csv``). A name or code that fits several value sets of the version
    and type (``"NL"`` for 3L TTO: 2006 and 2026) is refused with the choices.

    Parameters
    ----------
    version : {"3L", "5L"}
    kind : str
        The value set's type, as ``type`` of :func:`eq5d_index`.
    country : str
        A country name in any spelling, or a two-letter ISO 3166 code.

    Returns
    -------
    str
        The country as :func:`list_value_sets` names it.

    Raises
    ------
    DataError
        No value set of the version and type fits, or several do.

    Examples
    --------
    >>> from cpeval.scales import resolve_country
    >>> resolve_country("5L", "VT", "HK"), resolve_country("3L", "TTO", "Sri_Lanka")
    ('HongKong', 'SriLanka')
    """
    countries = _countries(version, kind)
    if country in countries:
        return country
    if not isinstance(country, str):
        raise DataError(f"country must be text; got {country!r}")
    key = _normal(country)
    named = [c for c in countries if _normal(c) == key]
    if named:
        return named[0]
    base = _aliases().get(country.strip().upper(), country)
    if base in countries:  # a code for a country with a default value set
        return base
    options = [
        c for c in countries if _normal(c) == _normal(base) or c.startswith(base + "_")
    ]
    options += [c for c in countries if _normal(c.split("_")[0]) == key]
    options = list(dict.fromkeys(options))
    if len(options) == 1:
        return options[0]
    if options:
        raise DataError(
            f"country {country!r} fits {len(options)} {version} {kind} value sets "
            f"({', '.join(options)}): give one of them"
        )
    raise DataError(
        f"country for {version} {kind} must be one of {', '.join(countries)} (or its "
        f"two-letter ISO code); got {country!r}"
    )


def _normal(name: str) -> str:
    """A country name without case, spaces, underscores, hyphens or dots."""
    return "".join(ch for ch in name.casefold() if ch not in " _-.")


@cache
def _aliases() -> dict[str, str]:
    frame = _read("aliases.csv")
    return dict(zip(frame["alias"], frame["country"], strict=True))


@cache
def _table(version: str, kind: str, country: str) -> np.ndarray:
    """The value of every state (and, for DSU, age band and sex), in index order."""
    name, how = _SOURCES[(version, kind)]
    states = _all_states(LEVELS[version])
    frame = _read(name)
    if how == "terms":
        return _terms_table(frame, states, version, kind, country)
    if how == "lookup":
        keyed = frame.set_index(frame.columns[0])[country]
        keyed.index = keyed.index.astype(str)
        return keyed.reindex(_state_strings(states)).to_numpy(float)
    return _dsu_table(frame, states, version, country)


def _terms_table(
    frame: pd.DataFrame, states: np.ndarray, version: str, kind: str, country: str
) -> np.ndarray:
    terms = TERMS_3L if version == "3L" else TERMS_5L
    base = _variants(version, kind).get(country, country)
    coefficients = frame.set_index(frame.columns[0])[base].dropna()
    unknown = sorted(set(coefficients.index) - set(terms))
    if unknown:  # pragma: no cover - guards the shipped data
        raise DataError(
            f"{version} {kind} {country}: no definition for terms {unknown}"
        )
    applied = {t: terms[t](states).astype(float) for t in coefficients.index}
    if _combine(version, kind, base) == "multiplicative":
        values = np.ones(len(states))
        for term, mult in applied.items():
            values *= np.where(mult > 0, coefficients[term], 1.0)
    else:
        values = sum(coefficients[t] * mult for t, mult in applied.items())
    return _fixed_states(np.asarray(values, float), states, kind, country)


def _combine(version: str, kind: str, country: str) -> str:
    models = _read("models.csv")
    hit = models[
        (models.version == version)
        & (models.type == kind)
        & (models.country == country)
    ]
    return hit["combine"].iloc[0] if len(hit) else "additive"


def _fixed_states(values: np.ndarray, states: np.ndarray, kind: str, country: str):
    if kind != "TTO":
        return values
    fixed = _read("TTO_fixed.csv")
    fixed = fixed[fixed["country"] == country]
    if len(fixed):
        position = _state_index(fixed["state"].astype(str), 3, "raise")[0]
        values = values.copy()
        values[position] = fixed["value"].to_numpy(float)
    return values


def _dsu_table(
    frame: pd.DataFrame, states: np.ndarray, version: str, country: str
) -> np.ndarray:
    if version == "5L":
        state, band, sex, value = "state", "age_band", "sex", "eq5d3l_uk_mapped"
    else:
        state, band, sex, value = "State", "Age", "Sex", f"{country}Copula"
    bands = ["18-34", "35-44", "45-54", "55-64", "65+"]
    keyed = frame.set_index([frame[state].astype(str), band, sex])[value]
    wanted = pd.MultiIndex.from_product([_state_strings(states), bands, list(SEXES)])
    return keyed.reindex(wanted).to_numpy(float)


@cache
def _all_states(levels: int) -> np.ndarray:
    grid = np.indices((levels,) * 5).reshape(5, -1).T + 1
    return grid


def _state_strings(states: np.ndarray) -> list[str]:
    return ["".join(map(str, row)) for row in states]


# ------------------------------------------------------------- input parsing


def _index_of(profiles) -> pd.Index:
    if isinstance(profiles, pd.Series | pd.DataFrame):
        return profiles.index
    return pd.RangeIndex(len(profiles))


def _state_index(
    profiles, levels: int, errors: str, allow_missing: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Profiles -> (0-based state index, valid mask), checking every digit."""
    if isinstance(profiles, pd.DataFrame):
        digits = _dimension_frame(profiles).to_numpy(float)
        missing = np.isnan(digits).any(axis=1)
        ok = ~missing & np.all(
            (digits >= 1) & (digits <= levels) & (digits % 1 == 0), 1
        )
        weights = levels ** np.arange(4, -1, -1)
        index = (np.where(ok[:, None], digits, 1).astype(np.int64) - 1) @ weights
    else:
        series = profiles if isinstance(profiles, pd.Series) else pd.Series(profiles)
        numbers, missing = _profile_numbers(series)
        table = _profile_table(levels)
        inside = (numbers >= 0) & (numbers < len(table))
        index = table[np.where(inside, numbers, 0)]
        ok = ~missing & inside & (index >= 0)
    bad = ~ok if not allow_missing else ~missing & ~ok
    if bad.any() and errors == "raise":
        _raise_profile(profiles, levels, bad, missing)
    return np.where(ok, index, 0), ok


@cache
def _profile_table(levels: int) -> np.ndarray:
    """Five-digit profile number -> state index (-1 for numbers that are not states)."""
    states = _all_states(levels)
    numbers = states @ (10 ** np.arange(4, -1, -1))
    table = np.full(int(numbers.max()) + 1, -1, dtype=np.int64)
    table[numbers] = np.arange(len(states))
    return table


def _profile_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Profiles as integers (-1 where not five digits) and the missing mask."""
    missing = series.isna().to_numpy()
    if series.dtype.kind in "iu":
        return series.to_numpy(np.int64), missing
    if series.dtype.kind == "f":
        numbers = series.to_numpy(float)
        whole = ~np.isnan(numbers) & (numbers % 1 == 0)
        return np.where(whole, numbers, -1).astype(np.int64), missing
    numbers = _ascii_profiles(series.to_numpy(dtype=object), missing)
    slow = ~missing & (numbers < 0)
    if slow.any():  # white space, non-ASCII or other oddities: parse one by one
        numbers[slow] = [_one_profile(v) for v in series.to_numpy(dtype=object)[slow]]
    return numbers, missing


def _ascii_profiles(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Fast path: five ASCII digits per string, read as bytes."""
    try:
        raw = np.where(missing, "", values).astype("S6")
    except (UnicodeEncodeError, ValueError, TypeError):
        return np.full(len(values), -1, dtype=np.int64)
    grid = raw.view(np.uint8).reshape(-1, 6).astype(np.int64) - 48
    five = (grid[:, 5] == -48) & np.all((grid[:, :5] >= 0) & (grid[:, :5] <= 9), axis=1)
    numbers = grid[:, :5] @ (10 ** np.arange(4, -1, -1))
    return np.where(five, numbers, -1)


def _one_profile(value: object) -> int:
    text = str(value).strip()
    return int(text) if len(text) == 5 and text.isdigit() and text.isascii() else -1


def _raise_profile(profiles, levels: int, bad: np.ndarray, missing: np.ndarray):
    where = int(np.flatnonzero(bad)[0])
    label = _index_of(profiles)[where]
    more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
    if missing[where]:
        raise DataError(
            f"EQ-5D-{levels}L profile at row {label!r} is missing{more}; "
            "pass errors='coerce' to give missing profiles NaN"
        )
    if isinstance(profiles, pd.DataFrame):
        row = _dimension_frame(profiles).iloc[where].to_numpy(float)
        shown = "".join(show(v, ".") for v in row)
    else:
        shown = str(pd.Series(profiles).iloc[where])
    raise DataError(
        f"EQ-5D-{levels}L profile at row {label!r} is '{shown}': "
        f"each of the five digits must be 1-{levels}{more}"
    )


def _dimension_frame(data: pd.DataFrame) -> pd.DataFrame:
    lookup = {str(c).upper(): c for c in data.columns}
    absent = [d for d in DIMENSIONS if d not in lookup]
    if absent:
        raise DataError(
            f"EQ-5D data need columns {list(DIMENSIONS)} (any case); missing {absent}"
        )
    dims = data[[lookup[d] for d in DIMENSIONS]]
    dims.columns = list(DIMENSIONS)
    return dims.apply(pd.to_numeric, errors="coerce")


def _dsu_index(index, valid, age, sex, errors: str, n: int):
    if age is None or sex is None:
        raise DataError(
            "type 'DSU' needs age (years, 18-100) and sex for every profile"
        )
    ages = pd.to_numeric(
        pd.Series(np.asarray(age, dtype=object)), errors="coerce"
    ).to_numpy(float)
    sexes = (
        pd.Series(np.asarray(sex, dtype=object))
        .astype("string")
        .str.strip()
        .str.lower()
    )
    if len(ages) != n or len(sexes) != n:
        raise DataError(f"age and sex must have one value per profile ({n})")
    band = np.full(n, -1)
    for number, (low, high) in enumerate(AGE_BANDS):
        band[(ages >= low) & (ages < high)] = number
    sex_code = sexes.map({"male": 0, "m": 0, "female": 1, "f": 1}).to_numpy(float)
    bad = valid & ((band < 0) | np.isnan(sex_code))
    if bad.any() and errors == "raise":
        where = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"row {where}: age {show(ages[where])} and sex {sexes[where]!r} must be "
            "18-100 years and male/female"
        )
    ok = valid & ~bad
    code = np.where(ok, index * 10 + band * 2 + np.nan_to_num(sex_code).astype(int), 0)
    return code, ok
