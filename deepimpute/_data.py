"""Spec-aware encoding: caller's table <-> column codes <-> model tensors (NumPy only).

Three representations of one table:

* the caller's data: a DataFrame (any dtypes, any column labels) or a 2-D array;
* *column codes* ``C`` of shape ``(n, n_features)``, float64: numerical columns
  standardised with observed training statistics, categorical columns as integer codes
  ``0..n_categories-1`` over the categories *observed* at fit, image columns scaled to
  [0, 1]; NaN marks a missing cell;
* the *model view* (:class:`EncodedTable`): categoricals one-hot, zero-filled where
  missing, with an element-level and an attribute-level observed mask (1 = observed).
  It is stored compactly (float32 elements, integer category codes) and expanded
  into one-hot blocks only by rows, a mini-batch at a time, so its memory does not
  grow with the number of categories.

Output is assembled from a copy of the caller's data where only the missing cells are
written, so observed entries come back bit for bit.

Numerical columns may hold any finite float64 (1e308 and 1e-300 alike): statistics are
computed on the values divided by the column's largest magnitude, so neither the mean
nor the standard deviation overflows or underflows, and decoded imputations are
clipped to the representable range. Dates (datetime64, naive or tz-aware), durations
(timedelta64) and periods are numerical attributes on their int64 time axis, NaT is
missing, and imputations come back in the column's own dtype.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from ._utils.values import isna as _isna
from ._utils.values import label_key as _key
from .schema import (
    AttributeLayout,
    Categorical,
    ColumnSpec,
    Image,
    ModelLayout,
    Numerical,
)

__all__ = [
    "IDENTIFIER_MIN_CATEGORIES",
    "IDENTIFIER_SHARE",
    "EncodedTable",
    "TableEncoder",
    "TableSummary",
]

_FMAX = float(np.finfo(np.float64).max)

#: a categorical column whose categories are not declared is identifier-like when
#: it has more than this many distinct values, and more than
#: :data:`IDENTIFIER_SHARE` of its observed rows (IDs, free text, timestamps
#: read as strings): no model learns from a category seen about once
IDENTIFIER_MIN_CATEGORIES = 1000
IDENTIFIER_SHARE = 0.5


@dataclass(frozen=True)
class EncodedTable:
    """The model view of a table, held compactly and expanded by rows on demand.

    The one-hot blocks of categorical attributes are never stored: the table keeps
    one float32 per numerical or image element (NaN = missing) and one integer
    code per categorical attribute (-1 = missing), so its memory is that of the
    column codes (4 bytes a cell) whatever the number of categories.
    :meth:`take` builds the dense model view of some rows (a mini-batch), the
    properties :attr:`values`, :attr:`observed` and :attr:`attr_observed` that of
    every row (for small tables and inspection).

    Attributes
    ----------
    layout : ModelLayout
        The model space the rows expand into.
    dense : ndarray of shape (n, n_dense), float32
        The numerical and image elements, in model-slot order, NaN where missing.
    codes : ndarray of shape (n, n_categorical), int32
        Per categorical attribute (in layout order): the observed category's
        index, -1 where missing.
    """

    layout: ModelLayout
    dense: np.ndarray
    codes: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.dense.shape[0]

    @property
    def dense_bytes(self) -> int:
        """Bytes of the full dense model view (``values``, ``observed``,
        ``attr_observed`` as float32)."""
        lay = self.layout
        return 4 * self.n_rows * (2 * lay.width + lay.n_attributes)

    @property
    def nbytes(self) -> int:
        """Bytes this compact table holds."""
        return int(self.dense.nbytes + self.codes.nbytes)

    def take(self, rows=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dense model view of ``rows`` (positions; None: every row):
        ``values`` (n, width) zero where missing, ``observed`` (n, width) element
        mask and ``attr_observed`` (n, n_attributes) attribute mask, float32."""
        plan = _expansion_plan(self.layout)
        dense = self.dense if rows is None else self.dense[rows]
        codes = self.codes if rows is None else self.codes[rows]
        k = dense.shape[0]
        lay = self.layout
        values = np.zeros((k, lay.width), dtype=np.float32)
        observed = np.zeros((k, lay.width), dtype=np.float32)
        attr_obs = np.zeros((k, lay.n_attributes), dtype=np.float32)
        seen = ~np.isnan(dense)
        values[:, plan.dense_slots] = np.where(seen, dense, np.float32(0.0))
        observed[:, plan.dense_slots] = seen
        if plan.dense_groups.size:
            attr_obs[:, plan.dense_attrs] = np.logical_and.reduceat(
                seen, plan.dense_groups, axis=1
            )
        if codes.shape[1]:
            has = codes >= 0
            r, c = np.nonzero(has)
            values[r, plan.code_starts[c] + codes[r, c]] = 1.0
            observed[:, plan.code_slots] = has[:, plan.code_of_slot]
            attr_obs[:, plan.code_attrs] = has
        return values, observed, attr_obs

    def dense_view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The dense model view of every row (``take()``)."""
        return self.take()

    @property
    def values(self) -> np.ndarray:
        """(n, width) float32: model-space values, zero where missing."""
        return self.take()[0]

    @property
    def observed(self) -> np.ndarray:
        """(n, width) float32: 1 where the element is observed."""
        return self.take()[1]

    @property
    def attr_observed(self) -> np.ndarray:
        """(n, n_attributes) float32: 1 where every element of the attribute is
        observed."""
        return self.take()[2]

    def observed_values(self, slot: int) -> np.ndarray:
        """The observed values of the numerical or image element in model slot
        ``slot`` (float32)."""
        plan = _expansion_plan(self.layout)
        k = int(np.flatnonzero(plan.dense_slots == slot)[0])
        col = self.dense[:, k]
        return col[~np.isnan(col)]


@dataclass(frozen=True)
class _Plan:
    dense_slots: np.ndarray  # model slot of every dense element
    dense_groups: np.ndarray  # first dense element of each non-categorical attribute
    dense_attrs: np.ndarray  # their attribute indices
    code_starts: np.ndarray  # first slot of each categorical attribute
    code_attrs: np.ndarray  # their attribute indices
    code_slots: np.ndarray  # every one-hot slot
    code_of_slot: np.ndarray  # the categorical attribute (0..n_cat-1) of each


@functools.lru_cache(maxsize=64)
def _expansion_plan(layout: ModelLayout) -> _Plan:
    """Where the compact table's columns go in the model view of ``layout``."""
    dense_slots, groups, dense_attrs = [], [], []
    starts, code_attrs, code_slots, code_of = [], [], [], []
    for a, lay in enumerate(layout.attributes):
        if lay.kind == "categorical":
            code_of += [len(starts)] * lay.width
            starts.append(lay.start)
            code_attrs.append(a)
            code_slots += range(lay.start, lay.start + lay.width)
        else:
            groups.append(len(dense_slots))
            dense_attrs.append(a)
            dense_slots += range(lay.start, lay.start + lay.width)

    def ints(v):
        return np.asarray(v, dtype=np.intp)

    return _Plan(ints(dense_slots), ints(groups), ints(dense_attrs), ints(starts),
                 ints(code_attrs), ints(code_slots), ints(code_of))


