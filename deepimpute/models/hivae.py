"""HI-VAE (Nazabal, Olmos, Ghahramani & Valera, 2020), compact version.

"Handling incomplete heterogeneous data using VAEs": a VAE with a Gaussian-mixture
prior and per-attribute heterogeneous likelihoods.

Generative model::

    s ~ Cat(1/K)                      (mixture component, one-hot)
    z | s ~ N(mu_p(s), I)             (mu_p linear in s)
    y = g(z)                          (one y_d of size ``y_dim`` per attribute)
    x_d | z, s ~ p_d(x_d; h_d(y_d, s)) (h_d linear in [y_d, s])

Inference: ``q(s | x_o)`` categorical and ``q(z | x_o, s)`` Gaussian, both reading the
zero-filled row. The ELBO leaves missing attributes out of the likelihood:

    E_q(s) [ E_q(z|s) log p(x_o | z, s) - KL(q(z | x_o, s) || p(z | s)) ]
        - KL(q(s | x_o) || p(s)).

Imputation is the decoder mean at the posterior mode: ``s* = argmax q(s | x_o)``,
``z* = E[z | x_o, s*]``.

Simplifications with respect to the paper (documented, deliberate):

* the sum over s is computed exactly by enumerating the K components instead of the
  paper's Gumbel-softmax relaxation with temperature annealing (exact and lower
  variance, K decoder passes per row);
* the paper's per-batch normalisation of the observed values (with the likelihood
  parameters de-normalised afterwards) is replaced by the fixed standardisation with
  observed *training* statistics done by the table encoder, so imputations do not
  depend on a row's batch-mates;
* every likelihood parameter of attribute d is linear in ``[y_d, s]`` (the paper ties
  some parameters to y_d and others to s only);
* encoders and ``g`` are MLPs of configurable depth (the paper's are single dense
  layers); numerical attributes use a heteroscedastic Gaussian on standardised data
  (no log-normal / Poisson / ordinal heads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood, gaussian_kl, mlp
from ..nn.functional import log_normal, reparameterize
from ..nn.importance import row_chunks
from ..schema import ModelLayout
from ..training import Batch, ImputationModule

__all__ = ["HIVAE"]

#: proposals per row of the sampling-importance-resampling draws of :meth:`HIVAE.sample`
SIR_DRAWS = 100


class _BlockLinear(nn.Module):
    """Likelihood parameters of attribute d from its own ``y_d`` and from ``s``."""

    def __init__(
        self, param_attr: Tensor, n_attributes: int, y_dim: int, n_components: int
    ) -> None:
        super().__init__()
        n_params = len(param_attr)
        y_attr = torch.arange(n_attributes).repeat_interleave(y_dim)
        self.register_buffer(
            "mask", (param_attr[:, None] == y_attr[None, :]).float(), False
        )
        self.y_weight = nn.Parameter(torch.empty(n_params, n_attributes * y_dim))
        nn.init.uniform_(self.y_weight, -1.0 / math.sqrt(y_dim), 1.0 / math.sqrt(y_dim))
        self.s_head = nn.Linear(n_components, n_params)

    def forward(self, y: Tensor, s: Tensor) -> Tensor:
        return F.linear(y, self.y_weight * self.mask) + self.s_head(s)


class HIVAE(ImputationModule):
    """Heterogeneous-incomplete VAE with a Gaussian-mixture prior.

    Parameters
    ----------
    layout : ModelLayout
    n_components : int
        Mixture components K of the prior (size of s).
    latent_dim : int
        Size of z.
    y_dim : int
        Size of each attribute's intermediate code y_d.
    hidden : sequence of int
        Hidden widths of the encoders and (mirrored) of g.
    numerical : str
        Numerical likelihood (see :data:`deepimpute.nn.LIKELIHOODS`).
    activation : str
        Hidden activation.
    """

    def __init__(
        self,
        layout: ModelLayout,
        *,
        n_components: int,
        latent_dim: int,
        y_dim: int,
        hidden: Sequence[int],
        numerical: str,
        activation: str,
    ) -> None:
        super().__init__()
        self.likelihood = TableLikelihood(layout, numerical)
        self.n_components = n_components
        self.latent_dim = latent_dim
        width, n_attr = layout.width, layout.n_attributes
        self.s_encoder = mlp(width, hidden, n_components, activation=activation)
        self.z_encoder = mlp(
            width + n_components, hidden, 2 * latent_dim, activation=activation
        )
        self.prior_mean = nn.Linear(n_components, latent_dim)
        self.g = mlp(
            latent_dim, tuple(reversed(hidden)), n_attr * y_dim, activation=activation
        )
        self.heads = _BlockLinear(
            _param_attributes(layout, self.likelihood.n_params), n_attr, y_dim,
            n_components,
        )

    # ------------------------------------------------------------- pieces
    def _components(self, batch: Batch) -> Tensor:
        """Every one-hot s, shape ``(K, n, K)``."""
        eye = torch.eye(self.n_components, dtype=batch.x.dtype, device=batch.x.device)
        return eye[:, None, :].expand(-1, batch.n_rows, -1)

    def _q_z(self, x0: Tensor, s: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.cat([x0.expand(*s.shape[:-1], -1), s], -1)
        mu, logvar = self.z_encoder(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def _decode(self, z: Tensor, s: Tensor) -> Tensor:
        return self.heads(self.g(z), s)

    # ------------------------------------------------------------ objective
    def elbo(self, batch: Batch) -> Tensor:
        """Per-row ELBO with the sum over s done exactly, shape ``(n,)``."""
        x0 = batch.x * batch.observed
        log_qs = torch.log_softmax(self.s_encoder(x0), -1)  # (n, K)
        s = self._components(batch)  # (K, n, K)
        mu, logvar = self._q_z(x0, s)  # (K, n, d)
        z = reparameterize(mu, logvar)
        ll = self.likelihood.log_prob(self._decode(z, s), batch.x, batch.observed)
        kl_z = gaussian_kl(mu - self.prior_mean(s), logvar).sum(-1)  # (K, n)
        per_s = ll.sum(-1) - kl_z
        qs = log_qs.exp()
        kl_s = (qs * log_qs).sum(-1) + math.log(self.n_components)
        return (qs.T * per_s).sum(0) - kl_s

    def loss(self, batch: Batch) -> Tensor:
        return -self.elbo(batch).mean()

    # ---------------------------------------------------------- imputation
    def impute(self, batch: Batch) -> Tensor:
        x0 = batch.x * batch.observed
        s_idx = self.s_encoder(x0).argmax(-1)
        s = F.one_hot(s_idx, self.n_components).to(x0.dtype)
        mu, _ = self._q_z(x0, s)
        return self.likelihood.mean(self._decode(mu, s))

    def sample(self, batch: Batch) -> Tensor:
        """A draw from the model's conditional of the missing given the observed
        entries: sampling-importance-resampling of ``(s, z)`` over
        :data:`SIR_DRAWS` draws of ``q(s | x_o) q(z | x_o, s)`` (weights
        ``p(x_o | z, s) p(z | s) p(s) / q``), then a likelihood draw.

        One draw of q alone (the encoder's approximate posterior) gave draws that
        followed the observed cells less than the model's own conditional
        (``docs/user_guide/multiple_imputation.rst``).
        """
        k = SIR_DRAWS
        picks = []
        for rows in row_chunks(batch.n_rows, k, width=batch.x.shape[1]):
            x0 = (batch.x * batch.observed)[rows]
            obs = batch.observed[rows]
            log_qs = torch.log_softmax(self.s_encoder(x0), -1)  # (n, C)
            s_idx = torch.multinomial(  # (K, n)
                log_qs.exp(), k, replacement=True, generator=rng(x0.device)
            ).T
            s = F.one_hot(s_idx, self.n_components).to(x0.dtype)  # (K, n, C)
            mu, logvar = self._q_z(x0, s)
            z = reparameterize(mu, logvar)
            ll = self.likelihood.log_prob(self._decode(z, s), batch.x[rows], obs)
            log_w = (
                ll.sum(-1)
                + log_normal(z, self.prior_mean(s), torch.zeros_like(z)).sum(-1)
                - math.log(self.n_components)
                - log_qs.gather(1, s_idx.T).T
                - log_normal(z, mu, logvar).sum(-1)
            )
            w = torch.softmax(log_w, 0).T  # (n, K)
            j = torch.multinomial(w, 1, generator=rng(w.device)).squeeze(1)
            n = torch.arange(x0.shape[0], device=x0.device)
            picks.append((z[j, n], s[j, n]))
        z = torch.cat([p[0] for p in picks], 0)
        s = torch.cat([p[1] for p in picks], 0)
        return self.likelihood.sample(self._decode(z, s))


def _param_attributes(layout: ModelLayout, n_params: int) -> Tensor:
    """Attribute id of every decoder-output slot of a :class:`TableLikelihood`.

    The likelihood lays parameters out attribute by attribute: ``k`` slots per
    numerical attribute, one per category or pixel otherwise.
    """
    kinds = layout.kinds
    n_num = sum(k == "numerical" for k in kinds)
    other = sum(a.width for a in layout.attributes if a.kind != "numerical")
    per_num = (n_params - other) // n_num if n_num else 0
    sizes = [per_num if a.kind == "numerical" else a.width for a in layout.attributes]
    return torch.arange(len(sizes)).repeat_interleave(torch.tensor(sizes))
