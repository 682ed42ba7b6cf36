"""scikit-learn's own common imputer tests, run on every imputer of the package.

The test functions of the installed scikit-learn's ``sklearn/impute/tests/
test_common.py`` are imported and called with our imputers at tiny settings in
place of its ``imputers()`` list (and of ``sparse_imputers()``); each function's
other parameters are read from its own ``pytest.mark.parametrize`` marks, so the
cases follow the installed release.
"""

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from instances import CLASSES, tiny

sk_common = pytest.importorskip("sklearn.impute.tests.test_common")

#: sklearn test -> why it cannot pass under this package's contract
EXPECTED_FAILURES = {
    "test_imputers_add_indicator_sparse": (
        "sparse input is refused with a clear TypeError (see "
        "test_sparse_input_is_refused_clearly)",
        TypeError,
    ),
    "test_imputers_pandas_na_integer_array_support": (
        "a DataFrame comes back as a DataFrame with its own dtypes (here nullable "
        "Int16 with integer imputations), not as sklearn's float ndarray (see "
        "test_nullable_integer_frame_matches_the_array_fit)",
        (AssertionError, TypeError),
    ),
}


def _own_parameters(func):
    """The (name -> values) parametrization of ``func``, without ``imputer``."""
    grid = {}
    for mark in getattr(func, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names = [n.strip() for n in mark.args[0].split(",")]
        if names == ["imputer"]:
            continue
        assert len(names) == 1, f"unexpected parametrize of {func.__name__}"
        grid[names[0]] = list(mark.args[1])
    return grid


def _cases():
    for test_name in sorted(dir(sk_common)):
        func = getattr(sk_common, test_name)
        if not (test_name.startswith("test_") and callable(func)):
            continue
        grid = _own_parameters(func)
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values, strict=True))
            for name in CLASSES:
                marks = []
                if test_name in EXPECTED_FAILURES:
                    reason, raises = EXPECTED_FAILURES[test_name]
                    marks = [
                        pytest.mark.xfail(reason=reason, raises=raises, strict=True)
                    ]
                case_id = "-".join([test_name, name, *(_id(v) for v in values)])
                yield pytest.param(func, name, params, marks=marks, id=case_id)


def _id(value) -> str:
    return getattr(value, "__name__", repr(value))


@pytest.mark.parametrize("func, name, params", list(_cases()))
def test_sklearn_impute_common(func, name, params):
    func(imputer=tiny(name), **params)


@pytest.mark.parametrize("name", list(CLASSES))
def test_sparse_input_is_refused_clearly(name):
    X = sp.csr_matrix(np.array([[np.nan, 1.0], [2.0, 3.0], [4.0, np.nan]]))
    with pytest.raises(TypeError, match="dense data is required"):
        tiny(name).fit(X)


@pytest.mark.parametrize("name", list(CLASSES))
def test_nullable_integer_frame_matches_the_array_fit(name):
    # sklearn's pandas_na_integer_array test, under this package's contract: the
    # Int16 frame keeps its dtype, its imputations are the array fit's, rounded and
    # clipped to the range observed at fit (integer columns get integers in range)
    X = np.array(
        [
            [np.nan, 1, 5, np.nan, 1],
            [2, np.nan, 1, np.nan, 2],
            [6, 3, np.nan, np.nan, 3],
            [1, 2, 9, np.nan, 4],
        ]
    )
    frame = pd.DataFrame(X, dtype="Int16", columns=list("abcde"))
    from_array = tiny(name).set_params(add_indicator=True).fit_transform(X)
    from_frame = tiny(name).set_params(add_indicator=True).fit_transform(frame)
    assert list(from_frame.columns) == [
        "a", "b", "c", "e",
        "missingindicator_a", "missingindicator_b", "missingindicator_c",
        "missingindicator_d",
    ]
    assert (from_frame.dtypes.iloc[:4] == "Int16").all()
    assert all(d == np.dtype(bool) for d in from_frame.dtypes.iloc[4:])
    observed = X[:, [0, 1, 2, 4]]
    low, high = np.nanmin(observed, axis=0), np.nanmax(observed, axis=0)
    np.testing.assert_array_equal(
        from_frame.iloc[:, :4].to_numpy(dtype=float),
        np.clip(np.round(from_array[:, :4]), low, high),
    )
    np.testing.assert_array_equal(from_frame.iloc[:, 4:].to_numpy(), from_array[:, 4:])


# ----------------------------------------------- the parameters, on mixed frames
def mixed_frame():
    """``n`` int64 with -1 for missing, ``s`` str with "" for missing, ``x`` float
    with NaN, ``e`` entirely missing."""
    r = np.random.default_rng(0)
    n = 40
    ints = r.integers(10, 20, size=n)
    ints[r.random(n) < 0.2] = -1
    strs = r.choice(["a", "b", "c"], size=n).astype(object)
    strs[r.random(n) < 0.2] = ""
    x = r.normal(size=n) + ints
    x[r.random(n) < 0.2] = np.nan
    return pd.DataFrame({"n": ints, "s": strs, "x": x, "e": np.full(n, np.nan)})


