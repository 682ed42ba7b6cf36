"""``transform`` and ``sample`` stream large inputs in row chunks.

The chunk size is patched down to a few rows so that small tables span several
chunks (one of them without a missing cell, the last one ragged).
"""

import numpy as np
import pandas as pd
import pytest

from deepimpute.imputers import BaseDeepImputer, BaseImputer
from instances import correlated_table, tiny

N_ROWS = 40  # 5 full chunks of 7 and a ragged one of 5


@pytest.fixture(scope="module")
def array_table():
    X, Xm = correlated_table(n=N_ROWS, p=4, missing_rate=0.3, seed=2)
    Xm[:7] = X[:7]  # the first chunk of 7 has nothing to impute
    return Xm


@pytest.fixture(scope="module")
def frame_table():
    """Mixed dtypes and a non-default, unsorted string index."""
    r = np.random.default_rng(3)
    z = r.normal(size=N_ROWS)
    df = pd.DataFrame(
        {
            "a": z + 0.1 * r.normal(size=N_ROWS),
            "b": np.where(z > 0, "hi", "lo").astype(object),
            "c": pd.Categorical(np.where(z > 0.5, "x", np.where(z < -0.5, "y", "z"))),
            "d": 2 * z + 0.1 * r.normal(size=N_ROWS),
        },
        index=[f"r{i}" for i in r.permutation(N_ROWS)],
    )
    df["e"] = pd.Series(np.where(z > 1, "u", "v"), index=df.index, dtype=object)
    hide = r.random(df.shape) < 0.25
    hide[:7] = False  # the first chunk of 7 has nothing to impute
    for j, col in enumerate(df.columns):
        df.loc[hide[:, j], col] = None
    return df


def _chunked(monkeypatch, rows: int, batch: int | None = None) -> None:
    monkeypatch.setattr(BaseImputer, "_transform_chunk_rows", rows)
    if batch is not None:
        monkeypatch.setattr(BaseDeepImputer, "_inference_batch_size", batch)


def _assert_same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_default_chunk_keeps_deep_batches():
    # chunk boundaries fall on batch boundaries: a deep imputer's forward passes
    # see exactly the batches of one pass over all rows
    chunk = BaseImputer._transform_chunk_rows
    batch = BaseDeepImputer._inference_batch_size
    assert chunk >= batch and chunk % batch == 0


# mean / missforest with chunks of 7; deep imputers with chunks of 14 over batches
# of 7, the proportion of the defaults (65536 rows over batches of 1024)
CASES = [("mean", 7, None), ("missforest", 7, None), ("vae", 14, 7), ("miwae", 14, 7)]


@pytest.mark.parametrize("name, rows, batch", CASES)
@pytest.mark.parametrize("kind", ["array", "frame"])
def test_transform_chunked_equals_unchunked(
    name, rows, batch, kind, array_table, frame_table, monkeypatch
):
    X = array_table if kind == "array" else frame_table
    before = X.copy()
    if batch is not None:
        monkeypatch.setattr(BaseDeepImputer, "_inference_batch_size", batch)
    est = tiny(name).fit(X)
    ref = est.transform(X)  # one chunk: N_ROWS < the default chunk size
    _chunked(monkeypatch, rows)
    out = est.transform(X)
    _assert_same(out, ref)
    if kind == "frame":
        assert out.index.equals(X.index) and list(out.dtypes) == list(X.dtypes)
        pd.testing.assert_frame_equal(X, before)
        assert out.notna().all().all()
    else:
        np.testing.assert_array_equal(X, before)
        assert np.isfinite(out).all()


@pytest.mark.parametrize("name", ["vae", "miwae", "mice"])
def test_transform_unaligned_chunks_close(name, array_table, monkeypatch):
    # chunks of 7 under batches of 1024 change the row count of each matrix
    # product, which may move the last bits (the row-subset contract's tolerance)
    est = tiny(name).fit(array_table)
    ref = est.transform(array_table)
    _chunked(monkeypatch, 7)
    out = est.transform(array_table)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_set_output_pandas_chunked(array_table, monkeypatch):
    est = tiny("mean").set_output(transform="pandas").fit(array_table)
    ref = est.transform(array_table)
    _chunked(monkeypatch, 7)
    out = est.transform(array_table)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, ref, check_exact=True)
    assert list(out.columns) == [f"x{i}" for i in range(array_table.shape[1])]


@pytest.mark.parametrize("name", ["missforest", "vae"])
@pytest.mark.parametrize("kind", ["array", "frame"])
def test_sample_chunked_reproducible(name, kind, array_table, frame_table, monkeypatch):
    X = array_table if kind == "array" else frame_table
    est = tiny(name).fit(X)
    _chunked(monkeypatch, 7)
    draws = est.sample(X, n_draws=2, random_state=0)
    again = est.sample(X, n_draws=2, random_state=0)
    for d, a in zip(draws, again, strict=True):
        _assert_same(d, a)
    miss = pd.isna(X).to_numpy() if kind == "frame" else np.isnan(X)
    if kind == "frame":
        for d in draws:
            assert d.index.equals(X.index) and list(d.dtypes) == list(X.dtypes)
            assert d.notna().all().all()
            for col in X.columns:
                m = X[col].notna()
                assert d[col][m].tolist() == X[col][m].tolist()
        assert not draws[0].equals(draws[1])
    else:
        for d in draws:
            assert np.array_equal(d[~miss], X[~miss]) and np.isfinite(d).all()
        assert not np.array_equal(draws[0][miss], draws[1][miss])


def test_sample_first_chunk_keeps_the_seed(array_table, monkeypatch):
    # with chunks on batch boundaries, the first chunk is drawn exactly as the
    # same rows are in one pass over all rows (later chunks get their own seeds)
    monkeypatch.setattr(BaseDeepImputer, "_inference_batch_size", 7)
    est = tiny("vae").fit(array_table)
    ref = est.sample(array_table, n_draws=2, random_state=0)
    _chunked(monkeypatch, 14)
    out = est.sample(array_table, n_draws=2, random_state=0)
    for d, r in zip(out, ref, strict=True):
        np.testing.assert_array_equal(d[:14], r[:14])


@pytest.mark.parametrize("name", ["missforest", "vae"])
def test_sample_chunks_do_not_share_noise(name, array_table, monkeypatch):
    # the same 7 rows twice, one copy per chunk: a chunk seeded like another
    # would give both copies the same draws
    block = array_table[7:14]
    X = np.vstack([block, block])
    miss = np.isnan(X[:7])
    assert miss.any()
    est = tiny(name).fit(array_table)
    _chunked(monkeypatch, 7)
    for d in est.sample(X, n_draws=2, random_state=0):
        assert not np.array_equal(d[:7][miss], d[7:][miss])
