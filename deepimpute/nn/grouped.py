"""Grouped blocks: ``G`` same-shaped MLPs run as one batched pass.

VSAE evaluates one small network per attribute; stacking their weights on a leading
group axis replaces a Python loop over attributes with one batched matrix product
per layer. The BatchNorm of such a stack is *masked*: group ``g`` takes its
statistics from the rows that observe attribute ``g`` only.

The stack runs group-major, ``(G, n, features)``, so each layer is one ``baddbmm``
with no permutation, and each masked BatchNorm with its LeakyReLU is one autograd
node (:class:`_MaskedNormAct`) whose forward and backward are a dozen kernels each,
whatever ``G``: autograd of the same formula took about forty (the profile in
``benchmarks/results/speed.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .mlp import LEAKY_SLOPE

__all__ = ["GroupedMLP", "MaskedGroupBatchNorm", "masked_group_weights"]


def masked_group_weights(mask: Tensor, dtype: torch.dtype) -> tuple[Tensor, ...]:
    """Per-batch quantities of the masked statistics, shared by every layer.

    ``mask`` is ``(G, n)``; returns ``w`` (G, n, 1), the mask as ``dtype``;
    ``wc`` (G, n, 1), ``w / count`` for groups with at least two masked rows and 0
    for the others (the weights of the batch mean); ``enough`` (G, 1, 1), whether a
    group has two such rows; ``unbias`` (G, 1, 1), ``count / (count - 1)``.
    """
    w = mask.to(dtype).unsqueeze(-1)
    count = w.sum(1, keepdim=True)
    enough = count >= 2
    wc = w * (enough / count.clamp(min=1.0))
    unbias = count / (count - 1).clamp(min=1.0)
    return w, wc, enough, unbias


class _MaskedNormAct(torch.autograd.Function):
    """Masked batch normalisation then LeakyReLU, over ``(G, n, F)``, training mode.

    The statistics of group ``g`` are the mean and (biased) variance of the rows
    with weight ``wc > 0``; groups without two such rows use their running
    statistics (then constants). Every row is normalised, masked or not, so every
    output depends on the batch statistics; the backward is the closed form

        dh = inv * (g - wc * (sum_rows g + xhat * sum_rows g xhat)),

    with ``g`` the gradient at ``xhat`` and ``wc = 0`` for groups on running
    statistics. The running statistics move in place (momentum ``mw``, 0 for
    groups without two rows).
    """

    @staticmethod
    def forward(ctx, h, wc, enough, mw, unbias, gamma, beta, run_mean, run_var,
                eps, slope):
        wct = wc.transpose(1, 2)  # (G, 1, n)
        batch_mean = torch.bmm(wct, h)  # (G, 1, F); 0 where not enough
        mean = torch.where(enough, batch_mean, run_mean.unsqueeze(1))
        d = h - mean
        batch_var = torch.bmm(wct, d * d)
        var = torch.where(enough, batch_var, run_var.unsqueeze(1))
        inv = (var + eps).rsqrt_()
        xhat = d.mul_(inv)
        y = F.leaky_relu(torch.addcmul(beta, xhat, gamma), slope)
        run_mean.lerp_(batch_mean.squeeze(1), mw)
        run_var.lerp_((batch_var * unbias).squeeze(1), mw)
        ctx.slope = slope
        ctx.save_for_backward(xhat, inv, y, wc, gamma)
        return y

    @staticmethod
    def backward(ctx, gy):
        xhat, inv, y, wc, gamma = ctx.saved_tensors
        g_pre = torch.ops.aten.leaky_relu_backward(gy, y, ctx.slope, True)
        d_beta = g_pre.sum(1, keepdim=True)
        d_gamma = (g_pre * xhat).sum(1, keepdim=True)
        g = g_pre * gamma
        corr = torch.addcmul(d_beta * gamma, xhat, d_gamma * gamma).mul_(wc)
        dh = (g - corr).mul_(inv)
        return (dh, None, None, None, None, d_gamma, d_beta, None, None, None, None)


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
        """Normalise ``h`` (n, G, F) with the statistics of ``mask`` (n, G)."""
        hg = h.transpose(0, 1)
        if self.training:
            out = self.grouped(hg, masked_group_weights(mask.T, h.dtype), slope=1.0)
        else:
            out = self.grouped(hg, None, slope=1.0)
        return out.transpose(0, 1)

    def grouped(
        self, h: Tensor, weights: tuple[Tensor, ...] | None, slope: float
    ) -> Tensor:
        """Group-major ``h`` (G, n, F), then LeakyReLU of ``slope`` (1: none).

        ``weights`` are :func:`masked_group_weights` of the batch in training mode;
        None uses the running statistics (eval mode).
        """
        gamma, beta = self.weight.unsqueeze(1), self.bias.unsqueeze(1)
        if weights is None:
            inv = (self.running_var + self.eps).rsqrt().unsqueeze(1)
            xhat = (h - self.running_mean.unsqueeze(1)) * inv
            return F.leaky_relu(torch.addcmul(beta, xhat, gamma), slope)
        _, wc, enough, unbias = weights
        mw = self.momentum * enough.squeeze(-1).to(h.dtype)  # (G, 1)
        return _MaskedNormAct.apply(
            h, wc, enough, mw, unbias, gamma, beta, self.running_mean,
            self.running_var, self.eps, slope,
        )


class GroupedMLP(nn.Module):
    """``G`` independent MLPs of equal shape evaluated in one batched pass.

    ``forward(x, mask)`` maps ``(n, G, in_dim)`` to ``(n, G, out_dim)``; group ``g``
    only ever reads ``x[:, g]``. ``mask`` (n, G) tells which rows feed the masked
    BatchNorm statistics of each group (rows outside it are computed but must be
    discarded by the caller). :meth:`grouped` is the same on group-major tensors.
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
        return self.grouped(x.transpose(0, 1), mask.T).transpose(0, 1)

    def grouped(self, x: Tensor, mask: Tensor) -> Tensor:
        """``(G, n, in_dim)`` to ``(G, n, out_dim)``; ``mask`` is ``(G, n)``."""
        weights = (
            masked_group_weights(mask, x.dtype)
            if self.training and self.norms is not None
            else None
        )
        h = x
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b.unsqueeze(1), h, w)
            if k < last:
                if self.norms is not None:
                    h = self.norms[k].grouped(h, weights, LEAKY_SLOPE)
                else:
                    h = F.leaky_relu(h, LEAKY_SLOPE)
        return h
