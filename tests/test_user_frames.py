"""The contract on the frames and values real users bring: column labels of any
type, extreme magnitudes, dates and durations, unused categories, nullable integers,
refused frames and row-wise transforms.

The encoder and input validation own these cases; every imputer shares them, so
most groups run over all imputers at the tiny settings of ``tests/instances.py``.
"""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

from deepimpute import Categorical, ColumnSpec, Numerical
from deepimpute.imputers import BaseImputer, MeanModeImputer, VSAEImputer
from instances import CLASSES, correlated_table, tiny

NAMES = sorted(CLASSES)
DEEP = ("factvae", "gain", "hivae", "misgan", "miwae", "rvi", "vad", "vae", "vsae")


def _holes(n, rate, seed):
    return np.random.default_rng(seed).random(n) < rate


def assert_contract(X, out):
    """Same type, labels, index, dtypes; observed cells identical; nothing missing."""
    assert type(out) is type(X)
    assert list(out.columns) == list(X.columns)
    assert out.index.equals(X.index)
    assert list(out.dtypes) == list(X.dtypes)
    assert not out.isna().to_numpy().any()
    for j in range(X.shape[1]):
        obs = X.iloc[:, j].notna().to_numpy()
        pd.testing.assert_series_equal(out.iloc[:, j][obs], X.iloc[:, j][obs])


def _sample_or_none(est, X):
    try:
        return est.sample(X, n_draws=2, random_state=0)
    except NotImplementedError:
        return None


# ------------------------------------------------------------ column labels
@pytest.mark.parametrize("name", NAMES)
def test_integer_column_labels(name):
    r = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            0: np.where(_holes(40, 0.2, 1), np.nan, r.normal(size=40)),
            1: pd.Series(r.choice(["a", "b"], 40), dtype=object).mask(
                _holes(40, 0.2, 2)
            ),
            2: r.normal(size=40),
        }
    )
    est = tiny(name).fit(X)
    assert_contract(X, est.transform(X))
    # a numerical frame with integer labels stays a frame too
    num = X[[0, 2]]
    assert_contract(num, tiny(name).fit(num).transform(num))
    # columns are checked by position: a reordered frame is refused
    with pytest.raises(ValueError, match="column 0 is 2"):
        est.transform(X[[2, 1, 0]])
    with pytest.raises(ValueError, match="X has 2 features"):
        est.transform(X[[0, 1]])


def test_mixed_label_types_and_pipelines():
    r = np.random.default_rng(0)
    X = pd.DataFrame({0: r.normal(size=60), "b": r.normal(size=60), 2.5: "u"})
    X.iloc[::4, 0] = np.nan
    X.iloc[1::5, 2] = None
    out = MeanModeImputer().fit(X).transform(X)
    assert_contract(X, out)
    y = r.normal(size=60)
    for imp in (MeanModeImputer(), tiny("vsae")):
        Xn = X.iloc[:, :2].set_axis([0, 1], axis=1)  # as pd.DataFrame(arr) gives
        pipe = make_pipeline(imp, DecisionTreeRegressor(random_state=0))
        scores = cross_val_score(pipe, Xn, y, cv=3, error_score="raise")
        assert np.isfinite(scores).all()


# ------------------------------------------------------- extreme magnitudes
EXTREME = {
    "huge": [1e308, 1e308, 1e308, 5e307, np.nan] * 8,
    "wide": [1e155, -1e155, 3e154, np.nan, 2e154] * 8,
    "tiny": [1e-300, 2.4e-300, np.nan, 1.5e-300, 2e-300] * 8,
    "neg": [-1.7e308, 1.7e308, np.nan, 0.0, -1e308] * 8,
}


@pytest.mark.parametrize("name", NAMES)
def test_extreme_magnitudes(name):
    X = pd.DataFrame(EXTREME)
    out = tiny(name).fit(X).transform(X)
    assert_contract(X, out)
    vals = out.to_numpy()
    assert np.isfinite(vals).all()
    # a column of sd 5e-301 is imputed at its own scale, not at O(1)
    assert np.abs(out["tiny"]).max() < 1e-298
    arr = X.to_numpy()
    out_arr = tiny(name).fit(arr).transform(arr)
    assert np.isfinite(out_arr).all()
    obs = ~np.isnan(arr)
    np.testing.assert_array_equal(out_arr[obs], arr[obs])


