"""Model-level tests of the DiffPuter torch core."""

import pytest
import torch

from deepimpute.models.diffputer import SIGMA_MAX, SIGMA_MIN, DiffPuter
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch

LAYOUT = ModelLayout((
    AttributeLayout("a", "numerical", 0, 1),
    AttributeLayout("b", "numerical", 1, 1),
    AttributeLayout("c", "categorical", 2, 3),
))
CORE = dict(hidden=16, n_steps=4, n_resample=2, n_draws=3)


def _batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 5)
    x[:, :2] = torch.randn(n, 2, generator=g)
    x[torch.arange(n), 2 + torch.randint(3, (n,), generator=g)] = 1.0
    attr = (torch.rand(n, 3, generator=g) > 0.4).float()
    obs = attr[:, [0, 1, 2, 2, 2]].clone()
    return Batch(x * obs, obs, attr, torch.arange(n))


def test_diffusion_space_round_trip_and_scales():
    model = DiffPuter(LAYOUT, **CORE)
    x = _batch().x
    torch.testing.assert_close(model.from_diffusion(model.to_diffusion(x)), x)
    y = model.to_diffusion(torch.tensor([[2.0, -2.0, 1.0, 0.0, 0.0]]))
    # numbers halved (standard deviation 0.5), one-hot shifted to +-0.5
    torch.testing.assert_close(y, torch.tensor([[1.0, -1.0, 0.5, -0.5, -0.5]]))


def test_first_round_fills_means_and_uniform_categories():
    model = DiffPuter(LAYOUT, **CORE)
    batch = _batch()
    filled = model.from_diffusion(model.completed(batch))
    miss = batch.observed == 0
    expected = torch.tensor([0.0, 0.0, 1 / 3, 1 / 3, 1 / 3]).expand_as(filled)
    torch.testing.assert_close(filled[miss], expected[miss])
    torch.testing.assert_close(filled[~miss], batch.x[~miss])


def test_denoiser_is_the_identity_at_vanishing_noise():
    torch.manual_seed(0)
    model = DiffPuter(LAYOUT, **CORE)
    y = torch.randn(4, 5) * 0.5
    out = model.denoise(y, torch.tensor([1e-6]))
    torch.testing.assert_close(out, y, atol=1e-5, rtol=0)


def test_noise_levels_follow_edm_schedule():
    model = DiffPuter(LAYOUT, **CORE)
    t = model.noise_levels("cpu", torch.float32)
    assert len(t) == CORE["n_steps"] + 1 and t[-1] == 0
    assert t[0] == pytest.approx(SIGMA_MAX) and t[-2] == pytest.approx(SIGMA_MIN)
    assert bool((t[:-1] > t[1:]).all())


def test_reverse_keeps_observed_cells_and_imputation_is_row_wise():
    torch.manual_seed(0)
    model = DiffPuter(LAYOUT, **CORE).eval()
    batch = _batch()
    with torch.no_grad():
        draws = model.reverse(batch, 2, shared_noise=True)
        obs = batch.observed > 0
        y_obs = model.to_diffusion(batch.x)
        assert torch.equal(draws[:, obs], y_obs[obs].expand(2, -1))
        torch.manual_seed(3)
        whole = model.impute(batch)
        torch.manual_seed(3)
        part = model.impute(Batch(batch.x[1:3], batch.observed[1:3],
                                  batch.attr_observed[1:3], batch.index[1:3]))
    torch.testing.assert_close(part, whole[1:3])
    # categories by vote: shares of the draws, summing to 1
    torch.testing.assert_close(whole[:, 2:].sum(1), torch.ones(6))


def test_sample_is_one_hot_and_random():
    torch.manual_seed(0)
    model = DiffPuter(LAYOUT, **CORE).eval()
    batch = _batch()
    with torch.no_grad():
        a, b = model.sample(batch), model.sample(batch)
    assert set(a[:, 2:].sum(1).tolist()) == {1.0}
    assert not torch.equal(a, b)


def test_loss_is_the_weighted_denoising_error():
    torch.manual_seed(0)
    model = DiffPuter(LAYOUT, **CORE)
    loss = model.loss(_batch())
    assert loss.ndim == 0 and float(loss.detach()) > 0
    loss.backward()
    assert all(p.grad is not None for p in model.net.parameters())
