"""The MIWAE torch core (deepimpute.models.miwae).

Checked: the training bound is the K-sample importance-weighted bound of the observed
entries (computed here independently with ``torch.distributions``), it is at least
the mean of its log-weights (Jensen) and tightens on average as K grows; missing
entries enter the encoder as zeros or as the learned fill vector, which only they
train; the latent size is capped for tiny tables; a short fit on a table driven by
two latent factors imputes a hidden column far better than its mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from deepimpute.models.miwae import MIWAE
from deepimpute.models.vae import take_rows
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch
from instances import correlated_table, encoded_batch, fit_core

#: every setting of the core (it has no defaults: the estimator passes them)
CORE = dict(latent_dim=2, hidden=(16,), numerical="gaussian", n_train_draws=5,
            n_draws=16, learn_fill=False, activation="relu")


@pytest.fixture(scope="module")
def table():
    X, Xm = correlated_table(n=300, p=5, missing_rate=0.0, seed=4)
    hidden = np.random.default_rng(5).random(300) < 0.3
    Xm[hidden, 0] = np.nan
    Xm[np.random.default_rng(6).random(300) < 0.1, 3] = np.nan
    enc, batch = encoded_batch(Xm)
    truth = (X[:, 0] - enc.loc[0]) / enc.scale[0]
    return enc, batch, torch.from_numpy(hidden), torch.from_numpy(truth).float()


def _model(layout, **kw) -> MIWAE:
    torch.manual_seed(0)
    return MIWAE(layout, **{**CORE, **kw}).eval()


def _log_weights_by_hand(model: MIWAE, batch: Batch, eps: torch.Tensor):
    """``log p(x_o | z) + log p(z) - log q(z | x_o)`` with torch.distributions,
    for a Gaussian (unit scale) or Student-t likelihood."""
    iota = batch.x * batch.observed + (1 - batch.observed) * model.fill
    loc, raw = model.encoder(iota).chunk(2, -1)
    q = Normal(loc, F.softplus(raw) + 1e-4)
    z = q.loc + q.scale * eps
    out = model.decoder(z)
    if model.likelihood.numerical == "gaussian":
        lik = Normal(out, 1.0)
    else:
        raise AssertionError("only the gaussian likelihood is rebuilt here")
    log_px = (lik.log_prob(batch.x) * batch.observed).sum(-1)
    return log_px + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)


def test_bound_is_the_importance_weighted_bound_of_the_observed_entries(table):
    enc, batch, _, _ = table
    rows = take_rows(batch, slice(0, 30))
    model = _model(enc.layout)
    torch.manual_seed(1)
    bound = model.bound(rows, 6)
    torch.manual_seed(1)
    eps = torch.randn(6, 30, 2)
    log_w = _log_weights_by_hand(model, rows, eps)
    expected = torch.logsumexp(log_w, 0) - math.log(6)
    torch.testing.assert_close(bound, expected, rtol=1e-5, atol=1e-5)
    # Jensen: the bound is at least the mean log-weight, for every row and draw set
    assert (expected >= log_w.mean(0) - 1e-6).all()
    assert model.loss(rows).ndim == 0


def test_bound_tightens_with_more_draws(table):
    enc, batch, _, _ = table
    model = _model(enc.layout)
    torch.manual_seed(2)
    with torch.no_grad():
        means = [float(model.bound(batch, k).mean()) for k in (1, 10, 100)]
    assert means[0] < means[1] < means[2]


def test_missing_entries_enter_the_encoder_as_the_fill(table):
    enc, batch, _, _ = table
    junk = torch.where(batch.observed.bool(), batch.x, torch.full_like(batch.x, 50.0))
    moved = Batch(junk, batch.observed, batch.attr_observed, batch.index)
    for learn_fill in (False, True):
        model = _model(enc.layout, learn_fill=learn_fill)
        assert model.fill.requires_grad is learn_fill
        assert torch.equal(model.fill, torch.zeros(enc.layout.width))
        torch.manual_seed(3)
        ref = model.loss(batch)
        torch.manual_seed(3)
        assert torch.equal(model.loss(moved), ref)
    # the learned fill is trained by the missing entries only: a column with no
    # missing entry keeps a zero gradient
    model = _model(enc.layout, learn_fill=True)
    model.loss(batch).backward()
    grad = model.fill.grad
    has_missing = (batch.observed == 0).any(0)
    assert (grad[~has_missing] == 0).all()
    assert (grad[has_missing] != 0).all()


def test_latent_size_is_capped_for_tiny_tables():
    layout = ModelLayout((AttributeLayout("a", "numerical", 0, 1),
                          AttributeLayout("b", "numerical", 1, 1)))
    assert _model(layout, latent_dim=10).latent_dim == 1
    wide = ModelLayout(tuple(AttributeLayout(f"c{j}", "numerical", j, 1)
                             for j in range(20)))
    assert _model(wide, latent_dim=10).latent_dim == 10


def test_weights_start_orthogonal(table):
    enc, _, _, _ = table
    model = _model(enc.layout, hidden=(16, 16))
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            w = layer.weight
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            torch.testing.assert_close(gram, torch.eye(gram.shape[0]), atol=1e-5,
                                       rtol=0)
            assert (layer.bias == 0).all()


def test_short_fit_imputes_a_hidden_column_from_the_others(table):
    enc, batch, hidden, truth = table
    model = _model(enc.layout, hidden=(32,), numerical="gaussian_learned")
    losses = fit_core(model, batch, steps=200)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    torch.manual_seed(4)
    with torch.no_grad():
        imputed = model.impute(batch)[:, 0]
        draws = torch.stack([model.sample(batch)[:, 0] for _ in range(3)])
    rmse = float((imputed - truth)[hidden].pow(2).mean().sqrt())
    mean_rmse = float(truth[hidden].pow(2).mean().sqrt())
    assert rmse < 0.35 * mean_rmse, (rmse, mean_rmse)
    # draws scatter around the truth, not around the column mean
    draw_rmse = float((draws - truth)[:, hidden].pow(2).mean().sqrt())
    assert draw_rmse < 0.6 * mean_rmse, (draw_rmse, mean_rmse)
    assert not torch.equal(draws[0], draws[1])
