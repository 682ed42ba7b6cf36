"""MisGAN: learning from incomplete data with GANs (Li, Jiang & Marlin, 2019).

A mask generator and a data generator learn the distribution of (masked) incomplete
rows against two WGAN-GP critics: the data critic only sees rows through the masking
operator ``f_tau(x, m) = m * x + (1 - m) * tau``, so the data generator learns the
complete-data distribution. An imputer network then fills real rows so that a third
critic cannot tell them from complete rows of the data generator. The reference is
the authors' PyTorch code, joint mode; the fully
connected sizes for tabular data are our choice (the reference nets are for images).

The model works on [0, 1]-scaled rows (every generator ends in a sigmoid) through
:class:`~deepimpute.models.gain.MinMaxScaling`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import mlp
from ..schema import ModelLayout
from ..training import Batch, ImputationModule
from ..training import adam as _adam
from .gain import MinMaxScaling

__all__ = ["MisGAN", "critic_loss", "gradient_penalty", "mask_data"]

#: output transforms of the mask generator; the estimator validates against it too
MASK_TRANSFORMS = ("fusion", "sigmoid")
#: temperature of the mask transform (the reference code's)
TEMPERATURE = 0.66
#: learning rate of the imputer and its critic relative to the others (reference)
IMPUTER_LR_FACTOR = 2.0


def mask_data(x: Tensor, m: Tensor, tau: float = 0.0) -> Tensor:
    """Masking operator ``f_tau(x, m) = m * x + (1 - m) * tau``."""
    return m * x + (1.0 - m) * tau


def gradient_penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP term ``E[(||grad D(u real + (1 - u) fake)||_2 - 1)^2]``, u per row."""
    u = torch.rand(
        real.shape[0],
        1,
        dtype=real.dtype,
        device=real.device,
        generator=rng(real.device),
    )
    mixed = (u * real + (1.0 - u) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.norm(2, dim=-1) - 1.0) ** 2).mean()


def critic_loss(
    critic: nn.Module, real: Tensor, fake: Tensor, gp_weight: float
) -> tuple[Tensor, Tensor]:
    """Critic objective ``mean D(fake) - mean D(real) + gp_weight * GP``.

    Returns the objective and ``mean D(fake)`` (its negation is the generator's
    adversarial loss).
    """
    real, fake = real.detach(), fake.detach()
    d_fake = critic(fake).mean()
    loss = d_fake - critic(real).mean()
    if gp_weight > 0:
        loss = loss + gp_weight * gradient_penalty(critic, real, fake)
    return loss, d_fake


class MaskTransform(nn.Module):
    """Relaxed mask from generator logits: ``sigmoid(a / T)``, or the "fusion"
    variant ``clamp(1.2 sigmoid(a / T) - 0.1, 0, 1)`` that reaches exact 0 and 1."""

    def __init__(self, mode: str, temperature: float = TEMPERATURE) -> None:
        super().__init__()
        if mode not in MASK_TRANSFORMS:
            raise ValueError(
                f"Unknown mask transform {mode!r}; use one of {MASK_TRANSFORMS}."
            )
        self.mode = mode
        self.temperature = temperature

    def forward(self, a: Tensor) -> Tensor:
        s = torch.sigmoid(a / self.temperature)
        if self.mode == "fusion":
            s = (s * 1.2 - 0.1).clamp(0.0, 1.0)
        return s


