"""General linear mixed models against lme4 1.1-31, lmerTest and pbkrtest.

Reference values: ``tests/reference/mixed`` (``mixed.R``; data, versions and
tolerances in its README). Tolerances, from issue 15: fixed effects rtol 1e-4;
variance parameters (theta, variances, SDs, correlations) rtol 1e-3 (abs 1e-4
near zero); standard errors rtol 1e-3; logLik within 1e-3 and never below lme4's
by more than 1e-6; df (Satterthwaite, Kenward-Roger) rtol 1e-2.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpeval import DataError
from cpeval.models import fit_lmm

REF = Path(__file__).parent / "reference" / "mixed"
RESULTS = pd.read_csv(REF / "mixed_results.csv", keep_default_na=False)

LMMS = {
    "sleep_corr": ("sleepstudy", "Reaction ~ Days + (Days | Subject)", True),
    "sleep_uncorr": ("sleepstudy", "Reaction ~ Days + (Days || Subject)", True),
    "sleep_corr_ml": ("sleepstudy", "Reaction ~ Days + (Days | Subject)", False),
    "sleep_intercept": ("sleepstudy", "Reaction ~ Days + (1 | Subject)", False),
    "penicillin": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", True),
    "pastes": ("pastes", "strength ~ 1 + (1 | batch/cask)", True),
    "team_wave": (
        "team_wave",
        "y ~ wave * arm + (1 | team) + (1 | team:wave) + (1 | id)",
        True,
    ),
    "kr": ("kr", "y ~ x_cluster + x_ind + (1 | cluster)", True),
}
CATEGORICAL = {"sleepstudy": ["Subject"]}


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(
        REF / f"{name}.csv", dtype={c: str for c in CATEGORICAL.get(name, [])}
    )


def _reference(model: str, quantity: str) -> pd.Series:
    rows = RESULTS[(RESULTS["model"] == model) & (RESULTS["quantity"] == quantity)]
    return pd.Series(rows["value"].astype(float).to_numpy(), index=rows["term"])


def _patsy_name(term: str) -> str:
    return "Intercept" if term == "(Intercept)" else term


@pytest.fixture(scope="module")
def fits():
    out = {}
    for model, (data, formula, reml) in LMMS.items():
        out[model] = fit_lmm(_data(data), formula, reml=reml)
    return out


@pytest.mark.parametrize("model", list(LMMS))
def test_fixed_effects_and_errors(fits, model):
    fit = fits[model]
    for quantity, attribute, rtol in (("estimate", "params", 1e-4), ("se", "se", 1e-3)):
        ref = _reference(model, quantity)
        ours = getattr(fit, attribute)[[_patsy_name(t) for t in ref.index]]
        np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=rtol)


@pytest.mark.parametrize("model", list(LMMS))
def test_variance_parameters(fits, model):
    fit = fits[model]
    theta = _reference(model, "theta")
    ours = pd.Series(fit.theta, index=fit.theta_names)[theta.index]
    np.testing.assert_allclose(ours.to_numpy(), theta.to_numpy(), rtol=1e-3, atol=1e-4)
    varcorr = fit.varcorr.fillna("NA")
    keys = varcorr["grp"] + " " + varcorr["var1"] + " " + varcorr["var2"]
    for quantity in ("vcov", "sdcor"):
        ref = _reference(model, quantity)
        ref = ref[
            ~ref.index.str.contains("|", regex=False)
        ]  # not the fixed-effect vcov
        # lme4 names a second uncorrelated term on one factor "Subject.1"
        ref.index = [re.sub(r"^(\S+)\.\d+ ", r"\1 ", k) for k in ref.index]
        mine = pd.Series(varcorr[quantity].to_numpy(), index=keys.to_numpy())
        np.testing.assert_allclose(
            mine[ref.index].to_numpy(float), ref.to_numpy(), rtol=1e-3, atol=1e-4
        )


@pytest.mark.parametrize("model", list(LMMS))
def test_loglik_never_worse(fits, model):
    fit = fits[model]
    ref = float(_reference(model, "loglik").iloc[0])
    assert fit.llf >= ref - 1e-6
    assert fit.llf == pytest.approx(ref, abs=1e-3)


@pytest.mark.parametrize("model", list(LMMS))
def test_satterthwaite_df(fits, model):
    fit = fits[model]
    ref = _reference(model, "df_satt")
    ours = fit.df[[_patsy_name(t) for t in ref.index]]
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-2)


@pytest.mark.parametrize("model", list(LMMS))
def test_counts_and_singularity(fits, model):
    fit = fits[model]
    assert fit.n_obs == int(_reference(model, "nobs").iloc[0])
    assert fit.singular == bool(_reference(model, "singular").iloc[0])
    assert fit.converged
    groups = _reference(model, "ngrps")
    assert {k: fit.n_groups[k] for k in groups.index} == groups.astype(int).to_dict()


def test_likelihood_ratio_for_random_slopes(fits):
    """lme4's anova(): the random slope improves the ML fit of sleepstudy."""
    chisq = 2 * (fits["sleep_corr_ml"].llf - fits["sleep_intercept"].llf)
    ref = float(_reference("sleep_intercept", "lrt_chisq").iloc[0])
    assert chisq == pytest.approx(ref, rel=1e-4)


