"""Relay Variational Inference (RVI) and the Variational Auto-Decoder (VAD).

Encoderless variational inference (method note ``shared/design/methods/rvi.md``):
every training row owns its Gaussian posterior ``q_i(z) = N(mu_i, diag(s_i^2))``,
optimised by gradient ascent on its ELBO together with a decoder. RVI writes the
posterior mean as ``mu_i = relay_i + offset_i`` where, for every relay group ``g``
of ``K_g`` shared vectors ``r_k^g``, the row keeps a dense coefficient vector
``a_i^g`` and only its ``B_g`` largest entries by absolute value are used:
``relay_i = sum_g sum_{k in top-B_g(|a_i^g|)} a_ik^g r_k^g``. Without relay groups
the model is exactly the VAD (free per-row means).

Per-row parameters live in one table (rows x [coefficients | offset | log-variance])
updated by a row-wise ("lazy") Adam: a row moves only when it is in the batch, and
each row keeps its own step count, so its trajectory does not depend on the other
rows (note pitfall 2). New rows are inferred at transform time by the same row-wise
Adam with the decoder and relay vectors frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..nn import TableLikelihood, gaussian_kl, mlp
from ..schema import ModelLayout
from ..training import Batch, ImputationModule

__all__ = ["RVI", "relay_mask"]

_LOGVAR_MIN, _LOGVAR_MAX = -14.0, 8.0
_BETAS = (0.9, 0.999)
_EPS = 1e-8


def relay_mask(coef: Tensor, n_keep: int) -> Tensor:
    """0/1 mask keeping the ``n_keep`` largest ``|coef|`` entries of each row."""
    keep = coef.abs().topk(n_keep, dim=-1).indices
    return torch.zeros_like(coef).scatter_(-1, keep, 1.0)


def _row_adam(
    param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Tensor, lr: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One Adam step per row, with a per-row step count ``step`` of shape (n, 1).

    Elementwise only, so a row's update never depends on the other rows.
    """
    b1, b2 = _BETAS
    step = step + 1
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1**step)
    v_hat = v / (1 - b2**step)
    param = param - lr * m_hat / (v_hat.sqrt() + _EPS)
    return param, m, v, step


