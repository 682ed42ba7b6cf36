"""The NaN-aware contract every imputer keeps (sklearn's checks rarely use NaN)."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from deepimpute import Categorical, ColumnSpec, Image, Numerical
from instances import CLASSES, correlated_table, tiny

NAMES = sorted(CLASSES)


@pytest.fixture(scope="module")
def table():
    return correlated_table(n=120, p=5, missing_rate=0.2, seed=1)


def mixed_frame(n=80, seed=0):
    r = np.random.default_rng(seed)
    z = r.normal(size=n)
    df = pd.DataFrame(
        {
            "a": z + 0.1 * r.normal(size=n),
            "b": pd.Series(np.where(z > 0, "hi", "lo"), dtype=object),
            "c": pd.Categorical(np.where(z > 0.5, "x", np.where(z < -0.5, "y", "z"))),
            "d": (2 * z + 0.1 * r.normal(size=n)),
        }
    )
    df.index = np.arange(100, 100 + n)
    for col in df.columns:
        df.loc[df.sample(frac=0.2, random_state=len(col)).index, col] = None
    return df


@pytest.mark.parametrize("name", NAMES)
def test_observed_unchanged_no_nan_no_mutation(name, table):
    _, Xm = table
    before = Xm.copy()
    out = tiny(name).fit(Xm).transform(Xm)
    np.testing.assert_array_equal(Xm, before)
    assert out.dtype == Xm.dtype and out.shape == Xm.shape
    assert np.isfinite(out).all()
    obs = ~np.isnan(Xm)
    assert np.array_equal(out[obs], Xm[obs])  # bit for bit


@pytest.mark.parametrize("name", NAMES)
def test_float32_preserved(name, table):
    _, Xm = table
    X32 = Xm.astype(np.float32)
    out = tiny(name).fit(X32).transform(X32)
    assert out.dtype == np.float32
    assert np.array_equal(out[~np.isnan(X32)], X32[~np.isnan(X32)])
    # float32 DataFrame columns (image pixels) take the imputations too
    df = pd.DataFrame(X32, columns=[f"c{j}" for j in range(X32.shape[1])])
    out_df = tiny(name).fit(df).transform(df)
    assert (out_df.dtypes == np.float32).all()
    assert not out_df.isna().any().any()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(name, table):
    _, Xm = table
    a = tiny(name).fit(Xm).transform(Xm)
    b = tiny(name).fit(Xm).transform(Xm)
    np.testing.assert_array_equal(a, b)
    est = tiny(name).fit(Xm)
    np.testing.assert_array_equal(est.transform(Xm), est.transform(Xm))


@pytest.mark.parametrize("name", NAMES)
def test_row_subset_and_order_invariance(name, table):
    _, Xm = table
    est = tiny(name).fit(Xm)
    full = est.transform(Xm)
    rows = np.random.default_rng(0).permutation(len(Xm))[:37]
    part = est.transform(Xm[rows])
    np.testing.assert_allclose(part, full[rows], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_clone_refit(name, table):
    _, Xm = table
    est = tiny(name).fit(Xm)
    ref = est.transform(Xm)
    for restored in (pickle.loads(pickle.dumps(est)),):
        np.testing.assert_array_equal(restored.transform(Xm), ref)
    path = __import__("tempfile").mktemp(suffix=".joblib")
    joblib.dump(est, path)
    np.testing.assert_array_equal(joblib.load(path).transform(Xm), ref)
    again = clone(est)
    assert not hasattr(again, "n_features_in_")
    np.testing.assert_array_equal(again.fit(Xm).transform(Xm), ref)


def test_pickle_from_another_version_warns(table):
    _, Xm = table
    est = tiny("mean").fit(Xm)
    state = est.__getstate__()
    assert state["_deepimpute_version"] == __import__("deepimpute").__version__
    pickle.loads(pickle.dumps(est))  # same version: silent (warnings are errors)
    for saved in ("0.0.1", None):  # None: saved before versions were stamped
        blob = {k: v for k, v in state.items() if k != "_deepimpute_version"}
        if saved:
            blob["_deepimpute_version"] = saved
        fresh = type(est).__new__(type(est))
        with pytest.warns(UserWarning, match="refit it if it fails"):
            fresh.__setstate__(blob)
        np.testing.assert_array_equal(fresh.transform(Xm), est.transform(Xm))
    unfitted = type(est)().__getstate__()
    unfitted.pop("_deepimpute_version")
    type(est).__new__(type(est)).__setstate__(unfitted)  # nothing fitted: silent


@pytest.mark.parametrize("name", NAMES)
def test_all_nan_row_and_new_missing_column(name, table):
    X, Xm = table
    train = X.copy()
    train[:, 0] = X[:, 0]  # column 0 complete at fit time
    est = tiny(name).fit(np.where(np.isnan(Xm) & (np.arange(5) > 0), np.nan, train))
    test = X[:6].copy()
    test[0, :] = np.nan  # all-missing row: imputed from the model, finite
    test[1:, 0] = np.nan  # column complete at fit, missing at transform
    out = est.transform(test)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_mixed_dataframe_in_dataframe_out(name):
    df = mixed_frame()
    before = df.copy()
    est = tiny(name).fit(df)
    out = est.transform(df)
    pd.testing.assert_frame_equal(df, before)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns)
    assert (out.index == df.index).all()
    assert list(out.dtypes) == list(df.dtypes)
    assert out.notna().all().all()
    assert set(out["b"]) <= {"hi", "lo"} and set(out["c"]) <= {"x", "y", "z"}
    for col in df.columns:
        m = df[col].notna()
        assert out[col][m].tolist() == df[col][m].tolist()
    assert list(est.get_feature_names_out()) == list(df.columns)


@pytest.mark.parametrize("name", NAMES)
def test_set_output_pandas_from_array(name, table):
    _, Xm = table
    out = tiny(name).set_output(transform="pandas").fit_transform(Xm)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"x{i}" for i in range(Xm.shape[1])]


@pytest.mark.parametrize("name", NAMES)
def test_image_attribute_outputs_in_range(name):
    r = np.random.default_rng(0)
    n = 60
    img = r.random((n, 4)) * 255
    X = np.column_stack([img, img.mean(1) + r.normal(size=n)])
    X[r.random(X.shape) < 0.2] = np.nan
    spec = ColumnSpec([Image(range(4), shape=(2, 2)), Numerical(4)])
    est = clone(tiny(name)).set_params(column_spec=spec)
    out = est.fit(X).transform(X)
    assert np.isfinite(out).all()
    assert out[:, :4].min() >= np.nanmin(X[:, :4]) - 1e-9
    assert out[:, :4].max() <= np.nanmax(X[:, :4]) + 1e-9


@pytest.mark.parametrize("name", NAMES)
def test_categorical_codes_in_array(name):
    r = np.random.default_rng(0)
    n = 60
    z = r.normal(size=n)
    X = np.column_stack([z, (z > 0).astype(float) * 3 + 1])  # codes {1, 4}
    X[r.random(X.shape) < 0.2] = np.nan
    spec = ColumnSpec([Numerical(0), Categorical(1)])
    est = clone(tiny(name)).set_params(column_spec=spec)
    out = est.fit(X).transform(X)
    assert set(np.unique(out[:, 1])) <= {1.0, 4.0}


@pytest.mark.parametrize("name", NAMES)
def test_sample_draws(name, table):
    _, Xm = table
    est = tiny(name).fit(Xm)
    try:
        draws = est.sample(Xm, n_draws=3, random_state=0)
    except NotImplementedError:
        pytest.skip(f"{name} gives a single imputation only")
    assert len(draws) == 3
    obs = ~np.isnan(Xm)
    for d in draws:
        assert np.array_equal(d[obs], Xm[obs]) and np.isfinite(d).all()
    assert not np.array_equal(draws[0], draws[1])  # draws, not copies
    again = est.sample(Xm, n_draws=3, random_state=0)
    np.testing.assert_array_equal(draws[2], again[2])


@pytest.mark.parametrize("name", NAMES)
def test_pipeline_cross_val_score(name):
    r = np.random.default_rng(0)
    X, Xm = correlated_table(n=90, p=4, missing_rate=0.2, seed=3)
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(tiny(name), LogisticRegression())
    scores = cross_val_score(pipe, Xm, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    assert r is not None


BAD_INPUTS = {
    "empty": (np.empty((0, 3)), ValueError, "0 sample"),
    "one row": (np.array([[1.0, 2.0]]), ValueError, "minimum of 2"),
    "inf": (
        np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]),
        ValueError,
        "Column 1 contains infinity",
    ),
    # one empty column is dropped (or kept: keep_empty_features), as sklearn does
    "all-missing columns": (
        np.full((3, 2), np.nan),
        ValueError,
        "Every column of X is entirely missing",
    ),
    "strings": (
        np.array([["1", "a"], ["2", "3"]], dtype=object),
        ValueError,
        "Column 1 holds the non-numeric value 'a'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_input_clear_errors(name, case):
    X, exc, msg = BAD_INPUTS[case]
    with pytest.raises(exc, match=msg):
        tiny(name).fit(X)


@pytest.mark.parametrize("name", NAMES)
def test_other_columns_at_transform(name):
    df = mixed_frame()
    est = tiny(name).fit(df)
    with pytest.raises(ValueError, match="feature names"):
        est.transform(df.rename(columns={"a": "zz"}))
    with pytest.raises(ValueError, match="missing:\n- d"):
        est.transform(df.iloc[:, :3])
    with pytest.raises(ValueError, match="X has 3 features, but"):
        est.transform(df.iloc[:, :3].to_numpy())