@dataclass(frozen=True)
class TableSummary:
    """What an encoder learns from a table, reduced without holding its rows (the
    partitions of a Dask DataFrame, :mod:`deepimpute._dask`).

    Attributes
    ----------
    names : list
        Column labels.
    dtypes : list
        Column dtypes.
    n_rows : int
        Number of rows.
    has_missing : ndarray of bool
        Per column: does it hold a missing cell?
    counts : dict
        Observed cells per column (numerical, categorical) or image label.
    categories : dict
        Per categorical column: its categories, in order of appearance or as
        declared.
    moments : dict
        Per numerical column: ``(mean, std, min, max)`` of its observed values.
    extremes : dict
        Per image label: ``(min, max)`` of its observed values.
    categorical_dtypes : dict
        Per categorical column whose pandas dtype declares its category set: that
        dtype (kept by the encoder, as a fit on the rows keeps it).
    """

    names: list
    dtypes: list
    n_rows: int
    has_missing: np.ndarray
    counts: dict
    categories: dict
    moments: dict
    extremes: dict
    categorical_dtypes: dict


def _column_label(feature_names, j: int):
    return feature_names[j] if feature_names is not None else j


class TableEncoder:
    """Fit a :class:`ColumnSpec` to training data and translate between views.

    A categorical attribute gets one model slot per category *observed* at fit, so
    no imputer can produce a category it never saw; categories that are declared
    (a pandas ``CategoricalDtype``, or ``Categorical(categories=...)`` in the spec)
    but unused only stay part of the output's dtype.

    Numerical imputations are decoded to finite values: clipped to the float64
    range, and for integer columns (numpy or nullable) rounded and clipped to the
    range observed at fit (so a 0/1 ``UInt8`` column is imputed 0 or 1).

    Parameters
    ----------
    spec : ColumnSpec
    handle_unknown : {"error", "missing"}
        What to do with a category not seen at fit: raise, or treat the cell as
        missing (with a warning).
    identifiers : {"error", "warn"}
        What to do with an identifier-like categorical column (more than
        :data:`IDENTIFIER_MIN_CATEGORIES` distinct values and more than
        :data:`IDENTIFIER_SHARE` of its observed rows, categories not declared
        in the spec): refuse it with an error naming it, or warn (the imputers
        whose model is the column's mode, which a category seen once does not
        trouble). Declaring the column's categories in the spec
        (``Categorical(column, categories=...)``) models it as any categorical.
    """

    def __init__(
        self, spec: ColumnSpec, handle_unknown: str = "error", identifiers="error"
    ) -> None:
        self.spec = spec
        self.handle_unknown = handle_unknown
        self.identifiers = identifiers

    # ------------------------------------------------------------------ fitting
    def fit(self, X, feature_names=None) -> TableEncoder:
        """Learn categories and scales from ``X``.

        For a DataFrame the column labels are its own (whatever their type);
        ``feature_names`` only names the columns of an array.
        """
        n, p = X.shape
        if isinstance(X, pd.DataFrame):
            feature_names = list(X.columns)
        self.feature_names = None if feature_names is None else list(feature_names)
        self.n_features = p
        self.positions = self.spec.positions(self.feature_names, p)
        self.categories: list[np.ndarray | None] = []
        # unit-space statistics: codes are (x / mag - mu) / sd, never overflowing
        self.mag = np.ones(p)
        self.mu = np.zeros(p)
        self.sd = np.ones(p)
        # decoded numerical imputations are clipped to [low, high]
        self.low = np.full(p, -_FMAX)
        self.high = np.full(p, _FMAX)
        #: per column: a numerical column never negative at fit (the default lower
        #: bound of :meth:`fit_bounds` is then 0)
        self.nonnegative = np.zeros(p, dtype=bool)
        #: per column: the time axis (unit or freq) of date-like columns, else None
        self.time_axes: list = [None] * p
        self.dtypes = list(X.dtypes) if isinstance(X, pd.DataFrame) else None
        if isinstance(X, pd.DataFrame):
            for j in range(p):
                self.time_axes[j] = _time_axis(X.dtypes.iloc[j])
        for attr, pos in zip(self.spec, self.positions, strict=True):
            label = self._label(attr, pos)
            if isinstance(attr, Categorical):
                self.categories.append(self._fit_categories(X, attr, pos[0], label))
                continue
            self.categories.append(None)
            vals = self._numeric_block(X, pos, attr)
            obs = vals[~np.isnan(vals)]
            if obs.size == 0:
                raise ValueError(
                    f"Column {label!r} is entirely missing at fit time; an imputer "
                    "cannot learn anything about it. Drop it or provide values."
                )
            if isinstance(attr, Numerical):
                mag, mu, sd = _unit_stats(obs)
                self.mag[pos], self.mu[pos] = mag, mu
                self.sd[pos] = sd if sd > 0 else 1.0
                j = pos[0]
                self.nonnegative[j] = self.time_axes[j] is None and obs.min() >= 0
                if self._is_integer_column(X, j):
                    self.low[j], self.high[j] = obs.min(), obs.max()
            else:  # Image: one affine map to [0, 1] for the whole block
                mag = _magnitude(obs)
                lo, hi = (obs / mag).min(), (obs / mag).max()
                self.mag[pos], self.mu[pos] = mag, lo
                self.sd[pos] = (hi - lo) if hi > lo else 1.0
        self.layout = self._make_layout()
        return self

    def _fit_categories(self, X, attr: Categorical, j: int, label) -> np.ndarray:
        """The categories observed at fit, in declared order when declared."""
        raw = self._raw_column(X, j)
        obs = raw[~_isna(raw)]
        declared = None
        if attr.categories is not None:
            declared = np.asarray(attr.categories, dtype=object)
        elif isinstance(X, pd.DataFrame) and isinstance(
            X.dtypes.iloc[j], pd.CategoricalDtype
        ):  # a pandas categorical declares its own category set (and order)
            declared = np.asarray(X.dtypes.iloc[j].categories, dtype=object)
        if declared is None:
            cats = _unique_categories(raw, obs)
        else:
            seen = {_key(v) for v in obs}
            cats = np.empty(0, dtype=object)
            kept = [c for c in declared if _key(c) in seen]
            if kept:
                cats = np.empty(len(kept), dtype=object)
                cats[:] = kept
            if len(cats) < len(seen):  # values outside the declared set
                self._encode_categorical(X, j, declared)  # raises or warns
        if cats.size == 0:
            raise ValueError(
                f"Column {label!r} is entirely missing at fit time; an imputer "
                "cannot learn anything about it. Drop it or provide values."
            )
        if attr.categories is None:
            counts = getattr(self, "_observed_counts", None)  # from a summary
            n_obs = obs.size if counts is None else counts.get(label, obs.size)
            self._check_identifier(label, cats.size, n_obs)
        return cats

    def _check_identifier(self, label, n_categories: int, n_observed: int) -> None:
        """Refuse (or warn about) an identifier-like column: see ``identifiers``."""
        if not (
            n_categories > IDENTIFIER_MIN_CATEGORIES
            and n_categories > IDENTIFIER_SHARE * n_observed
        ):
            return
        what = (
            f"Column {label!r} looks like an identifier: {n_categories} distinct "
            f"values among its {n_observed} observed rows (more than "
            f"{IDENTIFIER_SHARE:.0%} of them, and more than "
            f"{IDENTIFIER_MIN_CATEGORIES})"
        )
        if self.identifiers == "warn":
            warnings.warn(
                what + "; it is imputed by its most frequent value.",
                UserWarning,
                stacklevel=4,
            )
            return
        raise ValueError(
            what + "; no model learns from categories seen about once. Drop the "
            "column, impute it with MeanModeImputer (its most frequent value), or "
            "declare its categories in column_spec (Categorical(column, "
            "categories=...)) to model it anyway."
        )

    def _make_layout(self) -> ModelLayout:
        attrs, start = [], 0
        for attr, pos, cats in zip(
            self.spec, self.positions, self.categories, strict=True
        ):
            if isinstance(attr, Categorical):
                width, shape, lik = len(cats), None, None
                name = attr.name
            elif isinstance(attr, Image):
                width, shape, lik = len(pos), attr.shape, attr.likelihood
                name = attr.label
            else:
                width, shape, lik, name = 1, None, None, attr.name
            attrs.append(AttributeLayout(name, attr.kind, start, width, shape, lik))
            start += width
        return ModelLayout(tuple(attrs))

    @classmethod
    def from_summary(
        cls,
        spec: ColumnSpec,
        handle_unknown: str,
        summary: TableSummary,
        identifiers: str = "error",
    ) -> TableEncoder:
        """An encoder fitted on a table known only by its :class:`TableSummary`.

        The encoder's own :meth:`fit` runs on the smallest frame with the
        summary's statistics: every category of each categorical column and, for
        numerical columns, two values with the observed mean and spread (images:
        the observed minimum and maximum). The numerical mean and standard
        deviation are then set to the summary's exactly (two rows reproduce them
        only up to rounding).
        """
        names = summary.names
        positions = spec.positions(names, len(names))
        for attr, pos in zip(spec, positions, strict=True):
            labels = [attr.label] if isinstance(attr, Image) else [names[pos[0]]]
            for label in labels:
                if summary.counts[label] == 0:
                    raise ValueError(
                        f"Column {label!r} is entirely missing at fit time; an "
                        "imputer cannot learn anything about it. Drop it or "
                        "provide values."
                    )
        frame = _summary_frame(spec, positions, summary)
        enc = cls(spec, handle_unknown, identifiers)
        enc._observed_counts = summary.counts  # the identifier rule's row counts
        enc.fit(frame, names)
        del enc._observed_counts
        for attr, pos in zip(spec, positions, strict=True):
            if not isinstance(attr, Numerical):
                continue
            for j in pos:
                mean, std, lo, hi = summary.moments[names[j]]
                # unit-space statistics (codes are (x / mag - mu) / sd)
                mag = max(abs(lo), abs(hi)) or 1.0
                enc.mag[j], enc.mu[j] = mag, mean / mag
                enc.sd[j] = std / mag if std > 0 else 1.0
                enc.nonnegative[j] = enc.time_axes[j] is None and lo >= 0
                dtype = summary.dtypes[j]
                if pd.api.types.is_integer_dtype(dtype) and not (
                    pd.api.types.is_bool_dtype(dtype)
                ):  # as fit on the rows does
                    enc.low[j], enc.high[j] = lo, hi
        enc.dtypes = list(summary.dtypes)
        return enc

    def fit_bounds(
        self, low: np.ndarray, high: np.ndarray, C: np.ndarray, *,
        keep_sign: bool = False,
    ) -> None:
        """Bounds of the imputations: ``[low, high]`` in the caller's units (one
        value per column, ``-inf``/``inf`` for none; met exactly after decoding,
        without code-space rounding) and, in column codes, the same bounds and the
        range of every numerical column's observed codes in ``C`` (the training
        rows, or two rows of their extremes). With ``keep_sign`` a numerical
        column never negative at fit (weights, counts, prices) is bounded below
        at 0 as well: a model's unbounded decoder may otherwise impute it below
        zero, a value no row had."""
        low = np.asarray(low, dtype=float)
        signed = np.zeros(len(low), dtype=bool)  # columns the sign rule bounds at 0
        if keep_sign:
            nonnegative = getattr(self, "nonnegative", signed)
            # (not where max_value is itself below 0: the caller's bound wins)
            signed = nonnegative & (np.asarray(high) >= 0) & (low < 0)
            low = np.where(signed, 0.0, low)
        self.low = np.maximum(self.low, np.asarray(low, dtype=float))
        self.high = np.minimum(self.high, np.asarray(high, dtype=float))
        q = C.shape[1]
        self.code_low, self.code_high = np.full(q, -np.inf), np.full(q, np.inf)
        self.observed_low = np.full(q, -np.inf)
        self.observed_high = np.full(q, np.inf)
        for lay, pos in zip(self.layout.attributes, self.positions, strict=True):
            if lay.kind != "numerical":
                continue
            j = int(pos[0])
            loc, scale = self.loc[j], self.scale[j]
            if signed[j]:  # 0 in unit space (x / mag): exact, never overflowing
                self.code_low[j] = _code_bound(0.0, self.mu[j], self.sd[j],
                                               upper=False)
            else:
                self.code_low[j] = _code_bound(low[j], loc, scale, upper=False)
            self.code_high[j] = _code_bound(high[j], loc, scale, upper=True)
            obs = C[~np.isnan(C[:, j]), j]
            self.observed_low[j], self.observed_high[j] = obs.min(), obs.max()

    def clip_codes(self, C_imp: np.ndarray) -> np.ndarray:
        """Imputed codes clipped to the bounds of :meth:`fit_bounds`."""
        return np.clip(C_imp, self.code_low, self.code_high)

    def farthest_outside(self, C: np.ndarray, C_imp: np.ndarray) -> tuple:
        """The imputed cell (missing in ``C``) farthest outside its numerical
        column's observed range, in units of that range (at least one standard
        deviation): ``(row, column, distance, value, observed low, observed
        high)``, the last three in the caller's units; distance 0 if none is
        outside."""
        lo, hi = self.observed_low, self.observed_high
        span = np.maximum(hi - lo, 1.0)  # codes: one unit is one standard deviation
        with np.errstate(invalid="ignore"):  # inf - inf of non-numerical columns
            away = np.where(np.isnan(C), np.maximum(lo - C_imp, C_imp - hi), 0) / span
        away = np.nan_to_num(away, nan=0.0, posinf=0.0, neginf=0.0)
        if away.max(initial=0.0) <= 0.0:
            return 0, 0, 0.0, np.nan, np.nan, np.nan
        i, j = np.unravel_index(np.argmax(away), away.shape)
        with np.errstate(over="ignore"):  # a column near float64's edge: inf
            value, lo_v, hi_v = (
                c * self.scale[j] + self.loc[j] for c in (C_imp[i, j], lo[j], hi[j])
            )
        return int(i), int(j), float(away[i, j]), value, lo_v, hi_v

    def category_sets(self) -> dict:
        """``{column label: categories observed at fit}`` of the categorical
        columns (labels are positions after a fit on an array)."""
        out = {}
        for attr_i, pos in enumerate(self.positions):
            cats = self.categories[attr_i]
            if cats is not None:
                out[_column_label(self.feature_names, int(pos[0]))] = cats
        return out

    def attribute_groups(self, groups) -> list[list[int]]:
        """Attribute indices of every group of columns in ``groups`` (labels or
        positions; None: one group per attribute), then one group for each
        attribute no group names. Groups must not overlap."""
        n_attr = len(self.positions)
        if groups is None:
            return [[a] for a in range(n_attr)]
        n_columns = self.n_features
        attr_of = self._attr_of_column
        lookup: dict = {}
        if self.feature_names is not None:
            lookup = {c: i for i, c in enumerate(self.feature_names)}
            lookup.update({str(c): i for i, c in enumerate(self.feature_names)})
        owner: dict[int, int] = {}
        out: list[list[int]] = []
        for g, cols in enumerate(groups):
            if isinstance(cols, str) or not hasattr(cols, "__iter__"):
                raise ValueError(
                    f"groups[{g}] must be a list of columns, got {cols!r}."
                )
            attrs: list[int] = []
            for col in cols:
                if col in lookup:
                    j = lookup[col]
                elif isinstance(col, Integral) and 0 <= col < n_columns:
                    j = int(col)
                else:
                    raise ValueError(f"groups[{g}] names an unknown column {col!r}.")
                a = int(attr_of[j])
                if owner.get(a, g) != g:
                    attr = self.spec.names[a]
                    raise ValueError(
                        f"Column {col!r} (attribute {attr!r}) is in "
                        f"groups {owner[a]} and {g}; groups must not overlap."
                    )
                owner[a] = g
                if a not in attrs:
                    attrs.append(a)
            if not attrs:
                raise ValueError(f"groups[{g}] is empty.")
            out.append(sorted(attrs))
        out += [[a] for a in range(n_attr) if a not in owner]
        return out

    def attribute_columns(self, attrs) -> list:
        """The column labels (positions after a fit on an array) of attributes
        ``attrs``."""
        names = self.feature_names
        return [
            names[j] if names is not None else int(j)
            for a in attrs
            for j in self.positions[a]
        ]

    @property
    def loc(self) -> np.ndarray:
        """Location of every column in the caller's units (``inf`` if beyond float64;
        for inspection only: encoding works on the overflow-safe unit scale)."""
        with np.errstate(over="ignore"):
            return self.mu * self.mag

    @property
    def scale(self) -> np.ndarray:
        """Scale of every column in the caller's units (see :attr:`loc`)."""
        with np.errstate(over="ignore", under="ignore"):
            return self.sd * self.mag

    # ------------------------------------------------------------ to the model
    def to_columns(self, X) -> np.ndarray:
        """Encode the caller's data as column codes (float64, NaN = missing)."""
        n, p = X.shape
        if p != self.n_features:
            raise ValueError(
                f"X has {p} columns, but the imputer was fitted on {self.n_features}."
            )
        C = np.full((n, p), np.nan)
        for attr, pos, cats in zip(
            self.spec, self.positions, self.categories, strict=True
        ):
            if isinstance(attr, Categorical):
                C[:, pos[0]] = self._encode_categorical(X, pos[0], cats)
            else:
                vals = self._numeric_block(X, pos, attr)
                C[:, pos] = (vals / self.mag[pos] - self.mu[pos]) / self.sd[pos]
        return C

    def to_model(self, C: np.ndarray) -> EncodedTable:
        """Column codes -> the model view, compact (:class:`EncodedTable`): the
        numerical and image elements as float32, categorical attributes as
        integer codes; one-hot blocks are built only by rows (``take``)."""
        dense_cols, code_cols = [], []
        for lay, pos in zip(self.layout.attributes, self.positions, strict=True):
            (code_cols if lay.kind == "categorical" else dense_cols).append(pos)
        n = C.shape[0]
        idx = np.concatenate(dense_cols) if dense_cols else np.empty(0, np.intp)
        dense = C[:, idx].astype(np.float32)
        codes = np.full((n, len(code_cols)), -1, dtype=np.int32)
        for k, pos in enumerate(code_cols):
            col = C[:, pos[0]]
            seen = ~np.isnan(col)
            codes[seen, k] = col[seen].astype(np.int32)
        return EncodedTable(self.layout, dense, codes)

    def encode(self, X) -> tuple[np.ndarray, EncodedTable]:
        C = self.to_columns(X)
        return C, self.to_model(C)

    # ---------------------------------------------------------- back to caller
    def from_model(self, values: np.ndarray) -> np.ndarray:
        """Model-space values (probabilities for categoricals) -> column codes."""
        C = np.empty((values.shape[0], self.n_features))
        for lay, pos in zip(self.layout.attributes, self.positions, strict=True):
            block = values[:, lay.slice]
            if lay.kind == "categorical":
                C[:, pos[0]] = np.argmax(block, axis=1)
            elif lay.kind == "image":
                C[:, pos] = np.clip(block, 0.0, 1.0)
            else:
                C[:, pos] = block
        return C

    def assemble(self, X, C_missing: np.ndarray, C_imputed: np.ndarray):
        """Write imputed codes into a copy of ``X``, only where ``C_missing`` is NaN.

        Parameters
        ----------
        X : DataFrame or ndarray
            The caller's (validated) data; never modified.
        C_missing : ndarray
            Column codes of ``X`` (NaN = missing).
        C_imputed : ndarray
            Column codes with every cell filled.
        """
        missing = np.isnan(C_missing)
        if isinstance(X, pd.DataFrame):
            out = X.copy()
            for j in range(X.shape[1]):
                rows = np.flatnonzero(missing[:, j])
                if rows.size == 0:
                    continue
                label = X.columns[j]
                new = self._decode_column(j, C_imputed[rows, j])
                # positional: labels may be of any type (the encoder refuses
                # duplicates upstream, but positions never depend on that)
                out.isetitem(j, _fill_series(X.iloc[:, j], rows, new, label=label))
            return out
        out = np.array(X, copy=True)
        if out.dtype.kind != "f":
            out = out.astype(np.float64)
        for j in range(out.shape[1]):
            rows = np.flatnonzero(missing[:, j])
            if rows.size:
                new = self._decode_column(j, C_imputed[rows, j])
                if out.dtype.kind == "f":
                    fmax = float(np.finfo(out.dtype).max)
                    new = np.clip(np.asarray(new, dtype=float), -fmax, fmax)
                out[rows, j] = new
        return out

    def _decode_column(self, j: int, codes: np.ndarray) -> np.ndarray:
        """Column codes of column ``j`` -> values in the caller's units (finite)."""
        attr_i = self._attr_of_column[j]
        cats = self.categories[attr_i]
        if cats is not None:
            return cats[np.clip(np.round(codes).astype(np.intp), 0, len(cats) - 1)]
        with np.errstate(over="ignore", invalid="ignore"):
            # (c * sd + mu) is moderate; the product with mag may exceed float64
            vals = (codes * self.sd[j] + self.mu[j]) * self.mag[j]
        vals = np.clip(np.nan_to_num(vals, nan=0.0), self.low[j], self.high[j])
        return vals

    @property
    def _attr_of_column(self) -> np.ndarray:
        idx = np.empty(self.n_features, dtype=np.intp)
        for a, pos in enumerate(self.positions):
            idx[pos] = a
        return idx

    # ----------------------------------------------------------------- helpers
    def _label(self, attr, pos):
        return (
            _column_label(self.feature_names, int(pos[0]))
            if len(pos) == 1
            else (attr.label)
        )

    def _is_integer_column(self, X, j: int) -> bool:
        if isinstance(X, pd.DataFrame):
            dtype = X.dtypes.iloc[j]
        else:
            dtype = np.asarray(X).dtype
        return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(
            dtype
        )

    def _raw_column(self, X, j: int) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return X.iloc[:, j].to_numpy(dtype=object, na_value=np.nan)
        return np.asarray(X[:, j], dtype=object)

    def _numeric_block(self, X, pos: np.ndarray, attr) -> np.ndarray:
        """Columns ``pos`` as float64 with NaN, refusing non-numbers and inf."""
        out = np.empty((X.shape[0], len(pos)))
        for k, j in enumerate(pos):
            label = _column_label(self.feature_names, int(j))
            if isinstance(X, pd.DataFrame):
                col = self._frame_column_as_float(X.iloc[:, j], int(j), label, attr)
            else:
                arr = np.asarray(X)
                if arr.dtype.kind == "c":
                    raise _complex_error(label)
                try:
                    col = np.asarray(arr[:, j], dtype=np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"Column {label!r} is {attr.kind} but holds non-numeric "
                        f"values ({exc})."
                    ) from None
            if np.isinf(col).any():
                raise ValueError(
                    f"Column {label!r} contains infinity; replace it by NaN to have it "
                    "imputed, or by a finite value."
                )
            out[:, k] = col
        return out

    def _frame_column_as_float(self, s: pd.Series, j: int, label, attr) -> np.ndarray:
        dtype = s.dtype
        if pd.api.types.is_complex_dtype(dtype):
            raise _complex_error(label)
        fitted_axis = self.time_axes[j] if hasattr(self, "time_axes") else None
        axis = _time_axis(dtype)
        if axis is not None or fitted_axis is not None:
            if fitted_axis is None or axis is None or axis[0] != fitted_axis[0]:
                raise ValueError(
                    f"Column {label!r} is {dtype} now but was "
                    f"{self.dtypes[j] if self.dtypes else 'numeric'} at fit; pass "
                    "the same kind of column (dates, durations or periods)."
                )
            return _to_time_axis(s, fitted_axis, label)
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            conv = pd.to_numeric(s, errors="coerce")
            bad = conv.isna() & s.notna()
            if bad.any():
                example = s[bad].iloc[0]
                raise ValueError(
                    f"Column {label!r} is {attr.kind} but holds the "
                    f"non-numeric value {example!r}; declare it Categorical "
                    "in the ColumnSpec or clean it."
                )
            s = conv
            if pd.api.types.is_complex_dtype(s.dtype):
                raise _complex_error(label)
        return s.to_numpy(dtype=np.float64, na_value=np.nan)

    def _encode_categorical(self, X, j: int, cats: np.ndarray) -> np.ndarray:
        raw = self._raw_column(X, j)
        na = _isna(raw)
        lookup = {_key(c): i for i, c in enumerate(cats)}
        codes = np.full(raw.shape[0], np.nan)
        unknown = []
        for r in np.flatnonzero(~na):
            code = lookup.get(_key(raw[r]))
            if code is None:
                unknown.append(r)
            else:
                codes[r] = code
        if unknown:
            label = _column_label(self.feature_names, j)
            seen = sorted({repr(raw[r]) for r in unknown})[:5]
            msg = (
                f"Column {label!r} holds {len(unknown)} value(s) not seen at fit time "
                f"({', '.join(seen)}); known categories: {list(cats)[:10]}."
            )
            if self.handle_unknown == "error":
                raise ValueError(msg + " Pass handle_unknown='missing' to impute them.")
            warnings.warn(msg + " They are treated as missing.", UserWarning, 2)
        return codes


