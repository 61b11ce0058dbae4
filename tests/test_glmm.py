"""Generalised linear mixed models against lme4 1.1-31's ``glmer``.

Reference values: ``tests/reference/mixed`` (``mixed.R``; data, versions and
tolerances in its README): cbpp (binomial logit by Laplace and by 10-node
quadrature, probit) and grouseticks (Poisson with two random terms, 5-node
quadrature). Tolerances, from issue 15: fixed effects rtol 1e-4; theta and the
variance components rtol 1e-3; standard errors rtol 1e-3; the log-likelihood
never below lme4's by more than 1e-6 (for quadrature lme4's ``logLik`` leaves
out the saturated model's log-likelihood: compare ``loglik_full``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from cpeval import DataError
from cpeval.models import GlmmResult, fit_glmm

REF = Path(__file__).parent / "reference" / "mixed"
RESULTS = pd.read_csv(REF / "mixed_results.csv", keep_default_na=False)
CBPP = pd.read_csv(REF / "cbpp.csv", dtype={"period": str})
TICKS = pd.read_csv(REF / "grouseticks.csv", dtype={"YEAR": str})
CBPP_FORMULA = "incidence ~ period + (1 | herd)"

# the reference formulas: cbind(incidence, size - incidence) is trials="size";
# R's scale(HEIGHT) is the column height_c (README)
GLMMS = {
    "cbpp_laplace": (CBPP, CBPP_FORMULA, {"trials": "size"}),
    "cbpp_agq10": (CBPP, CBPP_FORMULA, {"trials": "size", "n_agq": 10}),
    "cbpp_probit": (CBPP, CBPP_FORMULA, {"trials": "size", "link": "probit"}),
    "ticks_poisson": (
        TICKS,
        "TICKS ~ YEAR + height_c + (1 | BROOD) + (1 | LOCATION)",
        {"family": "poisson"},
    ),
    "ticks_agq5": (
        TICKS,
        "TICKS ~ YEAR + height_c + (1 | BROOD)",
        {"family": "poisson", "n_agq": 5},
    ),
}


def _reference(model: str, quantity: str) -> pd.Series:
    rows = RESULTS[(RESULTS["model"] == model) & (RESULTS["quantity"] == quantity)]
    return pd.Series(rows["value"].astype(float).to_numpy(), index=rows["term"])


def _scalar(model: str, quantity: str) -> float:
    return float(_reference(model, quantity).iloc[0])


def _patsy_name(term: str) -> str:
    """R's term names as patsy writes them."""
    if term == "(Intercept)":
        return "Intercept"
    if term == "scale(HEIGHT)":
        return "height_c"
    return re.sub(r"^(period|YEAR)(\w+)$", r"\1[T.\2]", term)


@pytest.fixture(scope="module")
def fits() -> dict[str, GlmmResult]:
    return {m: fit_glmm(d, f, **kw) for m, (d, f, kw) in GLMMS.items()}


@pytest.mark.parametrize("model", list(GLMMS))
def test_fixed_effects_and_errors(fits, model):
    fit = fits[model]
    z = fit.params / fit.se
    for quantity, ours_all, rtol in (
        ("estimate", fit.params, 1e-4),
        ("se", fit.se, 1e-3),
        ("z", z, 1e-3),
    ):
        ref = _reference(model, quantity)
        ours = ours_all[[_patsy_name(t) for t in ref.index]]
        np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=rtol)
    # Wald z: infinite df, normal p-values (a p of 3e-15 moves by 1e-3 relative
    # when z moves by 2e-5, so p is checked through z)
    assert np.all(np.isinf(fit.df))
    np.testing.assert_allclose(fit.pvalues, 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)


