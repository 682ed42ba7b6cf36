"""Memory that grows with the cells, not the categories (issue 31, item 2).

The model view is kept compact (float32 elements, integer category codes) and
expanded into one-hot blocks by rows only; identifier-like columns are refused by
the models and imputed by their mode by ``MeanModeImputer``.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from deepimpute import training
from deepimpute._data import (
    IDENTIFIER_MIN_CATEGORIES,
    EncodedTable,
    TableEncoder,
)
from deepimpute.imputers import MeanModeImputer, MissForestImputer, VAEImputer
from deepimpute.schema import Categorical, ColumnSpec, Image, Numerical
from tests.instances import tiny


def _mixed(n=60, seed=0):
    """Numerical, categorical and a 2x2 image block, with holes everywhere."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": z + 0.1 * rng.normal(size=n),
            "kind": np.where(z > 0.4, "hi", np.where(z < -0.4, "lo", "mid")),
            "b": -z + 0.3 * rng.normal(size=n),
            "p0": rng.random(n),
            "p1": rng.random(n),
            "p2": rng.random(n),
            "p3": rng.random(n),
            "shade": rng.choice(["x", "y"], size=n),
        }
    )
    frame = frame.astype(object).mask(rng.random(frame.shape) < 0.2)
    for col in ("a", "b", "p0", "p1", "p2", "p3"):
        frame[col] = frame[col].astype(float)
    spec = ColumnSpec(
        [
            Numerical("a"),
            Categorical("kind"),
            Numerical("b"),
            Image(("p0", "p1", "p2", "p3"), (2, 2)),
            Categorical("shade"),
        ]
    )
    return frame, spec


def _reference_view(enc: TableEncoder, C: np.ndarray):
    """The dense model view as it was built before (one-hot of every row)."""
    n, lay = C.shape[0], enc.layout
    values = np.zeros((n, lay.width), dtype=np.float32)
    observed = np.zeros((n, lay.width), dtype=np.float32)
    attr = np.zeros((n, lay.n_attributes), dtype=np.float32)
    for a, (al, pos) in enumerate(zip(lay.attributes, enc.positions, strict=True)):
        block = C[:, pos]
        obs = ~np.isnan(block)
        if al.kind == "categorical":
            rows = np.flatnonzero(obs[:, 0])
            values[rows, al.start + block[rows, 0].astype(np.intp)] = 1.0
            observed[:, al.slice] = obs[:, :1]
        else:
            values[:, al.slice] = np.where(obs, block, 0.0)
            observed[:, al.slice] = obs
        attr[:, a] = obs.all(axis=1)
    return values, observed, attr


def test_compact_view_expands_to_the_dense_model_view():
    frame, spec = _mixed()
    enc = TableEncoder(spec).fit(frame)
    C, data = enc.encode(frame)
    want = _reference_view(enc, C)
    for got, ref in zip(data.take(), want, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, ref)
    rows = np.array([5, 0, 17, 17, 42])
    for got, ref in zip(data.take(rows), want, strict=True):
        np.testing.assert_array_equal(got, ref[rows])
    np.testing.assert_array_equal(data.values, want[0])
    np.testing.assert_array_equal(data.attr_observed, want[2])
    # the GAN imputers' per-slot ranges read the observed values of a slot
    slot = enc.layout.attributes[2].start  # "b"
    np.testing.assert_array_equal(
        data.observed_values(slot), want[0][want[1][:, slot] > 0, slot]
    )


def _array_bytes(obj) -> int:
    return sum(v.nbytes for v in vars(obj).values() if isinstance(v, np.ndarray))


def test_model_view_memory_does_not_grow_with_the_categories():
    n = 3000
    rng = np.random.default_rng(0)
    ids = [f"id{i}" for i in range(n)]
    frame = pd.DataFrame({"x": rng.normal(size=n), "id": ids})
    spec = ColumnSpec([Numerical("x"), Categorical("id", categories=tuple(ids))])
    enc = TableEncoder(spec).fit(frame)
    _, data = enc.encode(frame)
    assert enc.layout.width == n + 1
    # 4 bytes a cell (float32 number, int32 code), not n * (n + 1) one-hot slots
    assert _array_bytes(data) <= 4 * n * 2
    # a batch of rows expands to the model's width, and only that batch
    values, observed, attr = data.take(np.arange(10, 20))
    assert values.shape == observed.shape == (10, n + 1)
    assert values[:, 1:].sum(axis=1).tolist() == [1.0] * 10


def _id_table(n, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "id": [f"id{i}" for i in range(n)]}
    )
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    frame.loc[rng.random(n) < 0.1, "id"] = None
    return frame


