"""MissForestImputer: stopping rule, categorical classifiers, fit/transform split."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from deepimpute.imputers._missforest import MissForestImputer

SMALL = dict(n_estimators=15, random_state=0, n_jobs=1)


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
        {
            "x": x,
            "colour": pd.Categorical(colour),
            "y": x + 0.3 * r.normal(size=n),
            "k": r.integers(0, 5, size=n).astype("float64"),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    miss = full.copy()
    hide = r.random((n, 4)) < rate
    hide[:, 0] = False  # keep x observed so colour is predictable
    for j, col in enumerate(full.columns):
        miss.loc[hide[:, j], col] = np.nan if col != "colour" else None
    return full, miss, hide


def test_stopping_rule_returns_previous_round():
    _, Xm = latent_table()
    imp = MissForestImputer(**SMALL, max_iter=10).fit(Xm)
    diffs = [h["diff_numerical"] for h in imp.history_]
    assert len(imp.history_) == imp.n_iter_
    assert all(np.isnan(h["diff_categorical"]) for h in imp.history_)
    if imp.n_iter_ < imp.max_iter:
        # stopped: the last change increased, all earlier ones decreased
        assert diffs[-1] >= diffs[-2]
        assert all(a > b for a, b in zip(diffs[:-2], diffs[1:-1], strict=True))
        assert imp.final_round_ == imp.n_iter_ - 1
    else:
        assert imp.final_round_ == imp.n_iter_
    # The returned imputation is round final_round_'s: a run capped there (same
    # seeds per round) reaches the same values.
    capped = MissForestImputer(**SMALL, max_iter=imp.final_round_)
    np.testing.assert_array_equal(
        capped.fit_transform(Xm), MissForestImputer(**SMALL).fit_transform(Xm)
    )
    assert capped.n_iter_ == capped.final_round_ == imp.final_round_


def test_stopping_rule_fires_before_cap():
    _, Xm = latent_table(n=300, rate=0.3, seed=1)
    imp = MissForestImputer(**SMALL, max_iter=30).fit(Xm)
    assert imp.n_iter_ < 30
    assert imp.history_[-1]["diff_numerical"] >= imp.history_[-2]["diff_numerical"]


def test_max_iter_caps_rounds():
    _, Xm = latent_table()
    imp = MissForestImputer(**SMALL, max_iter=1).fit(Xm)
    assert imp.n_iter_ == imp.final_round_ == 1


def test_categorical_uses_classifier_and_is_accurate():
    full, miss, hide = mixed_frame()
    imp = MissForestImputer(**SMALL)
    out = imp.fit_transform(miss)
    models = dict(imp.estimators_)
    assert isinstance(models[1], RandomForestClassifier)
    assert isinstance(models[0], RandomForestRegressor)
    rows = hide[:, 1]
    pfc = np.mean(out["colour"].to_numpy()[rows] != full["colour"].to_numpy()[rows])
    assert pfc < 0.1
    # mixed tables record both parts of the stopping criterion
    assert all(np.isfinite(h["diff_categorical"]) for h in imp.history_)
    assert all(np.isfinite(h["diff_numerical"]) for h in imp.history_)


def test_mixed_dataframe_round_trip():
    full, miss, hide = mixed_frame()
    imp = MissForestImputer(**SMALL).fit(miss)
    out = imp.transform(miss)
    assert list(out.columns) == list(miss.columns)
    assert out.index.equals(miss.index)
    assert (out.dtypes == miss.dtypes).all()
    assert not out.isna().any().any()
    assert set(out["colour"].unique()) <= {"red", "green", "blue"}
    for col in miss.columns:  # observed entries come back unchanged
        obs = miss[col].notna().to_numpy()
        pd.testing.assert_series_equal(out[col][obs], miss[col][obs])


def test_observed_entries_unchanged_and_no_nan():
    _, Xm = latent_table()
    out = MissForestImputer(**SMALL).fit_transform(Xm)
    obs = ~np.isnan(Xm)
    np.testing.assert_array_equal(out[obs], Xm[obs])
    assert np.isfinite(out).all()


def test_fit_transform_is_training_imputation_and_not_stored():
    X, Xm = latent_table()
    imp = MissForestImputer(**SMALL)
    out = imp.fit_transform(Xm)
    assert "_train_imputation" not in imp.__dict__
    imp2 = MissForestImputer(**SMALL).fit(Xm)
    assert "_train_imputation" not in imp2.__dict__
    # transform re-imputes with the stored forests: close to, not equal to, it
    again = imp.transform(Xm)
    miss = np.isnan(Xm)
    err_ft = np.sqrt(np.mean((out[miss] - X[miss]) ** 2))
    err_tr = np.sqrt(np.mean((again[miss] - X[miss]) ** 2))
    assert err_tr < 1.25 * err_ft


def test_transform_new_rows_uses_stored_forests():
    X, _ = latent_table(n=300, rate=0.0)
    r = np.random.default_rng(3)
    train = X[:200].copy()
    train[r.random(train.shape) < 0.2] = np.nan
    train[:, 0] = X[:200, 0]  # column 0 complete at fit
    test = X[200:].copy()
    test[:, 0] = np.nan  # ... but missing in every new row
    imp = MissForestImputer(**SMALL).fit(train)
    forests = [id(f) for _, f in imp.estimators_]
    assert len(forests) == X.shape[1]
    out = imp.transform(test)
    assert [id(f) for _, f in imp.estimators_] == forests
    err = np.sqrt(np.mean((out[:, 0] - X[200:, 0]) ** 2))
    assert err < 0.6 * X[200:, 0].std()  # far better than the mean
    # no dependence on the other rows passed along
    np.testing.assert_allclose(imp.transform(test[:7]), out[:7], rtol=1e-12)
    perm = r.permutation(test.shape[0])
    np.testing.assert_allclose(imp.transform(test[perm]), out[perm], rtol=1e-12)


def test_deterministic_and_picklable():
    _, Xm = latent_table()
    a = MissForestImputer(**SMALL).fit(Xm)
    b = MissForestImputer(**SMALL).fit(Xm)
    np.testing.assert_array_equal(a.transform(Xm), b.transform(Xm))
    np.testing.assert_array_equal(a.transform(Xm), a.transform(Xm))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.transform(Xm), a.transform(Xm))
    other = MissForestImputer(**{**SMALL, "random_state": 1}).fit(Xm)
    assert not np.array_equal(other.transform(Xm), a.transform(Xm))


def test_complete_training_data():
    X, _ = latent_table(rate=0.0)
    imp = MissForestImputer(**SMALL).fit(X)
    assert imp.n_iter_ == 1 and imp.history_ == []
    np.testing.assert_array_equal(imp.fit_transform(X), X)
    Xt = X[:10].copy()
    Xt[:, 2] = np.nan
    assert np.isfinite(imp.transform(Xt)).all()


def test_sample_draws_differ_and_keep_observed():
    _, Xm = latent_table()
    imp = MissForestImputer(**SMALL).fit(Xm)
    draws = imp.sample(Xm, n_draws=3, random_state=0)
    miss = np.isnan(Xm)
    assert not np.array_equal(draws[0][miss], draws[1][miss])
    for d in draws:
        np.testing.assert_array_equal(d[~miss], Xm[~miss])
    again = imp.sample(Xm, n_draws=3, random_state=0)
    np.testing.assert_array_equal(again[2], draws[2])


def test_memory_options_reach_the_forests():
    _, Xm = latent_table()
    imp = MissForestImputer(**SMALL, max_depth=3, max_samples=0.5).fit(Xm)
    for _, forest in imp.estimators_:
        assert forest.max_depth == 3 and forest.max_samples == 0.5
        assert max(t.get_depth() for t in forest.estimators_) <= 3


def test_single_column():
    X = np.array([[1.0], [np.nan], [3.0], [5.0]])
    out = MissForestImputer(**SMALL).fit_transform(X)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("bad", [dict(max_iter=0), dict(max_features="auto")])
def test_invalid_parameters(bad):
    _, Xm = latent_table(n=20)
    with pytest.raises(ValueError):
        MissForestImputer(**bad).fit(Xm)


def high_cardinality_frame(n=60, seed=0):
    """``code`` has 40 distinct values among its ~50 observed rows."""
    r = np.random.default_rng(seed)
    x = r.normal(size=n)
    code = pd.Series([f"c{k}" for k in r.integers(0, 40, size=n)], dtype=object)
    code[r.random(n) < 0.15] = None
    y = x + 0.1 * r.normal(size=n)
    y[r.random(n) < 0.2] = np.nan
    return pd.DataFrame({"x": x, "code": code, "y": y})


def many_classes_warnings(imputer, X):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer.fit_transform(X)
    return [str(w.message) for w in caught if "distinct" in str(w.message)], [
        str(w.message) for w in caught if "greater than 50%" in str(w.message)
    ]


def test_high_cardinality_column_warns_once():
    # scikit-learn's classifier warns at every fit (every round); the imputer
    # decides once per column and says what to do
    ours, sklearn_repeats = many_classes_warnings(
        MissForestImputer(n_estimators=3, max_iter=4, random_state=0),
        high_cardinality_frame(),
    )
    assert sklearn_repeats == []
    assert len(ours) == 1 and "'code'" in ours[0] and "Numerical" in ours[0]
