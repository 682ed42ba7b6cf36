"""ColumnSpec and TableEncoder: inference, validation, encode/decode round trips."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepimpute import Categorical, ColumnSpec, Image, Numerical
from deepimpute._data import TableEncoder


def mixed_frame():
    df = pd.DataFrame(
        {
            "age": [30.0, np.nan, 50.0, 41.0],
            "sex": pd.Series(["m", "f", None, "f"], dtype=object),
            "grade": pd.Categorical(["a", "b", "b", None], categories=["a", "b", "c"]),
            "n": pd.array([1, None, 3, 2], dtype="Int64"),
            "flag": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    df.index = [10, 11, 12, 13]
    return df


def test_infer_from_dtypes():
    spec = ColumnSpec.infer(mixed_frame())
    assert spec.kinds == (
        "numerical",
        "categorical",
        "categorical",
        "numerical",
        "categorical",
    )
    spec2 = ColumnSpec.infer(mixed_frame(), max_levels=5)
    assert spec2.kinds[3] == "categorical"


def test_infer_from_array_is_all_numerical():
    spec = ColumnSpec.infer(np.zeros((3, 4)))
    assert spec.kinds == ("numerical",) * 4
    assert spec.columns == (0, 1, 2, 3)


def test_spec_rejects_duplicates_and_gaps():
    with pytest.raises(ValueError, match="appears in two attributes"):
        ColumnSpec([Numerical("a"), Categorical("a")])
    with pytest.raises(ValueError, match="undescribed"):
        ColumnSpec([Numerical("a")]).positions(["a", "b"], 2)
    with pytest.raises(ValueError, match="'zz'"):
        ColumnSpec([Numerical("zz")]).positions(["a"], 1)
    with pytest.raises(ValueError, match="holds 4 values"):
        Image(("a", "b", "c"), shape=(2, 2))


def test_encoder_layout_and_masks():
    df = mixed_frame()
    enc = TableEncoder(ColumnSpec.infer(df)).fit(df, list(df.columns))
    C, data = enc.encode(df)
    # 'grade' declares a, b, c but only a and b are observed: one slot each
    assert enc.layout.widths == (1, 2, 2, 1, 2)
    assert data.values.shape == (4, 8)
    # numerical standardised with observed stats
    assert np.isclose(np.nanmean(C[:, 0]), 0.0)
    # a missing categorical cell zeroes its whole one-hot block and mask
    assert data.observed[2, 1:3].tolist() == [0, 0]
    assert data.attr_observed[2].tolist() == [1, 0, 1, 1, 0]
    assert data.values[0, 1:3].tolist() == [0, 1]  # 'm' is the 2nd sorted category


def test_assemble_keeps_observed_dtypes_index():
    df = mixed_frame()
    before = df.copy()
    enc = TableEncoder(ColumnSpec.infer(df)).fit(df, list(df.columns))
    C, data = enc.encode(df)
    filled = np.where(np.isnan(C), 0.0, C)
    out = enc.assemble(df, C, filled)
    pd.testing.assert_frame_equal(df, before)  # caller's frame untouched
    assert list(out.dtypes) == list(df.dtypes)
    assert (out.index == df.index).all()
    assert out.notna().all().all()
    obs = df.notna().to_numpy()
    for col in df.columns:
        m = df[col].notna().to_numpy()
        assert (out[col][m] == df[col][m]).all()
    assert obs.sum() < obs.size
    assert out.loc[13, "grade"] in ("a", "b", "c")
    assert out.loc[11, "n"] == round(enc.loc[3])  # Int64 stays integer


def test_unknown_category_error_and_missing_option():
    train = pd.DataFrame({"c": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
    test = pd.DataFrame({"c": ["a", "zz"], "x": [1.0, 2.0]})
    enc = TableEncoder(ColumnSpec.infer(train)).fit(train, ["c", "x"])
    with pytest.raises(ValueError, match=r"Column 'c'.*'zz'"):
        enc.to_columns(test)
    enc2 = TableEncoder(ColumnSpec.infer(train), "missing").fit(train, ["c", "x"])
    with pytest.warns(UserWarning, match="treated as missing"):
        C = enc2.to_columns(test)
    assert np.isnan(C[1, 0])


def test_bad_values_name_the_column():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, np.inf]})
    enc = TableEncoder(ColumnSpec.infer(df))
    with pytest.raises(ValueError, match="Column 'b' contains infinity"):
        enc.fit(df, ["a", "b"])
    df2 = pd.DataFrame({"a": [1.0, 2.0], "b": ["1.5", "oops"]})
    spec = ColumnSpec([Numerical("a"), Numerical("b")])
    with pytest.raises(ValueError, match="Column 'b' is numerical.*'oops'"):
        TableEncoder(spec).fit(df2, ["a", "b"])
    df3 = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]})
    with pytest.raises(ValueError, match="Column 'b' is entirely missing"):
        TableEncoder(ColumnSpec.infer(df3)).fit(df3, ["a", "b"])


def test_image_block_scaling_and_partial_missing():
    X = np.arange(24, dtype=float).reshape(4, 6) * 10  # 0..230
    X[1, 2] = np.nan
    spec = ColumnSpec([Image(range(4), shape=(2, 2)), Numerical(4), Numerical(5)])
    enc = TableEncoder(spec).fit(X)
    C, data = enc.encode(X)
    assert np.nanmin(C[:, :4]) == 0.0 and np.nanmax(C[:, :4]) == 1.0
    assert data.observed[1, :4].tolist() == [1, 1, 0, 1]
    assert data.attr_observed[1, 0] == 0  # attribute-level: all pixels needed
    out = enc.assemble(X, C, enc.from_model(data.values))
    assert np.array_equal(out[~np.isnan(X)], X[~np.isnan(X)])


_column = st.sampled_from(["num", "int", "str", "cat"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(_column, min_size=1, max_size=5),
    n=st.integers(3, 25),
    seed=st.integers(0, 10_000),
    rate=st.floats(0.0, 0.6),
)
def test_roundtrip_random_mixed_frames(kinds, n, seed, rate):
    """Encode -> model view -> decode reproduces every observed value exactly."""
    r = np.random.default_rng(seed)
    cols = {}
    for j, kind in enumerate(kinds):
        if kind == "num":
            v = pd.Series(r.normal(size=n) * 10.0 ** r.integers(-3, 4))
        elif kind == "int":
            v = pd.Series(r.integers(-5, 5, size=n)).astype("Int64")
        elif kind == "str":
            v = pd.Series(r.choice(["x", "y", "z w", ""], size=n), dtype=object)
        else:
            v = pd.Series(pd.Categorical(r.choice(["lo", "hi"], size=n)))
        hide = r.random(n) < rate
        hide[0] = False  # keep at least one observed value per column
        v = v.astype(object).where(~hide, None).astype(v.dtype)
        cols[f"c{j}"] = v
    df = pd.DataFrame(cols)
    enc = TableEncoder(ColumnSpec.infer(df)).fit(df, list(df.columns))
    C, data = enc.encode(df)
    # model view decodes back to the same codes on observed cells
    C_back = enc.from_model(data.values)
    obs = ~np.isnan(C)
    assert np.allclose(C_back[obs], C[obs])
    out = enc.assemble(df, C, np.where(obs, C, C_back))
    for col in df.columns:
        m = df[col].notna().to_numpy()
        assert out[col][m].tolist() == df[col][m].tolist()
        assert out[col].dtype == df[col].dtype
        assert out[col].notna().all()