def _complex_error(label) -> ValueError:
    return ValueError(
        f"Column {label!r} holds complex numbers, which no imputer models; split it "
        "into its real and imaginary parts (two numerical columns)."
    )


def _magnitude(obs: np.ndarray) -> float:
    """The largest absolute value (1 for an all-zero column): the unit of scale."""
    mag = float(np.max(np.abs(obs)))
    return mag if mag > 0 else 1.0


def _unit_stats(obs: np.ndarray) -> tuple[float, float, float]:
    """``(mag, mu, sd)`` with ``obs / mag`` in [-1, 1], ``mu``/``sd`` its mean/std.

    Dividing by the largest magnitude first keeps the sums finite at 1e308 and the
    spread representable at 1e-300, where ``obs.mean()``/``obs.std()`` overflow
    or underflow to 0.
    """
    mag = _magnitude(obs)
    unit = obs / mag
    return mag, float(unit.mean()), float(unit.std())


# ------------------------------------------------------------ dates and periods
def _time_axis(dtype):
    """``(kind, unit_or_freq)`` of a date-like dtype, else None.

    Kinds: ``"M"`` datetime64 (naive or tz-aware, as UTC instants), ``"m"``
    timedelta64, ``"P"`` Period (ordinals of its frequency).
    """
    if isinstance(dtype, pd.PeriodDtype):
        return ("P", dtype.freq)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return ("M", dtype.unit)
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        return (dtype.kind, np.datetime_data(dtype)[0])
    return None


