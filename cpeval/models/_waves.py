"""The arm difference at every follow-up wave, adjusted for baseline.

Time is a factor, never a straight line: a mixed model with one indicator per
follow-up wave (and its interaction with the arm), or one ANCOVA per follow-up
wave. The pipeline and :mod:`cpeval.power` both call :func:`effect_by_wave`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._checks import treatment
from .._results import EstimateResults, percent
from ..exceptions import DataError
from ._ancova import ancova
from ._effects import treatment_effect
from ._glmm import fit_glmm
from ._lmm import fit_lmm

__all__ = ["DEFAULT_DF", "FAMILIES", "METHODS", "WaveEffects", "effect_by_wave"]

Method = Literal[
    "lmm", "ancova", "gee", "wild-bootstrap-ancova", "wild-bootstrap-prepost"
]
#: Every method of :func:`effect_by_wave`.
METHODS = (
    "lmm",
    "ancova",
    "gee",
    "wild-bootstrap-ancova",
    "wild-bootstrap-prepost",
)
WaveDf = Literal["satterthwaite", "kenward-roger"]
Family = Literal["gaussian", "binomial", "poisson"]
#: The outcome families: continuous, binary (logit link), count (log link).
FAMILIES = ("gaussian", "binomial", "poisson")
#: What each family's effect is, exponentiated (``None``: a difference).
RATIOS = {"gaussian": None, "binomial": "odds ratio", "poisson": "rate ratio"}
_KINDS = {"binomial": "binary (0/1)", "poisson": "a count"}
#: The mixed model's df unless another is asked for (the config's default too).
DEFAULT_DF: WaveDf = "satterthwaite"
_DF_NAMES = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger"}
_WILD = ("wild-bootstrap-ancova", "wild-bootstrap-prepost")


@dataclass(frozen=True, repr=False)
class WaveEffects(EstimateResults):
    """Intervention minus comparator at each follow-up wave.

    Parameters
    ----------
    params, se, df, pvalues : pandas.Series
        The adjusted difference, its standard error, degrees of freedom and
        two-sided p-value, indexed by follow-up wave.
    n_obs : pandas.Series
        Observations (rows) each wave's estimate used: every wave's rows for the
        mixed model, the complete pairs for ANCOVA.
    n_participants : pandas.Series
        Participants each wave's estimate used.
    method : {"lmm", "ancova", "gee", "wild-bootstrap-ancova", "wild-bootstrap-prepost"}
    df_method : str
        ``"Satterthwaite"`` or ``"Kenward-Roger"`` (mixed model), ``"CR2
        Satterthwaite"`` (ANCOVA with clusters), ``"OLS"``, ``"GEE
        (<correlation> working correlation, <cov_type> errors), t on clusters
        minus parameters"`` or ``"wild cluster bootstrap (<weights>, <n>
        draws)"`` (the df then reported are clusters minus one; p and interval
        come from the bootstrap).
    baseline : str
        The baseline wave.
    family : {"gaussian", "binomial", "poisson"}
        The outcome's family: for ``"binomial"`` (logit) and ``"poisson"``
        (log) ``params`` and its interval are on the log scale (log odds ratio,
        log rate ratio) and ``extra`` holds the ratio itself.
    participants : mapping of str to frozenset
        The ids behind each wave's estimate (for the participant flow).
    fits : mapping of str to result
        The one :class:`~cpeval.models.LmmResult` or
        :class:`~cpeval.models.GeeResult` (under every wave), or each wave's
        :class:`~cpeval.models.AncovaResult` or
        :class:`~cpeval.models.WildBootstrap`. Their terms use safe names,
        whatever the columns are called: ``_y`` (the outcome; ``_y0`` and
        ``_yk`` at baseline and follow-up in ANCOVA), ``_arm``, ``_wK`` (the
        K-th follow-up wave), ``_xJ`` and ``_zJ`` (the J-th covariate and time
        covariate); grouping columns keep their names.
    extra : pandas.DataFrame
        ANCOVA: Hedges' g and partial eta squared by wave (empty for the mixed
        model). Binary and count outcomes: ``ratio``, ``ratio_ci_low``,
        ``ratio_ci_high`` (the exponentiated effect and interval at ``level``)
        and, for a binary outcome's mixed model, the marginal risk difference
        at each wave (``risk_difference``, ``risk_difference_se``,
        ``risk_difference_ci_low``, ``risk_difference_ci_high``).
    level : float
        Default confidence level of :meth:`conf_int`.

    Notes
    -----
    ``conf_int(level)`` is ``params -/+ t se`` on each wave's df, except for
    the wild cluster bootstrap, whose interval inverts each wave's bootstrap
    test (:meth:`cpeval.models.WildBootstrap.conf_int`). ``cov`` is the
    covariance of the wave effects: from the one mixed model or GEE, or, for
    models fitted separately per wave, the variances with the covariances
    between waves unknown (NaN).
    """

    params: pd.Series
    se: pd.Series
    df: pd.Series
    pvalues: pd.Series
    n_obs: pd.Series
    n_participants: pd.Series
    method: str
    df_method: str
    baseline: str
    participants: Mapping[str, frozenset] = field(repr=False)
    fits: Mapping[str, Any] = field(repr=False)
    extra: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    level: float = 0.95
    family: str = "gaussian"

    _term_label = "wave"

    @property
    def _title(self) -> str:  # type: ignore[override]
        model = model_name(self.method, self.family)
        scale = RATIOS[self.family]
        what = f"Log {scale}" if scale else "Difference"
        return f"{what} from {self.baseline} by wave, {model}"

    @property
    def scale(self) -> str:
        """What ``params`` is: ``"difference"``, ``"log odds ratio"`` or
        ``"log rate ratio"``."""
        ratio = RATIOS[self.family]
        return f"log {ratio}" if ratio else "difference"

    @property
    def cov_type(self) -> str:
        """``"model-based"`` (mixed model), or the fits' own (``"CR2"``,
        ``"OLS"``, the GEE's sandwich, the bootstrap's)."""
        if self.method == "lmm":
            return "model-based"
        return next(iter(self.fits.values())).cov_type if self.fits else ""

    def _interval(self, level: float) -> pd.DataFrame:
        if self.method not in _WILD:
            return EstimateResults._interval(self, level)
        return pd.concat(
            [self.fits[w].conf_int(level) for w in self.params.index]
        ).set_axis(self.params.index)

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the wave effects (NaN between separately fitted waves)."""
        waves = self.params.index
        if self.method in ("lmm", "gee") and self.fits:
            fit = next(iter(self.fits.values()))
            terms = [f"_w{k}:_arm" for k in range(1, len(waves) + 1)]
            if set(terms) <= set(fit.params.index):
                return pd.DataFrame(
                    fit.cov.loc[terms, terms].to_numpy(), index=waves, columns=waves
                )
        frame = pd.DataFrame(np.nan, index=waves, columns=waves)
        for wave in waves:
            frame.loc[wave, wave] = float(self.se[wave]) ** 2
        return frame

    def _header(self) -> list[tuple[str, object]]:
        return [
            ("n_participants", int(self.n_participants.max())),
            ("cov_type", self.cov_type),
            ("df", self.df_method),
            ("level", percent(self._level(None))),
        ]

    def _extend_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame["n_obs"] = self.n_obs
        frame["n_participants"] = self.n_participants
        frame["df_method"] = self.df_method
        if not self.extra.empty:
            frame = frame.join(self.extra)
        return frame

    def to_frame(self, level: float | None = None) -> pd.DataFrame:
        """One row per follow-up wave: ``wave``, ``params``, ``se``, ``df``,
        ``statistic``, ``pvalues``, ``ci_low``, ``ci_high``, ``n_obs``,
        ``n_participants``, ``df_method`` (and the ANCOVA effect sizes)."""
        return EstimateResults.to_frame(self, level)


