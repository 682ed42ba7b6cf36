"""The VAE-family torch core (deepimpute.models.vae): AE, VAE and CVAE with the mask.

Checked: the loss is the negative ELBO of the observed entries only (missing values
and their zero fill do not enter it; the AE has no KL term), the CVAE and only the
CVAE reads the mask, imputation is the self-normalised importance-sampling mean with
noise shared by the rows (so a row's imputation does not depend on its batch), and a
short fit on a table driven by two latent factors imputes a hidden column far better
than its mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from deepimpute.models.vae import VAE, take_rows
from deepimpute.training import Batch
from instances import correlated_table, encoded_batch, fit_core

#: every setting of the core (it has no defaults: the estimator passes them)
CORE = dict(latent_dim=2, hidden=(16,), numerical="gaussian", n_draws=16)
VARIANTS = {
    "vae": dict(condition_on_mask=False, deterministic=False),
    "cvae": dict(condition_on_mask=True, deterministic=False),
    "ae": dict(condition_on_mask=False, deterministic=True),
}


@pytest.fixture(scope="module")
def table():
    X, Xm = correlated_table(n=300, p=5, missing_rate=0.0, seed=4)
    hidden = np.random.default_rng(5).random(300) < 0.3
    Xm[hidden, 0] = np.nan  # one column missing completely at random
    enc, batch = encoded_batch(Xm)
    truth = (X[:, 0] - enc.loc[0]) / enc.scale[0]  # in column codes
    return batch, torch.from_numpy(hidden), torch.from_numpy(truth).float()


def _model(variant: str, layout, **kw) -> VAE:
    torch.manual_seed(0)
    return VAE(layout, **{**CORE, **VARIANTS[variant], **kw}).eval()


def _with_x(batch: Batch, x: torch.Tensor) -> Batch:
    return Batch(x, batch.observed, batch.attr_observed, batch.index)


def _layout_of(batch: Batch):
    from deepimpute.schema import AttributeLayout, ModelLayout

    width = batch.x.shape[1]
    return ModelLayout(tuple(
        AttributeLayout(f"c{j}", "numerical", j, 1) for j in range(width)
    ))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_missing_values_do_not_enter_the_loss(table, variant):
    batch, hidden, _ = table
    model = _model(variant, _layout_of(batch))
    junk = torch.where(batch.observed.bool(), batch.x, torch.full_like(batch.x, 1e3))
    torch.manual_seed(1)
    ref = model.loss(batch)
    torch.manual_seed(1)
    assert torch.equal(model.loss(_with_x(batch, junk)), ref)
    torch.manual_seed(2)
    ref = model.impute(batch)
    torch.manual_seed(2)
    assert torch.equal(model.impute(_with_x(batch, junk)), ref)


def test_loss_is_the_negative_elbo_of_the_observed_entries(table):
    batch, _, _ = table
    rows = take_rows(batch, slice(0, 12))
    model = _model("vae", _layout_of(batch))
    mu, logvar = model._posterior(rows)
    torch.manual_seed(2)
    loss = model.loss(rows)
    torch.manual_seed(2)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    loc = model.decoder(z)[:, ::1]  # gaussian: one location per column, scale 1
    ll = (Normal(loc, 1.0).log_prob(rows.x) * rows.observed).sum(-1)
    q = Normal(mu, torch.exp(0.5 * logvar))
    kl = torch.distributions.kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(loss, (kl - ll).mean(), rtol=1e-5, atol=1e-5)
    # the plain autoencoder: reconstruction at the encoder mean, no KL term
    ae = _model("ae", _layout_of(batch))
    mu, _ = ae._posterior(rows)
    ll = (Normal(ae.decoder(mu), 1.0).log_prob(rows.x) * rows.observed).sum(-1)
    torch.testing.assert_close(ae.loss(rows), -ll.mean(), rtol=1e-5, atol=1e-5)


def test_only_the_cvae_reads_the_mask(table):
    batch, _, _ = table
    layout = _layout_of(batch)
    flipped = Batch(batch.x, batch.observed, 1.0 - batch.attr_observed, batch.index)
    for variant in VARIANTS:
        model = _model(variant, layout)
        torch.manual_seed(3)
        a = model.impute(batch)
        torch.manual_seed(3)
        b = model.impute(flipped)
        assert torch.equal(a, b) == (variant != "cvae"), variant
    assert _model("cvae", layout).encoder[0].in_features == 2 * layout.width


def test_imputation_is_the_importance_weighted_mean_with_shared_noise(table):
    batch, _, _ = table
    model = _model("vae", _layout_of(batch), n_draws=7)
    rows = take_rows(batch, slice(0, 20))
    torch.manual_seed(4)
    out = model.impute(rows)
    torch.manual_seed(4)
    eps = torch.randn(7, 1, 2)  # one draw set for every row
    mu, logvar = model._posterior(rows)
    z = mu + torch.exp(0.5 * logvar) * eps  # (7, n, 2)
    loc = model.decoder(z)
    log_w = (
        (Normal(loc, 1.0).log_prob(rows.x) * rows.observed).sum(-1)
        + Normal(0.0, 1.0).log_prob(z).sum(-1)
        - Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    )
    w = torch.softmax(log_w, 0)
    torch.testing.assert_close(out, (w[..., None] * loc).sum(0), rtol=1e-5, atol=1e-5)
    # shared noise: a row imputed alone equals the same row in the batch
    for i in (0, 7, 19):
        torch.manual_seed(4)
        alone = model.impute(take_rows(rows, slice(i, i + 1)))
        torch.testing.assert_close(alone[0], out[i], rtol=1e-5, atol=1e-6)


def test_sample_draws_vary_and_follow_the_likelihood(table):
    batch, _, _ = table
    model = _model("vae", _layout_of(batch))
    torch.manual_seed(5)
    with torch.no_grad():
        a, b = model.sample(batch), model.sample(batch)
    assert a.shape == batch.x.shape and torch.isfinite(a).all()
    assert not torch.equal(a, b)
    # unit-variance Gaussian likelihood: draws spread about 1 around the means
    spread = (a - b).std() / math.sqrt(2)
    assert 0.8 < float(spread) < 1.5


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_short_fit_imputes_a_hidden_column_from_the_others(table, variant):
    batch, hidden, truth = table
    # a learned scale: with unit variance on standardised columns the VAE keeps
    # only the directions whose variance exceeds 1 (posterior collapse)
    model = _model(variant, _layout_of(batch), hidden=(32,),
                   numerical="gaussian_learned")
    losses = fit_core(model, batch, steps=200)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    torch.manual_seed(6)
    with torch.no_grad():
        imputed = model.impute(batch)[:, 0]
    rmse = float(((imputed - truth)[hidden]).pow(2).mean().sqrt())
    mean_rmse = float(truth[hidden].pow(2).mean().sqrt())  # codes: the mean is 0
    # the column is 2-factor linear in the others plus 10 % noise
    assert rmse < 0.35 * mean_rmse, (rmse, mean_rmse)
