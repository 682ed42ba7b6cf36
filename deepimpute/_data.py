"""Spec-aware encoding: caller's table <-> column codes <-> model tensors (NumPy only).

Three representations of one table:

* the caller's data: a DataFrame (any dtypes) or a 2-D array;
* *column codes* ``C`` of shape ``(n, n_features)``, float64: numerical columns
  standardised with observed training statistics, categorical columns as integer codes
  ``0..n_categories-1``, image columns scaled to [0, 1]; NaN marks a missing cell;
* the *model view* (:class:`EncodedTable`): categoricals one-hot, zero-filled where
  missing, with an element-level and an attribute-level observed mask (1 = observed).

Output is assembled from a copy of the caller's data where only the missing cells are
written, so observed entries come back bit for bit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import (
    AttributeLayout,
    Categorical,
    ColumnSpec,
    Image,
    ModelLayout,
    Numerical,
)

__all__ = ["EncodedTable", "TableEncoder"]


@dataclass(frozen=True)
class EncodedTable:
    """The model view of a table.

    Attributes
    ----------
    values : ndarray of shape (n, width), float32
        Model-space values, zero where missing.
    observed : ndarray of shape (n, width), float32
        1 where the element is observed.
    attr_observed : ndarray of shape (n, n_attributes), float32
        1 where every element of the attribute is observed.
    """

    values: np.ndarray
    observed: np.ndarray
    attr_observed: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.values.shape[0]

    def take(self, rows: np.ndarray) -> EncodedTable:
        return EncodedTable(
            self.values[rows], self.observed[rows], self.attr_observed[rows]
        )


def _column_label(feature_names, j: int):
    return feature_names[j] if feature_names is not None else j


class TableEncoder:
    """Fit a :class:`ColumnSpec` to training data and translate between views.

    Parameters
    ----------
    spec : ColumnSpec
    handle_unknown : {"error", "missing"}
        What to do with a category not seen at fit: raise, or treat the cell as
        missing (with a warning).
    """

    def __init__(self, spec: ColumnSpec, handle_unknown: str = "error") -> None:
        self.spec = spec
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------------ fitting
    def fit(self, X, feature_names=None) -> TableEncoder:
        n, p = X.shape
        self.feature_names = None if feature_names is None else list(feature_names)
        self.n_features = p
        self.positions = self.spec.positions(self.feature_names, p)
        self.categories: list[np.ndarray | None] = []
        self.loc = np.zeros(p)
        self.scale = np.ones(p)
        self.dtypes = list(X.dtypes) if isinstance(X, pd.DataFrame) else None
        for attr, pos in zip(self.spec, self.positions, strict=True):
            label = self._label(attr, pos)
            if isinstance(attr, Categorical):
                raw = self._raw_column(X, pos[0])
                obs = raw[~_isna(raw)]
                if obs.size == 0:
                    raise ValueError(
                        f"Column {label!r} is entirely missing at fit time; an imputer "
                        "cannot learn anything about it. Drop it or provide values."
                    )
                if attr.categories is not None:
                    cats = np.asarray(attr.categories, dtype=object)
                elif isinstance(X, pd.DataFrame) and isinstance(
                    X.dtypes.iloc[pos[0]], pd.CategoricalDtype
                ):  # a pandas categorical declares its own category set
                    cats = np.asarray(X.dtypes.iloc[pos[0]].categories, dtype=object)
                else:
                    cats = _unique_categories(raw, obs)
                self.categories.append(cats)
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
                std = obs.std()
                self.loc[pos] = obs.mean()
                self.scale[pos] = std if std > 0 else 1.0
            else:  # Image: one affine map to [0, 1] for the whole block
                lo, hi = obs.min(), obs.max()
                self.loc[pos] = lo
                self.scale[pos] = (hi - lo) if hi > lo else 1.0
        self.layout = self._make_layout()
        return self

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
                C[:, pos] = (vals - self.loc[pos]) / self.scale[pos]
        return C

    def to_model(self, C: np.ndarray) -> EncodedTable:
        """Expand column codes to the model view (one-hot, zero-filled, masks)."""
        n = C.shape[0]
        width = self.layout.width
        values = np.zeros((n, width), dtype=np.float32)
        observed = np.zeros((n, width), dtype=np.float32)
        attr_obs = np.zeros((n, self.layout.n_attributes), dtype=np.float32)
        for a, (lay, pos) in enumerate(
            zip(self.layout.attributes, self.positions, strict=True)
        ):
            block = C[:, pos]
            obs = ~np.isnan(block)
            if lay.kind == "categorical":
                codes = block[:, 0]
                rows = np.flatnonzero(obs[:, 0])
                values[rows, lay.start + codes[rows].astype(np.intp)] = 1.0
                observed[:, lay.slice] = obs[:, :1]
            else:
                values[:, lay.slice] = np.where(obs, block, 0.0)
                observed[:, lay.slice] = obs
            attr_obs[:, a] = obs.all(axis=1)
        return EncodedTable(values, observed, attr_obs)

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
            for j, col in enumerate(X.columns):
                rows = np.flatnonzero(missing[:, j])
                if rows.size == 0:
                    continue
                new = self._decode_column(j, C_imputed[rows, j])
                out[col] = _fill_series(out[col], rows, new, label=col)
            return out
        out = np.array(X, copy=True)
        if out.dtype.kind != "f":
            out = out.astype(np.float64)
        for j in range(out.shape[1]):
            rows = np.flatnonzero(missing[:, j])
            if rows.size:
                out[rows, j] = self._decode_column(j, C_imputed[rows, j])
        return out

    def _decode_column(self, j: int, codes: np.ndarray) -> np.ndarray:
        attr_i = self._attr_of_column[j]
        cats = self.categories[attr_i]
        if cats is not None:
            return cats[np.clip(np.round(codes).astype(np.intp), 0, len(cats) - 1)]
        return codes * self.scale[j] + self.loc[j]

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
                s = X.iloc[:, j]
                if not (
                    pd.api.types.is_numeric_dtype(s.dtype)
                    or pd.api.types.is_bool_dtype(s.dtype)
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
                col = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                try:
                    col = np.asarray(X[:, j], dtype=np.float64)
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


def _key(value):
    """Hashable, type-tolerant lookup key: 1, 1.0 and np.int64(1) are one category."""
    if isinstance(value, bool | np.bool_):
        return ("b", bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return ("n", float(value))
    return ("o", value)


def _isna(raw: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(raw), dtype=bool)


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


def _fill_series(s: pd.Series, rows: np.ndarray, new: np.ndarray, label) -> pd.Series:
    """Return a copy of ``s`` with positions ``rows`` set to ``new``, same dtype."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().copy()
        cat_index = {_key(c): i for i, c in enumerate(dtype.categories)}
        codes[rows] = [cat_index[_key(v)] for v in new]
        return pd.Series(
            pd.Categorical.from_codes(codes, dtype=dtype), index=s.index, name=s.name
        )
    if pd.api.types.is_integer_dtype(dtype):
        new = np.round(new.astype(float))  # integer columns stay integer
    elif isinstance(dtype, np.dtype) and dtype.kind == "f":
        # the models compute in float64 (or float32); a float32 column (images)
        # takes them rounded to its precision, as pandas refuses a lossy setitem
        new = np.asarray(new, dtype=float).astype(dtype)
    out = s.copy()
    try:
        out.iloc[rows] = new
        return out if out.dtype == dtype else out.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Could not write imputed values into column {label!r}: {exc}"
        ) from None
