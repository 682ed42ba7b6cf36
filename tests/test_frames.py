"""The frames users have (issue 31, items 5 and 6): polars in and out, Arrow-backed
pandas columns kept, Sparse columns densified with a warning, and the column
types and labels that were refused or changed (Arrow dictionary, date32,
duration, time64, tz-aware timestamp, binary; a NaN label; an object column with
``missing_values="?"``).

Polars is an optional extra (``pip install deepimpute-vae[polars]``): its tests
skip cleanly without it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from deepimpute import MeanModeImputer, MICEImputer, VAEImputer
from instances import tiny

pa = pytest.importorskip("pyarrow")

N = 40


def _arrow(values, pa_type) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, type=pa_type)))


def _arrow_columns(r: np.random.Generator) -> dict[str, pd.Series]:
    """One column per Arrow type, driven by one factor ``z``; 20 % holes."""
    z = r.normal(size=N)
    days = np.round(10 * z).astype(int) + 18000
    holes = r.random((9, N)) < 0.2

    def holed(values, k):
        return [None if h else v for v, h in zip(values, holes[k], strict=True)]

    words = np.where(z > 0, "hi", "lo")
    return {
        "float": _arrow(holed(z.tolist(), 0), pa.float64()),
        "int": _arrow(holed(np.round(5 * z).astype(int).tolist(), 1), pa.int64()),
        "dict": _arrow(holed(words.tolist(), 2), pa.string()).astype(
            pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
        ),
        "date": _arrow(holed(days.tolist(), 3), pa.date32()),
        "duration": _arrow(holed((3600 * (z + 5)).astype(int).tolist(), 4),
                           pa.duration("s")),
        "time": _arrow(holed((10**9 * (z + 5)).astype(int).tolist(), 5),
                       pa.time64("us")),
        "stamp_tz": _arrow(holed((days * 86400 * 10**6).tolist(), 6),
                           pa.timestamp("us", tz="Europe/Paris")),
        "binary": _arrow(holed([w.encode() for w in words], 7), pa.binary()),
        "string": pd.Series(holed(words.tolist(), 8), dtype="string[pyarrow]"),
    }


def _check_kept(X: pd.DataFrame, out: pd.DataFrame) -> None:
    """Same columns and dtypes, observed cells unchanged, no hole left."""
    assert list(out.columns) == list(X.columns)
    assert list(out.dtypes) == list(X.dtypes), (list(out.dtypes), list(X.dtypes))
    assert not out.isna().to_numpy().any()
    for c in X.columns:
        obs = X[c].notna().to_numpy()
        pd.testing.assert_series_equal(out[c][obs], X[c][obs], check_exact=True)


# ------------------------------------------------------------ Arrow-backed pandas
@pytest.mark.parametrize("name", ["mean", "mice", "vae"])
def test_arrow_columns_are_imputed_in_their_dtypes(name):
    X = pd.DataFrame(_arrow_columns(np.random.default_rng(0)))
    before = X.copy(deep=True)
    out = tiny(name).fit(X).transform(X)
    pd.testing.assert_frame_equal(X, before, check_exact=True)
    _check_kept(X, out)
    # the imputed values are of their kind: whole days, times of day, categories
    assert set(out["dict"]) <= {"hi", "lo"}
    assert set(out["binary"]) <= {b"hi", b"lo"}
    assert all(isinstance(v, dt.date) for v in out["date"])
    assert all(isinstance(v, dt.time) for v in out["time"])
    assert str(out["stamp_tz"].dt.tz) == "Europe/Paris"


def test_arrow_columns_are_no_longer_called_entirely_missing():
    """Each of these types was refused as "entirely missing at fit time"."""
    cols = _arrow_columns(np.random.default_rng(1))
    for label in ("dict", "date", "duration", "time", "stamp_tz", "binary"):
        X = pd.DataFrame({label: cols[label], "float": cols["float"]})
        out = MeanModeImputer().fit(X).transform(X)
        _check_kept(X, out)


def test_an_arrow_type_no_imputer_models_is_refused_naming_it():
    X = pd.DataFrame({
        "x": [1.0, None, 3.0],
        "tags": _arrow([[1], None, [2, 3]], pa.list_(pa.int64())),
    })
    with pytest.raises(ValueError, match=r"Column 'tags' has the Arrow type list"):
        MeanModeImputer().fit(X)


def test_arrow_columns_sample_in_their_dtypes():
    X = pd.DataFrame(_arrow_columns(np.random.default_rng(2)))
    est = tiny("vae").fit(X)
    for draw in est.sample(X, n_draws=2, random_state=3):
        _check_kept(X, draw)


# -------------------------------------------------------------------- Sparse
def test_sparse_columns_are_densified_with_a_warning_naming_them():
    r = np.random.default_rng(0)
    dense = np.where(r.random(N) < 0.7, 0.0, r.normal(size=N))
    dense[r.random(N) < 0.2] = np.nan
    X = pd.DataFrame({
        "sparse": pd.arrays.SparseArray(dense, fill_value=0.0),
        "other": r.normal(size=N),
    })
    with pytest.warns(UserWarning, match=r"\['sparse'\] are pandas Sparse"):
        est = MICEImputer(random_state=0, n_imputations=2, max_iter=2).fit(X)
    with pytest.warns(UserWarning, match="sparse"):
        out = est.transform(X)
    assert out["sparse"].dtype == X["sparse"].dtype
    assert not out.isna().to_numpy().any()
    obs = ~np.isnan(dense)
    np.testing.assert_array_equal(out["sparse"].to_numpy()[obs], dense[obs])


# ---------------------------------------------------------- labels and markers
def test_a_nan_column_label_fits_and_transforms_the_same_frame():
    r = np.random.default_rng(0)
    X = pd.DataFrame(r.normal(size=(N, 2)), columns=[np.nan, "b"])
    X.iloc[::5, 0] = np.nan
    out = MeanModeImputer().fit(X).transform(X)
    assert out.columns[0] is X.columns[0] or np.isnan(out.columns[0])
    assert not out.isna().to_numpy().any()


def test_a_nan_label_still_differs_from_another_label():
    X = pd.DataFrame({np.nan: [1.0, None, 3.0], "b": [1.0, 2.0, None]})
    est = MeanModeImputer().fit(X)
    with pytest.raises(ValueError, match="column 0 is 'a'"):
        est.transform(X.set_axis(["a", "b"], axis=1))


def test_marker_keeps_an_object_column_object():
    X = pd.DataFrame({
        "o": pd.Series(["a", "?", "b", "a", "?", "b"], dtype=object),
        "n": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    out = MeanModeImputer(missing_values="?").fit(X).transform(X)
    assert out["o"].dtype == object
    assert "?" not in set(out["o"])
    assert out["o"].iloc[0] == "a" and out["o"].iloc[2] == "b"


# --------------------------------------------------------------------- polars
def _polars_frame():
    pl = pytest.importorskip("polars")
    r = np.random.default_rng(0)
    z = r.normal(size=N)
    holes = r.random((8, N)) < 0.2

    def holed(values, k):
        return [None if h else v for v, h in zip(values, holes[k], strict=True)]

    words = np.where(z > 0, "hi", "lo").tolist()
    return pl.DataFrame({
        "f": pl.Series(holed(z.tolist(), 0), dtype=pl.Float64),
        "f32": pl.Series(holed((2 * z).tolist(), 1), dtype=pl.Float32),
        "i": pl.Series(holed(np.round(5 * z).astype(int).tolist(), 2),
                       dtype=pl.Int16),
        "s": pl.Series(holed(words, 3), dtype=pl.String),
        "cat": pl.Series(holed(words, 4), dtype=pl.Categorical),
        "b": pl.Series(holed((z > 0.5).tolist(), 5), dtype=pl.Boolean),
        "d": pl.Series(holed([dt.date(2020, 1, 1) + dt.timedelta(days=int(10 * v))
                              for v in z], 6), dtype=pl.Date),
        "ts": pl.Series(holed([dt.datetime(2020, 1, 1) + dt.timedelta(hours=float(v))
                               for v in z], 7), dtype=pl.Datetime("us", "UTC")),
    })


def _check_polars_kept(P, out):
    pl = pytest.importorskip("polars")
    assert isinstance(out, pl.DataFrame)
    assert out.columns == P.columns
    assert out.dtypes == P.dtypes, (out.dtypes, P.dtypes)
    assert out.null_count().sum_horizontal().item() == 0
    for c in P.columns:
        obs = P[c].is_not_null()
        assert out[c].filter(obs).equals(P[c].filter(obs))


@pytest.mark.parametrize("name", ["mean", "mice", "vae"])
def test_polars_in_polars_out(name):
    P = _polars_frame()
    est = tiny(name).fit(P)
    _check_polars_kept(P, est.transform(P))
    _check_polars_kept(P, tiny(name).fit_transform(P))
    try:
        draws = est.sample(P, n_draws=1, random_state=3)
    except NotImplementedError:
        return
    _check_polars_kept(P, draws[0])


def test_polars_and_pandas_give_the_same_imputation():
    P = _polars_frame()
    X = P.to_pandas(use_pyarrow_extension_array=True)
    from_polars = VAEImputer(max_iter=2, random_state=0).fit(P).transform(P)
    from_pandas = VAEImputer(max_iter=2, random_state=0).fit(X).transform(X)
    pd.testing.assert_frame_equal(
        from_polars.to_pandas(use_pyarrow_extension_array=True), from_pandas,
        check_exact=True,
    )


def test_set_output_polars_and_pandas():
    pl = pytest.importorskip("polars")
    P = _polars_frame()
    X = P.to_pandas(use_pyarrow_extension_array=True)
    to_polars = MeanModeImputer().set_output(transform="polars").fit(X)
    _check_polars_kept(P, to_polars.transform(X))
    to_pandas = MeanModeImputer().set_output(transform="pandas").fit(P)
    out = to_pandas.transform(P)
    assert isinstance(out, pd.DataFrame)
    _check_kept(X, out)
    # an array in, polars out: scikit-learn's wrapper names the columns
    A = np.random.default_rng(0).normal(size=(N, 2))
    A[::4, 0] = np.nan
    out = MeanModeImputer().set_output(transform="polars").fit(A).transform(A)
    assert isinstance(out, pl.DataFrame) and out.columns == ["x0", "x1"]


def test_an_arrow_dictionary_is_read_by_its_values_not_its_dictionary():
    """At transform, a frame of the same dictionary type may hold another
    dictionary (here one without "lo"); its holes may still get "lo"."""
    t = pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string()))
    fit = pd.DataFrame({
        "k": _arrow(["lo", "lo", "hi", "lo", None, "hi"], pa.string()).astype(t),
        "x": [0.0, 0.1, 1.0, 0.2, 0.1, 0.9],
    })
    new = pd.DataFrame({
        "k": _arrow(["hi", None, None], pa.string()).astype(t),
        "x": [1.0, 0.0, 0.1],
    })
    assert "lo" not in new["k"].array.__arrow_array__().chunk(0).dictionary.tolist()
    out = MeanModeImputer().fit(fit).transform(new)
    assert out["k"].dtype == t
    assert out["k"].tolist() == ["hi", "lo", "lo"]  # the mode of fit
