"""Column mean / mode imputation under the package's contract (the floor to beat)."""

from __future__ import annotations

import numpy as np

from .._utils.params import store_params
from ._base import BaseImputer

__all__ = ["MeanModeImputer"]


class MeanModeImputer(BaseImputer):
    """Impute numerical columns by their observed mean, categorical ones by their mode.

    The reference every other imputer must beat. Unlike scikit-learn's
    ``SimpleImputer`` it takes mixed DataFrames (strings, categories) and returns
    them with their dtypes. Image pixels get their observed pixel mean.

    Parameters
    ----------
    random_state : None
        Unused; present so every imputer shares the same parameters.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        Fill value of each column in column codes (0 for standardised numerical
        columns, the modal code for categorical ones).

    See Also
    --------
    SklearnImputerAdapter : Any scikit-learn imputer on mixed tables.
    MissForestImputer : Random-forest chained imputation.

    Notes
    -----
    A column of distinct values (an identifier, free text: more than
    ``deepimpute._data.IDENTIFIER_MIN_CATEGORIES`` categories, over half of its
    observed rows) is imputed by its mode with a warning naming it, where the
    other imputers refuse it; its memory is that of its integer codes.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers import MeanModeImputer
    >>> MeanModeImputer().fit_transform(np.array([[1.0], [np.nan], [3.0]])).ravel()
    array([1., 2., 3.])
    """

    _range_note = (
        "Column means and modes lie within the observed range."
    )

    #: an identifier-like column (IDs, free text) is imputed by its mode with a
    #: warning, not refused: the mode needs only its codes' counts
    _identifiers = "warn"

    def __init__(
        self,
        *,
        column_spec=None,
        handle_unknown="error",
        random_state=None,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        min_value=-np.inf,
        max_value=np.inf,
    ):
        store_params(self, locals())

    def _fit(self, C, data, seed):
        stats = np.zeros(C.shape[1])
        for lay, pos in zip(
            self.encoder_.layout.attributes, self.encoder_.positions, strict=True
        ):
            block = C[:, pos]
            if lay.kind == "categorical":
                codes = block[~np.isnan(block)].astype(np.intp)
                stats[pos] = np.bincount(codes, minlength=lay.width).argmax()
            else:
                stats[pos] = np.nanmean(block, axis=0) if lay.kind == "image" else 0.0
        self.statistics_ = np.nan_to_num(stats)

    def _impute(self, C, data):
        return np.where(np.isnan(C), self.statistics_, C)
