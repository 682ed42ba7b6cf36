"""The imputer contract shared by every estimator of the package.

:class:`BaseImputer` owns everything that is not a method's own model: input
validation, the :class:`~deepimpute.schema.ColumnSpec` and its encoder, output assembly
(observed entries untouched, caller's type and dtypes kept), feature names, tags and
multiple imputation through :meth:`BaseImputer.sample`.

:class:`BaseDeepImputer` adds the torch side: device, seeding, the shared training
loop and device-safe pickling. A deep method only implements ``_build_module``.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import textwrap
import warnings
from contextlib import contextmanager
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from .. import _dask
from .._dask import is_dask_frame
from .._data import EncodedTable, TableEncoder
from .._utils.sklearn_compat import (
    Hidden,
    Interval,
    MissingValues,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
)
from .._utils.torch_utils import resolve_device, seed_from, seeded
from .._version import __version__
from ..schema import ColumnSpec, Image, ModelLayout
from ..training import (
    BatchStream,
    ImputationModule,
    iterate_batches,
    table_tensors,
    train,
)

__all__ = ["BaseDeepImputer", "BaseImputer"]


#: the parameters every imputer shares with scikit-learn's imputers; appended to the
#: Parameters section of every imputer's docstring by ``BaseImputer``, followed by
#: the class's ``_range_note``
SHARED_PARAMETERS_DOC = """\
missing_values : int, float, str, np.nan, None or pandas.NA, default=np.nan
    The placeholder of missing entries. NaN, None and pandas.NA always count as
    missing; another value (e.g. -1 or "") marks missing entries too.
add_indicator : bool, default=False
    Append a :class:`~sklearn.impute.MissingIndicator` column (named
    ``missingindicator_<name>``) for each feature with missing entries at fit.
keep_empty_features : bool, default=False
    A column entirely missing at fit is dropped from the output (False) or kept,
    its missing entries set to 0 (True), as scikit-learn's imputers do.
min_value, max_value : float or array-like of shape (n_features,), default=-inf, inf
    Bounds of the imputed values of numerical columns, per column or for all
    (observed entries are never changed).
"""

#: the fitted attribute that goes with them, appended to the Attributes section
SHARED_ATTRIBUTES_DOC = """\
indicator_ : MissingIndicator or None
    The indicator of ``add_indicator=True``, fitted on the missing entries of the
    training data; None otherwise.
"""

#: an imputation this many times the observed range (at least one standard
#: deviation) outside a numerical column's observed values means the fit diverged;
#: healthy runs on the benchmark tables reach 1.0 at most (MICE's draws; deep
#: models below 0.1; benchmarks/divergence.py)
RANGE_FACTOR = 100.0

#: the value of a renamed parameter's old name when the caller did not set it
DEPRECATED = "deprecated"
#: the release that renamed parameters and the one that removes the old names
RENAMED_IN, REMOVED_IN = "0.2", "0.3"


def renamed_constraints(renamed: dict[str, str], constraints: dict) -> dict:
    """Constraints of deprecated aliases: the new name's, or the hidden marker."""
    return {
        old: [*constraints[new], Hidden(StrOptions({DEPRECATED}))]
        for old, new in renamed.items()
    }


