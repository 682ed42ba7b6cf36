"""ReMasker estimator (Du, Melis & Wang, ICLR 2024)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.remasker import ReMasker
from ..nn import LIKELIHOODS
from ._deep import BaseDeepImputer

__all__ = ["ReMaskerImputer"]

#: the paper's warm-up: 40 of its 600 epochs
WARMUP_SHARE = 40 / 600


class ReMaskerImputer(BaseDeepImputer):
    """Masked-autoencoder imputer (ReMasker): a transformer over the attributes.

    Each attribute of a row is a token; the encoder sees the observed ones, of
    which a share ``mask_ratio`` is hidden again at every training step, and the
    decoder reconstructs them all. ``transform`` reads the decoder at the missing
    cells with every observed attribute visible. ``sample`` gives re-masking
    draws (a random share of the observed attributes hidden, categories drawn
    from the predicted probabilities): they show how much an imputation depends
    on which cells the model sees, not a posterior spread.

    Parameters
    ----------
    embed_dim : int, default=32
        Token width (the authors' setting for small tables; 64 for large ones).
    depth : int, default=4
        Encoder blocks (the authors' small setting; 8 for large tables).
    decoder_depth : int, default=2
        Decoder blocks (the authors' small setting; 6 for large tables).
    n_heads : int, default=4
        Attention heads; must divide ``embed_dim``.
    mlp_ratio : float, default=4.0
        Feed-forward width of a block, in multiples of ``embed_dim``.
    mask_ratio : float, default=0.5
        Share of each row's observed attributes re-masked per training step.
    numerical : str, default="gaussian"
        Likelihood of numerical attributes (its negative log is the
        reconstruction error), one of ``deepimpute.nn.LIKELIHOODS["numerical"]``.
    warmup_epochs : int or "auto", default="auto"
        Epochs of linear learning-rate warm-up before the cosine decay;
        ``"auto"``: the paper's share, 40 of every 600 epochs of ``max_iter``.
    min_learning_rate : float, default=1e-5
        Learning rate at the end of the cosine decay.
    weight_decay : float, default=0.05
        AdamW weight decay.
    max_iter : int or "auto", default=100
        Training epochs (the paper trains 600, see Notes); ``"auto"`` chooses
        them from the row count into ``max_iter_``.
    batch_size : int, default=64
        Rows per mini-batch (the paper's setting).
    learning_rate : float, default=1e-3
        Peak AdamW step size (the paper's, for batches of 64).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the re-masking.

    Attributes
    ----------

    See Also
    --------
    DiffPuterImputer : Diffusion model with EM.
    VSAEImputer : Per-attribute encoders and a mask decoder.

    Notes
    -----
    The authors' large network (64 wide, 8 + 6 blocks, 600 epochs) does about
    9 times the arithmetic per epoch of their small one (32 wide, 4 + 2
    blocks), which with 100 epochs and early stopping is the default, for a
    2-core CPU: measured on one thread on 4,000 rows, the large network's
    epoch takes about 2.5 times as long, its imputed row 9 times, and its
    600 epochs about 15 times the default's 100 (``benchmarks/studies/peers_cost.py``,
    docs/methods/remasker.md). Categorical attributes get their own
    embedding and a softmax head (the paper treats numbers only).

    References
    ----------
    T. Du, L. Melis, T. Wang. "ReMasker: Imputing Tabular Data with Masked
    Autoencoding", ICLR 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import ReMaskerImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = ReMaskerImputer(max_iter=2, depth=1, decoder_depth=1, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _core = ReMasker
    _range_note = (
        "The decoder's predictions are unbounded: imputations may fall outside "
        "the observed range (a diverged fit raises FloatingPointError)."
    )

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "embed_dim": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 0, None, closed="left")],
        "decoder_depth": [Interval(Integral, 0, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "mlp_ratio": [Interval(Real, 0, None, closed="neither")],
        "mask_ratio": [Interval(Real, 0, 1, closed="left")],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left"),
                          StrOptions({"auto"})],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        embed_dim=32,
        depth=4,
        decoder_depth=2,
        n_heads=4,
        mlp_ratio=4.0,
        mask_ratio=0.5,
        numerical="gaussian",
        warmup_epochs="auto",
        min_learning_rate=1e-5,
        weight_decay=0.05,
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter=100,
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
        warmup = self.warmup_epochs
        if warmup == "auto":
            warmup = math.floor(WARMUP_SHARE * self.max_iter_)
        return dict(layout=layout, n_epochs=self.max_iter_, warmup_epochs=warmup)
