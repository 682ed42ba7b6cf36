"""Relay Variational Inference (RVI) and the Variational Auto-Decoder (VAD).

Encoderless variational inference (method note ``docs/methods/rvi.md``):
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
rows (note, "Per-row optimiser"). New rows are inferred at transform time by the
same row-wise Adam with the decoder and relay vectors frozen.

The table and its two Adam moments are the model's memory per training row
(3 x 4 bytes per entry in float32: 3.6 kB a row with the default 303 entries).
``row_dtype="bfloat16"`` stores all three in bfloat16 (half of that) and updates
them in float32: a batch's rows are read, stepped in float32 and written back
with stochastic rounding, so a step far below the spacing of bfloat16 values
(a 1e-3 step on a coefficient near 1, whose neighbours are 2^-7 apart) still
moves the stored value by the step in expectation instead of being lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..nn import TableLikelihood, gaussian_kl, mlp
from ..nn.functional import log_normal, log_normal_std, reparameterize
from ..nn.importance import importance_resample, row_chunks
from ..schema import ModelLayout
from ..training import (
    Batch,
    ImputationModule,
    adam,
    check_inference,
    iterate_batches,
    train,
)

__all__ = ["PRIOR_STEPS", "RVI", "GuideFit", "fit_guide", "relay_mask"]

_LOGVAR_MIN, _LOGVAR_MAX = -14.0, 8.0
#: proposals per row of the sampling-importance-resampling draws of :meth:`RVI.sample`
SIR_DRAWS = 100
_BETAS = (0.9, 0.999)
_EPS = 1e-8
#: the options of ``relay_variant`` and ``posterior_var`` (the estimators' parameter
#: constraints and docstrings list the same)
RELAY_VARIANTS = ("topk", "cluster")
POSTERIOR_VARS = ("learned", "fixed")
#: storage of the per-row tables (``row_dtype``); arithmetic is float32 either way
ROW_DTYPES = ("float32", "bfloat16")
#: the guide's hidden widths, in multiples of the decoder's (reversed)
_GUIDE_WIDTH = 4
#: the options of ``inference_init``: where a new row's optimisation starts
INFERENCE_INITS = ("guide", "prior")
#: inference steps of ``inference_steps="auto"``: from the prior, and the
#: candidates from the guide's guess, fewest first (:func:`fit_guide`)
PRIOR_STEPS = 80
GUIDE_STEPS = (20, 40)


def relay_mask(coef: Tensor, n_keep: int) -> Tensor:
    """0/1 mask keeping the ``n_keep`` largest ``|coef|`` entries of each row."""
    keep = coef.abs().topk(n_keep, dim=-1).indices
    return torch.zeros_like(coef).scatter_(-1, keep, 1.0)


def stochastic_round(x: Tensor, dtype: torch.dtype) -> Tensor:
    """``x`` (float32) in ``dtype``; bfloat16 rounds stochastically (unbiased).

    A bfloat16 is the upper half of a float32: adding a uniform 16-bit integer to
    the lower half and truncating rounds up with probability equal to the
    fraction dropped, so ``E[round(x)] = x``. Draws from the global generator.
    """
    if dtype == x.dtype:
        return x
    if dtype != torch.bfloat16 or x.dtype != torch.float32:
        return x.to(dtype)
    bits = x.contiguous().view(torch.int32)
    noise = torch.randint(
        0, 1 << 16, x.shape, dtype=torch.int32, device=x.device, generator=rng(x.device)
    )
    return ((bits + noise) & -65536).view(torch.float32).to(dtype)


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
    kl_weight : float
        Weight of the KL term (1 = the ELBO).
    numerical : str
        Likelihood of numerical attributes (see ``deepimpute.nn.LIKELIHOODS``).
    posterior_learning_rate : float or None
        Adam step size of the training rows' parameters (None: the network's).
    inference_steps : int
        Adam steps on the parameters of new rows at transform time.
    inference_learning_rate : float
        Adam step size of the new rows' parameters.
    n_draws : int
        0 decodes the posterior mean; ``k > 0`` averages the decoded means of ``k``
        posterior draws (the posterior predictive mean), one noise vector per draw
        shared by all rows.
    inference_tol : float or None
        A new row stops once its negative ELBO has not improved on its best by
        this much for ``inference_patience`` steps (None: every row runs
        ``inference_steps``).
    inference_patience : int
        Steps without improvement before a new row stops.
    inference_init : {"guide", "prior"}
        Whether the model has a guide: new rows start at its guess once
        :class:`GuideFit` has fitted it and ``use_guide`` is set (until then, and
        with ``"prior"``, at the prior mean).
    row_dtype : {"float32", "bfloat16"}
        Storage of the per-row table and its Adam moments (updates in float32,
        written back by :func:`stochastic_round`).
    """

    # the posterior table has one row per training row (no data-parallel training)
    shares_parameters_across_rows = False

    def __init__(
        self,
        layout: ModelLayout,
        n_rows: int,
        *,
        latent_dim: int,
        hidden: Sequence[int],
        relay_groups: Sequence[int],
        relay_ratio: float,
        relay_variant: str,
        posterior_var: str,
        posterior_logvar: float,
        kl_weight: float,
        numerical: str,
        posterior_learning_rate: float | None,
        inference_steps: int,
        inference_learning_rate: float,
        n_draws: int,
        inference_tol: float | None,
        inference_patience: int,
        inference_init: str,
        row_dtype: str = "float32",
    ) -> None:
        super().__init__()
        if row_dtype not in ROW_DTYPES:
            raise ValueError(f"row_dtype must be one of {ROW_DTYPES}, got "
                             f"{row_dtype!r}.")
        if posterior_var not in POSTERIOR_VARS:
            raise ValueError(f"posterior_var must be one of {POSTERIOR_VARS}, got "
                             f"{posterior_var!r}.")
        if inference_init not in INFERENCE_INITS:
            raise ValueError(f"inference_init must be one of {INFERENCE_INITS}, got "
                             f"{inference_init!r}.")
        if relay_variant not in RELAY_VARIANTS:
            raise ValueError(f"relay_variant must be one of {RELAY_VARIANTS}, got "
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
        self.kl_weight = float(kl_weight)
        self.posterior_learning_rate = posterior_learning_rate
        self.inference_steps = int(inference_steps)
        self.inference_learning_rate = float(inference_learning_rate)
        self.inference_tol = None if inference_tol is None else float(inference_tol)
        self.inference_patience = int(inference_patience)
        self.n_draws = int(n_draws)
        self.decoder = mlp(latent_dim, tuple(hidden), self.likelihood.n_params,
                           activation="relu")
        # the amortised guess of a new row's posterior mean from its observed
        # entries (note, "Inference of new rows"); GuideFit initialises and fits it
        # after training, so until then new rows start at the prior. Built outside
        # the global random stream: training is the same with or without it
        self.guide = None
        if inference_init == "guide":
            widths = tuple(_GUIDE_WIDTH * h for h in reversed(tuple(hidden)))
            with torch.random.fork_rng(devices=[]):
                self.guide = mlp(2 * layout.width, widths, latent_dim,
                                 activation="relu")
            self.guide.requires_grad_(False)
        # whether new rows start at the guide's guess: set once it is fitted, and
        # only if its check passes (estimator, inference_steps="auto")
        self.register_buffer("use_guide", torch.zeros((), dtype=torch.bool))
        # relay vectors r_k^g ~ N(0, 0.1^2): global, small at start
        # (note, "Initialisation")
        self.relays = nn.ParameterList(
            nn.Parameter(0.1 * torch.randn(k, latent_dim)) for k in self.relay_groups
        )
        self.n_coef = sum(self.relay_groups)
        self.n_local = self.n_coef + latent_dim * (2 if self.learn_var else 1)
        dtype = getattr(torch, row_dtype)
        self.register_buffer("rows", self.init_rows(n_rows, dtype=dtype))
        self.register_buffer("rows_m", torch.zeros_like(self.rows))
        self.register_buffer("rows_v", torch.zeros_like(self.rows))
        self.register_buffer("rows_step", torch.zeros(n_rows, 1))
        self._lr = posterior_learning_rate

    # ------------------------------------------------------------ posterior
    def init_rows(
        self, n: int, relay_scale: float = 1.0, dtype: torch.dtype = torch.float32
    ) -> Tensor:
        """Fresh per-row parameters, shape ``(n, n_local)``, stored as ``dtype``.

        Coefficients ``a^g ~ N(0, relay_scale^2 / K_g)``, offsets ``N(0, 1e-3^2)``
        (the VAD code's test init; random so rows differ and top-k has no ties),
        log-variance ``posterior_logvar`` (note, "Initialisation").
        """
        # drawn on the CPU (the caller moves them): the same init on every device.
        # Block by block into the table, so the transient is one block, not a
        # second table (same draws, same order as drawing them all first)
        cpu = torch.device("cpu")
        table = torch.empty(n, self.n_local, dtype=dtype, device=cpu)
        start = 0
        for k in self.relay_groups:
            block = (
                torch.randn(n, k, device=cpu, generator=rng(cpu))
                .mul_(relay_scale)
                .div_(k**0.5)
            )
            table[:, start : start + k] = stochastic_round(block, dtype)
            start += k
        block = torch.randn(n, self.latent_dim, device=cpu, generator=rng(cpu))
        block.mul_(1e-3)
        table[:, start : start + self.latent_dim] = stochastic_round(block, dtype)
        del block
        if self.learn_var:
            table[:, start + self.latent_dim :] = self.posterior_logvar
        return table

    def split_rows(self, theta: Tensor) -> list[Tensor]:
        """Views of ``(n, n_local)`` parameters: one coefficient block per relay
        group, the offset, and (learned variance) the log-variance."""
        sizes = [*self.relay_groups, self.latent_dim]
        if self.learn_var:
            sizes.append(self.latent_dim)
        return list(theta.split(sizes, dim=-1))

    def posterior(
        self,
        theta: Tensor | Sequence[Tensor],
        masks: Sequence[Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Posterior mean and log-variance from per-row parameters ``(n, n_local)``
        (or their :meth:`split_rows` parts).

        ``masks`` (one 0/1 tensor per relay group) are the top-B selections when
        the caller already has them (inference tracks them incrementally).
        """
        if isinstance(theta, Tensor):  # stored rows (bfloat16 tables) compute in fp32
            theta = theta.to(self.rows_step.dtype)
        parts = self.split_rows(theta) if isinstance(theta, Tensor) else theta
        n_groups = len(self.relay_groups)
        mu = parts[n_groups]
        for g, (keep, relay) in enumerate(zip(self.n_keep, self.relays, strict=True)):
            coef = parts[g]
            # hard top-B selection: unselected coefficients contribute 0 and get
            # no gradient in this step (note, "Relay vectors")
            mask = relay_mask(coef.detach(), keep) if masks is None else masks[g]
            mu = mu + (coef * mask) @ relay
        if self.learn_var:
            logvar = parts[n_groups + 1].clamp(_LOGVAR_MIN, _LOGVAR_MAX)
        else:
            logvar = torch.full_like(mu, self.posterior_logvar)
        return mu, logvar

    def row_loss(
        self,
        theta: Tensor | Sequence[Tensor],
        batch: Batch,
        shared_noise: bool = False,
        masks: Sequence[Tensor] | None = None,
    ) -> Tensor:
        """Negative ELBO of every row, ``(n,)``: observed log-likelihood and KL.

        One reparameterised draw per row; ``shared_noise`` draws one ``(1, t)`` noise
        vector for all rows (transform time: invariance to batching).
        """
        mu, logvar = self.posterior(theta, masks)
        shape = (1, mu.shape[-1]) if shared_noise else mu.shape
        eps = torch.randn(
            shape, dtype=mu.dtype, device=mu.device, generator=rng(mu.device)
        )
        z = reparameterize(mu, logvar, eps=eps)
        out = self.decoder(z)
        # the element mask drops missing entries before any reduction
        # (note, "Posterior per row")
        ll = self.likelihood.log_prob(out, batch.x, batch.observed).sum(-1)
        kl = gaussian_kl(mu, logvar).sum(-1)
        return self.kl_weight * kl - ll

    def loss(self, batch: Batch) -> Tensor:
        """Mean negative ELBO of the batch's training rows (``batch.index``)."""
        return self.row_loss(self.rows[batch.index], batch).mean()

    # ------------------------------------------------------------- training
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        own = self.posterior_learning_rate
        self._lr = lr if own is None else own
        net = [p for p in self.parameters() if p.requires_grad]
        return [adam(net, lr)]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        (opt,) = optimizers
        idx = batch.index
        store = self.rows.dtype
        work = self.rows_step.dtype  # float32 arithmetic on bfloat16 tables
        theta = self.rows[idx].to(work)
        # one leaf per block: the gradient of a slice of one leaf would be a
        # full-width zero tensor per slice
        parts = [p.requires_grad_(True) for p in self.split_rows(theta.clone())]
        per_row = self.row_loss(parts, batch)
        loss = per_row.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        # rows see the gradient of their own (summed) ELBO, not of the batch mean
        grad = torch.cat([p.grad for p in parts], dim=-1) * batch.n_rows
        new, m, v, step = _row_adam(
            theta, grad, self.rows_m[idx].to(work), self.rows_v[idx].to(work),
            self.rows_step[idx], self._lr,
        )
        self.rows[idx] = stochastic_round(new, store)
        self.rows_m[idx] = stochastic_round(m, store)
        self.rows_v[idx] = stochastic_round(v, store)
        self.rows_step[idx] = step
        return {"loss": float(loss.detach())}

    def validation_loss(self, batch: Batch) -> Tensor:
        """Held-out rows own no trained parameters: infer them (at most 25 steps,
        the decoder frozen) and return their mean negative ELBO."""
        theta = self.infer(batch, steps=min(self.inference_steps, 25))
        with torch.no_grad():
            return self.row_loss(theta, batch, shared_noise=True).mean()

    # ------------------------------------------------------------ inference
    def infer(
        self, batch: Batch, steps: int | None = None, *, return_steps: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Per-row parameters of new rows, optimised on their observed entries only.

        Decoder and relay vectors are frozen (only the rows' tensor is differentiated,
        so no gradient reaches them). The init and the noise are shared by all rows
        and the loss is a per-row sum, so each row's result is independent of the
        other rows in the batch.

        With ``inference_tol`` set, a row stops once its negative ELBO has not
        improved on its best by ``inference_tol`` for ``inference_patience`` steps;
        its parameters are those after that step. The test looks at the row's own
        losses only, so where a row stops does not depend on its batch-mates;
        stopped rows leave the working set, which is what saves time.
        ``return_steps`` also returns the number of steps each row took.
        """
        steps = self.inference_steps if steps is None else steps
        n = batch.n_rows
        device = batch.x.device
        # new rows start at the prior mean (z ~ 0, VAD's test init): full-size
        # random coefficients would start them at a random mix of the learned
        # relays, where a row with few or no observed entries stays (tiny ones
        # still break top-k ties)
        init = self.init_rows(1, relay_scale=1e-3).to(device)
        # separate leaves per block: differentiating slices of one table would
        # materialise a full-width zero gradient per slice
        parts = [p.expand(n, -1).clone() for p in self.split_rows(init)]
        n_groups = len(self.relay_groups)
        select = _TopSelection(self.n_keep)
        # from the guide's guess only the offset and log-variance move: the relay
        # coefficients stay at their tiny start (note, "Inference of new rows")
        guided = self.guide is not None and bool(self.use_guide)
        fixed = n_groups if guided else 0
        if guided:
            masks = select(parts[:n_groups])
            self._start_at_guess(parts, batch, masks)
        m = [torch.zeros_like(p) for p in parts[fixed:]]
        v = [torch.zeros_like(p) for p in parts[fixed:]]
        tol, patience = self.inference_tol, self.inference_patience
        taken = torch.full((n,), steps, dtype=torch.long, device=device)
        if tol is not None:
            out = torch.cat(parts, dim=-1)  # rows are written here as they stop
            pos = torch.arange(n, device=device)
            best = torch.full((n,), torch.inf, device=device)
            stale = torch.zeros(n, dtype=torch.long, device=device)
            done = torch.zeros(n, dtype=torch.bool, device=device)
        work = batch
        b1, b2 = _BETAS
        lr = self.inference_learning_rate
        first = per_row = None
        with torch.enable_grad():
            for step in range(1, steps + 1):
                if not guided:
                    masks = select(parts[:n_groups])
                moving = parts[fixed:]
                for p in moving:
                    p.requires_grad_(True)
                per_row = self.row_loss(parts, work, shared_noise=True, masks=masks)
                grads = torch.autograd.grad(per_row.sum(), moving)
                if first is None:  # the starting loss, for the divergence check
                    first = per_row.detach().mean()
                for p in moving:
                    p.requires_grad_(False)
                # Adam, in place; every working row has taken the same number of
                # steps, so the bias corrections are scalars
                torch._foreach_mul_(m, b1)
                torch._foreach_add_(m, grads, alpha=1 - b1)
                torch._foreach_mul_(v, b2)
                torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
                denom = torch._foreach_div(v, 1 - b2**step)
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, _EPS)
                torch._foreach_addcdiv_(moving, m, denom, value=-lr / (1 - b1**step))
                if tol is None:
                    continue
                loss = per_row.detach()
                improved = loss < best - tol
                best = torch.where(improved, loss, best)
                stale = torch.where(improved, 0, stale + 1)
                stop = (stale >= patience) & ~done
                if not bool(stop.any()):
                    continue
                out[pos[stop]] = torch.cat([p[stop] for p in parts], dim=-1)
                taken[pos[stop]] = step
                done |= stop
                n_done = int(done.sum())
                if n_done == len(done):
                    break
                # drop stopped rows once they are a quarter of the working set
                if 4 * n_done >= len(done):
                    keep = ~done
                    parts, m, v = ([t[keep] for t in ts] for ts in (parts, m, v))
                    if guided:
                        masks = [mask[keep] for mask in masks]
                    best, stale = best[keep], stale[keep]
                    pos, done = pos[keep], done[keep]
                    select.keep_rows(keep)
                    work = Batch(work.x[keep], work.observed[keep],
                                 work.attr_observed[keep], work.index[keep])
        theta = torch.cat(parts, dim=-1)
        if first is not None:  # a too-large inference step must not pass silently
            check_inference(theta, first, per_row.detach().mean())
        if tol is not None:
            out[pos[~done]] = theta[~done]  # rows still running at the last step
            theta = out
        return (theta, taken) if return_steps else theta

    @contextmanager
    def starting_at(self, guide: bool):
        """Within the block, new rows start at the guide's guess (``guide``, when
        there is a guide) or at the prior; the setting is restored after."""
        saved = bool(self.use_guide)
        self.use_guide.fill_(guide and self.guide is not None)
        try:
            yield
        finally:
            self.use_guide.fill_(saved)

    def guide_targets(self, batch: Batch) -> Tensor:
        """What the guide learns for ``batch``: the posterior mean that
        :meth:`infer` reaches from the prior start."""
        with self.starting_at(guide=False):
            theta = self.infer(batch)
        with torch.no_grad():
            return self.posterior(theta)[0]

    def held_out_nll(
        self, batch: Batch, hidden: Tensor, steps: int, from_guide: bool
    ) -> float:
        """How well inference imputes: hide the observed attributes ``hidden`` (a
        0/1 mask, ``(n, n_attributes)``), infer the rows for ``steps`` steps from
        the guide's guess or the prior, and return the mean negative
        log-likelihood of the hidden attributes under the decoded posterior mean."""
        el = hidden[:, self.likelihood.attr_index] * batch.observed
        seen = Batch(batch.x * (1 - el), batch.observed * (1 - el),
                     batch.attr_observed * (1 - hidden), batch.index)
        with self.starting_at(guide=from_guide):
            theta = self.infer(seen, steps)
        with torch.no_grad():
            out = self.decoder(self.posterior(theta)[0])
            ll = self.likelihood.log_prob(out, batch.x, el)
        return float(-ll.sum() / (hidden * batch.attr_observed).sum().clamp_min(1))

    def guess(self, batch: Batch) -> Tensor:
        """The guide's posterior mean of every row of ``batch``, from its observed
        entries only."""
        return self.guide(torch.cat([batch.x * batch.observed, batch.observed], -1))

    def _start_at_guess(
        self, parts: list[Tensor], batch: Batch, masks: Sequence[Tensor]
    ) -> None:
        """Move the start of a new row's optimisation (``parts``, in place) to the
        guide's guess: the offset absorbs the small shared relay part, so the
        starting posterior mean is the guess."""
        n_groups = len(self.relay_groups)
        with torch.no_grad():
            mu, _ = self.posterior(parts, masks)
            parts[n_groups] = parts[n_groups] + (self.guess(batch) - mu)

    @property
    def all_rows_trained(self) -> bool:
        """Whether every row of the table took a step (a validation row never does)."""
        return not bool((self.rows_step == 0).any())

    def reconstruct(self, theta: Tensor) -> Tensor:
        """Model-space reconstruction: the decoded posterior mean (paper §4), or
        with ``n_draws`` the average decoded mean over posterior draws."""
        mu, logvar = self.posterior(theta)
        if not self.n_draws:
            return self.likelihood.mean(self.decoder(mu))
        total = 0.0
        for _ in range(self.n_draws):
            # one (1, t) noise vector per draw: a row's value ignores its batch-mates
            eps = torch.randn(
                (1, mu.shape[-1]),
                dtype=mu.dtype,
                device=mu.device,
                generator=rng(mu.device),
            )
            total = total + self.likelihood.mean(
                self.decoder(reparameterize(mu, logvar, eps=eps))
            )
        return total / self.n_draws

    def impute(self, batch: Batch) -> Tensor:
        return self.reconstruct(self.infer(batch))

    def sample(self, batch: Batch) -> Tensor:
        """A draw from the model's conditional of the missing given the observed
        entries: sampling-importance-resampling of ``z`` over :data:`SIR_DRAWS`
        draws of the inferred posterior ``q(z)`` (weights
        ``p(x_o | z) p(z) / q(z)``), then a likelihood draw."""
        mu, logvar = self.posterior(self.infer(batch))
        picks = []
        for rows in row_chunks(batch.n_rows, SIR_DRAWS, width=batch.x.shape[1]):
            m, lv = mu[rows], logvar[rows]
            z = reparameterize(m, lv, SIR_DRAWS)  # (K, n, d)
            log_w = (
                self.likelihood.log_prob(
                    self.decoder(z), batch.x[rows], batch.observed[rows]
                ).sum(-1)
                + log_normal_std(z).sum(-1)
                - log_normal(z, m, lv).sum(-1)
            )
            picks.append(importance_resample(log_w, z))
        return self.likelihood.sample(self.decoder(torch.cat(picks, 0)))


class GuideFit(ImputationModule):
    """Fits an :class:`RVI`'s guide to the posteriors that inference finds.

    A training wrapper for :func:`deepimpute.training.train` over rows already
    seen in training: each batch regresses the guide's guess (from the rows'
    observed entries) on ``targets``, the posterior means that
    :meth:`RVI.guide_targets` found for the same rows (indexed by
    ``batch.index``), by mean squared error. Only the guide moves; it is
    re-initialised here from the global random stream, so a seeded fit gives
    the same guide.
    """

    def __init__(self, rvi: RVI, targets: Tensor) -> None:
        super().__init__()
        if rvi.guide is None:
            raise ValueError("this RVI has no guide (inference_init='prior').")
        # only the guide is a submodule: the training loop checks (and would
        # copy) every parameter and buffer each epoch, and the RVI's per-row
        # tables grow with the training rows
        self.guide = rvi.guide
        object.__setattr__(self, "_rvi", rvi)
        for layer in self.guide.modules():
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        self.register_buffer("targets", targets)

    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        self.guide.requires_grad_(True)
        return [adam(self.guide.parameters(), lr)]

    def loss(self, batch: Batch) -> Tensor:
        return (self._rvi.guess(batch) - self.targets[batch.index]).pow(2).mean()

    def on_train_end(self) -> None:
        self.guide.requires_grad_(False)
        self._rvi.use_guide.fill_(True)


def fit_guide(
    rvi: RVI,
    tensors: Sequence[Tensor],
    device: torch.device,
    *,
    learning_rate: float,
    auto_steps: bool,
    batch_size: int,
    inference_batch_size: int,
    max_rows: int,
    check_rows: int,
    steps: int,
    max_epochs: int,
    name: str,
) -> tuple[list[dict], list[dict] | None]:
    """The stage after training: fit ``rvi``'s guide (:class:`GuideFit`) and, with
    ``auto_steps``, choose its inference steps; returns the guide's training
    history and the check (None without ``auto_steps``).

    The guide learns the posterior means that inference from the prior finds for
    up to ``max_rows`` training rows (decoder settled), by the shared loop,
    ``steps`` optimiser steps of ``batch_size`` rows and at most ``max_epochs``
    passes; a fifth of those rows (at most ``check_rows``) are kept out to check
    it: the fewest steps of :data:`GUIDE_STEPS` from the guide's guess whose
    imputation of held-out cells is within 1 % of :data:`PRIOR_STEPS` from the
    prior is kept in ``rvi.inference_steps``; if none is, new rows start at the
    prior (method note, "Inference of new rows").
    """
    # (RVI always trains on tensors in memory: its rows own parameters, so a Dask
    # fit samples the table instead of streaming it)
    rows = torch.randperm(len(tensors[0]), device="cpu", generator=rng("cpu"))
    rows = rows[:max_rows]
    x, obs, attr = (t[rows] for t in tensors)
    n_check = min(check_rows, len(x) // 5)
    fit_rows = (x[n_check:], obs[n_check:], attr[n_check:])
    order = torch.arange(len(fit_rows[0]), device="cpu")
    targets = torch.cat([
        rvi.guide_targets(batch)
        for batch in iterate_batches(fit_rows, order, inference_batch_size,
                                     shuffle=False, device=device, min_batch=1)
    ])
    history = train(
        GuideFit(rvi, targets),
        fit_rows,
        max_iter=min(max_epochs, math.ceil(steps * batch_size / len(fit_rows[0]))),
        batch_size=batch_size,
        learning_rate=learning_rate,
        device=device,
        validation_fraction=0.0,
        n_iter_no_change=None,
        name=name,
    )
    if not (auto_steps and n_check):
        return history, None
    batch = Batch(x[:n_check].to(device), obs[:n_check].to(device),
                  attr[:n_check].to(device), torch.arange(n_check, device="cpu"))
    # a fifth of each row's observed attributes, hidden from inference
    draw = torch.rand(
        batch.attr_observed.shape, device=batch.x.device, generator=rng(batch.x.device)
    )
    hidden = (draw < 0.2).to(batch.x.dtype) * batch.attr_observed
    reference = rvi.held_out_nll(batch, hidden, PRIOR_STEPS, from_guide=False)
    check = [dict(start="prior", steps=PRIOR_STEPS, nll=reference)]
    for n_steps in GUIDE_STEPS:
        score = rvi.held_out_nll(batch, hidden, n_steps, from_guide=True)
        check.append(dict(start="guide", steps=n_steps, nll=score))
        if score <= reference + 0.01 * abs(reference):
            rvi.inference_steps = n_steps
            return history, check
    rvi.use_guide.fill_(False)
    rvi.inference_steps = PRIOR_STEPS
    return history, check


class _TopSelection:
    """Top-B masks of the relay coefficients, kept between inference steps.

    The mask of a group is ``|a| >= threshold`` with a per-row threshold between
    the B-th and (B+1)-th largest ``|a|`` of an earlier step. Exactly B entries at
    or above it means they are the top B, so the threshold is recomputed
    (``kthvalue``) only for rows where the count is off; the selection is the same
    as :func:`relay_mask`'s (up to ties, which random coefficients do not have),
    at the cost of a comparison instead of a partial sort per step.
    """

    def __init__(self, n_keep: Sequence[int]) -> None:
        self.n_keep = tuple(n_keep)
        self.thresholds: list[Tensor | None] = [None] * len(self.n_keep)

    def __call__(self, coefs: Sequence[Tensor]) -> list[Tensor]:
        """Masks of the coefficient blocks ``coefs`` (one ``(n, K_g)`` per group)."""
        masks = []
        for g, (coef, keep) in enumerate(zip(coefs, self.n_keep, strict=True)):
            a = coef.detach().abs()
            k = a.shape[-1]
            if keep >= k:
                masks.append(torch.ones_like(a))
                continue
            thr = self.thresholds[g]
            if thr is None:
                thr = self.thresholds[g] = _midpoints(a, keep)
            sel = a >= thr
            count = sel.sum(-1, keepdim=True)
            off = (count != keep).squeeze(1)
            if bool(off.any()):
                rows = off.nonzero().squeeze(1)
                a_r = a[rows]
                thr[rows] = _repaired(a_r, sel[rows], count[rows], keep)
                sel[rows] = a_r >= thr[rows]
                # adjacent floats: the midpoint may equal one of them
                still = rows[sel[rows].sum(-1) != keep]
                if len(still):
                    sel[still] = relay_mask(a[still], keep).bool()
            masks.append(sel.to(coef.dtype))
        return masks

    def keep_rows(self, keep: Tensor) -> None:
        self.thresholds = [t if t is None else t[keep] for t in self.thresholds]


def _repaired(a: Tensor, sel: Tensor, count: Tensor, keep: int) -> Tensor:
    """New thresholds of rows whose selection ``sel`` holds ``count != keep``.

    One entry too many (or too few) is the usual case after a step: the new
    threshold lies between the two smallest selected (largest unselected) values,
    two min (max) reductions instead of a partial sort; other rows use
    :func:`_midpoints`.
    """
    inf = torch.inf
    hi = a.masked_fill(~sel, inf)
    low1, at = hi.min(-1, keepdim=True)
    low2 = hi.scatter_(-1, at, inf).min(-1, keepdim=True).values
    lo = a.masked_fill(sel, -inf)
    high1, at = lo.max(-1, keepdim=True)
    high2 = lo.scatter_(-1, at, -inf).max(-1, keepdim=True).values
    thr = torch.where(count == keep + 1, 0.5 * (low1 + low2),
                      torch.where(count == keep - 1, 0.5 * (high1 + high2), torch.nan))
    other = thr.isnan().squeeze(1)
    if bool(other.any()):
        thr[other] = _midpoints(a[other], keep)
    return thr


def _midpoints(a: Tensor, keep: int) -> Tensor:
    """Per row, halfway between the ``keep``-th and ``keep+1``-th largest value."""
    k = a.shape[-1]
    top = a.kthvalue(k - keep + 1, dim=-1, keepdim=True).values
    below = a.kthvalue(k - keep, dim=-1, keepdim=True).values
    return 0.5 * (top + below)
