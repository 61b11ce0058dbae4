"""GEE (issue 15, item 3): estimates, robust SEs and the exchangeable and AR(1)
alpha equal R geepack's geeglm (tests/reference/gee); the Mancl-DeRouen
covariance equals its formula by hand; the Kauermann-Carroll covariance equals
R geesmv's GEE.var.kc where that is an inverse square root (Gaussian,
independence) and the principal inverse square root by hand elsewhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, stats

from cpeval import DataError
from cpeval.models import fit_gee
from tests.conftest import ROOT

REF = ROOT / "tests" / "reference" / "gee"
OHIO = ("ohio", "resp", ["age", "smoke"], "id", "binomial")
RESPIRATORY = (
    "respiratory",
    "outcome",
    ["treat", "baseline", "age", "visit"],
    "id",
    "binomial",
)
DIETOX = ("dietox", "Weight", ["Time", "C(Cu)"], "Pig", "gaussian")
#: (reference data, correlation): (csv, outcome, terms, cluster, family, time)
CASES = {
    ("ohio", "independence"): (*OHIO, None),
    ("ohio", "exchangeable"): (*OHIO, None),
    ("respiratory", "exchangeable"): (*RESPIRATORY, None),
    ("dietox", "exchangeable"): (*DIETOX, None),
    ("ohio_poisson", "exchangeable"): (
        "ohio",
        "resp",
        ["age", "smoke"],
        "id",
        "poisson",
        None,
    ),
    ("ohio", "ar1"): (*OHIO, "age"),
    ("respiratory", "ar1"): (*RESPIRATORY, "visit"),
    ("dietox", "ar1"): (*DIETOX, "Time"),
    ("dietox_gaps", "ar1"): (*DIETOX, "Time"),
}
KC_CASES = {"ohio_kc": OHIO, "respiratory_kc": RESPIRATORY, "dietox_kc": DIETOX}
TOLERANCE = 1e-5  # relative: estimates, SEs and alpha (README)


def frame_for(name: str, csv: str) -> pd.DataFrame:
    frame = pd.read_csv(REF / f"{csv}.csv")
    if name == "dietox_gaps":  # as gee.R: week 5 for all, week 8 for odd pigs
        odd = frame["Pig"] % 2 == 1
        frame = frame[(frame["Time"] != 5) & ~(odd & (frame["Time"] == 8))]
    return frame


def reference(name: str, correlation: str, index) -> pd.DataFrame:
    ref = pd.read_csv(REF / "gee_results.csv")
    ref = ref[(ref["data"] == name) & (ref["correlation"] == correlation)].copy()
    ref["term"] = (
        ref["term"]
        .str.replace("(Intercept)", "Intercept", regex=False)
        .str.replace(r"factor\(Cu\)(\w+)", r"C(Cu)[T.\1]", regex=True)
    )
    return ref.set_index("term").loc[index]


@pytest.mark.parametrize(("data", "correlation"), list(CASES))
def test_equals_geepack(data, correlation):
    csv, outcome, terms, cluster, family, time = CASES[(data, correlation)]
    frame = frame_for(data, csv)
    fit = fit_gee(
        frame,
        outcome=outcome,
        terms=terms,
        cluster=cluster,
        family=family,
        correlation=correlation,
        time=time,
    )
    ref = reference(data, correlation, fit.params.index)
    np.testing.assert_allclose(fit.params, ref["estimate"], rtol=TOLERANCE)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=TOLERANCE)
    if correlation == "independence":
        assert fit.alpha is None
    else:
        assert fit.alpha == pytest.approx(ref["alpha"].iloc[0], rel=TOLERANCE)
    assert fit.n_clusters == frame[cluster].nunique()
    assert (fit.df == fit.n_clusters - len(fit.params)).all()


def test_ar1_ignores_row_order_and_counts_steps_not_units():
    frame = pd.read_csv(REF / "ohio.csv")
    base = {"outcome": "resp", "terms": ["age", "smoke"], "cluster": "id"}
    sorted_fit = fit_gee(
        frame, **base, family="binomial", correlation="ar1", time="age"
    )
    shuffled = frame.sample(frac=1, random_state=1)
    fit = fit_gee(shuffled, **base, family="binomial", correlation="ar1", time="age")
    np.testing.assert_allclose(fit.params, sorted_fit.params, rtol=1e-8)
    assert fit.alpha == pytest.approx(sorted_fit.alpha, rel=1e-8)
    # ages -2..1 as months 0, 6, 12, 36: the same four ordered steps
    months = frame.assign(month=frame["age"].map({-2: 0, -1: 6, 0: 12, 1: 36}))
    fit = fit_gee(months, **base, family="binomial", correlation="ar1", time="month")
    assert fit.alpha == pytest.approx(sorted_fit.alpha, rel=1e-8)


def test_ar1_refuses_ambiguous_time():
    frame = pd.read_csv(REF / "ohio.csv")
    base = {"outcome": "resp", "terms": ["age"], "cluster": "id"}
    with pytest.raises(DataError, match="needs time="):
        fit_gee(frame, **base, correlation="ar1")
    with pytest.raises(DataError, match="for correlation='ar1' only"):
        fit_gee(frame, **base, correlation="exchangeable", time="age")
    with pytest.raises(DataError, match=r"is -1 twice in cluster 0"):
        fit_gee(frame.replace({"age": {-2: -1}}), **base, correlation="ar1", time="age")
    with pytest.raises(DataError, match="do not have"):
        fit_gee(frame, **base, correlation="ar1", time="wave")
    with pytest.raises(DataError, match="is not a number"):
        text = frame.assign(age=frame["age"].astype(str).replace("0", "zero"))
        fit_gee(text, **base, correlation="ar1", time="age")
    # times 1 and 3 in each cluster, 2 only alone: no pair one step apart
    gapped = pd.DataFrame(
        {
            "y": [1.0, 2.0, 0.5, 1.5, 3.0, 2.5, 1.0, 0.0],
            "x": [0.1, 0.4, 0.3, 0.9, 0.2, 0.7, 0.5, 0.8],
            "g": [1, 1, 2, 2, 3, 3, 4, 5],
            "t": [1, 3, 1, 3, 1, 3, 2, 2],
        }
    )
    with pytest.raises(DataError, match="one time step apart"):
        fit_gee(
            gapped, outcome="y", terms=["x"], cluster="g", correlation="ar1", time="t"
        )


def mancl_derouen_data():
    rng = np.random.default_rng(3)
    sizes = rng.integers(2, 7, 12)
    team = np.repeat(np.arange(12), sizes)
    x = rng.normal(size=team.size)
    y = 1 + 0.5 * x + rng.normal(size=12)[team] + rng.normal(size=team.size)
    return pd.DataFrame({"y": y, "x": x, "team": team})


def test_mancl_derouen_by_hand():
    frame = mancl_derouen_data()
    team, x, y = frame["team"].to_numpy(), frame["x"].to_numpy(), frame["y"].to_numpy()
    fit = fit_gee(
        frame,
        outcome="y",
        terms=["x"],
        cluster="team",
        correlation="independence",
        cov_type="mancl-derouen",
    )
    X = np.column_stack([np.ones_like(x), x])
    bread = np.linalg.inv(X.T @ X)
    e = y - X @ (bread @ X.T @ y)
    meat = np.zeros((2, 2))
    for g in range(12):
        rows = team == g
        Xg = X[rows]
        adjusted = np.linalg.solve(np.eye(rows.sum()) - Xg @ bread @ Xg.T, e[rows])
        meat += np.outer(Xg.T @ adjusted, Xg.T @ adjusted)
    np.testing.assert_allclose(fit.cov.to_numpy(), bread @ meat @ bread, rtol=1e-8)
    robust = fit_gee(
        frame, outcome="y", terms=["x"], cluster="team", correlation="independence"
    )
    assert (fit.se > robust.se).all()  # the correction widens the errors


def kc_by_hand(frame, fit, *, outcome, cluster, time=None, geesmv=False):
    """Kauermann-Carroll from its definition for a canonical-link GEE: D_i =
    diag(v) X_i, V_i = diag(sqrt v) R_i diag(sqrt v); (I - H_ii)^(-1/2) the
    principal root (scipy), or geesmv's Q diag(lambda^-1/2) Q' from the
    unit-length eigenvectors."""
    X = np.column_stack(
        [np.ones(len(frame))]
        + [frame[name].to_numpy(float) for name in fit.params.index[1:]]
    )
    eta = X @ fit.params.to_numpy()
    family = fit.family
    mu = {"binomial": 1 / (1 + np.exp(-eta)), "gaussian": eta}[family]
    v = {"binomial": mu * (1 - mu), "gaussian": np.ones_like(mu)}[family]
    alpha = fit.alpha or 0.0
    clusters = []
    for rows in frame.groupby(cluster).indices.values():
        if time is None:  # exchangeable (independence: alpha 0)
            R = np.full((len(rows), len(rows)), alpha)
        else:  # AR(1) on times that are consecutive integers
            t = frame[time].to_numpy(float)[rows]
            R = alpha ** np.abs(np.subtract.outer(t, t))
        np.fill_diagonal(R, 1.0)
        sd = np.sqrt(v[rows])
        V = R * np.outer(sd, sd)
        D = v[rows, None] * X[rows]
        clusters.append(
            (D, np.linalg.inv(V), frame[outcome].to_numpy()[rows] - mu[rows])
        )
    B = sum(D.T @ Vinv @ D for D, Vinv, _ in clusters)
    Binv = np.linalg.inv(B)
    meat = 0
    for D, Vinv, r in clusters:
        A = np.eye(len(r)) - D @ Binv @ D.T @ Vinv
        if geesmv:
            values, Q = np.linalg.eig(A)
            root = (Q.real / np.sqrt(values.real)) @ Q.real.T
        else:
            root = linalg.fractional_matrix_power(A, -0.5).real
            np.testing.assert_allclose(root @ root @ A, np.eye(len(r)), atol=1e-10)
        u = D.T @ Vinv @ root @ r
        meat = meat + np.outer(u, u)
    return Binv @ meat @ Binv


@pytest.mark.parametrize("data", list(KC_CASES))
def test_kauermann_carroll_against_geesmv(data):
    csv, outcome, terms, cluster, family = KC_CASES[data]
    frame = pd.read_csv(REF / f"{csv}.csv").sort_values(cluster, kind="stable")
    options = {"outcome": outcome, "terms": terms, "cluster": cluster, "family": family}
    fit = fit_gee(
        frame, **options, correlation="independence", cov_type="kauermann-carroll"
    )
    ref = reference(data, "independence", fit.params.index)
    np.testing.assert_allclose(fit.params, ref["estimate"], rtol=TOLERANCE)
    if family == "gaussian":  # I - H_ii symmetric: geesmv's is the inverse root
        np.testing.assert_allclose(fit.se, ref["se"], rtol=TOLERANCE)
        return
    # binomial: geesmv's numbers are its eigenvector product, not an inverse root
    frame = frame.reset_index(drop=True)
    geesmv = kc_by_hand(frame, fit, outcome=outcome, cluster=cluster, geesmv=True)
    np.testing.assert_allclose(np.sqrt(np.diag(geesmv)), ref["se"], rtol=TOLERANCE)
    np.testing.assert_allclose(
        fit.cov.to_numpy(),
        kc_by_hand(frame, fit, outcome=outcome, cluster=cluster),
        rtol=1e-8,
    )
    robust = fit_gee(frame, **options, correlation="independence")
    md = fit_gee(frame, **options, correlation="independence", cov_type="mancl-derouen")
    assert (robust.se < fit.se).all() and (fit.se < md.se).all()
    if data == "ohio_kc":  # geesmv's "correction" shrinks the intercept's variance
        assert ref["se"].iloc[0] < robust.se.iloc[0]


@pytest.mark.parametrize(
    ("correlation", "time"), [("exchangeable", None), ("ar1", "age")]
)
def test_kauermann_carroll_by_hand(correlation, time):
    frame = pd.read_csv(REF / "ohio.csv")
    frame = frame[frame["id"] % 12 == 0].reset_index(drop=True)  # 45 children
    options = {"outcome": "resp", "terms": ["age", "smoke"], "cluster": "id"}
    fit = fit_gee(
        frame,
        **options,
        family="binomial",
        correlation=correlation,
        time=time,
        cov_type="kauermann-carroll",
    )
    expected = kc_by_hand(frame, fit, outcome="resp", cluster="id", time=time)
    np.testing.assert_allclose(fit.cov.to_numpy(), expected, rtol=1e-8)
    robust = fit_gee(
        frame, **options, family="binomial", correlation=correlation, time=time
    )
    np.testing.assert_allclose(fit.params, robust.params, rtol=1e-12)
    assert (fit.se > robust.se).all()
    assert fit.cov_type == "kauermann-carroll"


def test_t_inference_on_clusters_minus_parameters():
    frame = pd.read_csv(REF / "dietox.csv")
    frame = frame[frame["Pig"].isin(sorted(frame["Pig"].unique())[:12])]  # 12 pigs
    fit = fit_gee(frame, outcome="Weight", terms=["Time"], cluster="Pig")
    assert fit.df.iloc[0] == 10
    ci = fit.conf_int(level=0.9)
    q = stats.t.ppf(0.95, 10)
    assert ci.loc["Time", "ci_low"] == pytest.approx(
        fit.params["Time"] - q * fit.se["Time"]
    )
    assert "Generalised estimating equations" in str(fit.summary())


def test_bad_options_are_named():
    frame = pd.read_csv(REF / "ohio.csv")
    base = {"outcome": "resp", "terms": ["age"], "cluster": "id"}
    with pytest.raises(DataError, match="correlation must be one of"):
        fit_gee(frame, **base, correlation="toeplitz")
    with pytest.raises(DataError, match="family must be one of"):
        fit_gee(frame, **base, family="gamma")
    with pytest.raises(
        DataError, match=r"cov_type must be one of \[.*'kauermann-carroll'\]"
    ):
        fit_gee(frame, **base, cov_type="kc")
    with pytest.raises(DataError, match="do not have"):
        fit_gee(frame, **{**base, "cluster": "school"})
    with pytest.raises(DataError, match="clusters for"):
        fit_gee(frame[frame["id"] < 2], **base)
    with pytest.raises(DataError, match="must hold 0 and 1 for a binomial"):
        fit_gee(frame.assign(resp=frame["resp"] * 2), **base, family="binomial")
    with pytest.raises(DataError, match="must be a count"):
        fit_gee(frame.assign(resp=frame["resp"] - 1), **base, family="poisson")
    with pytest.raises(DataError, match="is not a number"):
        fit_gee(
            frame.assign(resp=frame["resp"].astype(str).replace("1", "yes")), **base
        )
    with pytest.raises(DataError, match="did not converge"):
        separated = frame[frame["id"] < 30].assign(resp=lambda d: (d.age > 0) * 1)
        fit_gee(separated, **base, family="binomial")


def test_iteration_limit_is_an_error(monkeypatch):
    """statsmodels only warns when the iterations run out: a DataError here."""
    import cpeval.models._gee as gee

    monkeypatch.setattr(gee, "MAX_ITERATIONS", 2)
    d = pd.read_csv(REF / "ohio.csv")
    with pytest.raises(DataError, match="did not converge in 2 iterations"):
        fit_gee(
            d, outcome="resp", terms=["age", "smoke"], cluster="id", family="binomial"
        )


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ({"resp": 1}, {}, "takes one value"),
        ({"resp": 1.5}, {"family": "poisson"}, "must be a count"),
        ({}, {"terms": "age + smoke"}, "must be a list"),
    ],
)
def test_gee_bad_input_named(change, kwargs, message):
    d = pd.read_csv(REF / "ohio.csv").assign(**change)
    options = {"terms": ["age", "smoke"], "family": "binomial", **kwargs}
    with pytest.raises(DataError, match=message):
        fit_gee(d, outcome="resp", cluster="id", **options)
