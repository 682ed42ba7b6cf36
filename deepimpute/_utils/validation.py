"""Input checks shared by every imputer: the caller's table as the encoder may read it.

What arrives (a DataFrame of any dtypes and labels, an array, a list) is checked
here once for all estimators, with errors that name the column: frame layouts no
attribute can name (MultiIndex, duplicate or mixed labels), complex numbers, text in
an all-numerical input, a transform-time frame whose columns differ from fit's, and
the ``missing_values`` marker turned into real missing cells (integer columns made
nullable for it, their dtype restored on output).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import FLOAT_DTYPES, validate_data

__all__ = [
    "as_nan",
    "is_na_marker",
    "missing_mask",
    "per_column",
    "prepare_input",
    "validate_input",
]


def prepare_input(est, X, *, reset: bool):
    """Validated ``X`` with every ``est.missing_values`` entry turned into a
    missing value; also the dtypes to give back to the columns that changed dtype
    for it (a numpy integer column holding -1 for missing becomes nullable Int64
    and returns as int64), by column position."""
    marker = est.missing_values
    if is_na_marker(marker):
        return validate_input(est, X, reset=reset), {}
    was_frame = isinstance(X, pd.DataFrame)
    if not was_frame:  # before validation: "" or "?" would not pass as floats
        X = mark_array(X, marker)
    X = validate_input(est, X, reset=reset)
    if isinstance(X, pd.DataFrame):
        return mark_frame(X, marker)
    return (mark_array(X, marker) if was_frame else X), {}


def validate_input(est, X, *, reset: bool):
    """``X`` checked for ``est`` (scikit-learn's ``validate_data`` plus the checks
    of frames it does not make); ``reset`` records what fit saw.

    A DataFrame keeps its type whatever its column labels (scikit-learn only skips
    ``feature_names_in_`` for non-str labels); the fit's labels and dtypes are kept
    in ``est._frame_columns_`` / ``est._frame_dtypes_`` (None after a fit on an
    array).
    """
    if isinstance(X, pd.DataFrame):
        check_frame_columns(X)
    if reset:  # "fitted on a frame": its labels and dtypes, whatever they are
        frame = isinstance(X, pd.DataFrame)
        est._frame_columns_ = list(X.columns) if frame else None
        est._frame_dtypes_ = list(X.dtypes) if frame else None
    fitted_columns = None if reset else getattr(est, "_frame_columns_", None)
    if isinstance(X, pd.DataFrame) and (reset or fitted_columns is not None):
        str_labels = all(isinstance(c, str) for c in X.columns)
        if not reset and not (str_labels and hasattr(est, "feature_names_in_")):
            # labels sklearn does not check (non-str, mixed, or a str frame for an
            # imputer fitted on non-str labels): compared by position
            _check_columns_match(est, X, fitted_columns)
        # sklearn refuses labels of mixed types; those are checked above
        validate_data(est, sklearn_view(X), skip_check_array=True, reset=reset)
        if X.shape[1] == 0:
            raise ValueError("X has 0 columns; there is nothing to impute.")
        min_rows = 2 if reset else 1
        if X.shape[0] < min_rows:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while "
                f"a minimum of {min_rows} is required."
            )
        return X
    if fitted_columns is not None:
        shape = X.shape if hasattr(X, "toarray") else np.asarray(X).shape
        if shape[-1:] == (len(fitted_columns),):
            # (a wrong width gets scikit-learn's message below)
            _check_array_allowed(est, fitted_columns)
    if not isinstance(X, pd.DataFrame):
        j = first_complex_column(X)
        if j is not None:
            raise ValueError(
                f"Complex data not supported: column {j} holds complex numbers, "
                "which no imputer models; split it into its real and imaginary "
                "parts."
            )
    spec = est.column_spec if reset else est.spec_
    numeric = spec is None or all(k == "numerical" for k in spec.kinds)
    dtype = FLOAT_DTYPES if numeric else None
    try:
        return validate_data(
            est,
            X,
            reset=reset,
            dtype=dtype,
            ensure_all_finite=False,
            ensure_min_samples=2 if reset else 1,
            copy=False,
        )
    except ValueError as exc:
        bad = first_non_numeric_column(X) if numeric else None
        if bad is not None and isinstance(bad[1], str):
            raise ValueError(
                f"Column {bad[0]} holds the non-numeric value {bad[1]!r}; pass a "
                "DataFrame with that column as a string/category dtype, or a "
                "column_spec declaring it Categorical."
            ) from exc
        raise


def _check_columns_match(est, X: pd.DataFrame, fitted: list) -> None:
    """A frame at transform has the fit's columns, by position."""
    name = type(est).__name__
    if X.shape[1] != len(fitted):
        raise ValueError(
            f"X has {X.shape[1]} features, but {name} is expecting "
            f"{len(fitted)} features as input (columns at fit: "
            f"{preview(fitted)})."
        )
    for j, (now, then) in enumerate(zip(X.columns, fitted, strict=True)):
        if not same_label(now, then):
            raise ValueError(
                f"X's column {j} is {now!r}, but {name} was fitted with "
                f"{then!r} there; pass the columns of fit in the same order "
                f"({preview(fitted)})."
            )


def _check_array_allowed(est, fitted: list) -> None:
    """An array fits an imputer fitted on a frame only if every column was a
    plain number (otherwise its values cannot be told apart from codes)."""
    for label, dtype in zip(fitted, est._frame_dtypes_, strict=True):
        plain = pd.api.types.is_numeric_dtype(dtype) and not (
            pd.api.types.is_bool_dtype(dtype)
        )
        if not plain:
            raise ValueError(
                f"{type(est).__name__} was fitted on a DataFrame whose column "
                f"{label!r} is {dtype}; an array cannot carry that column. Pass "
                "a DataFrame with the same columns as at fit."
            )


