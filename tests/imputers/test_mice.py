"""MICEImputer: agreement with IterativeImputer, draws and pooling, fit/transform."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge, LogisticRegression

from deepimpute.imputers._mice import MICEImputer

SMALL = dict(n_imputations=3, max_iter=5, random_state=0)


def latent_table(n=200, p=5, rate=0.25, seed=0):
    """Two latent factors drive ``p`` noisy columns; returns (X_full, X_missing)."""
    r = np.random.default_rng(seed)
    z = r.normal(size=(n, 2))
    X = z @ r.normal(size=(2, p)) + 0.2 * r.normal(size=(n, p))
    Xm = X.copy()
    Xm[r.random(X.shape) < rate] = np.nan
    return X, Xm


def mixed_frame(n=240, rate=0.2, seed=0):
    """``colour`` is a deterministic function of ``x``; ``y`` is a noisy copy of x."""
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    colour = np.where(x < -0.5, "red", np.where(x < 0.5, "green", "blue"))
    full = pd.DataFrame(
        {"x": x, "colour": pd.Categorical(colour), "y": x + 0.3 * r.normal(size=n)},
        index=pd.RangeIndex(100, 100 + n),
    )
    miss = full.copy()
    hide = r.random((n, 3)) < rate
    hide[:, 0] = False
    for j, col in enumerate(full.columns):
        miss.loc[hide[:, j], col] = None
    return full, miss, hide


# IterativeImputer warns when its tolerance rule does not fire within max_iter;
# the comparison is about equal values, not about that warning.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("max_iter", [1, 10])
def test_point_mode_matches_iterative_imputer(max_iter):
    _, Xm = latent_table(rate=0.3)
    # standardised input: our column codes are then the data themselves
    Xm = (Xm - np.nanmean(Xm, axis=0)) / np.nanstd(Xm, axis=0)
    ours = MICEImputer(sample_posterior=False, max_iter=max_iter)
    ref = IterativeImputer(BayesianRidge(), max_iter=max_iter, random_state=0)
    np.testing.assert_allclose(ours.fit_transform(Xm), ref.fit_transform(Xm), atol=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    assert len(ours.chains_) == 1


def test_draws_differ_and_transform_pools_the_chains():
    _, Xm = latent_table()
    imp = MICEImputer(**SMALL).fit(Xm)
    miss = np.isnan(Xm)
    draws = imp.sample(Xm, n_draws=3, random_state=0)
    assert not np.array_equal(draws[0][miss], draws[1][miss])
    for d in draws:
        np.testing.assert_array_equal(d[~miss], Xm[~miss])
    # the chains were fitted on different draws, so their point imputations differ
    C, _ = imp.encoder_.encode(Xm)
    chains = imp._chain_imputations(C)
    assert len(chains) == 3
    assert not np.allclose(chains[0], chains[1])
    pooled = np.mean(chains, axis=0) * imp.encoder_.scale + imp.encoder_.loc
    np.testing.assert_allclose(imp.transform(Xm)[miss], pooled[miss], rtol=1e-12)


def test_fit_transform_pools_training_chains():
    _, Xm = latent_table()
    imp = MICEImputer(**SMALL)
    out = imp.fit_transform(Xm)
    assert "_train_chains" not in imp.__dict__
    # capture the chains' training imputations as fit pools them
    probe = MICEImputer(**SMALL)
    captured = {}
    pool = probe._pool

    def spy(completed):
        captured["finals"] = completed
        return pool(completed)

    probe._pool = spy
    probe.fit(Xm)
    finals = captured["finals"]
    assert len(finals) == 3
    miss = np.isnan(Xm)
    pooled = np.mean(finals, axis=0) * probe.encoder_.scale + probe.encoder_.loc
    np.testing.assert_allclose(out[miss], pooled[miss], rtol=1e-12)


def test_categorical_uses_logistic_regression():
    full, miss, hide = mixed_frame()
    imp = MICEImputer(**SMALL)
    out = imp.fit_transform(miss)
    assert all(isinstance(m, LogisticRegression) for j, m in imp.chains_[0] if j == 1)
    rows = hide[:, 1]
    truth = full["colour"].to_numpy()[rows]
    mode_pfc = np.mean(truth != full["colour"].mode()[0])  # about 0.6 here
    # fit_transform pools draws from the predicted probabilities: noisier than the
    # most probable class that transform uses
    pfc = np.mean(out["colour"].to_numpy()[rows] != truth)
    assert pfc < min(0.25, mode_pfc / 2)
    again = imp.transform(miss)
    assert np.mean(again["colour"].to_numpy()[rows] != truth) < 0.1
    assert (again.dtypes == miss.dtypes).all()
    assert again.index.equals(miss.index)
    for col in miss.columns:
        obs = miss[col].notna().to_numpy()
        pd.testing.assert_series_equal(again[col][obs], miss[col][obs])
    draws = imp.sample(miss, n_draws=2, random_state=0)
    assert set(draws[0]["colour"].unique()) <= {"red", "green", "blue"}


def test_transform_deterministic_row_invariant_and_new_columns():
    X, _ = latent_table(n=300, rate=0.0)
    r = np.random.default_rng(3)
    train = X[:200].copy()
    train[r.random(train.shape) < 0.2] = np.nan
    train[:, 0] = X[:200, 0]  # complete at fit
    test = X[200:].copy()
    test[:, 0] = np.nan
    imp = MICEImputer(**SMALL).fit(train)
    out = imp.transform(test)
    assert np.isfinite(out).all()
    err = np.sqrt(np.mean((out[:, 0] - X[200:, 0]) ** 2))
    assert err < 0.6 * X[200:, 0].std()
    np.testing.assert_array_equal(imp.transform(test), out)
    np.testing.assert_allclose(imp.transform(test[:9]), out[:9], rtol=1e-10)
    perm = r.permutation(test.shape[0])
    np.testing.assert_allclose(imp.transform(test[perm]), out[perm], rtol=1e-10)
    same = MICEImputer(**SMALL).fit(train)
    np.testing.assert_array_equal(same.transform(test), out)
    loaded = pickle.loads(pickle.dumps(imp))
    np.testing.assert_array_equal(loaded.transform(test), out)


def test_sample_is_seeded():
    _, Xm = latent_table()
    imp = MICEImputer(**SMALL).fit(Xm)
    a = imp.sample(Xm, n_draws=4, random_state=1)
    b = imp.sample(Xm, n_draws=4, random_state=1)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def test_complete_training_data_and_single_column():
    X, _ = latent_table(rate=0.0)
    imp = MICEImputer(**SMALL).fit(X)
    np.testing.assert_array_equal(imp.transform(X), X)
    one = np.array([[1.0], [np.nan], [3.0], [5.0]])
    out = MICEImputer(**SMALL).fit_transform(one)
    assert np.isfinite(out).all()


def test_high_cardinality_column_warns_once():
    # scikit-learn's classifier warns at every fit (every round of every chain);
    # the imputer decides once per column and says what to do
    from test_missforest import high_cardinality_frame, many_classes_warnings

    ours, sklearn_repeats = many_classes_warnings(
        MICEImputer(n_imputations=2, max_iter=3, random_state=0),
        high_cardinality_frame(),
    )
    assert sklearn_repeats == []
    assert len(ours) == 1 and "'code'" in ours[0] and "Numerical" in ours[0]


# ----------------------------------------------------- posterior parameter draws
def test_ridge_parameter_draws_follow_its_posterior():
    from deepimpute.imputers._mice import _draw_model, _posterior_info

    r = np.random.default_rng(0)
    n = 80
    Z = r.normal(size=(n, 2)) + [1.0, -2.0]
    y = 3.0 + Z @ [0.5, -1.0] + 0.7 * r.normal(size=n)
    model = BayesianRidge().fit(Z, y)
    info = _posterior_info(model, Z)
    rng = np.random.default_rng(1)
    draws = [_draw_model(model, info, rng) for _ in range(4000)]
    coefs = np.array([d.coef for d in draws])
    # centred at the posterior mean, spread as its covariance (sigma_ is the
    # covariance at the noise precision alpha_; the inverse chi-squared draw of
    # the noise variance inflates it by E[df / chi2(df)] = df / (df - 2))
    df = n - 3
    expected = model.sigma_ * df / (df - 2)
    se = np.sqrt(np.diag(expected) / len(draws))
    assert np.all(np.abs(coefs.mean(0) - model.coef_) < 4 * se)
    np.testing.assert_allclose(np.cov(coefs.T), expected, rtol=0.1, atol=2e-4)
    sds = np.array([d.sd for d in draws])
    assert abs(np.median(sds**2) * model.alpha_ - 1.0) < 0.05
    # the intercept moves with the slopes: predictions at the predictors' mean
    # spread with the mean response's standard error, sigma / sqrt(n)
    at_mean = np.array([d.predict(Z.mean(0, keepdims=True))[0] for d in draws])
    assert abs(at_mean.std() / np.sqrt(1 / model.alpha_ / n) - 1) < 0.1


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_laplace_covariance_is_the_inverse_hessian(n_classes):
    torch = pytest.importorskip("torch")
    from deepimpute.imputers._mice import _posterior_info

    r = np.random.default_rng(2)
    n, C = 150, 0.5
    Z = r.normal(size=(n, 2))
    score = Z @ [1.0, -0.5] + r.normal(size=n)
    y = np.digitize(score, [-0.5, 0.6][: n_classes - 1])
    model = LogisticRegression(C=C, max_iter=1000).fit(Z, y)
    root = _posterior_info(model, Z)["root"]
    # the Hessian of the penalised negative log-likelihood at the fit, by autograd
    W0 = torch.tensor(np.column_stack([model.coef_, model.intercept_]))
    Zt = torch.tensor(np.column_stack([Z, np.ones(n)]))
    yt = torch.tensor(y)

    def objective(flat):
        W = flat.reshape(W0.shape)
        logits = Zt @ W.T
        if W.shape[0] == 1:  # binary: one logit for class 1
            logits = torch.cat([torch.zeros_like(logits), logits], 1)
        nll = -torch.log_softmax(logits, 1)[torch.arange(n), yt].sum()
        return nll + (W[:, :-1] ** 2).sum() / (2 * C)

    H = torch.autograd.functional.hessian(objective, W0.reshape(-1)).numpy()
    np.testing.assert_allclose(root @ root.T, np.linalg.pinv(H, rcond=1e-9),
                               rtol=1e-4, atol=1e-8)


def test_draws_sharing_a_chain_carry_parameter_uncertainty():
    # one chain, many draws: the draws' mean of the imputed cells varies across
    # draws as much as the regression's posterior says, not only by the
    # predictive noise averaged over the cells
    r = np.random.default_rng(3)
    n = 120
    x = r.normal(size=n)
    X = np.column_stack([x, 2.0 * x + r.normal(size=n)])
    X[r.random(n) < 0.5, 1] = np.nan
    imp = MICEImputer(n_imputations=1, max_iter=3, random_state=0).fit(X)
    hole = np.isnan(X[:, 1])
    means = [d[hole, 1].mean() for d in imp.sample(X, n_draws=60, random_state=0)]
    # without parameter draws (the chain's fitted models as they are)
    plain = MICEImputer(n_imputations=1, max_iter=3, random_state=0).fit(X)
    plain._posterior_ = [{}]
    fixed = [d[hole, 1].mean() for d in plain.sample(X, n_draws=60, random_state=0)]
    noise_only = np.std(fixed)
    # noise of a cell ~1, averaged over ~60 cells: ~0.13; the posterior of the
    # intercept and slope adds about as much again
    assert np.std(means) > 1.3 * noise_only
    assert np.std(means) < 4 * noise_only


def test_draws_from_few_rows_stay_near_the_data():
    # with fewer rows than a noise-variance posterior needs (rows - coefficients - 1
    # below MIN_DF), a draw keeps the fitted variance: an inverse chi-squared draw of
    # one degree of freedom ran to hundreds of ranges away
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, 4))
    X[rng.random(X.shape) < 0.3] = np.nan
    est = MICEImputer(max_iter=2, n_imputations=2, random_state=0).fit(X)
    for seed in range(30):
        draw = est.sample(X, n_draws=1, random_state=seed)[0]
        assert np.all(np.isfinite(draw))


# ------------------------------------------- what a fitted MICE keeps (issue 31)
def _old_ridge_draw(model, n, rng):
    """The parameter draw of a Bayesian ridge from its full sklearn state (the
    formula the compact state must reproduce bit for bit)."""
    p = model.coef_.size
    df = max(n - p - 1, 1)
    var = df / (model.alpha_ * rng.chisquare(df))
    vals, vecs = np.linalg.eigh(model.sigma_ * (model.alpha_ * var))
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    coef = model.coef_ + root @ rng.standard_normal(p)
    offset = model.intercept_ + model.X_offset_ @ model.coef_
    offset += np.sqrt(var / max(n, 1)) * rng.standard_normal()
    return coef, offset - model.X_offset_ @ coef, np.sqrt(var)


def test_compact_ridge_predicts_and_draws_as_the_full_model():
    from deepimpute.imputers._mice import _draw_model, _Ridge, _ridge_posterior

    r = np.random.default_rng(3)
    Z = r.normal(size=(150, 12)) @ r.normal(size=(12, 12)) + 2.0
    y = Z @ r.normal(size=12) + r.normal(size=150)
    model = BayesianRidge().fit(Z, y)
    compact = _Ridge(model)
    Znew = r.normal(size=(30, 12))
    np.testing.assert_array_equal(compact.predict(Znew), model.predict(Znew))
    info = _ridge_posterior(model, 150)
    assert info["sigma"].size == 12 * 13 // 2  # the lower triangle only
    for seed in range(3):
        got = _draw_model(compact, info, np.random.default_rng(seed))
        coef, intercept, sd = _old_ridge_draw(model, 150, np.random.default_rng(seed))
        np.testing.assert_array_equal(got.coef, coef)
        assert got.intercept == intercept and got.sd == sd


def _wide(n=120, p=40, seed=0):
    return latent_table(n=n, p=p, rate=0.1, seed=seed)[1]


def _largest_array(obj) -> int:
    """Elements of the largest ndarray reachable through an object's attributes."""
    seen, stack, best = set(), [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            best = max(best, o.size)
        elif isinstance(o, dict):
            stack += list(o.values())
        elif isinstance(o, (list, tuple)):
            stack += list(o)
        elif hasattr(o, "__dict__"):
            stack += list(vars(o).values())
    return best


def test_fitted_models_hold_no_covariance_matrix():
    """Prediction needs O(p) per column model, not BayesianRidge's p x p
    ``sigma_``; a point-mode fit keeps nothing larger."""
    from deepimpute import persistence

    p = 40
    X = _wide(p=p)
    point = MICEImputer(n_imputations=1, max_iter=2, sample_posterior=False,
                        random_state=0).fit(X)
    assert _largest_array(point.chains_) < p * p / 4
    # the model file: p column models of O(p) each, not p covariances of p^2
    assert len(persistence.dumps(point)) < 16 * p * p * 8 / 4
    drawn = MICEImputer(n_imputations=2, max_iter=2, random_state=0).fit(X)
    assert _largest_array(drawn.chains_) < p * p / 4
    # the draws' covariances are kept once, packed: half of the 2 x p x (p-1)^2
    # float64 that the chains' BayesianRidge models held
    full = 2 * p * (p - 1) ** 2 * 8
    assert len(persistence.dumps(drawn)) < 0.6 * full
    out = point.sample(X, n_draws=2, random_state=0)  # noise draws, no covariance
    assert not np.allclose(out[0], out[1])
