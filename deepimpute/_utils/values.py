"""Cell-level helpers shared by the table codec, the metrics and the masks."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cell_na", "isna", "label_key"]


def label_key(value):
    """Hashable, type-tolerant label key: 1, 1.0 and np.int64(1) are one label.

    Bools, numbers and other objects are kept apart, so ``True`` and ``1`` differ.
    """
    if isinstance(value, bool | np.bool_):
        return ("b", bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return ("n", float(value))
    return ("o", value)


def isna(raw) -> np.ndarray:
    """Boolean missing mask of any array (``None``, ``NaN``, ``NaT``, ``pd.NA``)."""
    return np.asarray(pd.isna(raw), dtype=bool)


def cell_na(X) -> np.ndarray:
    """Missing mask of a 2-D table: DataFrame, float array or object array."""
    if isinstance(X, pd.DataFrame):
        return X.isna().to_numpy()
    X = np.asarray(X)
    if X.dtype.kind in "fc":
        return np.isnan(X)
    if X.dtype.kind in "iub":
        # Integer and bool arrays cannot hold a missing value.
        return np.zeros(X.shape, dtype=bool)
    return isna(X)
