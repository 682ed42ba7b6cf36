"""Closed-form Gaussian helpers shared by the variational models."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._utils.torch_utils import rng

__all__ = ["gaussian_kl", "log_normal", "log_normal_std", "reparameterize"]

_LOG_2PI = math.log(2 * math.pi)


def reparameterize(
    mu: Tensor,
    logvar: Tensor,
    n_samples: int | None = None,
    *,
    eps: Tensor | None = None,
) -> Tensor:
    """Draw ``mu + exp(logvar / 2) * eps`` with standard normal ``eps``.

    With ``n_samples``, the draws get a leading sample dim. A given ``eps`` (any shape
    that broadcasts against ``mu``) is used as is: callers that share noise across
    rows or reuse it across calls draw it themselves.
    """
    std = torch.exp(0.5 * logvar)
    if eps is not None:
        if n_samples is not None:
            raise ValueError("pass either n_samples or eps, not both")
        return mu + std * eps
    if n_samples is None:
        return mu + std * torch.randn_like(std, generator=rng(std.device))
    eps = torch.randn(
        (n_samples, *mu.shape),
        dtype=mu.dtype,
        device=mu.device,
        generator=rng(mu.device),
    )
    return mu + std * eps


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) elementwise (sum it over latent dims)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def log_normal(x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise log N(x; mu, exp(logvar))."""
    return -0.5 * (_LOG_2PI + logvar + (x - mu).pow(2) / logvar.exp())


def log_normal_std(x: Tensor) -> Tensor:
    """Elementwise log N(x; 0, 1)."""
    return -0.5 * (_LOG_2PI + x.pow(2))
