"""GAIN: generative adversarial imputation nets (Yoon, Jordon & van der Schaar, 2018).

A generator fills the missing entries of a [0, 1]-scaled row from the row, its mask
and U(0, 0.01) noise; a discriminator guesses, entry by entry, which entries were
observed, helped by a hint vector. The reference is the authors' public code: code-style
hint ``H = M * Bernoulli(hint_rate)``, the
discriminator's cross-entropy over all entries, and a generator loss made of the
adversarial term on missing entries plus ``alpha`` times the squared error on the
observed ones.

Both GAN cores work in [0, 1]: :class:`MinMaxScaling` maps the encoder's model space
(standardised numerical slots, one-hot blocks, [0, 1] image pixels) there and back.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import mlp
from ..schema import ModelLayout
from ..training import Batch, ImputationModule, adam

__all__ = ["GAIN", "MinMaxScaling", "gain_losses", "gain_hint"]

_EPS = 1e-8  # the reference's clamp inside log(D + 1e-8)
#: hint mechanisms (:func:`gain_hint`); the estimator validates against it too
HINT_MODES = ("code", "paper")


class MinMaxScaling(nn.Module):
    """Affine map of model-space slots to [0, 1]: ``u = (x - low) / span``.

    Parameters
    ----------
    low, span : Tensor of shape (width,)
        Per-slot offset and range (``max - min + 1e-6`` for numerical slots as in
        the GAIN code; 0 and 1 for slots already in [0, 1]).
    """

    def __init__(self, low: Tensor, span: Tensor) -> None:
        super().__init__()
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("span", torch.as_tensor(span, dtype=torch.float32))

    def to_unit(self, x: Tensor) -> Tensor:
        return (x - self.low) / self.span

    def from_unit(self, u: Tensor) -> Tensor:
        return u * self.span + self.low


def _he_normal_init(net: nn.Module) -> None:
    # the reference's "xavier_init": N(0, 2 / fan_in) weights, zero biases
    for layer in net.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / layer.in_features))
            nn.init.zeros_(layer.bias)


def gain_hint(
    m: Tensor, hint_rate: float, mode: str = "code"
) -> tuple[Tensor, Tensor]:
    """Hint vector ``H`` and the weights of the entries the losses look at.

    ``"code"``: ``H = M * B`` with ``B ~ Bernoulli(hint_rate)``; the losses use every
    entry (weights all one). ``"paper"``: one coordinate ``k`` per row is hidden,
    ``H = B * M + 0.5 (1 - B)`` with ``B_k = 0``; the losses use that coordinate only
    (weights ``1 - B``).
    """
    if mode == "code":
        b = (torch.rand_like(m, generator=rng(m.device)) < hint_rate).to(m.dtype)
        return m * b, torch.ones_like(m)
    if mode == "paper":
        k = torch.randint(
            m.shape[-1], (m.shape[0], 1), device=m.device, generator=rng(m.device)
        )
        b = torch.ones_like(m).scatter_(-1, k, 0.0)
        return b * m + 0.5 * (1.0 - b), 1.0 - b
    raise ValueError(f"Unknown hint mode {mode!r}; use one of {HINT_MODES}.")


def gain_losses(
    d_prob: Tensor, m: Tensor, x: Tensor, g: Tensor, weight: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The discriminator loss, the generator's adversarial and reconstruction terms.

    Parameters
    ----------
    d_prob : Tensor (n, d)
        Discriminator output (probability that an entry was observed).
    m : Tensor (n, d)
        Mask, 1 = observed.
    x, g : Tensor (n, d)
        [0, 1]-scaled data (any value where missing) and generator output.
    weight : Tensor (n, d)
        Entries entering the adversarial terms (all ones for the code's hint).
    """
    wsum = weight.sum().clamp_min(1.0)
    log_d, log_not_d = torch.log(d_prob + _EPS), torch.log(1.0 - d_prob + _EPS)
    loss_d = -(weight * (m * log_d + (1.0 - m) * log_not_d)).sum() / wsum
    loss_adv = -(weight * (1.0 - m) * log_d).sum() / wsum
    # squared error on observed entries only, normalised by their share (code)
    loss_rec = ((m * x - m * g) ** 2).mean() / m.mean().clamp_min(_EPS)
    return loss_d, loss_adv, loss_rec


