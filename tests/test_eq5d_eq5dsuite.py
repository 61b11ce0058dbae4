"""Every value set cpeval shares with EuroQol's R package eq5dsuite, state by state.

The reference numbers are eq5dsuite 2.0.0's own tables (``.vsets3L``, 243 states,
and ``.vsets5L``, 3125 states), exported by ``tests/reference/eq5d/eq5dsuite/
make_eq5dsuite.R``. A state agrees when cpeval's unrounded value is within
``TOLERANCE`` of eq5dsuite's: its tables hold 3 or 4 decimals, and a value set
published with 3-decimal coefficients differs from its 4-decimal table by up to
0.001 (Australia 3L, 23222: 0.342 against 0.343).

Where the two disagree on more states, the value set is listed in ``KNOWN`` with
the number of states and the reason (``docs/eq5d.md``, "cpeval and eq5dsuite"),
and the test fails when that number changes either way: a fix must update the
list, and a new difference cannot slip in.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpeval.scales import eq5d_index

REF = Path(__file__).parent / "reference" / "eq5d" / "eq5dsuite"
TOLERANCE = 0.0015

#: eq5dsuite's column -> cpeval's (type, country), 3L
SHARED_3L = {
    "UK": ("TTO", "UK"),
    "US": ("TTO", "USA"),
    "CA": ("TTO", "Canada"),
    "AR_TTO": ("TTO", "Argentina"),
    "AU": ("TTO", "Australia"),
    "CL": ("TTO", "Chile"),
    "CN": ("TTO", "China"),
    "DK": ("TTO", "Denmark"),
    "FR": ("TTO", "France"),
    "DE_TTO": ("TTO", "Germany"),
    "HU": ("TTO", "Hungary"),
    "IT": ("TTO", "Italy"),
    "JP": ("TTO", "Japan"),
    "PL": ("TTO", "Poland"),
    "SG": ("TTO", "Singapore"),
    "KR": ("TTO", "SouthKorea"),
    "ES": ("TTO", "Spain"),
    "LK": ("TTO", "SriLanka"),
    "SE": ("TTO", "Sweden"),
    "TW": ("TTO", "Taiwan"),
    "TH": ("TTO", "Thailand"),
    "NL_2006": ("TTO", "Netherlands_2006"),
    "NL_2026": ("TTO", "Netherlands_2026"),
    "TT": ("TTO", "Trinidad_and_Tobago"),
    "TN": ("TTO", "Tunisia"),
    "PT": ("TTO", "Portugal"),
    "ZW": ("TTO", "Zimbabwe"),
    "BM": ("TTO", "Bermuda"),
    "PK": ("TTO", "Pakistan"),
    "JO": ("TTO", "Jordan"),
    "BR": ("TTO", "Brazil"),
    "BE_VAS": ("VAS", "Belgium"),
    "DE_VAS": ("VAS", "Germany"),
    "MY_VAS": ("VAS", "Malaysia"),
    "NZ_VAS": ("VAS", "NewZealand"),
    "SI_VAS": ("VAS", "Slovenia"),
    "FI_VAS": ("VAS", "Finland"),
}
#: eq5dsuite's column -> cpeval's country, 5L (type VT)
SHARED_5L = {
    "CA": "Canada",
    "CN": "China",
    "DE": "Germany",
    "HK": "HongKong",
    "ID": "Indonesia",
    "IE": "Ireland",
    "JP": "Japan_cTTO",
    "KR": "SouthKorea",
    "NL": "Netherlands",
    "ES": "Spain",
    "TH": "Thailand",
    "UY": "Uruguay",
    "BE": "Belgium",
    "DK": "Denmark",
    "ET": "Ethiopia",
    "FR": "France",
    "HU": "Hungary",
    "MY": "Malaysia",
    "MX": "Mexico",
    "PE": "Peru_cTTO",
    "PL": "Poland",
    "PT": "Portugal",
    "TW": "Taiwan",
    "US": "USA",
    "UG": "Uganda",
    "VN": "Vietnam",
    "IN": "India",
    "IT": "Italy",
    "AU": "Australia",
    "PH": "Philippines",
    "RO": "Romania",
    "IR": "Iran",
    "SA": "SaudiArabia",
    "TT": "Trinidad_and_Tobago",
    "NO": "Norway",
    "MA": "Morocco",
    "AE": "UAE",
    "GH": "Ghana",
    "SI": "Slovenia",
    "NZ": "NewZealand",
    "SE_2020": "Sweden_2020",
    "SE_2022": "Sweden_2022",
    "UK": "UK",  # the 2026 UK 5L value set; cpeval's "England" is Devlin 2018
}
#: eq5dsuite's value sets that cpeval does not ship
NOT_IN_CPEVAL = {
    "3L": {
        "IR": "Iran 3L TTO (cpeval has Iran's 3L VAS set only)",
        "SI_TTO": "Slovenia 3L TTO (cpeval has Slovenia's 3L VAS set)",
        "AR_VAS": "Argentina 3L VAS",
    },
    "5L": {},
}
#: value sets that disagree on more than TOLERANCE: states that do, and why
KNOWN: dict[tuple[str, str, str], tuple[int, str]] = {
    ("3L", "TTO", "Argentina"): (
        24,
        "eq5dsuite gives the published 33333 = -0.376 exactly; cpeval's 3-decimal "
        "coefficients give -0.372 (unrounded ones not reached; docs/eq5d.md)",
    ),
    ("3L", "TTO", "China"): (241, "a different Chinese value set (docs/eq5d.md)"),
    ("3L", "TTO", "Jordan"): (
        2,
        "eq5dsuite's 31131 and 22121 repeat its 31132 and 22122 (0.101, 0.521); the "
        "published model has main effects only, so cpeval keeps 0.202 and 0.622",
    ),
    ("3L", "TTO", "SriLanka"): (
        1,
        "eq5dsuite's 11331 repeats its 13331 (-0.130); cpeval keeps the model's 0.207",
    ),
    ("3L", "TTO", "Sweden"): (
        1,
        "11111 only: the publication's model gives 0.9694 (R eq5d's test too), "
        "EuroQol's table sets full health to 1 (cpeval's Sweden_EuroQol); every "
        "other state agrees",
    ),
    ("3L", "TTO", "USA"): (102, "eq5dsuite misses published values (docs/eq5d.md)"),
    ("3L", "VAS", "Slovenia"): (238, "a different Slovenian VAS set (docs/eq5d.md)"),
    ("5L", "VT", "Belgium"): (23, "eq5dsuite misses published values (docs/eq5d.md)"),
    ("5L", "VT", "Germany"): (625, "AD4 0.244 or 0.224: not settled (docs/eq5d.md)"),
    ("5L", "VT", "Iran"): (174, "eq5dsuite misses published values (docs/eq5d.md)"),
    ("5L", "VT", "Netherlands"): (17, "coefficient precision (docs/eq5d.md)"),
}


def _table(version: str) -> pd.DataFrame:
    name = "eq5dsuite_3L.csv" if version == "3L" else "eq5dsuite_5L.csv.gz"
    return pd.read_csv(REF / name, dtype={"state": str})


def _shared(version: str) -> dict[str, tuple[str, str]]:
    if version == "3L":
        return SHARED_3L
    return {code: ("VT", country) for code, country in SHARED_5L.items()}


#: cpeval's value sets that follow eq5dsuite's convention where the two differ
CONVENTIONS = [("3L", "SE", "TTO", "Sweden_EuroQol")]
CASES = [
    (version, code, *value_set)
    for version in ("3L", "5L")
    for code, value_set in _shared(version).items()
] + CONVENTIONS


@pytest.mark.parametrize("version", ["3L", "5L"])
def test_the_tables_are_complete_and_every_column_is_accounted_for(version):
    table = _table(version)
    levels = 3 if version == "3L" else 5
    states = [
        "".join(map(str, s)) for s in itertools.product(range(1, levels + 1), repeat=5)
    ]
    assert table["state"].tolist() == states
    columns = set(table.columns) - {"state"}
    assert columns == set(_shared(version)) | set(NOT_IN_CPEVAL[version])
    assert not table.drop(columns="state").isna().any().any()


@pytest.mark.parametrize(("version", "code", "kind", "country"), CASES)
def test_value_set_state_by_state(version, code, kind, country):
    table = _table(version)
    ours = np.asarray(
        eq5d_index(
            table["state"].tolist(), version=version, type=kind, country=country
        ),
        float,
    )
    theirs = table[code].to_numpy(float)
    off = np.abs(ours - theirs) > TOLERANCE
    expected, reason = KNOWN.get((version, kind, country), (0, ""))
    shown = [
        (s, round(float(a), 4), float(b))
        for s, a, b in zip(table["state"][off], ours[off], theirs[off], strict=True)
    ][:5]
    assert int(off.sum()) == expected, (
        f"{version} {kind} {country} against eq5dsuite {code}: {int(off.sum())} "
        f"states differ by more than {TOLERANCE} (expected {expected}: {reason}); "
        f"first: {shown}"
    )
