"""Tests of the attribute likelihoods (deepimpute.nn.likelihood)."""

import math

import pytest
import torch

from deepimpute.nn import LIKELIHOODS, TableLikelihood
from deepimpute.nn.likelihood import HUBER_K
from deepimpute.schema import AttributeLayout, ModelLayout


def numeric_layout(n=2):
    return ModelLayout(
        tuple(AttributeLayout(f"c{i}", "numerical", i, 1) for i in range(n))
    )


def huber(scale=1.0, dtype=torch.float64):
    return TableLikelihood(numeric_layout(1), "huber", scale).to(dtype)


def huber_log_prob(lik, x, loc):
    out = loc.reshape(-1, 1).expand(x.shape[0], 1)
    return lik.log_prob(out, x.reshape(-1, 1), torch.ones_like(out))[:, 0]


def test_huber_density_integrates_to_one_and_is_gaussian_within_k():
    lik = huber(scale=0.3)
    x = torch.linspace(-12, 12, 400_001, dtype=torch.float64)
    lp = huber_log_prob(lik, x, torch.tensor(0.5, dtype=torch.float64))
    assert torch.trapezoid(lp.exp(), x).item() == pytest.approx(1.0, abs=1e-6)
    # within K scales it differs from the same-scale Gaussian by a constant only
    core = (x - 0.5).abs() <= HUBER_K * 0.3
    gauss = -0.5 * ((x - 0.5) / 0.3) ** 2 - math.log(0.3 * math.sqrt(2 * math.pi))
    diff = (lp - gauss)[core]
    assert diff.max() - diff.min() < 1e-9
    assert diff.mean() < 0  # the tails take some mass from the core


def test_huber_gradient_is_bounded_where_the_gaussian_is_not():
    for name, expected in [("huber", HUBER_K / 0.3), ("gaussian", 10 / 0.3)]:
        lik = TableLikelihood(numeric_layout(1), name, 0.3)
        loc = torch.zeros(1, 1, requires_grad=True)
        x = torch.full((1, 1), 3.0)  # 10 scales out
        (-lik.log_prob(loc, x, torch.ones_like(x)).sum()).backward()
        assert loc.grad.abs().item() == pytest.approx(expected, rel=1e-5)


def test_huber_draws_follow_the_density():
    torch.manual_seed(0)
    lik = huber(scale=0.3)
    n = 2_000_000
    out = torch.full((n, 1), 1.0, dtype=torch.float64)
    draws = lik.sample(out)[:, 0]
    x = torch.linspace(-15, 15, 600_001, dtype=torch.float64)
    dens = huber_log_prob(lik, x, torch.tensor(1.0, dtype=torch.float64)).exp()
    var = torch.trapezoid(dens * (x - 1) ** 2, x).item()
    tail = torch.trapezoid(dens * ((x - 1).abs() > HUBER_K * 0.3), x).item()
    assert draws.mean().item() == pytest.approx(1.0, abs=3e-3)
    assert draws.var().item() == pytest.approx(var, rel=0.02)
    # the tails hold little mass: compare counts within 4 Poisson deviations
    count = ((draws - 1).abs() > HUBER_K * 0.3).sum().item()
    assert abs(count - n * tail) < 4 * math.sqrt(n * tail)
    assert lik.mean(out)[:, 0].eq(1.0).all()


@pytest.mark.parametrize("name", LIKELIHOODS["numerical"])
def test_numerical_log_prob_ignores_unobserved_entries(name):
    torch.manual_seed(1)
    lik = TableLikelihood(numeric_layout(2), name, 0.5)
    out = torch.randn(5, lik.n_params)
    assert lik.n_params == 2 * lik.n_num_params
    x = torch.randn(5, 2)
    observed = torch.tensor([[1.0, 0.0]] * 5)
    lp = lik.log_prob(out, x, observed)
    x2 = x.clone()
    x2[:, 1] = 1e6
    assert torch.equal(lik.log_prob(out, x2, observed), lp)
    assert (lp[:, 1] == 0).all() and torch.isfinite(lp[:, 0]).all()
    assert torch.isfinite(lik.sample(out)).all()
