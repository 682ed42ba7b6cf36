"""Dask DataFrames through transform / sample (threaded scheduler and a cluster)."""

import numpy as np
import pandas as pd
import pytest

from deepimpute.datasets import make_mixed_data
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


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


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
