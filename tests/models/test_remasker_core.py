"""Model-level tests of the ReMasker torch core."""

import math

import pytest
import torch

from deepimpute.models.remasker import ReMasker
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch, train

#: two numbers, one 3-category attribute, one 2x2 image
LAYOUT = ModelLayout((
    AttributeLayout("a", "numerical", 0, 1),
    AttributeLayout("b", "numerical", 1, 1),
    AttributeLayout("c", "categorical", 2, 3),
    AttributeLayout("img", "image", 5, 4, shape=(2, 2), likelihood="bernoulli"),
))
CORE = dict(embed_dim=8, depth=1, decoder_depth=1, n_heads=2, mlp_ratio=2.0,
            mask_ratio=0.5, numerical="gaussian", n_epochs=10, warmup_epochs=2,
            min_learning_rate=1e-5, weight_decay=0.05)


def _batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 9)
    x[:, :2] = torch.randn(n, 2, generator=g)
    x[torch.arange(n), 2 + torch.randint(3, (n,), generator=g)] = 1.0
    x[:, 5:] = (torch.rand(n, 4, generator=g) > 0.5).float()
    attr = (torch.rand(n, 4, generator=g) > 0.3).float()
    obs = attr[:, [0, 1, 2, 2, 2, 3, 3, 3, 3]].clone()
    obs[0, 5] = 0.0  # one pixel of row 0 missing, the rest of its image seen
    return Batch(x * obs, obs, attr, torch.arange(n))


def test_missing_values_do_not_reach_the_imputation():
    torch.manual_seed(0)
    model = ReMasker(LAYOUT, **CORE).eval()
    batch = _batch()
    out = model.impute(batch)
    # anything written into missing cells is ignored (the encoder never sees it)
    noisy = Batch(batch.x + 5.0 * (1 - batch.observed), batch.observed,
                  batch.attr_observed, batch.index)
    torch.testing.assert_close(model.impute(noisy), out)
    assert out.shape == (6, 9) and torch.isfinite(out).all()
    # category slots hold probabilities
    torch.testing.assert_close(out[:, 2:5].sum(1), torch.ones(6))


def test_imputation_is_row_wise():
    torch.manual_seed(0)
    model = ReMasker(LAYOUT, **CORE).eval()
    batch = _batch(n=6)
    whole = model.impute(batch)
    part = model.impute(Batch(batch.x[2:4], batch.observed[2:4],
                              batch.attr_observed[2:4], batch.index[2:4]))
    torch.testing.assert_close(part, whole[2:4])


def test_remask_hides_a_share_of_the_visible_attributes():
    torch.manual_seed(0)
    model = ReMasker(LAYOUT, **CORE)
    visible = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]],
                           dtype=torch.bool)
    keep = model._remask(visible)
    assert not (keep & ~visible).any()  # never shows a missing attribute
    # round(0.5 * k) hidden, at least one left visible
    assert keep.sum(1).tolist() == [2, 1, 1, 0]


def test_loss_averages_hidden_and_kept_cells_separately():
    torch.manual_seed(0)
    model = ReMasker(LAYOUT, **{**CORE, "mask_ratio": 0.0})
    batch = _batch()
    # nothing re-masked: the loss is the visible cells' mean negative log-lik.
    visible = model._visible(batch)
    out = model.forward_tokens(batch, visible)
    nll = -model.likelihood.log_prob(out, batch.x, batch.observed)
    expected = (nll * visible).sum() / visible.sum()
    torch.testing.assert_close(model.loss(batch), expected)


def test_schedule_warms_up_then_decays_to_the_minimum():
    model = ReMasker(LAYOUT, **CORE)
    model.configure_optimizers(1e-3)
    rates = [model.learning_rate_at(e) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[2:], rates[3:], strict=False))
    assert model.learning_rate_at(10) == pytest.approx(1e-5)
    assert math.isfinite(sum(rates))


def test_training_fits_a_copied_column():
    # b = a exactly: after training, a missing b is imputed close to a
    torch.manual_seed(0)
    layout = ModelLayout(tuple(AttributeLayout(f"x{j}", "numerical", j, 1)
                               for j in range(3)))
    n = 512
    a = torch.randn(n, 1)
    x = torch.cat([a, a, torch.randn(n, 1)], 1)
    obs = (torch.rand(n, 3) > 0.2).float()
    obs[:, 0] = 1.0
    model = ReMasker(layout, **{**CORE, "n_epochs": 30, "warmup_epochs": 1})
    train(model, (x * obs, obs, obs.clone()), max_iter=30, batch_size=64,
          learning_rate=3e-3, device=torch.device("cpu"), n_iter_no_change=None)
    test_x = torch.cat([a[:100], torch.zeros(100, 2)], 1)
    test_obs = torch.tensor([[1.0, 0.0, 0.0]]).repeat(100, 1)
    pred = model.impute(Batch(test_x, test_obs, test_obs, torch.arange(100)))
    err = (pred[:, 1] - a[:100, 0]).pow(2).mean().sqrt()
    assert err < 0.35  # the column's own spread is 1


def test_sample_draws_differ_and_keep_shapes():
    torch.manual_seed(0)
    model = ReMasker(LAYOUT, **CORE).eval()
    batch = _batch()
    a, b = model.sample(batch), model.sample(batch)
    assert a.shape == (6, 9) and not torch.equal(a, b)
    # categories are one-hot draws
    assert set(a[:, 2:5].sum(1).tolist()) == {1.0}


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match="multiple of n_heads"):
        ReMasker(LAYOUT, **{**CORE, "n_heads": 3})
    with pytest.raises(ValueError, match="mask_ratio"):
        ReMasker(LAYOUT, **{**CORE, "mask_ratio": 1.0})
