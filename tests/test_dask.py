"""Dask DataFrames through transform / sample (threaded scheduler and a cluster)."""

import numpy as np
import pandas as pd
import pytest
import torch

from deepimpute import VAEImputer
from deepimpute.datasets import make_mixed_data
from deepimpute.metrics import nrmse
from deepimpute.missingness import simulate_missing
from instances import tiny

dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def table():
    data = make_mixed_data(600, random_state=0).frame
    X, _ = simulate_missing(data, "mcar", 0.3, random_state=0)
    return X


@pytest.fixture(scope="module")
def fitted(table):
    return {name: tiny(name).fit(table) for name in ("vsae", "missforest", "vae")}


def _assert_same(got, ref, exact):
    if exact:
        pd.testing.assert_frame_equal(got, ref)
        return
    # a deep model's forward pass on another number of rows may take another
    # BLAS path: equal up to float32 rounding (the contract's tolerance), not bit
    # for bit; categoricals and dtypes identical
    assert got.dtypes.equals(ref.dtypes) and got.index.equals(ref.index)
    num = [c for c in ref.columns if c.startswith("num")]
    np.testing.assert_allclose(got[num], ref[num], rtol=1e-5, atol=1e-6)
    pd.testing.assert_frame_equal(got.drop(columns=num), ref.drop(columns=num))


@pytest.mark.parametrize("name", ["vsae", "vae", "missforest"])
@pytest.mark.parametrize("nparts", [1, 3, 7])
def test_transform_is_lazy_and_equals_pandas(fitted, table, name, nparts):
    est = fitted[name]
    ddf = dd.from_pandas(table, npartitions=nparts)
    out = est.transform(ddf)
    assert isinstance(out, dd.DataFrame)
    assert out.npartitions == nparts
    ref = est.transform(table)
    pd.testing.assert_frame_equal(out._meta, ref.iloc[:0])
    got = out.compute(scheduler="threads")
    _assert_same(got, ref, exact=name == "missforest" or nparts == 1)


def test_estimator_is_one_graph_node(fitted, table):
    est = fitted["vsae"]
    out = est.transform(dd.from_pandas(table, npartitions=5))
    graph = dict(out.__dask_graph__())
    names = {k: k[0] if isinstance(k, tuple) else k for k in graph}
    nodes = [k for k in graph if str(names[k]).startswith("VSAEImputer-")]
    assert len(nodes) == 1  # one node, every partition task refers to it
    # no partition task embeds the estimator itself
    embedded = [k for k, v in graph.items() if k not in nodes and _holds(v, est)]
    assert not embedded


def _holds(task, obj) -> bool:
    seen = [task]
    while seen:
        t = seen.pop()
        if t is obj:
            return True
        for attr in ("args", "kwargs", "value"):
            v = getattr(t, attr, None)
            if isinstance(v, dict):
                seen.extend(v.values())
            elif isinstance(v, (list, tuple)):
                seen.extend(v)
            elif v is not None and attr == "value":
                seen.append(v)
        if isinstance(t, (list, tuple)):
            seen.extend(t)
    return False


def test_unknown_categories_get_the_fitted_ones(fitted, table):
    est = fitted["vsae"]
    ddf = dd.from_pandas(table, npartitions=3)
    ddf = ddf.assign(cat0=ddf["cat0"].cat.as_unknown())
    out = est.transform(ddf)
    assert list(out._meta["cat0"].cat.categories) == list(est.encoder_.categories[4])
    _assert_same(out.compute(), est.transform(table), exact=False)


def test_unknown_category_label_is_named(fitted, table):
    est = fitted["vsae"]
    bad = table.assign(cat0=table["cat0"].astype(object))
    bad.loc[3, "cat0"] = "zzz"
    ddf = dd.from_pandas(bad, npartitions=2)
    ddf = ddf.assign(cat0=ddf["cat0"].astype("category").cat.as_unknown())
    with pytest.raises(ValueError, match="cat0.*zzz"):
        est.transform(ddf).compute()


