"""MIWAE: the importance-weighted bound, masking, determinism, sampling, mixed data."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import correlated_table

from deepimpute.imputers._miwae import MIWAEImputer
from deepimpute.models.miwae import MIWAE
from deepimpute.training import Batch

TINY = dict(
    hidden=(32, 32), latent_dim=3, n_train_draws=5, n_draws=50, max_iter=5,
    batch_size=32, random_state=0, device="cpu",
)


def _batch(imputer, X):
    _, data = imputer.encoder_.encode(X)
    t = [torch.from_numpy(a) for a in (data.values, data.observed, data.attr_observed)]
    return Batch(*t, torch.arange(data.n_rows))


@pytest.fixture(scope="module")
def table():
    return correlated_table(n=200, p=5, missing_rate=0.3, seed=0)


@pytest.fixture(scope="module")
def fitted(table):
    return MIWAEImputer(**TINY).fit(table[1])


def test_bound_increases_with_k(fitted, table):
    """IWAE property: E[L_1] <= E[L_20] on a fixed model."""
    module, batch = fitted.module_, _batch(fitted, table[1])
    torch.manual_seed(0)
    with torch.no_grad():
        l1 = torch.stack([module.bound(batch, 1) for _ in range(200)]).mean()
        l20 = torch.stack([module.bound(batch, 20) for _ in range(10)]).mean()
    assert float(l1) < float(l20)


@pytest.mark.parametrize("fill", ["zeros", "learned"])
def test_hidden_entries_never_enter_the_loss(table, fill):
    imp = MIWAEImputer(**{**TINY, "max_iter": 1, "fill": fill}).fit(table[1])
    batch = _batch(imp, table[1])
    noisy = batch.x + 100.0 * torch.randn_like(batch.x) * (1 - batch.observed)
    other = Batch(noisy, batch.observed, batch.attr_observed, batch.index)
    losses = []
    for b in (batch, other):
        torch.manual_seed(3)
        with torch.no_grad():
            losses.append(float(imp.module_.loss(b)))
    assert losses[0] == losses[1]


def test_transform_is_deterministic_and_row_subset_invariant(fitted, table):
    Xm = table[1]
    full = fitted.transform(Xm)
    np.testing.assert_array_equal(full, fitted.transform(Xm))
    rows = np.array([5, 0, 17, 3, 150])
    np.testing.assert_allclose(fitted.transform(Xm[rows]), full[rows], atol=1e-5)
    fitted._inference_batch_size = 16  # several inference batches
    try:
        np.testing.assert_allclose(fitted.transform(Xm), full, atol=1e-5)
    finally:
        del fitted._inference_batch_size


def test_sample_draws_differ_and_keep_observed(fitted, table):
    Xm = table[1]
    d = fitted.sample(Xm, n_draws=2, random_state=0)
    miss = np.isnan(Xm)
    assert not np.allclose(d[0][miss], d[1][miss])
    np.testing.assert_array_equal(d[0][~miss], Xm[~miss])
    again = fitted.sample(Xm, n_draws=2, random_state=0)
    np.testing.assert_array_equal(d[1], again[1])


def test_mixed_categorical_dataframe(table):
    X = table[0]
    r = np.random.default_rng(1)
    df = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    df["cat"] = pd.Categorical(np.where(X[:, 3] > 0, "hi", "lo"))
    df["s"] = np.where(X[:, 4] > 0.5, "x", np.where(X[:, 4] < -0.5, "y", "z"))
    df = df.mask(r.random(df.shape) < 0.2)
    out = MIWAEImputer(**TINY).fit(df).transform(df)
    assert list(out.columns) == list(df.columns)
    assert not out.isna().any().any()
    assert out["cat"].dtype == df["cat"].dtype
    assert set(out["s"]) <= {"x", "y", "z"}


def test_latent_capped_for_tiny_tables():
    X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    imp = MIWAEImputer(**{**TINY, "latent_dim": 10}).fit(X)
    assert isinstance(imp.module_, MIWAE) and imp.module_.latent_dim == 1
    assert np.isfinite(imp.transform(X)).all()


def test_short_run_beats_column_mean(table):
    X, Xm = table
    miss = np.isnan(Xm)
    mean_fill = np.where(miss, np.nanmean(Xm, 0), Xm)
    imp = MIWAEImputer(**{**TINY, "max_iter": 40, "n_draws": 200})
    out = imp.fit_transform(Xm)
    rmse = np.sqrt(((out - X)[miss] ** 2).mean())
    rmse_mean = np.sqrt(((mean_fill - X)[miss] ** 2).mean())
    assert rmse < 0.8 * rmse_mean