_MODELS = {
    "lmm": "mixed model (REML)",
    "ancova": "ANCOVA",
    "gee": "GEE",
    "wild-bootstrap-ancova": "ANCOVA, wild cluster bootstrap",
    "wild-bootstrap-prepost": "pre-post OLS, wild cluster bootstrap",
}
_LINKS = {"binomial": "binomial, logit", "poisson": "Poisson, log"}


def model_name(method: str, family: str = "gaussian") -> str:
    """The model in words: ``"mixed model (REML)"``, ``"generalised linear
    mixed model (binomial, logit; Laplace)"``, ``"GEE (Poisson, log)"``."""
    if family == "gaussian":
        return _MODELS[method]
    if method == "lmm":
        return f"generalised linear mixed model ({_LINKS[family]}; Laplace)"
    return f"{_MODELS[method]} ({_LINKS[family]})"


def effect_by_wave(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    wave: str,
    id: str,
    treated: object = None,
    method: Method = "lmm",
    groups: Sequence[str] | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    time_covariates: Sequence[str] = (),
    wave_effects: Sequence[str] = (),
    slopes: Sequence[str] = (),
    df_method: WaveDf = DEFAULT_DF,
    effect_sizes: bool = True,
    n_boot: int | None = None,
    weights: str | None = None,
    seed: int | None = None,
    correlation: str | None = None,
    cov_type: str | None = None,
    family: Family = "gaussian",
    level: float = 0.95,
) -> WaveEffects:
    """The arm difference at every follow-up wave, adjusted for baseline.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per participant and wave.
    outcome : str
        The outcome column.
    group : str
        The arm column: 0/1, or labels with ``treated``.
    wave : str
        The wave column: an ordered categorical (its first level is the
        baseline) or numbers (the lowest is the baseline). Unordered text is
        refused: the order of waves is never guessed.
    id : str
        The participant column.
    treated : optional
        The intervention's value of ``group`` when it holds labels.
    method : {"lmm", "ancova", "gee", "wild-bootstrap-ancova", "wild-bootstrap-prepost"}
        ``"lmm"``: one mixed model of every wave, ``outcome ~ wave + group +
        wave:group + covariates`` with wave a factor; the effect at wave ``k``
        is the ``wave_k:group`` coefficient, the difference between arms in
        change from baseline to ``k``. ``"ancova"``: at each follow-up wave,
        ``outcome_k ~ outcome_baseline + group + covariates`` among those seen at
        both (complete cases). ``"gee"``: the mixed model's fixed effects as a
        marginal model (:func:`~cpeval.models.fit_gee`, Gaussian, clustered by
        ``cluster``, or by participant without one). ``"wild-bootstrap-ancova"``:
        each wave's ANCOVA tested by the restricted wild cluster bootstrap
        (:func:`~cpeval.models.wild_bootstrap_ancova`); ``"wild-bootstrap-prepost"``:
        for each follow-up wave, the OLS pre-post model of that wave and
        baseline (every interview with an outcome; each time covariate also
        interacts with the follow-up wave, as in the mixed model) tested the same
        way (:func:`~cpeval.models.wild_bootstrap_prepost`); both need
        ``cluster``.
    groups : sequence of str, optional
        ``lmm``: random-intercept levels, outermost first, ending with ``id``
        (e.g. ``["trust", "team", "id"]``); default ``[id]``. A list without the
        participant level, or with it anywhere but last, is refused when
        participants have repeated measures.
    cluster : str, optional
        ``ancova``: CR2 cluster-robust errors by this column, with Satterthwaite
        df (as clubSandwich). ``gee`` and the wild bootstrap: the cluster
        (the allocation unit, e.g. team).
    covariates : sequence of str
        Baseline covariates: each participant's value at the baseline wave is
        used at every wave. Text columns enter as factors.
    time_covariates : sequence of str
        ``lmm``: covariates that also interact with wave (e.g. a propensity
        score, so that it adjusts change as well as level); ``ancova`` treats
        them as ordinary covariates.
    wave_effects : sequence of str
        ``lmm``: levels of ``groups`` (not the participant) that also get a
        random effect for each of their units at each wave, crossed with the
        participant: for ``team`` in ``["site", "team", "id"]`` the term
        ``(1 | site:team:wave)``, so team effects may change between waves
        (teams are named within their site, so teams sharing a label in two
        sites stay apart).
    slopes : sequence of str
        ``lmm``, three or more waves: levels of ``groups`` whose random
        intercept becomes a random intercept and slope over waves, correlated
        (lme4's ``(1 + step | site:team)``), where ``step`` counts waves from
        baseline (0, 1, 2, ... in wave order, whatever the waves are called or
        however far apart they are). Each unit then has its own linear trend
        about the arm's wave means. With two waves a slope is the same as a
        level-by-wave effect: use ``wave_effects``.
    df_method : {"satterthwaite", "kenward-roger"}
        ``lmm``: Satterthwaite df (as lmerTest), or Kenward-Roger df with the
        adjusted covariance (as pbkrtest; refused above 10,000 rows).
    effect_sizes : bool
        ``ancova``: also Hedges' g and partial eta squared (with their
        intervals) in ``extra``; off saves time in simulations.
    n_boot, weights, seed : optional
        The wild bootstrap's samples, weights ("webb" or "rademacher") and
        seed; ``None`` keeps :func:`~cpeval.models.wild_bootstrap_ancova`'s
        defaults (the seed is needed unless every sign pattern is used).
    correlation, cov_type : str, optional
        ``gee``: the working correlation ("exchangeable" or "independence")
        and the sandwich ("robust", "mancl-derouen", "kauermann-carroll");
        ``None`` keeps :func:`~cpeval.models.fit_gee`'s defaults.
    family : {"gaussian", "binomial", "poisson"}
        The outcome: continuous (default), binary 0/1 (logit link) or a count
        (log link). ``lmm`` then fits a generalised linear mixed model
        (:func:`~cpeval.models.fit_glmm`, Laplace, the same random effects:
        nested intercepts, level-by-wave effects, slopes) with Wald z
        inference; ``gee`` a binomial or Poisson GEE. The effect at wave ``k``
        is then the ``wave_k:group`` coefficient on the log scale: the ratio of
        the arms' odds (rate) ratio at ``k`` to that at baseline, conditional on
        the random effects for the mixed model. ANCOVA and the wild bootstrap
        are linear models of a continuous outcome and refuse another family;
        so does Kenward-Roger df.
    level : float
        Confidence level.

    Returns
    -------
    WaveEffects

    Raises
    ------
    DataError
        A column is absent, the arm or the wave cannot be read, an arm has no
        outcome at a wave, an option does not belong to the method or names
        no level of ``groups``, or the model cannot be fitted.

    Notes
    -----
    With two waves the mixed model is the usual ``time * group`` model and its
    interaction the effect (lmerTest's Satterthwaite df); the ANCOVA is
    :func:`~cpeval.models.ancova`. Checked against R lme4/lmerTest and
    clubSandwich on three waves (``tests/reference/waves``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cpeval.models import effect_by_wave
    >>> d = pd.read_csv("tests/reference/waves/three_waves.csv")
    >>> fit = effect_by_wave(d, outcome="y", group="arm", treated="CP",
    ...                      wave="month", id="id", groups=["team", "id"])
    >>> list(fit.params.index)
    ['6', '12']
    """
    if method not in METHODS:
        raise DataError(f"method must be one of {list(METHODS)}; got {method!r}")
    _check_method_options(method, wave_effects, slopes, df_method)
    _check_family(family, method, outcome, df_method)
    wild = {"n_boot": n_boot, "weights": weights, "seed": seed}
    gee = {"correlation": correlation, "cov_type": cov_type}
    for name, value in {**wild, **gee}.items():
        owner = "wild bootstrap" if name in wild else "gee"
        if value is not None and not method.startswith(owner.split()[0]):
            raise DataError(f"{name}= is an option of the {owner}, not of {method!r}")
    frame, waves = _prepared(data, outcome, group, wave, id, treated, covariates)
    frame = frame.assign(**{c: _baseline_values(frame, id, c) for c in covariates})
    _check_arms_seen(frame, outcome, waves, _arm_names(frame[group], treated))
    _check_separation(frame, outcome, waves, family, _arm_names(frame[group], treated))
    if method == "lmm":
        random = _Random(tuple(wave_effects), tuple(slopes), df_method)
        return _lmm(
            frame,
            outcome,
            waves,
            id,
            groups,
            covariates,
            time_covariates,
            level,
            random,
            family,
        )
    terms = list(dict.fromkeys([*covariates, *time_covariates]))
    if method == "ancova":
        return _ancova(frame, outcome, waves, id, cluster, terms, effect_sizes, level)
    if method == "gee":
        given = {k: v for k, v in gee.items() if v is not None}
        return _gee(
            frame,
            outcome,
            waves,
            id,
            cluster,
            covariates,
            time_covariates,
            level,
            {**given, "family": family},
        )
    given = {k: v for k, v in wild.items() if v is not None}
    if cluster is None:
        raise DataError(f"method={method!r} needs cluster=, the allocation cluster")
    if method == "wild-bootstrap-ancova":
        return _ancova(
            frame, outcome, waves, id, cluster, terms, False, level, wild=given
        )
    return _prepost(
        frame, outcome, waves, id, cluster, covariates, time_covariates, level, given
    )


