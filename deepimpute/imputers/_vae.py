"""VAE-family baseline estimators: AE, VAE and CVAE with the mask."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.vae import VAE
from ..nn import LIKELIHOODS
from ._deep import BaseDeepImputer

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
    n_draws : int, default=1000
        Importance samples per row at transform time.

    Attributes
    ----------

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


    _core = VAE

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [tuple],
        "variant": [StrOptions(set(VARIANTS))],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _renamed = {"n_importance": "n_draws"}

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
        store_params(self, locals())

    def _core_arguments(self, layout, n_rows):
        return dict(
            layout=layout,
            condition_on_mask=self.variant == "cvae",
            deterministic=self.variant == "ae",
        )
