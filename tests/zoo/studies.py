"""The study zoo: study layouts cpeval was not tuned to, each with a known answer.

Every layout is written to a folder as a user would bring it (data files in CSV,
Excel, SPSS or Stata, a codebook, an instrument definition and an analysis
config) and run through ``cpeval validate`` and ``cpeval run``. A case either has
a true effect at each follow-up wave, which the primary analysis's 95% interval
must contain with the right sign, or no right answer, and then a one-line
``DataError`` must say what is wrong.

The data: teams allocated to arms (half each, alternating), a team effect (SD
2), a participant effect (SD 6), residual SD 4, a common rise of 1 point per
wave, age (0.1 point per year), and the designed arm effect at each follow-up
wave; 10% of follow-up interviews missed at random. The outcome is a 0-100 score
(the one item of a "wellbeing" instrument whose higher scores are better),
rounded to whole numbers, which leaves the mean differences as designed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DEFINITION = """[instrument]
name = "wellbeing"
title = "Zoo wellbeing score (one 0-100 item)"
status = "verified"
citation = "cpeval test zoo: a synthetic score, not a real instrument"
columns = "{item}"

[items]
labels = ["score"]
codes = {codes}

[scales.total]
items = "all"
method = "sum"
higher = "better"
"""


@dataclass(frozen=True)
class Layout:
    """One study layout. Defaults: two text arms, two waves, eight teams of 20."""

    arms: tuple[str, ...] = ("Connecting People", "Usual care")
    intervention: str | None = "Connecting People"  # as the codebook names it
    comparator: str | None = None
    codes: dict[str, int] | None = None  # arm -> code stored in the data
    labels: bool = False  # SPSS/Stata value labels for the codes
    fmt: str = "csv"
    waves: tuple[str, ...] = ("baseline", "6 months")
    effects: tuple[float, ...] = (6.0,)  # per follow-up wave
    team_sizes: tuple[int, ...] = (20,) * 8
    sites: int = 2
    crossed: bool = False  # team labels reused across sites for other teams
    lost: str | None = None  # an arm with no follow-up at all
    age_missing: float = 0.0
    sex_missing: float = 0.0
    sex_only_in_one_arm: bool = False  # a category absent from one arm
    names: dict[str, str] = field(default_factory=dict)  # column renames
    kind: str = "lmm"
    model_covariates: tuple[str, ...] = ("age",)
    groups: tuple[str, ...] | None = None
    primary_wave: str | None = None
    imputation: int = 0
    imputation_extra: tuple[str, ...] = ()  # more [imputation] lines
    sensitivity: bool = False
    propensity: bool = False
    extra_study: str = ""  # more codebook [study] lines
    codebook_id: str | None = None  # an id column name the files do not have
    economics: bool = False  # EQ-5D, interview dates and GP visits, costed
    economics_extra: tuple[str, ...] = ()  # more [economics] lines
    seed: int = 1

    def column(self, name: str) -> str:
        return self.names.get(name, name)


def write(folder: Path, layout: Layout) -> Path:
    """Write the layout's files and return the analysis config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    waves = _simulate(layout)
    suffix = {"csv": ".csv", "xlsx": ".xlsx", "sav": ".sav", "dta": ".dta"}[layout.fmt]
    files = []
    for k, (wave, frame) in enumerate(waves.items()):
        path = folder / f"wave{k}{suffix}"
        _save(frame, path, layout)
        files.append(f'[[files]]\npath = "{path.name}"\nwave = "{wave}"\n')
    (folder / "wellbeing.toml").write_text(
        DEFINITION.format(item=layout.column("wb"), codes=list(range(101)))
    )
    (folder / "codebook.toml").write_text(_codebook(layout, files))
    if layout.economics:
        (folder / "unit_costs.csv").write_text(
            "item,unit,unit_cost,price_year,category,perspective,source\n"
            f"zoo_gp,visit,{UNIT_COST},2022/23,primary care,nhs_pss,cpeval zoo\n"
        )
    config = folder / "analysis.toml"
    config.write_text(_config(layout))
    return config