def _check_method_options(method, wave_effects, slopes, df_method) -> None:
    """The mixed model's options, checked before anything is fitted."""
    for name, value in (("wave_effects", wave_effects), ("slopes", slopes)):
        if isinstance(value, str):
            raise DataError(f"{name}= is a list of levels; got the text {value!r}")
        if list(value) and method != "lmm":
            raise DataError(f"{name}= is an option of the mixed model (method='lmm')")
    if df_method not in _DF_NAMES:
        raise DataError(
            f"df_method must be one of {list(_DF_NAMES)}; got {df_method!r}"
        )
    if df_method != DEFAULT_DF and method != "lmm":
        raise DataError("df_method= is an option of the mixed model (method='lmm')")


def _check_family(family, method, outcome, df_method) -> None:
    """A binary or count outcome gets a model of its own kind, or none."""
    if family not in FAMILIES:
        raise DataError(f"family must be one of {list(FAMILIES)}; got {family!r}")
    if family == "gaussian":
        return
    if method not in ("lmm", "gee"):
        raise DataError(
            f"'{outcome}' is {_KINDS[family]}, and method={method!r} is a linear "
            "model of a continuous outcome (its difference in means and its "
            "errors assume one): analyse it with method='lmm' (a generalised "
            "linear mixed model) or 'gee'"
        )
    if method == "lmm" and df_method != DEFAULT_DF:
        raise DataError(
            f"df_method={df_method!r} is for a linear mixed model; the mixed model "
            f"of '{outcome}' ({_KINDS[family]}) is a GLMM, whose tests are Wald z "
            "(as lme4's)"
        )