class MisGAN(ImputationModule):
    """Mask / data / imputer generators with their WGAN-GP critics.

    Parameters
    ----------
    layout : ModelLayout
    low, span : Tensor of shape (width,)
        :class:`~deepimpute.models.gain.MinMaxScaling` of the model space to [0, 1].
    latent_dim : int
        Size of the Gaussian codes of the data and mask generators.
    generator_hidden, critic_hidden : sequence of int
        Hidden widths of the two generators and of the three critics.
    imputer_hidden : sequence of int or None
        Hidden widths of the imputer (None: ``(h, h, h)`` with ``h = max(width, 64)``).
    n_critic : int
        Critic steps (mini-batches) per generator step.
    gp_weight : float
        Gradient-penalty weight.
    alpha : float
        Weight of the data-critic term in the mask generator's loss.
    beta : float
        Weight of the imputation term in the data generator's loss; a no-op as in
        the reference code unless ``paper_beta_term``.
    gamma : float
        Weight of an optional squared error of the imputer on observed entries.
    tau : float
        Fill value of the masking operator.
    mask_transform : {"fusion", "sigmoid"}
        Output transform of the mask generator (temperature ``TEMPERATURE``).
    paper_beta_term : bool
        Add ``beta * mean D_i(G_x(z))`` to the data generator's loss (the paper's
        objective; the code's term has no gradient).
    n_draws : int
        Draws of the imputer noise averaged by :meth:`impute`.
    """

    def __init__(
        self,
        layout: ModelLayout,
        low: Tensor,
        span: Tensor,
        *,
        latent_dim: int,
        generator_hidden: Sequence[int],
        critic_hidden: Sequence[int],
        imputer_hidden: Sequence[int] | None,
        n_critic: int,
        gp_weight: float,
        alpha: float,
        beta: float,
        gamma: float,
        tau: float,
        mask_transform: str,
        paper_beta_term: bool,
        n_draws: int,
    ) -> None:
        super().__init__()
        d = layout.width
        if imputer_hidden is None:
            h = max(d, 64)
            imputer_hidden = (h, h, h)
        self.scaling = MinMaxScaling(low, span)
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.alpha, self.beta, self.gamma, self.tau = alpha, beta, gamma, tau
        self.paper_beta_term = paper_beta_term
        self.n_draws = n_draws
        self.data_generator = mlp(
            latent_dim, generator_hidden, d, output_activation="sigmoid"
        )
        self.mask_generator = nn.Sequential(
            mlp(latent_dim, generator_hidden, d),
            MaskTransform(mask_transform),
        )
        self.imputer = mlp(d, imputer_hidden, d, output_activation="sigmoid")
        self.data_critic = mlp(d, critic_hidden, 1)
        self.mask_critic = mlp(d, critic_hidden, 1)
        self.imputer_critic = mlp(d, critic_hidden, 1)
        self._n_critic_steps = 0

    # ------------------------------------------------------------ pieces
    def _unit(self, batch: Batch) -> tuple[Tensor, Tensor]:
        m = batch.observed
        return self.scaling.to_unit(batch.x).clamp(0.0, 1.0) * m, m

    def _codes(self, n: int, like: Tensor) -> Tensor:
        return torch.randn(
            n,
            self.latent_dim,
            dtype=like.dtype,
            device=like.device,
            generator=rng(like.device),
        )

    def _impute_unit(self, x: Tensor, m: Tensor, omega: Tensor) -> Tensor:
        """``m * x + (1 - m) * G_i(m * x + (1 - m) * omega)`` (the "comp" imputer)."""
        out = self.imputer(m * x + (1.0 - m) * omega)
        return m * x + (1.0 - m) * out

    # ------------------------------------------------------------ training
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        def adam(net: nn.Module, rate: float) -> torch.optim.Optimizer:
            return _adam(net.parameters(), rate, betas=(0.5, 0.9))

        lr_i = lr * IMPUTER_LR_FACTOR
        return [
            adam(self.data_critic, lr),
            adam(self.mask_critic, lr),
            adam(self.imputer_critic, lr_i),
            adam(self.data_generator, lr),
            adam(self.mask_generator, lr),
            adam(self.imputer, lr_i),
        ]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        opt_dx, opt_dm, opt_di, opt_gx, opt_gm, opt_gi = optimizers
        x, m = self._unit(batch)
        n = x.shape[0]
        with torch.no_grad():
            x_hat = self._impute_unit(x, m, torch.rand_like(x, generator=rng(x.device)))
            fake_x = self.data_generator(self._codes(n, x))
            fake_m = self.mask_generator(self._codes(n, x))
        logs = {}
        critics = (
            ("d_x", self.data_critic, opt_dx, mask_data(x, m, self.tau),
             mask_data(fake_x, fake_m, self.tau)),
            ("d_m", self.mask_critic, opt_dm, m, fake_m),
            # complete generated rows play "real" for the imputation critic
            ("d_i", self.imputer_critic, opt_di, fake_x, x_hat),
        )
        for name, critic, opt, real, fake in critics:
            loss, d_fake = critic_loss(critic, real, fake, self.gp_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward(inputs=list(critic.parameters()))
            opt.step()
            logs[name] = float(loss.detach())
        logs["loss"] = -float(d_fake.detach())  # imputer's adversarial loss
        self._n_critic_steps += 1
        if self._n_critic_steps % self.n_critic == 0:
            self._generator_steps(x, m, opt_gx, opt_gm, opt_gi)
        return logs

    def _generator_steps(
        self,
        x: Tensor,
        m: Tensor,
        opt_gx: torch.optim.Optimizer,
        opt_gm: torch.optim.Optimizer,
        opt_gi: torch.optim.Optimizer,
    ) -> None:
        n = x.shape[0]
        # mask generator: its own critic plus alpha times the data critic's term
        fake_m = self.mask_generator(self._codes(n, x))
        fake_x = self.data_generator(self._codes(n, x))
        loss_m = -self.mask_critic(fake_m).mean() - self.alpha * self.data_critic(
            mask_data(fake_x, fake_m, self.tau)
        ).mean()
        opt_gm.zero_grad(set_to_none=True)
        loss_m.backward(inputs=list(self.mask_generator.parameters()))
        opt_gm.step()

        # data generator on fresh codes (the reference's beta term has no gradient)
        fake_x = self.data_generator(self._codes(n, x))
        with torch.no_grad():
            fake_m = self.mask_generator(self._codes(n, x))
        loss_x = -self.data_critic(mask_data(fake_x, fake_m, self.tau)).mean()
        if self.paper_beta_term:
            loss_x = loss_x + self.beta * self.imputer_critic(fake_x).mean()
        opt_gx.zero_grad(set_to_none=True)
        loss_x.backward(inputs=list(self.data_generator.parameters()))
        opt_gx.step()

        # imputer: fool the imputation critic on real rows with fresh noise
        out = self.imputer(
            m * x + (1.0 - m) * torch.rand_like(x, generator=rng(x.device))
        )
        x_hat = m * x + (1.0 - m) * out
        loss_i = -self.imputer_critic(x_hat).mean()
        if self.gamma > 0:
            rec = ((m * (out - x)) ** 2).sum() / m.sum().clamp_min(1.0)
            loss_i = loss_i + self.gamma * rec
        opt_gi.zero_grad(set_to_none=True)
        loss_i.backward(inputs=list(self.imputer.parameters()))
        opt_gi.step()

    def loss(self, batch: Batch) -> Tensor:
        """Imputer's adversarial loss ``-mean D_i(x_hat)`` (not a quality measure)."""
        x, m = self._unit(batch)
        return -self.imputer_critic(
            self._impute_unit(x, m, torch.rand_like(x, generator=rng(x.device)))
        ).mean()

    # ------------------------------------------------------------ inference
    def impute(self, batch: Batch) -> Tensor:
        x, m = self._unit(batch)
        # (S, 1, d) noise broadcast over rows: invariant to batching and row order
        omega = torch.rand(
            self.n_draws, 1, x.shape[-1], dtype=x.dtype, device=x.device,
            generator=rng(x.device),
        )
        filled = self._impute_unit(x, m, omega).mean(0)
        return self.scaling.from_unit(filled)

    def sample(self, batch: Batch) -> Tensor:
        x, m = self._unit(batch)
        return self.scaling.from_unit(
            self._impute_unit(x, m, torch.rand_like(x, generator=rng(x.device)))
        )
