"""Torch building blocks shared by every model: MLPs, likelihood heads, Gaussians."""

from .functional import gaussian_kl, log_normal_std, reparameterize
from .grouped import GroupedMLP, MaskedGroupBatchNorm
from .likelihood import LIKELIHOODS, TableLikelihood
from .mlp import ACTIVATIONS, mlp

__all__ = [
    "ACTIVATIONS",
    "LIKELIHOODS",
    "GroupedMLP",
    "MaskedGroupBatchNorm",
    "TableLikelihood",
    "gaussian_kl",
    "log_normal_std",
    "mlp",
    "reparameterize",
]
