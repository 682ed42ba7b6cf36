"""MisGAN core: masking operator, WGAN-GP pieces, update schedule, imputation."""

import numpy as np
import pytest
import torch
from conftest import correlated_table
from torch import nn

from deepimpute._data import TableEncoder
from deepimpute._utils.scaling import unit_range
from deepimpute.models.misgan import (
    MaskTransform,
    MisGAN,
    critic_loss,
    gradient_penalty,
    mask_data,
)
from deepimpute.schema import ColumnSpec
from deepimpute.training import Batch

SMALL = dict(latent_dim=8, generator_hidden=(16,), critic_hidden=(16,),
             imputer_hidden=(16,))
#: the core's other settings (it has no defaults: the estimator passes them)
CORE = dict(n_critic=5, gp_weight=10.0, alpha=0.1, beta=0.1, gamma=0.0, tau=0.0,
            mask_transform="fusion", paper_beta_term=False, n_draws=1)


def _changed(before, net):
    after = list(net.parameters())
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_masking_operator():
    x = torch.tensor([[0.2, 0.7, 0.4]])
    m = torch.tensor([[1.0, 0.0, 1.0]])
    assert torch.equal(mask_data(x, m), torch.tensor([[0.2, 0.0, 0.4]]))
    assert torch.allclose(mask_data(x, m, tau=0.5), torch.tensor([[0.2, 0.5, 0.4]]))


def test_gradient_penalty_of_linear_critic():
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))  # unit gradient norm
    real, fake = torch.rand(10, 3), torch.rand(10, 3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(3.0)  # norm 3 -> (3 - 1)^2 = 4
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_critic_loss_sign():
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, 0.0]]))
        critic.bias.zero_()
    real, fake = torch.ones(4, 2), torch.zeros(4, 2)
    loss, d_fake = critic_loss(critic, real, fake, gp_weight=0.0)
    # critic minimises mean D(fake) - mean D(real)
    assert loss.item() == pytest.approx(-1.0) and d_fake.item() == 0.0


def test_mask_transform_range():
    a = torch.linspace(-20, 20, 101)
    fusion = MaskTransform("fusion")(a)
    assert float(fusion.min()) == 0.0 and float(fusion.max()) == 1.0
    sig = MaskTransform("sigmoid")(a)
    assert torch.all((sig >= 0) & (sig <= 1))
    with pytest.raises(ValueError, match="mask transform"):
        MaskTransform("hard")


def _model_and_batch(n=64, **kw):
    _, Xm = correlated_table(n=n, p=4)
    enc = TableEncoder(ColumnSpec.infer(Xm)).fit(Xm)
    _, data = enc.encode(Xm)
    low, span = unit_range(enc.layout, data)
    model = MisGAN(enc.layout, torch.from_numpy(low), torch.from_numpy(span),
                   **{**SMALL, **CORE, **kw})
    batch = Batch(*(torch.from_numpy(a) for a in
                    (data.values, data.observed, data.attr_observed)),
                  torch.arange(n))
    return model, batch


def test_generators_step_every_n_critic_batches():
    torch.manual_seed(0)
    model, batch = _model_and_batch(n_critic=3)
    opts = model.configure_optimizers(1e-3)
    nets = (model.data_generator, model.mask_generator, model.imputer)
    before = [[p.clone() for p in net.parameters()] for net in nets]
    critic0 = [p.clone() for p in model.imputer_critic.parameters()]
    for _ in range(2):
        logs = model.training_step(batch, opts)
    assert set(logs) == {"loss", "d_x", "d_m", "d_i"}
    assert all(np.isfinite(v) for v in logs.values())
    assert _changed(critic0, model.imputer_critic)
    assert not any(_changed(b, net) for b, net in zip(before, nets, strict=True))
    model.training_step(batch, opts)
    assert all(_changed(b, net) for b, net in zip(before, nets, strict=True))


def test_impute_keeps_observed_and_averages_draws():
    torch.manual_seed(0)
    model, batch = _model_and_batch(n_draws=4)
    model.eval()
    with torch.no_grad():
        out = model.impute(batch)
        draw = model.sample(batch)
    obs = batch.observed.bool()
    torch.testing.assert_close(out[obs], batch.x[obs], atol=1e-5, rtol=0)
    torch.testing.assert_close(draw[obs], batch.x[obs], atol=1e-5, rtol=0)
    # imputations stay inside the training range of each numerical slot
    u = model.scaling.to_unit(out)
    assert torch.all((u > -1e-5) & (u < 1 + 1e-5))

