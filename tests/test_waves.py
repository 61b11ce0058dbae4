"""effect_by_wave: the arm difference at every follow-up wave, against R."""

from __future__ import annotations

import pandas as pd
import pytest

import cpeval
from cpeval.models import effect_by_wave, fit_lmm
from tests.conftest import ROOT

HERE = ROOT / "tests" / "reference" / "waves"
TOLERANCE = {  # (estimate, se, df) relative tolerances: README.md in that folder
    "lmm": (1e-4, 1e-3, 1e-2),
    "ancova": (1e-6, 1e-6, 1e-6),
}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(HERE / "three_waves.csv")


@pytest.fixture(scope="module")
def reference():
    ref = pd.read_csv(HERE / "waves_results.csv")
    ref["wave"] = ref["wave"].astype(str)
    return ref.set_index(["analysis", "wave", "quantity"])["value"].sort_index()


@pytest.mark.parametrize("method", ["lmm", "ancova"])
def test_three_waves_equal_r(data, reference, method):
    fit = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        method=method,
        groups=["team", "id"],
        cluster="team",
        covariates=["age", "sex"],
    )
    rtol_b, rtol_se, rtol_df = TOLERANCE[method]
    assert list(fit.params.index) == ["6", "12"]
    for wave in ("6", "12"):
        r = reference.loc[(method, wave)]
        assert fit.params[wave] == pytest.approx(r["estimate"], rel=rtol_b)
        assert fit.se[wave] == pytest.approx(r["se"], rel=rtol_se)
        assert fit.df[wave] == pytest.approx(r["df"], rel=rtol_df)
        assert fit.pvalues[wave] == pytest.approx(r["p"], rel=1e-2)
        assert fit.n_obs[wave] == r["n_obs"]
    frame = fit.to_frame(level=0.9)
    assert (frame["ci_low"] < frame["params"]).all()
    assert "Difference from 0 by wave" in str(fit.summary())


def test_labels_and_codes_give_the_same_answer(data):
    """The arm as text with treated=, and as 0/1: one answer; the intervention
    sorting first changes nothing."""
    coded = data.assign(arm=(data["arm"] == "CP").astype(int))
    a = effect_by_wave(
        data, outcome="y", group="arm", treated="CP", wave="month", id="id"
    )
    b = effect_by_wave(coded, outcome="y", group="arm", wave="month", id="id")
    pd.testing.assert_series_equal(a.params, b.params)
    assert a.params["12"] > 3  # the designed effect is 5 at 12 months


def test_two_waves_are_the_time_by_arm_model(data):
    """With two waves the indicator model is lme4's time * group model."""
    two = data[data["month"] < 12].assign(cp=(data["arm"] == "CP").astype(int))
    fit = effect_by_wave(
        two, outcome="y", group="cp", wave="month", id="id", groups=["team", "id"]
    )
    direct = fit_lmm(
        two.assign(time=(two["month"] == 6).astype(int)),
        "y ~ time * cp",
        ["team", "id"],
    )
    assert fit.params["6"] == pytest.approx(direct.params["time:cp"], rel=1e-8)
    assert fit.df["6"] == pytest.approx(direct.df["time:cp"], rel=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treated": None}, r"holds 'CP', 'usual care', not 0/1"),
        ({"treated": "Connecting People"}, "has no value 'Connecting People'"),
        ({"groups": ["team"]}, "leave out the participant level 'id'"),
        ({"groups": ["id", "team"]}, "must come last"),
        ({"wave": "when"}, "holds text, so its order is unknown"),
        ({"outcome": "nothing"}, r"no columns \['nothing'\]"),
    ],
)
def test_what_cannot_be_answered_is_a_data_error(data, change, message):
    frame = data.assign(when=data["month"].map({0: "base", 6: "six", 12: "twelve"}))
    options = {
        "outcome": "y",
        "group": "arm",
        "treated": "CP",
        "wave": "month",
        "id": "id",
        "groups": ["team", "id"],
    }
    with pytest.raises(cpeval.DataError, match=message):
        effect_by_wave(frame, **{**options, **change})


def test_an_arm_lost_at_a_wave_is_a_data_error(data):
    lost = data[~((data["arm"] == "usual care") & (data["month"] == 12))]
    with pytest.raises(
        cpeval.DataError, match=r"comparator arm \('usual care'\) has 'y' at wave '12'"
    ):
        effect_by_wave(
            lost, outcome="y", group="arm", treated="CP", wave="month", id="id"
        )


def test_any_column_name_works(data):
    """Names that are not Python identifiers (R's dots, a keyword) are data, never
    code."""
    odd = data.rename(columns={"y": "bdi.pre", "age": "yield", "sex": "sex (self)"})
    fit = effect_by_wave(
        odd,
        outcome="bdi.pre",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        covariates=["yield", "sex (self)"],
        method="ancova",
    )
    plain = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        covariates=["age", "sex"],
        method="ancova",
    )
    pd.testing.assert_series_equal(fit.params, plain.params)


# ------------------------------------------------- issue 15: the mixed model's options


def _arm01(data):
    return data.assign(cp=(data["arm"] == "CP").astype(float))


def test_wave_effects_are_the_explicit_lme4_model(data):
    """wave_effects=["team"] is fit_lmm with (1 | team:wave) added, the team
    named within its nesting; three waves, so two effects."""
    fit = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        groups=["team", "id"],
        covariates=["age"],
        wave_effects=["team"],
    )
    d = _arm01(data)
    direct = fit_lmm(
        d,
        "y ~ C(month) * cp + age + (1 | team) + (1 | team:month) + (1 | team:id)",
    )
    for wave, term in (("6", "C(month)[T.6]:cp"), ("12", "C(month)[T.12]:cp")):
        assert fit.params[wave] == pytest.approx(direct.params[term], rel=1e-8)
        assert fit.se[wave] == pytest.approx(direct.se[term], rel=1e-6)
        assert fit.df[wave] == pytest.approx(direct.df[term], rel=1e-6)
    assert fit.df_method == "Satterthwaite"
    assert set(fit.fits["6"].vcomp) == {"team:_wave", "team:id", "team", "Residual"}


