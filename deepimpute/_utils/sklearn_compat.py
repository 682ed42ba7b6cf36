"""The only importer of private scikit-learn API (it may change between releases)."""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Hidden, Interval, MissingValues, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in

__all__ = [
    "Hidden",
    "Interval",
    "MissingValues",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "_get_output_config",
]
