"""GAIN estimator (generative adversarial imputation nets)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.gain import GAIN, HINT_MODES
from ._deep import BaseDeepImputer, UnitScaledImputer

__all__ = ["GAINImputer"]


class GAINImputer(UnitScaledImputer):
    """Generative adversarial imputation nets (GAIN; Yoon et al., 2018).

    A generator fills missing entries from the observed ones, the mask and
    U(0, 0.01) noise; a discriminator, given a hint about the mask, tells observed
    from imputed entries. Numerical attributes are min-max scaled with the observed
    training values, categorical attributes are one-hot blocks treated as [0, 1]
    features and decoded by argmax. Defaults follow the authors' public code.

    Training runs ``max_iter`` epochs of shuffled mini-batches, each batch making
    one discriminator and one generator Adam step. The reference counts mini-batch
    *iterations* instead (10,000 batches of 128 drawn with replacement); the same
    number of steps is ``max_iter ~= iterations * batch_size / n_samples`` (64
    epochs for 20,000 rows). GAN losses do not measure imputation quality, so
    early stopping is off by default (``validation_fraction=0``,
    ``n_iter_no_change=None``); when enabled it monitors the generator loss.

    Parameters
    ----------
    hidden : int or None, default=None
        Width of the two hidden layers of both nets; None uses the number of model
        columns (one-hot expanded), as the reference.
    hint_rate : float, default=0.9
        Probability that an entry's mask value is revealed to the discriminator.
    alpha : float, default=100.0
        Weight of the reconstruction error (observed entries) in the generator loss.
    hint_mode : {"code", "paper"}, default="code"
        ``"code"``: hint ``H = M * Bernoulli(hint_rate)`` and losses over every
        entry (the public code); ``"paper"``: one hidden coordinate per row, set to
        0.5, and adversarial losses on that coordinate only (``hint_rate`` unused).
    learning_rate : float, default=1e-3
        Adam step size of both nets.
    validation_fraction : float, default=0.0
        Share of training rows held out to monitor the generator loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, hints and noise.

    Attributes
    ----------
    history_ : list of dict
        Per-epoch means of ``loss`` (generator objective), ``d_loss``, ``g_adv``
        and ``rec``.

    See Also
    --------
    MisGANImputer : Adversarial imputer that also learns the mask.

    Notes
    -----
    ``transform`` makes one generator pass with a noise vector shared by all
    rows. ``sample`` draws fresh noise per row; since the noise is only
    U(0, 0.01), GAIN's draws differ very little (it is a single-imputation method).
    Its draws are not meant for inference: the generator all but ignores its noise,
    so the draws are near copies of one imputation and pooled intervals are far
    too narrow (``docs/user_guide/multiple_imputation.rst``).
    The reference rounds columns with fewer than 20 distinct values; this estimator
    does not (declare such columns categorical instead).

    References
    ----------
    J. Yoon, J. Jordon, M. van der Schaar. "GAIN: Missing Data Imputation using
    Generative Adversarial Nets", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import GAINImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> GAINImputer(max_iter=2, random_state=0).fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        'The generator ends in a sigmoid on the min-max scaled table: '
        'imputations stay within the observed range.'
    )

    _core = GAIN

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "hidden": [Interval(Integral, 1, None, closed="left"), None],
        "hint_rate": [Interval(Real, 0, 1, closed="both")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "hint_mode": [StrOptions(set(HINT_MODES))],
    }

    def __init__(
        self,
        *,
        hidden=None,
        hint_rate=0.9,
        alpha=100.0,
        hint_mode="code",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=100,
        batch_size=128,
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
