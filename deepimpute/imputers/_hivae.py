"""HI-VAE estimator (Nazabal et al., 2020), compact version."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.sklearn_compat import Interval, StrOptions
from ..models.hivae import HIVAE
from ..nn import ACTIVATIONS, LIKELIHOODS
from ._base import BaseDeepImputer

__all__ = ["HIVAEImputer"]


class HIVAEImputer(BaseDeepImputer):
    """Heterogeneous-incomplete VAE imputer (HI-VAE).

    A VAE with a Gaussian-mixture prior (a categorical component s, then z given s)
    and one likelihood per attribute kind: heteroscedastic Gaussian for numerical
    attributes, softmax for categorical ones, Bernoulli for image pixels. Missing
    attributes are left out of the ELBO. ``transform`` returns the decoder mean at
    the posterior mode (most likely s, then the mean of z given s);
    ``sample`` resamples ``(s, z)`` by importance weight among 100 draws of the
    encoder's posterior (sampling-importance-resampling: a draw from the model's
    conditional of the missing given the observed entries), then x from the
    decoder. Its draws are not meant for inference: on a known-truth design the
    fitted model's conditional was off and pooled coefficients of imputed
    covariates were biased by about 60 % (user guide, "Multiple imputation"). See
    ``deepimpute.models.hivae`` for what this compact version simplifies.

    Parameters
    ----------
    n_components : int, default=10
        Number of mixture components of the prior (size of s).
    latent_dim : int, default=10
        Size of z.
    y_dim : int, default=5
        Size of each attribute's intermediate code.
    hidden : tuple of int, default=(64,)
        Hidden widths of the encoders and (mirrored) of the shared decoder.
    numerical : str, default="gaussian_hetero"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    activation : {"relu", "tanh", "leaky_relu", "elu"}, default="relu"
        Hidden activation.
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    max_iter : int or "auto", default=200
        Training epochs; ``"auto"`` chooses them from the row
        count (about 20,000 optimiser steps, 10 to 1000 epochs) into ``max_iter_``.
    batch_size : int, default=128
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
    VSAEImputer : Per-attribute encoders and a mask decoder.
    MIWAEImputer : Importance-weighted bound, one Gaussian latent.

    References
    ----------
    A. Nazabal, P. M. Olmos, Z. Ghahramani, I. Valera. "Handling Incomplete
    Heterogeneous Data using VAEs", Pattern Recognition, 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers._hivae import HIVAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = HIVAEImputer(max_iter=2, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        "The decoder's means are unbounded: imputations may fall outside the "
        "observed range (a diverged fit raises FloatingPointError)."
    )

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "y_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [tuple],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "activation": [StrOptions(set(ACTIVATIONS))],
    }

    def __init__(
        self,
        *,
        n_components=10,
        latent_dim=10,
        y_dim=5,
        hidden=(64,),
        numerical="gaussian_hetero",
        activation="relu",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=200,
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
        self.n_components = n_components
        self.latent_dim = latent_dim
        self.y_dim = y_dim
        self.hidden = hidden
        self.numerical = numerical
        self.activation = activation
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
        return HIVAE(
            layout,
            n_components=self.n_components,
            latent_dim=self.latent_dim,
            y_dim=self.y_dim,
            hidden=self.hidden,
            numerical=self.numerical,
            activation=self.activation,
        )
