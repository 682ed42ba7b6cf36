"""MisGAN estimator (learning from incomplete data with GANs)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.misgan import MASK_TRANSFORMS, MisGAN
from ._deep import BaseDeepImputer, UnitScaledImputer

__all__ = ["MisGANImputer"]


class MisGANImputer(UnitScaledImputer):
    """MisGAN imputer (Li, Jiang & Marlin, 2019).

    A data generator and a mask generator learn the distribution of incomplete rows
    against two WGAN-GP critics (the data critic sees rows only through the masking
    operator ``m * x + (1 - m) * tau``); an imputer network, fed a real row with
    U(0, 1) noise in its missing entries, learns to complete it so that a third
    critic cannot tell it from the data generator's complete rows. Numerical
    attributes are min-max scaled with the observed training values; categorical
    attributes are one-hot blocks treated as [0, 1] features, decoded by argmax.
    Defaults follow the authors' code (joint imputation mode) with fully connected
    nets for tabular data.

    Each mini-batch makes one step of each critic; every ``n_critic``-th batch also
    steps the mask generator, the data generator and the imputer. GAN losses do not
    measure imputation quality, so early stopping is off by default
    (``validation_fraction=0``, ``n_iter_no_change=None``); when enabled it monitors
    the imputer's adversarial loss.

    Parameters
    ----------
    latent_dim : int, default=128
        Size of the Gaussian codes of the data and mask generators.
    generator_hidden : tuple of int, default=(256, 512)
        Hidden widths of the data and mask generators.
    critic_hidden : tuple of int, default=(512, 256, 128)
        Hidden widths of the three critics.
    imputer_hidden : tuple of int or None, default=None
        Hidden widths of the imputer; None uses three layers of
        ``max(n_model_columns, 64)`` units.
    n_critic : int, default=5
        Critic steps (mini-batches) per generator step.
    gp_weight : float, default=10.0
        Gradient-penalty weight of the critics.
    alpha : float, default=0.1
        Weight of the data-critic term in the mask generator's loss.
    beta : float, default=0.1
        Weight of the imputation term in the data generator's loss (only used
        with ``paper_beta_term=True``; in the reference code it has no gradient).
    gamma : float, default=0.0
        Weight of an optional squared error of the imputer on observed entries.
    tau : float, default=0.0
        Fill value of the masking operator.
    mask_transform : {"fusion", "sigmoid"}, default="fusion"
        Output transform of the mask generator (temperature 0.66).
    paper_beta_term : bool, default=False
        Let the imputation critic's score of generated rows train the data
        generator, as the paper's objective does.
    n_draws : int, default=1
        Imputer draws averaged by ``transform``. 1 (one draw with a noise
        vector shared by all rows) is what the reference evaluates; averaging
        more draws usually lowers the RMSE.
    max_iter : int or "auto", default=200
        Training epochs (the reference trains 1000 epochs on MNIST); ``"auto"``
        chooses them from the row count (about 20,000 optimiser steps, 10 to
        1000 epochs) into ``max_iter_``.
    learning_rate : float, default=1e-4
        Adam step size (betas 0.5, 0.9) of the generators and their critics; the
        imputer and its critic use twice this value, as the reference.
    validation_fraction : float, default=0.0
        Share of training rows held out to monitor the imputer's loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and every noise draw.

    Attributes
    ----------
    history_ : list of dict
        Per-epoch means of the critic losses ``d_x``, ``d_m``, ``d_i`` and of
        ``loss`` (the imputer's adversarial loss).

    See Also
    --------
    GAINImputer : Adversarial imputer with a hint mechanism.

    Notes
    -----
    ``sample`` gives independent imputer draws (fresh noise per row); it
    inherits the spread the adversarial training gives the imputer, which is not a
    calibrated posterior. Its draws are not meant for inference: on a known-truth
    design they barely differ and do not follow the relation of the missing cells
    to the observed ones (``docs/user_guide/multiple_imputation.rst``).

    References
    ----------
    S. C.-X. Li, B. Jiang, B. M. Marlin. "MisGAN: Learning from Incomplete Data
    with Generative Adversarial Networks", ICLR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import MisGANImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> MisGANImputer(max_iter=2, latent_dim=4, random_state=0).fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        'The imputer network ends in a sigmoid on the min-max scaled table: '
        'imputations stay within the observed range.'
    )

    _core = MisGAN

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "generator_hidden": [tuple],
        "critic_hidden": [tuple],
        "imputer_hidden": [tuple, None],
        "n_critic": [Interval(Integral, 1, None, closed="left")],
        "gp_weight": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "tau": [Interval(Real, 0, 1, closed="both")],
        "mask_transform": [StrOptions(set(MASK_TRANSFORMS))],
        "paper_beta_term": ["boolean"],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _renamed = {"n_draws_impute": "n_draws"}

    def __init__(
        self,
        *,
        latent_dim=128,
        generator_hidden=(256, 512),
        critic_hidden=(512, 256, 128),
        imputer_hidden=None,
        n_critic=5,
        gp_weight=10.0,
        alpha=0.1,
        beta=0.1,
        gamma=0.0,
        tau=0.0,
        mask_transform="fusion",
        paper_beta_term=False,
        n_draws=1,
        n_draws_impute="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=200,
        batch_size=64,
        learning_rate=1e-4,
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
