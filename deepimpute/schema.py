"""Describe a table as attribute groups: the unit of missingness for the models.

An *attribute* is one numerical column, one categorical column (modelled one-hot) or a
block of columns forming an image. A :class:`ColumnSpec` is an ordered tuple of
attributes whose columns partition the table. It is a plain description (no fitted
state, no torch); :class:`deepimpute._data.TableEncoder` fits it to data and
:class:`ModelLayout` is what the torch models see.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "Numerical",
    "Categorical",
    "Image",
    "Attribute",
    "ColumnSpec",
    "AttributeLayout",
    "ModelLayout",
]

Kind = Literal["numerical", "categorical", "image"]


@dataclass(frozen=True)
class Numerical:
    """One real-valued column, standardised with the observed mean and std.

    Parameters
    ----------
    column : hashable
        Column name (DataFrame) or integer position (ndarray).
    """

    column: Hashable
    kind = "numerical"

    @property
    def name(self) -> str:
        return str(self.column)

    @property
    def columns(self) -> tuple[Hashable, ...]:
        return (self.column,)


@dataclass(frozen=True)
class Categorical:
    """One column with a finite set of categories, modelled as a one-hot block.

    Parameters
    ----------
    column : hashable
        Column name (DataFrame) or integer position (ndarray).
    categories : tuple, optional
        The allowed categories in a fixed order. Learned from the observed training
        values when omitted.
    """

    column: Hashable
    categories: tuple | None = None
    kind = "categorical"

    @property
    def name(self) -> str:
        return str(self.column)

    @property
    def columns(self) -> tuple[Hashable, ...]:
        return (self.column,)


@dataclass(frozen=True)
class Image:
    """A block of columns forming one image (or any vector modality).

    Values are mapped to [0, 1] with the observed minimum and maximum of the block
    (so 0-255 pixels are fine). Missingness may be per image or per pixel.

    Parameters
    ----------
    columns : sequence of hashable
        The pixel columns, in row-major order of ``shape``.
    shape : tuple of int
        Image shape, e.g. ``(28, 28)``; its product must equal ``len(columns)``.
    name : str, optional
        Attribute name used in messages and reports. Defaults to the first column.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Pixel likelihood used by the deep models (continuous Bernoulli-style
        cross-entropy on [0, 1] values, or a unit-variance Gaussian).
    """

    columns: tuple
    shape: tuple[int, ...]
    name: str | None = None
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    kind = "image"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if int(np.prod(self.shape)) != len(self.columns):
            raise ValueError(
                f"Image {self.label!r}: shape {self.shape} holds "
                f"{int(np.prod(self.shape))} values but {len(self.columns)} columns "
                "were given."
            )
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"Image {self.label!r}: likelihood must be 'bernoulli' or 'gaussian', "
                f"got {self.likelihood!r}."
            )

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"image@{self.columns[0]}"


Attribute = Numerical | Categorical | Image


def _attr_name(attr: Attribute) -> str:
    return attr.label if isinstance(attr, Image) else attr.name


class ColumnSpec:
    """An ordered description of a table as attributes.

    Parameters
    ----------
    attributes : iterable of Numerical, Categorical or Image
        Every column of the table must belong to exactly one attribute; this is
        checked against the data when an imputer is fitted.

    Examples
    --------
    >>> from deepimpute import ColumnSpec, Numerical, Categorical
    >>> spec = ColumnSpec([Numerical("age"), Categorical("sex")])
    >>> spec.kinds
    ('numerical', 'categorical')
    """

    def __init__(self, attributes: Iterable[Attribute]) -> None:
        attrs = tuple(attributes)
        if not attrs:
            raise ValueError("ColumnSpec needs at least one attribute.")
        seen: dict[Hashable, str] = {}
        for attr in attrs:
            if not isinstance(attr, Numerical | Categorical | Image):
                raise TypeError(
                    "ColumnSpec attributes must be Numerical, Categorical or Image, "
                    f"got {type(attr).__name__}."
                )
            for col in attr.columns:
                if col in seen:
                    raise ValueError(
                        f"Column {col!r} appears in two attributes "
                        f"({seen[col]!r} and {_attr_name(attr)!r})."
                    )
                seen[col] = _attr_name(attr)
        self._attributes = attrs

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        return self._attributes

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(_attr_name(a) for a in self._attributes)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(a.kind for a in self._attributes)

    @property
    def columns(self) -> tuple[Hashable, ...]:
        return tuple(c for a in self._attributes for c in a.columns)

    def __len__(self) -> int:
        return len(self._attributes)

    def __iter__(self):
        return iter(self._attributes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColumnSpec) and self._attributes == other._attributes

    def __hash__(self) -> int:
        return hash(self._attributes)

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self._attributes)
        return f"ColumnSpec([{inner}])"

    @classmethod
    def infer(cls, X, *, max_levels: int | None = None) -> ColumnSpec:
        """Infer a spec from a DataFrame's dtypes or from an array.

        Numeric dtypes become :class:`Numerical`, and so do dates (datetime64,
        naive or tz-aware), durations (timedelta64) and periods, on their int64
        time axis; object, string, category and bool dtypes (numpy or nullable)
        become :class:`Categorical`. Column labels may be of any hashable type.
        With ``max_levels``, integer-valued numeric columns with at most that many
        distinct observed values become categorical too. A plain array gives one
        numerical attribute per column.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        max_levels : int, optional
            Threshold of the integer-column heuristic; off by default.

        Returns
        -------
        ColumnSpec
        """
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            attrs: list[Attribute] = []
            for j, col in enumerate(X.columns):
                s = X.iloc[:, j]
                if _is_categorical_dtype(s.dtype):
                    attrs.append(Categorical(col))
                elif (
                    max_levels is not None
                    and pd.api.types.is_numeric_dtype(s.dtype)
                    and _integer_valued(s)
                    and s.nunique(dropna=True) <= max_levels
                ):
                    attrs.append(Categorical(col))
                else:
                    attrs.append(Numerical(col))
            return cls(attrs)
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(
                f"Expected a 2-D table, got an array of shape {arr.shape}."
            )
        return cls([Numerical(j) for j in range(arr.shape[1])])

    def positions(self, feature_names: Sequence[Hashable] | None, n_features: int):
        """Map every attribute to column positions and check the partition.

        Returns
        -------
        list of ndarray of int
            The positions of each attribute's columns, in spec order.
        """
        labels = list(feature_names) if feature_names is not None else None
        exact = labels if labels is not None else list(range(n_features))
        # Accept str labels for non-str columns (CSV round trips), but an exact
        # label always wins over another column's str alias (columns 0 and "0").
        lookup: dict = {str(c): i for i, c in enumerate(exact)}
        lookup.update({c: i for i, c in enumerate(exact)})
        out = []
        used = np.zeros(n_features, dtype=bool)
        for attr in self._attributes:
            pos = []
            for col in attr.columns:
                if col not in lookup:
                    where = (
                        "the data's columns"
                        if feature_names is not None
                        else (f"positions 0..{n_features - 1}")
                    )
                    raise ValueError(
                        f"ColumnSpec attribute {_attr_name(attr)!r} names column "
                        f"{col!r}, which is not among {where}."
                    )
                pos.append(lookup[col])
            pos_arr = np.asarray(pos, dtype=np.intp)
            used[pos_arr] = True
            out.append(pos_arr)
        if not used.all():
            missing = np.flatnonzero(~used)
            names = (
                [feature_names[i] for i in missing[:5]]
                if feature_names is not None
                else list(missing[:5])
            )
            raise ValueError(
                f"ColumnSpec leaves {len(missing)} column(s) undescribed, e.g. "
                f"{names}; every column must belong to one attribute."
            )
        return out


def _is_categorical_dtype(dtype) -> bool:
    import pandas as pd

    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _integer_valued(s) -> bool:
    v = s.dropna().to_numpy(dtype=float, na_value=np.nan)
    return v.size > 0 and bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


@dataclass(frozen=True)
class AttributeLayout:
    """Where one attribute lives in the model's vector (no data, no torch)."""

    name: str
    kind: Kind
    start: int
    width: int
    shape: tuple[int, ...] | None = None
    likelihood: str | None = None

    @property
    def stop(self) -> int:
        return self.start + self.width

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class ModelLayout:
    """The model-space layout of a table: attributes side by side.

    Numerical attributes take one slot (standardised value), categorical ones a
    one-hot block of ``n_categories`` slots, images one slot per pixel in [0, 1].
    """

    attributes: tuple[AttributeLayout, ...]

    @property
    def n_attributes(self) -> int:
        return len(self.attributes)

    @property
    def width(self) -> int:
        return self.attributes[-1].stop if self.attributes else 0

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(a.width for a in self.attributes)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(a.kind for a in self.attributes)

    def attribute_index(self) -> np.ndarray:
        """Attribute id of every model slot, shape ``(width,)``."""
        return np.repeat(np.arange(self.n_attributes), self.widths)
