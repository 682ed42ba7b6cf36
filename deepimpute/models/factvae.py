"""factVAE: a VAE factorised over observation groups with learned group sparsity.

Ainsworth, Foti & Fox (2018); method note ``docs/methods/factvae.md``. Every group g has
its own encoder expert ``N(mu_g, Lambda_g^-1)`` with ``mu_g = U_g^T phi_g(x_g)`` and a
diagonal precision ``Lambda_g = |V_g (phi_g(x_g) + b_g)|``; the posterior is the
closed-form product of the prior and the experts of the groups used for inference
(precisions add, means are precision-weighted). Every group also has its own generator
``f_g(W_g z)``. The columns of the stacked ``[W_g^T, V_g]^T`` (everything that links
latent j to group g) carry a group-lasso penalty applied by a proximal soft-threshold
step after each optimizer step, so whole (group, latent) links switch off.

All groups are computed at once with zero-padded, group-batched weights (no Python
loop over groups): group g reads the model slots of its attributes, padded to the
widest group, and writes its likelihood parameters into their positions of one
:class:`~deepimpute.nn.TableLikelihood` output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood
from ..nn.importance import importance_resample, row_chunks
from ..schema import ModelLayout
from ..training import Batch, ImputationModule, adam

__all__ = ["FactVAE", "GroupedLinear"]

_LOG_2PI = math.log(2 * math.pi)
#: the options of ``fusion`` and ``prior_scaling`` (the estimator's parameter
#: constraints and docstring list the same)
FUSIONS = ("poe", "moe")
PRIOR_SCALINGS = ("per_batch_mean", "dataset")


class GroupedLinear(nn.Module):
    """G independent linear maps applied to a ``(..., G, in)`` tensor at once.

    ``in_sizes[g]`` is the true input width of group g (inputs are zero-padded to
    ``max(in_sizes)``); it only sets the default initialisation bound, as in
    ``nn.Linear``.
    """

    def __init__(self, in_sizes: Sequence[int], out_features: int) -> None:
        super().__init__()
        groups, width = len(in_sizes), max(in_sizes)
        self.weight = nn.Parameter(torch.empty(groups, width, out_features))
        self.bias = nn.Parameter(torch.empty(groups, out_features))
        with torch.no_grad():
            for g, size in enumerate(in_sizes):
                bound = 1.0 / math.sqrt(max(size, 1))
                self.weight[g].uniform_(-bound, bound)
                self.bias[g].uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("...gi,gio->...go", x, self.weight) + self.bias


def _scaled_normal(*shape: int, fan_in: int, fan_out: int) -> Tensor:
    # init of the faceback code: 2 / (sqrt(dim_in) + sqrt(dim_out)) * N(0, 1)
    return torch.randn(*shape) * (2.0 / (math.sqrt(fan_in) + math.sqrt(fan_out)))


def _log_normal_prec(z: Tensor, mu: Tensor, prec: Tensor) -> Tensor:
    """log N(z; mu, prec^-1) summed over the last dim."""
    return 0.5 * (prec.log() - _LOG_2PI - prec * (z - mu).pow(2)).sum(-1)


class FactVAE(ImputationModule):
    """Group-factorised VAE with product-of-experts inference and group sparsity.

    Parameters
    ----------
    layout : ModelLayout
    groups : sequence of sequence of int or None
        Attribute indices of every group (a partition of the attributes); None:
        one group per attribute.
    latent_dim : int
        K, size of z.
    encoder_dim : int
        H, output width of every group feature net ``phi_g``.
    generator_dim : int
        p, width of ``W_g z``, the input of every group generator.
    encoder_hidden, generator_hidden : sequence of int
        Hidden widths (Linear + ReLU layers) of ``phi_g`` (before its Linear + ReLU
        output layer) and of ``f_g`` (before its Linear output layer).
    numerical : str
        Likelihood of numerical attributes (see :data:`deepimpute.nn.LIKELIHOODS`).
    numerical_scale : float
        Its fixed (``"gaussian"``) or initial (``"gaussian_learned"``) standard
        deviation on standardised data.
    sparsity : float
        lambda, the group-lasso strength.
    prox_learning_rate : float
        eta, the SGD step of ``W`` and ``V``; the prox threshold is ``eta * lambda``.
    group_available_prob : float
        Probability that an available group is kept for inference during training.
    fusion : {"poe", "moe"}
        Product of experts (factVAE) or uniform mixture of the experts (JMVAE+).
    prior_scaling : {"per_batch_mean", "dataset"}
        ``"per_batch_mean"``: lasso and weight prior against the per-row mean ELBO
        (the authors' code); ``"dataset"``: both divided by ``n_rows``.
    weight_prior_std : float
        sigma_theta of the Gaussian prior on the generator weights (not biases).
    precision_baseline : float
        Initial value of the precision baseline ``b_g``.
    n_rows : int
        Training rows (for ``prior_scaling="dataset"``).
    n_draws : int
        Importance samples of :meth:`log_likelihood`.
    """

    def __init__(
        self,
        layout: ModelLayout,
        groups: Sequence[Sequence[int]] | None,
        *,
        latent_dim: int,
        encoder_dim: int,
        generator_dim: int,
        encoder_hidden: Sequence[int],
        generator_hidden: Sequence[int],
        numerical: str,
        numerical_scale: float,
        sparsity: float,
        prox_learning_rate: float,
        group_available_prob: float,
        fusion: str,
        prior_scaling: str,
        weight_prior_std: float,
        precision_baseline: float,
        n_rows: int,
        n_draws: int,
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}.")
        if prior_scaling not in PRIOR_SCALINGS:
            raise ValueError(
                f"prior_scaling must be one of {PRIOR_SCALINGS}, got {prior_scaling!r}."
            )
        if groups is None:
            groups = [[a] for a in range(layout.n_attributes)]
        groups = [sorted(int(a) for a in g) for g in groups]
        flat = sorted(a for g in groups for a in g)
        if flat != list(range(layout.n_attributes)) or any(not g for g in groups):
            raise ValueError("groups must partition the attributes 0..M-1.")
        self.likelihood = TableLikelihood(layout, numerical, numerical_scale)
        self.groups = groups
        self.n_groups = n_groups = len(groups)
        self.latent_dim = latent_dim
        self.sparsity = float(sparsity)
        self.prox_learning_rate = float(prox_learning_rate)
        self.group_available_prob = float(group_available_prob)
        self.fusion = fusion
        self.n_draws = n_draws
        self.prior_scale = 1.0 if prior_scaling == "per_batch_mean" else 1.0 / max(
            n_rows, 1
        )
        self.weight_prior_var = float(weight_prior_std) ** 2

        # model slots (elements) of every group, padded with the index `width`, which
        # points at an all-zero column appended to x and to the masks
        width = layout.width
        elems = [
            [s for a in g for s in range(layout.attributes[a].start,
                                         layout.attributes[a].stop)]
            for g in groups
        ]
        w_max = max(len(e) for e in elems)
        elem_idx = torch.full((n_groups, w_max), width, dtype=torch.long)
        for g, e in enumerate(elems):
            elem_idx[g, : len(e)] = torch.tensor(e)
        self.register_buffer("elem_idx", elem_idx, False)

        # likelihood-parameter positions of every group, and where each position of
        # the TableLikelihood output is found in the flattened (group, slot) output
        param_pos = self._param_positions(layout)
        gparams = [[p for a in g for p in param_pos[a]] for g in groups]
        p_max = max(len(p) for p in gparams)
        gather = torch.empty(self.likelihood.n_params, dtype=torch.long)
        for g, ps in enumerate(gparams):
            for slot, p in enumerate(ps):
                gather[p] = g * p_max + slot
        self.register_buffer("param_gather", gather, False)

        # group encoders: phi_g (Linear+ReLU stack), U_g, V_g, b_g
        sizes = [2 * len(e) for e in elems]
        layers: list[nn.Module] = []
        for h in (*encoder_hidden, encoder_dim):
            layers += [GroupedLinear(sizes, h), nn.ReLU()]
            sizes = [h] * n_groups
        self.features = nn.Sequential(*layers)
        k, h_dim, p_dim = latent_dim, encoder_dim, generator_dim
        g_n = n_groups
        self.U = nn.Parameter(_scaled_normal(g_n, h_dim, k, fan_in=h_dim, fan_out=k))
        self.baseline = nn.Parameter(torch.full((g_n,), float(precision_baseline)))
        # Phi = {V, W}: row j of V[g] and of W[g] touch latent j (code orientation)
        self.V = nn.Parameter(_scaled_normal(g_n, k, h_dim, fan_in=h_dim, fan_out=k))
        self.W = nn.Parameter(_scaled_normal(g_n, k, p_dim, fan_in=k, fan_out=p_dim))

        # group generators f_g on W_g z: hidden Linear+ReLU layers, then a Linear to
        # the group's likelihood parameters (no hidden layer: linear in W_g z, the
        # bars form; a ReLU straight on W_g z lost 3x in the bars completion)
        gen: list[nn.Module] = []
        sizes = [p_dim] * n_groups
        for h in generator_hidden:
            gen += [GroupedLinear(sizes, h), nn.ReLU()]
            sizes = [h] * n_groups
        gen.append(GroupedLinear(sizes, p_max))
        self.generator = nn.Sequential(*gen)

    # ------------------------------------------------------------- layout
    def _param_positions(self, layout: ModelLayout) -> list[list[int]]:
        """Output positions of every attribute in the TableLikelihood parameters."""
        lik = self.likelihood
        pos: list[list[int]] = [[] for _ in range(layout.n_attributes)]
        k = lik.n_num_params
        for p, a in zip(lik.num_p.tolist(), lik.num_a.tolist(), strict=True):
            pos[a] += list(range(p, p + k))
        for p, a in zip(lik.img_p.tolist(), lik.img_a.tolist(), strict=True):
            pos[a].append(p)
        for row, a in enumerate(lik.cat_a.tolist()):
            pos[a] += lik.cat_p[row][lik.cat_valid[row]].tolist()
        return pos

    # ------------------------------------------------------------ encoder
    def experts(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
        """Group experts and availability.

        Returns
        -------
        mu : Tensor (n, G, K)
        prec : Tensor (n, G, K)
            Diagonal precisions ``|V_g (phi_g + b_g)|``.
        available : Tensor (n, G)
            1 where the group has at least one observed element.
        """
        x = F.pad(batch.x * batch.observed, (0, 1))[:, self.elem_idx]
        m = F.pad(batch.observed, (0, 1))[:, self.elem_idx]
        h = self.features(torch.cat([x, m], -1))
        mu = torch.einsum("ngh,ghk->ngk", h, self.U)
        prec = torch.einsum("ngh,gkh->ngk", h + self.baseline[:, None], self.V).abs()
        available = (m.amax(-1) > 0).to(mu.dtype)
        return mu, prec, available

    @staticmethod
    def product_of_experts(
        mu: Tensor, prec: Tensor, use: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Closed-form ``N(0, I) * prod_{g: use_g = 1} N(mu_g, prec_g^-1)``.

        Returns the posterior mean and diagonal precision, each ``(n, K)``; the
        precision is ``1 + sum_g use_g prec_g``, so adding a group never increases
        any posterior variance.
        """
        w = prec * use.unsqueeze(-1)
        total = 1.0 + w.sum(-2)
        return (w * mu).sum(-2) / total, total

    def mixture(self, mu: Tensor, prec: Tensor, use: Tensor):
        """JMVAE+ components: expert g times the prior, uniform over the used groups.

        Returns component means and precisions ``(n, G + 1, K)`` (the last is the
        prior, used alone when no group is used) and log-weights ``(n, G + 1)``.
        """
        comp_prec = 1.0 + prec
        comp_mu = prec * mu / comp_prec
        comp_mu = torch.cat([comp_mu, torch.zeros_like(comp_mu[:, :1])], 1)
        comp_prec = torch.cat([comp_prec, torch.ones_like(comp_prec[:, :1])], 1)
        none = (use.sum(-1, keepdim=True) == 0).to(use.dtype)
        weights = torch.cat([use, none], -1)
        weights = weights / weights.sum(-1, keepdim=True)
        return comp_mu, comp_prec, weights.log()

    def posterior(
        self, batch: Batch, use: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Mean and diagonal variance of q(z | x) from the groups in ``use``.

        ``use`` (n, G) defaults to the available groups. For ``fusion="moe"`` the
        moments are those of the mixture.
        """
        mu, prec, available = self.experts(batch)
        use = available if use is None else use * available
        if self.fusion == "poe":
            mean, total = self.product_of_experts(mu, prec, use)
            return mean, 1.0 / total
        c_mu, c_prec, log_w = self.mixture(mu, prec, use)
        w = log_w.exp().unsqueeze(-1)
        mean = (w * c_mu).sum(1)
        second = (w * (c_mu.pow(2) + 1.0 / c_prec)).sum(1)
        return mean, second - mean.pow(2)

    # ------------------------------------------------------------ decoder
    def decode(self, z: Tensor) -> Tensor:
        """Likelihood parameters ``(..., n_params)`` from every group generator."""
        h = torch.einsum("...k,gkp->...gp", z, self.W)
        out = self.generator(h)
        return out.flatten(-2)[..., self.param_gather]

    def _log_joint(self, z: Tensor, batch: Batch) -> Tensor:
        """log p(x_obs | z) + log p(z), shape ``z.shape[:-1]``."""
        ll = self.likelihood.log_prob(self.decode(z), batch.x, batch.observed).sum(-1)
        return ll - 0.5 * (_LOG_2PI + z.pow(2)).sum(-1)

    # ------------------------------------------------------------- losses
    def _inference_set(self, available: Tensor) -> Tensor:
        if not self.training or self.group_available_prob >= 1.0:
            return available
        keep = (
            torch.rand_like(available, generator=rng(available.device))
            < self.group_available_prob
        )
        return available * keep.to(available.dtype)

    def elbo(self, batch: Batch) -> Tensor:
        """Per-row ELBO (one reparameterised sample; group dropout when training)."""
        mu, prec, available = self.experts(batch)
        use = self._inference_set(available)
        if self.fusion == "poe":
            q_mu, q_prec = self.product_of_experts(mu, prec, use)
            z = (
                q_mu
                + torch.randn_like(q_mu, generator=rng(q_mu.device)) * q_prec.rsqrt()
            )
            ll = self.likelihood.log_prob(self.decode(z), batch.x, batch.observed)
            kl = 0.5 * (q_mu.pow(2) + 1.0 / q_prec - 1.0 + q_prec.log()).sum(-1)
            return ll.sum(-1) - kl
        # mixture: stratified over the components, no closed-form KL
        c_mu, c_prec, log_w = self.mixture(mu, prec, use)
        z = (
            c_mu + torch.randn_like(c_mu, generator=rng(c_mu.device)) * c_prec.rsqrt()
        )  # (n, C, K)
        log_q = self._log_mixture(z, c_mu, c_prec, log_w)
        terms = self._log_joint(z.transpose(0, 1), batch).transpose(0, 1) - log_q
        return (log_w.exp() * terms).sum(-1)

    @staticmethod
    def _log_mixture(
        z: Tensor, c_mu: Tensor, c_prec: Tensor, log_w: Tensor
    ) -> Tensor:
        """log q_mix(z) for z (..., n, C', K) against the n rows' C components."""
        comp = _log_normal_prec(
            z.unsqueeze(-2), c_mu.unsqueeze(-3), c_prec.unsqueeze(-3)
        )
        return torch.logsumexp(comp + log_w.unsqueeze(-2), -1)

    def weight_log_prior(self) -> Tensor:
        """log N(theta; 0, sigma^2 I) of the generator weights (up to a constant)."""
        # weights only: a prior pulling the output biases to 0 would also pull the
        # marginal (the prediction at an uninformative z) away from the data mean
        sq = sum(
            m.weight.pow(2).sum()
            for m in self.generator
            if isinstance(m, GroupedLinear)
        )
        return -0.5 * sq / self.weight_prior_var

    def loss(self, batch: Batch) -> Tensor:
        return -self.elbo(batch).mean() - self.prior_scale * self.weight_log_prior()

    def validation_loss(self, batch: Batch) -> Tensor:
        return -self.elbo(batch).mean()

    # ------------------------------------------------------ optimisation
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        phi = [self.W, self.V]
        phi_ids = {id(p) for p in phi}
        rest = [p for p in self.parameters() if id(p) not in phi_ids]
        # Phi gets plain SGD so that the prox threshold eta * lambda matches its step
        return [
            adam(rest, lr),
            torch.optim.SGD(phi, lr=self.prox_learning_rate, momentum=0.0),
        ]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        loss = self.loss(batch)
        loss.backward()
        for opt in optimizers:
            opt.step()
        self.proximal_step()
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def proximal_step(self) -> None:
        """Group soft-threshold of every (group, latent) column of ``[W; V]``."""
        threshold = self.prox_learning_rate * self.sparsity * self.prior_scale
        if threshold <= 0:
            return
        norms = self.sparsity_map()
        scale = (norms - threshold).clamp_min(0.0) / norms.clamp_min(1e-16)
        self.W.mul_(scale.unsqueeze(-1))
        self.V.mul_(scale.unsqueeze(-1))

    def sparsity_map(self) -> Tensor:
        """``S[g, j] = sqrt(sum W_g[:, j]^2 + sum V_g[j, :]^2)``, shape (G, K)."""
        return (self.W.pow(2).sum(-1) + self.V.pow(2).sum(-1)).sqrt()

    # --------------------------------------------------------- imputation
    def impute(self, batch: Batch) -> Tensor:
        mean, _ = self.posterior(batch)
        return self.likelihood.mean(self.decode(mean))

    def sample(self, batch: Batch) -> Tensor:
        """A draw from the model's conditional of the missing given the observed
        entries: sampling-importance-resampling of ``z`` over ``n_draws`` draws of
        q(z | x_obs) (weights ``p(x_obs | z) p(z) / q(z | x_obs)``), then a
        likelihood draw.

        Drawing ``z`` from q alone (the encoder's approximate posterior) gave draws
        that followed the observed cells less than the model's own conditional
        (``docs/user_guide/multiple_imputation.rst``).
        """
        mu, prec, available = self.experts(batch)
        s = self.n_draws
        picks = []
        for rows in row_chunks(batch.n_rows, s, width=batch.x.shape[1]):
            part = Batch(batch.x[rows], batch.observed[rows],
                         batch.attr_observed[rows], batch.index[rows])
            m_r, p_r, a_r = mu[rows], prec[rows], available[rows]
            if self.fusion == "poe":
                q_mu, q_prec = self.product_of_experts(m_r, p_r, a_r)
                z = (
                    q_mu
                    + torch.randn(
                        (s, *q_mu.shape),
                        dtype=q_mu.dtype,
                        device=q_mu.device,
                        generator=rng(q_mu.device),
                    )
                    * q_prec.rsqrt()
                )
                log_q = _log_normal_prec(z, q_mu, q_prec)
            else:
                c_mu, c_prec, log_c = self.mixture(m_r, p_r, a_r)
                comp = torch.multinomial(
                    log_c.exp(), s, replacement=True, generator=rng(log_c.device)
                ).T
                row = torch.arange(comp.shape[1], device=comp.device)
                z_mu, z_prec = c_mu[row, comp], c_prec[row, comp]  # (S, n, K)
                z = (
                    z_mu
                    + torch.randn_like(z_mu, generator=rng(z_mu.device))
                    * z_prec.rsqrt()
                )
                log_q = self._log_mixture(z.unsqueeze(-2), c_mu, c_prec, log_c)[..., 0]
            log_w = self._log_joint(z, part) - log_q
            picks.append(importance_resample(log_w, z))
        return self.likelihood.sample(self.decode(torch.cat(picks, 0)))

    def log_likelihood(self, batch: Batch) -> Tensor:
        """Importance-sampled ``log p(x_obs)`` per row, proposal q(z | x_obs).

        The noise has shape ``(S, 1, K)`` (shared by the rows), so a row's estimate
        does not depend on its batch-mates once the generator is reseeded.
        """
        mu, prec, available = self.experts(batch)
        s, k = self.n_draws, self.latent_dim
        if self.fusion == "poe":
            q_mu, q_prec = self.product_of_experts(mu, prec, available)
            eps = torch.randn(
                (s, 1, k), dtype=mu.dtype, device=mu.device, generator=rng(mu.device)
            )
            z = q_mu + eps * q_prec.rsqrt()  # (S, n, K)
            log_w = self._log_joint(z, batch) - _log_normal_prec(z, q_mu, q_prec)
            return torch.logsumexp(log_w, 0) - math.log(s)
        # stratified over mixture components: S draws from each
        c_mu, c_prec, log_w_c = self.mixture(mu, prec, available)
        eps = torch.randn(
            (s, 1, 1, k), dtype=mu.dtype, device=mu.device, generator=rng(mu.device)
        )
        z = c_mu + eps * c_prec.rsqrt()  # (S, n, C, K)
        log_q = self._log_mixture(z, c_mu, c_prec, log_w_c)
        terms = self._log_joint(z.transpose(1, 2), batch).transpose(1, 2) - log_q
        return torch.logsumexp(terms + log_w_c, dim=(0, 2)) - math.log(s)
