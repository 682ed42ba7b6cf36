"""Encoderless imputers: Relay Variational Inference (RVI) and the VAD."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.rvi import (
    INFERENCE_INITS,
    POSTERIOR_VARS,
    PRIOR_STEPS,
    RELAY_VARIANTS,
    ROW_DTYPES,
    RVI,
    fit_guide,
)
from ..nn import LIKELIHOODS
from ._deep import BaseDeepImputer, named_errors

__all__ = ["RVIImputer", "VADImputer"]

class RVIImputer(BaseDeepImputer):
    """Relay Variational Inference imputer (encoderless VI with relay vectors).

    There is no encoder: every training row owns a Gaussian posterior whose mean is
    a *relay* part (for each group of shared relay vectors, the row's top-B
    coefficients by absolute value times those vectors) plus an individual offset,
    and whose log-variance is per row. Row parameters, relay vectors and an MLP
    decoder are fitted jointly on the ELBO of the observed entries only. New rows
    are imputed by optimising fresh row parameters for ``inference_steps`` Adam
    steps with the decoder and relay vectors frozen, then decoding the posterior
    mean (Zadeh et al., arXiv 2110.13422; method note ``docs/methods/rvi.md``).
    ``relay_groups=()`` gives the Variational Auto-Decoder (see
    ``VADImputer``). Its draws are not meant for inference: the default
    unit-variance likelihood makes them noise around a weak conditional mean,
    which attenuates the coefficients of imputed covariates (user guide,
    "Multiple imputation").

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the latent code (>= 1). Each training row owns this many posterior
        means, so memory grows with rows x latent_dim; lower it for large tables.
    hidden : tuple of int, default=(64, 64)
        Decoder hidden widths (ReLU; linear output into the likelihood).
    relay_groups : tuple of int, default=(25, 50, 100)
        Number of relay vectors in each group; their contributions are summed.
        ``()`` removes the relay (VAD). The relays share what rows have in common,
        which is what speeds up training over VAD (the RVI paper's claim).
    relay_ratio : float, default=0.5
        Share of each group's coefficients kept per row (top by absolute value),
        ``B_g = max(1, round(relay_ratio * K_g))``.
    relay_variant : {"topk", "cluster"}, default="topk"
        ``"cluster"`` keeps a single coefficient per group (``B_g = 1``).
    posterior_var : {"learned", "fixed"}, default="learned"
        Per-row learned posterior log-variance, or the constant
        ``posterior_logvar`` (the VAD code's ``log_var`` option).
    posterior_logvar : float, default=-4.0
        Initial (learned) or constant (fixed) posterior log-variance.
    kl_weight : float, default=1.0
        Weight of the KL term. With the fixed unit-variance Gaussian likelihood of
        standardised numerical data, ``kl_weight = sigma_x**2`` is equivalent to a
        likelihood variance ``sigma_x**2`` (the objective is only rescaled).
    posterior_learning_rate : float or None, default=None
        Adam step size of the training rows' parameters (None: ``learning_rate``).
    inference_steps : int or "auto", default="auto"
        Adam steps (>= 0) on the parameters of new rows at transform (and sample)
        time; ``transform`` costs about this many decoder passes per row. Lower it
        for speed, raise it if imputations of new rows lag the training rows'.
        ``"auto"`` (into ``inference_steps_``): 80 from the prior; from the
        guide's guess, the fewest of 20 or 40 that impute held-out training cells
        as well as 80 steps from the prior (else new rows start at the prior).
    inference_learning_rate : float, default=3e-3
        Adam step size of new rows' parameters.
    n_draws : int, default=0
        Point imputation: 0 decodes the posterior mean (the paper); ``k > 0``
        averages the decoded means of ``k`` posterior draws (the posterior
        predictive mean, closer to the mean-squared-error optimum where the
        posterior is wide, e.g. for a whole hidden image; see Notes). Also used
        by ``fit_transform`` on the learned training posteriors.
    reuse_train_posteriors : bool, default=True
        ``fit_transform`` decodes the training rows' learned posteriors instead of
        inferring them again (falls back to inference when some rows were held
        out for validation).
    inference_tol : float or None, default=None
        A new row stops early once its negative ELBO has not improved on its
        best by this much for ``inference_patience`` steps (None: every row runs
        ``inference_steps``). Decided on the row's own losses, so the result
        does not depend on the other rows.
    inference_patience : int, default=10
        Steps without improvement before a new row stops (with ``inference_tol``).
    inference_init : {"guide", "prior"}, default="guide"
        Where a new row's optimisation starts. ``"guide"``: a small network fitted
        after training (the *guide*) guesses each row's posterior mean from its
        observed entries, and the steps refine that guess (see Notes); ``"prior"``:
        the prior mean, as the paper's inference (and this estimator before 0.2).
    row_dtype : {"float32", "bfloat16"}, default="float32"
        Storage of the per-row posterior table and its Adam moments, the fit's
        memory per training row (3.6 kB a row in float32 with the default
        sizes). ``"bfloat16"`` halves it; updates stay float32 and are written
        back with stochastic rounding (unbiased).
    max_iter : int or "auto", default="auto"
        Training epochs (>= 1). ``"auto"`` (resolved into ``max_iter_``) allows
        about 5,000 optimiser steps, between 10 and 1000 epochs. Without early
        stopping (the default) every epoch runs; ``plot_history`` shows whether
        the loss has levelled off.
    learning_rate : float, default=1e-3
        Adam step size of the decoder and relay vectors.
    validation_fraction : float, default=0.0
        Share of training rows held out for early stopping. Held-out rows own no
        trained parameters, so their loss is measured after a short inference (at
        most 25 steps, decoder frozen); that costs time every epoch, hence the
        default 0 (the training loss is then monitored).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the inference of new rows.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained torch core (decoder, relay vectors, training rows' table).
    inference_steps_ : int
        Inference steps of a new row: ``inference_steps``, or the number
        ``"auto"`` chose.
    guide_history_ : list of dict
        Per-epoch records of the guide's fit (``inference_init="guide"`` only).
    guide_check_ : list of dict
        The check behind ``inference_steps="auto"`` with the guide: start, steps
        and mean negative log-likelihood of the held-out cells.

    See Also
    --------
    VADImputer : the same model without relay vectors.

    Notes
    -----
    Per-row parameters are updated by a row-wise Adam (each row keeps its own
    moments and step count and moves only when it is in the batch). ``transform``
    is deterministic and invariant to batching: a new row's start depends on
    the row alone, the rows share one noise stream, and the loss is summed over
    rows. With ``inference_init="prior"`` every row starts at the prior mean;
    with the default guide (an MLP fitted after training on the posterior means
    that inference from the prior reached for training rows) it starts at the
    guide's guess, and ``inference_steps="auto"`` keeps the fewest steps whose
    imputation of held-out training cells matches 80 steps from the prior. The
    model stays encoderless: the guide only chooses where the optimisation on the
    frozen decoder starts.

    The default posterior is narrow (a row takes one Adam step per epoch, so its
    log-variance ends near ``posterior_logvar``): it suits entries predicted from
    the rest of their row, not wholly hidden attributes, where
    ``posterior_logvar=0, n_draws=32`` imputes better. Measurements and limits of
    the defaults: :ref:`defaults-rvi`.

    References
    ----------
    A. Zadeh, S. Benoit, L.-P. Morency. "Relay Variational Inference: A Method
    for Accelerated Encoderless VI", arXiv:2110.13422.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import RVIImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = RVIImputer(relay_groups=(4,), max_iter=2, inference_steps=5,
    ...                  random_state=0)
    >>> imp.fit(X).transform(X).shape
    (4, 2)
    """

    #: one posterior per training row: a Dask fit samples the table
    _streamed_fit = False

    _core = RVI

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [tuple],
        "relay_groups": [tuple],
        "relay_ratio": [Interval(Real, 0, 1, closed="right")],
        "relay_variant": [StrOptions(set(RELAY_VARIANTS))],
        "posterior_var": [StrOptions(set(POSTERIOR_VARS))],
        "posterior_logvar": [Interval(Real, -14, 8, closed="both")],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "posterior_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "inference_steps": [Interval(Integral, 0, None, closed="left"),
                            StrOptions({"auto"})],
        "inference_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_draws": [Interval(Integral, 0, None, closed="left")],
        "reuse_train_posteriors": ["boolean"],
        "inference_tol": [Interval(Real, 0, None, closed="left"), None],
        "inference_patience": [Interval(Integral, 1, None, closed="left")],
        "inference_init": [StrOptions(set(INFERENCE_INITS))],
        "row_dtype": [StrOptions(set(ROW_DTYPES))],
    }
    _renamed = {"beta": "kl_weight", "impute_draws": "n_draws"}

    #: rows per inference optimisation: every row's parameters are independent, so
    #: a larger batch only spreads the per-step overhead (8 per transform chunk)
    _inference_batch_size = 8192
    # each row's posterior moves once an epoch: fewer steps than the amortised
    # methods, still about 300 epochs on a 4,000-row table
    _auto_steps = 5_000
    #: optimiser steps fitting the guide after training, at most _guide_epochs
    #: passes over a small table (on white wine 400 passes imputed better than 100;
    #: a step costs ~10 ms on one core)
    _guide_steps = 2_000
    _guide_epochs = 400
    _guide_batch = 1024
    #: training rows whose inferred posteriors the guide learns or checks
    _guide_rows = 20_000
    _check_rows = 2_000

    def __init__(
        self,
        *,
        latent_dim=64,
        hidden=(64, 64),
        relay_groups=(25, 50, 100),
        relay_ratio=0.5,
        relay_variant="topk",
        posterior_var="learned",
        posterior_logvar=-4.0,
        kl_weight=1.0,
        numerical="gaussian",
        posterior_learning_rate=None,
        inference_steps="auto",
        inference_learning_rate=3e-3,
        n_draws=0,
        reuse_train_posteriors=True,
        inference_tol=None,
        inference_patience=10,
        inference_init="guide",
        row_dtype="float32",
        beta="deprecated",
        impute_draws="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter="auto",
        batch_size=256,
        learning_rate=1e-3,
        validation_fraction=0.0,
        n_iter_no_change=None,
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
        for k in self.relay_groups:
            if not isinstance(k, Integral) or k < 1:
                raise ValueError(
                    "relay_groups must be a tuple of positive integers, got "
                    f"{self.relay_groups!r}."
                )
        return dict(
            layout=layout, n_rows=n_rows,
            inference_steps=self._resolve_inference_steps(),
        )

    def _resolve_inference_steps(self) -> int:
        """``inference_steps_`` as the core is built: ``inference_steps``, or 80
        for ``"auto"`` (the guide's check may lower it after training)."""
        auto = self.inference_steps == "auto"
        self.inference_steps_ = PRIOR_STEPS if auto else int(self.inference_steps)
        return self.inference_steps_

    def _after_training(self, tensors, device):
        if self.module_.guide is None:
            return
        # the guide's stage runs inference: a diverging one names the imputer
        with named_errors(type(self).__name__):
            self.guide_history_, check = fit_guide(
                self.module_, tensors, device,
                learning_rate=self.learning_rate,
                auto_steps=self.inference_steps == "auto",
                batch_size=self._guide_batch,
                inference_batch_size=self._inference_batch_size,
                max_rows=self._guide_rows,
                check_rows=self._check_rows,
                steps=self._guide_steps,
                max_epochs=self._guide_epochs,
                name=type(self).__name__,
            )
        if check is not None:
            self.guide_check_ = check
            self.inference_steps_ = self.module_.inference_steps

    def _training_imputation(self, C, data, fitted):
        """With ``reuse_train_posteriors``, decode the posteriors learned for the
        training rows (no second inference); otherwise, or when some rows were held
        out for validation (they own no trained parameters), the regular imputation."""
        module = self.module_
        if not (self.reuse_train_posteriors and module.all_rows_trained):
            return self._impute(C, data)
        codes = self._run(
            lambda batch: module.reconstruct(module.rows[batch.index]),
            data, self.seed_, reseed_each_batch=True, decode=True,
        )
        return np.where(np.isnan(C), codes, C)


class VADImputer(RVIImputer):
    """Variational Auto-Decoder imputer: ``RVIImputer`` without relay vectors.

    Every training row owns a free Gaussian posterior (mean and log-variance),
    fitted jointly with the decoder on the ELBO of the observed entries; new rows
    are inferred by gradient steps with the decoder frozen (Zadeh et al., arXiv
    1903.00840). Identical to ``RVIImputer(relay_groups=())``. Its draws are not
    meant for inference, for the reason ``RVIImputer`` gives.

    Parameters
    ----------
    latent_dim : int, default=64
        Size of the latent code.
    hidden : tuple of int, default=(64, 64)
        Decoder hidden widths.
    posterior_var : {"learned", "fixed"}, default="learned"
        Per-row learned log-variance or the constant ``posterior_logvar``.
    posterior_logvar : float, default=-4.0
        Initial (learned) or constant (fixed) posterior log-variance.
    kl_weight : float, default=1.0
        Weight of the KL term.
    posterior_learning_rate : float or None, default=None
        Adam step size of the training rows' parameters (None: ``learning_rate``).
    inference_steps : int or "auto", default="auto"
        Adam steps on new rows' parameters at transform time; ``"auto"`` as in
        ``RVIImputer``.
    inference_learning_rate : float, default=3e-3
        Adam step size of new rows' parameters.
    n_draws : int, default=0
        0 decodes the posterior mean; ``k > 0`` averages the decoded means of
        ``k`` posterior draws (see ``RVIImputer``).
    reuse_train_posteriors : bool, default=True
        ``fit_transform`` decodes the learned training posteriors.
    inference_tol : float or None, default=None
        A new row stops early once its negative ELBO has not improved on its
        best by this much for ``inference_patience`` steps (None: every row runs
        ``inference_steps``). Decided on the row's own losses, so the result
        does not depend on the other rows.
    inference_patience : int, default=10
        Steps without improvement before a new row stops (with ``inference_tol``).
    inference_init : {"guide", "prior"}, default="guide"
        Where a new row's optimisation starts: the guide's guess or the prior mean
        (see ``RVIImputer``).
    row_dtype : {"float32", "bfloat16"}, default="float32"
        Storage of the per-row table and its Adam moments (see
        ``RVIImputer``).
    max_iter : int or "auto", default="auto"
        Training epochs; ``"auto"`` as in ``RVIImputer``.
    learning_rate : float, default=1e-3
        Adam step size of the decoder.
    validation_fraction : float, default=0.0
        Share of rows held out for early stopping (see ``RVIImputer``).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and inference.

    Attributes
    ----------
    inference_steps_ : int
        Inference steps of a new row (see ``RVIImputer``).
    guide_history_, guide_check_ : list of dict
        The guide's fit and check (see ``RVIImputer``).

    See Also
    --------
    RVIImputer : adds relay vectors to the posterior means.

    References
    ----------
    A. Zadeh, Y.-C. Lim, P. P. Liang, L.-P. Morency. "Variational Auto-Decoder:
    Neural Generative Modeling from Partial Data", arXiv:1903.00840, 2019 (the
    baseline of the RVI paper, arXiv:2110.13422).

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import VADImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = VADImputer(max_iter=2, inference_steps=5, random_state=0)
    >>> imp.fit(X).transform(X).shape
    (4, 2)
    """

    # not constructor parameters: fixed so that the shared code builds a VAD
    relay_groups = ()
    relay_ratio = 0.5
    relay_variant = "topk"

    def __init__(
        self,
        *,
        latent_dim=64,
        hidden=(64, 64),
        posterior_var="learned",
        posterior_logvar=-4.0,
        kl_weight=1.0,
        numerical="gaussian",
        posterior_learning_rate=None,
        inference_steps="auto",
        inference_learning_rate=3e-3,
        n_draws=0,
        reuse_train_posteriors=True,
        inference_tol=None,
        inference_patience=10,
        inference_init="guide",
        row_dtype="float32",
        beta="deprecated",
        impute_draws="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter="auto",
        batch_size=256,
        learning_rate=1e-3,
        validation_fraction=0.0,
        n_iter_no_change=None,
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