# ------------------------------------------------------------------ preparing

_ARM, _WAVE = "_arm", "_wave"


def _prepared(data, outcome, group, wave, id, treated, covariates):
    needed = [outcome, group, wave, id, *covariates]
    absent = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if absent:
        raise DataError(f"the data have no columns {absent}")
    waves = _wave_order(data[wave], wave)
    if len(waves) < 2:
        raise DataError(f"'{wave}' has one wave only: a comparison needs follow-up")
    frame = data.reset_index(drop=True)
    frame = frame.assign(
        **{
            _ARM: treatment(frame[group], treated),
            _WAVE: pd.Categorical(frame[wave], categories=waves, ordered=True),
        }
    )
    if frame[_ARM].isna().any():
        raise DataError(f"the arm column '{group}' has missing values")
    return frame, waves


def _wave_order(values: pd.Series, name: str) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        present = set(values.dropna().unique())
        return [w for w in values.cat.categories if w in present]
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return sorted(values.dropna().unique())
    raise DataError(
        f"the wave column '{name}' holds text, so its order is unknown: make it an "
        "ordered categorical (as cpeval.io.load_study does) or number the waves"
    )


def _baseline_values(frame: pd.DataFrame, id: str, column: str) -> pd.Series:
    base = frame[frame[_WAVE] == frame[_WAVE].cat.categories[0]]
    return frame[id].map(base.drop_duplicates(id).set_index(id)[column])


