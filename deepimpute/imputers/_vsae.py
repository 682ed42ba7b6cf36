"""Variational Selective Autoencoder estimator (Gong et al., AISTATS 2021)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.vsae import CONDITIONS, IMPUTE_MODES, TARGETS, VSAE
from ..nn import LIKELIHOODS
from ._deep import BaseDeepImputer

__all__ = ["VSAEImputer"]


class VSAEImputer(BaseDeepImputer):
    """Variational Selective Autoencoder imputer.

    Each attribute (a numerical column, a categorical column or an image block) has
    its own latent block, inferred from the attribute itself when it is observed
    (an *attributive* encoder) and from the observed attributes and the mask when
    it is not (the *collective* encoder). A mask decoder models ``p(m | z)``; its
    output conditions the data decoder ``p(x | z, m)``. With ``warmup_epochs`` set
    (the paper's schedule) a second stage also fits detached draws of the
    unobserved attributes. ``transform`` decodes the selective proposal's means
    (``impute="proposal_mean"``) or the paper's importance-weighted mean.
    Method note (what is from the paper, what is reconstructed):
    ``docs/methods/vsae.md``.

    Parameters
    ----------
    latent_dim : int, default=2
        Latent size per attribute (paper: 2 for UCI tables, 256 for images).
    numerical_hidden : tuple of int, default=(16, 16)
        Hidden widths of each numerical attribute's encoder (paper: 16 units,
        BatchNorm and LeakyReLU).
    categorical_hidden : tuple of int, default=(64, 64)
        Same for categorical attributes (paper: 64 units).
    image_hidden : tuple of int, default=(128, 128)
        Same for image attributes (paper: 128 units, no BatchNorm).
    collective_hidden : tuple of int, default=(128, 128, 128)
        Hidden widths of the collective encoder (not given by the paper).
    mask_hidden : tuple of int, default=(16, 16, 16)
        Hidden widths of the mask decoder (paper, App. C.2).
    decoder_hidden : tuple of int, default=(64, 64, 64)
        Hidden widths of the data decoder (paper, App. C.2; 128 for images).
    mask_decoder : bool, default=True
        Model the mask with ``p(m | z)``; False removes the mask decoder, its loss
        term and its importance weight.
    decoder_mask_condition : {"predicted", "true", "sampled"}, default="predicted"
        What conditions the data decoder: the mask decoder's probabilities (the
        paper), the true mask, or a Bernoulli draw of the probabilities in
        training. Without a mask decoder only ``"true"`` adds a condition.
    warmup_epochs : int, "auto" or None, default=None
        Epochs before stage 2 starts. None: no stage 2; ``"auto"``: the paper's
        ``min(100, max_iter // 2)``, early stopping after the warm-up only. Worth
        trying on categorical tables, at about three times the time.
    n_target_draws : int, default=100
        Stage-2 draws of the unobserved attributes per row and step (paper: 100).
    x_u_target : {"sample", "mean", "importance"}, default="sample"
        Stage-2 targets: likelihood draws (paper), decoder means, or
        importance-weighted likelihood draws.
    n_draws : int, default=1000
        Importance samples per row for ``impute="importance"`` and ``sample()``
        (paper: 1000).
    mask_in_weights : bool, default=True
        Include ``log p(m | z)`` in the importance weights (False: MIWAE's).
    impute : {"proposal_mean", "importance"}, default="proposal_mean"
        Point imputation: one decoder pass at the proposal's means (``n_draws``
        times cheaper), or the paper's importance-weighted mean over ``n_draws``
        proposal draws.
    numerical : str, default="huber"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``. ``"huber"``: Gaussian within
        6 ``numerical_scale`` of the mean, exponential tails, so far-out values
        cannot dominate the loss; ``"gaussian"``: the paper's;
        ``"gaussian_learned"``: calibrated draws in ``sample()``.
    numerical_scale : float, default=0.3
        Standard deviation of the numerical likelihood on standardised data
        (fixed, or initial when learned). Not stated by the paper; at 1.0 the
        latents are ignored (posterior collapse, see Notes).
    extra_drop_rate : float, default=0.5
        Share of observed attributes hidden from the encoders in training (kept in
        the likelihood): it trains the collective encoder. 0 is the paper's.
    kl_weight : float, default=0.1
        Weight of the KL term (1: the paper's ELBO). Below 1 it counters posterior
        collapse; use 1 for draws that spread like the data.
    kl_warmup_epochs : int, default=0
        Epochs over which the KL weight rises linearly from 0 (0: off).
    n_train_draws : int, default=1
        Latent draws per row in training: 1 trains on the ELBO (the paper), more
        on the importance-weighted bound (as MIWAE), at that many times the cost.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) per optimiser step; 0 trains with Adam (the
        paper).
    max_iter : int or "auto", default="auto"
        Training epochs; ``"auto"`` allows about 20,000 optimiser steps, 10 to 1000
        epochs (the paper's maximum), into ``max_iter_``. Early stopping usually
        ends training sooner.
    learning_rate : float, default=1e-3
        Adam step size (paper: 1e-3 numerical and mixed tables, 1e-2
        categorical). Lower it if the training loss diverges.
    validation_fraction : float, default=0.1
        Share of training rows held out; their negative ELBO (observed attributes
        and mask) is monitored. 0 monitors the training loss and restores no best
        checkpoint.
    n_iter_no_change : int or None, default=20
        Patience of early stopping in epochs, counted after the warm-up; None
        trains all ``max_iter`` epochs.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained torch core (``deepimpute.models.vsae.VSAE``).
    history_ : list of dict
        Per-epoch records (``loss``, ``obs_ll``, ``mask_ll``, ``kl``, ``unobs_ll``,
        ``stage``, ``val_loss`` (NaN during the warm-up), ``seconds``).

    See Also
    --------
    RVIImputer : Encoderless relay variational inference.
    MIWAEImputer : Importance-weighted VAE without a mask model.
    deepimpute.plotting.plot_history : Plot ``history_``.

    Notes
    -----
    Four defaults are ours, not the paper's: ``numerical_scale``,
    ``extra_drop_rate``, ``kl_weight`` and the Huber likelihood. With the paper's
    values every imputation is the column mean or mode on standardised tables.
    For draws that spread like the data, use ``numerical="gaussian_learned",
    extra_drop_rate=0, kl_weight=1``; the draws are not meant for inference. With
    a stage 2 and ``validation_fraction=0`` the monitored loss jumps when stage 2
    starts: prefer ``n_iter_no_change=None`` then. Measurements behind the
    defaults: :ref:`defaults-vsae`.

    References
    ----------
    Y. Gong, H. Hajimirsadeghi, J. He, T. Durand, G. Mori. "Variational Selective
    Autoencoder: Learning from Partially-Observed Heterogeneous Data", AISTATS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import VSAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = VSAEImputer(max_iter=2, n_draws=10, n_target_draws=2,
    ...                   random_state=0, device="cpu")
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _core = VSAE

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "numerical_hidden": [tuple],
        "categorical_hidden": [tuple],
        "image_hidden": [tuple],
        "collective_hidden": [tuple],
        "mask_hidden": [tuple],
        "decoder_hidden": [tuple],
        "mask_decoder": ["boolean"],
        "decoder_mask_condition": [StrOptions(set(CONDITIONS))],
        "warmup_epochs": [
            Interval(Integral, 0, None, closed="left"), StrOptions({"auto"}), None
        ],
        "n_target_draws": [Interval(Integral, 1, None, closed="left")],
        "x_u_target": [StrOptions(set(TARGETS))],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "mask_in_weights": ["boolean"],
        "impute": [StrOptions(set(IMPUTE_MODES))],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "numerical_scale": [Interval(Real, 0, None, closed="neither")],
        "extra_drop_rate": [Interval(Real, 0, 1, closed="left")],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "n_train_draws": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }
    _renamed = {
        "n_target_samples": "n_target_draws",
        "n_importance": "n_draws",
        "n_train_samples": "n_train_draws",
    }

    def __init__(
        self,
        *,
        latent_dim=2,
        numerical_hidden=(16, 16),
        categorical_hidden=(64, 64),
        image_hidden=(128, 128),
        collective_hidden=(128, 128, 128),
        mask_hidden=(16, 16, 16),
        decoder_hidden=(64, 64, 64),
        mask_decoder=True,
        decoder_mask_condition="predicted",
        warmup_epochs=None,
        n_target_draws=100,
        x_u_target="sample",
        n_draws=1000,
        mask_in_weights=True,
        impute="proposal_mean",
        numerical="huber",
        numerical_scale=0.3,
        extra_drop_rate=0.5,
        kl_weight=0.1,
        kl_warmup_epochs=0,
        n_train_draws=1,
        weight_decay=0.0,
        n_target_samples="deprecated",
        n_importance="deprecated",
        n_train_samples="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter="auto",
        batch_size=128,
        learning_rate=1e-3,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        random_state=None,
        verbose=0,
        callback=None,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        min_value=-np.inf,
        max_value=np.inf,
    ):
        store_params(self, locals())

    def _core_arguments(self, layout, n_rows):
        warmup = (
            min(100, self.max_iter_ // 2)
            if self.warmup_epochs == "auto"
            else self.warmup_epochs
        )
        return dict(
            layout=layout,
            encoder_hidden={
                "numerical": self.numerical_hidden,
                "categorical": self.categorical_hidden,
                "image": self.image_hidden,
            },
            warmup_epochs=warmup,
        )