def is_na_marker(value) -> bool:
    """Whether ``missing_values`` is one of the markers always taken as missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, Real) and not isinstance(value, bool) and math.isnan(value)


def marker_hits(values: np.ndarray, marker) -> np.ndarray:
    """Elementwise ``values == marker``, never matching across kinds (1 == True,
    "1" == 1) and never raising."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        if isinstance(marker, str) or (
            (values.dtype.kind == "b") != isinstance(marker, bool | np.bool_)
        ):
            return np.zeros(values.shape, dtype=bool)
        return values == marker
    if values.dtype.kind in "US":
        return values == marker if isinstance(marker, str) else np.zeros(
            values.shape, dtype=bool
        )

    def same(v) -> bool:
        if isinstance(v, bool | np.bool_) != isinstance(marker, bool | np.bool_):
            return False
        if isinstance(v, str) != isinstance(marker, str):
            return False
        try:
            return bool(v == marker)
        except (TypeError, ValueError):
            return False

    return np.frompyfunc(same, 1, 1)(values).astype(bool)


def mark_array(X, marker):
    """A copy of array-like ``X`` with NaN where it holds ``marker`` (``X`` itself
    when it holds none; sparse input is left to validation, which refuses it)."""
    if sp.issparse(X) or isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    found = marker_hits(arr, marker)
    if not found.any():
        return X
    out = arr.astype(np.float64 if arr.dtype.kind in "biuf" else object)
    out[found] = np.nan
    return out


def mark_frame(X: pd.DataFrame, marker):
    """``X`` with ``marker`` entries missing (changed columns only are copied), and
    the numpy dtypes of the columns made nullable for it, by position."""
    restore: dict[int, object] = {}
    out = X
    for j in range(X.shape[1]):
        s = X.iloc[:, j]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            values = s.to_numpy()  # the fast path of marker_hits
        elif pd.api.types.is_numeric_dtype(s.dtype) and not (
            pd.api.types.is_bool_dtype(s.dtype)
        ):
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = s.astype(object).to_numpy()
        found = marker_hits(values, marker)
        if not found.any():
            continue
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biu":
            restore[j] = s.dtype  # holes need a nullable dtype until imputed
            s = s.astype(nullable(s.dtype))
        if out is X:
            out = X.copy(deep=False)
        out.isetitem(j, s.mask(found).array)
    return out, restore


def nullable(dtype: np.dtype) -> str:
    if dtype.kind == "b":
        return "boolean"
    return f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}"


def missing_mask(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X.isna().to_numpy(dtype=bool)
    arr = np.asarray(X)
    return np.isnan(arr) if arr.dtype.kind == "f" else np.asarray(pd.isna(arr))


def as_nan(missing: np.ndarray) -> np.ndarray:
    """The missing mask as the float table the MissingIndicator reads."""
    return np.where(missing, np.nan, 0.0)


def per_column(value, p: int, default: float, name: str) -> np.ndarray:
    if value is None:
        return np.full(p, default)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(p, float(arr))
    if arr.shape != (p,):
        raise ValueError(
            f"{name} must be a scalar or hold one value per column ({p}), got shape "
            f"{arr.shape}."
        )
    return arr


def check_frame_columns(X: pd.DataFrame) -> None:
    """Refuse column layouts that no attribute can name unambiguously."""
    if isinstance(X.columns, pd.MultiIndex):
        raise ValueError(
            "DataFrames with MultiIndex columns are not supported; flatten the "
            "labels first, e.g. X.columns = ['_'.join(map(str, c)) for c in "
            "X.columns]."
        )
    if not X.columns.is_unique:
        dup = X.columns[X.columns.duplicated()][0]
        raise ValueError(
            f"Column {dup!r} appears more than once; column labels must be unique "
            "(rename the duplicates)."
        )
    for label, dtype in zip(X.columns, X.dtypes, strict=True):
        if pd.api.types.is_complex_dtype(dtype):
            raise ValueError(
                f"Complex data not supported: column {label!r} holds complex "
                "numbers, which no imputer models; split it into its real and "
                "imaginary parts (two numerical columns)."
            )


def sklearn_view(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` as scikit-learn's feature-name checks accept it: labels of mixed types
    (which sklearn refuses) are replaced by positions, a lazy copy under pandas'
    copy-on-write."""
    kinds = {isinstance(c, str) for c in X.columns}
    if len(kinds) > 1:
        return X.set_axis(pd.RangeIndex(X.shape[1]), axis=1)
    return X


def same_label(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def preview(labels: list) -> str:
    head = ", ".join(repr(c) for c in labels[:5])
    return f"[{head}{', ...' if len(labels) > 5 else ''}]"


def first_complex_column(X) -> int | None:
    """Position of the first column holding a complex number, else None."""
    if hasattr(X, "toarray") or not hasattr(X, "__len__"):
        return None  # sparse input: scikit-learn's validation speaks for it
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.dtype.kind not in "cO":
        return None
    if arr.dtype.kind == "c":  # every column is complex-typed: name a true one
        imag = np.flatnonzero(np.any(np.nan_to_num(arr.imag) != 0, axis=0))
        return int(imag[0]) if imag.size else 0
    for j in range(arr.shape[1]):
        if any(isinstance(v, complex) for v in arr[:, j]):
            return j
    return None


def first_non_numeric_column(X):
    arr = np.asarray(X, dtype=object)
    if arr.ndim != 2:
        return None
    for j in range(arr.shape[1]):
        for v in arr[:, j]:
            try:
                float(v)
            except (TypeError, ValueError):
                return j, v
    return None
