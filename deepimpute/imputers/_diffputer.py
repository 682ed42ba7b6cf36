"""DiffPuter estimator (Zhang, Fang, Wu & Yu, ICLR 2025): diffusion inside EM."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval
from ..models.diffputer import DiffPuter, complete_table
from ._deep import BaseDeepImputer, named_errors

__all__ = ["DiffPuterImputer"]


class DiffPuterImputer(BaseDeepImputer):
    """Diffusion-model imputer trained by EM (DiffPuter).

    The M-step trains a denoising diffusion model (EDM) on the training table as
    completed so far; the E-step re-imputes the missing cells by conditional
    reverse sampling (the observed cells are held at their noised values along
    the way) and averages ``n_draws`` draws. ``n_em_rounds`` rounds are run, the
    first on the table completed with column means. ``transform`` runs the E-step
    of the last model on new rows; ``sample`` returns single reverse-process
    draws.

    Parameters
    ----------
    hidden : int, default=256
        Width of the denoiser MLP (the paper's is 1024; see Notes).
    n_em_rounds : int, default=3
        EM rounds: M-steps, each followed by an E-step (the paper runs 5).
    n_steps : int, default=50
        Reverse-process steps of an E-step (the paper's setting).
    n_resample : int, default=2
        Repetitions of each reverse step with re-noising in between (the paper
        repeats 10 times; 1 turns resampling off).
    n_draws : int, default=5
        Reverse-process draws averaged into an imputation (the paper: 50).
    max_iter : int or "auto", default=200
        Training epochs of each M-step; ``"auto"`` chooses them from the row
        count into ``max_iter_``.
    batch_size : int, default=256
        Rows per mini-batch (the paper uses 4096 on a GPU).
    learning_rate : float, default=1e-3
        Adam step size (the paper's).
    validation_fraction : float, default=0.1
        Share of training rows held out for early stopping in each M-step.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise levels and sampling.
    verbose : int, default=0
        1 shows a progress bar over the epochs of each M-step.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained torch core (the last M-step's denoiser).
    history_ : list of dict
        Per-epoch training records of every M-step (``round`` says which).
    n_iter_ : int
        Epochs run, summed over the M-steps.
    max_iter_ : int
        Epochs allowed per M-step: ``max_iter``, or the number ``"auto"`` chose.

    See Also
    --------
    ReMaskerImputer : Masked autoencoding with a transformer.
    MICEImputer : Chained equations, another iterative imputer.

    Notes
    -----
    An E-step costs ``n_draws * n_steps * n_resample * 2`` passes of the
    denoiser over the rows. At the paper's settings (1024 wide, 50 draws, 10
    repetitions, 5 rounds) that is 50,000 passes per round, against 500 at
    the defaults, which were chosen for a 2-core CPU: measured on one thread,
    a row's imputation costs about 900 times the default's there, and the
    paper's full schedule extrapolates to about 1,400 times the default's
    longest fit (``benchmarks/studies/peers_cost.py``, docs/methods/diffputer.md).
    Each M-step continues from the previous
    model's weights (the authors start a new model each round).

    References
    ----------
    H. Zhang, L. Fang, Q. Wu, P. S. Yu. "DiffPuter: Empowering Diffusion Models
    for Missing Data Imputation", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import DiffPuterImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = DiffPuterImputer(max_iter=2, hidden=16, n_steps=5, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _core = DiffPuter
    # the E-step completes the whole training table: it needs it in memory
    _streamed_fit = False
    _range_note = (
        "Reverse sampling is unbounded: imputations may fall outside the observed "
        "range (a diverged fit raises FloatingPointError)."
    )

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "hidden": [Interval(Integral, 2, None, closed="left")],
        "n_em_rounds": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 2, None, closed="left")],
        "n_resample": [Interval(Integral, 1, None, closed="left")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        hidden=256,
        n_em_rounds=3,
        n_steps=50,
        n_resample=2,
        n_draws=5,
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=200,
        batch_size=256,
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

    def _after_training(self, tensors, device):
        """EM rounds 2..n: E-step on the training rows, then an M-step (the
        shared training loop) on the completed table."""
        for record in self.history_:
            record["round"] = 1
        for k in range(2, self.n_em_rounds + 1):
            with named_errors(type(self).__name__):
                completed = complete_table(self.module_, tensors, device,
                                           self._inference_batch_size)
            history = self._train_module(completed, device)
            self.history_.extend({**r, "round": k} for r in history)