def _to_time_axis(s: pd.Series, axis, label) -> np.ndarray:
    """Date-like column -> float64 on its fitted int64 axis, NaT -> NaN."""
    kind, unit = axis
    if kind == "P":
        if s.dtype.freq != unit:
            raise ValueError(
                f"Column {label!r} has period frequency {s.dtype.freq} but had "
                f"{unit} at fit."
            )
        ints = s.array.asi8
    else:
        ints = s.dt.as_unit(unit).array.asi8
    out = ints.astype(np.float64)
    out[s.isna().to_numpy()] = np.nan
    return out


def _from_time_axis(values: np.ndarray, dtype):
    """Float values on the int64 time axis -> an array of ``dtype`` (no NaT)."""
    # stay strictly inside int64 (whose minimum is NaT) after float rounding
    bound = float(np.nextafter(2.0**63, 0))
    ints = np.clip(np.round(values), -bound, bound).astype(np.int64)
    if isinstance(dtype, pd.PeriodDtype):
        return pd.PeriodIndex.from_ordinals(ints, freq=dtype.freq).array
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = pd.array(ints.view(f"datetime64[{dtype.unit}]"))
        return naive.tz_localize("UTC").tz_convert(dtype.tz)
    unit = np.datetime_data(dtype)[0]
    base = "datetime64" if dtype.kind == "M" else "timedelta64"
    return pd.array(ints.view(f"{base}[{unit}]"))