def test_nested_intercepts_agree_with_the_fast_engine():
    """(1 | team/id) by the sparse engine equals groups=["team", "id"]."""
    d = pd.read_csv(Path(__file__).parent / "reference" / "lmm" / "unbalanced.csv")
    fast = fit_lmm(d, "y ~ time * group", ["team", "id"])
    general = fit_lmm(d, "y ~ time * group + (1 | team/id)")
    np.testing.assert_allclose(general.params, fast.params, rtol=1e-6)
    np.testing.assert_allclose(general.se, fast.se, rtol=1e-5)
    np.testing.assert_allclose(general.df, fast.df, rtol=1e-4)
    assert general.llf == pytest.approx(fast.llf, abs=1e-8)
    assert general.vcomp["id:team"] == pytest.approx(fast.vcomp["id"], rel=1e-5)
    assert general.vcomp["team"] == pytest.approx(fast.vcomp["team"], rel=1e-5)


def test_vcomp_names_slopes(fits):
    assert list(fits["sleep_corr"].vcomp) == [
        "Subject: (Intercept)",
        "Subject: Days",
        "Residual",
    ]
    assert list(fits["team_wave"].vcomp) == ["id", "team:wave", "team", "Residual"]
    with pytest.raises(DataError, match="random intercepts only"):
        _ = fits["sleep_corr"].icc


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("Reaction ~ Days", "no random effects"),
        (
            "Reaction ~ Days + (Days | Patient)",
            "column the data do not have: 'Patient'",
        ),
        ("Reaction ~ Days + (Days | )", "needs an expression and a group"),
        ("Reaction ~ Days + (Days | Subject", "unclosed"),
        (
            "Reaction ~ Days + (1 | Days:Subject)",
            "level for every row|random effects for",
        ),
        ("Reaction ~ Days - (1 | Subject)", "subtracts a random term"),
        ("Reaction ~ Dayz + (1 | Subject)", "'Dayz'"),
    ],
)
def test_formula_mistakes(formula, message):
    with pytest.raises(DataError, match=message):
        fit_lmm(_data("sleepstudy"), formula)


def test_options_checked_before_fitting():
    d = _data("sleepstudy")
    with pytest.raises(DataError, match="df_method must be one of"):
        fit_lmm(d, "Reaction ~ Days + (1 | Subject)", df_method="KR")
    with pytest.raises(DataError, match="one way"):
        fit_lmm(d, "Reaction ~ Days + (1 | Subject)", ["Subject"])


def test_one_level_refused():
    d = _data("sleepstudy").assign(site="only")
    with pytest.raises(DataError, match="one level"):
        fit_lmm(d, "Reaction ~ Days + (1 | site) + (1 | Subject)")


def test_missing_rows_counted():
    d = _data("sleepstudy")
    d.loc[[0, 5], "Days"] = np.nan
    d.loc[7, "Subject"] = None
    fit = fit_lmm(d, "Reaction ~ 1 + (Days | Subject)")
    assert fit.n_obs == 177
    assert fit.n_dropped == 3


REML_MODELS = [m for m, (_, _, reml) in LMMS.items() if reml]


