"""VAE-family baselines of the VSAE paper: AE, VAE and CVAE with the mask.

One encoder sees the zero-filled row and its element mask; one decoder (optionally
conditioned on the attribute mask) feeds the shared :class:`TableLikelihood`. Missing
entries are left out of the likelihood. Imputation uses self-normalised importance
sampling (VSAE App. Table 5: "single imputation of 1000 importance samplings").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..nn import TableLikelihood, gaussian_kl, log_normal_std, mlp
from ..nn.functional import log_normal
from ..nn.importance import importance_mean, importance_resample
from ..schema import ModelLayout
from ..training import Batch, ImputationModule

__all__ = ["VAE"]


class VAE(ImputationModule):
    """Encoder q(z | x_o, m), decoder p(x | z [, m]).

    Parameters
    ----------
    layout : ModelLayout
    latent_dim : int
    hidden : sequence of int
        Encoder widths (the decoder mirrors them).
    numerical : str
        Numerical likelihood (see :data:`deepimpute.nn.LIKELIHOODS`).
    condition_on_mask : bool
        Feed the attribute mask to the decoder (the "CVAE w/ mask" baseline).
    deterministic : bool
        Plain autoencoder: z is the encoder mean, no KL term.
    n_importance : int
        Importance samples for imputation.
    """

    def __init__(
        self,
        layout: ModelLayout,
        *,
        latent_dim: int = 8,
        hidden: Sequence[int] = (64, 64),
        numerical: str = "gaussian",
        condition_on_mask: bool = False,
        deterministic: bool = False,
        n_importance: int = 1000,
        activation: str = "leaky_relu",
    ) -> None:
        super().__init__()
        self.likelihood = TableLikelihood(layout, numerical)
        self.latent_dim = latent_dim
        self.condition_on_mask = condition_on_mask
        self.deterministic = deterministic
        self.n_importance = n_importance
        width, n_attr = layout.width, layout.n_attributes
        self.encoder = mlp(2 * width, hidden, 2 * latent_dim, activation=activation)
        dec_in = latent_dim + (n_attr if condition_on_mask else 0)
        self.decoder = mlp(
            dec_in, tuple(reversed(hidden)), self.likelihood.n_params,
            activation=activation,
        )

    def _posterior(self, batch: Batch) -> tuple[Tensor, Tensor]:
        h = self.encoder(torch.cat([batch.x * batch.observed, batch.observed], -1))
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def _decode(self, z: Tensor, batch: Batch) -> Tensor:
        if self.condition_on_mask:
            m = batch.attr_observed.expand(*z.shape[:-1], -1)
            z = torch.cat([z, m], -1)
        return self.decoder(z)

    def loss(self, batch: Batch) -> Tensor:
        mu, logvar = self._posterior(batch)
        if self.deterministic:
            z, kl = mu, torch.zeros_like(mu[:, 0])
        else:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            kl = gaussian_kl(mu, logvar).sum(-1)
        out = self._decode(z, batch)
        ll = self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
        return (kl - ll).mean()

    def _proposals(self, batch: Batch, per_row_noise: bool):
        mu, logvar = self._posterior(batch)
        if self.deterministic:
            out = self._decode(mu, batch).unsqueeze(0)
            return out, torch.zeros_like(out[..., 0])
        k = self.n_importance
        shape = (k, *mu.shape) if per_row_noise else (k, 1, mu.shape[-1])
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        out = self._decode(z, batch)
        log_w = (
            self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
            + log_normal_std(z).sum(-1)
            - log_normal(z, mu, logvar).sum(-1)
        )
        return out, log_w

    def impute(self, batch: Batch) -> Tensor:
        out, log_w = self._proposals(batch, per_row_noise=False)
        return importance_mean(log_w, self.likelihood.mean(out))

    def sample(self, batch: Batch) -> Tensor:
        out, log_w = self._proposals(batch, per_row_noise=True)
        return importance_resample(log_w, self.likelihood.sample(out))
