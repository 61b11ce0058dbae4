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
from ._lmm import fit_lmm

__all__ = ["WaveEffects", "effect_by_wave"]

Method = Literal["lmm", "ancova"]


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
    method : {"lmm", "ancova"}
    df_method : str
        ``"Satterthwaite"`` (mixed model), ``"CR2 Satterthwaite"`` (ANCOVA with
        clusters) or ``"OLS"``.
    baseline : str
        The baseline wave.
    participants : mapping of str to frozenset
        The ids behind each wave's estimate (for the participant flow).
    fits : mapping of str to result
        The one :class:`~cpeval.models.LmmResult` (under every wave) or each
        wave's :class:`~cpeval.models.AncovaResult`. Their terms use safe names,
        whatever the columns are called: ``_y`` (the outcome; ``_y0`` and
        ``_yk`` at baseline and follow-up in ANCOVA), ``_arm``, ``_wK`` (the
        K-th follow-up wave), ``_xJ`` and ``_zJ`` (the J-th covariate and time
        covariate); grouping columns keep their names.
    extra : pandas.DataFrame
        ANCOVA: Hedges' g and partial eta squared by wave (empty for the mixed
        model).
    level : float
        Default confidence level of :meth:`conf_int`.

    Notes
    -----
    ``conf_int(level)`` is ``params -/+ t se`` on each wave's df. ``cov`` is the
    covariance of the wave effects: from the one mixed model, or, for ANCOVA
    (a separate model per wave), the variances with the covariances between
    waves unknown (NaN).
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

    _term_label = "wave"

    @property
    def _title(self) -> str:  # type: ignore[override]
        model = "mixed model (REML)" if self.method == "lmm" else "ANCOVA"
        return f"Difference from {self.baseline} by wave, {model}"

    @property
    def cov_type(self) -> str:
        """``"model-based"`` (mixed model), or the ANCOVA's ``"CR2"``/``"OLS"``."""
        if self.method == "lmm":
            return "model-based"
        return next(iter(self.fits.values())).cov_type if self.fits else ""

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance of the wave effects (NaN between separately fitted waves)."""
        waves = self.params.index
        if self.method == "lmm" and self.fits:
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
    effect_sizes: bool = True,
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
    method : {"lmm", "ancova"}
        ``"lmm"``: one mixed model of every wave, ``outcome ~ wave + group +
        wave:group + covariates`` with wave a factor; the effect at wave ``k``
        is the ``wave_k:group`` coefficient, the difference between arms in
        change from baseline to ``k``. ``"ancova"``: at each follow-up wave,
        ``outcome_k ~ outcome_baseline + group + covariates`` among those seen at
        both (complete cases).
    groups : sequence of str, optional
        ``lmm``: random-intercept levels, outermost first, ending with ``id``
        (e.g. ``["trust", "team", "id"]``); default ``[id]``. A list without the
        participant level, or with it anywhere but last, is refused when
        participants have repeated measures.
    cluster : str, optional
        ``ancova``: CR2 cluster-robust errors by this column, with Satterthwaite
        df (as clubSandwich).
    covariates : sequence of str
        Baseline covariates: each participant's value at the baseline wave is
        used at every wave. Text columns enter as factors.
    time_covariates : sequence of str
        ``lmm``: covariates that also interact with wave (e.g. a propensity
        score, so that it adjusts change as well as level); ``ancova`` treats
        them as ordinary covariates.
    effect_sizes : bool
        ``ancova``: also Hedges' g and partial eta squared (with their
        intervals) in ``extra``; off saves time in simulations.
    level : float
        Confidence level.

    Returns
    -------
    WaveEffects

    Raises
    ------
    DataError
        A column is absent, the arm or the wave cannot be read, an arm has no
        outcome at a wave, or the model cannot be fitted.

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
    frame, waves = _prepared(data, outcome, group, wave, id, treated, covariates)
    frame = frame.assign(**{c: _baseline_values(frame, id, c) for c in covariates})
    _check_arms_seen(frame, outcome, waves, _arm_names(frame[group], treated))
    if method == "lmm":
        return _lmm(
            frame, outcome, waves, id, groups, covariates, time_covariates, level
        )
    if method == "ancova":
        terms = list(dict.fromkeys([*covariates, *time_covariates]))
        return _ancova(frame, outcome, waves, id, cluster, terms, effect_sizes, level)
    raise DataError(f"method must be 'lmm' or 'ancova'; got {method!r}")


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


def _label(w) -> str:
    return str(int(w)) if isinstance(w, float) and w.is_integer() else str(w)


# ------------------------------------------------------------------ the models


def _lmm(frame, outcome, waves, id, groups, covariates, time_covariates, level):
    groups = list(groups) if groups is not None else [id]
    _check_participant_level(frame, id, groups)
    follow = waves[1:]
    model = pd.DataFrame({"_y": pd.to_numeric(frame[outcome], errors="coerce")})
    model["_arm"] = frame[_ARM]
    indicators = []
    for k, w in enumerate(follow, start=1):
        model[f"_w{k}"] = (frame[_WAVE] == w).astype(float)
        indicators.append(f"_w{k}")
    model, terms = _covariate_terms(frame, model, covariates, "_x")
    model, changes = _covariate_terms(frame, model, time_covariates, "_z")
    clash = [g for g in groups if g in model.columns]
    if clash:
        raise DataError(f"rename the grouping columns {clash}: cpeval uses the names")
    for g in groups:
        model[g] = frame[g]
    model["_id"] = frame[id]
    parts = [*indicators, "_arm", *(f"{w}:_arm" for w in indicators), *terms]
    parts += [*changes, *(f"{w}:{z}" for w in indicators for z in changes)]
    used = model.dropna(subset=["_y", *_columns(terms + changes), *groups])
    names = _names(outcome, covariates, time_covariates, follow)
    with _named_errors(names):
        fit = fit_lmm(used, "_y ~ " + " + ".join(parts), groups, level=level)
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
        df_method="Satterthwaite" if fit.df_method == "satterthwaite" else "Wald",
        baseline=_label(waves[0]),
        participants=dict.fromkeys(index, ids),
        fits=dict.fromkeys(index, fit),
        level=level,
    )


def _ancova(frame, outcome, waves, id, cluster, covariates, effect_sizes, level):
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
        r"(?<![A-Za-z0-9])_(?:y0|yk|y|arm|c|[xzw]\d+)(?![A-Za-z0-9])",
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