@pytest.mark.parametrize("model", list(GLMMS))
def test_covariance_is_lme4s_vcov(fits, model):
    """vcov(): the beta block of twice the inverse Hessian in (theta, beta)."""
    fit = fits[model]
    ref = _reference(model, "vcov_fixed")
    for key, value in ref.items():
        row, col = (_patsy_name(t) for t in key.split("|"))
        assert fit.cov.loc[row, col] == pytest.approx(value, rel=1e-3, abs=1e-6)
    assert fit.cov_source == "Hessian"
    full = fit.cov_params.loc[list(fit.params.index), list(fit.params.index)]
    np.testing.assert_allclose(full.to_numpy(), fit.cov.to_numpy())


@pytest.mark.parametrize("model", list(GLMMS))
def test_variance_parameters(fits, model):
    fit = fits[model]
    theta = _reference(model, "theta")
    ours = pd.Series(fit.theta, index=fit.theta_names)[theta.index]
    np.testing.assert_allclose(ours.to_numpy(), theta.to_numpy(), rtol=1e-3)
    varcorr = fit.varcorr.fillna("NA")
    keys = varcorr["grp"] + " " + varcorr["var1"] + " " + varcorr["var2"]
    for quantity in ("vcov", "sdcor"):
        ref = _reference(model, quantity)
        mine = pd.Series(varcorr[quantity].to_numpy(), index=keys.to_numpy())
        np.testing.assert_allclose(
            mine[ref.index].to_numpy(float), ref.to_numpy(), rtol=1e-3
        )


@pytest.mark.parametrize("model", list(GLMMS))
def test_loglik_never_worse(fits, model):
    fit = fits[model]
    ref = _scalar(model, "loglik_full")
    assert fit.llf >= ref - 1e-6
    assert fit.llf == pytest.approx(ref, abs=1e-3)


@pytest.mark.parametrize("model", list(GLMMS))
def test_aic_and_deviance(fits, model):
    """AIC from the full log-likelihood: lme4's for Laplace; for quadrature
    lme4's AIC less twice the saturated log-likelihood. deviance() is the sum
    of squared deviance residuals at the conditional modes."""
    fit = fits[model]
    shift = 0.0 if fit.n_agq == 1 else -2 * _scalar(model, "loglik_saturated")
    assert fit.aic == pytest.approx(_scalar(model, "aic") + shift, abs=2e-3)
    assert fit.bic == pytest.approx(_scalar(model, "bic") + shift, abs=2e-3)
    assert fit.deviance == pytest.approx(_scalar(model, "deviance"), rel=1e-5)


@pytest.mark.parametrize("model", list(GLMMS))
def test_counts_and_diagnostics(fits, model):
    fit = fits[model]
    assert fit.n_obs == int(_scalar(model, "nobs"))
    assert fit.n_dropped == 0
    assert fit.n_agq == int(_scalar(model, "nAGQ"))
    assert fit.singular == bool(_scalar(model, "singular"))
    assert fit.converged
    assert len(fit.messages) == int(_scalar(model, "n_messages"))
    groups = _reference(model, "ngrps")
    assert {k: fit.n_groups[k] for k in groups.index} == groups.astype(int).to_dict()


# lme4 1.1-31 on sleepstudy.csv with high = Reaction > 300 (78 of 180):
#   glmer(high ~ Days + (Days | Subject), s, binomial)
#   glmer(high ~ Days + (Days || Subject), s, binomial)
# fixef, sqrt(diag(vcov)), getME(, "theta"), logLik; no convergence messages
SLOPES = {
    "high ~ Days + (Days | Subject)": (
        [-3.51841888865957264, 0.66618884241778553],
        [0.90687878826559609, 0.16178146542861707],
        [2.03452228286153902, -0.19263834672278379, 0.30075463622331611],
        -85.568927549215999,
    ),
    "high ~ Days + (Days || Subject)": (
        [-3.18821608742994567, 0.60816784563536852],
        [0.69040132764782636, 0.12383233256403596],
        [1.47627272113824426, 0.24694057598737912],
        -86.015462530517468,
    ),
}


