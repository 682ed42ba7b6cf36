"""DiffPuter estimator (Zhang, Fang, Wu & Yu, ICLR 2025): diffusion inside EM."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch

from .._utils.sklearn_compat import Interval
from ..models.diffputer import DiffPuter
from ..training import iterate_batches, train
from ._base import BaseDeepImputer, _named_errors

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
    column_spec : ColumnSpec, default=None
        Attribute description; inferred from dtypes when None.
    handle_unknown : {"error", "missing"}, default="error"
        Unseen categories at transform time: raise, or impute them (warning).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    max_iter : int or "auto", default=200
        Training epochs of each M-step; ``"auto"`` chooses them from the row
        count into ``max_iter_``.
    batch_size : int, default=256
        Rows per mini-batch (the paper uses 4096 on a GPU).
    learning_rate : float, default=1e-3
        Adam step size (the paper's).
    validation_fraction : float, default=0.1
        Share of training rows held out for early stopping in each M-step.
    n_iter_no_change : int or None, default=20
        Patience of early stopping in epochs (None: train ``max_iter`` epochs).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise levels and sampling.
    verbose : int, default=0
        1 shows a progress bar over the epochs of each M-step.
    callback : callable, default=None
        ``callback(imputer, record)`` after each epoch (``record`` is the epoch's
        history entry); a returned dict is merged into the record.

    Attributes
    ----------
    spec_ : ColumnSpec
        The resolved attribute description.
    module_ : torch.nn.Module
        The trained torch core (the last M-step's denoiser).
    history_ : list of dict
        Per-epoch training records of every M-step (``round`` says which).
    n_iter_ : int
        Epochs run, summed over the M-steps.
    max_iter_ : int
        Epochs allowed per M-step: ``max_iter``, or the number ``"auto"`` chose.
    device_ : str
        Device the model lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit (DataFrame input only).

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
    longest fit (``benchmarks/peers_cost.py``, docs/methods/diffputer.md).
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
        self.hidden = hidden
        self.n_em_rounds = n_em_rounds
        self.n_steps = n_steps
        self.n_resample = n_resample
        self.n_draws = n_draws
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
        return DiffPuter(
            layout,
            hidden=self.hidden,
            n_steps=self.n_steps,
            n_resample=self.n_resample,
            n_draws=self.n_draws,
        )

    def _after_training(self, tensors, device):
        """EM rounds 2..n: E-step on the training rows, then an M-step (the
        shared training loop) on the completed table."""
        for record in self.history_:
            record["round"] = 1
        for k in range(2, self.n_em_rounds + 1):
            with _named_errors(type(self).__name__):
                completed = self._e_step(tensors, device)
            callback = None
            if self.callback is not None:

                def callback(epoch, record):
                    return self.callback(self, record)

            history = train(
                self.module_,
                completed,
                max_iter=self.max_iter_,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                device=device,
                validation_fraction=self.validation_fraction,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                verbose=self.verbose,
                callback=callback,
                name=type(self).__name__,
            )
            self.history_.extend({**r, "round": k} for r in history)

    @torch.no_grad()
    def _e_step(self, tensors, device):
        """The training table completed by the current model: observed values
        kept, missing ones imputed (categories one-hot), every cell marked
        observed for the next M-step."""
        module = self.module_
        module.eval()
        x, obs, attr = tensors
        rows = torch.arange(len(x), device="cpu")
        parts = [
            module._decode(module.to_diffusion(module.impute(batch))).cpu()
            for batch in iterate_batches(
                tensors, rows, self._inference_batch_size, shuffle=False,
                device=device, min_batch=1,
            )
        ]
        imputed = torch.cat(parts).to(x.dtype)
        values = torch.where(obs > 0, x, imputed)
        return values, torch.ones_like(obs), torch.ones_like(attr)
