"""VAE-family baselines of the VSAE paper: AE, VAE and CVAE with the mask.

One encoder reads the zero-filled row (plus the attribute mask for the CVAE), one
decoder (also conditioned on the mask for the CVAE, VSAE App. D: "the encoder and
decoder are both conditioned on the mask vector"; AE/VAE get "the whole data without
the mask") feeds the shared :class:`TableLikelihood`. Missing entries are left out of
the likelihood. Imputation uses self-normalised importance sampling (VSAE App. Table 5:
"single imputation of 1000 importance samplings").

:class:`LatentImportanceModule` holds the importance-sampling imputation shared with
MIWAE (:mod:`deepimpute.models.miwae`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._utils.torch_utils import rng
from ..nn import TableLikelihood, gaussian_kl, log_normal_std, mlp
from ..nn.functional import log_normal, reparameterize
from ..nn.importance import importance_mean, importance_resample, row_chunks
from ..schema import ModelLayout
from ..training import Batch, ImputationModule

__all__ = ["VAE", "LatentImportanceModule"]


def take_rows(batch: Batch, rows: slice) -> Batch:
    """The rows ``rows`` of a batch, as a batch."""
    x, obs, attr = batch.x[rows], batch.observed[rows], batch.attr_observed[rows]
    return Batch(x, obs, attr, batch.index[rows])


class LatentImportanceModule(ImputationModule):
    """Gaussian-posterior latent model imputed by self-normalised importance sampling.

    Subclasses set ``likelihood`` (a :class:`TableLikelihood`) and ``n_draws``
    and implement ``_posterior(batch) -> (mu, logvar)`` of ``q(z | x_o)`` and
    ``_decode(z, batch) -> out`` (``z`` of shape ``(..., n, d)``); the prior is
    ``N(0, I)``.
    """

    likelihood: TableLikelihood
    n_draws: int

    def _posterior(self, batch: Batch) -> tuple[Tensor, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def _decode(self, z: Tensor, batch: Batch) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def _log_weights(self, batch: Batch, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``z = mu + sigma * eps`` and ``log p(x_o|z) + log p(z) - log q(z|x_o)``.

        Returns ``(z, out, log_w)`` with ``log_w`` of shape ``(K, n)``.
        """
        mu, logvar = self._posterior(batch)
        z = reparameterize(mu, logvar, eps=eps)
        out = self._decode(z, batch)
        log_w = (
            self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
            + log_normal_std(z).sum(-1)
            - log_normal(z, mu, logvar).sum(-1)
        )
        return z, out, log_w

    def _importance_impute(self, batch: Batch) -> Tensor:
        k = self.n_draws
        d = self._latent_size()
        # one (K, 1, d) noise tensor shared by every row: batch-invariant imputations
        eps = torch.randn(
            (k, 1, d),
            dtype=batch.x.dtype,
            device=batch.x.device,
            generator=rng(batch.x.device),
        )
        outs = []
        for rows in row_chunks(batch.n_rows, k, width=batch.x.shape[1]):
            _, out, log_w = self._log_weights(take_rows(batch, rows), eps)
            outs.append(importance_mean(log_w, self.likelihood.mean(out)))
        return torch.cat(outs, 0)

    def _importance_sample(self, batch: Batch) -> Tensor:
        """Sampling-importance-resampling: pick one z per row by weight, then draw x."""
        k = self.n_draws
        d = self._latent_size()
        draws = []
        for rows in row_chunks(batch.n_rows, k, width=batch.x.shape[1]):
            part = take_rows(batch, rows)
            eps = torch.randn(
                (k, part.n_rows, d), dtype=batch.x.dtype, device=batch.x.device,
                generator=rng(batch.x.device),
            )
            z, _, log_w = self._log_weights(part, eps)
            z_pick = importance_resample(log_w, z)
            draws.append(self.likelihood.sample(self._decode(z_pick, part)))
        return torch.cat(draws, 0)

    def _latent_size(self) -> int:
        return int(self.latent_dim)


class VAE(LatentImportanceModule):
    """Encoder q(z | x_o [, m]), decoder p(x | z [, m]).

    Parameters
    ----------
    layout : ModelLayout
    latent_dim : int
    hidden : sequence of int
        Encoder widths (the decoder mirrors them).
    numerical : str
        Numerical likelihood (see :data:`deepimpute.nn.LIKELIHOODS`).
    condition_on_mask : bool
        Feed the attribute mask to the encoder and the decoder ("CVAE w/ mask").
    deterministic : bool
        Plain autoencoder: z is the encoder mean, no KL term.
    n_draws : int
        Importance samples for imputation.
    """

    #: hidden activation of both networks (not a setting of the estimator)
    activation = "leaky_relu"

    def __init__(
        self,
        layout: ModelLayout,
        *,
        latent_dim: int,
        hidden: Sequence[int],
        numerical: str,
        condition_on_mask: bool,
        deterministic: bool,
        n_draws: int,
    ) -> None:
        super().__init__()
        self.likelihood = TableLikelihood(layout, numerical)
        self.latent_dim = latent_dim
        self.condition_on_mask = condition_on_mask
        self.deterministic = deterministic
        self.n_draws = n_draws
        width, n_attr = layout.width, layout.n_attributes
        n_cond = n_attr if condition_on_mask else 0
        self.encoder = mlp(
            width + n_cond, hidden, 2 * latent_dim, activation=self.activation
        )
        self.decoder = mlp(
            latent_dim + n_cond,
            tuple(reversed(hidden)),
            self.likelihood.n_params,
            activation=self.activation,
        )

    def _posterior(self, batch: Batch) -> tuple[Tensor, Tensor]:
        h = batch.x * batch.observed
        if self.condition_on_mask:
            h = torch.cat([h, batch.attr_observed], -1)
        mu, logvar = self.encoder(h).chunk(2, dim=-1)
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
            z = reparameterize(mu, logvar)
            kl = gaussian_kl(mu, logvar).sum(-1)
        out = self._decode(z, batch)
        ll = self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
        return (kl - ll).mean()

    def impute(self, batch: Batch) -> Tensor:
        if self.deterministic:
            mu, _ = self._posterior(batch)
            return self.likelihood.mean(self._decode(mu, batch))
        return self._importance_impute(batch)

    def sample(self, batch: Batch) -> Tensor:
        if self.deterministic:
            # no posterior to sample: draw x from the likelihood at the code
            mu, _ = self._posterior(batch)
            return self.likelihood.sample(self._decode(mu, batch))
        return self._importance_sample(batch)