@pytest.mark.parametrize("formula", list(SLOPES))
def test_random_slopes_against_lme4(formula):
    """Random slopes (a 2 x 2 block of Lambda, correlated or not)."""
    s = pd.read_csv(REF / "sleepstudy.csv", dtype={"Subject": str})
    s["high"] = s["Reaction"] > 300  # True/False is read as 1/0
    fit = fit_glmm(s, formula)
    beta, se, theta, loglik = SLOPES[formula]
    np.testing.assert_allclose(fit.params, beta, rtol=1e-4)
    np.testing.assert_allclose(fit.se, se, rtol=1e-3)
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-3)
    assert fit.llf >= loglik - 1e-6
    assert fit.converged and not fit.singular


def _near_boundary(amplitude: float) -> pd.DataFrame:
    """200 deterministic 0/1 rows in 10 groups, with group effects of size
    ``amplitude``; R builds the same (``i <- 0:199``; ``g = i %/% 20``,
    ``x = 1.5 sin(i + 1)``, ``u = ((i + 1) 0.6180339887498949) %% 1``,
    ``y = u < plogis(-0.3 + 0.6 x + amplitude cos(3 g))``)."""
    i = np.arange(200)
    data = pd.DataFrame({"g": i // 20, "x": 1.5 * np.sin(i + 1)})
    u = ((i + 1) * 0.6180339887498949) % 1
    eta = -0.3 + 0.6 * data["x"] + amplitude * np.cos(3 * data["g"])
    return data.assign(y=(u < special.expit(eta)).astype(int))


# lme4 1.1-31, glmer(y ~ x + (1 | g), d, binomial) on _near_boundary(amplitude):
# fixef, sqrt(diag(vcov)), theta, logLik, isSingular
BOUNDARY = {
    0.0: (
        [-0.33555619507511797, 0.62520769433994339],
        [0.15133076865286346, 0.14589848978888481],
        0.0,
        -126.41135717900542,
        True,
    ),
    0.5: (
        [-0.33835082073141254, 0.63555997665369257],
        [0.16091485270451050, 0.14747218657789771],
        0.16509440397537883,
        -126.18375248814493,
        False,
    ),
}


@pytest.mark.parametrize("amplitude", list(BOUNDARY))
def test_fits_at_and_near_the_boundary(amplitude):
    """A singular fit (theta = 0, as lme4), and a small SD that a gradient
    search can miss: the deviance is even in theta, so theta = 0 is always
    stationary; a long first step lands there (the restart finds 0.165)."""
    fit = fit_glmm(_near_boundary(amplitude), "y ~ x + (1 | g)")
    beta, se, theta, loglik, singular = BOUNDARY[amplitude]
    np.testing.assert_allclose(fit.params, beta, rtol=1e-4)
    np.testing.assert_allclose(fit.se, se, rtol=1e-3)
    assert fit.theta[0] == pytest.approx(theta, rel=1e-3, abs=1e-4)
    assert fit.llf >= loglik - 1e-6
    assert fit.singular == singular
    assert fit.converged
    assert any("singular" in m for m in fit.messages) == singular


def _bernoulli(counts: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 row per animal of the cbpp counts."""
    size = counts["size"].to_numpy()
    cases = counts["incidence"].to_numpy()
    rows = counts.loc[counts.index.repeat(size), ["herd", "period"]]
    y = np.concatenate(
        [np.r_[np.ones(k), np.zeros(m - k)] for k, m in zip(cases, size, strict=True)]
    )
    return rows.assign(y=y.astype(int)).reset_index(drop=True)


def test_binary_rows_equal_binomial_counts(fits):
    """0/1 rows give the counts' fit; the log-likelihoods differ by the
    binomial coefficients, sum log C(size, incidence)."""
    binary = fit_glmm(_bernoulli(CBPP), "y ~ period + (1 | herd)")
    counts = fits["cbpp_laplace"]
    np.testing.assert_allclose(binary.params, counts.params, rtol=1e-6)
    np.testing.assert_allclose(binary.se, counts.se, rtol=1e-5)
    np.testing.assert_allclose(binary.theta, counts.theta, rtol=1e-6)
    choose = special.gammaln(CBPP["size"] + 1) - special.gammaln(CBPP["incidence"] + 1)
    choose -= special.gammaln(CBPP["size"] - CBPP["incidence"] + 1)
    assert binary.llf == pytest.approx(counts.llf - choose.sum(), abs=1e-6)
    assert binary.n_obs == CBPP["size"].sum()


def test_incomplete_rows_are_counted_not_hidden(fits):
    data = CBPP.copy()
    data.loc[[3, 10], "incidence"] = np.nan
    data.loc[20, "herd"] = np.nan
    data.loc[30, "size"] = np.nan
    fit = fit_glmm(data, CBPP_FORMULA, trials="size")
    assert fit.n_dropped == 4
    assert fit.n_obs == len(CBPP) - 4
    full = fit_glmm(CBPP.drop(index=[3, 10, 20, 30]), CBPP_FORMULA, trials="size")
    np.testing.assert_allclose(fit.params, full.params, rtol=1e-10)


def test_observation_level_random_effect_is_allowed():
    """glmer allows as many random effects as rows (allow.n = TRUE): the
    usual Poisson overdispersion term."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"team": np.repeat(np.arange(8), 6), "obs": np.arange(48)})
    rate = np.exp(1 + 0.3 * rng.standard_normal(8)[data["team"]])
    data["y"] = rng.poisson(rate * np.exp(0.4 * rng.standard_normal(48)))
    fit = fit_glmm(data, "y ~ 1 + (1 | obs) + (1 | team)", family="poisson")
    assert fit.n_groups == {"obs": 48, "team": 8}
    assert np.isfinite(fit.llf)


# ------------------------------------------------------------------ ratios


def test_odds_and_rate_ratios(fits):
    fit = fits["cbpp_laplace"]
    table = fit.odds_ratios(level=0.9).set_index("term")
    limits = fit.conf_int(level=0.9)
    np.testing.assert_allclose(table["odds_ratio"], np.exp(fit.params))
    np.testing.assert_allclose(table["ci_low"], np.exp(limits["ci_low"]))
    np.testing.assert_allclose(table["ci_high"], np.exp(limits["ci_high"]))
    z = stats.norm.ppf(0.95)
    se = fit.se["period[T.2]"]
    assert table.loc["period[T.2]", "ci_high"] == pytest.approx(
        np.exp(fit.params["period[T.2]"] + z * se)
    )
    rates = fits["ticks_poisson"].rate_ratios()
    assert list(rates.columns) == ["term", "rate_ratio", "ci_low", "ci_high", "pvalues"]
    with pytest.raises(DataError, match="logit"):
        fits["cbpp_probit"].odds_ratios()
    with pytest.raises(DataError, match="logit"):
        fits["ticks_poisson"].odds_ratios()
    with pytest.raises(DataError, match="Poisson"):
        fit.rate_ratios()


def test_summary_and_repr(fits):
    text = str(fits["cbpp_agq10"].summary())
    assert "adaptive quadrature, 10 nodes" in text
    assert "herd (15)" in text
    assert repr(fits["cbpp_laplace"]).startswith("GlmmResult(Intercept: -1.3983")


# ------------------------------------------------------------------ risk difference


def test_marginal_risk_difference_by_hand_for_probit(fits):
    """Probit: a row's population-averaged risk is Phi(eta / sqrt(1 + theta^2))
    exactly. With period the only covariate every row has the same eta, so the
    risks and the delta-method SE follow by hand (analytic gradient)."""
    fit = fits["cbpp_probit"]
    rd = fit.risk_difference("period", treated="2", control="1")
    b0, b2 = fit.params["Intercept"], fit.params["period[T.2]"]
    theta = fit.theta[0]
    c = np.sqrt(1 + theta**2)
    risk0, risk1 = stats.norm.cdf(b0 / c), stats.norm.cdf((b0 + b2) / c)
    np.testing.assert_allclose(
        rd["estimate"], [risk0, risk1, risk1 - risk0], rtol=1e-12
    )
    names = list(fit.cov_params.index)  # theta, Intercept, period[T.2], ...

    def gradient(eta: float, with_b2: bool) -> np.ndarray:
        g = np.zeros(len(names))
        density = stats.norm.pdf(eta / c)
        g[names.index("herd.(Intercept)")] = -density * eta * theta / c**3
        g[names.index("Intercept")] = density / c
        if with_b2:
            g[names.index("period[T.2]")] = density / c
        return g

    g = gradient(b0 + b2, True) - gradient(b0, False)
    se = np.sqrt(g @ fit.cov_params.to_numpy() @ g)
    assert rd.loc["difference", "se"] == pytest.approx(se, rel=1e-6)
    z = stats.norm.ppf(0.975)
    diff = risk1 - risk0
    assert rd.loc["difference", "ci_low"] == pytest.approx(diff - z * se, rel=1e-6)
    assert rd.loc["difference", "pvalues"] == pytest.approx(
        2 * stats.norm.sf(abs(diff) / se), rel=1e-5
    )
    assert set(rd["delta_method_over"]) == {"theta, beta"}


def test_marginal_logit_risk_is_the_integral(fits):
    fit = fits["cbpp_laplace"]
    rd = fit.risk_difference("period", treated="4", control="1")
    b0, b4 = fit.params["Intercept"], fit.params["period[T.4]"]
    sd = fit.theta[0]

    def risk(eta: float) -> float:
        value, _ = integrate.quad(
            lambda t: special.expit(eta + sd * t) * stats.norm.pdf(t), -40, 40
        )
        return value

    expected = [risk(b0), risk(b0 + b4), risk(b0 + b4) - risk(b0)]
    np.testing.assert_allclose(rd["estimate"], expected, rtol=1e-9)
    # the conditional risks (random effects 0) are closer to 0.5 ... and
    # do not depend on theta
    conditional = fit.risk_difference(
        "period", treated="4", control="1", kind="conditional"
    )
    np.testing.assert_allclose(
        conditional["estimate"].iloc[:2], special.expit([b0, b0 + b4]), rtol=1e-12
    )
    assert conditional["estimate"].iloc[0] < rd["estimate"].iloc[0] < 0.5
    assert set(conditional["delta_method_over"]) == {"beta"}


def test_risk_difference_averages_over_the_rows_given(fits):
    """Standardisation: each row's risk, weighted by its trials; a subset of
    rows or other data can be given."""
    fit = fits["cbpp_laplace"]
    whole = fit.risk_difference("period", treated="3", control="1")
    subset = fit.risk_difference(
        "period", treated="3", control="1", data=CBPP.iloc[:10]
    )
    np.testing.assert_allclose(subset["estimate"], whole["estimate"], rtol=1e-12)
    with pytest.raises(DataError, match="not a column"):
        fit.risk_difference("arm")
    with pytest.raises(DataError, match="kind"):
        fit.risk_difference("period", treated="2", control="1", kind="average")
    with pytest.raises(DataError, match="binomial"):
        fits["ticks_poisson"].risk_difference("YEAR", treated="96", control="95")
    with pytest.raises(DataError, match="trials"):
        fit.risk_difference(
            "period", treated="2", control="1", data=CBPP.drop(columns="size")
        )


# ------------------------------------------------------------------ bad input


SMALL = pd.DataFrame(
    {
        "y": [0, 1, 0, 1, 1, 0, 0, 1],
        "n": [3, 3, 3, 3, 3, 3, 3, 3],
        "x": [0.1, 0.4, 0.2, 0.9, 0.5, 0.3, 0.8, 0.7],
        "g": ["a", "a", "b", "b", "c", "c", "d", "d"],
        "h": ["p", "q", "p", "q", "p", "q", "p", "q"],
    },
    index=[f"r{i}" for i in range(8)],
)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "gaussian"}, r"family must be one of \['binomial', 'poisson'\]"),
        ({"link": "cloglog"}, r"must be one of \['logit', 'probit'\]"),
        ({"family": "poisson", "link": "logit"}, r"must be one of \['log'\]"),
        ({"n_agq": 0}, "n_agq must be a whole number from 1"),
        ({"n_agq": 26}, "to 25"),
        ({"n_agq": 2.5}, "n_agq"),
        ({"n_agq": True}, "n_agq"),
        ({"level": 1.5}, "level"),
        ({"family": "poisson", "trials": "n"}, "trials= gives binomial sizes"),
        ({"trials": "size"}, "trials names a column the data do not have"),
    ],
)
def test_options_are_checked_before_fitting(kwargs, match):
    with pytest.raises(DataError, match=match):
        fit_glmm(SMALL, "y ~ x + (1 | g)", **kwargs)


