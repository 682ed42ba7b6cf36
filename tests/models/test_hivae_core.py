"""The HI-VAE torch core (deepimpute.models.hivae): a VAE with a Gaussian-mixture
prior and per-attribute likelihood heads.

Checked: the ELBO sums over the mixture components exactly (rebuilt here with
``torch.distributions``) and leaves missing entries out; each attribute's likelihood
parameters read only its own code ``y_d`` and ``s``; imputation (the decoder mean at
the posterior mode) is deterministic and row-independent; draws are one-hot for
categories; a short fit on a table of two clusters recovers the clusters in
``q(s | x_o)`` and imputes a hidden column near its cluster's mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from deepimpute.models.hivae import HIVAE, _param_attributes
from deepimpute.models.vae import take_rows
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch
from instances import encoded_batch, fit_core

#: every setting of the core (it has no defaults: the estimator passes them)
CORE = dict(n_components=3, latent_dim=2, y_dim=2, hidden=(16,),
            numerical="gaussian", activation="relu")


@pytest.fixture(scope="module")
def clusters():
    """Two clusters of 300 rows: three numerical columns at +-2.5 (sd 0.5) and a
    categorical column naming the cluster (10 % of it flipped); column ``a``
    hidden in 30 % of the rows."""
    r = np.random.default_rng(0)
    n = 300
    label = r.integers(0, 2, n)
    centre = np.where(label[:, None] == 1, 2.5, -2.5)
    num = centre + 0.5 * r.normal(size=(n, 3))
    tag = np.where(r.random(n) < 0.1, 1 - label, label)
    X = pd.DataFrame({"a": num[:, 0], "b": num[:, 1], "c": num[:, 2],
                      "k": pd.Series(np.where(tag == 1, "hi", "lo"), dtype=object)})
    hidden = r.random(n) < 0.3
    Xm = X.copy()
    Xm.loc[hidden, "a"] = np.nan
    enc, batch = encoded_batch(Xm)
    truth = (X["a"].to_numpy() - enc.loc[0]) / enc.scale[0]
    return enc, batch, label, hidden, torch.from_numpy(truth).float()


def _model(layout, **kw) -> HIVAE:
    torch.manual_seed(0)
    return HIVAE(layout, **{**CORE, **kw}).eval()


def _elbo_by_hand(model: HIVAE, batch: Batch, eps: torch.Tensor) -> torch.Tensor:
    """sum_s q(s) [E log p(x_o | z, s) - KL(q(z | s) || p(z | s))] - KL(q(s) || p(s))
    for a Gaussian (unit scale) numerical likelihood and softmax categories."""
    k = model.n_components
    x0 = batch.x * batch.observed
    qs = torch.softmax(model.s_encoder(x0), -1)  # (n, K)
    total = torch.zeros(batch.n_rows)
    for j in range(k):
        s = F.one_hot(torch.full((batch.n_rows,), j), k).float()
        mu, logvar = model.z_encoder(torch.cat([x0, s], -1)).chunk(2, -1)
        logvar = logvar.clamp(-12.0, 8.0)
        q = Normal(mu, torch.exp(0.5 * logvar))
        z = q.loc + q.scale * eps[j]
        out = model.heads(model.g(z), s)
        ll = model.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
        kl_z = kl_divergence(q, Normal(model.prior_mean(s), 1.0)).sum(-1)
        total = total + qs[:, j] * (ll - kl_z)
    kl_s = (qs * (qs.log() - math.log(1.0 / k))).sum(-1)
    return total - kl_s


def test_elbo_sums_over_the_components_exactly(clusters):
    enc, batch, *_ = clusters
    rows = take_rows(batch, slice(0, 25))
    model = _model(enc.layout)
    torch.manual_seed(1)
    elbo = model.elbo(rows)
    torch.manual_seed(1)
    eps = torch.randn(3, 25, 2)
    torch.testing.assert_close(elbo, _elbo_by_hand(model, rows, eps), rtol=1e-5,
                               atol=1e-4)
    torch.manual_seed(1)
    torch.testing.assert_close(model.loss(rows), -elbo.mean())


def test_numerical_likelihood_is_gaussian_on_the_observed_entries(clusters):
    enc, batch, *_ = clusters
    model = _model(enc.layout)
    out = torch.randn(5, model.likelihood.n_params)
    rows = take_rows(batch, slice(0, 5))
    lp = model.likelihood.log_prob(out, rows.x, rows.observed)
    by_hand = Normal(out[:, :3], 1.0).log_prob(rows.x[:, :3]) * rows.observed[:, :3]
    torch.testing.assert_close(lp[:, :3], by_hand, rtol=1e-5, atol=1e-5)


def test_missing_values_enter_neither_the_elbo_nor_the_imputation(clusters):
    enc, batch, *_ = clusters
    model = _model(enc.layout)
    junk = torch.where(batch.observed.bool(), batch.x, torch.full_like(batch.x, 9.0))
    moved = Batch(junk, batch.observed, batch.attr_observed, batch.index)
    torch.manual_seed(2)
    ref = model.elbo(batch)
    torch.manual_seed(2)
    assert torch.equal(model.elbo(moved), ref)
    assert torch.equal(model.impute(moved), model.impute(batch))


def test_each_attribute_reads_only_its_own_code():
    # numerical (student_t: 3 parameters), categorical (3), numerical, image (2)
    layout = ModelLayout((
        AttributeLayout("a", "numerical", 0, 1),
        AttributeLayout("b", "categorical", 1, 3),
        AttributeLayout("c", "numerical", 4, 1),
        AttributeLayout("d", "image", 5, 2, (2,), "gaussian"),
    ))
    model = _model(layout, numerical="student_t", y_dim=2)
    owner = _param_attributes(layout, model.likelihood.n_params)
    assert owner.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    y = torch.randn(4, 4 * 2)
    s = F.one_hot(torch.tensor([0, 1, 2, 0]), 3).float()
    base = model.heads(y, s)
    for a in range(4):
        bumped = y.clone()
        bumped[:, 2 * a: 2 * a + 2] += 1.0
        changed = (model.heads(bumped, s) != base).any(0)
        assert changed.tolist() == (owner == a).tolist(), a
    # s moves every attribute's parameters
    other = F.one_hot(torch.tensor([1, 2, 0, 1]), 3).float()
    assert (model.heads(y, other) != base).any(0).all()


def test_imputation_is_deterministic_and_row_independent(clusters):
    enc, batch, *_ = clusters
    model = _model(enc.layout)
    out = model.impute(batch)
    assert torch.equal(model.impute(batch), out)
    for i in (0, 13, 299):
        alone = model.impute(take_rows(batch, slice(i, i + 1)))
        torch.testing.assert_close(alone[0], out[i], rtol=1e-5, atol=1e-6)
    cat = enc.layout.attributes[3].slice
    torch.testing.assert_close(out[:, cat].sum(1), torch.ones(300))


def test_draws_vary_and_are_one_hot_for_categories(clusters):
    enc, batch, *_ = clusters
    model = _model(enc.layout)
    torch.manual_seed(3)
    with torch.no_grad():
        a, b = model.sample(batch), model.sample(batch)
    assert torch.isfinite(a).all() and not torch.equal(a, b)
    cat = a[:, enc.layout.attributes[3].slice]
    assert ((cat == 0) | (cat == 1)).all() and (cat.sum(1) == 1).all()


def test_short_fit_finds_the_clusters_and_imputes_near_their_means(clusters):
    enc, batch, label, hidden, truth = clusters
    model = _model(enc.layout, n_components=2, hidden=(32,),
                   numerical="gaussian_learned")
    losses = fit_core(model, batch, steps=200)
    assert np.mean(losses[-20:]) < np.mean(losses[:20])
    with torch.no_grad():
        s = model.s_encoder(batch.x * batch.observed).argmax(-1).numpy()
        imputed = model.impute(batch)[:, 0]
    agreement = max((s == label).mean(), (s != label).mean())  # up to a relabelling
    assert agreement > 0.85, agreement
    h = torch.from_numpy(hidden)
    rmse = float((imputed - truth)[h].pow(2).mean().sqrt())
    mean_rmse = float(truth[h].pow(2).mean().sqrt())
    # within-cluster sd is 0.5 of 2.55 overall: the best possible ratio is ~0.2
    assert rmse < 0.4 * mean_rmse, (rmse, mean_rmse)