class BaseImputer(TransformerMixin, BaseEstimator):
    """Contract of all deepimpute imputers (not used directly).

    Subclasses implement ``_fit(C, data, seed)`` and ``_impute(C, data)`` (and
    optionally ``_sample``) on column codes ``C`` (float64, NaN = missing; numerical
    standardised, categorical as codes, images in [0, 1]) and on the model view
    ``data`` (``deepimpute._data.EncodedTable``).

    Around them it handles, once for every imputer, scikit-learn's imputer
    parameters: ``missing_values`` (turned into NaN before encoding),
    ``add_indicator``, ``keep_empty_features`` (columns entirely missing at fit
    never reach the encoder) and ``min_value`` / ``max_value``; their docstring
    (``SHARED_PARAMETERS_DOC``) is appended to every subclass's.
    """

    _parameter_constraints: dict = {
        "column_spec": [ColumnSpec, None],
        "handle_unknown": [StrOptions({"error", "missing"})],
        "random_state": ["random_state"],
        "missing_values": [MissingValues()],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "min_value": [None, Interval(Real, None, None, closed="both"), "array-like"],
        "max_value": [None, Interval(Real, None, None, closed="both"), "array-like"],
    }

    #: what the method may impute outside a column's observed range (one sentence,
    #: shown in the docstring of ``min_value``)
    _range_note = ""

    #: deprecated parameter name -> its new name; the old one stays an ``__init__``
    #: parameter (default ``"deprecated"``) for one release, see ``_param``
    _renamed: dict[str, str] = {}

    def __getstate__(self):
        state = super().__getstate__()
        state["_deepimpute_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_deepimpute_version", "0.1.0 or earlier")
        if saved != __version__ and any(k.endswith("_") for k in state):
            # fitted state (cores' attributes, encoders) may differ across versions
            warnings.warn(
                f"{type(self).__name__} was saved by deepimpute {saved} and is "
                f"loaded by {__version__}; a fitted model may not transform across "
                "versions: refit it if it fails.",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        doc = cls.__dict__.get("__doc__")
        if doc and "missing_values :" not in doc:
            note = textwrap.fill(cls._range_note, 76)
            params = SHARED_PARAMETERS_DOC + textwrap.indent(note, " " * 4) + "\n"
            doc = _append_to_section(doc, "Parameters", params)
            cls.__doc__ = _append_to_section(doc, "Attributes", SHARED_ATTRIBUTES_DOC)

    #: rows encoded, imputed and assembled at a time by ``transform`` and ``sample``;
    #: it bounds the memory of the column codes, the model view and the model's
    #: tensors whatever the number of rows. A multiple of the deep imputers'
    #: ``_inference_batch_size``, so their forward passes see the same batches as in
    #: one pass over all rows and ``transform`` returns the same bits. A class
    #: attribute rather than an ``__init__`` parameter: it is no modelling choice.
    _transform_chunk_rows = 65536

    # ------------------------------------------------------------ sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the imputer on ``X``; NaN (or None / pd.NA) marks missing entries.

        Parameters
        ----------
        X : DataFrame, dask DataFrame or array-like of shape (n_samples, n_features)
            Training data with missing values. A Dask DataFrame is never collected:
            see ``deepimpute._dask.fit_dask`` for what each method does with it.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        self._check_renamed()
        if is_dask_frame(X):  # out-of-core: statistics and batches from Dask
            return _dask.fit_dask(self, X)
        self._fit_input(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its imputation.

        Equal to ``fit(X).transform(X)`` unless the method's fit already produces
        an imputation of its training rows (MissForest's final round, MICE's pooled
        chains, RVI's learned posteriors), which is then returned directly.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training data with missing values.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        X_imputed : DataFrame or ndarray of shape (n_samples, n_features)
            Same type as :meth:`transform`'s output.
        """
        if is_dask_frame(X):  # lazy: fit from the partitions, then transform them
            return self.fit(X).transform(X)
        self._check_renamed()
        X, restore, missing, Xk, C, data, fitted = self._fit_input(X)
        if not np.isnan(C).any():
            out = self.encoder_.assemble(Xk, C, C)
        else:
            C_imp = self._checked(C, self._training_imputation(C, data, fitted))
            out = self.encoder_.assemble(Xk, C, C_imp)
        return self._finish(X, out, restore, missing)

    def _fit_input(self, X):
        """Validate, fit the encoder and the method; return what fit_transform needs:
        the validated input, its dtype restorations and missing mask, the columns the
        encoder sees, their codes and model view, and the fit's own imputation."""
        X, restore = self._prepare_input(X, reset=True)
        spec = self.column_spec if self.column_spec is not None else ColumnSpec.infer(X)
        # a frame's own labels, whatever their type (sklearn keeps only str ones)
        names = (
            list(X.columns)
            if isinstance(X, pd.DataFrame)
            else getattr(self, "feature_names_in_", None)
        )
        self.spec_ = spec
        missing = _missing_mask(X)
        self.indicator_ = (
            MissingIndicator(error_on_new=False).fit(_as_nan(missing))
            if self.add_indicator
            else None
        )
        positions = spec.positions(names, X.shape[1])
        self._empty_ = _empty_attributes(missing, positions)
        keep = ~self._empty_
        if not keep.any():
            raise ValueError(
                "Every column of X is entirely missing at fit time; there is nothing "
                "to learn an imputation from."
            )
        if self.keep_empty_features:  # fail at fit, not at transform
            for j in np.flatnonzero(self._empty_):
                _fill_empty(_column(X, j), self._label(j))
        Xk = self._kept_columns(X)
        spec_k = _restrict_spec(spec, positions, keep, positional=names is None)
        names_k = None if names is None else np.asarray(names, dtype=object)[keep]
        self.encoder_ = TableEncoder(spec_k, self.handle_unknown).fit(Xk, names_k)
        C, data = self.encoder_.encode(Xk)
        self._fit_bounds(C)
        self.seed_ = seed_from(self.random_state)
        fitted = self._fit(C, data, self.seed_)
        return X, restore, missing, Xk, C, data, fitted

    def transform(self, X):
        """Impute the missing entries of ``X``.

        The point imputation is deterministic for a fitted imputer and does not
        depend on which other rows are transformed with a row, up to float
        rounding: the deep models compute in float32, whose matrix products round
        differently for batches of different sizes, so a numerical imputation of a
        row transformed alone may differ from the same row's in a larger batch by
        at most ``1e-5`` times the column's training standard deviation (tested
        for every imputer in ``tests/test_field_reliability.py``). A
        categorical imputation can differ only where two categories tie to within
        that precision. (``SklearnImputerAdapter`` is as row-independent as the
        imputer it wraps: ``KNNImputer`` breaks distance ties batch-dependently.)
        Observed entries are returned unchanged and ``X`` is not modified. Large
        inputs are encoded and imputed in chunks of rows, so the intermediate
        encodings take memory bounded by the chunk size, not by the number of rows.

        Parameters
        ----------
        X : DataFrame, dask DataFrame or array-like of shape (n_samples, n_features)
            A Dask DataFrame gives a lazy Dask DataFrame, imputed partition by
            partition (same rows as the in-memory transform, up to float rounding).

        Returns
        -------
        X_imputed : DataFrame or ndarray of shape (n_samples, n_features)
            Same type, columns, index and dtypes as ``X`` (a float array for
            array input); columns entirely missing at fit are left out unless
            ``keep_empty_features``, and ``add_indicator`` appends the indicator's
            boolean columns (see :meth:`get_feature_names_out`).
            Categorical cells get only categories observed at fit
            (declared but unused pandas categories stay in the dtype, never in a
            cell); integer columns (numpy or nullable) get integers within the
            range observed at fit; dates, durations and periods come back in their
            dtype (and time zone); every imputed number is finite.
        """
        check_is_fitted(self)
        if is_dask_frame(X):  # lazy, partition by partition (deepimpute._dask)
            return _dask.transform_dask(self, X)
        X, restore = self._prepare_input(X, reset=False)
        missing = _missing_mask(X) if self.add_indicator else None
        Xk = self._kept_columns(X)
        out = _concat_rows([self._transform_chunk(part) for part in self._chunks(Xk)])
        return self._finish(X, out, restore, missing)

    def sample(self, X, n_draws: int = 5, random_state=None) -> list:
        """Multiple imputation: ``n_draws`` completed copies of ``X``.

        Each copy holds an independent draw of the missing values from the fitted
        model; observed entries are identical in every copy.

        With a fixed ``random_state`` the draws are reproducible for the same ``X``.
        Unlike :meth:`transform`, a row's draws may depend on the other rows of
        ``X`` (the samplers draw noise in sequence over the rows). Inputs longer than
        ``_transform_chunk_rows`` rows are drawn chunk by chunk, the first chunk
        with the seed of ``random_state`` and each later one with its own seed
        derived from it, so chunks do not share noise; those draws differ from
        what one pass over all rows would give.

        Parameters
        ----------
        X : DataFrame, dask DataFrame or array-like of shape (n_samples, n_features)
            A Dask DataFrame gives ``n_draws`` lazy Dask DataFrames; each partition
            draws with its own seed derived from ``random_state``.
        n_draws : int, default=5
            Number of completed datasets.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws (``None``: fresh randomness).

        Returns
        -------
        list of DataFrame or ndarray
            ``n_draws`` completed datasets of the same type as :meth:`transform`'s.
        """
        check_is_fitted(self)
        if is_dask_frame(X):  # one lazy Dask DataFrame per draw (deepimpute._dask)
            return _dask.sample_dask(self, X, n_draws, random_state)
        if not isinstance(n_draws, Integral) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
        X, restore = self._prepare_input(X, reset=False)
        missing = _missing_mask(X) if self.add_indicator else None
        seed = seed_from(random_state)
        per_chunk = [  # per chunk: its n_draws completed pieces
            self._sample_chunk(part, int(n_draws), _chunk_seed(seed, k))
            for k, part in enumerate(self._chunks(self._kept_columns(X)))
        ]
        return [
            self._finish(X, _concat_rows(list(pieces)), restore, missing)
            for pieces in zip(*per_chunk, strict=True)
        ]

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input's (less the columns entirely missing at
        fit, unless ``keep_empty_features``), then the indicator's
        ``missingindicator_<name>`` with ``add_indicator``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; checked against ``feature_names_in_`` if set.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        out = names if self.keep_empty_features else names[~self._empty_]
        if self.indicator_ is not None:
            out = np.concatenate([out, self.indicator_.get_feature_names_out(names)])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------ renamed parameters
    def _check_renamed(self) -> None:
        """Warn for each deprecated alias set; refuse an alias set with its new name."""
        defaults = inspect.signature(type(self).__init__).parameters
        for old, new in self._renamed.items():
            value = getattr(self, old)
            if isinstance(value, str) and value == DEPRECATED:
                continue
            if _differs(getattr(self, new), defaults[new].default):
                raise ValueError(
                    f"{type(self).__name__}: set {new!r} only; {old!r} is its "
                    f"deprecated old name (got {old}={value!r} and "
                    f"{new}={getattr(self, new)!r})."
                )
            warnings.warn(
                f"{old!r} was renamed {new!r} in {RENAMED_IN} and will be removed in "
                f"{REMOVED_IN}; use {new}={value!r}.",
                FutureWarning,
                stacklevel=4,
            )

    def _param(self, name: str):
        """The value of parameter ``name``, or of its deprecated old name if set."""
        for old, new in self._renamed.items():
            if new == name:
                value = getattr(self, old)
                if not (isinstance(value, str) and value == DEPRECATED):
                    return value
        return getattr(self, name)

    # ------------------------------------------------------- subclass hooks
    def _fit(self, C: np.ndarray, data: EncodedTable, seed: int) -> np.ndarray | None:
        """Fit the method; may return the training rows' imputed column codes."""
        raise NotImplementedError

    def _training_imputation(
        self, C: np.ndarray, data: EncodedTable, fitted: np.ndarray | None
    ) -> np.ndarray:
        """Imputed codes of the training rows: what ``_fit`` returned, else
        the regular imputation."""
        return fitted if fitted is not None else self._impute(C, data)

    def _impute(self, C: np.ndarray, data: EncodedTable) -> np.ndarray:
        raise NotImplementedError

    def _sample(
        self, C: np.ndarray, data: EncodedTable, n_draws: int, seed: int
    ) -> list[np.ndarray]:
        raise NotImplementedError(
            f"{type(self).__name__} gives a single imputation; it has no sampler."
        )

    # -------------------------------------------------------------- helpers
    def _chunks(self, X):
        """Consecutive row slices (views) of ``X`` of ``_transform_chunk_rows``."""
        step = int(self._transform_chunk_rows)
        rows = X.iloc if isinstance(X, pd.DataFrame) else X
        for start in range(0, X.shape[0], step):
            yield rows[start : start + step]

    def _transform_chunk(self, X):
        """``transform`` of one chunk of validated rows."""
        C, data = self.encoder_.encode(X)
        if not np.isnan(C).any():
            return self.encoder_.assemble(X, C, C)
        C_imp = self._checked(C, self._impute(C, data))
        return self.encoder_.assemble(X, C, C_imp)

    def _sample_chunk(self, X, n_draws: int, seed: int) -> list:
        """``sample`` of one chunk of validated rows: ``n_draws`` completed pieces."""
        C, data = self.encoder_.encode(X)
        if not np.isnan(C).any():
            return [self.encoder_.assemble(X, C, C) for _ in range(n_draws)]
        out = []
        for C_imp in self._sample(C, data, n_draws, seed):
            out.append(self.encoder_.assemble(X, C, self._checked(C, C_imp)))
        return out

    def _validate_input(self, X, *, reset: bool):
        # A DataFrame keeps its type whatever its column labels (sklearn only skips
        # ``feature_names_in_`` for non-str labels); the fit's labels are kept in
        # ``_frame_columns_`` (None after a fit on an array).
        if isinstance(X, pd.DataFrame):
            _check_frame_columns(X)
        if reset:  # "fitted on a frame": its labels and dtypes, whatever they are
            frame = isinstance(X, pd.DataFrame)
            self._frame_columns_ = list(X.columns) if frame else None
            self._frame_dtypes_ = list(X.dtypes) if frame else None
        fitted_columns = None if reset else getattr(self, "_frame_columns_", None)
        if isinstance(X, pd.DataFrame) and (reset or fitted_columns is not None):
            str_labels = all(isinstance(c, str) for c in X.columns)
            if not reset and not (str_labels and hasattr(self, "feature_names_in_")):
                # labels sklearn does not check (non-str, mixed, or a str frame
                # for an imputer fitted on non-str labels): compared by position
                self._check_columns_match(X, fitted_columns)
            # sklearn refuses labels of mixed types; those are checked above
            validate_data(
                self, _sklearn_view(X), skip_check_array=True, reset=reset
            )
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
                self._check_array_allowed(fitted_columns)
        if not isinstance(X, pd.DataFrame):
            j = _first_complex_column(X)
            if j is not None:
                raise ValueError(
                    f"Complex data not supported: column {j} holds complex numbers, "
                    "which no imputer models; split it into its real and imaginary "
                    "parts."
                )
        spec = self.column_spec if reset else self.spec_
        numeric = spec is None or all(k == "numerical" for k in spec.kinds)
        dtype = FLOAT_DTYPES if numeric else None
        try:
            return validate_data(
                self,
                X,
                reset=reset,
                dtype=dtype,
                ensure_all_finite=False,
                ensure_min_samples=2 if reset else 1,
                copy=False,
            )
        except ValueError as exc:
            bad = _first_non_numeric_column(X) if numeric else None
            if bad is not None and isinstance(bad[1], str):
                raise ValueError(
                    f"Column {bad[0]} holds the non-numeric value {bad[1]!r}; pass a "
                    "DataFrame with that column as a string/category dtype, or a "
                    "column_spec declaring it Categorical."
                ) from exc
            raise

    def _check_columns_match(self, X: pd.DataFrame, fitted: list) -> None:
        """A frame at transform has the fit's columns, by position."""
        name = type(self).__name__
        if X.shape[1] != len(fitted):
            raise ValueError(
                f"X has {X.shape[1]} features, but {name} is expecting "
                f"{len(fitted)} features as input (columns at fit: "
                f"{_preview(fitted)})."
            )
        for j, (now, then) in enumerate(zip(X.columns, fitted, strict=True)):
            if not _same_label(now, then):
                raise ValueError(
                    f"X's column {j} is {now!r}, but {name} was fitted with "
                    f"{then!r} there; pass the columns of fit in the same order "
                    f"({_preview(fitted)})."
                )

    def _check_array_allowed(self, fitted: list) -> None:
        """An array fits an imputer fitted on a frame only if every column was a
        plain number (otherwise its values cannot be told apart from codes)."""
        for label, dtype in zip(fitted, self._frame_dtypes_, strict=True):
            plain = pd.api.types.is_numeric_dtype(dtype) and not (
                pd.api.types.is_bool_dtype(dtype)
            )
            if not plain:
                raise ValueError(
                    f"{type(self).__name__} was fitted on a DataFrame whose column "
                    f"{label!r} is {dtype}; an array cannot carry that column. Pass "
                    "a DataFrame with the same columns as at fit."
                )

    def _check_finite(self, C_imp: np.ndarray) -> None:
        if not np.all(np.isfinite(C_imp)):
            raise FloatingPointError(
                f"{type(self).__name__} produced non-finite imputations; the model "
                "diverged (try a lower learning_rate or more regularisation)."
            )

    # ------------------------------------- sklearn's imputer parameters, bounds
    def _prepare_input(self, X, *, reset: bool):
        """Validated ``X`` with every ``missing_values`` entry turned into a missing
        value; also the dtypes to give back to the columns that changed dtype for
        it (a numpy integer column holding -1 for missing becomes nullable Int64
        and returns as int64), by column position."""
        marker = self.missing_values
        if _is_na_marker(marker):
            return self._validate_input(X, reset=reset), {}
        was_frame = isinstance(X, pd.DataFrame)
        if not was_frame:  # before validation: "" or "?" would not pass as floats
            X = _mark_array(X, marker)
        X = self._validate_input(X, reset=reset)
        if isinstance(X, pd.DataFrame):
            return _mark_frame(X, marker)
        return (_mark_array(X, marker) if was_frame else X), {}

    def _label(self, j: int):
        names = getattr(self, "feature_names_in_", None)
        return names[j] if names is not None else j

    def _kept_columns(self, X):
        """``X`` without the columns entirely missing at fit (the encoder's view)."""
        if not self._empty_.any():
            return X
        keep = np.flatnonzero(~self._empty_)
        return X.iloc[:, keep] if isinstance(X, pd.DataFrame) else X[:, keep]

    def _finish(self, X, out, restore: dict, missing):
        """From the encoder's columns to the output: empty columns put back (with
        ``keep_empty_features``), dtypes restored, indicator columns appended."""
        shown = np.ones(X.shape[1], dtype=bool)
        if self._empty_.any():
            if self.keep_empty_features:
                out = self._with_empty_columns(X, out)
            else:
                shown = ~self._empty_
        if restore:
            where = np.cumsum(shown) - 1  # column position in the output
            for j, dtype in restore.items():
                if shown[j]:
                    col = out.iloc[:, where[j]].to_numpy(dtype=dtype)
                    out.isetitem(int(where[j]), col)
        if self.indicator_ is None:
            return out
        flags = self.indicator_.transform(_as_nan(missing))
        if not isinstance(out, pd.DataFrame):
            return np.hstack([out, flags])
        labels = [str(c) for c in X.columns]
        names = self.indicator_.get_feature_names_out(labels)
        flags = pd.DataFrame(flags, index=out.index, columns=names)
        return pd.concat([out, flags], axis=1)

    def _with_empty_columns(self, X, out):
        """Full-width output: imputed columns from ``out``, the empty-at-fit ones
        from ``X`` with their missing entries set to 0."""
        keep = np.flatnonzero(~self._empty_)
        if isinstance(X, pd.DataFrame):
            res = X.copy()
            for k, j in enumerate(keep):
                res.isetitem(int(j), out.iloc[:, k].array)
            for j in np.flatnonzero(self._empty_):
                res.isetitem(int(j), _fill_empty(X.iloc[:, j], self._label(j)).array)
            return res
        res = np.empty(X.shape, dtype=np.result_type(out.dtype, X.dtype))
        res[:, keep] = out
        for j in np.flatnonzero(self._empty_):
            res[:, j] = _fill_empty(X[:, j], self._label(j))
        return res

    def _fit_bounds(self, C: np.ndarray) -> None:
        """``min_value`` / ``max_value`` and the observed range of every numerical
        column, in column codes (once, at fit)."""
        p = self.n_features_in_
        low = _bound(self.min_value, p, -np.inf, "min_value")
        high = _bound(self.max_value, p, np.inf, "max_value")
        if np.any(low > high):
            j = int(np.flatnonzero(low > high)[0])
            raise ValueError(
                f"min_value ({low[j]}) is above max_value ({high[j]}) for column "
                f"{self._label(j)!r}."
            )
        keep = ~self._empty_
        low, high = low[keep], high[keep]
        enc = self.encoder_
        enc.bound(low, high)  # exact, in the caller's units, after decoding
        q = C.shape[1]
        self._code_low_, self._code_high_ = np.full(q, -np.inf), np.full(q, np.inf)
        self._observed_low_, self._observed_high_ = np.full(q, -np.inf), np.full(
            q, np.inf
        )
        for lay, pos in zip(enc.layout.attributes, enc.positions, strict=True):
            if lay.kind != "numerical":
                continue
            j = int(pos[0])
            loc, scale = enc.loc[j], enc.scale[j]
            self._code_low_[j] = _code_bound(low[j], loc, scale, upper=False)
            self._code_high_[j] = _code_bound(high[j], loc, scale, upper=True)
            obs = C[~np.isnan(C[:, j]), j]
            self._observed_low_[j], self._observed_high_[j] = obs.min(), obs.max()

    def _checked(self, C: np.ndarray, C_imp: np.ndarray) -> np.ndarray:
        """Imputed codes, finite, clipped to the bounds, and not wildly outside the
        observed range of any numerical column (else the fit diverged)."""
        self._check_finite(C_imp)
        C_imp = np.clip(C_imp, self._code_low_, self._code_high_)
        lo, hi = self._observed_low_, self._observed_high_
        span = np.maximum(hi - lo, 1.0)  # codes: one unit is one standard deviation
        with np.errstate(invalid="ignore"):  # inf - inf of non-numerical columns
            away = np.where(np.isnan(C), np.maximum(lo - C_imp, C_imp - hi), 0) / span
        away = np.nan_to_num(away, nan=0.0, posinf=0.0, neginf=0.0)
        if away.max(initial=0.0) <= RANGE_FACTOR:
            return C_imp
        i, j = np.unravel_index(np.argmax(away), away.shape)
        enc = self.encoder_
        value, lo_v, hi_v = (
            c * enc.scale[j] + enc.loc[j] for c in (C_imp[i, j], lo[j], hi[j])
        )
        label = self._label(int(np.flatnonzero(~self._empty_)[j]))
        remedy = (
            "lower learning_rate, or bound"
            if hasattr(self, "learning_rate")
            else "bound"
        )
        raise FloatingPointError(
            f"{type(self).__name__} imputed {value:.4g} in column {label!r}, whose "
            f"observed values lie in [{lo_v:.4g}, {hi_v:.4g}]: {away[i, j]:.3g} times "
            f"that range away: the model diverged or extrapolates far beyond its "
            f"data; {remedy} the imputations "
            "with min_value / max_value."
        )


def _differs(value, default) -> bool:
    """Whether a parameter's value is not its default (by identity or equality)."""
    if value is default:
        return False
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. an array compared element-wise
        return True


def _append_to_section(doc: str, section: str, text: str) -> str:
    """Insert ``text`` (numpydoc entries) at the end of ``section`` of ``doc``."""
    head = re.search(rf"^( *){section}\n *-+\n", doc, flags=re.M)
    if head is None:
        return doc
    indent = head.group(1)
    after = doc[head.end() :]
    nxt = re.search(r"\n\n *\w[\w ]*\n *-{3,}\n", after)
    end = head.end() + (nxt.start() if nxt else len(after.rstrip()))
    block = "".join(indent + line if line else line for line in text.splitlines(True))
    return doc[:end] + "\n" + block.rstrip("\n") + doc[end:]


def _is_na_marker(value) -> bool:
    """Whether ``missing_values`` is one of the markers always taken as missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, Real) and not isinstance(value, bool) and math.isnan(value)


def _hits(values: np.ndarray, marker) -> np.ndarray:
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


def _mark_array(X, marker):
    """A copy of array-like ``X`` with NaN where it holds ``marker`` (``X`` itself
    when it holds none; sparse input is left to validation, which refuses it)."""
    if sp.issparse(X) or isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    hits = _hits(arr, marker)
    if not hits.any():
        return X
    out = arr.astype(np.float64 if arr.dtype.kind in "biuf" else object)
    out[hits] = np.nan
    return out


def _mark_frame(X: pd.DataFrame, marker):
    """``X`` with ``marker`` entries missing (changed columns only are copied), and
    the numpy dtypes of the columns made nullable for it, by position."""
    restore: dict[int, object] = {}
    out = X
    for j in range(X.shape[1]):
        s = X.iloc[:, j]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            values = s.to_numpy()  # the fast path of _hits
        elif pd.api.types.is_numeric_dtype(s.dtype) and not (
            pd.api.types.is_bool_dtype(s.dtype)
        ):
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = s.astype(object).to_numpy()
        hits = _hits(values, marker)
        if not hits.any():
            continue
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biu":
            restore[j] = s.dtype  # holes need a nullable dtype until imputed
            s = s.astype(_nullable(s.dtype))
        if out is X:
            out = X.copy(deep=False)
        out.isetitem(j, s.mask(hits).array)
    return out, restore


def _nullable(dtype: np.dtype) -> str:
    if dtype.kind == "b":
        return "boolean"
    return f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}"


def _missing_mask(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return X.isna().to_numpy(dtype=bool)
    arr = np.asarray(X)
    return np.isnan(arr) if arr.dtype.kind == "f" else np.asarray(pd.isna(arr))


def _as_nan(missing: np.ndarray) -> np.ndarray:
    """The missing mask as the float table the MissingIndicator reads."""
    return np.where(missing, np.nan, 0.0)


def _empty_attributes(missing: np.ndarray, positions) -> np.ndarray:
    """Per column: does it belong to an attribute entirely missing (every column of
    an image; a single column otherwise)?"""
    empty = np.zeros(missing.shape[1], dtype=bool)
    col_empty = missing.all(axis=0)
    for pos in positions:
        if col_empty[pos].all():
            empty[pos] = True
    return empty


def _restrict_spec(spec: ColumnSpec, positions, keep: np.ndarray, positional: bool):
    """``spec`` less its empty attributes; positional columns renumbered."""
    if keep.all():
        return spec
    new = np.cumsum(keep) - 1
    attrs = []
    for attr, pos in zip(spec, positions, strict=True):
        if not keep[pos].all():
            continue
        if positional and isinstance(attr, Image):
            attr = replace(attr, columns=tuple(int(new[j]) for j in pos))
        elif positional:
            attr = replace(attr, column=int(new[pos[0]]))
        attrs.append(attr)
    return ColumnSpec(attrs)


def _column(X, j: int):
    return X.iloc[:, j] if isinstance(X, pd.DataFrame) else X[:, j]


def _fill_empty(col, label):
    """A column empty at fit, its missing entries set to 0 (``keep_empty_features``;
    scikit-learn's constant), same dtype."""
    if not isinstance(col, pd.Series):
        col = np.asarray(col)
        if col.dtype.kind == "f":
            return np.where(np.isnan(col), 0.0, col)
        return np.where(np.asarray(pd.isna(col)), 0, col)
    try:
        out = col.fillna(0)
        ok = out.dtype == col.dtype
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"Column {label!r} is entirely missing at fit time, and "
            f"keep_empty_features=True fills such a column with 0, which its dtype "
            f"{col.dtype} cannot hold. Drop the column, or keep_empty_features=False."
        )
    return out


def _bound(value, p: int, default: float, name: str) -> np.ndarray:
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


def _code_bound(bound: float, loc: float, scale: float, upper: bool) -> float:
    """``bound`` in column codes, nudged so that decoding stays on its side of it."""
    if not np.isfinite(bound):
        return bound
    code = (bound - loc) / scale
    toward = -np.inf if upper else np.inf
    for _ in range(4):  # a few ulps at most
        value = code * scale + loc
        if (value <= bound) if upper else (value >= bound):
            break
        code = np.nextafter(code, toward)
    return code


def _concat_rows(pieces: list):
    """Stack assembled row chunks; a single chunk is returned as it is."""
    if len(pieces) == 1:
        return pieces[0]
    if isinstance(pieces[0], pd.DataFrame):
        # every piece has the input's columns and dtypes, so concat keeps them
        return pd.concat(pieces, axis=0)
    return np.concatenate(pieces, axis=0)


def _chunk_seed(seed: int, k: int) -> int:
    """Seed of chunk ``k`` of a ``sample`` call.

    The first chunk keeps ``seed``, so an input of one chunk draws exactly as
    before chunking; later chunks get a seed derived from ``(seed, k)`` so that no
    two chunks share noise (``seed + k`` would not do: the deep samplers seed draw
    ``d`` with ``seed + d``, so chunk ``k`` would replay draw ``d + k`` of chunk 0).
    """
    if k == 0:
        return seed
    return int(np.random.default_rng([seed, k]).integers(2**31 - 1))


def _check_frame_columns(X: pd.DataFrame) -> None:
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


def _sklearn_view(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` as scikit-learn's feature-name checks accept it: labels of mixed types
    (which sklearn refuses) are replaced by positions, a lazy copy under pandas'
    copy-on-write."""
    kinds = {isinstance(c, str) for c in X.columns}
    if len(kinds) > 1:
        return X.set_axis(pd.RangeIndex(X.shape[1]), axis=1)
    return X


def _same_label(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _preview(labels: list) -> str:
    head = ", ".join(repr(c) for c in labels[:5])
    return f"[{head}{', ...' if len(labels) > 5 else ''}]"


def _first_complex_column(X) -> int | None:
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

def _first_non_numeric_column(X):
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


class BaseDeepImputer(BaseImputer):
    """Contract of the torch imputers: device, seeding, training loop, pickling.

    Subclasses implement ``_build_module(layout, n_rows) -> ImputationModule``.
    """

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "device": [str],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "callback": [callable, None],
    }

    #: rows per forward pass at transform time
    _inference_batch_size = 1024
    #: ``max_iter="auto"``: epochs for about this many optimiser steps, within
    #: these bounds (a 300-row table gets many epochs, a 300,000-row one a few)
    _auto_steps = 20_000
    _auto_epochs = (10, 1000)

    def _build_module(self, layout: ModelLayout, n_rows: int) -> ImputationModule:
        raise NotImplementedError

    def _resolve_max_iter(self, n_rows: int) -> int:
        """``max_iter_``: ``max_iter``, or the epochs ``"auto"`` gives ``n_rows``.

        ``"auto"`` counts the steps of an epoch over the training share (without
        the validation rows) and takes ``ceil(_auto_steps / steps)`` epochs,
        clipped to ``_auto_epochs``; early stopping may end training sooner.
        """
        if self.max_iter != "auto":
            return int(self.max_iter)
        n_train = max(1, n_rows - int(round(self.validation_fraction * n_rows)))
        steps = math.ceil(n_train / self.batch_size)
        low, high = self._auto_epochs
        return int(min(high, max(low, math.ceil(self._auto_steps / steps))))

    def _fit(self, C, data, seed):
        device = resolve_device(self.device)
        self.device_ = str(device)
        # ``data`` is the model view in memory, or batches streamed from a Dask
        # DataFrame's partitions (deepimpute._dask.fit_dask)
        tensors = data if isinstance(data, BatchStream) else table_tensors(data)
        self.max_iter_ = self._resolve_max_iter(data.n_rows)
        with seeded(seed, device):
            # built on the CPU whatever torch's default device is (same initial
            # weights on every device); train() moves it to ``device``
            with torch.device("cpu"):
                self.module_ = self._build_module(self.encoder_.layout, data.n_rows)
            callback = None
            if self.callback is not None:

                def callback(epoch, record):
                    return self.callback(self, record)

            self.history_ = train(
                self.module_,
                tensors,
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
            self._after_training(tensors, device)
        self.n_iter_ = len(self.history_)

    def _after_training(self, tensors, device: torch.device) -> None:
        """A stage after training on the same batches (RVI fits its guide here)."""

    def _batches(self, data: EncodedTable):
        tensors = table_tensors(data)
        rows = torch.arange(data.n_rows, device="cpu")
        return iterate_batches(
            tensors,
            rows,
            self._inference_batch_size,
            shuffle=False,
            device=torch.device(self.device_),
            min_batch=1,
        )

    def _run(self, fn, data: EncodedTable, seed: int, reseed_each_batch: bool):
        self.module_.eval()
        outs = []
        with _named_errors(type(self).__name__), torch.no_grad(), seeded(
            seed, self.device_
        ):
            for k, batch in enumerate(self._batches(data)):
                if reseed_each_batch:
                    # common random numbers: every batch sees the same noise stream,
                    # so a row's imputation does not depend on its batch-mates
                    torch.manual_seed(seed)
                elif k == 0:
                    torch.manual_seed(seed)
                out = fn(batch).detach()
                out = out if out.dtype == torch.float64 else out.float()
                outs.append(out.cpu().numpy())
        return np.concatenate(outs, axis=0)

    def _impute(self, C, data):
        values = self._run(self.module_.impute, data, self.seed_, True)
        return self._merge(C, values)

    def _sample(self, C, data, n_draws, seed):
        draws = []
        for d in range(n_draws):
            values = self._run(self.module_.sample, data, seed + d, False)
            draws.append(self._merge(C, values))
        return draws

    def _merge(self, C, values):
        C_model = self.encoder_.from_model(values)
        return np.where(np.isnan(C), C_model, C)

    # ------------------------------------------------------- device-safe pickle
    def __getstate__(self):
        state = super().__getstate__()
        module = state.get("module_")
        if module is not None and self.device_ != "cpu":
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        module = self.__dict__.get("module_")
        if module is None:
            return
        wanted = torch.device(self.device_)
        if wanted.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"{type(self).__name__} was fitted on {self.device_}, which is not "
                "available here; it was loaded on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            self.device_ = "cpu"
            wanted = torch.device("cpu")
        self.module_ = module.to(wanted)


@contextmanager
def _named_errors(name: str):
    """Prefix a model's divergence error at transform time with the imputer's name."""
    try:
        yield
    except FloatingPointError as exc:
        raise FloatingPointError(f"{name}: {exc}.") from exc
