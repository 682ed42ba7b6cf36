"""Attribute likelihoods: the one place where decoder outputs meet the data.

A :class:`TableLikelihood` turns a decoder output of width ``n_params`` into
per-attribute log-likelihoods, point estimates and draws, for every attribute kind of a
:class:`~deepimpute.schema.ModelLayout` at once (vectorised per kind, no Python loop
over attributes):

* numerical: Gaussian with fixed unit variance on standardised data (default), a
  learned per-attribute variance, a heteroscedastic variance from the decoder, a
  Student-t (MIWAE), or a Huber density (Gaussian core, exponential tails) of fixed
  scale;
* categorical: softmax over the one-hot block (cross-entropy);
* image: Bernoulli cross-entropy on [0, 1] pixels (logits) or unit-variance Gaussian.

Every log-likelihood is multiplied by an element mask before any reduction, so a
missing entry never enters a loss unless the caller passes a mask that says so.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._utils.torch_utils import rng
from ..schema import ModelLayout
from .functional import log_normal

__all__ = ["LIKELIHOODS", "TableLikelihood"]

#: The likelihood options per attribute kind (the first is the default).
LIKELIHOODS: dict[str, tuple[str, ...]] = {
    "numerical": (
        "gaussian",
        "gaussian_learned",
        "gaussian_hetero",
        "student_t",
        "huber",
    ),
    "categorical": ("categorical",),
    "image": ("bernoulli", "gaussian"),
}

_N_NUM_PARAMS = {
    "gaussian": 1,
    "gaussian_learned": 1,
    "gaussian_hetero": 2,
    "student_t": 3,
    "huber": 1,
}
#: Where the ``"huber"`` density turns from Gaussian to exponential tails, in scales.
HUBER_K = 6.0


class TableLikelihood(nn.Module):
    """Likelihood heads for a whole table, on top of one decoder output.

    Parameters
    ----------
    layout : ModelLayout
    numerical : str, default="gaussian"
        One of ``LIKELIHOODS["numerical"]``.
    scale : float, default=1.0
        Standard deviation of the ``"gaussian"`` numerical likelihood (fixed; the
        scale of the ``"huber"`` one's Gaussian core), or the initial one of
        ``"gaussian_learned"``, on standardised data. Below 1 it
        weights reconstruction against the KL term: with unit variance on unit-variance
        data, ignoring the latent is a local optimum for a VAE (probabilistic PCA keeps
        only directions whose variance exceeds the noise variance).

    Attributes
    ----------
    n_params : int
        Width of the decoder output this likelihood reads.
    n_num_params : int
        Decoder outputs per numerical attribute (consecutive, location first).
    """

    def __init__(
        self, layout: ModelLayout, numerical: str = "gaussian", scale: float = 1.0
    ) -> None:
        super().__init__()
        if numerical not in _N_NUM_PARAMS:
            raise ValueError(
                f"numerical likelihood must be one of {LIKELIHOODS['numerical']}, "
                f"got {numerical!r}."
            )
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}.")
        self.scale = float(scale)
        self.layout = layout
        self.numerical = numerical
        k = self.n_num_params = _N_NUM_PARAMS[numerical]
        num_x, num_p, num_a = [], [], []
        img_x, img_p, img_a, img_bern = [], [], [], []
        cats = []  # (attr id, x start, out start, n_categories)
        p = 0
        for a, lay in enumerate(layout.attributes):
            if lay.kind == "numerical":
                num_x.append(lay.start)
                num_p.append(p)
                num_a.append(a)
                p += k
            elif lay.kind == "categorical":
                cats.append((a, lay.start, p, lay.width))
                p += lay.width
            else:
                img_x.extend(range(lay.start, lay.stop))
                img_p.extend(range(p, p + lay.width))
                img_a.extend([a] * lay.width)
                img_bern.extend([lay.likelihood != "gaussian"] * lay.width)
                p += lay.width
        self.n_params = p
        self.n_attributes = layout.n_attributes
        self.width = layout.width

        def buf(name, values, dtype=torch.long):
            self.register_buffer(name, torch.tensor(values, dtype=dtype), False)

        buf("num_x", num_x)
        buf("num_p", num_p)
        buf("num_a", num_a)
        buf("img_x", img_x)
        buf("img_p", img_p)
        buf("img_a", img_a)
        buf("img_bern", img_bern, torch.bool)
        cmax = max((c[3] for c in cats), default=1)
        offs = torch.arange(cmax)
        valid = (
            torch.stack([offs < c[3] for c in cats])
            if cats
            else torch.zeros((0, cmax), dtype=torch.bool)
        )
        x_idx = (
            torch.stack([c[1] + offs.clamp(max=c[3] - 1) for c in cats])
            if cats
            else torch.zeros((0, cmax), dtype=torch.long)
        )
        p_idx = (
            torch.stack([c[2] + offs.clamp(max=c[3] - 1) for c in cats])
            if cats
            else torch.zeros((0, cmax), dtype=torch.long)
        )
        self.register_buffer("cat_valid", valid, False)
        self.register_buffer("cat_x", x_idx, False)
        self.register_buffer("cat_p", p_idx, False)
        buf("cat_a", [c[0] for c in cats])
        buf("attr_index", layout.attribute_index().tolist())
        if numerical == "gaussian_learned":
            self.num_log_scale = nn.Parameter(
                torch.full((len(num_x),), math.log(self.scale))
            )

    # ----------------------------------------------------------- parameters
    def _num_loc_scale(self, out: Tensor) -> tuple[Tensor, Tensor]:
        loc = out[..., self.num_p]
        if self.numerical in ("gaussian", "huber"):
            scale = torch.full_like(loc, self.scale)
        elif self.numerical == "gaussian_learned":
            scale = self.num_log_scale.exp().expand_as(loc)
        else:
            scale = F.softplus(out[..., self.num_p + 1]) + 1e-3
        return loc, scale

    def _num_df(self, out: Tensor) -> Tensor:
        return F.softplus(out[..., self.num_p + 2]) + 3.0

    def _cat_logp(self, out: Tensor) -> Tensor:
        logits = out[..., self.cat_p].masked_fill(~self.cat_valid, -math.inf)
        return torch.log_softmax(logits, dim=-1)

    # ------------------------------------------------------------- log-prob
    def log_prob(self, out: Tensor, x: Tensor, observed: Tensor) -> Tensor:
        """Per-attribute log-likelihood, summed over the attribute's observed elements.

        Parameters
        ----------
        out : Tensor of shape (..., n, n_params)
            Decoder output; leading dims broadcast against ``x``.
        x : Tensor of shape (..., n, width)
            Model-space values, zero-filled where missing (never NaN).
        observed : Tensor of shape (..., n, width)
            Element weights (1 = enters the likelihood, 0 = ignored).

        Returns
        -------
        Tensor of shape (..., n, n_attributes)
        """
        lead = torch.broadcast_shapes(out.shape[:-1], x.shape[:-1], observed.shape[:-1])
        lp = out.new_zeros((*lead, self.n_attributes))
        last = lp.dim() - 1
        if self.num_x.numel():
            xv = x[..., self.num_x]
            loc, scale = self._num_loc_scale(out)
            if self.numerical == "student_t":
                el = torch.distributions.StudentT(
                    self._num_df(out), loc, scale
                ).log_prob(xv)
            elif self.numerical == "huber":
                el = _huber_log_prob(xv, loc, scale)
            else:
                el = log_normal(xv, loc, 2.0 * scale.log())
            el = (el * observed[..., self.num_x]).expand(*lead, -1)
            lp = lp.index_add(last, self.num_a, el)
        if self.img_x.numel():
            xv = x[..., self.img_x]
            par = out[..., self.img_p]
            bern = -F.binary_cross_entropy_with_logits(
                par, xv.expand_as(par), reduction="none"
            )
            el = torch.where(
                self.img_bern, bern, log_normal(xv, par, torch.zeros_like(par))
            )
            el = (el * observed[..., self.img_x]).expand(*lead, -1)
            lp = lp.index_add(last, self.img_a, el)
        if self.cat_a.numel():
            logp = self._cat_logp(out).masked_fill(~self.cat_valid, 0.0)
            onehot = x[..., self.cat_x] * self.cat_valid
            el = (logp * onehot).sum(-1) * observed[..., self.cat_x[:, 0]]
            lp = lp.index_add(last, self.cat_a, el.expand(*lead, -1))
        return lp

    # ------------------------------------------------------- point and draws
    def mean(self, out: Tensor) -> Tensor:
        """Expected value in model space (category probabilities in one-hot slots)."""
        res = out.new_zeros((*out.shape[:-1], self.width))
        if self.num_x.numel():
            res[..., self.num_x] = out[..., self.num_p]
        if self.img_x.numel():
            par = out[..., self.img_p]
            res[..., self.img_x] = torch.where(self.img_bern, torch.sigmoid(par), par)
        if self.cat_a.numel():
            probs = self._cat_logp(out).exp()
            res[..., self.cat_x[self.cat_valid]] = probs[..., self.cat_valid]
        return res

    def sample(self, out: Tensor) -> Tensor:
        """One draw per row from the likelihood (one-hot for categoricals)."""
        res = out.new_zeros((*out.shape[:-1], self.width))
        if self.num_x.numel():
            loc, scale = self._num_loc_scale(out)
            if self.numerical == "student_t":
                draw = _student_t_draw(self._num_df(out), loc, scale)
            elif self.numerical == "huber":
                draw = loc + scale * _huber_standard_draw(loc)
            else:
                draw = loc + scale * torch.randn_like(loc, generator=rng(loc.device))
            res[..., self.num_x] = draw
        if self.img_x.numel():
            par = out[..., self.img_p]
            bern = torch.bernoulli(torch.sigmoid(par), generator=rng(par.device))
            res[..., self.img_x] = torch.where(
                self.img_bern,
                bern,
                par + torch.randn_like(par, generator=rng(par.device)),
            )
        if self.cat_a.numel():
            probs = self._cat_logp(out).exp()
            flat = probs.reshape(-1, probs.shape[-1])
            idx = torch.multinomial(flat, 1, generator=rng(flat.device))
            idx = idx.reshape(probs.shape[:-1])
            onehot = F.one_hot(idx, probs.shape[-1]).to(out.dtype)
            res[..., self.cat_x[self.cat_valid]] = onehot[..., self.cat_valid]
        return res

    def expand_attributes(self, attr_values: Tensor) -> Tensor:
        """Broadcast per-attribute values ``(..., n, M)`` to ``(..., n, width)``."""
        return attr_values[..., self.attr_index]


# Huber density: Gaussian within k scales of the location, exponential tails
# beyond (the density whose negative log is Huber's loss). Its gradient in the
# location is bounded, so a few values far out in a near-constant column cannot
# dominate the loss as they do under a Gaussian of small fixed scale.
def _huber_masses(k: float) -> tuple[float, float]:
    """Unnormalised masses of the unit-scale core and of one tail."""
    return math.sqrt(2 * math.pi) * math.erf(k / math.sqrt(2)), math.exp(-k * k / 2) / k


def _huber_log_prob(
    x: Tensor, loc: Tensor, scale: Tensor, k: float = HUBER_K
) -> Tensor:
    core, tail = _huber_masses(k)
    u = ((x - loc) / scale).abs()
    rho = torch.where(u <= k, 0.5 * u**2, k * u - 0.5 * k * k)
    return -rho - scale.log() - math.log(core + 2 * tail)


@torch.no_grad()
def _student_t_draw(df: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """``StudentT(df, loc, scale).sample()`` drawn from the call's generator: the
    same normal and chi-square draws in the same order as torch's distribution,
    which takes no generator."""
    df, loc, scale = torch.broadcast_tensors(df, loc, scale)
    gen = rng(df.device)
    normal = torch.empty(df.shape, dtype=df.dtype, device=df.device)
    normal.normal_(generator=gen)
    chi2 = torch._standard_gamma(0.5 * df, generator=gen) / 0.5
    chi2.clamp_(min=torch.finfo(chi2.dtype).tiny)
    return loc + scale * (normal * torch.rsqrt(chi2 / df))


def _huber_standard_draw(like: Tensor, k: float = HUBER_K) -> Tensor:
    """Draws of the unit-scale Huber density: truncated-normal core or a tail."""
    core_mass, tail_mass = _huber_masses(k)
    in_core = (
        torch.rand_like(like, generator=rng(like.device)) * (core_mass + 2 * tail_mass)
        < core_mass
    )
    # core: standard normal draws redrawn until within [-k, k] (an inverse-CDF
    # draw met erfinv(+-1) = +-inf in float32 once the threshold was 6)
    core = torch.randn_like(like, generator=rng(like.device))
    outside = core.abs() > k
    while outside.any():
        core = torch.where(
            outside, torch.randn_like(like, generator=rng(like.device)), core
        )
        outside = core.abs() > k
    # tail: k + Exp(k), on a random side
    tail = k - torch.log1p(-torch.rand_like(like, generator=rng(like.device))) / k
    sign = torch.where(
        torch.rand_like(like, generator=rng(like.device)) < 0.5, -1.0, 1.0
    )
    return torch.where(in_core, core, sign * tail)
