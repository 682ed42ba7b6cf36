"""VAE-family baseline estimators: AE, VAE and CVAE with the mask."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.sklearn_compat import Interval, StrOptions
from ..models.vae import VAE
from ..nn import LIKELIHOODS
from ._base import BaseDeepImputer, renamed_constraints

__all__ = ["VAEImputer"]

#: the options of ``variant`` (constraints and docstring)
VARIANTS = ("vae", "ae", "cvae")


class VAEImputer(BaseDeepImputer):
    """Variational autoencoder imputer (and its AE / CVAE-with-mask variants).

    The encoder reads the zero-filled row; missing entries are left out of the
    likelihood; imputation is the self-normalised importance-sampling mean over
    ``n_draws`` posterior draws (baselines of the VSAE paper). ``sample`` draws
    by sampling-importance-resampling. Its draws are not meant for inference: the
    default unit-variance likelihood makes them noise around a weak conditional
    mean, which attenuates the coefficients of imputed covariates (user guide,
    "Multiple imputation").

    Parameters
    ----------
    latent_dim : int, default=8
        Size of the latent code.
    hidden : tuple of int, default=(64, 64)
        Encoder hidden widths; the decoder mirrors them.
    variant : {"vae", "ae", "cvae"}, default="vae"
        ``"ae"``: deterministic autoencoder (imputes the decoder mean at the code);
        ``"cvae"``: encoder and decoder conditioned on the attribute mask
        ("CVAE w/ mask").
    numerical : str, default="gaussian"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    n_draws : int, default=1000
        Importance samples per row at transform time.
    n_importance : int, default="deprecated"
        Deprecated: renamed ``n_draws`` in 0.2, removed in 0.3.
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
    MIWAEImputer : The importance-weighted bound.
    VSAEImputer : Per-attribute encoders and a mask decoder.

    References
    ----------
    D. P. Kingma, M. Welling. "Auto-Encoding Variational Bayes", ICLR 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import VAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = VAEImputer(max_iter=2, n_draws=10, random_state=0)
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
        "variant": [StrOptions(set(VARIANTS))],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _renamed = {"n_importance": "n_draws"}
    _parameter_constraints.update(
        renamed_constraints(_renamed, _parameter_constraints)
    )

    def __init__(
        self,
        *,
        latent_dim=8,
        hidden=(64, 64),
        variant="vae",
        numerical="gaussian",
        n_draws=1000,
        n_importance="deprecated",
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
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.variant = variant
        self.numerical = numerical
        self.n_draws = n_draws
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
        return VAE(
            layout,
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            numerical=self.numerical,
            condition_on_mask=self.variant == "cvae",
            deterministic=self.variant == "ae",
            n_draws=self._param("n_draws"),
        )
