"""MIWAE estimator (Mattei & Frellsen, 2019)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.sklearn_compat import Interval, StrOptions
from ..models.miwae import MIWAE
from ..nn import ACTIVATIONS, LIKELIHOODS
from ._base import BaseDeepImputer, renamed_constraints

__all__ = ["MIWAEImputer"]

#: the options of ``fill`` (constraints and docstring)
FILLS = ("zeros", "learned")


class MIWAEImputer(BaseDeepImputer):
    """Missing-data importance-weighted autoencoder imputer (MIWAE).

    Trains a deep latent variable model on the observed entries only by maximising
    the importance-weighted bound with ``n_train_draws`` samples per row; the encoder
    reads the row with missing entries replaced by zeros (or a learned constant).
    ``transform`` is the self-normalised importance-sampling mean over
    ``n_draws`` posterior draws; ``sample`` uses sampling-importance-resampling.
    Its draws are not meant for inference: on a known-truth design the fitted
    model's conditional was off and pooled coefficients of imputed covariates were
    about halved (user guide, "Multiple imputation").
    Numerical attributes get a Student-t likelihood by default; categorical
    attributes a softmax over their one-hot block (an extension of the paper, which
    treats continuous and binary data).

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the latent code (capped at ``n_attributes - 1`` for tiny tables).
    hidden : tuple of int, default=(128, 128)
        Hidden widths of the encoder and of the decoder.
    n_train_draws : int, default=20
        Importance samples K of the training bound.
    n_draws : int, default=1000
        Importance samples per row at transform / sample time.
    numerical : str, default="student_t"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    fill : {"zeros", "learned"}, default="zeros"
        Encoder input for missing entries: zeros (the paper) or a learned constant.
    activation : {"relu", "tanh", "leaky_relu", "elu"}, default="relu"
        Hidden activation.
    n_samples : int, default="deprecated"
        Deprecated: renamed ``n_train_draws`` in 0.2, removed in 0.3.
    n_importance : int, default="deprecated"
        Deprecated: renamed ``n_draws`` in 0.2, removed in 0.3.
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    max_iter : int or "auto", default=500
        Training epochs; ``"auto"`` chooses them from the row
        count (about 20,000 optimiser steps, 10 to 1000 epochs) into ``max_iter_``.
    batch_size : int, default=64
        Rows per mini-batch (at least 1). Larger batches run an epoch faster,
        notably on a GPU; smaller ones make more updates per epoch on small tables.
    learning_rate : float, default=1e-3
        Adam step size.
    validation_fraction : float, default=0.1
        Share of training rows used for early stopping on the validation loss.
    n_iter_no_change : int or None, default=20
        Patience of early stopping in epochs (None: train ``max_iter`` epochs).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and sampling.
    verbose : int, default=0
        1 shows a progress bar over epochs with the current loss.
    callback : callable, default=None
        ``callback(imputer, record)`` after each epoch (``record`` is the epoch's
        history entry); a returned dict is merged into the record.

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
    device_ : str
        Device the model lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (DataFrame input only).

    See Also
    --------
    VAEImputer : The single-sample bound (and AE / CVAE variants).
    VSAEImputer : Adds selective encoders and a mask model.

    References
    ----------
    P.-A. Mattei, J. Frellsen. "MIWAE: Deep Generative Modelling and Imputation
    of Incomplete Data Sets", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers._miwae import MIWAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = MIWAEImputer(max_iter=2, n_draws=10, random_state=0)
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
        "hidden": [tuple],
        "n_train_draws": [Interval(Integral, 1, None, closed="left")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "fill": [StrOptions(set(FILLS))],
        "activation": [StrOptions(set(ACTIVATIONS))],
    }
    _renamed = {"n_samples": "n_train_draws", "n_importance": "n_draws"}
    _parameter_constraints.update(
        renamed_constraints(_renamed, _parameter_constraints)
    )

    def __init__(
        self,
        *,
        latent_dim=10,
        hidden=(128, 128),
        n_train_draws=20,
        n_draws=1000,
        numerical="student_t",
        fill="zeros",
        activation="relu",
        n_samples="deprecated",
        n_importance="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=500,
        batch_size=64,
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
        self.hidden = hidden
        self.n_train_draws = n_train_draws
        self.n_draws = n_draws
        self.numerical = numerical
        self.fill = fill
        self.activation = activation
        self.n_samples = n_samples
        self.n_importance = n_importance
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
        return MIWAE(
            layout,
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            numerical=self.numerical,
            n_train_draws=self._param("n_train_draws"),
            n_draws=self._param("n_draws"),
            learn_fill=self.fill == "learned",
            activation=self.activation,
        )
