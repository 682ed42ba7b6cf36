"""Columns entirely missing at fit: which they are, the spec without them, and the
0-filled column of ``keep_empty_features`` (scikit-learn's behaviour).

Such a column never reaches the encoder: it has nothing to learn from. The output
leaves it out, or keeps it with its missing entries set to 0.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..schema import ColumnSpec, Image

__all__ = ["empty_attributes", "fill_empty", "kept", "restrict_spec", "with_empty"]


def empty_attributes(missing: np.ndarray, positions) -> np.ndarray:
    """Per column: does it belong to an attribute entirely missing (every column of
    an image; a single column otherwise)?"""
    empty = np.zeros(missing.shape[1], dtype=bool)
    col_empty = missing.all(axis=0)
    for pos in positions:
        if col_empty[pos].all():
            empty[pos] = True
    return empty


def restrict_spec(spec: ColumnSpec, positions, keep: np.ndarray, positional: bool):
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


def column(X, j: int):
    return X.iloc[:, j] if isinstance(X, pd.DataFrame) else X[:, j]


def kept(X, empty: np.ndarray):
    """``X`` without the columns marked ``empty`` (the encoder's view)."""
    if not empty.any():
        return X
    keep = np.flatnonzero(~empty)
    return X.iloc[:, keep] if isinstance(X, pd.DataFrame) else X[:, keep]


def fill_empty(col, label):
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


def with_empty(X, out, empty: np.ndarray, label):
    """Full-width output: imputed columns from ``out``, the ``empty`` ones from
    ``X`` with their missing entries set to 0; ``label(j)`` names column ``j``."""
    keep = np.flatnonzero(~empty)
    if isinstance(X, pd.DataFrame):
        res = X.copy()
        for k, j in enumerate(keep):
            res.isetitem(int(j), out.iloc[:, k].array)
        for j in np.flatnonzero(empty):
            res.isetitem(int(j), fill_empty(X.iloc[:, j], label(j)).array)
        return res
    res = np.empty(X.shape, dtype=np.result_type(out.dtype, X.dtype))
    res[:, keep] = out
    for j in np.flatnonzero(empty):
        res[:, j] = fill_empty(X[:, j], label(j))
    return res