def test_slopes_and_kenward_roger(data):
    """slopes=["team"]: a correlated random intercept and slope over wave steps
    (0, 1, 2) per team; Kenward-Roger df passed through."""
    fit = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        groups=["team", "id"],
        slopes=["team"],
        df_method="kenward-roger",
    )
    d = _arm01(data).assign(step=lambda f: f["month"].map({0: 0.0, 6: 1.0, 12: 2.0}))
    direct = fit_lmm(
        d,
        "y ~ C(month) * cp + (1 + step | team) + (1 | team:id)",
        df_method="kenward-roger",
    )
    term = "C(month)[T.12]:cp"
    assert fit.params["12"] == pytest.approx(direct.params[term], rel=1e-6)
    assert fit.se["12"] == pytest.approx(direct.se[term], rel=1e-5)
    assert fit.df["12"] == pytest.approx(direct.df[term], rel=1e-4)
    assert fit.df_method == "Kenward-Roger"


def test_kenward_roger_on_the_nested_fast_path(data):
    nested = effect_by_wave(
        data,
        outcome="y",
        group="arm",
        treated="CP",
        wave="month",
        id="id",
        groups=["team", "id"],
        df_method="kenward-roger",
    )
    direct = fit_lmm(
        _arm01(data), "y ~ C(month) * cp", ["team", "id"], df_method="kenward-roger"
    )
    assert nested.df["6"] == pytest.approx(direct.df["C(month)[T.6]:cp"], rel=1e-10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"wave_effects": ["site"]}, "not among the random-effect levels"),
        ({"wave_effects": ["id"]}, "participant-by-wave effect is the residual"),
        ({"wave_effects": "team"}, "list of levels"),
        ({"df_method": "wald"}, "df_method must be one of"),
        ({"method": "ancova", "wave_effects": ["team"]}, "option of the mixed model"),
        ({"method": "gee", "n_boot": 999}, "option of the wild bootstrap"),
        ({"method": "wild-bootstrap-ancova"}, "needs cluster="),
        ({"method": "bayes"}, "method must be one of"),
    ],
)
def test_options_are_checked_before_fitting(data, options, message):
    kwargs = {"groups": ["team", "id"], **options}
    with pytest.raises(cpeval.DataError, match=message):
        effect_by_wave(
            data,
            outcome="y",
            group="arm",
            treated="CP",
            wave="month",
            id="id",
            **kwargs,
        )


def test_slopes_need_three_waves(data):
    two = data[data["month"] < 12]
    with pytest.raises(cpeval.DataError, match="three or more waves"):
        effect_by_wave(
            two,
            outcome="y",
            group="arm",
            treated="CP",
            wave="month",
            id="id",
            groups=["team", "id"],
            slopes=["team"],
        )


def test_gee_and_wild_bootstrap_are_the_direct_fits(data):
    from cpeval.models import fit_gee, wild_bootstrap_ancova, wild_bootstrap_prepost

    kw = {
        "outcome": "y",
        "group": "arm",
        "treated": "CP",
        "wave": "month",
        "id": "id",
        "cluster": "team",
    }
    gee = effect_by_wave(data, method="gee", cov_type="mancl-derouen", **kw)
    d = _arm01(data)
    direct = fit_gee(
        d,
        outcome="y",
        terms=["C(month) * cp"],
        cluster="team",
        cov_type="mancl-derouen",
    )
    term = "C(month)[T.12]:cp"
    assert gee.params["12"] == pytest.approx(direct.params[term], rel=1e-6)
    assert gee.se["12"] == pytest.approx(direct.se[term], rel=1e-5)
    assert "mancl-derouen" in gee.df_method

    wild = effect_by_wave(
        data, method="wild-bootstrap-ancova", weights="rademacher", n_boot=99999, **kw
    )
    wide = d[d["month"] == 0].set_index("id")[["cp", "team", "y"]]
    wide = wide.join(d[d["month"] == 6].set_index("id")["y"].rename("y6"))
    by_hand = wild_bootstrap_ancova(
        wide.dropna(),
        outcome="y6",
        baseline="y",
        group="cp",
        cluster="team",
        weights="rademacher",
        n_boot=99999,
    )
    assert wild.params["6"] == pytest.approx(by_hand.params["cp"], rel=1e-10)
    assert wild.pvalues["6"] == pytest.approx(by_hand.pvalues["cp"], abs=1e-12)
    ci = wild.conf_int().loc["6"]
    assert ci["ci_low"] == pytest.approx(by_hand.conf_int()["ci_low"].iloc[0])
    assert wild.df_method.startswith("wild cluster bootstrap (rademacher")

    prepost = effect_by_wave(
        data, method="wild-bootstrap-prepost", weights="webb", seed=7, **kw
    )
    direct = wild_bootstrap_prepost(
        d,
        outcome="y",
        time="month",
        group="cp",
        cluster="team",
        id="id",
        baseline_wave=0,
        followup_wave=12,
        seed=7,
    )
    assert prepost.params["12"] == pytest.approx(direct.params.iloc[0], rel=1e-10)
    assert prepost.pvalues["12"] == pytest.approx(direct.pvalues.iloc[0], abs=1e-12)
    assert prepost.n_obs["12"] == direct.n_obs
