"""Dask DataFrames in and out of the imputers (the optional ``dask`` extra).

``transform`` and ``sample`` of a Dask DataFrame are lazy ``map_partitions`` calls
whose ``meta`` comes from the fitted imputer (its input's dtypes with the fitted
category sets, its output's columns), never from running the imputer on Dask's
fake rows (their unknown categories would be rejected). The fitted imputer enters
the graph once, as a single ``dask.delayed`` node every partition task depends on,
so a cluster ships it to each worker once instead of embedding a copy in every task.

For ``fit`` this module only reads: :func:`summarize` reduces the partitions to the
statistics an encoder needs (one task per partition), :class:`DaskStream` streams
mini-batches from them, :func:`sample_rows` collects a random sample for the
methods that need every row in memory. The imputers decide which they use
(``BaseImputer._streamed_fit``) and set their fitted state themselves.

Nothing here imports dask at module import time: :func:`is_dask_frame` checks the
type by name, so the package works without the extra.
"""

from __future__ import annotations

import uuid
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
import torch

from ._data import TableSummary
from ._utils.torch_utils import TORCH_LOCK, seed_from
from .schema import Categorical, ColumnSpec, Image, Numerical
from .training import Batch, BatchStream, table_tensors

__all__ = [
    "DaskStream",
    "is_dask_frame",
    "meta",
    "sample_dask",
    "sample_rows",
    "summarize",
    "transform_dask",
]

#: rows of the random sample on which a method that needs every training row in
#: memory is fitted from a Dask DataFrame (:func:`sample_rows`)
SAMPLE_ROWS = 100_000

#: partitions whose rows are shuffled together before they are cut into batches
SHUFFLE_PARTITIONS = 4


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


def meta(ddf) -> pd.DataFrame:
    """The empty pandas frame that describes ``ddf``'s columns and dtypes."""
    return ddf._meta


# ----------------------------------------------------------- transform, sample
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


def input_meta(est, ddf) -> pd.DataFrame:
    """Empty frame with the dtypes every partition is given before imputing.

    A categorical column whose categories Dask does not know gets the fitted
    category set (:func:`_align_categories`).
    """
    out = meta(ddf).copy()
    for col, cats in est.encoder_.category_sets().items():
        dtype = out[col].dtype
        if isinstance(dtype, pd.CategoricalDtype) and not _known(dtype):
            out[col] = out[col].astype(pd.CategoricalDtype(list(cats)))
    return out


def output_meta(est, in_meta: pd.DataFrame) -> pd.DataFrame:
    """Empty frame with the columns and dtypes ``transform`` returns: the input's
    columns the imputer outputs, then the boolean columns of ``add_indicator``."""
    names = list(est.get_feature_names_out())
    n_flags = 0 if est.indicator_ is None else len(est.indicator_.features_)
    shown = names[: len(names) - n_flags]
    out = in_meta[shown].copy()
    for name in names[len(shown) :]:
        out[name] = pd.Series(dtype=bool)
    return out


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


def _transform_partition(part, est, in_meta, meta):
    if len(part) == 0:
        return meta
    part = _align_categories(part, in_meta, est.handle_unknown)
    with TORCH_LOCK:
        return est.transform(part)


def _partition_seed(seed: int, k: int, d: int) -> int:
    """Seed of draw ``d`` on partition ``k``: distinct per pair, reproducible."""
    return int(np.random.default_rng([seed, k, d]).integers(2**31 - 1))


def _sample_partition(part, est, in_meta, meta, seed, draw, partition_info=None):
    if len(part) == 0:
        return meta
    k = partition_info["number"] if partition_info is not None else 0
    part = _align_categories(part, in_meta, est.handle_unknown)
    with TORCH_LOCK:
        (out,) = est.sample(part, 1, random_state=_partition_seed(seed, k, draw))
    return out


def estimator_node(est):
    """One graph node holding the fitted imputer, shared by all partition tasks."""
    dask, _ = _import_dask()
    return dask.delayed(est, name=f"{type(est).__name__}-{uuid.uuid4().hex}")