def _arm_names(values: pd.Series, treated) -> dict[float, str]:
    """How messages name the arms: by their values when ``treated`` names one."""
    if treated is None:
        return {1.0: "the intervention arm", 0.0: "the comparator arm"}
    other = [v for v in pd.unique(values.dropna()) if v != treated]
    return {
        1.0: f"the intervention arm ('{treated}')",
        0.0: f"the comparator arm ('{other[0]}')" if other else "the comparator arm",
    }


def _check_arms_seen(frame: pd.DataFrame, outcome: str, waves: list, names) -> None:
    seen = frame.dropna(subset=[outcome]).groupby([_WAVE, _ARM], observed=True).size()
    for w in waves:
        for arm in (1.0, 0.0):
            if seen.get((w, arm), 0) == 0:
                raise DataError(
                    f"no participant in {names[arm]} has '{outcome}' at wave "
                    f"'{w}': the arms cannot be compared there (check that "
                    "wave's file, or analyse other waves)"
                )


def _check_separation(frame, outcome, waves, family, names) -> None:
    """A binary outcome that everyone (or no one) in an arm has at a wave, or a
    count that is 0 for everyone: the odds or rate ratio there is infinite or
    zero (separation), and a fitted model reports a huge estimate with a huge
    SE instead (R's glm warns; exp(20) is not an answer). Refused, naming the
    arm and wave."""
    if family == "gaussian":
        return
    values = pd.to_numeric(frame[outcome], errors="coerce")
    cells = values.dropna().groupby([frame[_WAVE], frame[_ARM]], observed=True)
    for (w, arm), cell in cells:
        if w not in waves:
            continue
        low, high = cell.min(), cell.max()
        if family == "binomial" and low == high:
            raise DataError(
                f"'{outcome}' at wave '{w}' is {int(low)} for all {len(cell)} "
                f"participants in {names[arm]}, so the odds ratio is infinite or "
                "zero (separation) and cannot be estimated: report the "
                "proportions, or analyse waves where both values occur"
            )
        if family == "poisson" and high == 0:
            raise DataError(
                f"'{outcome}' at wave '{w}': all {len(cell)} participants in "
                f"{names[arm]} counted 0, so the rate ratio is zero or infinite "
                "(separation) and cannot be estimated: report the counts"
            )


def _label(w) -> str:
    return str(int(w)) if isinstance(w, float) and w.is_integer() else str(w)


# ------------------------------------------------------------------ the models


@dataclass(frozen=True)
class _Random:
    """The mixed model's options beyond nested random intercepts."""

    wave_effects: tuple[str, ...] = ()
    slopes: tuple[str, ...] = ()
    df_method: str = DEFAULT_DF

    @property
    def nested(self) -> bool:
        """Nested random intercepts only: the fast engine."""
        return not (self.wave_effects or self.slopes)


def random_terms(groups: Sequence[str], random: _Random) -> list[str]:
    """The lme4 random-effect terms of ``groups`` (outermost first) with the
    level-by-wave effects and slopes asked for: each level named within the
    levels it is nested in (``site:team``), the wave column ``_wave`` and the
    step count ``_t``."""
    out = []
    for k, level in enumerate(groups):
        nest = ":".join(groups[: k + 1])
        out.append(f"(1 + _t | {nest})" if level in random.slopes else f"(1 | {nest})")
        if level in random.wave_effects:
            out.append(f"(1 | {nest}:_wave)")
    return out


def _check_random(random: _Random, groups: list[str], id: str, waves: list) -> None:
    for name, levels in (
        ("wave_effects", random.wave_effects),
        ("slopes", random.slopes),
    ):
        unknown = [g for g in levels if g not in groups]
        if unknown:
            raise DataError(
                f"{name} names {unknown}, which are not among the random-effect "
                f"levels {groups}"
            )
        twice = sorted({g for g in levels if levels.count(g) > 1})
        if twice:
            raise DataError(f"{name} names {twice} more than once")
    if id in random.wave_effects:
        raise DataError(
            f"wave_effects names the participant '{id}': a participant-by-wave "
            "effect is the residual (one interview per wave); name a cluster level"
        )
    if random.slopes and len(waves) < 3:
        raise DataError(
            f"slopes over waves need three or more waves; there are {len(waves)}: "
            "with two, a slope is the change between them, which wave_effects "
            "models (a random effect of each unit at each wave)"
        )


