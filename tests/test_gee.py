"""GEE (issue 15, item 3, in part): estimates, robust SEs and the exchangeable
alpha equal R geepack's geeglm (tests/reference/gee); the Mancl-DeRouen
covariance equals its formula by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cpeval import DataError
from cpeval.models import fit_gee
from tests.conftest import ROOT

REF = ROOT / "tests" / "reference" / "gee"
CASES = {
    ("ohio", "independence"): ("resp", ["age", "smoke"], "id", "binomial"),
    ("ohio", "exchangeable"): ("resp", ["age", "smoke"], "id", "binomial"),
    ("respiratory", "exchangeable"): (
        "outcome",
        ["treat", "baseline", "age", "visit"],
        "id",
        "binomial",
    ),
    ("dietox", "exchangeable"): ("Weight", ["Time", "C(Cu)"], "Pig", "gaussian"),
    ("ohio_poisson", "exchangeable"): ("resp", ["age", "smoke"], "id", "poisson"),
}
TOLERANCE = 1e-5  # relative: estimates, robust SEs and alpha (README)


@pytest.mark.parametrize(("data", "correlation"), list(CASES))
def test_equals_geepack(data, correlation):
    outcome, terms, cluster, family = CASES[(data, correlation)]
    frame = pd.read_csv(REF / f"{data.removesuffix('_poisson')}.csv")
    fit = fit_gee(
        frame,
        outcome=outcome,
        terms=terms,
        cluster=cluster,
        family=family,
        correlation=correlation,
    )
    ref = pd.read_csv(REF / "gee_results.csv")
    ref = ref[(ref["data"] == data) & (ref["correlation"] == correlation)].copy()
    ref["term"] = (
        ref["term"]
        .str.replace("(Intercept)", "Intercept", regex=False)
        .str.replace(r"factor\(Cu\)(\w+)", r"C(Cu)[T.\1]", regex=True)
    )
    ref = ref.set_index("term").loc[fit.params.index]
    np.testing.assert_allclose(fit.params, ref["estimate"], rtol=TOLERANCE)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=TOLERANCE)
    if correlation == "exchangeable":
        assert fit.alpha == pytest.approx(ref["alpha"].iloc[0], rel=TOLERANCE)
    else:
        assert fit.alpha is None
    assert fit.n_clusters == frame[cluster].nunique()
    assert (fit.df == fit.n_clusters - len(fit.params)).all()


def test_mancl_derouen_by_hand():
    rng = np.random.default_rng(3)
    sizes = rng.integers(2, 7, 12)
    team = np.repeat(np.arange(12), sizes)
    x = rng.normal(size=team.size)
    y = 1 + 0.5 * x + rng.normal(size=12)[team] + rng.normal(size=team.size)
    frame = pd.DataFrame({"y": y, "x": x, "team": team})
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
        fit_gee(frame, **base, correlation="ar1")
    with pytest.raises(DataError, match="family must be one of"):
        fit_gee(frame, **base, family="gamma")
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
