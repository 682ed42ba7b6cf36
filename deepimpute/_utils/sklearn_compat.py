"""The only importer of private scikit-learn API (it may change between releases)."""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, MissingValues, StrOptions
from sklearn.utils.validation import _check_feature_names_in

__all__ = [
    "Interval",
    "MissingValues",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
]
