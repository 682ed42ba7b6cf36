"""MIWAE (Mattei & Frellsen, 2019): importance-weighted autoencoder for missing data.

The encoder reads ``iota(x_o)`` (missing entries replaced by zeros, or by a learned
constant vector), the decoder gives a Student-t per numerical attribute (softmax per
categorical block, Bernoulli per pixel: our heterogeneous extension), and training
maximises the K-sample importance-weighted bound

    L_K = mean_i [ logsumexp_k log w_ik - log K ],
    log w = log p(x_o | z) + log p(z) - log q(z | x_o),

where missing entries are dropped from ``log p(x_o | z)`` (ignorable missingness).
Imputation is the self-normalised importance-sampling mean of the decoder means,
multiple imputation is sampling-importance-resampling (shared with
:mod:`deepimpute.models.vae`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood, mlp
from ..schema import ModelLayout
from ..training import Batch
from .vae import LatentImportanceModule

__all__ = ["MIWAE"]


class MIWAE(LatentImportanceModule):
    """Gaussian encoder on ``iota(x_o)``, MLP decoder, IWAE bound with K samples.

    Parameters
    ----------
    layout : ModelLayout
    latent_dim : int
        Latent size d, capped at ``max(1, n_attributes - 1)`` for tiny tables.
    hidden : sequence of int
        Hidden widths of the encoder and of the decoder.
    numerical : str
        Numerical likelihood (see :data:`deepimpute.nn.LIKELIHOODS`).
    n_train_draws : int
        Importance samples K of the training bound.
    n_draws : int
        Importance samples L for imputation and resampling.
    learn_fill : bool
        Replace missing encoder inputs by a learned constant vector (initialised at 0)
        instead of zeros.
    activation : str
        Hidden activation.
    """

    def __init__(
        self,
        layout: ModelLayout,
        *,
        latent_dim: int,
        hidden: Sequence[int],
        numerical: str,
        n_train_draws: int,
        n_draws: int,
        learn_fill: bool,
        activation: str,
    ) -> None:
        super().__init__()
        self.likelihood = TableLikelihood(layout, numerical)
        self.latent_dim = min(latent_dim, max(1, layout.n_attributes - 1))
        self.n_train_draws = n_train_draws
        self.n_draws = n_draws
        width = layout.width
        self.fill = nn.Parameter(torch.zeros(width), requires_grad=learn_fill)
        self.encoder = mlp(width, hidden, 2 * self.latent_dim, activation=activation)
        self.decoder = mlp(
            self.latent_dim, hidden, self.likelihood.n_params, activation=activation
        )
        # orthogonal weights as in the authors' PyTorch notebook
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def _posterior(self, batch: Batch) -> tuple[Tensor, Tensor]:
        iota = batch.x * batch.observed + (1.0 - batch.observed) * self.fill
        loc, raw = self.encoder(iota).chunk(2, dim=-1)
        scale = F.softplus(raw) + 1e-4
        return loc, 2.0 * scale.log()

    def _decode(self, z: Tensor, batch: Batch) -> Tensor:
        return self.decoder(z)

    def bound(self, batch: Batch, k: int) -> Tensor:
        """Per-row ``k``-sample importance-weighted bound, shape ``(n,)``."""
        x = batch.x
        eps = torch.randn(
            (k, batch.n_rows, self.latent_dim), dtype=x.dtype, device=x.device,
            generator=rng(x.device),
        )
        _, _, log_w = self._log_weights(batch, eps)
        return torch.logsumexp(log_w, 0) - math.log(k)

    def loss(self, batch: Batch) -> Tensor:
        return -self.bound(batch, self.n_train_draws).mean()

    def impute(self, batch: Batch) -> Tensor:
        return self._importance_impute(batch)

    def sample(self, batch: Batch) -> Tensor:
        return self._importance_sample(batch)
