"""Rows in chunks: ``transform`` and ``sample`` encode, impute and assemble a
bounded number of rows at a time, whatever the table's length."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["chunk_seed", "concat_rows", "row_chunks"]


def row_chunks(X, step: int):
    """Consecutive row slices (views) of ``X`` of ``step`` rows."""
    rows = X.iloc if isinstance(X, pd.DataFrame) else X
    for start in range(0, X.shape[0], int(step)):
        yield rows[start : start + int(step)]


def concat_rows(pieces: list):
    """Stack assembled row chunks; a single chunk is returned as it is."""
    if len(pieces) == 1:
        return pieces[0]
    if isinstance(pieces[0], pd.DataFrame):
        # every piece has the input's columns and dtypes, so concat keeps them
        return pd.concat(pieces, axis=0)
    return np.concatenate(pieces, axis=0)


def chunk_seed(seed: int, k: int) -> int:
    """Seed of chunk ``k`` of a ``sample`` call.

    The first chunk keeps ``seed``, so an input of one chunk draws exactly as
    before chunking; later chunks get a seed derived from ``(seed, k)`` so that no
    two chunks share noise (``seed + k`` would not do: the deep samplers seed draw
    ``d`` with ``seed + d``, so chunk ``k`` would replay draw ``d + k`` of chunk 0).
    """
    if k == 0:
        return seed
    return int(np.random.default_rng([seed, k]).integers(2**31 - 1))