def test_quadrature_needs_one_scalar_term():
    with pytest.raises(DataError, match="single scalar random-effect term"):
        fit_glmm(SMALL, "y ~ x + (1 | g) + (1 | h)", n_agq=3)
    with pytest.raises(DataError, match="2 effect"):
        fit_glmm(SMALL, "y ~ 1 + (x | g)", n_agq=3)


@pytest.mark.parametrize(
    ("column", "row", "value", "kwargs", "match"),
    [
        ("y", "r2", 2, {}, r"outcome 'y', row 'r2': value '2' must be 0 or 1"),
        ("y", "r5", 0.5, {}, r"row 'r5': value '0.5' must be 0 or 1"),
        ("y", "r1", "yes", {}, r"outcome 'y', row 'r1': value 'yes' is not a number"),
        ("y", "r3", 4, {"trials": "n"}, r"row 'r3': value '4' must be a whole number"),
        ("y", "r0", -1, {"family": "poisson"}, r"row 'r0': value '-1' must be a count"),
        (
            "y",
            "r4",
            1.5,
            {"family": "poisson"},
            r"row 'r4': value '1.5' must be a count",
        ),
        (
            "n",
            "r6",
            0,
            {"trials": "n"},
            r"trials 'n', row 'r6': value '0' is not a whole",
        ),
        ("n", "r7", 2.5, {"trials": "n"}, r"trials 'n', row 'r7': value '2.5'"),
    ],
)
def test_outcomes_are_validated(column, row, value, kwargs, match):
    data = SMALL.astype({column: object})
    data.loc[row, column] = value
    with pytest.raises(DataError, match=match):
        fit_glmm(data, "y ~ x + (1 | g)", **kwargs)


def test_model_errors():
    with pytest.raises(DataError, match="no random effects"):
        fit_glmm(SMALL, "y ~ x")
    with pytest.raises(DataError, match="'z'"):
        fit_glmm(SMALL, "y ~ z + (1 | g)")
    with pytest.raises(DataError, match="groups by a column"):
        fit_glmm(SMALL, "y ~ x + (1 | k)")
    with pytest.raises(DataError, match="constant or a combination"):
        fit_glmm(SMALL.assign(c=1.0), "y ~ x + c + (1 | g)")


@pytest.mark.parametrize(
    ("family", "message"), [("binomial", "no odds"), ("poisson", "rate of 0")]
)
def test_an_outcome_with_one_value_is_refused(family, message):
    d = pd.read_csv(REF / "sleepstudy.csv").assign(y=0)
    with pytest.raises(DataError, match=message):
        fit_glmm(d, "y ~ Days + (1 | Subject)", family=family)
