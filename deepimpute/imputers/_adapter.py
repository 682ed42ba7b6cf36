"""Run any scikit-learn imputer on mixed tables through the ColumnSpec."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._utils.params import store_params
from ._base import BaseImputer

__all__ = ["SklearnImputerAdapter"]


class SklearnImputerAdapter(BaseImputer):
    """Lift a numeric scikit-learn imputer to mixed DataFrames.

    The wrapped imputer sees the column codes (numerical columns standardised,
    categorical columns as integer codes, image pixels in [0, 1]); imputed codes of
    categorical columns are rounded to the nearest valid category. This is how
    ``IterativeImputer`` or ``KNNImputer`` serve as reference rows on tables with
    string or category columns, with observed entries and dtypes kept.

    Parameters
    ----------
    imputer : estimator, default=None
        A scikit-learn imputer (``fit``/``transform`` on float arrays with NaN).
        ``None`` means ``sklearn.impute.SimpleImputer()``.
    random_state : int, RandomState instance or None, default=None
        Seeds every ``random_state`` parameter of the wrapped imputer, nested
        estimators included.

    Attributes
    ----------
    imputer_ : estimator
        The fitted clone of ``imputer``.

    See Also
    --------
    MeanModeImputer : Column mean / mode under the same contract.
    MICEImputer : Chained equations with categorical columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.impute import KNNImputer
    >>> from deepimpute.imputers import SklearnImputerAdapter
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [3.0, 4.0]])
    >>> SklearnImputerAdapter(KNNImputer(n_neighbors=1)).fit_transform(X)[1, 0]
    np.float64(1.0)
    """

    _range_note = (
        'Whether imputations may leave the observed range depends on the '
        'wrapped imputer.'
    )

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "imputer": "no_validation",
    }

    def __init__(
        self,
        imputer=None,
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
        from sklearn.impute import SimpleImputer

        imp = clone(self.imputer) if self.imputer is not None else SimpleImputer()
        # seed every nested estimator too (IterativeImputer does not pass its
        # random_state on to a forest it wraps)
        params = imp.get_params(deep=True)
        imp.set_params(**{k: seed for k in params if k.endswith("random_state")})
        if "keep_empty_features" in imp.get_params():
            imp.set_params(keep_empty_features=True)  # never drop a column
        self.imputer_ = imp.fit(C)

    def _impute(self, C, data):
        out = np.asarray(self.imputer_.transform(C), dtype=np.float64)
        for lay, pos in zip(
            self.encoder_.layout.attributes, self.encoder_.positions, strict=True
        ):
            if lay.kind == "categorical":
                out[:, pos] = np.clip(np.round(out[:, pos]), 0, lay.width - 1)
            elif lay.kind == "image":
                out[:, pos] = np.clip(out[:, pos], 0.0, 1.0)
        return np.where(np.isnan(C), out, C)