def _lmm(
    frame,
    outcome,
    waves,
    id,
    groups,
    covariates,
    time_covariates,
    level,
    random,
    family="gaussian",
):
    groups = list(groups) if groups is not None else [id]
    _check_participant_level(frame, id, groups)
    _check_random(random, groups, id, waves)
    follow = waves[1:]
    model = pd.DataFrame({"_y": pd.to_numeric(frame[outcome], errors="coerce")})
    model["_arm"] = frame[_ARM]
    indicators = []
    for k, w in enumerate(follow, start=1):
        model[f"_w{k}"] = (frame[_WAVE] == w).astype(float)
        indicators.append(f"_w{k}")
    model, terms = _covariate_terms(frame, model, covariates, "_x")
    model, changes = _covariate_terms(frame, model, time_covariates, "_z")
    clash = [g for g in groups if g in model.columns or g in ("_t", "_wave")]
    if clash:
        raise DataError(f"rename the grouping columns {clash}: cpeval uses the names")
    for g in groups:
        model[g] = frame[g]
    model["_id"] = frame[id]
    parts = [*indicators, "_arm", *(f"{w}:_arm" for w in indicators), *terms]
    parts += [*changes, *(f"{w}:{z}" for w in indicators for z in changes)]
    used = model.dropna(subset=["_y", *_columns(terms + changes), *groups])
    names = _names(outcome, covariates, time_covariates, follow)
    fixed = "_y ~ " + " + ".join(parts)
    with _named_errors(names):
        if family != "gaussian":
            used = used.assign(
                _wave=frame.loc[used.index, _WAVE].cat.codes.astype(np.int64),
                _t=frame.loc[used.index, _WAVE].cat.codes.astype(float),
            )
            formula = " + ".join([fixed, *random_terms(groups, random)])
            fit = fit_glmm(used, formula, family=family, level=level)
        elif random.nested:
            fit = fit_lmm(used, fixed, groups, df_method=random.df_method, level=level)
        else:
            used = used.assign(
                _wave=frame.loc[used.index, _WAVE].cat.codes.astype(np.int64),
                _t=frame.loc[used.index, _WAVE].cat.codes.astype(float),
            )
            formula = " + ".join([fixed, *random_terms(groups, random)])
            fit = fit_lmm(used, formula, df_method=random.df_method, level=level)
    names = [f"{w}:_arm" for w in indicators]
    index = pd.Index([_label(w) for w in follow], name="wave")
    n_people = used["_id"].nunique()
    ids = frozenset(used["_id"])
    return WaveEffects(
        params=pd.Series(fit.params[names].to_numpy(), index=index),
        se=pd.Series(fit.se[names].to_numpy(), index=index),
        df=pd.Series(fit.df[names].to_numpy(), index=index),
        pvalues=pd.Series(fit.pvalues[names].to_numpy(), index=index),
        n_obs=pd.Series(fit.n_obs, index=index),
        n_participants=pd.Series(n_people, index=index),
        method="lmm",
        df_method="Wald z (GLMM, Laplace)"
        if family != "gaussian"
        else _DF_NAMES.get(fit.df_method, "Wald"),
        baseline=_label(waves[0]),
        participants=dict.fromkeys(index, ids),
        fits=dict.fromkeys(index, fit),
        extra=_ratios(fit, names, index, family, level, used, indicators),
        level=level,
        family=family,
    )


def _ratios(fit, names, index, family, level, used=None, indicators=()):
    """A binary or count outcome's effects as ratios (exp of the log-scale
    estimate and interval) and, for a binary outcome's GLMM, the marginal
    (population-averaged) risk difference between arms among each wave's rows."""
    if family == "gaussian":
        return pd.DataFrame()
    limits = fit.conf_int(level).loc[names]
    extra = pd.DataFrame(
        {
            "ratio": np.exp(fit.params[names].to_numpy()),
            "ratio_ci_low": np.exp(limits["ci_low"].to_numpy()),
            "ratio_ci_high": np.exp(limits["ci_high"].to_numpy()),
        },
        index=index,
    )
    if family == "binomial" and used is not None:
        rows = []
        for w in indicators:
            at = used[used[w] == 1]
            rd = fit.risk_difference("_arm", data=at, level=level).loc["difference"]
            rows.append(rd[["estimate", "se", "ci_low", "ci_high"]].to_numpy(float))
        values = np.array(rows)
        for k, name in enumerate(("", "_se", "_ci_low", "_ci_high")):
            extra[f"risk_difference{name}"] = values[:, k]
    return extra


