"""Encoderless imputers: Relay Variational Inference (RVI) and the VAD."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch

from .._utils.sklearn_compat import Interval, StrOptions
from ..models.rvi import (
    INFERENCE_INITS,
    POSTERIOR_VARS,
    RELAY_VARIANTS,
    ROW_DTYPES,
    RVI,
    GuideFit,
)
from ..nn import LIKELIHOODS
from ..training import Batch, iterate_batches, train
from ._base import BaseDeepImputer, _named_errors, renamed_constraints

__all__ = ["RVIImputer", "VADImputer"]

#: inference steps of ``inference_steps="auto"``: from the prior, and the
#: candidates from the guide's guess, fewest first
_PRIOR_STEPS = 80
_GUIDE_STEPS = (20, 40)


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
    :class:`VADImputer`).

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
    numerical : str, default="gaussian"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    posterior_learning_rate : float or None, default=None
        Adam step size of the training rows' parameters (None: ``learning_rate``).
    inference_steps : int or "auto", default="auto"
        Adam steps (>= 0) on the parameters of new rows at transform (and sample)
        time; ``transform`` costs about this many decoder passes per row. Lower it
        for speed, raise it if imputations of new rows lag the training rows'.
        ``"auto"`` (resolved into ``inference_steps_``): 80 from the prior; from
        the guide's guess, the fewest of 20 or 40 that impute held-out training
        cells within 1 % of 80 steps from the prior (if neither does, new rows
        start at the prior; see Notes).
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
    beta : float, default="deprecated"
        Deprecated: renamed ``kl_weight`` in 0.2, removed in 0.3.
    impute_draws : int, default="deprecated"
        Deprecated: renamed ``n_draws`` in 0.2, removed in 0.3.
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    max_iter : int or "auto", default="auto"
        Training epochs (>= 1). ``"auto"`` (resolved into ``max_iter_``) allows
        about 5,000 optimiser steps, between 10 and 1000 epochs. Without early
        stopping (the default) every epoch runs;
        :func:`~deepimpute.plotting.plot_history` shows whether the loss has
        levelled off.
    batch_size : int, default=256
        Rows per mini-batch (at least 1). Larger batches run an epoch faster,
        notably on a GPU; smaller ones make more updates per epoch on small tables.
    learning_rate : float, default=1e-3
        Adam step size of the decoder and relay vectors.
    validation_fraction : float, default=0.0
        Share of training rows held out for early stopping. Held-out rows own no
        trained parameters, so their loss is measured after a short inference (at
        most 25 steps, decoder frozen); that costs time every epoch, hence the
        default 0 (the training loss is then monitored).
    n_iter_no_change : int or None, default=None
        Patience of early stopping in epochs (None: train ``max_iter`` epochs).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the inference of new rows.
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
        The trained torch core (decoder, relay vectors, training rows' table).
    history_ : list of dict
        Per-epoch training records.
    n_iter_ : int
        Number of epochs run.
    max_iter_ : int
        Epochs allowed: ``max_iter``, or the number ``"auto"`` chose.
    inference_steps_ : int
        Inference steps of a new row: ``inference_steps``, or the number
        ``"auto"`` chose.
    guide_history_ : list of dict
        Per-epoch records of the guide's fit (``inference_init="guide"`` only).
    guide_check_ : list of dict
        The check behind ``inference_steps="auto"`` with the guide: start, steps
        and mean negative log-likelihood of the held-out cells.
    device_ : str
        Device the model lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (DataFrame input only).

    See Also
    --------
    VADImputer : the same model without relay vectors.

    Notes
    -----
    Limit of the defaults: its error was above the column mean's on a 300-row
    mixed table (heart), in the pooled raw NRMSE of adult (99 % of
    it the census weight ``fnlwgt``, which no column predicts), and in the
    per-feature NRMSE of spambase's skewed counts (``numerical="huber"`` passed
    MCAR 0.2 there); on Gaussian data it stays 6-7 % above the exact
    conditional mean, 5-6 % with ``inference_init="prior"`` (report, sections
    "Defaults against the column mean" and "Oracle floor").

    Per-row parameters are updated by a row-wise Adam (each row keeps its own
    moments and step count and moves only when it is in the batch). ``transform``
    is deterministic and invariant to batching: a new row's start depends on
    the row alone, the rows share one noise stream, and the loss is summed over
    rows. With ``inference_init="prior"`` every row starts at the prior mean
    (relay coefficients 1e-3 of the training init's scale, offsets ~1e-3, as
    VAD's test init), so a row with nothing observed decodes like VAD's; the
    training init's full-size coefficients would start every new row at one
    random mix of the learned relays, where rows with few observed entries
    stay. Its cost is ``inference_steps_`` forward/backward passes of the
    decoder per row.

    The guide (``inference_init="guide"``) makes that cost smaller: after
    training, inference from the prior runs on up to 18,000 random training
    rows, and an MLP (observed values and mask in, four times the decoder's
    widths) learns to map each row to the posterior mean it reached. A new row
    then starts at the guide's guess, and its steps move the offset and the
    log-variance (the relay coefficients keep their tiny start: the offset
    alone can reach any posterior mean, and the top-B selection of moving
    coefficients would double the cost of a step). With
    ``inference_steps="auto"``, up to 2,000 other training rows check how many
    steps that start needs: a fifth of their observed attributes are hidden,
    and the fewest of 20 or 40 steps whose imputation of them (negative
    log-likelihood) is within 1 % of 80 steps from the prior is kept; if
    neither is, new rows start at the prior and take 80 steps (a small table
    gives the guide too few rows to learn from). Transforming 1e5 rows took
    6.0 s instead of 38 s from the prior, at the prior's error within the
    seeds' spread on yeast, white wine, heart and the MNIST pairs
    (``benchmarks/rvi_transform_speed.py``, report section "Speed: RVI / VAD
    transform"). The model stays
    encoderless: the guide only chooses where the optimisation on the frozen
    decoder starts; fitting and checking it add a few seconds to ``fit``.

    The posterior log-variance is learned, but a row takes one Adam step per
    epoch, so it ends close to ``posterior_logvar`` (a step moves it by about
    ``learning_rate`` at most). The default posterior is therefore narrow and
    the decoded mean is a sharp guess. That suits entries predicted from the
    rest of their row (the paper's pixel-level MNIST, the UCI tables) and not a
    wholly hidden attribute. On the MNIST image pairs
    (``benchmarks/vsae_images.py``, whole images hidden, 3 seeds), image MSE at
    rates 0.3 / 0.5 / 0.7 over all hidden images (and over those whose partner
    was observed):

    - defaults (runner ``rvi``): 0.086 / 0.098 / 0.103 (0.074 / 0.076 / 0.081);
    - ``n_draws=32`` (``rvi-draws``): 0.079 / 0.084 / 0.084 (0.072 /
      0.074 / 0.079);
    - ``posterior_logvar=0`` (``rvi-wide``): 0.065 / 0.072 / 0.076 (0.061 /
      0.064 / 0.074);
    - both (``rvi-wide-draws``): 0.063 / 0.067 / 0.071 (0.060 / 0.062 / 0.071);
    - the column mean: 0.066 / 0.067 / 0.067 (0.066 / 0.067 / 0.067).

    The wide posterior costs the tables
    (``rvi-wide`` in the runner's UCI tables, MCAR 0.5): per-feature NRMSE 1.00
    on yeast (the column mean's; default 0.98) and 0.95 on white wine (default
    0.85), PFC 0.266 on mushroom (default 0.214); only heart gained (pooled
    NRMSE 0.284, default 0.334), and yeast under MAR (0.570, default 0.574).
    So the defaults stay; use the wide settings when whole attributes are
    missing.

    References
    ----------
    A. Zadeh, S. Benoit, L.-P. Morency. "Relay Variational Inference: A Method
    for Accelerated Encoderless VI", arXiv:2110.13422.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers._rvi import RVIImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = RVIImputer(relay_groups=(4,), max_iter=2, inference_steps=5,
    ...                  random_state=0)
    >>> imp.fit(X).transform(X).shape
    (4, 2)
    """

    _range_note = (
        "The decoder's means are unbounded: imputations may fall outside the "
        "observed range (a diverged fit raises FloatingPointError)."
    )

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
    _parameter_constraints.update(
        renamed_constraints(_renamed, _parameter_constraints)
    )

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
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.relay_groups = relay_groups
        self.relay_ratio = relay_ratio
        self.relay_variant = relay_variant
        self.posterior_var = posterior_var
        self.posterior_logvar = posterior_logvar
        self.kl_weight = kl_weight
        self.numerical = numerical
        self.posterior_learning_rate = posterior_learning_rate
        self.inference_steps = inference_steps
        self.inference_learning_rate = inference_learning_rate
        self.n_draws = n_draws
        self.reuse_train_posteriors = reuse_train_posteriors
        self.inference_tol = inference_tol
        self.inference_patience = inference_patience
        self.inference_init = inference_init
        self.row_dtype = row_dtype
        self.beta = beta
        self.impute_draws = impute_draws
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
        for k in self.relay_groups:
            if not isinstance(k, Integral) or k < 1:
                raise ValueError(
                    "relay_groups must be a tuple of positive integers, got "
                    f"{self.relay_groups!r}."
                )
        return RVI(
            layout,
            n_rows,
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            relay_groups=self.relay_groups,
            relay_ratio=self.relay_ratio,
            relay_variant=self.relay_variant,
            posterior_var=self.posterior_var,
            posterior_logvar=self.posterior_logvar,
            kl_weight=self._param("kl_weight"),
            numerical=self.numerical,
            posterior_learning_rate=self.posterior_learning_rate,
            inference_steps=self._resolve_inference_steps(),
            inference_learning_rate=self.inference_learning_rate,
            n_draws=self._param("n_draws"),
            inference_tol=self.inference_tol,
            inference_patience=self.inference_patience,
            inference_init=self.inference_init,
            row_dtype=self.row_dtype,
        )

    def _resolve_inference_steps(self) -> int:
        """``inference_steps_`` as the core is built: ``inference_steps``, or 80
        for ``"auto"`` (the guide's check may lower it after training)."""
        auto = self.inference_steps == "auto"
        self.inference_steps_ = _PRIOR_STEPS if auto else int(self.inference_steps)
        return self.inference_steps_

    def _after_training(self, tensors, device):
        if self.module_.guide is None:
            return
        # the guide's stage runs inference: a diverging one names the imputer
        with _named_errors(type(self).__name__):
            self._fit_guide(tensors, device)

    def _fit_guide(self, tensors, device):
        module = self.module_
        # the guide learns the posterior means that inference from the prior
        # finds for up to _guide_rows training rows (decoder settled); a fifth of
        # them (at most _check_rows) are kept out to check it (note, "Inference
        # of new rows")
        # (RVI always trains on tensors in memory: its rows own parameters, so a
        # Dask fit samples the table instead of streaming it)
        rows = torch.randperm(len(tensors[0]), device="cpu")[: self._guide_rows]
        x, obs, attr = (t[rows] for t in tensors)
        n_check = min(self._check_rows, len(x) // 5)
        fit_rows = (x[n_check:], obs[n_check:], attr[n_check:])
        order = torch.arange(len(fit_rows[0]), device="cpu")
        targets = torch.cat([
            module.guide_targets(batch)
            for batch in iterate_batches(fit_rows, order, self._inference_batch_size,
                                         shuffle=False, device=device, min_batch=1)
        ])
        self.guide_history_ = train(
            GuideFit(module, targets),
            fit_rows,
            max_iter=min(self._guide_epochs, math.ceil(
                self._guide_steps * self._guide_batch / len(fit_rows[0]))),
            batch_size=self._guide_batch,
            learning_rate=self.learning_rate,
            device=device,
            validation_fraction=0.0,
            n_iter_no_change=None,
            name=type(self).__name__,
        )
        if self.inference_steps == "auto" and n_check:
            self.inference_steps_ = module.inference_steps = self._check_guide(
                Batch(x[:n_check].to(device), obs[:n_check].to(device),
                      attr[:n_check].to(device), torch.arange(n_check, device="cpu")))

    def _check_guide(self, batch: Batch) -> int:
        """The fewest steps from the guide's guess (of ``_GUIDE_STEPS``) whose
        imputation of held-out cells is within 1 % of 80 steps from the prior;
        if none is, new rows start at the prior (80 steps)."""
        module = self.module_
        # a fifth of each row's observed attributes, hidden from inference
        draw = torch.rand(batch.attr_observed.shape, device=batch.x.device)
        hidden = (draw < 0.2).to(batch.x.dtype) * batch.attr_observed
        reference = module.held_out_nll(batch, hidden, _PRIOR_STEPS, from_guide=False)
        self.guide_check_ = [dict(start="prior", steps=_PRIOR_STEPS, nll=reference)]
        for steps in _GUIDE_STEPS:
            score = module.held_out_nll(batch, hidden, steps, from_guide=True)
            self.guide_check_.append(dict(start="guide", steps=steps, nll=score))
            if score <= reference + 0.01 * abs(reference):
                return steps
        module.use_guide.fill_(False)
        return _PRIOR_STEPS

    def _training_imputation(self, C, data, fitted):
        """With ``reuse_train_posteriors``, decode the posteriors learned for the
        training rows (no second inference); otherwise, or when some rows were held
        out for validation (they own no trained parameters), the regular imputation."""
        module = self.module_
        if not (self.reuse_train_posteriors and module.all_rows_trained):
            return self._impute(C, data)
        values = self._run(
            lambda batch: module.reconstruct(module.rows[batch.index]),
            data, self.seed_, reseed_each_batch=True,
        )
        return self._merge(C, values)


class VADImputer(RVIImputer):
    """Variational Auto-Decoder imputer: :class:`RVIImputer` without relay vectors.

    Every training row owns a free Gaussian posterior (mean and log-variance),
    fitted jointly with the decoder on the ELBO of the observed entries; new rows
    are inferred by gradient steps with the decoder frozen (Zadeh et al., arXiv
    1903.00840). Identical to ``RVIImputer(relay_groups=())``.

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
    numerical : str, default="gaussian"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    posterior_learning_rate : float or None, default=None
        Adam step size of the training rows' parameters (None: ``learning_rate``).
    inference_steps : int or "auto", default="auto"
        Adam steps on new rows' parameters at transform time; ``"auto"`` as in
        :class:`RVIImputer`.
    inference_learning_rate : float, default=3e-3
        Adam step size of new rows' parameters.
    n_draws : int, default=0
        0 decodes the posterior mean; ``k > 0`` averages the decoded means of
        ``k`` posterior draws (see :class:`RVIImputer`).
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
        (see :class:`RVIImputer`).
    row_dtype : {"float32", "bfloat16"}, default="float32"
        Storage of the per-row table and its Adam moments (see
        :class:`RVIImputer`).
    beta : float, default="deprecated"
        Deprecated: renamed ``kl_weight`` in 0.2, removed in 0.3.
    impute_draws : int, default="deprecated"
        Deprecated: renamed ``n_draws`` in 0.2, removed in 0.3.
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        Torch device.
    max_iter : int or "auto", default="auto"
        Training epochs; ``"auto"`` as in :class:`RVIImputer`.
    batch_size : int, default=256
        Rows per mini-batch (at least 1). Larger batches run an epoch faster,
        notably on a GPU; smaller ones make more updates per epoch on small tables.
    learning_rate : float, default=1e-3
        Adam step size of the decoder.
    validation_fraction : float, default=0.0
        Share of rows held out for early stopping (see :class:`RVIImputer`).
    n_iter_no_change : int or None, default=None
        Patience of early stopping in epochs.
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and inference.
    verbose : int, default=0
        1 shows a progress bar.
    callback : callable, default=None
        ``callback(imputer, record)`` after each epoch.

    Attributes
    ----------
    spec_ : ColumnSpec
        The resolved attribute description.
    module_ : torch.nn.Module
        The trained torch core.
    history_ : list of dict
        Per-epoch training records.
    n_iter_ : int
        Number of epochs run.
    max_iter_ : int
        Epochs allowed: ``max_iter``, or the number ``"auto"`` chose.
    inference_steps_ : int
        Inference steps of a new row (see :class:`RVIImputer`).
    guide_history_, guide_check_ : list of dict
        The guide's fit and check (see :class:`RVIImputer`).
    device_ : str
        Device the model lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (DataFrame input only).

    See Also
    --------
    RVIImputer : adds relay vectors to the posterior means.

    References
    ----------
    A. Zadeh, S. Benoit, L.-P. Morency. "Relay Variational Inference: A Method
    for Accelerated Encoderless VI", arXiv:2110.13422.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers._rvi import VADImputer
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
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.posterior_var = posterior_var
        self.posterior_logvar = posterior_logvar
        self.kl_weight = kl_weight
        self.numerical = numerical
        self.posterior_learning_rate = posterior_learning_rate
        self.inference_steps = inference_steps
        self.inference_learning_rate = inference_learning_rate
        self.n_draws = n_draws
        self.reuse_train_posteriors = reuse_train_posteriors
        self.inference_tol = inference_tol
        self.inference_patience = inference_patience
        self.inference_init = inference_init
        self.row_dtype = row_dtype
        self.beta = beta
        self.impute_draws = impute_draws
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
