"""Variational Selective Autoencoder (VSAE; Gong et al., AISTATS 2021).

The method note ``docs/methods/vsae.md`` (cited below by section) says which facts are
from the paper's appendix, which are reconstructed, and which are our decisions.

* **Attributive proposals** ``q(z_i | x_i)``: one 3-layer MLP per attribute (16 units
  for numerical, 64 for categorical, 128 for image attributes; BatchNorm + LeakyReLU on
  tables). Attributes of one kind are evaluated together as a *grouped* MLP (one
  weight tensor per layer with a leading group axis, categorical inputs zero-padded to
  the widest block), which equals separate networks without a Python loop over
  attributes. Its BatchNorm is *masked*: the statistics of attribute ``i`` are
  computed over the rows where ``i`` is observed only, so placeholders of missing
  attributes never enter them (note, "Encoders and the selector").
* **Collective proposal** ``q(z | x_o, m)``: an MLP on the row with unobserved entries
  replaced by N(0, 1) noise, concatenated with the attribute mask; it outputs one
  latent block per attribute.
* **Selector**: block ``i`` comes from the attributive proposal when ``m_i = 1`` and
  from the collective one otherwise; ``z`` concatenates the blocks.
* **Mask decoder** ``p(m | z)`` (Bernoulli) whose output conditions the **data
  decoder** ``p(x | z, m)`` (a shared :class:`~deepimpute.nn.TableLikelihood`).
* **Two-stage training**: ``warmup_epochs`` without the unobserved attributes'
  likelihood, then an EM-like stage where detached draws ``x~_u`` from the current
  model enter the likelihood (note, "Two-stage training"; App. B/D of the paper).
* **Imputation**: self-normalised importance sampling over ``n_draws`` proposal
  draws, with ``log p(m | z)`` in the weights (note, "Imputation").
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood, gaussian_kl, log_normal_std, mlp
from ..nn.functional import log_normal, reparameterize
from ..nn.grouped import GroupedMLP, MaskedGroupBatchNorm
from ..nn.importance import importance_mean, importance_resample, row_chunks
from ..nn.mlp import LEAKY_SLOPE
from ..schema import ModelLayout
from ..training import Batch, ImputationModule, adam

# GroupedMLP and MaskedGroupBatchNorm lived here before deepimpute.nn.grouped; they stay
# names of this module so that estimators pickled by earlier versions still load
__all__ = ["VSAE", "GroupedMLP", "MaskedGroupBatchNorm"]

_LOGVAR_MIN, _LOGVAR_MAX = -12.0, 8.0
# Bound on the proposal means, in prior standard deviations. An encoder fed a value
# it rarely saw in training can extrapolate far (a rare level of a yeast column gave
# |mu| = 312, and the decoder imputed -5.2 in a column ranging 0.11-0.89).
_MU_BOUND = 10.0
#: the options of ``decoder_mask_condition``, ``x_u_target`` and ``impute`` (the
#: estimator's parameter constraints and docstring list the same)
CONDITIONS = ("predicted", "true", "sampled")
TARGETS = ("sample", "mean", "importance")
IMPUTE_MODES = ("proposal_mean", "importance")


# ----------------------------------------------------------------- building blocks
def _decoder_net(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    """Linear -> BatchNorm -> LReLU, then (Linear -> LReLU)*, then Linear.

    The appendix lists BatchNorm after the first layer only; the activations between
    the later layers are missing in its listing and are added
    (``docs/methods/vsae.md``, "Mask decoder and data decoder").
    """
    layers: list[nn.Module] = []
    width = in_dim
    for k, h in enumerate(hidden):
        layers.append(nn.Linear(width, h))
        if k == 0:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.LeakyReLU(LEAKY_SLOPE))
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def _apply(net: nn.Module, x: Tensor) -> Tensor:
    """Run a BatchNorm1d-containing net on ``(..., d)`` by flattening leading dims."""
    lead = x.shape[:-1]
    return net(x.reshape(-1, x.shape[-1])).reshape(*lead, -1)


# ----------------------------------------------------------------------- the model
class VSAE(ImputationModule):
    """Selective proposal over attribute latents, mask decoder, data decoder.

    Parameters
    ----------
    layout : ModelLayout
    latent_dim : int
        Latent size per attribute (2 on UCI tables, as in the paper).
    encoder_hidden : dict
        Hidden widths of the attributive encoders per kind (keys ``"numerical"``,
        ``"categorical"``, ``"image"``; two hidden layers + output layer = the
        appendix's "3-layer MLP").
    collective_hidden : sequence of int
        Hidden widths of the collective encoder (BatchNorm + LeakyReLU).
    mask_hidden, decoder_hidden : sequence of int
        Hidden widths of the mask decoder and the data decoder.
    mask_decoder : bool
        Model ``p(m | z)``. False removes the mask decoder, its loss term and its
        importance weight (ablation).
    decoder_mask_condition : {"predicted", "true", "sampled"}
        What conditions the data decoder: the mask-decoder probabilities, the true
        attribute mask, or a Bernoulli draw of the probabilities (probabilities at
        inference). Without a mask decoder only "true" adds a condition.
    warmup_epochs : int or None
        Epochs of stage 1 (no unobserved-attribute likelihood); None never starts
        stage 2.
    n_target_draws : int
        Draws ``S`` of ``x~_u`` per row in stage 2.
    x_u_target : {"sample", "mean", "importance"}
        Stage-2 targets: likelihood draws under proposal draws (paper), decoder
        means, or likelihood draws weighted by self-normalised importance weights.
    n_draws : int
        Importance samples per row at imputation.
    mask_in_weights : bool
        Include ``log p(m | z)`` in the importance weights.
    impute : {"proposal_mean", "importance"}
        One decoder pass at the proposal means, or the importance-weighted mean.
    numerical : str
        Numerical likelihood (:data:`deepimpute.nn.LIKELIHOODS`).
    numerical_scale : float
        Its (fixed or initial) standard deviation on standardised data.
    extra_drop_rate : float
        Training only: share of observed attributes hidden from the encoders (they
        switch to the collective proposal) while staying in the likelihood.
    kl_weight : float
        Weight of the KL term (1 = the ELBO). Below 1 it keeps the latents in
        use where one attribute carries little information (a categorical
        attribute of a few classes), against posterior collapse.
    kl_warmup_epochs : int
        Training only: the KL term's weight rises linearly from 0 to 1 over this
        many epochs (our addition against posterior collapse; 0 = off, the paper).
    n_train_draws : int
        Latent draws ``K`` per row in training. 1 is the ELBO of the paper; above
        1 the loss is the importance-weighted bound over the ``K`` draws (IWAE),
        with the ``kl_weight``-weighted log p(z) - log q(z) in the weights.
    weight_decay : float
        Decoupled weight decay of every network parameter (AdamW); 0 is Adam.
    """

    #: bound on ``n_draws x rows`` evaluated at once at imputation (memory, not a
    #: modelling choice; tests lower it on an instance)
    inference_rows = 65536

    def __init__(
        self,
        layout: ModelLayout,
        *,
        latent_dim: int,
        encoder_hidden: dict[str, Sequence[int]],
        collective_hidden: Sequence[int],
        mask_hidden: Sequence[int],
        decoder_hidden: Sequence[int],
        mask_decoder: bool,
        decoder_mask_condition: str,
        warmup_epochs: int | None,
        n_target_draws: int,
        x_u_target: str,
        n_draws: int,
        mask_in_weights: bool,
        impute: str,
        numerical: str,
        numerical_scale: float,
        extra_drop_rate: float,
        kl_weight: float,
        kl_warmup_epochs: int,
        n_train_draws: int,
        weight_decay: float,
    ) -> None:
        super().__init__()
        for value, allowed, name in (
            (decoder_mask_condition, CONDITIONS, "decoder_mask_condition"),
            (x_u_target, TARGETS, "x_u_target"),
            (impute, IMPUTE_MODES, "impute"),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
        self.layout = layout
        self.likelihood = TableLikelihood(layout, numerical, numerical_scale)
        self.n_attr = n_attr = layout.n_attributes
        self.width = layout.width
        self.latent_dim = latent_dim
        self.mask_decoder = mask_decoder
        self.condition = decoder_mask_condition
        self.warmup_epochs = warmup_epochs
        self.n_target_draws = n_target_draws
        self.x_u_target = x_u_target
        self.n_draws = n_draws
        self.mask_in_weights = mask_in_weights and mask_decoder
        # private: ``impute`` is also the imputation method of every core
        self._impute = impute
        self.extra_drop_rate = extra_drop_rate
        self.kl_warmup_epochs = kl_warmup_epochs
        self.n_train_draws = n_train_draws
        self.weight_decay = weight_decay
        self.kl_weight = kl_weight
        self.kl_ramp = 1.0 if kl_warmup_epochs <= 0 else 0.0
        # With a fixed-variance Gaussian (and every other kind's likelihood, which is
        # linear in the target), averaging S log-likelihoods equals the likelihood of
        # the averaged target up to a constant (``docs/methods/vsae.md``, "Two-stage
        # training"); so it is exact whenever the numerical attributes are such or
        # absent.
        self._average_targets = (
            numerical == "gaussian" or not self.likelihood.num_x.numel()
        )
        self.stage = 1

        hidden = encoder_hidden
        # attributive encoders, grouped by kind (images additionally by width)
        groups: dict[tuple[str, int], list[int]] = {}
        for a, lay in enumerate(layout.attributes):
            key = (lay.kind, lay.width if lay.kind == "image" else 0)
            groups.setdefault(key, []).append(a)
        self.encoders = nn.ModuleList()
        order: list[int] = []
        for g, ((kind, _), attrs) in enumerate(groups.items()):
            widths = [layout.attributes[a].width for a in attrs]
            in_dim = max(widths)
            idx = torch.zeros(len(attrs), in_dim, dtype=torch.long)
            valid = torch.zeros(len(attrs), in_dim, dtype=torch.bool)
            for r, a in enumerate(attrs):
                lay = layout.attributes[a]
                idx[r, : lay.width] = torch.arange(lay.start, lay.stop)
                valid[r, : lay.width] = True
            self.register_buffer(f"_enc_idx{g}", idx, False)
            self.register_buffer(f"_enc_valid{g}", valid, False)
            self.register_buffer(f"_enc_attr{g}", torch.tensor(attrs), False)
            self.encoders.append(
                GroupedMLP(
                    len(attrs),
                    in_dim,
                    tuple(hidden[kind]),
                    2 * latent_dim,
                    batch_norm=kind
                    != "image",  # App. C.1: no BatchNorm listed for images
                )
            )
            order.extend(attrs)
        self.register_buffer("_enc_inverse", torch.argsort(torch.tensor(order)), False)
        self.collective = mlp(
            self.width + n_attr,
            tuple(collective_hidden),
            2 * latent_dim * n_attr,
            activation="leaky_relu",
            batch_norm=True,
        )
        z_dim = latent_dim * n_attr
        self.mask_net = (
            _decoder_net(z_dim, tuple(mask_hidden), n_attr) if mask_decoder else None
        )
        has_cond = mask_decoder or decoder_mask_condition == "true"
        self.decoder = _decoder_net(
            z_dim + (n_attr if has_cond else 0),
            tuple(decoder_hidden),
            self.likelihood.n_params,
        )

    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        if self.weight_decay > 0:
            return [adam(self.parameters(), lr, weight_decay=self.weight_decay)]
        return super().configure_optimizers(lr)

    # ------------------------------------------------------------------ stages
    def on_epoch_start(self, epoch: int) -> None:
        staged = self.warmup_epochs is not None and epoch >= self.warmup_epochs
        self.stage = 2 if staged else 1
        if self.kl_warmup_epochs > 0:
            self.kl_ramp = min(1.0, epoch / self.kl_warmup_epochs)

    # -------------------------------------------------------------- proposals
    def attributive(self, x: Tensor, attr_observed: Tensor) -> Tensor:
        """Attributive proposal parameters ``(n, M, 2 * latent_dim)`` (mu, logvar).

        Row ``r``, block ``i`` depends on ``x[r, attribute i]`` only (and, in training
        mode, on the batch statistics of attribute ``i`` over its observed rows).
        """
        # group-major (G, n, .) through the grouped encoders: one batched product
        # per layer and kind, no permutation between layers
        mask = attr_observed.T
        outs = []
        for g, enc in enumerate(self.encoders):
            idx = getattr(self, f"_enc_idx{g}")
            valid = getattr(self, f"_enc_valid{g}")
            attrs = getattr(self, f"_enc_attr{g}")
            xin = (x[:, idx] * valid).transpose(0, 1)  # (G, n, in_dim), zero-padded
            outs.append(enc.grouped(xin, mask[attrs]))
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=0)
        return out[self._enc_inverse].transpose(0, 1)

    def collective_params(
        self, x: Tensor, observed: Tensor, attr_observed: Tensor, noise: Tensor
    ) -> Tensor:
        """Collective proposal parameters ``(..., n, M, 2 * latent_dim)``.

        Unobserved entries are replaced by ``noise`` (broadcast against ``x``; a
        ``(K, 1, width)`` tensor gives row-independent common random numbers).
        """
        filled = torch.where(observed > 0, x, noise)
        m = attr_observed.expand(*filled.shape[:-1], -1)
        out = _apply(self.collective, torch.cat([filled, m], -1))
        return out.reshape(*out.shape[:-1], self.n_attr, 2 * self.latent_dim)

    def proposal(
        self,
        x: Tensor,
        observed: Tensor,
        attr_observed: Tensor,
        noise: Tensor,
        attributive: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Selective proposal: mean and log-variance ``(..., n, M, latent_dim)``."""
        att = self.attributive(x, attr_observed) if attributive is None else attributive
        col = self.collective_params(x, observed, attr_observed, noise)
        chosen = torch.where((attr_observed > 0).unsqueeze(-1), att, col)
        mu, logvar = chosen.chunk(2, dim=-1)
        return mu.clamp(-_MU_BOUND, _MU_BOUND), logvar.clamp(_LOGVAR_MIN, _LOGVAR_MAX)

    # --------------------------------------------------------------- decoders
    def decode(self, z: Tensor, attr_observed: Tensor) -> tuple[Tensor, Tensor | None]:
        """Data-decoder output ``(..., n, n_params)`` and mask logits ``(..., n, M)``.

        ``z`` is the flat latent ``(..., n, M * latent_dim)``.
        """
        logits = _apply(self.mask_net, z) if self.mask_net is not None else None
        if self.condition == "true":
            cond = attr_observed.expand(*z.shape[:-1], -1)
        elif logits is None:
            cond = None
        elif self.condition == "sampled" and self.training:
            cond = torch.bernoulli(
                torch.sigmoid(logits.detach()), generator=rng(logits.device)
            )
        else:  # "predicted", and "sampled" at inference (its expectation)
            cond = torch.sigmoid(logits)
        h = z if cond is None else torch.cat([z, cond], -1)
        return _apply(self.decoder, h), logits

    def _mask_ll(self, logits: Tensor | None, attr_observed: Tensor) -> Tensor:
        if logits is None:
            return attr_observed.new_zeros(attr_observed.shape[:-1])
        target = attr_observed.expand_as(logits)
        return -F.binary_cross_entropy_with_logits(
            logits, target, reduction="none"
        ).sum(-1)

    # ------------------------------------------------------------------ losses
    def terms(
        self,
        batch: Batch,
        stage: int | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """Per-row ELBO terms: ``obs_ll``, ``mask_ll``, ``kl`` and ``unobs_ll``.

        In training mode, or when a ``generator`` is given (validation), a share
        ``extra_drop_rate`` of the observed attributes is hidden from the encoders
        and kept in the likelihood.
        """
        stage = self.stage if stage is None else stage
        x, obs, m = batch.x, batch.observed, batch.attr_observed
        # E-step first (as in App. D), so restoring BatchNorm's running statistics
        # cannot touch tensors saved for the gradient pass
        draws = self.generate_targets(batch) if stage == 2 else None
        enc_m, enc_obs = m, obs
        if (self.training or generator is not None) and self.extra_drop_rate > 0:
            u = torch.rand(m.shape, generator=generator, dtype=m.dtype, device=m.device)
            keep = (u >= self.extra_drop_rate).to(m.dtype)
            enc_m, enc_obs = m * keep, obs * self.likelihood.expand_attributes(keep)
        mu, logvar = self.proposal(
            x, enc_obs, enc_m, torch.randn_like(x, generator=rng(x.device))
        )
        # K latent draws per row on a leading axis (K = 1: the ELBO's single draw)
        k = self.n_train_draws
        eps = torch.randn(
            (k, *mu.shape), dtype=mu.dtype, device=mu.device, generator=rng(mu.device)
        )
        z = reparameterize(mu, logvar, eps=eps)
        out, logits = self.decode(z.flatten(-2), m)
        obs_ll = self.likelihood.log_prob(out, x, obs).sum(-1)
        mask_ll = self._mask_ll(logits, m)
        kl = gaussian_kl(mu, logvar).sum((-1, -2))
        unobs_ll = (
            torch.zeros_like(obs_ll)
            if draws is None
            else torch.stack([self._unobserved_ll(batch, o, draws) for o in out])
        )
        if k == 1:
            return dict(
                obs_ll=obs_ll[0], mask_ll=mask_ll[0], kl=kl, unobs_ll=unobs_ll[0]
            )
        # importance-weighted bound over the K draws (the KL enters as the sampled
        # log p(z) - log q(z), weighted by kl_weight like the analytic KL above)
        log_ratio = log_normal_std(z).sum((-1, -2)) - log_normal(z, mu, logvar).sum(
            (-1, -2)
        )
        log_w = obs_ll + mask_ll + unobs_ll + self.current_kl_weight * log_ratio
        return {
            "obs_ll": obs_ll.mean(0),
            "mask_ll": mask_ll.mean(0),
            "kl": kl,
            "unobs_ll": unobs_ll.mean(0),
            "iw_bound": torch.logsumexp(log_w, 0) - math.log(k),
        }

    @contextlib.contextmanager
    def _frozen_batch_norm(self):
        """Run a block without changing BatchNorm's running statistics."""
        saved = {
            name: buf.clone()
            for name, buf in self.named_buffers()
            if "running_" in name or "num_batches_tracked" in name
        }
        try:
            yield
        finally:
            for name, buf in self.named_buffers():
                if name in saved:
                    buf.copy_(saved[name])

    @torch.no_grad()
    def generate_targets(self, batch: Batch) -> tuple[Tensor, Tensor | None]:
        """E-step: ``S`` detached draws of the whole row ``(S, n, width)``.

        z ~ q(z | x_o, m) (fresh collective noise per draw), then x ~ p(x | z, m)
        (``x_u_target="mean"``: its mean). With ``x_u_target="importance"`` the
        draws come with self-normalised log-weights ``(S, n)`` (the imputation
        weights), so the targets follow p(x_u | x_o, m) rather than the proposal;
        otherwise the second output is None (equal weights, the paper's recipe).

        The draws use the networks in their current mode, like the gradient pass
        (BatchNorm on batch statistics while training: targets made with the
        running statistics fed a train/eval mismatch back into the model and
        diverged), and BatchNorm's running statistics are restored afterwards so
        the S-fold sample batch does not update them.
        """
        with self._frozen_batch_norm():
            s = self.n_target_draws
            x, obs, m = batch.x, batch.observed, batch.attr_observed
            att = self.attributive(x, m)
            noise = torch.randn(
                (s, *x.shape), dtype=x.dtype, device=x.device, generator=rng(x.device)
            )
            mu, logvar = self.proposal(x, obs, m, noise, att)
            z = reparameterize(mu, logvar)
            out, logits = self.decode(z.flatten(-2), m)
            if self.x_u_target == "mean":
                return self.likelihood.mean(out), None
            draws = self.likelihood.sample(out)
            if self.x_u_target == "sample":
                return draws, None
            log_w = self._log_weights(out, logits, z, mu, logvar, x, obs, m)
            return draws, torch.log_softmax(log_w, dim=0)

    def _unobserved_ll(
        self, batch: Batch, out: Tensor, draws: tuple[Tensor, Tensor | None]
    ) -> Tensor:
        samples, log_w = draws
        x, obs = batch.x, batch.observed
        unobs = 1.0 - obs
        w = (
            torch.full_like(samples[..., 0], 1.0 / samples.shape[0])
            if log_w is None
            else log_w.exp()
        ).unsqueeze(-1)  # (S, n, 1)
        if self._average_targets:
            target = torch.where(obs > 0, x, (w * samples).sum(0))
            return self.likelihood.log_prob(out, target, unobs).sum(-1)
        target = torch.where(obs > 0, x, samples)
        ll = self.likelihood.log_prob(out, target, unobs)  # (S, n, M)
        return (w * ll).sum(0).sum(-1)

    def _log_weights(
        self,
        out: Tensor,
        logits: Tensor | None,
        z: Tensor,
        mu: Tensor,
        logvar: Tensor,
        x: Tensor,
        obs: Tensor,
        m: Tensor,
    ) -> Tensor:
        """log p(x_o | z, m) [+ log p(m | z)] + log p(z) - log q(z | x_o, m)."""
        log_w = (
            self.likelihood.log_prob(out, x, obs).sum(-1)
            + log_normal_std(z).sum((-1, -2))
            - log_normal(z, mu, logvar).sum((-1, -2))
        )
        if self.mask_in_weights:
            log_w = log_w + self._mask_ll(logits, m)
        return log_w

    @property
    def current_kl_weight(self) -> float:
        """The KL weight in use now: ``kl_weight`` times the warm-up ramp (training)."""
        return self.kl_weight * (self.kl_ramp if self.training else 1.0)

    def _objective(self, t: dict[str, Tensor]) -> Tensor:
        if "iw_bound" in t:
            return -t["iw_bound"].mean()
        ll = t["obs_ll"] + t["mask_ll"] + t["unobs_ll"]
        return -(ll - self.current_kl_weight * t["kl"]).mean()

    def loss(self, batch: Batch) -> Tensor:
        return self._objective(self.terms(batch))

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        (opt,) = optimizers
        opt.zero_grad(set_to_none=True)
        t = self.terms(batch)
        loss = self._objective(t)
        loss.backward()
        opt.step()
        logs = {"loss": float(loss.detach())}
        logs.update({k: float(v.detach().mean()) for k, v in t.items()})
        logs["stage"] = float(self.stage)
        return logs

    def validation_loss(self, batch: Batch) -> Tensor:
        """Negative ELBO of ``(x_o, m)`` on held-out rows (comparable across stages).

        NaN during the warm-up stage: the shared loop then neither early-stops nor
        keeps a checkpoint, so model selection happens within stage 2 (otherwise
        early stopping could end training before the x_u stage ever starts).
        """
        if self.stage == 1 and self.warmup_epochs:
            return torch.tensor(float("nan"), device=batch.x.device)
        # As in training: BatchNorm on batch statistics (its running statistics
        # left untouched) and the encoder-side dropout, drawn the same way every
        # epoch, so the loss scores the collective encoder's predictions of
        # held-out attributes (what imputation uses). In eval mode the loss of a
        # categorical table jumped by 10x between epochs and stopped training
        # after 20 epochs while imputations were still improving.
        gen = torch.Generator(device=batch.x.device).manual_seed(0)
        if batch.n_rows < 2:  # batch statistics need two rows: running ones then
            return self._objective(self.terms(batch, stage=1, generator=gen))
        was_training = self.training
        self.train()
        try:
            with self._frozen_batch_norm():
                return self._objective(self.terms(batch, stage=1, generator=gen))
        finally:
            self.train(was_training)

    # -------------------------------------------------------------- imputation
    def _importance_chunks(self, batch: Batch, per_row_noise: bool):
        """Yield ``(rows, out, log_w)`` over row chunks of ``K`` proposal draws."""
        x, obs, m = batch.x, batch.observed, batch.attr_observed
        k, d = self.n_draws, self.latent_dim
        att = self.attributive(x, m)
        if not per_row_noise:
            # common random numbers: identical for every row, whatever the batch
            eps = torch.randn(
                (k, 1, self.n_attr, d),
                dtype=x.dtype,
                device=x.device,
                generator=rng(x.device),
            )
            noise = torch.randn(
                (k, 1, self.width),
                dtype=x.dtype,
                device=x.device,
                generator=rng(x.device),
            )
        for rows in row_chunks(x.shape[0], k, self.inference_rows):
            xc, oc, mc = x[rows], obs[rows], m[rows]
            if per_row_noise:
                n = xc.shape[0]
                eps = torch.randn(
                    (k, n, self.n_attr, d), dtype=x.dtype, device=x.device,
                    generator=rng(x.device),
                )
                noise = torch.randn(
                    (k, n, self.width),
                    dtype=x.dtype,
                    device=x.device,
                    generator=rng(x.device),
                )
            mu, logvar = self.proposal(xc, oc, mc, noise, att[rows])
            z = reparameterize(mu, logvar, eps=eps)
            out, logits = self.decode(z.flatten(-2), mc)
            yield rows, out, self._log_weights(out, logits, z, mu, logvar, xc, oc, mc)

    def impute(self, batch: Batch) -> Tensor:
        if self._impute == "proposal_mean":
            x = batch.x
            noise = torch.randn(
                (1, self.width), dtype=x.dtype, device=x.device, generator=rng(x.device)
            )
            mu, _ = self.proposal(x, batch.observed, batch.attr_observed, noise)
            out, _ = self.decode(mu.flatten(-2), batch.attr_observed)
            return self.likelihood.mean(out)
        res = batch.x.new_zeros((batch.n_rows, self.width))
        for rows, out, log_w in self._importance_chunks(batch, per_row_noise=False):
            res[rows] = importance_mean(log_w, self.likelihood.mean(out))
        return res

    def sample(self, batch: Batch) -> Tensor:
        """Sampling-importance-resampling of ``z``, then a likelihood draw."""
        res = batch.x.new_zeros((batch.n_rows, self.width))
        for rows, out, log_w in self._importance_chunks(batch, per_row_noise=True):
            res[rows] = self.likelihood.sample(importance_resample(log_w, out))
        return res