def _gee(frame, outcome, waves, id, cluster, covariates, time_covariates, level, given):
    """The mixed model's fixed effects, fitted by GEE (every wave's rows)."""
    from ._gee import fit_gee  # after _waves: it imports this module's helpers

    if cluster is not None and cluster not in frame.columns:
        raise DataError(f"the data have no cluster column '{cluster}'")
    follow = waves[1:]
    model = pd.DataFrame({"_y": pd.to_numeric(frame[outcome], errors="coerce")})
    model["_arm"] = frame[_ARM]
    indicators = []
    for k, w in enumerate(follow, start=1):
        model[f"_w{k}"] = (frame[_WAVE] == w).astype(float)
        indicators.append(f"_w{k}")
    model, terms = _covariate_terms(frame, model, covariates, "_x")
    model, changes = _covariate_terms(frame, model, time_covariates, "_z")
    model["_c"] = frame[cluster if cluster is not None else id]
    model["_id"] = frame[id]
    parts = [*indicators, "_arm", *(f"{w}:_arm" for w in indicators), *terms]
    parts += [*changes, *(f"{w}:{z}" for w in indicators for z in changes)]
    used = model.dropna(subset=["_y", "_c", *_columns(terms + changes)])
    with _named_errors(_names(outcome, covariates, time_covariates, follow, cluster)):
        fit = fit_gee(
            used, outcome="_y", terms=parts, cluster="_c", level=level, **given
        )
    names = [f"{w}:_arm" for w in indicators]
    index = pd.Index([_label(w) for w in follow], name="wave")
    ids = frozenset(used["_id"])
    return WaveEffects(
        params=pd.Series(fit.params[names].to_numpy(), index=index),
        se=pd.Series(fit.se[names].to_numpy(), index=index),
        df=pd.Series(fit.df[names].to_numpy(), index=index),
        pvalues=pd.Series(fit.pvalues[names].to_numpy(), index=index),
        n_obs=pd.Series(fit.n_obs, index=index),
        n_participants=pd.Series(len(ids), index=index),
        method="gee",
        df_method=f"GEE ({fit.correlation} working correlation, {fit.cov_type} "
        "errors), t on clusters minus parameters",
        baseline=_label(waves[0]),
        participants=dict.fromkeys(index, ids),
        fits=dict.fromkeys(index, fit),
        extra=_ratios(fit, names, index, given.get("family", "gaussian"), level),
        level=level,
        family=given.get("family", "gaussian"),
    )


def _prepost(frame, outcome, waves, id, cluster, covariates, changes, level, given):
    """Each follow-up wave against baseline by the wild bootstrap of the
    pre-post OLS model (time covariates also interact with the follow-up)."""
    from ._wild import wild_bootstrap_prepost  # it imports this module

    if cluster not in frame.columns:
        raise DataError(f"the data have no cluster column '{cluster}'")
    fits, ids = {}, {}
    for w in waves[1:]:
        pair = frame[frame[_WAVE].isin([waves[0], w])]
        extra = {}
        for name in changes:
            values = pd.to_numeric(pair[name], errors="coerce")
            extra[f"{name} x {_label(w)}"] = values * (pair[_WAVE] == w)
        pair = pair.assign(**extra)
        terms = list(dict.fromkeys([*covariates, *changes, *extra]))
        names = {**_names(outcome, covariates, changes, [], cluster), "_wave": "wave"}
        with _named_errors(names):
            fit = wild_bootstrap_prepost(
                pair,
                outcome=outcome,
                time=_WAVE,
                group=_ARM,
                cluster=cluster,
                id=id,
                baseline_wave=waves[0],
                followup_wave=w,
                covariates=terms,
                level=level,
                **given,
            )
        label = _label(w)
        values = pair.assign(_yy=pd.to_numeric(pair[outcome], errors="coerce"))
        used = values.dropna(subset=["_yy", *terms])
        fits[label], ids[label] = fit, frozenset(used[id])
    return _wild_effects(fits, ids, "wild-bootstrap-prepost", waves, level)


def _wild_effects(fits, ids, method, waves, level) -> WaveEffects:
    index = pd.Index(list(fits), name="wave")
    first = next(iter(fits.values()))

    def each(name):
        return pd.Series(
            [float(getattr(f, name).iloc[0]) for f in fits.values()], index=index
        )

    return WaveEffects(
        params=each("params"),
        se=each("se"),
        df=each("df"),
        pvalues=each("pvalues"),
        n_obs=pd.Series([f.n_obs for f in fits.values()], index=index),
        n_participants=pd.Series([len(ids[w]) for w in index], index=index),
        method=method,
        df_method=f"wild cluster bootstrap ({first.weights}, {first.n_boot:,} draws"
        + (", every sign pattern" if first.enumerated else "")
        + ")",
        baseline=_label(waves[0]),
        participants=ids,
        fits=fits,
        level=level,
    )


