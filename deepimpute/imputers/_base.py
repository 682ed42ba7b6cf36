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
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from .._data import EncodedTable, TableEncoder
from .._utils.sklearn_compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
)
from .._utils.torch_utils import resolve_device, seed_from, seeded
from ..schema import ColumnSpec, ModelLayout
from ..training import ImputationModule, iterate_batches, train

__all__ = ["BaseDeepImputer", "BaseImputer"]


class BaseImputer(TransformerMixin, BaseEstimator):
    """Contract of all deepimpute imputers (not used directly).

    Subclasses implement ``_fit(C, data, seed)`` and ``_impute(C, data)`` (and
    optionally ``_sample``) on column codes ``C`` (float64, NaN = missing; numerical
    standardised, categorical as codes, images in [0, 1]) and on the model view
    ``data`` (:class:`~deepimpute._data.EncodedTable`).
    """

    _parameter_constraints: dict = {
        "column_spec": [ColumnSpec, None],
        "handle_unknown": [StrOptions({"error", "missing"})],
        "random_state": ["random_state"],
    }

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
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training data with missing values.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
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
        X, C, data, fitted = self._fit_input(X)
        if not np.isnan(C).any():
            return self.encoder_.assemble(X, C, C)
        C_imp = self._training_imputation(C, data, fitted)
        self._check_finite(C_imp)
        return self.encoder_.assemble(X, C, C_imp)

    def _fit_input(self, X):
        """Validate, fit the encoder and the method; return what fit_transform needs."""
        X = self._validate_input(X, reset=True)
        spec = self.column_spec if self.column_spec is not None else ColumnSpec.infer(X)
        # a frame's own labels, whatever their type (sklearn keeps only str ones)
        names = (
            list(X.columns)
            if isinstance(X, pd.DataFrame)
            else getattr(self, "feature_names_in_", None)
        )
        self.spec_ = spec
        self.encoder_ = TableEncoder(spec, self.handle_unknown).fit(X, names)
        C, data = self.encoder_.encode(X)
        self.seed_ = seed_from(self.random_state)
        fitted = self._fit(C, data, self.seed_)
        return X, C, data, fitted

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
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        X_imputed : DataFrame or ndarray of shape (n_samples, n_features)
            Same type, columns, index and dtypes as ``X`` (a float array for
            array input). Categorical cells get only categories observed at fit
            (declared but unused pandas categories stay in the dtype, never in a
            cell); integer columns (numpy or nullable) get integers within the
            range observed at fit; dates, durations and periods come back in their
            dtype (and time zone); every imputed number is finite.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return _concat_rows([self._transform_chunk(part) for part in self._chunks(X)])

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
        X : DataFrame or array-like of shape (n_samples, n_features)
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
        if not isinstance(n_draws, Integral) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
        X = self._validate_input(X, reset=False)
        seed = seed_from(random_state)
        per_chunk = [  # per chunk: its n_draws completed pieces
            self._sample_chunk(part, int(n_draws), _chunk_seed(seed, k))
            for k, part in enumerate(self._chunks(X))
        ]
        return [_concat_rows(list(pieces)) for pieces in zip(*per_chunk, strict=True)]

    def get_feature_names_out(self, input_features=None):
        """Output feature names (the input's: imputation keeps every column).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; checked against ``feature_names_in_`` if set.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

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
        C_imp = self._impute(C, data)
        self._check_finite(C_imp)
        return self.encoder_.assemble(X, C, C_imp)

    def _sample_chunk(self, X, n_draws: int, seed: int) -> list:
        """``sample`` of one chunk of validated rows: ``n_draws`` completed pieces."""
        C, data = self.encoder_.encode(X)
        if not np.isnan(C).any():
            return [self.encoder_.assemble(X, C, C) for _ in range(n_draws)]
        out = []
        for C_imp in self._sample(C, data, n_draws, seed):
            self._check_finite(C_imp)
            out.append(self.encoder_.assemble(X, C, C_imp))
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
        "max_iter": [Interval(Integral, 1, None, closed="left")],
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

    def _build_module(self, layout: ModelLayout, n_rows: int) -> ImputationModule:
        raise NotImplementedError

    def _fit(self, C, data, seed):
        device = resolve_device(self.device)
        self.device_ = str(device)
        tensors = _to_tensors(data)
        with seeded(seed, device):
            self.module_ = self._build_module(self.encoder_.layout, data.n_rows)
            callback = None
            if self.callback is not None:

                def callback(epoch, record):
                    return self.callback(self, record)

            self.history_ = train(
                self.module_,
                tensors,
                max_iter=self.max_iter,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                device=device,
                validation_fraction=self.validation_fraction,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                verbose=self.verbose,
                callback=callback,
            )
        self.n_iter_ = len(self.history_)

    def _batches(self, data: EncodedTable):
        tensors = _to_tensors(data)
        rows = torch.arange(data.n_rows)
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
        with torch.no_grad(), seeded(seed, self.device_):
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


def _to_tensors(data: EncodedTable) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(data.values),
        torch.from_numpy(data.observed),
        torch.from_numpy(data.attr_observed),
    )
