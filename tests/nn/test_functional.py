"""Closed-form Gaussian helpers of ``deepimpute.nn.functional``."""

import pytest
import torch

from deepimpute.nn.functional import reparameterize


def test_reparameterize_given_eps_is_the_affine_map():
    mu = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    logvar = torch.tensor([[0.0, 2.0], [-2.0, 1.0]])
    eps = torch.tensor([[1.0, -0.5]])  # broadcast across rows
    z = reparameterize(mu, logvar, eps=eps)
    assert torch.equal(z, mu + torch.exp(0.5 * logvar) * eps)
    assert z[1, 0] == pytest.approx(2.0 + torch.exp(torch.tensor(-1.0)).item())


def test_reparameterize_draws_follow_the_generator_and_shape():
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    torch.manual_seed(0)
    a = reparameterize(mu, logvar, n_samples=4)
    torch.manual_seed(0)
    b = reparameterize(mu, logvar, n_samples=4)
    assert a.shape == (4, 3, 2) and torch.equal(a, b)
    assert reparameterize(mu, logvar).shape == (3, 2)


def test_reparameterize_rejects_eps_with_n_samples():
    with pytest.raises(ValueError, match="either n_samples or eps"):
        reparameterize(torch.zeros(2), torch.zeros(2), 3, eps=torch.zeros(2))