class RVI(ImputationModule):
    """Decoder, shared relay vectors and a table of per-row posterior parameters.

    Parameters
    ----------
    layout : ModelLayout
    n_rows : int
        Number of training rows (size of the per-row table; ``batch.index`` of a
        training batch indexes it).
    latent_dim : int
        Latent size ``t`` (64 in the paper).
    hidden : sequence of int
        Decoder hidden widths (``[64, 64]`` in the paper), ReLU, linear output.
    relay_groups : sequence of int
        Number of relay vectors ``K_g`` per group; empty gives the VAD.
    relay_ratio : float
        ``B_g = max(1, round(relay_ratio * K_g))`` coefficients kept per group.
    relay_variant : {"topk", "cluster"}
        ``"cluster"`` keeps one coefficient per group (``B_g = 1``, paper App. A).
    posterior_var : {"learned", "fixed"}
        Per-row learned log-variance, or the constant ``posterior_logvar``.
    posterior_logvar : float
        Initial (learned) or constant (fixed) posterior log-variance.
    beta : float
        Weight of the KL term (1 = the ELBO).
    numerical : str
        Likelihood of numerical attributes (see ``deepimpute.nn.LIKELIHOODS``).
    posterior_lr : float or None
        Adam step size of the training rows' parameters (None: the network's).
    inference_steps : int
        Adam steps on the parameters of new rows at transform time.
    inference_lr : float
        Adam step size of the new rows' parameters.
    impute_draws : int
        0 decodes the posterior mean; ``k > 0`` averages the decoded means of ``k``
        posterior draws (the posterior predictive mean), one noise vector per draw
        shared by all rows.
    """

    # the posterior table has one row per training row (no data-parallel training)
    shares_parameters_across_rows = False

    def __init__(
        self,
        layout: ModelLayout,
        n_rows: int,
        *,
        latent_dim: int = 64,
        hidden: Sequence[int] = (64, 64),
        relay_groups: Sequence[int] = (25, 50, 100),
        relay_ratio: float = 0.5,
        relay_variant: str = "topk",
        posterior_var: str = "learned",
        posterior_logvar: float = -4.0,
        beta: float = 1.0,
        numerical: str = "gaussian",
        posterior_lr: float | None = None,
        inference_steps: int = 250,
        inference_lr: float = 1e-3,
        impute_draws: int = 0,
    ) -> None:
        super().__init__()
        if posterior_var not in ("learned", "fixed"):
            raise ValueError(f"posterior_var must be 'learned' or 'fixed', got "
                             f"{posterior_var!r}.")
        if relay_variant not in ("topk", "cluster"):
            raise ValueError(f"relay_variant must be 'topk' or 'cluster', got "
                             f"{relay_variant!r}.")
        self.likelihood = TableLikelihood(layout, numerical)
        self.latent_dim = latent_dim
        self.relay_groups = tuple(int(k) for k in relay_groups)
        self.n_keep = tuple(
            1 if relay_variant == "cluster" else max(1, min(k, round(relay_ratio * k)))
            for k in self.relay_groups
        )
        self.learn_var = posterior_var == "learned"
        self.posterior_logvar = float(posterior_logvar)
        self.beta = float(beta)
        self.posterior_lr = posterior_lr
        self.inference_steps = int(inference_steps)
        self.inference_lr = float(inference_lr)
        self.impute_draws = int(impute_draws)
        self.decoder = mlp(latent_dim, tuple(hidden), self.likelihood.n_params,
                           activation="relu")
        # relay vectors r_k^g ~ N(0, 0.1^2): global, small at start (note pitfall 5)
        self.relays = nn.ParameterList(
            nn.Parameter(0.1 * torch.randn(k, latent_dim)) for k in self.relay_groups
        )
        self.n_coef = sum(self.relay_groups)
        self.n_local = self.n_coef + latent_dim * (2 if self.learn_var else 1)
        table = self.init_rows(n_rows)
        self.register_buffer("rows", table)
        self.register_buffer("rows_m", torch.zeros_like(table))
        self.register_buffer("rows_v", torch.zeros_like(table))
        self.register_buffer("rows_step", torch.zeros(n_rows, 1))
        self._lr = posterior_lr

    # ------------------------------------------------------------ posterior
    def init_rows(self, n: int, relay_scale: float = 1.0) -> Tensor:
        """Fresh per-row parameters, shape ``(n, n_local)``.

        Coefficients ``a^g ~ N(0, relay_scale^2 / K_g)``, offsets ``N(0, 1e-3^2)``
        (the VAD code's test init; random so rows differ and top-k has no ties),
        log-variance ``posterior_logvar`` (method note §2, our decision).
        """
        # drawn on the CPU (the caller moves them): the same init on every device
        cpu = torch.device("cpu")
        parts = [
            relay_scale * torch.randn(n, k, device=cpu) / k**0.5
            for k in self.relay_groups
        ]
        parts.append(1e-3 * torch.randn(n, self.latent_dim, device=cpu))
        if self.learn_var:
            parts.append(
                torch.full((n, self.latent_dim), self.posterior_logvar, device=cpu)
            )
        return torch.cat(parts, dim=-1)

    def posterior(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance from per-row parameters ``(n, n_local)``."""
        mu = theta[:, self.n_coef:self.n_coef + self.latent_dim]
        start = 0
        for k, keep, relay in zip(self.relay_groups, self.n_keep, self.relays,
                                  strict=True):
            coef = theta[:, start:start + k]
            # hard top-B selection: unselected coefficients contribute 0 and get
            # no gradient in this step (method note pitfall 1)
            mu = mu + (coef * relay_mask(coef.detach(), keep)) @ relay
            start += k
        if self.learn_var:
            logvar = theta[:, self.n_coef + self.latent_dim:]
            logvar = logvar.clamp(_LOGVAR_MIN, _LOGVAR_MAX)
        else:
            logvar = torch.full_like(mu, self.posterior_logvar)
        return mu, logvar

    def row_loss(
        self, theta: Tensor, batch: Batch, shared_noise: bool = False
    ) -> Tensor:
        """Negative ELBO of every row, ``(n,)``: observed log-likelihood and KL.

        One reparameterised draw per row; ``shared_noise`` draws one ``(1, t)`` noise
        vector for all rows (transform time: invariance to batching).
        """
        mu, logvar = self.posterior(theta)
        shape = (1, mu.shape[-1]) if shared_noise else mu.shape
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        out = self.decoder(z)
        # the element mask drops missing entries before any reduction (pitfall 8)
        ll = self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
        kl = gaussian_kl(mu, logvar).sum(-1)
        return self.beta * kl - ll

    def loss(self, batch: Batch) -> Tensor:
        """Mean negative ELBO of the batch's training rows (``batch.index``)."""
        return self.row_loss(self.rows[batch.index], batch).mean()

    # ------------------------------------------------------------- training
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        self._lr = lr if self.posterior_lr is None else self.posterior_lr
        net = [p for p in self.parameters() if p.requires_grad]
        return [torch.optim.Adam(net, lr=lr)]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        (opt,) = optimizers
        idx = batch.index
        theta = self.rows[idx].clone().requires_grad_(True)
        per_row = self.row_loss(theta, batch)
        loss = per_row.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # rows see the gradient of their own (summed) ELBO, not of the batch mean
        grad = theta.grad * batch.n_rows
        new, m, v, step = _row_adam(
            theta.detach(), grad, self.rows_m[idx], self.rows_v[idx],
            self.rows_step[idx], self._lr,
        )
        self.rows[idx] = new
        self.rows_m[idx] = m
        self.rows_v[idx] = v
        self.rows_step[idx] = step
        return {"loss": float(loss.detach())}

    def validation_loss(self, batch: Batch) -> Tensor:
        """Held-out rows own no trained parameters: infer them (at most 25 steps,
        the decoder frozen) and return their mean negative ELBO."""
        theta = self.infer(batch, steps=min(self.inference_steps, 25))
        with torch.no_grad():
            return self.row_loss(theta, batch, shared_noise=True).mean()

    # ------------------------------------------------------------ inference
    def infer(self, batch: Batch, steps: int | None = None) -> Tensor:
        """Per-row parameters of new rows, optimised on their observed entries only.

        Decoder and relay vectors are frozen (only the rows' tensor is differentiated,
        so no gradient reaches them). The init and the noise are shared by all rows
        and the loss is a per-row sum, so each row's result is independent of the
        other rows in the batch.
        """
        steps = self.inference_steps if steps is None else steps
        n = batch.n_rows
        device = batch.x.device
        # new rows start at the prior mean (z ~ 0, VAD's test init): full-size
        # random coefficients would start them at a random mix of the learned
        # relays, where a row with few or no observed entries stays (tiny ones
        # still break top-k ties)
        theta = self.init_rows(1, relay_scale=1e-3).to(device).expand(n, -1).clone()
        m = torch.zeros_like(theta)
        v = torch.zeros_like(theta)
        step = torch.zeros(n, 1, device=device)
        with torch.enable_grad():
            for _ in range(steps):
                theta.requires_grad_(True)
                total = self.row_loss(theta, batch, shared_noise=True).sum()
                (grad,) = torch.autograd.grad(total, theta)
                theta, m, v, step = _row_adam(
                    theta.detach(), grad, m, v, step, self.inference_lr
                )
        return theta.detach()

    @property
    def all_rows_trained(self) -> bool:
        """Whether every row of the table took a step (a validation row never does)."""
        return not bool((self.rows_step == 0).any())

    def reconstruct(self, theta: Tensor) -> Tensor:
        """Model-space reconstruction: the decoded posterior mean (paper §4), or
        with ``impute_draws`` the average decoded mean over posterior draws."""
        mu, logvar = self.posterior(theta)
        if not self.impute_draws:
            return self.likelihood.mean(self.decoder(mu))
        sd = torch.exp(0.5 * logvar)
        total = 0.0
        for _ in range(self.impute_draws):
            # one (1, t) noise vector per draw: a row's value ignores its batch-mates
            eps = torch.randn((1, mu.shape[-1]), dtype=mu.dtype, device=mu.device)
            total = total + self.likelihood.mean(self.decoder(mu + sd * eps))
        return total / self.impute_draws

    def impute(self, batch: Batch) -> Tensor:
        return self.reconstruct(self.infer(batch))

    def sample(self, batch: Batch) -> Tensor:
        mu, logvar = self.posterior(self.infer(batch))
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.likelihood.sample(self.decoder(z))
