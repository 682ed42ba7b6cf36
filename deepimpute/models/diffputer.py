"""DiffPuter (Zhang, Fang, Wu & Yu, ICLR 2025): a diffusion model inside EM.

The M-step trains an EDM denoiser (Karras et al., 2022: preconditioned network,
log-normal noise levels, sigma_data = 0.5) on the current completed table: every
cell, observed or imputed, is data. The E-step imputes by conditional reverse
sampling: from pure noise, each step moves the missing cells one step down the
reverse process (Heun's method with a little churn) while the observed cells are
replaced by their own values noised to the next level; each step is repeated
``n_resample`` times, re-noising in between, so the two parts agree (RePaint's
resampling). The imputation is the mean of ``n_draws`` such draws (the vote, for
categories).

This module is one M-step and the E-step; the EM rounds are driven by the
estimator (:class:`deepimpute.imputers.DiffPuterImputer`), which re-runs the shared
training loop on the table completed by the previous round. In the first round
the missing cells hold the column mean (0 on standardised numbers) and uniform
category shares (where the batch's ``observed`` is 0, :attr:`fill`); later rounds
pass completed tables whose every cell is marked observed.

Diffusion space: numbers are standardised and halved (standard deviation 0.5,
the authors' scaling), one-hot blocks and image pixels are shifted to [-0.5, 0.5].
See docs/methods/diffputer.md.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..schema import ModelLayout
from ..training import Batch, ImputationModule, TableRows, iterate_batches

__all__ = ["DiffPuter", "complete_table"]

#: EDM's settings (Karras et al.; the authors' code): data scale, training noise
#: levels log sigma ~ N(P_MEAN, P_STD^2), sampling range and schedule curvature
SIGMA_DATA = 0.5
P_MEAN, P_STD = -1.2, 1.2
SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
#: churn of the stochastic sampler (S_churn = 1 spread over the steps)
S_CHURN = 1.0


class DiffPuter(ImputationModule):
    """EDM denoiser over whole rows, with masked conditional reverse sampling.

    Parameters
    ----------
    layout : ModelLayout
    hidden : int
        Width of the denoiser (the paper's MLP: ``hidden -> 2 hidden -> 2 hidden
        -> hidden``, SiLU, with a sinusoidal noise-level embedding).
    n_steps : int
        Reverse-process steps of the E-step.
    n_resample : int
        Repetitions of each reverse step (1: no resampling).
    n_draws : int
        Reverse-process draws averaged into an imputation.
    """

    def __init__(
        self,
        layout: ModelLayout,
        *,
        hidden: int,
        n_steps: int,
        n_resample: int,
        n_draws: int,
    ) -> None:
        super().__init__()
        if n_steps < 2:
            raise ValueError(f"n_steps must be at least 2, got {n_steps!r}.")
        self.n_steps = int(n_steps)
        self.n_resample = int(n_resample)
        self.n_draws = int(n_draws)
        width = layout.width
        offset = torch.zeros(width)
        scale = torch.ones(width)
        fill = torch.zeros(width)
        blocks = []
        for lay in layout.attributes:
            sl = lay.slice
            if lay.kind == "numerical":
                scale[sl] = 0.5
            elif lay.kind == "categorical":
                offset[sl] = 0.5
                fill[sl] = 1.0 / lay.width
                blocks.append((lay.start, lay.width))
            else:  # image pixels in [0, 1]
                offset[sl] = 0.5
                fill[sl] = 0.5
        self.register_buffer("offset", offset, False)
        self.register_buffer("scale", scale, False)
        #: first-round value of a missing element (model space)
        self.register_buffer("fill", fill, False)
        cmax = max((w for _, w in blocks), default=1)
        steps = torch.arange(cmax)
        self.register_buffer(
            "cat_idx",
            torch.stack([s + steps.clamp(max=w - 1) for s, w in blocks])
            if blocks else torch.zeros((0, cmax), dtype=torch.long),
            False,
        )
        self.register_buffer(
            "cat_valid",
            torch.stack([steps < w for _, w in blocks])
            if blocks else torch.zeros((0, cmax), dtype=torch.bool),
            False,
        )
        h = hidden
        self.proj = nn.Linear(width, h)
        self.time_embed = nn.Sequential(nn.Linear(h, h), nn.SiLU(), nn.Linear(h, h))
        self.net = nn.Sequential(
            nn.Linear(h, 2 * h), nn.SiLU(),
            nn.Linear(2 * h, 2 * h), nn.SiLU(),
            nn.Linear(2 * h, h), nn.SiLU(),
            nn.Linear(h, width),
        )
        self.hidden = h

    # ------------------------------------------------------------- spaces
    def to_diffusion(self, x: Tensor) -> Tensor:
        return (x - self.offset) * self.scale

    def from_diffusion(self, y: Tensor) -> Tensor:
        return y / self.scale + self.offset

    def completed(self, batch: Batch) -> Tensor:
        """The batch in diffusion space, missing elements at :attr:`fill`."""
        x = torch.where(batch.observed > 0, batch.x, self.fill.to(batch.x.dtype))
        return self.to_diffusion(x)

    # ------------------------------------------------------------ denoiser
    def _noise_embedding(self, c_noise: Tensor) -> Tensor:
        half = self.hidden // 2
        freqs = (1.0 / 10_000) ** (
            torch.arange(half, dtype=c_noise.dtype, device=c_noise.device) / half
        )
        arg = c_noise.unsqueeze(-1) * freqs
        emb = torch.cat([arg.sin(), arg.cos()], -1)
        if emb.shape[-1] < self.hidden:  # odd width
            emb = torch.cat([emb, emb.new_zeros((*emb.shape[:-1], 1))], -1)
        return self.time_embed(emb)

    def denoise(self, y: Tensor, sigma: Tensor) -> Tensor:
        """EDM's preconditioned denoiser D(y; sigma); ``sigma`` broadcasts
        against ``y[..., :1]``."""
        sd2 = SIGMA_DATA**2
        s2 = sigma**2
        c_skip = sd2 / (s2 + sd2)
        c_out = sigma * SIGMA_DATA / (s2 + sd2).sqrt()
        c_in = 1.0 / (s2 + sd2).sqrt()
        c_noise = (sigma.log() / 4).expand(*y.shape[:-1], 1).squeeze(-1)
        f = self.net(self.proj(c_in * y) + self._noise_embedding(c_noise))
        return c_skip * y + c_out * f

    # -------------------------------------------------------------- M-step
    def loss(self, batch: Batch) -> Tensor:
        y = self.completed(batch)
        sigma = (
            torch.randn(
                (y.shape[0], 1), dtype=y.dtype, device=y.device, generator=rng(y.device)
            )
            * P_STD
            + P_MEAN
        ).exp()
        weight = (sigma**2 + SIGMA_DATA**2) / (sigma * SIGMA_DATA) ** 2
        noisy = y + torch.randn_like(y, generator=rng(y.device)) * sigma
        return (weight * (self.denoise(noisy, sigma) - y) ** 2).mean()

    # -------------------------------------------------------------- E-step
    def noise_levels(self, device, dtype) -> Tensor:
        """The ``n_steps`` levels of EDM's schedule, then 0."""
        i = torch.arange(self.n_steps, dtype=dtype, device=device)
        hi, lo = SIGMA_MAX ** (1 / RHO), SIGMA_MIN ** (1 / RHO)
        t = (hi + i / (self.n_steps - 1) * (lo - hi)) ** RHO
        return torch.cat([t, t.new_zeros(1)])

    def reverse(self, batch: Batch, draws: int, shared_noise: bool) -> Tensor:
        """``draws`` conditional reverse-process draws, ``(draws, n, width)`` in
        diffusion space; with ``shared_noise`` every row gets the same noise
        (imputations then do not depend on the batch)."""
        y_obs = self.to_diffusion(batch.x)
        known = batch.observed > 0
        n, width = y_obs.shape
        shape = (draws, 1 if shared_noise else n, width)

        def noise() -> Tensor:
            return torch.randn(
                shape,
                dtype=y_obs.dtype,
                device=y_obs.device,
                generator=rng(y_obs.device),
            )

        t = self.noise_levels(y_obs.device, y_obs.dtype)
        gamma = min(S_CHURN / self.n_steps, math.sqrt(2) - 1)
        x = (noise() * t[0]).expand(draws, n, width)
        for i in range(self.n_steps):
            t_cur, t_next = t[i], t[i + 1]
            for j in range(self.n_resample):
                moved = self._heun(x, t_cur, t_next, gamma, noise, last=i ==
                                   self.n_steps - 1)
                x = torch.where(known, y_obs + noise() * t_next, moved)
                if j < self.n_resample - 1:
                    x = x + noise() * (t_cur**2 - t_next**2).sqrt()
        return torch.where(known, y_obs, x)

    def _heun(self, x, t_cur, t_next, gamma, noise, last: bool) -> Tensor:
        t_hat = t_cur * (1 + gamma)
        x_hat = x + (t_hat**2 - t_cur**2).sqrt() * noise()
        d_cur = (x_hat - self.denoise(x_hat, t_hat.reshape(1))) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur
        if last:  # the step to sigma = 0: Euler
            return x_next
        d_next = (x_next - self.denoise(x_next, t_next.reshape(1))) / t_next
        return x_hat + (t_next - t_hat) * 0.5 * (d_cur + d_next)

    def _decode(self, y: Tensor) -> Tensor:
        """Model-space values; each category block one-hot at its largest slot."""
        x = self.from_diffusion(y)
        if self.cat_idx.numel():
            vals = x[..., self.cat_idx].masked_fill(~self.cat_valid, -math.inf)
            hot = nn.functional.one_hot(vals.argmax(-1), vals.shape[-1]).to(x.dtype)
            x = x.clone()
            x[..., self.cat_idx[self.cat_valid]] = hot[..., self.cat_valid]
        return x

    def impute(self, batch: Batch) -> Tensor:
        # the mean of the draws; categories by vote (shares of the draws)
        draws = self._decode(self.reverse(batch, self.n_draws, shared_noise=True))
        return draws.mean(0)

    def sample(self, batch: Batch) -> Tensor:
        return self._decode(self.reverse(batch, 1, shared_noise=False))[0]


@torch.no_grad()
def complete_table(module: DiffPuter, tensors, device, batch_size: int):
    """EM's E-step: the training table completed by ``module`` (observed values
    kept, missing ones imputed, categories one-hot), every cell marked observed
    for the next M-step."""
    module.eval()
    if isinstance(tensors, TableRows):  # EM completes the whole table densely
        tensors = tensors.dense()
    x, obs, attr = tensors
    rows = torch.arange(len(x), device="cpu")
    parts = [
        module._decode(module.to_diffusion(module.impute(batch))).cpu()
        for batch in iterate_batches(tensors, rows, batch_size, shuffle=False,
                                     device=device, min_batch=1)
    ]
    imputed = torch.cat(parts).to(x.dtype)
    values = torch.where(obs > 0, x, imputed)
    return values, torch.ones_like(obs), torch.ones_like(attr)