def test_mean_is_exact_at_the_edge_of_float64():
    X = pd.DataFrame(EXTREME)
    out = MeanModeImputer().fit_transform(X)
    assert out["huge"].iloc[4] == pytest.approx(8.75e307, rel=1e-12)
    assert out["tiny"].iloc[2] == pytest.approx(1.725e-300, rel=1e-12)


# ------------------------------------------------ dates, durations, periods
def _dates_frame(n=40):
    r = np.random.default_rng(3)
    base = pd.Timestamp("2020-01-01")
    days = pd.to_timedelta(r.integers(0, 1000, n), unit="D")
    naive = pd.Series(base + days).mask(_holes(n, 0.25, 4))
    return pd.DataFrame(
        {
            "naive": naive,
            "aware": naive.dt.tz_localize("America/New_York").mask(
                _holes(n, 0.25, 5)
            ),
            "span": pd.Series(pd.to_timedelta(r.integers(1, 48, n), unit="h")).mask(
                _holes(n, 0.25, 6)
            ),
            "month": pd.Series(
                pd.period_range("2001-01", periods=n, freq="M")
            ).mask(_holes(n, 0.25, 7)),
            "x": np.where(_holes(n, 0.2, 8), np.nan, r.normal(size=n)),
        }
    )


@pytest.mark.parametrize("name", NAMES)
def test_dates_durations_periods(name):
    X = _dates_frame()
    est = tiny(name).fit(X)
    assert est.spec_.kinds == ("numerical",) * 5
    out = est.transform(X)
    assert_contract(X, out)
    assert str(out["aware"].dt.tz) == "America/New_York"
    # NaT is missing, not -9.2e18: every imputation lies in a sane window
    assert out["naive"].min() > pd.Timestamp("1900-01-01")
    assert out["aware"].max() < pd.Timestamp("2100-01-01", tz="UTC")


def test_mean_of_dates():
    X = _dates_frame()
    out = MeanModeImputer().fit_transform(X)
    hole = X["naive"].isna().to_numpy().argmax()
    mean = X["naive"].dropna().mean()
    assert abs(out["naive"].iloc[hole] - mean) <= pd.Timedelta("1us")
    # the NaT of a date column does not enter the other columns' statistics
    enc = MeanModeImputer().fit(X).encoder_
    assert enc.loc[4] == pytest.approx(X["x"].mean())


# ----------------------------------------------- categories observed at fit
def _unused_levels_frame(n=60):
    r = np.random.default_rng(9)
    declared = ["u0", "a", "u1", "b", "u2", "u3", "u4", "u5", "u6", "u7"]
    cat = pd.Categorical(r.choice(["a", "b"], n), categories=declared)
    X = pd.DataFrame(
        {
            "c": pd.Series(cat).mask(_holes(n, 0.4, 10)),
            "s": pd.Series(r.choice(["p", "q"], n), dtype=object).mask(
                _holes(n, 0.4, 11)
            ),
            "x": np.where(_holes(n, 0.2, 12), np.nan, r.normal(size=n)),
        }
    )
    return X


@pytest.mark.parametrize("name", NAMES)
def test_only_observed_categories(name):
    X = _unused_levels_frame()
    spec = ColumnSpec(
        [
            Categorical("c"),
            Categorical("s", categories=("z1", "p", "z2", "q", "z3", "z4")),
            Numerical("x"),
        ]
    )
    for est in (tiny(name), tiny(name).set_params(column_spec=spec)):
        est.fit(X)
        outs = [est.transform(X)] + (_sample_or_none(est, X) or [])
        for out in outs:
            assert_contract(X, out)
            assert out["c"].dtype == X["c"].dtype  # the declared set stays
            assert set(out["c"]) <= {"a", "b"}
            assert set(out["s"]) <= {"p", "q"}


def test_declared_but_unseen_value_at_transform_is_unknown():
    X = _unused_levels_frame()
    est = MeanModeImputer().fit(X)
    Y = X.copy()
    Y.loc[0, "c"] = "u3"  # declared by the dtype, never observed at fit
    with pytest.raises(ValueError, match="Column 'c' holds 1 value"):
        est.transform(Y)


# -------------------------------------------------------- nullable integers
INT_DTYPES = ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"]


