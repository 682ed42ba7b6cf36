"""Rubin's rules (deepimpute.pooling) against formulas written out here, and against
statsmodels' MICE combining rules where statsmodels is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression, LogisticRegression

from deepimpute.pooling import fit_pooled, pool

POOLING = Path(__file__).parents[1] / "deepimpute" / "pooling.py"


def _rubin_by_hand(q, u, nu_com):
    """Rubin (1987, ch. 3) and Barnard & Rubin (1999, eq. 3) for one parameter,
    written out term by term with plain loops."""
    m = len(q)
    q_bar = sum(q) / m
    u_bar = sum(u) / m
    b = sum((qi - q_bar) ** 2 for qi in q) / (m - 1)
    t = u_bar + (1 + 1 / m) * b
    r = (1 + 1 / m) * b / u_bar
    lam = (1 + 1 / m) * b / t
    nu_old = (m - 1) * (1 + 1 / r) ** 2  # = (m - 1) / lambda^2
    nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lam)
    nu = 1 / (1 / nu_old + 1 / nu_obs)
    gamma = (r + 2 / (nu + 3)) / (1 + r)
    half = stats.t.ppf(0.975, nu) * t**0.5
    return dict(q=q_bar, u=u_bar, b=b, t=t, r=r, lam=lam, nu_old=nu_old, nu=nu,
                gamma=gamma, lo=q_bar - half, hi=q_bar + half)


def test_scalar_against_hand_computed_values():
    q = [0.52, 0.47, 0.61, 0.55, 0.44]
    u = [0.010, 0.012, 0.011, 0.009, 0.013]
    res = pool(q, u, n_obs=50 + 1)  # one parameter: nu_com = 50
    ref = _rubin_by_hand(q, u, nu_com=50)
    assert res.m == 5 and res.df_complete == 50
    np.testing.assert_allclose(
        [res.estimate, res.within, res.between, res.total, res.riv, res.lambda_,
         res.df_rubin, res.df, res.fmi],
        [ref[k] for k in ("q", "u", "b", "t", "r", "lam", "nu_old", "nu", "gamma")],
        rtol=1e-12,
    )
    np.testing.assert_allclose(res.conf_int(), [ref["lo"], ref["hi"]], rtol=1e-12)
    assert res.std_error == pytest.approx(ref["t"] ** 0.5)
    # the small-sample df never exceeds either of its parts
    assert res.df < min(res.df_rubin, 50)


def test_numbers_worked_by_hand():
    # q = 1, 1.2, 0.9; u = .04, .05, .04; m = 3
    res = pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.04])
    assert res.estimate == pytest.approx(31 / 30)
    assert res.within == pytest.approx(0.13 / 3)
    assert res.between == pytest.approx(0.07 / 3)  # (1/900 + 25/900 + 16/900) / 2
    assert res.total == pytest.approx(0.13 / 3 + 4 / 3 * 0.07 / 3)
    lam = (4 / 3 * 0.07 / 3) / res.total
    assert res.lambda_ == pytest.approx(lam)
    assert res.df == pytest.approx(2 / lam**2)  # no n_obs: Rubin's df
    assert np.isinf(res.df_complete)


def test_vector_with_variances_is_per_parameter_scalar_pooling():
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(10, 3))
    U = rng.uniform(0.05, 0.2, size=(10, 3))
    res = pool(Q, U, n_obs=200)
    for j in range(3):
        ref = _rubin_by_hand(list(Q[:, j]), list(U[:, j]), nu_com=200 - 3)
        assert res.estimate[j] == pytest.approx(ref["q"])
        assert res.total[j] == pytest.approx(ref["t"])
        assert res.df[j] == pytest.approx(ref["nu"])
        assert res.fmi[j] == pytest.approx(ref["gamma"])
        np.testing.assert_allclose(res.conf_int(0.95)[j], [ref["lo"], ref["hi"]])
    assert res.total_cov is None


def test_covariance_matrices():
    rng = np.random.default_rng(1)
    Q = rng.normal(size=(6, 2))
    covs = []
    for _ in range(6):
        L = rng.normal(size=(2, 2)) * 0.1
        covs.append(L @ L.T + 0.01 * np.eye(2))
    covs = np.array(covs)
    res = pool(Q, covs, n_obs=80)
    W = sum(covs) / 6
    dev = Q - Q.mean(0)
    B = sum(np.outer(d, d) for d in dev) / 5
    np.testing.assert_allclose(res.within_cov, W)
    np.testing.assert_allclose(res.between_cov, B)
    np.testing.assert_allclose(res.total_cov, W + 7 / 6 * B)
    np.testing.assert_allclose(res.total, np.diag(W + 7 / 6 * B))
    # the diagonal alone pools to the same per-parameter results
    diag = pool(Q, np.array([np.diag(c) for c in covs]), n_obs=80)
    np.testing.assert_allclose(diag.df, res.df)
    np.testing.assert_allclose(diag.conf_int(0.9), res.conf_int(0.9))


def test_no_between_variance_and_bad_input():
    res = pool([1.0, 1.0, 1.0], [0.1, 0.1, 0.1], df_complete=30)
    assert res.between == 0 and res.lambda_ == 0 and np.isinf(res.df_rubin)
    assert res.df == pytest.approx(31 / 33 * 30)  # nu_obs alone
    with pytest.raises(ValueError, match="at least 2 draws"):
        pool([1.0], [0.1])
    with pytest.raises(ValueError, match="shape"):
        pool(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        pool([1.0, np.nan], [0.1, 0.1])
    with pytest.raises(ValueError, match="degrees of freedom"):
        pool([1.0, 2.0], [0.1, 0.1], n_obs=1)
    with pytest.raises(ValueError, match="level"):
        pool([1.0, 2.0], [0.1, 0.1]).conf_int(1.5)


def test_summary_table():
    res = pool(np.array([[1.0, 2.0], [1.5, 1.0], [1.2, 1.8]]),
               np.full((3, 2), 0.1), n_obs=40, names=["a", "b"])
    table = res.summary()
    assert list(table.index) == ["a", "b"]
    np.testing.assert_allclose(table["ci95_low"], res.conf_int()[:, 0])
    p = 2 * stats.t.sf(np.abs(res.estimate / res.std_error), res.df)
    np.testing.assert_allclose(table["p_value"], p)


def _completed_tables(m=5, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    y = 1 + 2 * x + (g == "b") - 0.5 * (g == "c") + rng.normal(size=n)
    draws = []
    for _ in range(m):  # a "draw": x perturbed where it was "missing"
        xd = x.copy()
        hole = rng.random(n) < 0.3
        xd[hole] += rng.normal(scale=0.5, size=hole.sum())
        draws.append(pd.DataFrame({"x": xd, "g": pd.Categorical(g), "y": y}))
    return draws


def test_fit_pooled_callable_and_linear_regression_agree():
    draws = _completed_tables()

    def ols(table):
        A = np.column_stack([np.ones(len(table)), table["x"],
                             table["g"] == "b", table["g"] == "c"]).astype(float)
        yv = table["y"].to_numpy()
        beta = np.linalg.solve(A.T @ A, A.T @ yv)
        resid = yv - A @ beta
        cov = resid @ resid / (len(yv) - 4) * np.linalg.inv(A.T @ A)
        return pd.Series(beta, index=["const", "x", "g[b]", "g[c]"]), cov

    by_callable = fit_pooled(draws, ols)
    by_sklearn = fit_pooled(draws, LinearRegression(), y="y")
    assert by_sklearn.names == ["const", "x", "g[b]", "g[c]"] == by_callable.names
    np.testing.assert_allclose(by_sklearn.estimate, by_callable.estimate)
    np.testing.assert_allclose(by_sklearn.total_cov, by_callable.total_cov)
    assert by_sklearn.df_complete == 120 - 4
    # the draws differ only in x: its coefficient has between-draw variance
    assert by_sklearn.between[1] > 0


def test_fit_pooled_logistic_regression():
    rng = np.random.default_rng(3)
    draws = []
    for _ in range(4):
        x = rng.normal(size=300)
        p = 1 / (1 + np.exp(-(0.5 + x)))
        draws.append(pd.DataFrame({"x": x, "y": rng.random(300) < p}))
    res = fit_pooled(draws, LogisticRegression(C=np.inf), y="y")
    assert res.names == ["const", "x"]
    assert np.all(np.abs(res.estimate - [0.5, 1.0]) < 4 * res.std_error)
    with pytest.raises(ValueError, match="unpenalised"):
        fit_pooled(draws, LogisticRegression(), y="y")
    with pytest.raises(TypeError, match="covariances"):
        from sklearn.linear_model import Ridge
        fit_pooled(draws, Ridge(), y="y")


def test_fit_pooled_refuses_incomplete_tables():
    draws = _completed_tables(m=2)
    draws[0].loc[0, "x"] = np.nan
    with pytest.raises(ValueError, match="completed tables"):
        fit_pooled(draws, LinearRegression(), y="y")


def test_pooling_module_needs_no_torch():
    code = (
        "import sys, importlib.util\n"
        "sys.modules['torch'] = None  # any import of torch now fails\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(POOLING)!r})\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['p'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "print(mod.pool([1.0, 2.0], [0.1, 0.2]).estimate)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "1.5"


# ----------------------------------------------------------- against statsmodels
HAS_STATSMODELS = importlib.util.find_spec("statsmodels") is not None
needs_statsmodels = pytest.mark.skipif(not HAS_STATSMODELS,
                                       reason="statsmodels not installed")


@needs_statsmodels
def test_against_statsmodels_mice_combine():
    import statsmodels.api as sm
    from statsmodels.imputation.mice import MICE

    draws = _completed_tables(m=6, seed=5)
    ours = fit_pooled(draws, "ols", y="y")
    sk = fit_pooled(draws, LinearRegression(), y="y")
    np.testing.assert_allclose(ours.total_cov, sk.total_cov, rtol=1e-8)

    # statsmodels' combining rules on the same per-draw OLS fits
    mice = MICE.__new__(MICE)
    mice.results_list = []
    for d in draws:
        A = np.column_stack([np.ones(len(d)), d["x"], d["g"] == "b",
                             d["g"] == "c"]).astype(float)
        mice.results_list.append(sm.OLS(d["y"].to_numpy(), A).fit())
    mice.exog_names, mice.endog_names, mice.model_class = None, None, sm.OLS
    theirs = mice.combine()
    np.testing.assert_allclose(ours.estimate, theirs.params, rtol=1e-10)
    np.testing.assert_allclose(ours.total_cov, theirs.cov_params(), rtol=1e-10)
    np.testing.assert_allclose(ours.lambda_, theirs.frac_miss_info, rtol=1e-10)


@needs_statsmodels
def test_fit_pooled_statsmodels_logit_matches_sklearn():
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    draws = []
    for _ in range(3):
        x = rng.normal(size=200)
        y = rng.random(200) < 1 / (1 + np.exp(-x))
        draws.append(pd.DataFrame({"x": x, "y": y}))
    a = fit_pooled(draws, "logit", y="y")
    b = fit_pooled(draws, sm.Logit, y="y")
    c = fit_pooled(draws, LogisticRegression(C=np.inf, tol=1e-10,
                                             max_iter=1000), y="y")
    np.testing.assert_allclose(a.estimate, b.estimate)
    np.testing.assert_allclose(a.estimate, c.estimate, rtol=1e-4)
    np.testing.assert_allclose(a.total, c.total, rtol=1e-3)
