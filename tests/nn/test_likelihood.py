"""Tests of the attribute likelihoods (deepimpute.nn.likelihood)."""

import math

import numpy as np
import pytest
import torch

from deepimpute.nn import LIKELIHOODS, TableLikelihood
from deepimpute.nn.likelihood import (
    HUBER_K,
    _huber_log_prob,
    _huber_standard_draw,
)
from deepimpute.schema import AttributeLayout, ModelLayout
from instances import CLASSES, correlated_table, tiny

F64 = torch.float64


def numeric_layout(n=2):
    return ModelLayout(
        tuple(AttributeLayout(f"c{i}", "numerical", i, 1) for i in range(n))
    )


@pytest.mark.parametrize("k", [1.5, HUBER_K])
def test_huber_density_integrates_to_one_and_is_gaussian_within_k(k):
    x = torch.linspace(-20, 20, 800_001, dtype=F64)
    loc, scale = torch.tensor(0.5, dtype=F64), torch.tensor(0.3, dtype=F64)
    lp = _huber_log_prob(x, loc, scale, k)
    assert torch.trapezoid(lp.exp(), x).item() == pytest.approx(1.0, abs=1e-6)
    # within k scales it differs from the same-scale Gaussian by a constant only
    core = (x - loc).abs() <= k * scale
    gauss = -0.5 * ((x - loc) / scale) ** 2 - math.log(0.3 * math.sqrt(2 * math.pi))
    diff = (lp - gauss)[core]
    assert diff.max() - diff.min() < 1e-9
    assert diff.mean() < 0  # the tails take some mass from the core


def test_huber_draws_follow_the_density():
    # a low threshold, so that the tails hold enough mass to be checked
    torch.manual_seed(0)
    k, n = 1.5, 1_000_000
    draws = _huber_standard_draw(torch.zeros(n, dtype=F64), k)
    x = torch.linspace(-30, 30, 600_001, dtype=F64)
    dens = _huber_log_prob(x, torch.zeros((), dtype=F64), torch.ones((), dtype=F64), k)
    dens = dens.exp()
    var = torch.trapezoid(dens * x**2, x).item()
    tail = torch.trapezoid(dens * (x.abs() > k), x).item()
    assert draws.mean().item() == pytest.approx(0.0, abs=5e-3)
    assert draws.var().item() == pytest.approx(var, rel=0.01)
    assert (draws.abs() > k).double().mean().item() == pytest.approx(tail, rel=0.02)
    # and the deciles match the density's
    cdf = torch.cumulative_trapezoid(dens, x)
    for q in (0.1, 0.3, 0.5, 0.9):
        expected = x[1:][torch.searchsorted(cdf, torch.tensor(q, dtype=F64))]
        assert torch.quantile(draws[:200_000], q).item() == pytest.approx(
            expected.item(), abs=0.02
        )


def test_huber_likelihood_uses_its_scale_and_mean_is_the_location():
    torch.manual_seed(0)
    lik = TableLikelihood(numeric_layout(1), "huber", 0.3).to(F64)
    out = torch.full((200_000, 1), 1.0, dtype=F64)
    draws = lik.sample(out)[:, 0]
    assert lik.mean(out)[:, 0].eq(1.0).all()
    assert draws.mean().item() == pytest.approx(1.0, abs=3e-3)
    assert draws.std().item() == pytest.approx(0.3, rel=0.02)


def test_huber_gradient_is_bounded_where_the_gaussian_is_not():
    for name, expected in [("huber", HUBER_K / 0.3), ("gaussian", 12 / 0.3)]:
        lik = TableLikelihood(numeric_layout(1), name, 0.3)
        loc = torch.zeros(1, 1, requires_grad=True)
        x = torch.full((1, 1), 3.6)  # 12 scales out, beyond the threshold
        (-lik.log_prob(loc, x, torch.ones_like(x)).sum()).backward()
        assert loc.grad.abs().item() == pytest.approx(expected, rel=1e-5)


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


@pytest.mark.parametrize("u", [0.0, 1.0 - 2.0**-24])  # the ends of torch.rand
def test_huber_draws_stay_finite_at_the_ends_of_the_uniform(monkeypatch, u):
    monkeypatch.setattr(torch, "rand_like", lambda t, **kw: torch.full_like(t, u))
    for k in (1.5, HUBER_K):
        draws = _huber_standard_draw(torch.zeros(1000), k)
        assert torch.isfinite(draws).all()


# every deep imputer that takes a numerical likelihood, with every option
WITH_NUMERICAL = [n for n in CLASSES if "numerical" in CLASSES[n]().get_params()]


@pytest.mark.parametrize("numerical", LIKELIHOODS["numerical"])
@pytest.mark.parametrize("name", WITH_NUMERICAL)
def test_every_numerical_likelihood_fits_imputes_and_samples(name, numerical):
    X_full, X = correlated_table(n=80, p=4, missing_rate=0.3)
    imp = tiny(name).set_params(numerical=numerical).fit(X)
    out = imp.transform(X)
    observed = ~np.isnan(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[observed], X[observed])
    assert np.isfinite(imp.sample(X[:10], n_draws=2)).all()