def _unique_categories(raw: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Observed categories, sorted when comparable, deduplicated by :func:`_key`."""
    uniq: dict = {}
    for v in obs:
        uniq.setdefault(_key(v), v)
    vals = list(uniq.values())
    try:
        vals = sorted(vals)
    except TypeError:
        vals = sorted(vals, key=repr)
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out


def _integer_range(dtype) -> tuple[float, float]:
    """The float range that casts safely into an integer dtype."""
    info = np.iinfo(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
    lo, hi = float(info.min), float(info.max)
    if hi > info.max:  # 2**63 - 1 rounds up to 2**63 in float64
        hi = float(np.nextafter(hi, 0))
    return lo, hi


def _fill_series(s: pd.Series, rows: np.ndarray, new: np.ndarray, label) -> pd.Series:
    """Return a copy of ``s`` with positions ``rows`` set to ``new``, same dtype."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().copy()
        cat_index = {_key(c): i for i, c in enumerate(dtype.categories)}
        try:
            codes[rows] = [cat_index[_key(v)] for v in new]
        except KeyError as exc:
            raise ValueError(
                f"Could not write imputed values into column {label!r}: category "
                f"{exc.args[0][1]!r} is not among its dtype's categories."
            ) from None
        return pd.Series(
            pd.Categorical.from_codes(codes, dtype=dtype), index=s.index, name=s.name
        )
    if _time_axis(dtype) is not None:
        new = _from_time_axis(np.asarray(new, dtype=float), dtype)
    elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    ):
        # integer columns stay integer, within what their dtype can hold
        lo, hi = _integer_range(dtype)
        new = np.clip(np.round(np.asarray(new, dtype=float)), lo, hi)
    elif pd.api.types.is_float_dtype(dtype):
        # the models compute in float64 (or float32); a float32 column (images)
        # takes them rounded to its precision, as pandas refuses a lossy setitem
        np_dtype = getattr(dtype, "numpy_dtype", dtype)
        fmax = float(np.finfo(np_dtype).max)
        new = np.clip(np.asarray(new, dtype=float), -fmax, fmax).astype(np_dtype)
    out = s.copy()
    try:
        out.iloc[rows] = new
        return out if out.dtype == dtype else out.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Could not write imputed values into column {label!r}: {exc}"
        ) from None


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


def _summary_frame(spec, positions, summary: TableSummary) -> pd.DataFrame:
    """The smallest frame whose encoder statistics are the summary's."""
    names = summary.names
    cats = {
        names[pos[0]]: summary.categories[names[pos[0]]]
        for attr, pos in zip(spec, positions, strict=True)
        if isinstance(attr, Categorical)
    }
    n = max([2, *(len(c) for c in cats.values())])
    data: dict = {}
    for attr, pos in zip(spec, positions, strict=True):
        for j in pos:
            col = names[j]
            out = np.full(n, np.nan, dtype=object)
            if isinstance(attr, Categorical):
                out[: len(cats[col])] = cats[col]
                series = pd.Series(out, dtype=object)
                if col in summary.categorical_dtypes:
                    series = series.astype(summary.categorical_dtypes[col])
                data[col] = series
                continue
            if isinstance(attr, Image):
                lo, hi = summary.extremes[attr.label]
            else:
                m, sd = summary.moments[col][:2]
                lo, hi = m - sd, m + sd
            out[:2] = [lo, hi]
            data[col] = pd.Series(out, dtype="float64")
    return pd.DataFrame(data, columns=names)