def transform_dask(est, ddf):
    """Lazy ``est.transform`` of a Dask DataFrame (same partitions and index)."""
    _check_columns(est, ddf)
    in_meta = input_meta(est, ddf)
    out_meta = output_meta(est, in_meta)
    return ddf.map_partitions(
        _transform_partition, estimator_node(est), in_meta, out_meta, meta=out_meta
    )


def sample_dask(est, ddf, n_draws: int, random_state) -> list:
    """``n_draws`` lazy Dask DataFrames, each one completed copy of ``ddf``.

    Draw ``d`` of partition ``k`` is made with a seed derived from
    ``(seed, k, d)``: reproducible for the same partitioning, and no two partitions
    or draws share noise. The draws therefore differ from those of the in-memory
    ``sample`` on the same rows (which draws in sequence over all rows).
    """
    if not isinstance(n_draws, Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
    seed = seed_from(random_state)
    _check_columns(est, ddf)
    in_meta = input_meta(est, ddf)
    out_meta = output_meta(est, in_meta)
    node = estimator_node(est)
    return [
        ddf.map_partitions(
            _sample_partition, node, in_meta, out_meta, seed, d, meta=out_meta
        )
        for d in range(n_draws)
    ]


# ------------------------------------------------------------------------ fit
def sample_rows(ddf, max_rows: int, seed: int, name: str) -> pd.DataFrame:
    """The rows of ``ddf`` in memory, or a random sample of about ``max_rows`` of
    them (with a warning naming ``name``, the imputer that needs it)."""
    _import_dask()
    n = int(ddf.shape[0].compute())
    frac = min(1.0, max_rows / max(n, 1))
    if frac >= 1.0:
        return ddf.compute()
    warnings.warn(
        f"{name} needs every training row in memory: it is fitted on a random "
        f"sample of about {max_rows} of the {n} rows of the Dask DataFrame "
        "(deepimpute._dask.SAMPLE_ROWS).",
        UserWarning,
        stacklevel=4,
    )
    return ddf.sample(frac=frac, random_state=seed).compute()


def summarize(ddf, spec: ColumnSpec) -> TableSummary:
    """The :class:`~deepimpute._data.TableSummary` of ``ddf`` under ``spec``, from
    one pass over its partitions (:func:`_partition_stats`,
    :func:`_combine_stats`)."""
    dask, _ = _import_dask()
    names = list(ddf.columns)
    types = meta(ddf)
    positions = spec.positions(names, len(names))
    # what to reduce: ("cat", col, unique?), ("num", col), ("img", label, cols)
    plan: list = []
    for attr, pos in zip(spec, positions, strict=True):
        cols = [names[j] for j in pos]
        if isinstance(attr, Categorical):
            dtype = types[cols[0]].dtype
            unique = attr.categories is None and not (
                isinstance(dtype, pd.CategoricalDtype) and _known(dtype)
            )
            plan.append(("cat", cols[0], unique))
        elif isinstance(attr, Numerical):
            for col in cols:
                dtype = types[col].dtype
                if not (
                    pd.api.types.is_numeric_dtype(dtype)
                    or pd.api.types.is_bool_dtype(dtype)
                ):
                    raise ValueError(
                        f"Column {col!r} ({dtype}) cannot be fitted from a Dask "
                        "DataFrame: only numbers and categories are streamed; fit "
                        "on a pandas sample, or convert it (e.g. dates to int64)."
                    )
                plan.append(("num", col))
        elif isinstance(attr, Image):
            plan.append(("img", attr.label, cols))
    # one task per partition reduces it to a few numbers as soon as it is read:
    # memory holds one partition at a time, whatever the number of rows (Dask's
    # own reductions keep partitions alive across the several reductions)
    stats = dask.delayed(_partition_stats, pure=True)
    parts = [stats(part, plan) for part in ddf.to_delayed()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (per,) = dask.compute(dask.delayed(list)(parts))
    values = _combine_stats(per, plan, names)
    categories, dtypes = {}, {}
    for attr, pos in zip(spec, positions, strict=True):
        if not isinstance(attr, Categorical):
            continue
        col = names[pos[0]]
        dtype = types[col].dtype
        known = isinstance(dtype, pd.CategoricalDtype) and _known(dtype)
        if known:
            dtypes[col] = dtype
        if attr.categories is not None:
            categories[col] = list(attr.categories)
        elif ("unique", col) in values:
            categories[col] = list(pd.Series(values[("unique", col)]).dropna())
        else:
            categories[col] = list(dtype.categories)
    moments = {
        item[1]: tuple(values[(k, item[1])] for k in ("mean", "std", "min", "max"))
        for item in plan
        if item[0] == "num"
    }
    extremes = {
        item[1]: (values[("min", item[1])], values[("max", item[1])])
        for item in plan
        if item[0] == "img"
    }
    return TableSummary(
        names=names,
        dtypes=list(types.dtypes),
        n_rows=int(values["n"]),
        has_missing=np.asarray(values["has_missing"], dtype=bool),
        counts={
            k[1]: v
            for k, v in values.items()
            if isinstance(k, tuple) and k[0] == "count"
        },
        categories=categories,
        moments=moments,
        extremes=extremes,
        categorical_dtypes=dtypes,
    )


def _partition_stats(part: pd.DataFrame, plan: list) -> dict:
    """The statistics of one partition that :func:`_combine_stats` merges: row
    count, which columns have holes, per numerical column its count, mean, sum of
    squared deviations, minimum and maximum; per categorical column its count and
    (when wanted) its values in order of appearance; per image its count and
    extremes."""
    out: dict = {"n": len(part), "has_missing": part.isna().any().to_numpy()}
    for item in plan:
        if item[0] == "cat":
            col = part[item[1]]
            out[("count", item[1])] = int(col.count())
            if item[2]:
                out[("unique", item[1])] = list(col.dropna().unique())
        elif item[0] == "num":
            x = part[item[1]].to_numpy(dtype="float64", na_value=np.nan)
            x = x[~np.isnan(x)]
            c = len(x)
            m = float(x.mean()) if c else 0.0
            out[("num", item[1])] = (
                c,
                m,
                float(((x - m) ** 2).sum()) if c else 0.0,
                float(x.min()) if c else np.nan,
                float(x.max()) if c else np.nan,
            )
        else:
            x = part[item[2]].to_numpy(dtype="float64", na_value=np.nan)
            c = int((~np.isnan(x)).sum())
            out[("img", item[1])] = (
                c,
                float(np.nanmin(x)) if c else np.nan,
                float(np.nanmax(x)) if c else np.nan,
            )
    return out


def _combine_stats(per: list, plan: list, names: list) -> dict:
    """The table's statistics from those of its partitions (means and spreads
    merged pairwise, Chan et al.'s update), keyed as :func:`summarize` reads
    them."""
    values: dict = {
        "n": sum(p["n"] for p in per),
        "has_missing": pd.Series(
            np.logical_or.reduce([p["has_missing"] for p in per])
            if per
            else np.zeros(len(names), dtype=bool),
            index=names,
        ),
    }
    for item in plan:
        key = item[1]
        if item[0] == "cat":
            values[("count", key)] = sum(p[("count", key)] for p in per)
            if item[2]:
                seen = dict.fromkeys(v for p in per for v in p[("unique", key)])
                values[("unique", key)] = list(seen)
        elif item[0] == "num":
            n, mean, m2 = 0, 0.0, 0.0
            lo, hi = np.inf, -np.inf
            for p in per:
                c, m, q, a, b = p[("num", key)]
                if not c:
                    continue
                delta = m - mean
                total = n + c
                mean += delta * c / total
                m2 += q + delta * delta * n * c / total
                n = total
                lo, hi = min(lo, a), max(hi, b)
            values[("count", key)] = n
            values[("mean", key)] = mean if n else np.nan
            values[("std", key)] = float(np.sqrt(m2 / n)) if n else np.nan
            values[("min", key)] = lo if n else np.nan
            values[("max", key)] = hi if n else np.nan
        else:
            found = [p[("img", key)] for p in per if p[("img", key)][0]]
            values[("count", key)] = sum(f[0] for f in found)
            values[("min", key)] = min((f[1] for f in found), default=np.nan)
            values[("max", key)] = max((f[2] for f in found), default=np.nan)
    return values


class DaskStream(BatchStream):
    """Mini-batches read partition by partition from a Dask DataFrame.

    Validation rows are held out by partition: a seeded random
    ``validation_fraction`` of the partitions (none with a single partition). Every
    epoch visits the training partitions in a new order (torch's seeded generator)
    and shuffles the rows of :data:`SHUFFLE_PARTITIONS` partitions at a time
    before cutting them into batches, so memory holds a few partitions, never the
    table. Under ``torch.distributed`` each rank keeps every ``world``-th
    partition of both sets.
    """

    def __init__(
        self, ddf, encoder, n_rows, *, validation_fraction, seed, device,
        scheduler=None,
    ):
        self.parts = ddf.to_delayed()
        self.encoder, self.n_rows, self.device = encoder, n_rows, device
        self.scheduler = scheduler
        P = len(self.parts)
        n_val = int(round(validation_fraction * P)) if validation_fraction > 0 else 0
        n_val = min(n_val, P - 1)
        order = np.random.default_rng(seed).permutation(P)
        self.val_parts = np.sort(order[:n_val])
        self.train_parts = np.sort(order[n_val:])
        self._has_validation = n_val > 0

    @property
    def has_validation(self) -> bool:
        return self._has_validation

    def shard(self, rank: int, world: int) -> None:
        if len(self.train_parts) < world:
            raise ValueError(
                f"The Dask DataFrame has {len(self.train_parts)} training partitions "
                f"for {world} ranks; repartition it into at least {world}."
            )
        self.train_parts = self.train_parts[rank::world]
        self.val_parts = self.val_parts[rank::world]

    def _load(self, k):
        part = self.parts[int(k)].compute(scheduler=self.scheduler)
        _, data = self.encoder.encode(part)
        return table_tensors(data)

    def _batches(self, tensors, batch_size, shuffle, keep_tail):
        """Batches of ``tensors``; returns the leftover rows when ``keep_tail``."""
        n = tensors[0].shape[0]
        rows = (
            torch.randperm(n, device="cpu")
            if shuffle
            else torch.arange(n, device="cpu")
        )
        full = (n // batch_size) * batch_size if keep_tail else n
        batches = []
        for start in range(0, full, batch_size):
            idx = rows[start : start + batch_size]
            if len(idx) < 2 and batches:  # BatchNorm needs 2 rows: merge a single
                prev = batches.pop()
                idx = torch.cat([prev, idx])
            batches.append(idx)
        tail = tuple(t[rows[full:]] for t in tensors) if keep_tail else None
        return batches, tail

    def _emit(self, tensors, idx):
        x, obs, attr = (t[idx].to(self.device, non_blocking=True) for t in tensors)
        return Batch(x, obs, attr, idx.to(self.device))

    def train_batches(self, batch_size: int):
        order = self.train_parts[
            torch.randperm(len(self.train_parts), device="cpu").numpy()
        ]
        buffer: list = []
        for i, k in enumerate(order):
            buffer.append(self._load(k))
            last = i == len(order) - 1
            if len(buffer) < SHUFFLE_PARTITIONS and not last:
                continue
            tensors = tuple(torch.cat(ts) for ts in zip(*buffer, strict=True))
            batches, tail = self._batches(tensors, batch_size, True, not last)
            for idx in batches:
                yield self._emit(tensors, idx)
            buffer = [tail] if tail is not None and len(tail[0]) else []

    def validation_batches(self, batch_size: int):
        for k in self.val_parts:
            tensors = self._load(k)
            batches, _ = self._batches(tensors, batch_size, False, False)
            for idx in batches:
                yield self._emit(tensors, idx)