def test_sample_per_partition_seeds(fitted, table):
    est = fitted["vsae"]
    ddf = dd.from_pandas(table, npartitions=3)
    a = [d.compute() for d in est.sample(ddf, n_draws=2, random_state=1)]
    b = [d.compute() for d in est.sample(ddf, n_draws=2, random_state=1)]
    c = est.sample(ddf, n_draws=1, random_state=2)[0].compute()
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)  # reproducible
    observed = table.notna().to_numpy()
    for draw in (*a, c):
        assert draw.dtypes.equals(table.dtypes)
        assert not draw.isna().any().any()
        v = draw.astype(object).to_numpy()
        assert (v[observed] == table.astype(object).to_numpy()[observed]).all()
    num = [col for col in table.columns if col.startswith("num")]
    assert not np.allclose(a[0][num], a[1][num])  # draws differ
    assert not np.allclose(a[0][num], c[num])  # seeds differ
    # partitions do not share noise: two identical partitions draw differently
    twin = dd.from_pandas(pd.concat([table.iloc[:100]] * 2), npartitions=2)
    (d,) = est.sample(twin, n_draws=1, random_state=0)
    d = d.compute()
    assert not np.allclose(d[num].iloc[:100], d[num].iloc[100:])


def test_bad_dask_input(fitted, table):
    est = fitted["vsae"]
    with pytest.raises(ValueError, match="columns differ"):
        est.transform(dd.from_pandas(table.drop(columns="num0"), npartitions=2))
    with pytest.raises(ValueError, match="n_draws"):
        est.sample(dd.from_pandas(table, npartitions=2), n_draws=0)


# ------------------------------------------------------------------ fit from Dask


def test_encoder_statistics_from_dask_match_pandas(fitted, table):
    from deepimpute._dask import summarize
    from deepimpute._data import TableEncoder

    est = fitted["vsae"]
    ddf = dd.from_pandas(table, npartitions=4)
    ddf = ddf.assign(cat1=ddf["cat1"].cat.as_unknown())  # found by one pass
    summary = summarize(ddf, est.spec_)
    enc = TableEncoder.from_summary(est.spec_, "error", summary)
    assert summary.n_rows == len(table)
    np.testing.assert_allclose(enc.loc, est.encoder_.loc, rtol=1e-12)
    np.testing.assert_allclose(enc.scale, est.encoder_.scale, rtol=1e-12)
    for a, b in zip(enc.categories, est.encoder_.categories, strict=True):
        assert (a is None and b is None) or list(a) == list(b)
    assert enc.layout == est.encoder_.layout


def test_stream_epochs_cover_training_partitions_in_new_orders(table):
    from deepimpute._dask import DaskStream, summarize
    from deepimpute._data import TableEncoder
    from deepimpute.schema import ColumnSpec

    ddf = dd.from_pandas(table, npartitions=10)
    spec = ColumnSpec.infer(table)
    summary = summarize(ddf, spec)
    enc, n = TableEncoder.from_summary(spec, "error", summary), summary.n_rows
    stream = DaskStream(
        ddf, enc, n, validation_fraction=0.2, seed=0, device=torch.device("cpu")
    )
    assert len(stream.val_parts) == 2 and len(stream.train_parts) == 8
    assert not set(stream.val_parts) & set(stream.train_parts)
    sizes = ddf.map_partitions(len).compute().to_numpy()
    torch.manual_seed(0)
    firsts = []
    for _ in range(2):
        batches = list(stream.train_batches(16))
        assert sum(b.n_rows for b in batches) == sizes[stream.train_parts].sum()
        assert all(b.n_rows <= 16 for b in batches)
        firsts.append(batches[0].x)
    assert not torch.equal(firsts[0], firsts[1])  # reshuffled every epoch
    val = sum(b.n_rows for b in stream.validation_batches(16))
    assert val == sizes[stream.val_parts].sum()


@pytest.fixture(scope="module")
def truth():
    full = make_mixed_data(2000, random_state=0).frame
    X, _ = simulate_missing(full, "mcar", 0.3, random_state=0)
    return full, X


def _err(full, X, est):
    num = [c for c in X.columns if c.startswith("num")]
    out = est.transform(X)[num].to_numpy()
    return nrmse(full[num].to_numpy(), out, missing=X[num].isna().to_numpy())


