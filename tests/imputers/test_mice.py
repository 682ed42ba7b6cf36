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
