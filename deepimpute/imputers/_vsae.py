"""Variational Selective Autoencoder estimator (Gong et al., AISTATS 2021)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._utils.sklearn_compat import Interval, StrOptions
from ..models.vsae import CONDITIONS, IMPUTE_MODES, TARGETS, VSAE
from ..nn import LIKELIHOODS
from ._base import BaseDeepImputer, renamed_constraints

__all__ = ["VSAEImputer"]


class VSAEImputer(BaseDeepImputer):
    """Variational Selective Autoencoder imputer.

    Each attribute (a numerical column, a categorical column or an image block) has
    its own latent block. An observed attribute's block is inferred by its own
    *attributive* encoder from that attribute alone; an unobserved attribute's block
    by a *collective* encoder that reads every observed attribute (missing ones
    replaced by noise) and the mask. A mask decoder models ``p(m | z)`` and its
    output conditions the data decoder ``p(x | z, m)``. Training fits the
    observed attributes; with ``warmup_epochs`` set (the paper's schedule) it then
    adds the likelihood of detached draws of the unobserved attributes (an
    EM-like stage). ``transform``
    returns the self-normalised importance-sampling mean over ``n_draws``
    proposal draws, weighted by ``p(x_o | z, m) p(m | z) p(z) / q(z | x_o, m)``.
    Method note (what is from the paper, what is reconstructed):
    ``docs/methods/vsae.md``.

    Parameters
    ----------
    latent_dim : int, default=2
        Latent size per attribute (>= 1). 2 is the paper's UCI setting; raise it
        for images (the paper uses 256) or attributes with many categories.
    numerical_hidden : tuple of int, default=(16, 16)
        Hidden widths of each numerical attribute's attributive encoder (with its
        output layer, the paper's 3-layer 16-unit MLP with BatchNorm + LeakyReLU).
    categorical_hidden : tuple of int, default=(64, 64)
        Same for categorical attributes (paper: 64 units).
    image_hidden : tuple of int, default=(128, 128)
        Same for image attributes (paper: 128 units, no BatchNorm).
    collective_hidden : tuple of int, default=(128, 128, 128)
        Hidden widths of the collective encoder (not given by the paper; chosen
        together with ``impute``, see there).
    mask_hidden : tuple of int, default=(16, 16, 16)
        Hidden widths of the mask decoder (paper, App. C.2).
    decoder_hidden : tuple of int, default=(64, 64, 64)
        Hidden widths of the data decoder (paper, App. C.2; 128 for images).
    mask_decoder : bool, default=True
        Model the mask with ``p(m | z)``. False removes the mask decoder, its loss
        term and its importance weight (ablation for missing-not-at-random data).
    decoder_mask_condition : {"predicted", "true", "sampled"}, default="predicted"
        Condition of the data decoder: the mask decoder's probabilities (the
        paper's reading), the true attribute mask, or a Bernoulli draw of the
        probabilities during training (probabilities at inference). Without a mask
        decoder only ``"true"`` adds a condition.
    warmup_epochs : int, "auto" or None, default=None
        Stage-1 epochs without the unobserved attributes' likelihood. None (the
        default) never starts stage 2 and monitors the validation loss from the
        first epoch; ``"auto"`` is the paper's schedule, ``min(100, max_iter // 2)``
        warm-up epochs then stage 2, with early stopping after the warm-up only.
        Try ``"auto"`` on categorical tables; it costs about three times the time
        (measurements: :ref:`defaults-vsae`).
    n_target_draws : int, default=100
        Draws of the unobserved attributes per row and step in stage 2 (paper: 100).
    x_u_target : {"sample", "mean", "importance"}, default="sample"
        Stage-2 targets: likelihood draws (paper), decoder means, or likelihood
        draws weighted by self-normalised importance weights.
    n_draws : int, default=1000
        Importance samples per row for ``impute="importance"`` and for
        :meth:`sample` (paper: 1000).
    mask_in_weights : bool, default=True
        Include ``log p(m | z)`` in the importance weights (False gives MIWAE-style
        weights).
    impute : {"proposal_mean", "importance"}, default="proposal_mean"
        Point imputation: one decoder pass at the selective proposal's means
        (``n_draws`` times cheaper), or the paper's self-normalised
        importance-weighted mean over ``n_draws`` proposal draws.
        ``"importance"`` imputed images slightly better and tables worse in our
        runs (:ref:`defaults-vsae`).
    numerical : str, default="huber"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``. The default is a Gaussian of
        fixed standard deviation ``numerical_scale`` within 6 of those from the mean
        and exponential beyond (a Huber density), so a few far-out values cannot
        dominate the loss. ``"gaussian"`` is the paper's choice; use
        ``"gaussian_learned"`` for calibrated draws in :meth:`sample`.
    numerical_scale : float, default=0.3
        Standard deviation of the numerical likelihood (fixed, or initial when
        learned; of the Huber density's Gaussian core) on standardised data. The
        paper does not state it; with 1.0 the model ignores its latents on
        standardised UCI tables (posterior collapse, imputations equal the column
        mean), see Notes.
    extra_drop_rate : float, default=0.5
        During training, share of observed attributes hidden from the encoders
        (kept in the likelihood). This is what trains the collective encoder to
        predict an attribute from the others; at 0 (the paper's recipe as we read
        it) it only learns through the stage-2 self-generated targets.
    kl_weight : float, default=0.1
        Weight (> 0) of the KL term in training and validation (1 = the ELBO
        of the paper). Below 1 it counters posterior collapse (every imputation at
        the column mean or mode, :ref:`defaults-vsae`); use 1 for draws in
        ``sample`` that spread like the data.
    kl_warmup_epochs : int, default=0
        Raise the KL term's weight linearly from 0 to 1 over this many epochs
        (not in the paper; a standard remedy for posterior collapse). 0 = off.
    n_train_draws : int, default=1
        Latent draws per row in training: 1 trains on the ELBO (the paper); more
        train on the importance-weighted bound over that many draws (as MIWAE),
        at about that many times the decoder's cost.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) of all network parameters, per optimiser
        step; 0 trains with Adam (the paper). See Notes for its measured effect.
    n_target_samples : int, default="deprecated"
        Deprecated: renamed ``n_target_draws`` in 0.2, removed in 0.3.
    n_importance : int, default="deprecated"
        Deprecated: renamed ``n_draws`` in 0.2, removed in 0.3.
    n_train_samples : int, default="deprecated"
        Deprecated: renamed ``n_train_draws`` in 0.2, removed in 0.3.
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    max_iter : int or "auto", default="auto"
        Training epochs. ``"auto"`` (resolved into ``max_iter_``) allows about
        20,000 optimiser steps, between 10 and 1000 epochs (the paper's maximum),
        so a small table gets many epochs and a large one a few; early stopping
        usually ends training sooner.
    batch_size : int, default=128
        Rows per mini-batch (at least 1). Larger batches run an epoch faster,
        notably on a GPU; smaller ones make more updates per epoch on small tables.
    learning_rate : float, default=1e-3
        Adam step size (> 0; paper: 1e-3 numerical/mixed, 1e-2 categorical
        tables). Lower it if the training loss diverges.
    validation_fraction : float, default=0.1
        Share of training rows held out, in [0, 1); the monitored quantity is their
        negative ELBO of the observed attributes and the mask. 0 monitors the
        training loss and restores no best checkpoint.
    n_iter_no_change : int or None, default=20
        Patience of early stopping in epochs, counted after the warm-up; None
        trains all ``max_iter`` epochs. Raise it when the validation loss is noisy
        (see :func:`~deepimpute.plotting.plot_history`).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and sampling.
    verbose : int, default=0
        1 shows a progress bar over epochs with the current loss.
    callback : callable, default=None
        ``callback(imputer, record)`` after each epoch; a returned dict is merged
        into the record.

    Attributes
    ----------
    spec_ : ColumnSpec
        The resolved attribute description.
    module_ : torch.nn.Module
        The trained torch core (``deepimpute.models.vsae.VSAE``).
    history_ : list of dict
        Per-epoch records (``loss``, ``obs_ll``, ``mask_ll``, ``kl``, ``unobs_ll``,
        ``stage``, ``val_loss`` (NaN during the warm-up), ``seconds``).
    n_iter_ : int
        Number of epochs run.
    max_iter_ : int
        Epochs allowed: ``max_iter``, or the number ``"auto"`` chose.
    device_ : str
        Device the model lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (DataFrame input only).

    See Also
    --------
    RVIImputer : Encoderless relay variational inference.
    MIWAEImputer : Importance-weighted VAE without a mask model.
    deepimpute.plotting.plot_history : Plot ``history_``.

    Notes
    -----
    Limit of the defaults: on a 300-row mixed table (heart) its numerical error
    was not always below the column mean's (3 of 4 cells: seeds 0-2 and 3-5,
    MCAR 0.2 and 0.5), nor on adult (MCAR 0.5) its pooled raw error, 99 % of
    which is the census weight ``fnlwgt`` that no other column predicts; on
    Gaussian data it stays about 6 % above the exact conditional mean (report,
    sections "Defaults against the column mean" and "Oracle floor").

    With ``validation_fraction=0`` the training loss is monitored; with a stage 2
    it jumps when the stage-2 term is added, so prefer ``n_iter_no_change=None``
    in that case.

    Four defaults are our decisions, not the paper's (``docs/methods/vsae.md``,
    "Defaults that differ from the paper"), measured with the runner (suite
    ``uci-mcar``) on the UCI tables at MCAR 0.5: with ``numerical_scale=1``,
    ``extra_drop_rate=0`` and ``kl_weight=1`` the KL term wins (its value falls to
    ~0) and every imputation is the column mean or mode; a smaller fixed scale
    and KL weight make the latents carry the data, and hiding observed
    attributes from the encoders gives the collective encoder a supervised
    signal. With that signal the paper's stage 2 no longer helped (its targets
    are the model's own predictions), so it is off by default
    (``warmup_epochs="auto"`` restores it).

    ``benchmarks/vsae_sweep.py`` varies the other settings one or two at a time
    on the runner's cells (MCAR 0.5, paired by seed). No setting beat these
    defaults everywhere: a 128-unit collective encoder with proposal-mean
    imputation gained on white wine (8 seeds), heart and mushroom (3 seeds) but
    lost on yeast over 5 more seeds (+0.021 +- 0.048, some runs failing);
    importance-weighted *training* (``n_train_draws`` 5 or 20) imputed worse
    on all three numerical tables. Under MAR on yeast (two attributes always
    observed, the others about two-thirds missing) the defaults with a Gaussian
    likelihood imputed worse than the column mean; Student-t or learned-scale
    likelihoods, ``kl_weight=1`` and ``decoder_mask_condition="sampled"`` each
    narrowed the gap but none was below the mean on both NRMSE variants (same
    script, ``--mechanisms mar mnar_self``). The Huber likelihood, the default
    since, closed most of it. Paired with the Gaussian over 12 seeds (settings
    ``huber`` and ``base``; mean ± sd of the difference): yeast MAR -0.019 ±
    0.028 pooled NRMSE and -0.036 ± 0.039 per feature. On the other cells of
    yeast, white wine and heart (MCAR, MAR, MNAR) no cost exceeded two
    standard errors of its mean; the largest costs were white wine MNAR
    (+0.003 ± 0.010 pooled) and white wine and heart MCAR (+0.002 ± 0.003 and ±
    0.004), and heart under MAR gained (PFC -0.013 ± 0.011). Its threshold of 6
    scales (1.8 column-sd at ``numerical_scale=0.3``) is a compromise: at 4 the
    gain on yeast MAR was larger and white wine MNAR was clearly worse (rows of
    ``vsae_sweep_huber_k4.csv``, made at commit 11a2039).

    Weight decay (settings ``huber+wd0.3`` and ``huber+wd1``, 12 seeds, paired
    with ``huber``) helps where the signal is weak and hurts where it is not:
    at ``weight_decay=1`` yeast MCAR gained -0.004 ± 0.004 pooled NRMSE and
    -0.007 ± 0.006 per feature (still behind MICE), while white wine lost
    +0.012 ± 0.007 per feature under MCAR and +0.030 ± 0.022 under MNAR (at
    0.3, per feature: yeast MCAR -0.003, white wine MCAR +0.002 and MNAR
    +0.016). So the default stays 0 (Adam).

    The defaults aim at point imputation. Their draws in :meth:`sample` spread by
    about ``numerical_scale`` around a mean-seeking posterior, even for an
    attribute the others do not predict. With
    ``numerical="gaussian_learned", extra_drop_rate=0, kl_weight=1``, on a table
    with an exact copy and an independent standard-normal noise column, the draws
    of the copy spread about half as much as those of the noise column, and
    those spread with about 0.8 of its standard deviation
    (``tests/imputers/test_vsae.py``);
    with ``kl_weight=0.1`` the noise column's draws spread with 0.3 to 0.5 and
    the ratio varied with the seed. Its draws are not meant for inference: on a
    known-truth design they spread about half as much as the true conditional and
    carried no parameter uncertainty, and that setting followed the observed
    cells even less (user guide, "Multiple imputation").

    References
    ----------
    Y. Gong, H. Hajimirsadeghi, J. He, T. Durand, G. Mori. "Variational Selective
    Autoencoder: Learning from Partially-Observed Heterogeneous Data", AISTATS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers._vsae import VSAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = VSAEImputer(max_iter=2, n_draws=10, n_target_draws=2,
    ...                   random_state=0, device="cpu")
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        "The decoder's means are unbounded: imputations may fall outside the "
        "observed range (a diverged fit raises FloatingPointError)."
    )

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
    _parameter_constraints.update(
        renamed_constraints(_renamed, _parameter_constraints)
    )

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
        self.latent_dim = latent_dim
        self.numerical_hidden = numerical_hidden
        self.categorical_hidden = categorical_hidden
        self.image_hidden = image_hidden
        self.collective_hidden = collective_hidden
        self.mask_hidden = mask_hidden
        self.decoder_hidden = decoder_hidden
        self.mask_decoder = mask_decoder
        self.decoder_mask_condition = decoder_mask_condition
        self.warmup_epochs = warmup_epochs
        self.n_target_draws = n_target_draws
        self.x_u_target = x_u_target
        self.n_draws = n_draws
        self.mask_in_weights = mask_in_weights
        self.impute = impute
        self.numerical = numerical
        self.numerical_scale = numerical_scale
        self.extra_drop_rate = extra_drop_rate
        self.kl_weight = kl_weight
        self.kl_warmup_epochs = kl_warmup_epochs
        self.n_train_draws = n_train_draws
        self.weight_decay = weight_decay
        self.n_target_samples = n_target_samples
        self.n_importance = n_importance
        self.n_train_samples = n_train_samples
        self.column_spec = column_spec
        self.handle_unknown = handle_unknown
        self.device = device
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback
        self.missing_values = missing_values
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.min_value = min_value
        self.max_value = max_value

    def _build_module(self, layout, n_rows):
        warmup = (
            min(100, self.max_iter_ // 2)
            if self.warmup_epochs == "auto"
            else self.warmup_epochs
        )
        return VSAE(
            layout,
            latent_dim=self.latent_dim,
            encoder_hidden={
                "numerical": self.numerical_hidden,
                "categorical": self.categorical_hidden,
                "image": self.image_hidden,
            },
            collective_hidden=self.collective_hidden,
            mask_hidden=self.mask_hidden,
            decoder_hidden=self.decoder_hidden,
            mask_decoder=self.mask_decoder,
            decoder_mask_condition=self.decoder_mask_condition,
            warmup_epochs=warmup,
            n_target_draws=self._param("n_target_draws"),
            x_u_target=self.x_u_target,
            n_draws=self._param("n_draws"),
            mask_in_weights=self.mask_in_weights,
            impute=self.impute,
            numerical=self.numerical,
            numerical_scale=self.numerical_scale,
            extra_drop_rate=self.extra_drop_rate,
            kl_weight=self.kl_weight,
            kl_warmup_epochs=self.kl_warmup_epochs,
            n_train_draws=self._param("n_train_draws"),
            weight_decay=self.weight_decay,
        )
