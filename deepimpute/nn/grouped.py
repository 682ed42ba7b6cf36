"""Grouped blocks: ``G`` same-shaped MLPs run as one batched pass.

VSAE evaluates one small network per attribute; stacking their weights on a leading
group axis replaces a Python loop over attributes with one ``einsum`` per layer.
The BatchNorm of such a stack is *masked*: group ``g`` takes its statistics from the
rows that observe attribute ``g`` only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .mlp import LEAKY_SLOPE

__all__ = ["GroupedMLP", "MaskedGroupBatchNorm"]


class MaskedGroupBatchNorm(nn.Module):
    """BatchNorm over ``(n, G, F)`` whose group-``g`` statistics use masked rows only.

    In training mode the mean and variance of group ``g`` are computed over the rows
    with ``mask[:, g] = 1``; a group with fewer than two such rows in the batch falls
    back to its running statistics (and does not update them). Eval mode uses the
    running statistics, so each row is processed independently.
    """

    def __init__(
        self, groups: int, features: int, momentum: float = 0.1, eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(groups, features))
        self.bias = nn.Parameter(torch.zeros(groups, features))
        self.register_buffer("running_mean", torch.zeros(groups, features))
        self.register_buffer("running_var", torch.ones(groups, features))

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        if self.training:
            w = mask.unsqueeze(-1).to(h.dtype)  # (n, G, 1)
            count = w.sum(0)  # (G, 1)
            denom = count.clamp(min=1.0)
            mean = (h * w).sum(0) / denom
            var = ((h - mean).pow(2) * w).sum(0) / denom
            enough = count >= 2
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp(min=1.0)
                m = self.momentum
                self.running_mean.copy_(
                    torch.where(
                        enough,
                        (1 - m) * self.running_mean + m * mean,
                        self.running_mean,
                    )
                )
                self.running_var.copy_(
                    torch.where(
                        enough,
                        (1 - m) * self.running_var + m * unbiased,
                        self.running_var,
                    )
                )
            mean = torch.where(enough, mean, self.running_mean)
            var = torch.where(enough, var, self.running_var)
        else:
            mean, var = self.running_mean, self.running_var
        return (h - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class GroupedMLP(nn.Module):
    """``G`` independent MLPs of equal shape evaluated in one batched pass.

    ``forward(x, mask)`` maps ``(n, G, in_dim)`` to ``(n, G, out_dim)``; group ``g``
    only ever reads ``x[:, g]``. ``mask`` (n, G) tells which rows feed the masked
    BatchNorm statistics of each group (rows outside it are computed but must be
    discarded by the caller).
    """

    def __init__(
        self,
        groups: int,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        *,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        sizes = [in_dim, *hidden, out_dim]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(a)  # nn.Linear's default initialisation
            self.weights.append(
                nn.Parameter(torch.empty(groups, a, b).uniform_(-bound, bound))
            )
            self.biases.append(
                nn.Parameter(torch.empty(groups, b).uniform_(-bound, bound))
            )
        self.norms = (
            nn.ModuleList(MaskedGroupBatchNorm(groups, h) for h in hidden)
            if batch_norm
            else None
        )

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = x
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.einsum("ngi,gio->ngo", h, w) + b
            if k < last:
                if self.norms is not None:
                    h = self.norms[k](h, mask)
                h = F.leaky_relu(h, LEAKY_SLOPE)
        return h
