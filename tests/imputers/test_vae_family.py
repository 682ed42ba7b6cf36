"""AE / VAE / CVAE-with-mask and HI-VAE: masking, determinism, sampling, mixed data."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import correlated_table

from deepimpute.imputers._hivae import HIVAEImputer
from deepimpute.imputers._vae import VAEImputer
from deepimpute.models.hivae import HIVAE
from deepimpute.training import Batch

SHARED = dict(max_iter=5, batch_size=32, random_state=0, device="cpu")
VARIANTS = {
    "ae": (VAEImputer, dict(variant="ae", hidden=(32, 32), latent_dim=3)),
    "vae": (VAEImputer, dict(hidden=(32, 32), latent_dim=3, n_draws=50)),
    "cvae": (
        VAEImputer, dict(variant="cvae", hidden=(32, 32), latent_dim=3, n_draws=50)
    ),
    "hivae": (HIVAEImputer, dict(hidden=(32,), latent_dim=3, n_components=4)),
}
NAMES = list(VARIANTS)


def make(name, **extra):
    cls, kwargs = VARIANTS[name]
    return cls(**{**SHARED, **kwargs, **extra})


def _batch(imputer, X):
    _, data = imputer.encoder_.encode(X)
    t = [torch.from_numpy(a) for a in (data.values, data.observed, data.attr_observed)]
    return Batch(*t, torch.arange(data.n_rows))


@pytest.fixture(scope="module")
def table():
    return correlated_table(n=200, p=5, missing_rate=0.3, seed=0)


@pytest.fixture(scope="module")
def fitted(table):
    return {name: make(name).fit(table[1]) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_hidden_entries_never_enter_the_loss(fitted, table, name):
    imp = fitted[name]
    batch = _batch(imp, table[1])
    noisy = batch.x + 100.0 * torch.randn_like(batch.x) * (1 - batch.observed)
    other = Batch(noisy, batch.observed, batch.attr_observed, batch.index)
    losses = []
    for b in (batch, other):
        torch.manual_seed(3)
        with torch.no_grad():
            losses.append(float(imp.module_.loss(b)))
    assert np.isfinite(losses[0]) and losses[0] == losses[1]


@pytest.mark.parametrize("name", NAMES)
def test_transform_is_deterministic_and_row_subset_invariant(fitted, table, name):
    imp, Xm = fitted[name], table[1]
    full = imp.transform(Xm)
    assert np.isfinite(full).all()
    np.testing.assert_array_equal(full, imp.transform(Xm))
    rows = np.array([5, 0, 17, 3, 150])
    np.testing.assert_allclose(imp.transform(Xm[rows]), full[rows], atol=1e-5)
    imp._inference_batch_size = 16
    try:
        np.testing.assert_allclose(imp.transform(Xm), full, atol=1e-5)
    finally:
        del imp._inference_batch_size


@pytest.mark.parametrize("name", NAMES)
def test_sample_draws_differ_and_keep_observed(fitted, table, name):
    imp, Xm = fitted[name], table[1]
    miss = np.isnan(Xm)
    d = imp.sample(Xm, n_draws=2, random_state=0)
    assert not np.allclose(d[0][miss], d[1][miss])
    np.testing.assert_array_equal(d[0][~miss], Xm[~miss])
    np.testing.assert_array_equal(d[1], imp.sample(Xm, n_draws=2, random_state=0)[1])


@pytest.mark.parametrize("name", NAMES)
def test_mixed_categorical_dataframe(table, name):
    X = table[0]
    r = np.random.default_rng(1)
    df = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    df["cat"] = pd.Categorical(np.where(X[:, 3] > 0, "hi", "lo"))
    df["s"] = np.where(X[:, 4] > 0.5, "x", np.where(X[:, 4] < -0.5, "y", "z"))
    df = df.mask(r.random(df.shape) < 0.2)
    out = make(name).fit(df).transform(df)
    assert list(out.columns) == list(df.columns)
    assert not out.isna().any().any()
    assert out["cat"].dtype == df["cat"].dtype
    assert set(out["s"]) <= {"x", "y", "z"}
    kept = df.notna()
    pd.testing.assert_frame_equal(out[kept], df[kept])


@pytest.mark.parametrize("name", NAMES)
def test_short_run_beats_column_mean(table, name):
    X, Xm = table
    miss = np.isnan(Xm)
    mean_fill = np.where(miss, np.nanmean(Xm, 0), Xm)
    out = make(name, max_iter=60, n_iter_no_change=None).fit_transform(Xm)
    rmse = np.sqrt(((out - X)[miss] ** 2).mean())
    rmse_mean = np.sqrt(((mean_fill - X)[miss] ** 2).mean())
    assert rmse < 0.8 * rmse_mean


def test_hivae_heads_read_only_their_attribute(table):
    """Attribute d's likelihood parameters depend on y_d (and s), never on y_e."""
    df = pd.DataFrame(table[0][:, :2], columns=["a", "b"])
    df["c"] = pd.Categorical(np.where(table[0][:, 2] > 0, "u", "v"))
    imp = make("hivae", max_iter=1, y_dim=2).fit(df)
    module = imp.module_
    assert isinstance(module, HIVAE)
    y = torch.zeros(1, 3 * 2, requires_grad=True)
    s = torch.zeros(1, 4)
    out = module.heads(y, s)
    # params: a (2: loc, scale), b (2), c (2 categories)
    owner = [0, 0, 1, 1, 2, 2]
    for p, attr in enumerate(owner):
        (grad,) = torch.autograd.grad(out[0, p], y, retain_graph=True)
        used = grad.reshape(3, 2).abs().sum(1) > 0
        assert used.tolist() == [a == attr for a in range(3)]


def test_cvae_conditions_on_the_mask(fitted, table):
    """Same values, different attribute mask -> different CVAE code and imputation."""
    imp = fitted["cvae"]
    batch = _batch(imp, table[1][:20])
    flipped = Batch(batch.x, batch.observed, 1 - batch.attr_observed, batch.index)
    with torch.no_grad():
        a = imp.module_._posterior(batch)[0]
        b = imp.module_._posterior(flipped)[0]
    assert not torch.allclose(a, b)