def _ancova(
    frame, outcome, waves, id, cluster, covariates, effect_sizes, level, wild=None
):
    """Each follow-up wave's ANCOVA (complete pairs); with ``wild`` (the
    bootstrap's options) tested by the wild cluster bootstrap instead."""
    if cluster is not None and cluster not in frame.columns:
        raise DataError(f"the data have no cluster column '{cluster}'")
    base = frame[frame[_WAVE] == waves[0]].drop_duplicates(id)
    model = pd.DataFrame(
        {
            "_id": base[id].to_numpy(),
            "_arm": base[_ARM].to_numpy(),
            "_y0": pd.to_numeric(base[outcome], errors="coerce").to_numpy(),
        }
    )
    model, terms = _covariate_terms(
        base.reset_index(drop=True), model, covariates, "_x"
    )
    if cluster is not None:
        model["_c"] = base[cluster].to_numpy()
    rows: dict[str, dict] = {}
    fits, ids = {}, {}
    for w in waves[1:]:
        later = frame[frame[_WAVE] == w].drop_duplicates(id)
        yk = pd.to_numeric(later[outcome], errors="coerce")
        pairs = model.assign(_yk=model["_id"].map(pd.Series(yk.to_numpy(), later[id])))
        pairs = pairs.dropna(subset=["_y0", "_yk", *_columns(terms)])
        label = _label(w)
        if wild is not None:
            from ._wild import wild_bootstrap_ancova  # it imports this module

            with _named_errors(_names(outcome, covariates, (), [], cluster)):
                fits[label] = wild_bootstrap_ancova(
                    pairs,
                    outcome="_yk",
                    baseline="_y0",
                    group="_arm",
                    cluster="_c",
                    covariates=terms,
                    level=level,
                    **wild,
                )
            ids[label] = frozenset(pairs["_id"])
            continue
        with _named_errors(_names(outcome, covariates, (), [], cluster)):
            fit = ancova(
                pairs,
                outcome="_yk",
                baseline="_y0",
                group="_arm",
                covariates=terms,
                cluster="_c" if cluster is not None else None,
                level=level,
            )
        rows[label] = {
            "estimate": fit.params["_arm"],
            "se": fit.se["_arm"],
            "df": fit.df["_arm"],
            "p_val": fit.pvalues["_arm"],
            "n_obs": fit.n_obs,
        }
        if effect_sizes:
            sizes = treatment_effect(fit, pairs, "_yk").iloc[0]
            rows[label]["hedges_g"] = sizes["hedges_g"]
            rows[label]["partial_eta2"] = sizes["partial_eta2"]
        fits[label], ids[label] = fit, frozenset(pairs["_id"])
    if wild is not None:
        return _wild_effects(fits, ids, "wild-bootstrap-ancova", waves, level)
    table = pd.DataFrame(rows).T.rename_axis("wave")
    return WaveEffects(
        params=table["estimate"].astype(float),
        se=table["se"].astype(float),
        df=table["df"].astype(float),
        pvalues=table["p_val"].astype(float),
        n_obs=table["n_obs"].astype(int),
        n_participants=table["n_obs"].astype(int),
        method="ancova",
        df_method="CR2 Satterthwaite" if cluster is not None else "OLS",
        baseline=_label(waves[0]),
        participants=ids,
        fits=fits,
        extra=table.drop(columns=["estimate", "se", "df", "p_val", "n_obs"]).astype(
            float
        ),
        level=level,
    )


def _names(
    outcome, covariates, time_covariates, follow, cluster=None
) -> dict[str, str]:
    """Safe model names -> the columns they stand for, for messages."""
    names = {"_y0": f"{outcome} at baseline", "_yk": outcome, "_y": outcome}
    names["_arm"] = "arm"
    if cluster is not None:
        names["_c"] = cluster
    names.update({f"_x{k}": c for k, c in enumerate(covariates, start=1)})
    names.update({f"_z{k}": c for k, c in enumerate(time_covariates, start=1)})
    names.update({f"_w{k}": f"wave {_label(w)}" for k, w in enumerate(follow, 1)})
    names.update({"_t": "waves from baseline", "_wave": "wave"})
    return names


@contextmanager
def _named_errors(names: dict[str, str]):
    """A DataError from the model speaks of the columns, not the safe names."""
    try:
        yield
    except DataError as exc:
        message = re.sub(
            r"'([^']*)'",
            lambda m: "'" + _spoken(m.group(1), names) + "'",
            str(exc),
        )
        raise DataError(message) from None


def _spoken(text: str, names: dict[str, str]) -> str:
    return re.sub(
        r"(?<![A-Za-z0-9])_(?:y0|yk|y|arm|c|t|wave|[xzw]\d+)(?![A-Za-z0-9])",
        lambda m: names.get(m.group(0), m.group(0)),
        text,
    )


def _covariate_terms(source, model, covariates, prefix):
    """Covariates under safe names (``_x1``, ``_x2``, ...): numbers as they are,
    text as a factor. Any column name works, whatever characters it holds."""
    terms = []
    for k, name in enumerate(covariates, start=1):
        safe = f"{prefix}{k}"
        values = source[name]
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():
            model[safe] = numbers.to_numpy(float)
            terms.append(safe)
        else:
            model[safe] = values.astype(object).to_numpy()
            terms.append(f"C({safe})")
    return model, terms


def _columns(terms: list[str]) -> list[str]:
    return [t[2:-1] if t.startswith("C(") else t for t in terms]


def _check_participant_level(frame: pd.DataFrame, id: str, groups: list[str]) -> None:
    """The participant is the innermost level whenever participants are measured
    more than once; otherwise their repeated measures are taken as independent."""
    repeated = frame.groupby(id).size().max() > 1
    if not repeated:
        return
    if id not in groups:
        raise DataError(
            f"groups {groups} leave out the participant level '{id}', but "
            "participants are measured at several waves: add it last, e.g. "
            f"{[*groups, id]}"
        )
    if groups[-1] != id:
        raise DataError(
            f"groups {groups}: the participant level '{id}' must come last "
            "(groups run from the outermost level in)"
        )
