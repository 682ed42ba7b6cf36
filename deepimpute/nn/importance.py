"""Self-normalised importance sampling for imputation (shared by the VAE family).

Given K proposals ``z_k ~ q(z | x_o)`` per row with log-weights
``log w_k = log p(x_o | z_k) + log p(z_k) - log q(z_k | x_o)`` (plus ``log p(m | z_k)``
for models of the mask), the single imputation is the weighted mean of the decoder
means, and a multiple-imputation draw resamples one ``z_k`` by its weight (SIR).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from .._utils.torch_utils import rng

__all__ = [
    "ELEMENT_BUDGET",
    "SAMPLE_BUDGET",
    "importance_mean",
    "importance_resample",
    "row_chunks",
]

#: importance samples x rows decoded at once at transform time (bounds memory)
SAMPLE_BUDGET = 1 << 16
#: samples x rows x model width decoded at once: a wide model view (many
#: categories) takes fewer rows per chunk; views up to 64 slots wide are chunked
#: by :data:`SAMPLE_BUDGET` alone
ELEMENT_BUDGET = SAMPLE_BUDGET * 64


def importance_mean(log_w: Tensor, means: Tensor) -> Tensor:
    """Weighted mean over the sample dim: ``log_w`` (K, n), ``means`` (K, n, D)."""
    w = torch.softmax(log_w, dim=0)
    return (w.unsqueeze(-1) * means).sum(0)


def importance_resample(log_w: Tensor, draws: Tensor) -> Tensor:
    """Pick one of K draws per row with probability proportional to its weight."""
    w = torch.softmax(log_w, dim=0).T  # (n, K)
    k = torch.multinomial(w, 1, generator=rng(w.device)).squeeze(1)
    return draws[k, torch.arange(draws.shape[1], device=draws.device)]


def row_chunks(
    n_rows: int, n_samples: int, budget: int = SAMPLE_BUDGET, width: int = 1
) -> Iterator[slice]:
    """Row slices small enough that ``n_samples`` decodes of each fit ``budget``
    and, for a model view ``width`` slots wide, :data:`ELEMENT_BUDGET` values."""
    n_samples = max(n_samples, 1)
    step = max(1, min(budget // n_samples,
                      ELEMENT_BUDGET // (n_samples * max(width, 1))))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))