@pytest.mark.parametrize("name", ["mean", "vae", "missforest"])
def test_sentinel_missing_values_on_a_mixed_frame(name):
    X = mixed_frame().drop(columns="e")
    X_before = X.copy()
    est = tiny(name).set_params(missing_values=-1)
    # -1 marks the int column's holes; "" is a category unless declared missing
    out = est.fit_transform(X)
    pd.testing.assert_frame_equal(X, X_before)  # the caller's data is untouched
    assert out.dtypes.equals(X.dtypes)  # int64 stays int64
    holes = (X["n"] == -1).to_numpy()
    assert (out["n"][~holes] == X["n"][~holes]).all()
    assert (out["n"][holes] >= 10).all() and (out["n"][holes] <= 19).all()
    assert (out["s"] == X["s"]).all()  # "" is a value here
    out = tiny(name).set_params(missing_values="").fit_transform(X)
    holes = (X["s"] == "").to_numpy()
    assert set(out["s"][holes]) <= {"a", "b", "c"}
    assert (out["s"][~holes] == X["s"][~holes]).all()
    assert (out["n"] == X["n"]).all()  # -1 is a value here


@pytest.mark.parametrize("name", ["mean", "vae"])
def test_keep_empty_features_on_frames(name):
    X = mixed_frame()
    X["o"] = pd.Series([None] * len(X), dtype=object)
    est = tiny(name).set_params(missing_values=-1)
    dropped = est.fit_transform(X)
    assert list(dropped.columns) == ["n", "s", "x"]
    assert list(est.get_feature_names_out()) == ["n", "s", "x"]
    est.set_params(keep_empty_features=True)
    kept = est.fit_transform(X)
    assert list(kept.columns) == list(X.columns)
    assert kept.dtypes.equals(X.dtypes)
    assert (kept["e"] == 0).all() and (kept["o"] == 0).all()
    # a column empty at fit keeps the values it has at transform
    X2 = X.copy()
    X2.loc[0, "e"] = 7.5
    assert est.transform(X2)["e"].iloc[0] == 7.5
    bad = X.assign(c=pd.Categorical([None] * len(X), categories=["u", "v"]))
    with pytest.raises(ValueError, match="Column 'c' is entirely missing.*dtype"):
        tiny(name).set_params(keep_empty_features=True).fit(bad)


def test_every_column_empty_is_an_error():
    with pytest.raises(ValueError, match="Every column of X is entirely missing"):
        tiny("mean").fit(np.full((3, 2), np.nan))


@pytest.mark.parametrize("name", ["mice", "rvi"])
def test_indicator_with_frames_set_output_and_sample(name):
    X = mixed_frame().drop(columns="e")
    est = tiny(name).set_params(missing_values=-1, add_indicator=True).fit(X)
    out = est.transform(X)
    names = list(est.get_feature_names_out())
    assert list(out.columns) == names == [
        "n", "s", "x", "missingindicator_n", "missingindicator_x"
    ]
    assert (out["missingindicator_n"].to_numpy() == (X["n"] == -1).to_numpy()).all()
    assert out["missingindicator_x"].dtype == bool
    draws = est.sample(X, n_draws=2, random_state=0)
    assert [list(d.columns) for d in draws] == [names, names]
    est.set_output(transform="pandas")
    assert list(est.transform(X).columns) == names
    A = X[["x"]].to_numpy()
    est = tiny(name).set_params(add_indicator=True).set_output(transform="pandas")
    out = est.fit(A).transform(A)
    assert list(out.columns) == ["x0", "missingindicator_x0"]


@pytest.mark.parametrize("name", list(CLASSES))
def test_min_max_value_bound_the_imputations(name):
    r = np.random.default_rng(1)
    X = r.normal(size=(60, 3)) @ r.normal(size=(3, 3))
    Xm = X.copy()
    Xm[r.random(X.shape) < 0.25] = np.nan
    low = np.nanquantile(Xm, 0.45, axis=0)
    high = np.nanquantile(Xm, 0.55, axis=0)
    out = tiny(name).set_params(min_value=low, max_value=high).fit_transform(Xm)
    holes = np.isnan(Xm)
    assert np.all((out >= low) | ~holes) and np.all((out <= high) | ~holes)
    np.testing.assert_array_equal(out[~holes], Xm[~holes])
    out = tiny(name).set_params(min_value=0.0, max_value=0.5).fit_transform(Xm)
    assert out[holes].min() >= 0.0 and out[holes].max() <= 0.5


def test_bounds_are_checked():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 4.0]])
    with pytest.raises(ValueError, match=r"one value per column \(2\)"):
        tiny("mean").set_params(min_value=[0.0, 1.0, 2.0]).fit(X)
    with pytest.raises(ValueError, match="above max_value .* column 1"):
        tiny("mean").set_params(min_value=[0, 5], max_value=[1, 4]).fit(X)


@pytest.mark.parametrize("name", list(CLASSES))
def test_shared_parameters_are_documented(name):
    cls = CLASSES[name]
    doc = cls.__doc__
    params = doc[doc.index("Parameters\n") : doc.index("Attributes\n")]
    for param in cls().get_params():
        assert f"\n    {param} :" in params or f" {param}," in params or (
            f", {param} :" in params
        ), f"{param} is not documented"
    assert doc.count("missing_values :") == 1
    assert "indicator_ : MissingIndicator or None" in doc
    assert cls._range_note and cls._range_note.split(":")[0] in " ".join(doc.split())
