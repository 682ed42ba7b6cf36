"""The imputer contract shared by every estimator of the package: the template.

:class:`BaseImputer` runs, once for every imputer, the steps around a method's own
model: the input checked (``deepimpute._utils.validation``) and its
``missing_values`` marked, columns entirely missing at fit set aside
(``_utils.empty_columns``), the :class:`~deepimpute.schema.ColumnSpec` and its
encoder fitted (``deepimpute._data``), the rows imputed in chunks
(``_utils.chunks``), the imputations checked against the encoder's bounds, and the
output assembled (observed entries untouched, caller's type and dtypes kept, the
``add_indicator`` columns). A Dask DataFrame takes the same steps from its
partitions (``deepimpute._dask``). A method implements ``_fit``, ``_impute`` and
optionally ``_sample`` on column codes; the torch methods subclass
:class:`~deepimpute.imputers._deep.BaseDeepImputer` instead.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils.validation import check_is_fitted

from .. import _dask
from .._data import EncodedTable, TableEncoder
from .._utils import empty_columns, params
from .._utils.chunks import chunk_seed, concat_rows, row_chunks
from .._utils.sklearn_compat import (
    Interval,
    MissingValues,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    _get_output_config,
)
from .._utils.torch_utils import seed_from
from .._utils.validation import (
    as_nan,
    is_na_marker,
    is_polars,
    missing_mask,
    per_column,
    prepare_input,
    restored,
    to_polars,
)
from .._version import __version__
from ..schema import ColumnSpec

__all__ = ["BaseImputer", "RANGE_FACTOR"]

#: an imputation this many times the observed range (at least one standard
#: deviation) outside a numerical column's observed values means the fit diverged;
#: healthy runs on the benchmark tables reach 1.0 at most (MICE's draws; deep
#: models below 0.1; benchmarks/divergence.py)
RANGE_FACTOR = 100.0


class BaseImputer(TransformerMixin, BaseEstimator):
    """Contract of all deepimpute imputers (not used directly).

    Subclasses implement ``_fit(C, data, seed)`` and ``_impute(C, data)`` (and
    optionally ``_sample``) on column codes ``C`` (float64, NaN = missing; numerical
    standardised, categorical as codes, images in [0, 1]) and on the model view
    ``data`` (``deepimpute._data.EncodedTable``).

    Around them it handles, once for every imputer, scikit-learn's imputer
    parameters: ``missing_values`` (turned into NaN before encoding),
    ``add_indicator``, ``keep_empty_features`` (columns entirely missing at fit
    never reach the encoder) and ``min_value`` / ``max_value``. Each subclass
    documents its own parameters; the shared ones are documented once in
    ``deepimpute._utils.params`` and completed into its docstring.
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
    #: parameter (default ``"deprecated"``) for one release
    #: (``deepimpute._utils.params``)
    _renamed: dict[str, str] = {}

    #: the fitted attributes documented once for every subclass
    _shared_attributes: tuple[str, ...] = (
        "spec_",
        "n_features_in_",
        "feature_names_in_",
        "indicator_",
    )

    #: whether ``fit`` of a Dask DataFrame streams mini-batches from its partitions
    #: (the encoder's statistics from one pass, then ``_fit_stream``); otherwise it
    #: fits on a random sample of at most ``deepimpute._dask.SAMPLE_ROWS`` rows
    _streamed_fit = False

    #: rows encoded, imputed and assembled at a time by ``transform`` and ``sample``;
    #: it bounds the memory of the column codes, the model view and the model's
    #: tensors whatever the number of rows. A multiple of the deep imputers'
    #: ``_inference_batch_size``, so their forward passes see the same batches as in
    #: one pass over all rows and ``transform`` returns the same bits. A class
    #: attribute rather than an ``__init__`` parameter: it is no modelling choice.
    _transform_chunk_rows = 65536

    #: an identifier-like categorical column (``deepimpute._data``'s rule: more
    #: than ``IDENTIFIER_MIN_CATEGORIES`` distinct values, over
    #: ``IDENTIFIER_SHARE`` of its observed rows, categories not declared) is
    #: refused ("error") or, by an imputer whose model is the mode, warned
    #: about ("warn")
    _identifiers = "error"

    def __init_subclass__(cls, **kwargs):
        """Complete a subclass: the renamed names' constraints, its docstring."""
        super().__init_subclass__(**kwargs)
        if cls._renamed:  # an old name takes its new name's values, or the marker
            cls._parameter_constraints = {
                **cls._parameter_constraints,
                **params.renamed_constraints(cls._renamed, cls._parameter_constraints),
            }
        params.document(cls, cls._shared_attributes)

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

    # ------------------------------------------------------------ sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the imputer on ``X``; NaN (or None / pd.NA) marks missing entries.

        Parameters
        ----------
        X : DataFrame, dask DataFrame or array-like of shape (n_samples, n_features)
            Training data with missing values. A Dask DataFrame is never collected
            by the deep imputers, which stream mini-batches from its partitions;
            the others fit on a random sample of its rows (with a warning).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        params.check_renamed(self)
        if _dask.is_dask_frame(X):
            return self._fit_dask(X)
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
            Same type as ``transform``'s output.
        """
        if _dask.is_dask_frame(X):  # lazy: fit from the partitions, then transform
            return self.fit(X).transform(X)
        params.check_renamed(self)
        polars = is_polars(X)
        X, restore, missing, Xk, C, data, fitted = self._fit_input(X)
        if not np.isnan(C).any():
            out = self.encoder_.assemble(Xk, C, C)
        else:
            C_imp = self._checked(C, self._training_imputation(C, data, fitted))
            out = self.encoder_.assemble(Xk, C, C_imp)
        return self._container(self._finish(X, out, restore, missing), polars)

    def transform(self, X):
        """Impute the missing entries of ``X``.

        Deterministic, and a row's imputation does not depend on the other rows
        up to float32 rounding: at most ``1e-5`` times the column's training
        standard deviation (categories differ only at near ties;
        ``SklearnImputerAdapter`` is as row-independent as the imputer it wraps).
        Observed entries come back unchanged and ``X`` is not modified. Large
        inputs are imputed in chunks of rows (memory bounded by the chunk size).

        Parameters
        ----------
        X : DataFrame, dask DataFrame or array-like of shape (n_samples, n_features)
            A Dask DataFrame gives a lazy Dask DataFrame, imputed partition by
            partition (same rows as the in-memory transform, up to float rounding).

        Returns
        -------
        X_imputed : DataFrame or ndarray of shape (n_samples, n_features)
            Same type, columns, index and dtypes as ``X`` (a float array for
            array input, polars for polars, or what ``set_output`` asks for);
            columns entirely missing at fit are left out unless
            ``keep_empty_features``, and ``add_indicator`` appends the indicator's
            boolean columns (see ``get_feature_names_out``). Categorical cells get
            categories observed at fit, integer columns integers within the
            observed range, dates, durations and periods their dtype (and time
            zone); every imputed number is finite.
        """
        check_is_fitted(self)
        if _dask.is_dask_frame(X):  # lazy, partition by partition
            return _dask.transform_dask(self, X)
        polars = is_polars(X)
        X, restore, missing, Xk = self._encode_input(X)
        out = concat_rows([self._transform_chunk(part) for part in self._chunks(Xk)])
        return self._container(self._finish(X, out, restore, missing), polars)

    def sample(self, X, n_draws: int = 5, random_state=None) -> list:
        """Multiple imputation: ``n_draws`` completed copies of ``X``.

        Each copy holds an independent draw of the missing values from the fitted
        model; observed entries are identical in every copy. A fixed
        ``random_state`` reproduces the draws for the same ``X``; unlike
        ``transform``, a row's draws may depend on the other rows (noise is drawn
        in sequence over the rows, each chunk of large inputs with its own seed).

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
            ``n_draws`` completed datasets of the same type as ``transform``'s.
        """
        check_is_fitted(self)
        if _dask.is_dask_frame(X):  # one lazy Dask DataFrame per draw
            return _dask.sample_dask(self, X, n_draws, random_state)
        if not isinstance(n_draws, Integral) or n_draws < 1:
            raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
        polars = is_polars(X)
        X, restore, missing, Xk = self._encode_input(X)
        seed = seed_from(random_state)
        per_chunk = [  # per chunk: its n_draws completed pieces
            self._sample_chunk(part, int(n_draws), chunk_seed(seed, k))
            for k, part in enumerate(self._chunks(Xk))
        ]
        return [
            self._container(
                self._finish(X, concat_rows(list(pieces)), restore, missing), polars
            )
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

    def _fit_stream(self, stream, seed: int) -> None:
        """Fit from mini-batches streamed from a Dask DataFrame (``_streamed_fit``)."""
        raise NotImplementedError

    # ------------------------------------------------------------- fitting
    def _fit_input(self, X):
        """Validate, fit the encoder and the method; return what fit_transform needs:
        the validated input, its dtype restorations and missing mask, the columns the
        encoder sees, their codes and model view, and the fit's own imputation."""
        X, restore = prepare_input(self, X, reset=True)
        spec = self.column_spec if self.column_spec is not None else ColumnSpec.infer(X)
        # a frame's own labels, whatever their type (sklearn keeps only str ones)
        names = (
            list(X.columns)
            if isinstance(X, pd.DataFrame)
            else getattr(self, "feature_names_in_", None)
        )
        missing = missing_mask(X)
        positions = spec.positions(names, X.shape[1])
        empty = empty_columns.empty_attributes(missing, positions)
        keep = ~empty
        if not keep.any():
            raise ValueError(
                "Every column of X is entirely missing at fit time; there is nothing "
                "to learn an imputation from."
            )
        if self.keep_empty_features:  # fail at fit, not at transform
            for j in np.flatnonzero(empty):
                empty_columns.fill_empty(empty_columns.column(X, j), self._label(j))
        Xk = empty_columns.kept(X, empty)
        spec_k = empty_columns.restrict_spec(
            spec, positions, keep, positional=names is None
        )
        names_k = None if names is None else np.asarray(names, dtype=object)[keep]
        encoder = TableEncoder(spec_k, self.handle_unknown, self._identifiers)
        encoder.fit(Xk, names_k)
        C, data = encoder.encode(Xk)
        self._set_fit_state(spec, missing, empty, encoder, C)
        fitted = self._fit(C, data, self.seed_)
        return X, restore, missing, Xk, C, data, fitted

    def _set_fit_state(self, spec, missing, empty, encoder, C) -> None:
        """The fitted state of the contract, for a fit in memory or from Dask:
        ``missing`` marks the cells the indicator learns from (at least the
        columns with holes), ``empty`` the columns set aside, ``C`` holds the
        observed codes (or their extremes) the bounds are taken from."""
        self.spec_ = spec
        self.indicator_ = (
            MissingIndicator(error_on_new=False).fit(as_nan(missing))
            if self.add_indicator
            else None
        )
        self._empty_ = empty
        self.encoder_ = encoder
        self._fit_bounds(C)
        self.seed_ = seed_from(self.random_state)

    def _fit_dask(self, ddf):
        """``fit`` of a Dask DataFrame: streamed from its partitions
        (``_streamed_fit``), else on a random sample of its rows."""
        if not self._streamed_fit:
            X = _dask.sample_rows(
                ddf, _dask.SAMPLE_ROWS, seed_from(self.random_state),
                type(self).__name__,
            )
            return self.fit(X)
        n_rows = self._prepare_dask_fit(ddf)
        return self._train_dask(ddf, n_rows)

    def _prepare_dask_fit(self, ddf) -> int:
        """Everything of a streamed fit but the training: the column checks, the
        encoder from one pass over the partitions, the contract's fitted state.
        Returns the number of rows. (Split from :meth:`_train_dask` so that a
        launcher can run the pass once on a cluster and ship the prepared imputer
        to every rank: ``deepimpute.distributed.fit_on_dask``.)"""
        names = list(ddf.columns)
        if not names:
            raise ValueError("X has 0 columns; there is nothing to impute.")
        if not is_na_marker(self.missing_values):
            raise ValueError(
                f"missing_values={self.missing_values!r} is not supported when "
                "fitting from a Dask DataFrame; mark the holes as missing first "
                "(e.g. ddf.mask(ddf == marker)) and keep the default missing_values."
            )
        types = _dask.meta(ddf)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        # what a fit on a pandas frame records (transform takes frames as frames)
        self._frame_columns_ = names
        self._frame_dtypes_ = list(types.dtypes)
        spec = self.column_spec if self.column_spec is not None else (
            ColumnSpec.infer(types)
        )
        summary = _dask.summarize(ddf, spec)
        encoder = TableEncoder.from_summary(spec, self.handle_unknown, summary)
        if summary.n_rows < 2:
            raise ValueError(
                f"Found {summary.n_rows} sample(s) while a minimum of 2 is required."
            )
        # the indicator learns which columns have holes; the bounds the observed
        # extremes of each numerical column, as codes
        holes = np.zeros((2, len(names)), dtype=bool)
        holes[0] = summary.has_missing
        C = np.full((2, len(names)), np.nan)
        for lay, pos in zip(encoder.layout.attributes, encoder.positions, strict=True):
            if lay.kind == "numerical":
                j = int(pos[0])
                lo, hi = summary.moments[names[j]][2:]
                C[:, j] = (np.array([lo, hi]) - encoder.loc[j]) / encoder.scale[j]
        self._set_fit_state(
            spec, holes, np.zeros(len(names), dtype=bool), encoder, C
        )
        return summary.n_rows

    def _train_dask(self, ddf, n_rows: int, scheduler=None):
        """Train a prepared imputer (:meth:`_prepare_dask_fit`) on mini-batches
        streamed from the partitions of ``ddf``; returns ``self``. ``scheduler``
        reads each partition (None: Dask's default); under a process group each
        rank reads only its own partitions."""
        stream = _dask.DaskStream(
            ddf, self.encoder_, n_rows, **self._stream_options(), scheduler=scheduler
        )
        self._fit_stream(stream, self.seed_)
        return self

    def _stream_options(self) -> dict:
        """Keyword arguments of :class:`~deepimpute._dask.DaskStream`."""
        raise NotImplementedError

    def _fit_bounds(self, C: np.ndarray) -> None:
        """``min_value`` / ``max_value`` and the observed range of every numerical
        column, kept by the encoder (once, at fit)."""
        p = self.n_features_in_
        low = per_column(self.min_value, p, -np.inf, "min_value")
        high = per_column(self.max_value, p, np.inf, "max_value")
        if np.any(low > high):
            j = int(np.flatnonzero(low > high)[0])
            raise ValueError(
                f"min_value ({low[j]}) is above max_value ({high[j]}) for column "
                f"{self._label(j)!r}."
            )
        keep = ~self._empty_
        # the default (no lower bound given): a column never negative at fit stays
        # >= 0; a bound per column, or a finite one, is the caller's choice
        default = self.min_value is None or (
            np.ndim(self.min_value) == 0 and self.min_value == -np.inf
        )
        self.encoder_.fit_bounds(low[keep], high[keep], C, keep_sign=default)

    # ------------------------------------------------------ transform, sample
    def _encode_input(self, X):
        """What every method after fit reads of ``X``: the validated input with its
        ``missing_values`` marked, the dtypes to restore, the missing mask of
        ``add_indicator`` (else None), and the columns the encoder sees."""
        X, restore = prepare_input(self, X, reset=False)
        missing = missing_mask(X) if self.add_indicator else None
        return X, restore, missing, empty_columns.kept(X, self._empty_)

    def _chunks(self, X):
        return row_chunks(X, self._transform_chunk_rows)

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

    def _checked(self, C: np.ndarray, C_imp: np.ndarray) -> np.ndarray:
        """Imputed codes, finite, clipped to the bounds, and not wildly outside the
        observed range of any numerical column (else the fit diverged)."""
        if not np.all(np.isfinite(C_imp)):
            raise FloatingPointError(
                f"{type(self).__name__} produced non-finite imputations; the model "
                "diverged (try a lower learning_rate or more regularisation)."
            )
        C_imp = self.encoder_.clip_codes(C_imp)
        _, j, away, value, lo, hi = self.encoder_.farthest_outside(C, C_imp)
        if away <= RANGE_FACTOR:
            return C_imp
        label = self._label(int(np.flatnonzero(~self._empty_)[j]))
        remedy = (
            "lower learning_rate, or bound"
            if hasattr(self, "learning_rate")
            else "bound"
        )
        raise FloatingPointError(
            f"{type(self).__name__} imputed {value:.4g} in column {label!r}, whose "
            f"observed values lie in [{lo:.4g}, {hi:.4g}]: {away:.3g} times "
            f"that range away: the model diverged or extrapolates far beyond its "
            f"data; {remedy} the imputations with min_value / max_value."
        )

    def _finish(self, X, out, restore: dict, missing):
        """From the encoder's columns to the output: empty columns put back (with
        ``keep_empty_features``), dtypes restored, indicator columns appended."""
        shown = np.ones(X.shape[1], dtype=bool)
        if self._empty_.any():
            if self.keep_empty_features:
                out = empty_columns.with_empty(X, out, self._empty_, self._label)
            else:
                shown = ~self._empty_
        if restore:
            where = np.cumsum(shown) - 1  # column position in the output
            for j, dtype in restore.items():
                if shown[j]:
                    out.isetitem(int(where[j]), restored(out.iloc[:, where[j]], dtype))
        if self.indicator_ is None:
            return out
        flags = self.indicator_.transform(as_nan(missing))
        if not isinstance(out, pd.DataFrame):
            return np.hstack([out, flags])
        labels = [str(c) for c in X.columns]
        names = self.indicator_.get_feature_names_out(labels)
        flags = pd.DataFrame(flags, index=out.index, columns=names)
        return pd.concat([out, flags], axis=1)

    def _container(self, out, polars: bool):
        """The output as the caller's frame library: polars for a polars input
        or under ``set_output(transform="polars")``, pandas under
        ``set_output(transform="pandas")`` (scikit-learn then only renames)."""
        if not isinstance(out, pd.DataFrame):
            return out  # arrays: scikit-learn's set_output wraps them
        wanted = _get_output_config("transform", self)["dense"]
        if wanted == "polars" or (polars and wanted == "default"):
            return to_polars(out)
        return out

    def _label(self, j: int):
        names = getattr(self, "feature_names_in_", None)
        return names[j] if names is not None else j

    def _param(self, name: str):
        """The value of parameter ``name``, or of its deprecated old name if set."""
        return params.param(self, name)