@pytest.mark.parametrize("name", NAMES)
def test_nullable_integers(name):
    r = np.random.default_rng(13)
    n = 40
    cols = {
        "flag": pd.array(r.integers(0, 2, n), dtype="UInt8"),
        "flag64": pd.array(r.integers(0, 2, n), dtype="Int64"),
    }
    for dt in INT_DTYPES:
        info = np.iinfo(dt.lower())
        edges = np.array(
            [info.min, info.max, info.min + 1, info.max - 1], dtype=dt.lower()
        )
        cols[dt] = pd.array(edges[r.integers(0, 4, n)], dtype=dt)
    X = pd.DataFrame(cols)
    for k, c in enumerate(X.columns):
        X[c] = X[c].mask(_holes(n, 0.25, 20 + k))
    X["np_int"] = r.integers(-5, 5, n)  # numpy int64, no holes
    X["x"] = np.where(_holes(n, 0.2, 40), np.nan, r.normal(size=n))
    est = tiny(name).fit(X)
    outs = [est.transform(X)] + (_sample_or_none(est, X) or [])
    for out in outs:
        assert_contract(X, out)
        assert set(out["flag"]) <= {0, 1}
        assert set(out["flag64"]) <= {0, 1}
        for dt in INT_DTYPES:  # within the observed range, hence the dtype's
            col = out[dt]
            assert col.min() >= X[dt].min() and col.max() <= X[dt].max()


# ---------------------------------------- frames refused with a clear error
def test_multiindex_columns_are_refused():
    X = pd.DataFrame(
        np.arange(8.0).reshape(4, 2), columns=pd.MultiIndex.from_tuples([("g", "a"),
                                                                        ("g", "b")])
    )
    X.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="MultiIndex columns are not supported.*"
                       "flatten"):
        MeanModeImputer().fit(X)


def test_array_for_an_imputer_fitted_on_a_mixed_frame():
    X = pd.DataFrame({"a": [1.0, np.nan, 3, 4], "b": ["x", "y", None, "x"]})
    est = VSAEImputer(max_iter=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="'b' is (object|str).*Pass a DataFrame"):
        est.transform(X.to_numpy())
    # a numerical frame may still be transformed as an array
    num = X[["a"]]
    out = MeanModeImputer().fit(num).transform(num.to_numpy())
    assert isinstance(out, np.ndarray) and not np.isnan(out).any()


def test_complex_columns_are_refused():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0], "z": [1 + 1j, 2j, np.nan]})
    with pytest.raises(ValueError, match="column 'z' holds complex"):
        MeanModeImputer().fit(X)
    arr = np.array([[1.0, 1 + 1j], [np.nan, 2.0], [3.0, 1j]])
    with pytest.raises(ValueError, match="column 1 holds complex"):
        MeanModeImputer().fit(arr)
    with pytest.raises(ValueError, match="'z' appears more than once"):
        MeanModeImputer().fit(pd.DataFrame([[1.0, 2.0]], columns=["z", "z"]))


# ------------------------------------------------------- row-wise transform
# the adapter is as row-independent as the imputer it wraps (KNN ties: not)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "adapter"])
def test_rowwise_transform_within_stated_tolerance(name):
    """A row alone and in a batch agree within the tolerance that ``transform``'s
    docstring states (a fraction of the column's sd); categories identical."""
    doc = " ".join(BaseImputer.transform.__doc__.split())
    found = re.search(r"at most ``([0-9.e-]+)`` times the column's training", doc)
    assert found, "transform's docstring must state the row-wise tolerance"
    tol = float(found.group(1))
    _, Xm = correlated_table(n=120, p=4, missing_rate=0.3, seed=2)
    X = pd.DataFrame(Xm, columns=list("abcd"))
    X["k"] = pd.Series(np.where(np.nan_to_num(Xm[:, 0]) > 0, "x", "y"), dtype=object)
    X.loc[_holes(120, 0.3, 3), "k"] = None
    est = tiny(name)
    if name in DEEP:
        est.set_params(max_iter=10)  # away from initialisation: realistic weights
    est.fit(X)
    batch = est.transform(X.iloc[:40])
    alone = pd.concat([est.transform(X.iloc[[i]]) for i in range(40)])
    sd = X.iloc[:, :4].std().to_numpy()
    diff = np.abs(batch.iloc[:, :4].to_numpy() - alone.iloc[:, :4].to_numpy())
    assert (diff <= tol * sd).all()
    assert (batch["k"] == alone["k"]).all()
