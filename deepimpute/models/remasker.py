"""ReMasker (Du, Melis & Wang, ICLR 2024): masked autoencoding of table rows.

Every attribute is a token. The encoder (a transformer) sees only the tokens of
observed attributes; in training a share ``mask_ratio`` of those is hidden again
("re-masked"), and the decoder (a second, shallower transformer, which gets a
learned mask token wherever the encoder saw nothing) reconstructs every attribute.
The loss is the reconstruction error of the re-masked observed attributes plus that
of the ones left visible, each averaged over its own cells. Imputation runs the
same network with nothing re-masked and reads the decoder at the missing cells.

Hidden tokens are left out of the encoder by an attention key mask rather than by
dropping them from the sequence (the authors' code gathers the kept tokens of each
row): the visible tokens' outputs are the same, and rows with different numbers of
observed attributes share one batch. See docs/methods/remasker.md for what is from
the paper and what we decided (per-attribute embeddings and heads for mixed tables,
our likelihoods, the re-masking draws of ``sample``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood
from ..schema import ModelLayout
from ..training import Batch, ImputationModule

__all__ = ["ReMasker"]


class ReMasker(ImputationModule):
    """Transformer masked autoencoder over the attributes of a row.

    Parameters
    ----------
    layout : ModelLayout
    embed_dim : int
        Token width of the encoder and the decoder.
    depth : int
        Encoder blocks.
    decoder_depth : int
        Decoder blocks.
    n_heads : int
        Attention heads (must divide ``embed_dim``).
    mlp_ratio : float
        Width of each block's feed-forward layer, in multiples of ``embed_dim``.
    mask_ratio : float
        Share of each row's observed attributes re-masked at every training step.
    numerical : str
        Numerical likelihood (see :data:`deepimpute.nn.LIKELIHOODS`); the
        reconstruction error is its negative log-likelihood.
    n_epochs : int
        Epochs of the learning-rate schedule (linear warm-up, then a half cosine).
    warmup_epochs : int
        Epochs of linear warm-up.
    min_learning_rate : float
        Learning rate at the end of the cosine.
    weight_decay : float
        AdamW weight decay.
    """

    #: AdamW's moment decay rates (the authors' code)
    betas = (0.9, 0.95)

    def __init__(
        self,
        layout: ModelLayout,
        *,
        embed_dim: int,
        depth: int,
        decoder_depth: int,
        n_heads: int,
        mlp_ratio: float,
        mask_ratio: float,
        numerical: str,
        n_epochs: int,
        warmup_epochs: int,
        min_learning_rate: float,
        weight_decay: float,
    ) -> None:
        super().__init__()
        if embed_dim % n_heads:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be a multiple of n_heads ({n_heads})."
            )
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must lie in [0, 1), got {mask_ratio!r}.")
        self.likelihood = TableLikelihood(layout, numerical)
        self.mask_ratio = float(mask_ratio)
        self.n_epochs = int(n_epochs)
        self.warmup_epochs = int(warmup_epochs)
        self.min_learning_rate = float(min_learning_rate)
        self.weight_decay = float(weight_decay)
        self._epoch = 0
        n_attr, width, d = layout.n_attributes, layout.width, embed_dim
        self.n_attributes = n_attr
        self.register_buffer(
            "attr_index", torch.as_tensor(layout.attribute_index(), dtype=torch.long),
            False,
        )
        # token of attribute a: sum over its elements e of x_e * W_e + o_e * U_e,
        # plus the attribute's own embedding (its identity, in place of the
        # authors' fixed sine-cosine positions); o_e tells a partly seen image
        # which of its pixels were observed
        self.value_weight = nn.Parameter(torch.empty(width, d))
        self.seen_weight = nn.Parameter(torch.zeros(width, d))
        self.attr_embed = nn.Parameter(torch.zeros(n_attr, d))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.encoder = nn.ModuleList(
            [_Block(d, n_heads, mlp_ratio) for _ in range(depth)]
        )
        self.encoder_norm = nn.LayerNorm(d)
        self.decoder_embed = nn.Linear(d, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.decoder_attr_embed = nn.Parameter(torch.zeros(n_attr + 1, d))
        self.decoder = nn.ModuleList(
            [_Block(d, n_heads, mlp_ratio) for _ in range(decoder_depth)]
        )
        self.decoder_norm = nn.LayerNorm(d)
        # one linear head per attribute: output j of the likelihood reads the
        # decoder token of the attribute it belongs to
        n_params = self.likelihood.n_params
        self.register_buffer("param_attr", _param_attributes(layout, self.likelihood),
                             False)
        self.head_weight = nn.Parameter(torch.empty(n_params, d))
        self.head_bias = nn.Parameter(torch.zeros(n_params))
        self._init_weights()

    def _init_weights(self) -> None:
        # the authors' (MAE's) initialisation: Xavier-uniform linear layers, small
        # normal tokens
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.value_weight)
        nn.init.xavier_uniform_(self.head_weight)
        for p in (self.cls_token, self.mask_token, self.attr_embed,
                  self.decoder_attr_embed):
            nn.init.normal_(p, std=0.02)

    # ---------------------------------------------------------------- network
    def _visible(self, batch: Batch) -> Tensor:
        """(n, M) bool: attributes with at least one observed element."""
        counts = batch.observed.new_zeros((batch.n_rows, self.n_attributes))
        counts = counts.index_add(1, self.attr_index, batch.observed)
        return counts > 0

    def forward_tokens(self, batch: Batch, keep: Tensor) -> Tensor:
        """Decoder output ``(n, n_params)`` when the encoder sees the attributes
        where ``keep`` (n, M) is True."""
        x, obs = batch.x * batch.observed, batch.observed
        n = x.shape[0]
        el = x.unsqueeze(-1) * self.value_weight + obs.unsqueeze(-1) * self.seen_weight
        tok = el.new_zeros((n, self.n_attributes, el.shape[-1]))
        tok = tok.index_add(1, self.attr_index, el) + self.attr_embed
        h = torch.cat([self.cls_token.expand(n, -1, -1), tok], 1)
        # True = ignored key; the class token is always a key, so no row attends
        # to nothing
        ignore = torch.cat([keep.new_zeros((n, 1)), ~keep], 1)
        for blk in self.encoder:
            h = blk(h, ignore)
        h = self.decoder_embed(self.encoder_norm(h))
        h = torch.where(ignore.unsqueeze(-1), self.mask_token.to(h.dtype), h)
        h = h + self.decoder_attr_embed
        for blk in self.decoder:
            h = blk(h)
        h = self.decoder_norm(h)[:, 1:]
        return (h[:, self.param_attr] * self.head_weight).sum(-1) + self.head_bias

    def _remask(self, visible: Tensor) -> Tensor:
        """Hide ``round(mask_ratio * k)`` of each row's ``k`` visible attributes
        (at least one stays visible); returns the attributes still visible."""
        u = torch.rand(
            visible.shape, device=visible.device, generator=rng(visible.device)
        )
        u = torch.where(visible, u, torch.full_like(u, 2.0))
        rank = u.argsort(1).argsort(1)
        k = visible.sum(1, keepdim=True)
        n_hide = torch.minimum(torch.round(self.mask_ratio * k), (k - 1).clamp(min=0))
        return visible & (rank >= n_hide)

    # ------------------------------------------------------------- interface
    def loss(self, batch: Batch) -> Tensor:
        visible = self._visible(batch)
        keep = self._remask(visible)
        out = self.forward_tokens(batch, keep)
        nll = -self.likelihood.log_prob(out, batch.x, batch.observed)
        hidden = (visible & ~keep).to(nll.dtype)
        kept = keep.to(nll.dtype)
        # the re-masked cells and the visible ones, each averaged on its own
        # (the authors' loss)
        return (nll * hidden).sum() / hidden.sum().clamp(min=1.0) + (
            nll * kept
        ).sum() / kept.sum().clamp(min=1.0)

    def impute(self, batch: Batch) -> Tensor:
        out = self.forward_tokens(batch, self._visible(batch))
        return self.likelihood.mean(out)

    def sample(self, batch: Batch) -> Tensor:
        """A re-masking draw: the encoder sees a random ``1 - mask_ratio`` of each
        row's observed attributes (the corruption it was trained on); missing
        numerical cells get the decoder's prediction, missing categories a draw
        from its probabilities. The spread says how much the imputation depends on
        which observed cells the model sees; it is not a posterior draw."""
        out = self.forward_tokens(batch, self._remask(self._visible(batch)))
        mean = self.likelihood.mean(out)
        draw = self.likelihood.sample(out)
        is_cat = self._categorical_elements(mean)
        return torch.where(is_cat, draw, mean)

    def _categorical_elements(self, like: Tensor) -> Tensor:
        lik = self.likelihood
        flags = torch.zeros(like.shape[-1], dtype=torch.bool, device=like.device)
        if lik.cat_a.numel():
            flags[lik.cat_x[lik.cat_valid]] = True
        return flags

    # ----------------------------------------------------------- optimisation
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        self._base_lr = lr
        return [
            torch.optim.AdamW(
                self.parameters(), lr=lr, betas=self.betas,
                weight_decay=self.weight_decay,
            )
        ]

    def on_epoch_start(self, epoch: int) -> None:
        self._epoch = epoch

    def learning_rate_at(self, epoch: int) -> float:
        """Linear warm-up to the base rate, then a half cosine to the minimum
        (the authors' schedule, stepped per epoch)."""
        base = self._base_lr
        if epoch < self.warmup_epochs:
            return base * (epoch + 1) / (self.warmup_epochs + 1)
        span = max(1, self.n_epochs - self.warmup_epochs)
        progress = min(1.0, (epoch - self.warmup_epochs) / span)
        low = min(self.min_learning_rate, base)
        return low + (base - low) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        (opt,) = optimizers
        for group in opt.param_groups:
            group["lr"] = self.learning_rate_at(self._epoch)
        return super().training_step(batch, optimizers)


class _Block(nn.Module):
    """A pre-norm transformer block (multi-head self-attention, then a GELU
    feed-forward layer, each with a residual; no dropout): the ViT block of the
    authors' code. Written out rather than ``nn.TransformerEncoderLayer``, whose
    inference fast path gives other float roundings than its training path (a
    second ``transform`` then differed from the first in the last digits)."""

    def __init__(self, d: int, n_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        hidden = max(1, int(round(mlp_ratio * d)))
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))

    def forward(self, h: Tensor, ignore: Tensor | None = None) -> Tensor:
        n, length, d = h.shape
        q, k, v = (
            self.qkv(self.norm1(h))
            .reshape(n, length, 3, self.n_heads, d // self.n_heads)
            .permute(2, 0, 3, 1, 4)
        )
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.n_heads)
        if ignore is not None:  # (n, length) True = not a key
            scores = scores.masked_fill(ignore[:, None, None, :], -math.inf)
        att = scores.softmax(-1) @ v
        h = h + self.proj(att.transpose(1, 2).reshape(n, length, d))
        return h + self.mlp(self.norm2(h))


def _param_attributes(layout: ModelLayout, likelihood: TableLikelihood) -> Tensor:
    """The attribute each decoder output of ``likelihood`` belongs to."""
    owner = torch.empty(likelihood.n_params, dtype=torch.long)
    k = likelihood.n_num_params
    p = 0
    for a, lay in enumerate(layout.attributes):
        size = k if lay.kind == "numerical" else lay.width
        owner[p : p + size] = a
        p += size
    return owner