def test_fit_from_dask_trains_like_in_memory(truth):
    full, X = truth
    params = dict(
        hidden=(16,), latent_dim=2, max_iter=10, batch_size=32, random_state=0
    )
    ddf = dd.from_pandas(X, npartitions=8)
    streamed = VAEImputer(**params).fit(ddf)
    again = VAEImputer(**params).fit(ddf)
    for a, b in zip(
        streamed.module_.state_dict().values(),
        again.module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)  # reproducible under random_state
    memory = VAEImputer(**params).fit(X)
    num = [c for c in X.columns if c.startswith("num")]
    mean = nrmse(
        full[num].to_numpy(),
        X[num].fillna(X[num].mean()).to_numpy(),
        missing=X[num].isna().to_numpy(),
    )
    # stated tolerance: within 0.05 NRMSE of the in-memory fit (different batches
    # and validation rows), and clearly better than the column mean
    e_stream, e_memory = _err(full, X, streamed), _err(full, X, memory)
    assert abs(e_stream - e_memory) < 0.05, (e_stream, e_memory)
    assert e_stream < 0.85 * mean, (e_stream, e_memory, mean)
    assert streamed.feature_names_in_.tolist() == list(X.columns)
    lazy = VAEImputer(**{**params, "max_iter": 1}).fit_transform(ddf)
    assert isinstance(lazy, dd.DataFrame)


def test_methods_needing_every_row_fit_on_a_sample(table, monkeypatch):
    import deepimpute._dask as dask_impl

    monkeypatch.setattr(dask_impl, "SAMPLE_ROWS", 200)
    ddf = dd.from_pandas(table, npartitions=3)
    with pytest.warns(UserWarning, match="random sample of about 200 of the 600"):
        est = tiny("missforest").fit(ddf)
    out = est.transform(ddf).compute()
    assert not out.isna().any().any()


def test_fit_from_dask_refuses_an_entirely_missing_column(table):
    bad = table.assign(num0=np.nan)
    with pytest.raises(ValueError, match="num0.*entirely missing"):
        tiny("vae").fit(dd.from_pandas(bad, npartitions=2))




def test_transform_and_sample_on_a_local_cluster(client, fitted, table):
    est = fitted["vsae"]
    ddf = dd.from_pandas(table, npartitions=4)
    got = client.compute(est.transform(ddf)).result()
    _assert_same(got, est.transform(table), exact=False)
    (draw,) = est.sample(ddf, n_draws=1, random_state=3)
    (local,) = est.sample(ddf, n_draws=1, random_state=3)
    # the same seeds per partition on the workers as in this process
    pd.testing.assert_frame_equal(
        client.compute(draw).result(), local.compute(scheduler="sync")
    )


def test_fit_from_dask_on_a_local_cluster(client, truth):
    _, X = truth
    ddf = dd.from_pandas(X, npartitions=4)
    est = tiny("vae").fit(ddf)  # partitions are read through the cluster
    ref = tiny("vae").fit(ddf.compute())
    assert est.n_iter_ == ref.n_iter_
    out = client.compute(est.transform(ddf)).result()
    assert not out.isna().any().any()


def test_streamed_fit_keeps_the_sklearn_imputer_parameters(truth):
    """add_indicator, min_value / max_value and missing_values behave as in an
    in-memory fit when fitting from a Dask DataFrame."""
    full, X = truth
    num = [c for c in X.columns if c.startswith("num")]
    params = dict(
        hidden=(8,), latent_dim=2, max_iter=2, batch_size=32, random_state=0,
        add_indicator=True, min_value=-0.5, max_value=0.5,
    )
    ddf = dd.from_pandas(X, npartitions=4)
    streamed = VAEImputer(**params).fit(ddf)
    memory = VAEImputer(**params).fit(X)
    np.testing.assert_array_equal(
        streamed.indicator_.features_, memory.indicator_.features_
    )
    for bound in ("observed_low", "observed_high", "code_low", "code_high"):
        np.testing.assert_allclose(
            getattr(streamed.encoder_, bound), getattr(memory.encoder_, bound)
        )
    out = streamed.transform(X)
    assert list(out.columns) == list(streamed.get_feature_names_out())
    hidden = X[num].isna().to_numpy()
    imputed = out[num].to_numpy()[hidden]
    assert imputed.min() >= -0.5 and imputed.max() <= 0.5
    lazy = streamed.transform(ddf).compute()
    pd.testing.assert_frame_equal(lazy, out, check_exact=False, rtol=1e-5)
    with pytest.raises(ValueError, match="missing_values=-1 is not supported"):
        VAEImputer(**{**params, "missing_values": -1}).fit(ddf)