def test_mean_mode_imputes_an_identifier_by_its_mode_without_one_hot():
    n = 5000  # a dense one-hot would be 2 * n * n * 4 bytes = 200 MB
    frame = _id_table(n)
    frame.loc[:2, "id"] = "id7"  # the mode
    before = frame.copy()
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="'id' looks like an identifier"):
            imp = MeanModeImputer().fit(frame)
        out = imp.transform(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MB"
    pd.testing.assert_frame_equal(frame, before)  # the caller's data untouched
    holes = before["id"].isna()
    assert (out.loc[holes, "id"] == "id7").all()
    pd.testing.assert_series_equal(out.loc[~holes, "id"], before.loc[~holes, "id"])


@pytest.mark.parametrize("cls", [VAEImputer, MissForestImputer])
def test_models_refuse_an_identifier_naming_it(cls):
    frame = _id_table(IDENTIFIER_MIN_CATEGORIES + 300)
    est = cls(random_state=0)
    if "max_iter" in est.get_params():
        est.set_params(max_iter=1)
    with pytest.raises(ValueError, match=r"Column 'id' looks like an identifier"):
        est.fit(frame)


def test_identifier_rule_spares_repeated_categories_and_declared_ones():
    n = 4 * IDENTIFIER_MIN_CATEGORIES
    rng = np.random.default_rng(1)
    codes = rng.integers(0, IDENTIFIER_MIN_CATEGORIES + 200, size=n)
    frame = pd.DataFrame({"x": rng.normal(size=n), "c": [f"c{k}" for k in codes]})
    spec = ColumnSpec.infer(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TableEncoder(spec).fit(frame)  # many categories, each seen about 3 times
    ids = _id_table(IDENTIFIER_MIN_CATEGORIES + 300)
    declared = ColumnSpec(
        [Numerical("x"), Categorical("id", categories=tuple(ids["id"].dropna()))]
    )
    enc = TableEncoder(declared).fit(ids)
    assert enc.layout.attributes[1].width == ids["id"].notna().sum()


def test_identifier_rule_counts_the_rows_of_a_dask_summary():
    dd = pytest.importorskip("dask.dataframe")
    from deepimpute import _dask

    n = 3 * IDENTIFIER_MIN_CATEGORIES
    rng = np.random.default_rng(2)
    codes = rng.integers(0, IDENTIFIER_MIN_CATEGORIES + 100, size=n)
    frame = pd.DataFrame({"x": rng.normal(size=n), "c": [f"c{k}" for k in codes]})
    spec = ColumnSpec.infer(frame)
    summary = _dask.summarize(dd.from_pandas(frame, npartitions=3), spec)
    enc = TableEncoder.from_summary(spec, "error", summary)  # not an identifier
    assert enc.layout.attributes[1].width == frame["c"].nunique()
    ids = _id_table(IDENTIFIER_MIN_CATEGORIES + 300)
    spec = ColumnSpec.infer(ids)
    summary = _dask.summarize(dd.from_pandas(ids, npartitions=3), spec)
    with pytest.raises(ValueError, match="'id' looks like an identifier"):
        TableEncoder.from_summary(spec, "error", summary)


@pytest.mark.parametrize(
    "name",
    ["vae", *(pytest.param(m, marks=pytest.mark.slow) for m in ("gain", "rvi",
                                                                 "diffputer"))],
)
def test_batches_expanded_per_batch_give_the_same_imputations(name, monkeypatch):
    """The per-batch path (wide tables) and the whole-table path (narrow ones)
    train and impute on the same batches, bit for bit."""
    frame, _ = _mixed(n=80, seed=3)
    frame = frame.drop(columns=["p0", "p1", "p2", "p3"])

    def run():
        est = tiny(name)
        out = est.fit_transform(frame)
        return out, est.transform(frame), est.sample(frame, 2, random_state=1)

    dense = run()
    monkeypatch.setattr(training, "DENSE_FACTOR", 0)  # every table per batch
    seen = []
    take = EncodedTable.take

    def spy(self, rows=None):
        seen.append(rows is None)
        return take(self, rows)

    monkeypatch.setattr(EncodedTable, "take", spy)
    batched = run()
    assert seen and not any(seen[:3]), "batches were not expanded by rows"
    for a, b in zip(dense[:2], batched[:2], strict=True):
        pd.testing.assert_frame_equal(a, b)
    for a, b in zip(dense[2], batched[2], strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_wide_table_is_expanded_per_batch():
    """With many categories the training loop never holds the whole one-hot."""
    n = 1500
    rng = np.random.default_rng(4)
    labels = tuple(f"c{i}" for i in range(1200))
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "c": rng.choice(np.array(labels), size=n)}
    )
    frame.loc[rng.random(n) < 0.2, "x"] = np.nan
    spec = ColumnSpec([Numerical("x"), Categorical("c", categories=labels)])
    enc = TableEncoder(spec).fit(frame)
    _, data = enc.encode(frame)
    assert isinstance(training.table_rows(data), training.TableRows)
    est = VAEImputer(column_spec=spec, max_iter=1, batch_size=64, hidden=(8,),
                     latent_dim=2, n_draws=4, random_state=0)
    out = est.fit_transform(frame)
    assert out["x"].notna().all()
    pd.testing.assert_series_equal(out["c"], frame["c"])


def test_importance_chunks_shrink_with_the_model_width():
    from deepimpute.nn.importance import ELEMENT_BUDGET, SAMPLE_BUDGET, row_chunks

    def steps(**kw):
        return [s.stop - s.start for s in row_chunks(1024, 10, **kw)]

    assert steps() == steps(width=8) == [1024]  # narrow views: as before
    wide = steps(width=20_000)
    assert max(wide) * 10 * 20_000 <= ELEMENT_BUDGET and sum(wide) == 1024
    assert max(steps(width=10**9)) == 1  # at least one row
    assert steps(budget=SAMPLE_BUDGET) == [1024]