@pytest.mark.parametrize("model", REML_MODELS)
def test_kenward_roger(model):
    """lmerTest summary(ddf = "Kenward-Roger"): pbkrtest's adjusted SEs and df."""
    data, formula, _ = LMMS[model]
    fit = fit_lmm(_data(data), formula, df_method="kenward-roger")
    for quantity, attribute, rtol in (("se_kr", "se", 1e-3), ("df_kr", "df", 1e-2)):
        ref = _reference(model, quantity)
        ours = getattr(fit, attribute)[[_patsy_name(t) for t in ref.index]]
        np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=rtol)
    row = fit.contrast({_patsy_name(_reference(model, "df_kr").index[-1]): 1.0})
    assert row["df"].iloc[0] == pytest.approx(fit.df.iloc[-1], rel=1e-12)


def test_kenward_roger_nested_engine():
    """groups= (the fast engine) gives the same KR inference as the formula."""
    d = pd.read_csv(Path(__file__).parent / "reference" / "lmm" / "unbalanced.csv")
    fast = fit_lmm(d, "y ~ time * group", ["team", "id"], df_method="kenward-roger")
    general = fit_lmm(d, "y ~ time * group + (1 | team/id)", df_method="kenward-roger")
    np.testing.assert_allclose(fast.se, general.se, rtol=1e-5)
    np.testing.assert_allclose(fast.df, general.df, rtol=1e-4)


def test_kenward_roger_refuses_ml():
    d = _data("sleepstudy")
    with pytest.raises(DataError, match="REML"):
        fit_lmm(
            d, "Reaction ~ Days + (1 | Subject)", reml=False, df_method="kenward-roger"
        )


def test_text_in_the_outcome_named():
    """A text outcome would become indicator columns: refused, naming the row."""
    d = _data("sleepstudy").astype({"Reaction": object})
    d.loc[3, "Reaction"] = "n/a"
    d.loc[1, "Subject"] = None  # a dropped row before it: row labels are the data's
    for groups, formula in (
        (None, "Reaction ~ Days + (1 | Subject)"),
        (["Subject"], "Reaction ~ Days"),
    ):
        with pytest.raises(DataError, match=r"'Reaction', row 3: value 'n/a'"):
            fit_lmm(d, formula, groups)


@pytest.mark.parametrize(
    ("data", "formula"),
    [
        ("team_wave", LMMS["team_wave"][1]),
        ("penicillin", LMMS["penicillin"][1]),
        ("sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"),
    ],
)
def test_schur_engine_equals_sparse_factorisation(data, formula):
    """Eliminating a scalar term first (SchurDesign) gives the sparse
    factorisation's criterion, REML and ML, inside and on the boundary."""
    from patsy import dmatrices

    from cpeval.models._nested import criterion
    from cpeval.models._pls import SchurDesign, SparseDesign, make_design
    from cpeval.models._reterms import build_terms, split_formula

    d = _data(data)
    fixed, bars = split_formula(formula)
    terms = build_terms(d, bars, formula)
    y, x = dmatrices(fixed, d)
    args = (terms, np.asarray(x), np.asarray(y)[:, 0])
    sparse, schur = SparseDesign(*args), make_design(*args)
    assert isinstance(schur, SchurDesign)
    rng = np.random.default_rng(1)
    for theta in (rng.uniform(0.1, 2, len(terms.start)), terms.start * 0):
        for reml in (True, False):
            assert criterion(schur, theta, reml) == pytest.approx(
                criterion(sparse, theta, reml), rel=1e-12
            )


@pytest.mark.parametrize("groups", [None, ["Subject"]])
def test_an_outcome_fitted_exactly_is_refused(groups):
    """A constant outcome, or one computed from the covariates, leaves no
    variance: a DataError, not a LinAlgError or NaN standard errors."""
    d = _data("sleepstudy")
    formula = "Reaction ~ Days" + (" + (Days | Subject)" if groups is None else "")
    for outcome in (1.0, 2 * d["Days"] + 3):
        with pytest.raises(DataError, match="fit the outcome exactly"):
            fit_lmm(d.assign(Reaction=outcome), formula, groups)


@pytest.mark.parametrize("column", ["Reaction", "Days"])
def test_infinite_values_named_with_their_row(column):
    d = _data("sleepstudy")
    d.index = d.index + 100  # the data's own labels are reported
    d[column] = d[column].astype(float)
    d.loc[103, column] = np.inf
    with pytest.raises(DataError, match=rf"'{column}', row 103: value inf"):
        fit_lmm(d, "Reaction ~ 1 + (Days | Subject)")
