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
import sys
import warnings
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import FLOAT_DTYPES, validate_data

__all__ = [
    "as_nan",
    "from_polars",
    "is_na_marker",
    "is_polars",
    "missing_mask",
    "per_column",
    "native_frame",
    "prepare_input",
    "restored",
    "to_polars",
    "validate_input",
]


def prepare_input(est, X, *, reset: bool):
    """Validated ``X`` with every ``est.missing_values`` entry turned into a
    missing value and its columns in dtypes the encoder reads
    (:func:`native_frame`; a polars frame as pandas); also the dtypes to give back
    (:func:`restored`) to the columns that changed dtype for it (a numpy integer
    column holding -1 for missing becomes nullable Int64 and returns as int64, an
    Arrow date becomes datetime64 and returns as date32), by column position."""
    X = from_polars(X)
    marker = est.missing_values
    was_frame = isinstance(X, pd.DataFrame)
    if not (was_frame or is_na_marker(marker)):
        X = mark_array(X, marker)  # before validation: "?" would not pass as floats
    X = validate_input(est, X, reset=reset)
    if not isinstance(X, pd.DataFrame):
        marked = was_frame and not is_na_marker(marker)
        return (mark_array(X, marker) if marked else X), {}
    X, native = native_frame(X)
    restore: dict[int, object] = {}
    if not is_na_marker(marker):
        X, restore = mark_frame(X, marker)
    return X, {**restore, **native}  # the caller's own dtype wins


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
        # the Series, not its array: pandas infers ``str`` from an object array
        out.isetitem(j, s.mask(found))
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
    """Labels equal, a NaN label (float or numpy) matching a NaN label."""
    if _is_nan_label(a) and _is_nan_label(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _is_nan_label(label) -> bool:
    return isinstance(label, Real) and not isinstance(label, bool) and (
        math.isnan(label)
    )


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


# ------------------------------------------------ frames the encoder reads natively
def is_polars(X) -> bool:
    """Whether ``X`` is a polars DataFrame (polars is not imported for it)."""
    pl = sys.modules.get("polars")
    return pl is not None and isinstance(X, pl.DataFrame)


def from_polars(X):
    """A polars DataFrame as a pandas one with Arrow-backed columns (every polars
    dtype kept: nullable integers, strings, categoricals, dates, times, binary);
    anything else as given."""
    if not is_polars(X):
        return X
    return X.to_pandas(use_pyarrow_extension_array=True)


def to_polars(out):
    """The output for a polars caller: a pandas frame as polars (columns restored
    to the Arrow dtypes they came in with convert without loss)."""
    import polars as pl

    return pl.from_pandas(out) if isinstance(out, pd.DataFrame) else out


def native_frame(X: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, object]]:
    """``X`` with the columns the encoder does not read as they are converted to
    dtypes it does, and their dtypes by position (for :func:`restored`).

    Arrow timestamps (naive or tz-aware), dates and durations become datetime64 /
    timedelta64 (numerical on their time axis), Arrow times integers (their unit
    since midnight), Arrow dictionaries and binary columns objects (their values
    or bytes, categorical); pandas Sparse columns are densified, with a
    warning naming them. Arrow numbers, booleans and strings are read as they are.
    Other nested Arrow types (lists, structs, ...) are refused naming the column.
    """
    out, restore, sparse = X, {}, []
    for j, dtype in enumerate(X.dtypes):
        if isinstance(dtype, pd.SparseDtype):
            new = X.iloc[:, j].sparse.to_dense()
            sparse.append(X.columns[j])
        elif isinstance(dtype, pd.ArrowDtype):
            new = _arrow_native(X.iloc[:, j], X.columns[j])
            if new is None:
                continue
        else:
            continue
        if out is X:
            out = X.copy(deep=False)
        out.isetitem(j, new)
        restore[j] = dtype
    if sparse:
        warnings.warn(
            f"Column(s) {preview(sparse)} are pandas Sparse; they are densified "
            "for the imputation (the memory of a dense column each) and returned "
            "in their Sparse dtype.",
            UserWarning,
            stacklevel=6,
        )
    return out, restore


def _arrow_native(s: pd.Series, label) -> pd.Series | None:
    """An Arrow-backed column in a dtype the encoder reads, None when it reads
    the column as it is."""
    import pyarrow as pa

    t = s.dtype.pyarrow_dtype
    types = pa.types
    if types.is_timestamp(t):
        native = pd.DatetimeTZDtype(t.unit, t.tz) if t.tz else f"datetime64[{t.unit}]"
        return s.astype(native)
    if types.is_date(t):
        return s.astype("datetime64[s]")
    if types.is_duration(t):
        return s.astype(f"timedelta64[{t.unit}]")
    if types.is_time(t):
        unit = pa.int32() if types.is_time32(t) else pa.int64()
        ints = s.array.__arrow_array__().cast(unit).to_pandas()
        # the array, not the Series: a Series would be aligned on its own index
        return pd.Series(ints.astype("Int64").array, index=s.index, name=s.name)
    if (
        types.is_dictionary(t) or types.is_binary(t) or types.is_large_binary(t)
        or types.is_fixed_size_binary(t)
    ):
        # the values as objects (categorical): a dictionary is how Arrow stores
        # them, and another frame of the same type may hold another dictionary
        return s.astype(object)
    if (
        types.is_integer(t) or types.is_floating(t) or types.is_boolean(t)
        or types.is_string(t) or types.is_large_string(t)
        or getattr(types, "is_string_view", lambda _: False)(t)
    ):
        return None
    raise ValueError(
        f"Column {label!r} has the Arrow type {t}, which no imputer models; "
        "convert it to numbers, strings, dates or categories first."
    )


def restored(s: pd.Series, dtype):
    """Column ``s`` (imputed, in the encoder's dtype) back in the caller's
    ``dtype``, as an array of ``len(s)``."""
    if isinstance(dtype, pd.SparseDtype):
        return s.astype(dtype).array
    if not isinstance(dtype, pd.ArrowDtype):
        return s.to_numpy(dtype=dtype)
    import pyarrow as pa

    t = dtype.pyarrow_dtype
    if pa.types.is_date(t):
        s = s.dt.round("D")  # an imputed date is a whole day
    arr = pa.array(s, from_pandas=True)
    if pa.types.is_time(t):  # integers of the unit since midnight
        arr = arr.cast(pa.int32() if pa.types.is_time32(t) else pa.int64())
    elif pa.types.is_dictionary(t):  # Arrow casts only strings to dictionaries
        arr = arr.cast(t.value_type).dictionary_encode()
    return pd.arrays.ArrowExtensionArray(arr.cast(t))