class GAIN(ImputationModule):
    """Generator and hinted discriminator over [0, 1]-scaled rows.

    Parameters
    ----------
    layout : ModelLayout
    low, span : Tensor of shape (width,)
        :class:`MinMaxScaling` of the model space to [0, 1].
    hidden : int or None
        Width of the two hidden layers of both nets (None: the row width, as the
        reference).
    hint_rate : float
        Probability that an entry's mask value is revealed to the discriminator.
    alpha : float
        Weight of the reconstruction term in the generator loss.
    hint_mode : {"code", "paper"}
        Hint mechanism and loss restriction (see :func:`gain_hint`).
    """

    #: missing entries of the generator input are ``U(0, noise_scale)`` (the
    #: reference code's value; a class attribute, not a setting of the estimator)
    noise_scale = 0.01

    def __init__(
        self,
        layout: ModelLayout,
        low: Tensor,
        span: Tensor,
        *,
        hidden: int | None,
        hint_rate: float,
        alpha: float,
        hint_mode: str,
    ) -> None:
        super().__init__()
        if hint_mode not in HINT_MODES:
            raise ValueError(
                f"hint_mode must be one of {HINT_MODES}, got {hint_mode!r}."
            )
        d = layout.width
        h = d if hidden is None else hidden
        self.scaling = MinMaxScaling(low, span)
        self.hint_rate = hint_rate
        self.alpha = alpha
        self.hint_mode = hint_mode
        self.generator = mlp(2 * d, (h, h), d, output_activation="sigmoid")
        self.discriminator = mlp(2 * d, (h, h), d, output_activation="sigmoid")
        _he_normal_init(self.generator)
        _he_normal_init(self.discriminator)

    # ------------------------------------------------------------ pieces
    def _unit(self, batch: Batch) -> tuple[Tensor, Tensor]:
        m = batch.observed
        return self.scaling.to_unit(batch.x) * m, m

    def _generate(self, x: Tensor, m: Tensor, noise: Tensor) -> Tensor:
        x_tilde = m * x + (1.0 - m) * noise
        return self.generator(torch.cat([x_tilde, m], -1))

    def _discriminate(self, x_hat: Tensor, h: Tensor) -> Tensor:
        return self.discriminator(torch.cat([x_hat, h], -1))

    def _noise(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        u = torch.rand(
            shape, dtype=like.dtype, device=like.device, generator=rng(like.device)
        )
        return self.noise_scale * u

    # ------------------------------------------------------------ training
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        return [
            adam(self.discriminator.parameters(), lr),
            adam(self.generator.parameters(), lr),
        ]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        opt_d, opt_g = optimizers
        x, m = self._unit(batch)
        noise = self._noise(tuple(x.shape), x)
        h, weight = gain_hint(m, self.hint_rate, self.hint_mode)

        # discriminator step; the generator output is a constant here
        with torch.no_grad():
            g = self._generate(x, m, noise)
        x_hat = m * x + (1.0 - m) * g
        loss_d, _, _ = gain_losses(self._discriminate(x_hat, h), m, x, g, weight)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        # generator step on the same noise and hint, against the updated D
        g = self._generate(x, m, noise)
        x_hat = m * x + (1.0 - m) * g
        _, loss_adv, loss_rec = gain_losses(
            self._discriminate(x_hat, h), m, x, g, weight
        )
        loss_g = loss_adv + self.alpha * loss_rec
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=list(self.generator.parameters()))
        opt_g.step()
        return {
            "loss": float(loss_g.detach()),
            "d_loss": float(loss_d.detach()),
            "g_adv": float(loss_adv.detach()),
            "rec": float(loss_rec.detach()),
        }

    def loss(self, batch: Batch) -> Tensor:
        """Generator objective (adversarial + alpha * reconstruction) on a batch."""
        x, m = self._unit(batch)
        g = self._generate(x, m, self._noise(tuple(x.shape), x))
        h, weight = gain_hint(m, self.hint_rate, self.hint_mode)
        x_hat = m * x + (1.0 - m) * g
        _, loss_adv, loss_rec = gain_losses(
            self._discriminate(x_hat, h), m, x, g, weight
        )
        return loss_adv + self.alpha * loss_rec

    # ------------------------------------------------------------ inference
    def _complete(self, batch: Batch, noise: Tensor) -> Tensor:
        x, m = self._unit(batch)
        g = self._generate(x, m, noise)
        return self.scaling.from_unit(m * x + (1.0 - m) * g)

    def impute(self, batch: Batch) -> Tensor:
        # one noise row shared by every row: invariant to batching and row order
        return self._complete(batch, self._noise((1, batch.x.shape[-1]), batch.x))

    def sample(self, batch: Batch) -> Tensor:
        # GAIN's only randomness is the small input noise: draws differ very little
        return self._complete(batch, self._noise(tuple(batch.x.shape), batch.x))
