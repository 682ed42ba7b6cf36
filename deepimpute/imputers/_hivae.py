"""HI-VAE estimator (Nazabal et al., 2020), compact version."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.hivae import HIVAE
from ..nn import ACTIVATIONS, LIKELIHOODS
from ._deep import BaseDeepImputer

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
    decoder. Its draws are not meant for inference: pooled coefficients of
    imputed covariates come out biased (user guide, "Multiple imputation"). See
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

    Attributes
    ----------

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
    >>> from deepimpute import HIVAEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = HIVAEImputer(max_iter=2, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _core = HIVAE

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
        store_params(self, locals())