# ------------------------------------------------------------------ the data


def _simulate(layout: Layout) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(layout.seed)
    spare = np.random.default_rng(layout.seed + 1000)  # economics: its own stream
    treated_arm, *others = _arm_order(layout)
    rows: dict[str, list] = {w: [] for w in layout.waves}
    person = 0
    for team, size in enumerate(layout.team_sizes):
        arm = treated_arm if team % 2 == 0 else others[(team // 2) % len(others)]
        if len(layout.arms) > 2:
            arm = layout.arms[team % len(layout.arms)]
        site = team % layout.sites
        label = f"T{team // 2}" if layout.crossed else f"T{team:02d}"
        u_team = rng.normal(0, 2)
        for _ in range(size):
            person += 1
            age = float(rng.integers(18, 71))
            sex = rng.choice(["female", "male"])
            if layout.sex_only_in_one_arm and arm == treated_arm and rng.random() < 0.2:
                sex = "other"
            u_person = rng.normal(0, 6)
            for k, wave in enumerate(layout.waves):
                if k and (rng.random() < 0.1 or arm == layout.lost):
                    continue
                effect = layout.effects[k - 1] if k and arm == treated_arm else 0.0
                y = 50 + u_team + u_person + 0.1 * (age - 45) + k + effect
                y += rng.normal(0, 4)
                record = {
                    "id": f"P{person:04d}",
                    "arm": arm,
                    "site": f"S{site}",
                    "team": label,
                    "age": age,
                    "sex": sex,
                    "wb": int(np.clip(np.round(y), 0, 100)),
                }
                if layout.economics:
                    record.update(_economics(spare, k, arm == treated_arm))
                if k:
                    record = {c: v for c, v in record.items() if c not in FIXED}
                else:
                    if rng.random() < layout.age_missing:
                        record["age"] = np.nan
                    if rng.random() < layout.sex_missing:
                        record["sex"] = None
                rows[wave].append(record)
    return {w: _renamed(pd.DataFrame(r), layout) for w, r in rows.items()}


FIXED = ("arm", "site", "team", "age", "sex")
VISITS = {True: 2.0, False: 3.0}  # mean GP visits per follow-up period, by arm
UNIT_COST = 50.0  # pounds per GP visit, in the target price year


def _economics(rng, k: int, treated: bool) -> dict:
    """Interview date, EQ-5D-5L (the same distribution in both arms) and GP
    visits (fewer in the intervention arm after baseline)."""
    day = pd.Timestamp("2025-01-06") + pd.Timedelta(days=182 * k)
    record = {"date": (day + pd.Timedelta(days=int(rng.integers(0, 14)))).date()}
    for dim in ("mo", "sc", "ua", "pd", "ad"):
        record[dim] = int(rng.choice([1, 2, 3, 4, 5], p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    record["gp"] = int(rng.poisson(VISITS[treated] if k else 3.0))
    return record


def _arm_order(layout: Layout) -> list[str]:
    """The arm that receives the effect first (the intervention the codebook
    names, or the first arm when it names none)."""
    named = layout.intervention
    if layout.codes and named not in layout.arms:  # named by its code
        named = next((a for a, c in layout.codes.items() if str(c) == named), named)
    first = named if named in layout.arms else layout.arms[0]
    return [first, *[a for a in layout.arms if a != first]]


def _renamed(frame: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    if layout.codes and "arm" in frame:
        frame["arm"] = frame["arm"].map(layout.codes)
    return frame.rename(columns=layout.names)


def _save(frame: pd.DataFrame, path: Path, layout: Layout) -> None:
    if layout.fmt == "csv":
        frame.to_csv(path, index=False)
    elif layout.fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:
        import pyreadstat

        labels = {}
        arm = layout.column("arm")
        if layout.labels and layout.codes and arm in frame:
            labels[arm] = {float(c): a for a, c in layout.codes.items()}
        writer = pyreadstat.write_sav if layout.fmt == "sav" else pyreadstat.write_dta
        writer(frame, str(path), variable_value_labels=labels)


# ------------------------------------------------------------ codebook, config


def _codebook(layout: Layout, files: list[str]) -> str:
    c = layout.column
    study = [
        "[study]",
        'name = "zoo study"',
        f'id = "{layout.codebook_id or c("id")}"',
        f'group = "{c("arm")}"',
        f'clusters = ["{c("site")}", "{c("team")}"]',
        f"waves = {list(layout.waves)}".replace("'", '"'),
        f'covariates = ["{c("age")}", "{c("sex")}"]',
    ]
    if layout.intervention is not None:
        study.append(f'intervention = "{layout.intervention}"')
    if layout.comparator is not None:
        study.append(f'comparator = "{layout.comparator}"')
    if layout.extra_study:
        study.append(layout.extra_study)
    sexes = (
        '["female", "male", "other"]'
        if layout.sex_only_in_one_arm
        else ('["female", "male"]')
    )
    columns = [
        "[columns]",
        f'"{c("age")}" = {{ type = "numeric", min = 16, max = 100, '
        f'waves = ["{layout.waves[0]}"] }}',
        f'"{c("sex")}" = {{ type = "categorical", values = {sexes}, '
        f'waves = ["{layout.waves[0]}"] }}',
    ]
    if layout.economics:
        study.append('date = "date"')
        columns.append('gp = { type = "integer", min = 0, label = "GP visits" }')
    instrument = [
        "[instruments.wellbeing]",
        f'items = ["{c("wb")}"]',
        "min = 0",
        "max = 100",
        'definition = "wellbeing.toml"',
    ]
    if layout.economics:
        instrument += [
            "",
            "[instruments.eq5d5l]",
            'items = ["mo", "sc", "ua", "pd", "ad"]',
            "values = [1, 2, 3, 4, 5]",
        ]
    return "\n".join([*study, "", *files, *columns, "", *instrument]) + "\n"


def _config(layout: Layout) -> str:
    c = layout.column
    lines = ["[analysis]", 'name = "zoo"', 'codebook = "codebook.toml"', "seed = 7"]
    lines.append('formats = ["csv"]')
    if layout.primary_wave:
        lines.append(f'primary_wave = "{layout.primary_wave}"')
    lines += ["", "[outcomes]", '"wellbeing" = "wellbeing_total"', "", "[model]"]
    lines.append(f'kind = "{layout.kind}"')
    names = ", ".join(f'"{c(v)}"' for v in layout.model_covariates)
    lines.append(f"covariates = [{names}]")
    if layout.groups is not None:
        lines.append(f"groups = {list(layout.groups)}".replace("'", '"'))
    if layout.sensitivity:
        lines.append('sensitivity = "ancova"')
    if layout.propensity:
        lines += ["", "[propensity]", f'covariates = ["{c("age")}", "{c("sex")}"]']
    if layout.imputation:
        lines += ["", "[imputation]", f"m = {layout.imputation}", "iterations = 5"]
        lines += list(layout.imputation_extra)
    if layout.economics:
        lines += [
            "",
            "[economics]",
            'eq5d = "eq5d5l"',
            'services = { gp = "zoo_gp" }',
            'unit_costs = "unit_costs.csv"',
            'price_year = "2022/23"',
            "wtp = [20000]",
            "n_boot = 300",
            f'cluster = "{c("team")}"',
            *layout.economics_extra,
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    """A layout and what cpeval must say about it: the true effect at each
    follow-up wave (intervention minus comparator), or the error."""

    name: str
    layout: Layout
    truth: dict[str, float] | None = None
    error: str | None = None  # a regular expression the DataError must match
    stage: str = "run"  # where the error is expected: "validate" or "run"


def _truth(layout: Layout) -> dict[str, float]:
    return dict(zip(layout.waves[1:], layout.effects, strict=True))


def _case(name: str, **options) -> Case:
    layout = Layout(**options)
    return Case(name, layout, truth=_truth(layout))


def _fails(name: str, error: str, stage: str = "run", **options) -> Case:
    return Case(name, Layout(**options), error=error, stage=stage)


THREE = ("baseline", "6 months", "12 months")
FOUR = ("baseline", "3 months", "6 months", "12 months")

CASES = [
    _case("text arms, intervention sorts first"),
    _case(
        "text arms, intervention sorts last, harmful effect",
        arms=("intervention", "control"),
        intervention="intervention",
        effects=(-5.0,),
    ),
    _case(
        "numeric codes without labels",
        codes={"Connecting People": 2, "Usual care": 1},
        intervention="2",
    ),
    _case(
        "CSV codes labelled in the codebook (0 is the intervention)",
        codes={"Connecting People": 0, "Usual care": 1},
        labels=True,
        extra_study='group_labels = { "0" = "Connecting People", "1" = "Usual care" }',
    ),
    _case(
        "SPSS codes with value labels, codebook names the label",
        codes={"Connecting People": 1, "Usual care": 2},
        labels=True,
        fmt="sav",
    ),
    _case(
        "SPSS codes with value labels, codebook names the code",
        codes={"Connecting People": 2, "Usual care": 1},
        labels=True,
        fmt="sav",
        intervention="2",
        extra_study='groups = ["1", "2"]',
    ),
    _case(
        "Stata with value labels",
        codes={"Connecting People": 1, "Usual care": 2},
        labels=True,
        fmt="dta",
    ),
    _case("Excel files", fmt="xlsx", effects=(-6.0,)),
    _case("three waves, different effects", waves=THREE, effects=(5.0, 10.0)),
    _case("four waves", waves=FOUR, effects=(5.0, 9.0, -6.0)),
    _case(
        "three waves, the middle one primary",
        waves=THREE,
        effects=(7.0, 0.0),
        primary_wave="6 months",
    ),
    _case(
        "three waves by ANCOVA at each",
        waves=THREE,
        effects=(8.0, 14.0),
        kind="ancova",
    ),
    _case(
        "unequal teams and a team of one",
        team_sizes=(1, 40, 12, 25, 3, 30, 18, 22, 9, 35),
    ),
    _case(
        "three arms, the comparator declared",
        arms=("Connecting People", "Usual care", "Waiting list"),
        comparator="Usual care",
        team_sizes=(16,) * 12,
        sites=3,
    ),
    _case("missing covariate, available data", age_missing=0.05),
    _case(
        "missing covariates, multiple imputation with propensity adjustment",
        age_missing=0.05,
        sex_missing=0.05,
        propensity=True,
        imputation=3,
    ),
    _fails(
        "item-level imputation with 2l.pan's normal draws of codes",
        "use cluster_model = 'random-pmm'",
        imputation=3,
        imputation_extra=('level = "items"', 'cluster_model = "random"'),
    ),
    _fails(
        "propensity covariates all in the model as well",
        r"every \[propensity\] covariate is also a \[model\] covariate",
        model_covariates=("age", "sex"),
        propensity=True,
    ),
    _case(
        "a category absent from one arm, as a model covariate",
        sex_only_in_one_arm=True,
        model_covariates=("age", "sex"),
        sensitivity=True,
    ),
    _case(
        "a category absent from one arm, multiple imputation",
        sex_only_in_one_arm=True,
        model_covariates=("age", "sex"),
        imputation=3,
    ),
    _case(
        "propensity adjusted, names that are not identifiers",
        names={"age": "age.years", "sex": "sex (self)"},
        propensity=True,
    ),
    _case(
        "column names that are not identifiers",
        names={
            "id": "participant id",
            "wb": "wb.score",
            "age": "yield",
            "team": "team.id",
            "sex": "sex (self-reported)",
        },
        effects=(-7.0,),
    ),
    _case(
        "multiple imputation and the sensitivity ANCOVA, three waves",
        waves=THREE,
        effects=(5.0, 10.0),
        imputation=5,
        sensitivity=True,
    ),
    _case(
        "item-level imputation with a random intercept per team, three waves",
        waves=THREE,
        effects=(5.0, 10.0),
        imputation=5,
        imputation_extra=('level = "items"', 'cluster_model = "random-pmm"'),
    ),
    _case(
        "economics over three waves: own unit costs, costs summed to the primary wave",
        waves=THREE,
        effects=(5.0, 10.0),
        economics=True,
    ),
    _case(
        "economics with multiple imputation, the middle wave primary",
        waves=THREE,
        effects=(7.0, 0.0),
        primary_wave="6 months",
        economics=True,
        imputation=3,
    ),
    _case(
        "economics by the NICE DSU mapping, societal perspective",
        economics=True,
        economics_extra=(
            'value_set = { version = "5L", type = "DSU", country = "UK" }',
            'age = "age"',
            'sex = "sex"',
            'perspective = "societal"',
        ),
    ),
    _fails(
        "the DSU mapping without age and sex",
        r"the DSU mapping needs age and sex: add age",
        economics=True,
        economics_extra=(
            'value_set = { version = "5L", type = "DSU", country = "UK" }',
        ),
    ),
    _fails(
        "the codebook names an id column the files do not have",
        r"column 'ID'.*the column is missing|'ID'.*missing",
        stage="validate",
        codebook_id="ID",
    ),
    _fails(
        "SPSS labels, the codebook names an arm by neither code nor label",
        r"not one of 'CP', 'UC' \(the file labels its codes 1 = 'Connecting "
        r"People', 2 = 'Usual care'",
        stage="validate",
        codes={"Connecting People": 1, "Usual care": 2},
        labels=True,
        fmt="sav",
        intervention="CP",
        extra_study='groups = ["CP", "UC"]',
    ),
    _fails(
        "no intervention declared",
        r"not which arm is the intervention: add intervention",
        stage="validate",
        intervention=None,
    ),
    _fails(
        "three arms, no comparator",
        r"has 3 arms .* add comparator",
        stage="validate",
        arms=("Connecting People", "Usual care", "Waiting list"),
        team_sizes=(16,) * 12,
        sites=3,
    ),
    _fails(
        "an intervention that is no arm",
        r"intervention = 'CP' is not an arm",
        stage="validate",
        intervention="CP",
    ),
    _fails(
        "the comparator arm lost at follow-up",
        r"no participant in the comparator arm \('Usual care'\) has "
        r"'wellbeing_total' at wave '6 months'",
        lost="Usual care",
    ),
    _fails(
        "team labels reused across sites (crossed)",
        r"team 'T0' appears under 2 sites \(S0, S1\)",
        stage="validate",
        crossed=True,
    ),
    _fails(
        "team labels reused across sites, ANCOVA (CR2 by team)",
        r"team 'T0' appears under 2 sites",
        stage="validate",
        crossed=True,
        kind="ancova",
    ),
    _fails(
        "groups leave out the participant",
        r"leave out the participant level 'id'",
        groups=("site", "team"),
    ),
    _fails(
        "groups reverse the nesting",
        r"reverse the codebook's nesting",
        groups=("team", "site", "id"),
    ),
    _fails(
        "a category absent from one arm in the propensity score",
        r"separate the arms.*sex",
        sex_only_in_one_arm=True,
        propensity=True,
    ),
    _fails(
        "a primary wave that is not a follow-up",
        r"'\[analysis\] primary_wave' is 'baseline'",
        primary_wave="baseline",
    ),
]


def replace(case: Case, **options) -> Case:
    """The case with other layout options (for tests that vary one thing)."""
    return dataclasses.replace(case, layout=dataclasses.replace(case.layout, **options))
