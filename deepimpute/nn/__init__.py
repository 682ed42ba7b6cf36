"""Torch building blocks shared by every model: MLPs, likelihood heads, Gaussians."""

from .functional import gaussian_kl, log_normal_std, reparameterize
from .likelihood import LIKELIHOODS, TableLikelihood
from .mlp import ACTIVATIONS, mlp

__all__ = [
    "ACTIVATIONS",
    "LIKELIHOODS",
    "TableLikelihood",
    "gaussian_kl",
    "log_normal_std",
    "mlp",
    "reparameterize",
]
