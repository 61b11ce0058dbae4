"""The results base (cpeval._results): summary, repr, HTML, tidy frames, intervals
at call time and the deprecated aliases, for every result type."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cpeval
from cpeval._results import ESTIMATE_COLUMNS, Summary, format_number
from tests.conftest import ROOT

REF = ROOT / "tests" / "reference"
HOSTILE = "<script>alert(1)</script>"


# ------------------------------------------------------------------ results


def _lmm():
    from cpeval.models import fit_lmm

    d = pd.read_csv(REF / "lmm" / "unbalanced.csv")
    return fit_lmm(d, "y ~ time * group", ["team", "id"])


def _lmm_wald():
    from cpeval.models import fit_lmm

    d = pd.read_csv(REF / "lmm" / "unbalanced.csv")
    return fit_lmm(d, "y ~ time * group", ["team", "id"], df_method="wald")


def _ancova():
    from cpeval.models import ancova

    d = pd.read_csv(REF / "ancova" / "pilot_like.csv")
    return ancova(
        d,
        outcome="followup",
        baseline="baseline",
        group="arm",
        covariates=["age"],
        cluster="cluster",
    )


def _waves(method="ancova"):
    from cpeval.models import effect_by_wave

    d = pd.read_csv(REF / "waves" / "three_waves.csv")
    return effect_by_wave(
        d,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        method=method,
        groups=["team", "id"],
        cluster="team",
    )


def _did():
    from cpeval.models import did

    d = pd.read_csv(REF / "lmm" / "unbalanced.csv")
    return did(
        d, outcome="y", entity="id", time="time", treated="group", post="time",
        cluster="team",
    )  # fmt: skip


def _pool():
    from cpeval.missing import pool

    q = pd.DataFrame({"arm": [1.0, 1.2, 0.9, 1.1], "age": [0.1, 0.12, 0.08, 0.11]})
    u = pd.DataFrame({"arm": [0.04, 0.05, 0.04, 0.05], "age": [1e-3] * 4})
    return pool(q, u, df_complete=98)


def _ps():
    from cpeval.adjust import propensity_score

    d = pd.read_csv(REF / "weighting" / "observational.csv")
    return propensity_score(d, "treated ~ age + severity + female")


def _aipw():
    from cpeval.adjust import aipw

    d = pd.read_csv(REF / "weighting" / "observational.csv")
    return aipw(d, outcome="y", ps=_ps(), covariates=["age", "severity", "female"])


def _weighted():
    from cpeval.adjust import ipw_weights, weighted_effect

    d = pd.read_csv(REF / "weighting" / "observational.csv")
    w = ipw_weights(_ps()).weights
    return weighted_effect(
        d, outcome="y", treated="treated", weights=w, covariates=["age"]
    )


def _trial():
    return pd.read_csv(REF / "cea" / "trial.csv")


def _adjusted():
    from cpeval.economics import adjusted_incremental

    return adjusted_incremental(
        _trial(),
        cost="cost_shifted",
        effect="qaly",
        group="arm",
        cost_covariates=["age"],
        effect_covariates=["u0"],
    )


def _bootstrap():
    from cpeval.economics import bootstrap_cea

    return bootstrap_cea(
        _trial(), cost="cost_shifted", effect="qaly", group="arm", n_boot=200, seed=4
    )


def _pooled_cea():
    from cpeval.economics import PooledCEA

    pooled = pd.DataFrame(
        {
            "estimate": [250.0, 0.03],
            "within": [9.0e4, 1.0e-4],
            "between": [1.0e4, 2.0e-5],
            "total": [1.1e5, 1.2e-4],
        },
        index=["delta_cost", "delta_effect"],
    )
    return PooledCEA(pooled, 0.5, _bootstrap(), "impute then bootstrap", 5)


def _lmm_slopes():
    from cpeval.models import fit_lmm

    d = pd.read_csv(REF / "mixed" / "sleepstudy.csv")
    return fit_lmm(d, "Reaction ~ Days + (Days | Subject)", df_method="kenward-roger")


def _glmm():
    from cpeval.models import fit_glmm

    d = pd.read_csv(REF / "mixed" / "cbpp.csv", dtype={"herd": str, "period": str})
    return fit_glmm(
        d, "incidence ~ period + (1 | herd)", family="binomial", trials="size"
    )


def _gee():
    from cpeval.models import fit_gee

    d = pd.read_csv(REF / "gee" / "ohio.csv")
    return fit_gee(
        d, outcome="resp", terms=["age", "smoke"], cluster="id", family="binomial"
    )


def _wild():
    from cpeval.models import wild_bootstrap_prepost

    d = pd.read_csv(REF / "lmm" / "unbalanced.csv")
    return wild_bootstrap_prepost(
        d,
        outcome="y",
        time="time",
        group="group",
        cluster="team",
        id="id",
        weights="rademacher",
        n_boot=99999,
    )


ESTIMATES = {
    "LmmResult": _lmm,
    "LmmResult (slopes, KR)": _lmm_slopes,
    "GlmmResult": _glmm,
    "GeeResult": _gee,
    "WildBootstrap (pre-post)": _wild,
    "LmmResult (Wald)": _lmm_wald,
    "AncovaResult": _ancova,
    "WaveEffects (ANCOVA)": _waves,
    "WaveEffects (LMM)": lambda: _waves("lmm"),
    "DidResult": _did,
    "PooledEstimate": _pool,
    "AipwResult": _aipw,
    "WeightedEffect": _weighted,
    "AdjustedIncremental": _adjusted,
    "BootstrapCEA": _bootstrap,
    "PooledCEA": _pooled_cea,
}
PERCENTILE = {"BootstrapCEA"}  # intervals are quantiles of the replicates
INVERTED = {"WildBootstrap (pre-post)"}  # intervals and p from the bootstrap test


def _effect_size():
    from cpeval.models import partial_eta_squared

    return partial_eta_squared(4.0, 1, 100)


def _weights():
    from cpeval.adjust import ipw_weights

    return ipw_weights(_ps())


def _matching():
    from cpeval.adjust import match_nearest

    return match_nearest(_ps())


def _incremental(arm="CP"):
    from cpeval.economics import incremental

    d = _trial()
    d["arm"] = np.where(d["arm"] == 1, arm, "usual care")
    return incremental(d, cost="cost_shifted", effect="qaly", group="arm", treated=arm)


def _power():
    from cpeval.power import PowerResult, TrialDesign

    replicates = pd.DataFrame(
        {
            "estimate": [0.31, 0.12, 0.45, 0.28],
            "se": [0.1, 0.1, 0.1, 0.1],
            "df": [10.0] * 4,
            "p_val": [0.01, 0.3, 0.001, 0.04],
            "error": ["", "", "", ""],
        }
    )
    return PowerResult(TrialDesign(clusters=8, cluster_size=10), "ancova", 0.05,
                       None, replicates)  # fmt: skip


def _reliability():
    from cpeval.scales._reliability import Reliability

    scales = pd.DataFrame(
        {
            "scale": ["total"],
            "n": [120],
            "items": [7],
            "alpha": [0.8312],
            "alpha_ci_low": [0.7811],
            "alpha_ci_high": [0.8733],
            "omega_total": [0.8401],
        }
    )
    items = pd.DataFrame({"scale": ["total"] * 2, "item": ["a", "b"],
                          "r_drop": [0.61, 0.55]})  # fmt: skip
    return Reliability(scales, items, 0.95)


DESCRIPTIVE = {
    "EffectSize": _effect_size,
    "PropensityScore": _ps,
    "Weights": _weights,
    "Matching": _matching,
    "Incremental": _incremental,
    "PowerResult": _power,
    "Reliability": _reliability,
}

_CACHE: dict[str, object] = {}


def result(name: str):
    """Each result is made once per session (some take a second)."""
    if name not in _CACHE:
        _CACHE[name] = {**ESTIMATES, **DESCRIPTIVE}[name]()
    return _CACHE[name]


# ------------------------------------------------------------------ every result


@pytest.mark.parametrize("name", [*ESTIMATES, *DESCRIPTIVE])
def test_repr_is_short_and_names_the_class(name):
    res = result(name)
    text = repr(res)
    assert len(text) < 300 and "\n" not in text
    assert text.startswith(type(res).__name__ + "(")
    assert "array(" not in text and "DataFrame" not in text


@pytest.mark.parametrize("name", [*ESTIMATES, *DESCRIPTIVE])
def test_summary_is_a_text_table(name):
    res = result(name)
    summary = res.summary()
    assert isinstance(summary, Summary)
    text = str(summary)
    lines = text.splitlines()
    assert lines[0].startswith("====") and lines[1].strip() == summary.title
    assert repr(summary) == text  # a notebook cell shows the table, not a dump
    frame = res.to_frame()
    for column in frame.columns:  # every number of the tidy frame is printed
        if column in ("level",) or not pd.api.types.is_float_dtype(frame[column]):
            continue
        for value in frame[column].dropna():
            assert format_number(value) in text, (column, value)


@pytest.mark.parametrize("name", [*ESTIMATES, *DESCRIPTIVE])
def test_repr_html_is_a_table(name):
    html = result(name)._repr_html_()
    assert html.startswith('<div class="cpeval-result">') and "<table" in html
    assert "<script" not in html


# ------------------------------------------------------------------ estimates


@pytest.mark.parametrize("name", list(ESTIMATES))
def test_vocabulary_is_the_same_everywhere(name):
    res = result(name)
    for attribute in ("params", "se", "df", "pvalues", "cov", "n_obs", "cov_type"):
        assert hasattr(res, attribute), attribute
    frame = res.to_frame()
    assert list(frame.columns[1:8]) == ESTIMATE_COLUMNS
    assert frame.columns[0] in ("term", "wave", "quantity")
    params = np.atleast_1d(np.asarray(res.params, float))
    se = np.atleast_1d(np.asarray(res.se, float))
    np.testing.assert_allclose(frame["params"], params, rtol=1e-12)
    np.testing.assert_allclose(frame["se"], se, rtol=1e-12)
    np.testing.assert_allclose(frame["statistic"], params / se, rtol=1e-12)
    cov = res.cov
    assert cov.shape == (len(params), len(params))
    np.testing.assert_allclose(np.diag(cov.to_numpy()), se**2, rtol=1e-8)


@pytest.mark.parametrize("name", list(ESTIMATES))
def test_conf_int_at_call_time_equals_hand_computation(name):
    res = result(name)
    wide, narrow = res.conf_int(0.95), res.conf_int(level=0.9)
    assert list(narrow.columns) == ["ci_low", "ci_high"]
    assert (narrow["ci_low"] > wide["ci_low"]).all()
    assert (narrow["ci_high"] < wide["ci_high"]).all()
    if name in INVERTED:  # test_wild checks the inversion against the test
        frame = res.to_frame(level=0.9)
        np.testing.assert_allclose(frame["ci_low"], narrow["ci_low"], rtol=1e-12)
        return
    if name in PERCENTILE:
        draws = res.replicates[["delta_cost", "delta_effect"]]
        expected_low = draws.quantile(0.05).to_numpy()
        expected_high = draws.quantile(0.95).to_numpy()
    else:
        params = np.atleast_1d(np.asarray(res.params, float))
        se = np.atleast_1d(np.asarray(res.se, float))
        df = np.broadcast_to(np.asarray(res.df, float), params.shape)
        q = np.where(
            np.isinf(df), stats.norm.ppf(0.95), stats.t.ppf(0.95, np.minimum(df, 1e300))
        )
        expected_low, expected_high = params - q * se, params + q * se
    np.testing.assert_allclose(narrow["ci_low"], expected_low, rtol=1e-10)
    np.testing.assert_allclose(narrow["ci_high"], expected_high, rtol=1e-10)
    frame = res.to_frame(level=0.9)
    np.testing.assert_allclose(frame["ci_low"], expected_low, rtol=1e-10)


@pytest.mark.parametrize(
    "name", [n for n in ESTIMATES if n not in PERCENTILE | INVERTED]
)
def test_pvalues_are_two_sided_on_df(name):
    res = result(name)
    params = np.atleast_1d(np.asarray(res.params, float))
    se = np.atleast_1d(np.asarray(res.se, float))
    df = np.broadcast_to(np.asarray(res.df, float), params.shape)
    z = np.abs(params / se)
    expected = np.where(np.isinf(df), 2 * stats.norm.sf(z), 2 * stats.t.sf(z, df))
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(res.pvalues, float)), expected, rtol=1e-8
    )


def test_a_bad_level_is_refused():
    with pytest.raises(cpeval.DataError, match="between 0 and 1"):
        result("AncovaResult").conf_int(95)


def test_summary_prints_the_numbers_of_a_mixed_model():
    fit = result("LmmResult")
    text = str(fit.summary())
    assert "Linear mixed model (REML)" in text and "satterthwaite" in text
    assert f"n_obs: {fit.n_obs}" in text and "groups: team (12), id (157)" in text
    row = next(line for line in text.splitlines() if line.startswith("time:group"))
    ci = fit.conf_int().loc["time:group"]
    for value in (
        fit.params["time:group"],
        fit.se["time:group"],
        fit.df["time:group"],
        fit.pvalues["time:group"],
        ci["ci_low"],
        ci["ci_high"],
    ):
        assert format_number(value) in row
    assert "[0.025" in text and "0.975]" in text


def test_bootstrap_and_rubin_say_which_interval_they_give():
    assert "percentile" in str(result("BootstrapCEA").summary())
    assert "Barnard-Rubin" in str(result("PooledEstimate").summary())
    assert "z" in result("AipwResult").summary().tables[0][1].columns


# ------------------------------------------------------------------ hostile labels


def _relabel(res, old: str, new: str):
    """The same result with term ``old`` renamed ``new`` in every field."""
    changes = {}
    for field in dataclasses.fields(res):
        value = getattr(res, field.name)
        if isinstance(value, pd.Series) and old in value.index:
            changes[field.name] = value.rename(index={old: new})
        elif isinstance(value, pd.DataFrame) and old in value.index:
            changes[field.name] = value.rename(index={old: new}, columns={old: new})
        elif isinstance(value, tuple) and old in value:
            changes[field.name] = tuple(new if v == old else v for v in value)
    assert changes, f"no field of {type(res).__name__} holds {old!r}"
    return dataclasses.replace(res, **changes)


HOSTILE_MAKERS = {
    "LmmResult": lambda: _relabel(result("LmmResult"), "group", HOSTILE),
    "AncovaResult": lambda: _relabel(result("AncovaResult"), "arm", HOSTILE),
    "WaveEffects": lambda: _relabel(result("WaveEffects (ANCOVA)"), "6", HOSTILE),
    "DidResult": lambda: dataclasses.replace(result("DidResult"), cov_type=HOSTILE),
    "PooledEstimate": lambda: _relabel(result("PooledEstimate"), "arm", HOSTILE),
    "WeightedEffect": lambda: _relabel(result("WeightedEffect"), "treated", HOSTILE),
    "AdjustedIncremental": lambda: dataclasses.replace(
        result("AdjustedIncremental"), method=HOSTILE
    ),
    "PooledCEA": lambda: dataclasses.replace(result("PooledCEA"), order=HOSTILE),
    "PropensityScore": lambda: _relabel(result("PropensityScore"), "age", HOSTILE),
    "Incremental": lambda: _incremental(HOSTILE),
    "Matching": lambda: dataclasses.replace(
        result("Matching"),
        pairs=result("Matching").pairs.assign(treated=HOSTILE),
    ),
    "Reliability": lambda: dataclasses.replace(
        result("Reliability"), scales=result("Reliability").scales.assign(scale=HOSTILE)
    ),
    "PowerResult": lambda: dataclasses.replace(result("PowerResult"), model=HOSTILE),
    "Weights": lambda: dataclasses.replace(result("Weights"), estimand=HOSTILE),
}
# AipwResult, BootstrapCEA and EffectSize print no text from the data or the
# caller (their labels are fixed): test_repr_html_is_a_table covers them.


@pytest.mark.parametrize("name", list(HOSTILE_MAKERS))
def test_html_escapes_a_hostile_label(name):
    res = HOSTILE_MAKERS[name]()
    html = res._repr_html_()
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE in str(res.summary())  # the text keeps it as written
    assert "<script" not in res.summary().as_html()


# ------------------------------------------------------------------ deprecations

ALIASES = [
    ("LmmResult", "fe_params", "params"),
    ("LmmResult", "bse", "se"),
    ("LmmResult", "cov_fe", "cov"),
    ("AncovaResult", "bse", "se"),
    ("AncovaResult", "vcov", "cov"),
    ("AncovaResult", "n", "n_obs"),
    ("DidResult", "estimate", "params"),
    ("DidResult", "p_val", "pvalues"),
    ("PooledEstimate", "estimate", "params"),
    ("AipwResult", "estimate", "params"),
    ("AipwResult", "p_val", "pvalues"),
    ("AipwResult", "n", "n_obs"),
    ("WeightedEffect", "bse", "se"),
    ("WeightedEffect", "n", "n_obs"),
]


@pytest.mark.parametrize(("name", "old", "new"), ALIASES)
def test_old_names_warn_and_equal_the_new_ones(name, old, new):
    res = result(name)
    with pytest.warns(DeprecationWarning, match=rf"\.{old} is deprecated; use {new}"):
        value = getattr(res, old)
    expected = getattr(res, new)
    if isinstance(expected, pd.Series | pd.DataFrame):
        assert value.equals(expected)
    else:
        np.testing.assert_array_equal(value, expected)


@pytest.mark.parametrize("name", ["LmmResult", "AncovaResult"])
def test_tidy_warns_and_keeps_the_old_columns(name):
    res = result(name)
    with pytest.warns(DeprecationWarning, match="the alias goes in the next release"):
        old = res.tidy()
    new = res.to_frame()
    assert list(old.columns[:6]) == [
        "term",
        "estimate",
        "se",
        "df",
        "statistic",
        "p_val",
    ]
    np.testing.assert_allclose(old["estimate"], new["params"])
    np.testing.assert_allclose(old["p_val"], new["pvalues"])


@pytest.mark.parametrize("name", list(ESTIMATES))
def test_the_new_vocabulary_does_not_warn(name):
    res = result(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for attribute in ("params", "se", "df", "pvalues", "cov", "n_obs", "cov_type"):
            getattr(res, attribute)
        res.to_frame()
        res.conf_int()
        str(res.summary())
        res._repr_html_()
        repr(res)
