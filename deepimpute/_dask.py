"""Dask DataFrames in and out of the imputers (the optional ``dask`` extra).

``transform`` and ``sample`` of a Dask DataFrame are lazy ``map_partitions`` calls
whose ``meta`` comes from the fitted encoder, never from running the imputer on
Dask's fake rows (their unknown categories would be rejected). The fitted imputer
enters the graph once, as a single ``dask.delayed`` node every partition task
depends on, so a cluster ships it to each worker once instead of embedding a copy
in every task.

``fit`` of a Dask DataFrame is in :func:`fit_dask`: the encoder's statistics come
from one pass of Dask reductions, deep imputers then train on mini-batches streamed
from the partitions (:class:`PartitionStream`), methods that need every row in
memory fit on a random sample with a warning.

Nothing here imports dask at module import time: :func:`is_dask_frame` checks the
type by name, so the package works without the extra.
"""

from __future__ import annotations

import threading
import uuid
import warnings

import numpy as np
import pandas as pd

__all__ = ["is_dask_frame", "transform_dask", "sample_dask"]

#: The models draw their noise from torch's global generator inside ``seeded``;
#: two partitions imputed at once by threads of one process would interleave their
#: draws. Partitions of one process are therefore imputed one at a time (torch
#: still uses its intra-op threads); use worker processes for parallelism.
_TORCH_LOCK = threading.Lock()


def is_dask_frame(X) -> bool:
    """Whether ``X`` is a ``dask.dataframe.DataFrame`` (without importing dask)."""
    module = type(X).__module__ or ""
    return module.startswith("dask") and hasattr(X, "map_partitions")


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError(
            "Dask input needs the optional dependencies: pip install "
            "'deepimpute-vae[dask]'"
        ) from exc
    return dask, dd


def _check_columns(est, ddf) -> None:
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        raise TypeError(
            f"{type(est).__name__} was fitted on an array; a Dask DataFrame needs an "
            "imputer fitted on a DataFrame with the same columns."
        )
    cols = list(ddf.columns)
    if cols != list(names):
        missing = [c for c in names if c not in cols]
        extra = [c for c in cols if c not in list(names)]
        raise ValueError(
            "The Dask DataFrame's columns differ from those seen at fit "
            f"(missing: {missing}, unexpected: {extra}, or another order)."
        )


def output_meta(est, ddf) -> pd.DataFrame:
    """Empty frame with the columns and dtypes ``transform`` returns for ``ddf``.

    The pandas path returns the input's dtypes; a categorical column whose
    categories Dask does not know gets the fitted category set, which is what every
    partition is given before imputing (:func:`_align_categories`).
    """
    meta = ddf._meta.copy()
    enc = est.encoder_
    for j, col in enumerate(meta.columns):
        dtype = meta.dtypes.iloc[j]
        cats = enc.categories[enc._attr_of_column[j]]
        if isinstance(dtype, pd.CategoricalDtype) and cats is not None:
            if not _known(dtype):
                meta[col] = meta[col].astype(pd.CategoricalDtype(list(cats)))
    return meta


def _known(dtype: pd.CategoricalDtype) -> bool:
    from dask.dataframe.utils import UNKNOWN_CATEGORIES

    return UNKNOWN_CATEGORIES not in dtype.categories


def _align_categories(part: pd.DataFrame, meta: pd.DataFrame, handle_unknown: str):
    """Give a partition's categorical columns the dtype ``meta`` promises.

    Only columns whose partition dtype differs (Dask's unknown categories) are
    touched; an observed label outside the fitted categories is an error naming the
    column, or a missing cell with a warning under ``handle_unknown="missing"``.
    """
    out = None
    for col in meta.columns:
        want, have = meta[col].dtype, part[col].dtype
        if not isinstance(want, pd.CategoricalDtype) or want == have:
            continue
        out = part.copy() if out is None else out
        codes = want.categories.get_indexer(part[col].astype(object))
        lost = part[col].notna().to_numpy() & (codes < 0)
        new = pd.Series(
            pd.Categorical.from_codes(codes, dtype=want), index=part.index, name=col
        )
        if lost.any():
            labels = sorted({str(v) for v in part[col][lost]})[:5]
            if handle_unknown == "error":
                raise ValueError(
                    f"Column {col!r} holds categories not seen at fit: {labels}."
                )
            warnings.warn(
                f"Column {col!r}: categories not seen at fit ({labels}) are treated "
                "as missing.",
                UserWarning,
                stacklevel=2,
            )
        out[col] = new
    return part if out is None else out


def _transform_partition(part, est, meta):
    if len(part) == 0:
        return meta
    part = _align_categories(part, meta, est.handle_unknown)
    with _TORCH_LOCK:
        return est.transform(part)


def _partition_seed(seed: int, k: int, d: int) -> int:
    """Seed of draw ``d`` on partition ``k``: distinct per pair, reproducible."""
    return int(np.random.default_rng([seed, k, d]).integers(2**31 - 1))


def _sample_partition(part, est, meta, seed, draw, partition_info=None):
    if len(part) == 0:
        return meta
    k = partition_info["number"] if partition_info is not None else 0
    part = _align_categories(part, meta, est.handle_unknown)
    with _TORCH_LOCK:
        (out,) = est.sample(part, 1, random_state=_partition_seed(seed, k, draw))
    return out


def _estimator_node(est):
    dask, _ = _import_dask()
    # one graph node holding the fitted imputer, shared by all partition tasks
    return dask.delayed(est, name=f"{type(est).__name__}-{uuid.uuid4().hex}")


def transform_dask(est, ddf):
    """Lazy ``est.transform`` of a Dask DataFrame (same partitions and index)."""
    _check_columns(est, ddf)
    meta = output_meta(est, ddf)
    return ddf.map_partitions(
        _transform_partition, _estimator_node(est), meta, meta=meta
    )


def sample_dask(est, ddf, n_draws: int, random_state) -> list:
    """``n_draws`` lazy Dask DataFrames, each one completed copy of ``ddf``.

    Draw ``d`` of partition ``k`` is made with a seed derived from
    ``(seed, k, d)``: reproducible for the same partitioning, and no two partitions
    or draws share noise. The draws therefore differ from those of the in-memory
    ``sample`` on the same rows (which draws in sequence over all rows).
    """
    from numbers import Integral

    from ._utils.torch_utils import seed_from

    if not isinstance(n_draws, Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
    seed = seed_from(random_state)
    _check_columns(est, ddf)
    meta = output_meta(est, ddf)
    node = _estimator_node(est)
    return [
        ddf.map_partitions(_sample_partition, node, meta, seed, d, meta=meta)
        for d in range(n_draws)
    ]
