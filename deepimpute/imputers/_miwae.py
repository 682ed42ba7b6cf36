"""MIWAE estimator (Mattei & Frellsen, 2019)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.miwae import MIWAE
from ..nn import ACTIVATIONS, LIKELIHOODS
from ._deep import BaseDeepImputer

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
    fill : {"zeros", "learned"}, default="zeros"
        Encoder input for missing entries: zeros (the paper) or a learned constant.

    Attributes
    ----------

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
    >>> from deepimpute import MIWAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = MIWAEImputer(max_iter=2, n_draws=10, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _core = MIWAE

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
        store_params(self, locals())

    def _core_arguments(self, layout, n_rows):
        return dict(layout=layout, learn_fill=self.fill == "learned")
