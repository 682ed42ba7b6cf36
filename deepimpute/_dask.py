"""Dask DataFrames in and out of the imputers (the optional ``dask`` extra).

``transform`` and ``sample`` of a Dask DataFrame are lazy ``map_partitions`` calls
whose ``meta`` comes from the fitted encoder, never from running the imputer on
Dask's fake rows (their unknown categories would be rejected). The fitted imputer
enters the graph once, as a single ``dask.delayed`` node every partition task
depends on, so a cluster ships it to each worker once instead of embedding a copy
in every task.

``fit`` of a Dask DataFrame is in :func:`fit_dask`: the encoder's statistics come
from one pass over the partitions, deep imputers then train on mini-batches streamed
from the partitions (:class:`DaskStream`), methods that need every row in
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
import torch

from .training import Batch, BatchStream, table_tensors

__all__ = [
    "DaskStream",
    "fit_dask",
    "is_dask_frame",
    "prepare_streamed_fit",
    "sample_dask",
    "train_streamed",
    "transform_dask",
]

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


def input_meta(est, ddf) -> pd.DataFrame:
    """Empty frame with the dtypes every partition is given before imputing.

    A categorical column whose categories Dask does not know gets the fitted
    category set (:func:`_align_categories`).
    """
    meta = ddf._meta.copy()
    enc = est.encoder_
    # the encoder sees the columns kept at fit (entirely missing ones left out)
    for k, j in enumerate(np.flatnonzero(~est._empty_)):
        col, dtype = meta.columns[j], meta.dtypes.iloc[j]
        cats = enc.categories[enc._attr_of_column[k]]
        if isinstance(dtype, pd.CategoricalDtype) and cats is not None:
            if not _known(dtype):
                meta[col] = meta[col].astype(pd.CategoricalDtype(list(cats)))
    return meta


def output_meta(est, in_meta: pd.DataFrame) -> pd.DataFrame:
    """Empty frame with the columns and dtypes ``transform`` returns: the input's,
    less the columns entirely missing at fit (unless ``keep_empty_features``), and
    the boolean columns of ``add_indicator``."""
    shown = np.ones(in_meta.shape[1], dtype=bool)
    if not est.keep_empty_features:
        shown = ~est._empty_
    meta = in_meta.iloc[:, np.flatnonzero(shown)].copy()
    if est.indicator_ is not None:
        names = est.get_feature_names_out()[meta.shape[1]:]
        for name in names:
            meta[name] = pd.Series(dtype=bool)
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


def _transform_partition(part, est, in_meta, meta):
    if len(part) == 0:
        return meta
    part = _align_categories(part, in_meta, est.handle_unknown)
    with _TORCH_LOCK:
        return est.transform(part)


def _partition_seed(seed: int, k: int, d: int) -> int:
    """Seed of draw ``d`` on partition ``k``: distinct per pair, reproducible."""
    return int(np.random.default_rng([seed, k, d]).integers(2**31 - 1))


def _sample_partition(part, est, in_meta, meta, seed, draw, partition_info=None):
    if len(part) == 0:
        return meta
    k = partition_info["number"] if partition_info is not None else 0
    part = _align_categories(part, in_meta, est.handle_unknown)
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
    in_meta = input_meta(est, ddf)
    meta = output_meta(est, in_meta)
    return ddf.map_partitions(
        _transform_partition, _estimator_node(est), in_meta, meta, meta=meta
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
    in_meta = input_meta(est, ddf)
    meta = output_meta(est, in_meta)
    node = _estimator_node(est)
    return [
        ddf.map_partitions(_sample_partition, node, in_meta, meta, seed, d, meta=meta)
        for d in range(n_draws)
    ]


# ---------------------------------------------------------------------------- fit

#: rows of the random sample on which a method that needs every training row in
#: memory is fitted from a Dask DataFrame (see ``fit_dask``)
SAMPLE_ROWS = 100_000

#: partitions whose rows are shuffled together before they are cut into batches
SHUFFLE_PARTITIONS = 4


def _streamed_classes() -> tuple:
    """Imputers trained on batches streamed from the partitions: every deep method
    whose parameters are shared across rows and whose fit needs nothing but the
    encoder's statistics and mini-batches."""
    from .imputers import (
        FactVAEImputer,
        HIVAEImputer,
        MIWAEImputer,
        VAEImputer,
        VSAEImputer,
    )

    return (VAEImputer, MIWAEImputer, HIVAEImputer, VSAEImputer, FactVAEImputer)


def fit_dask(est, ddf):
    """``est.fit`` of a Dask DataFrame; returns ``est``.

    Streamed methods (:func:`_streamed_classes`) get the encoder's statistics from
    one pass over the partitions and train on mini-batches streamed from the
    partitions (:class:`DaskStream`); memory is bounded by a few partitions. Every
    other method (MissForest, MICE, GAIN and MisGAN, whose fit needs the range of
    every column in model space, RVI / VAD with one posterior per training row, the
    mean / mode and scikit-learn adapters) is fitted on a random sample of at most
    :data:`SAMPLE_ROWS` rows, with a warning when the sample is not the whole table.
    """
    _import_dask()
    if not isinstance(est, _streamed_classes()):
        return _fit_on_sample(est, ddf)
    n_rows = prepare_streamed_fit(est, ddf)
    return train_streamed(est, ddf, n_rows)


def prepare_streamed_fit(est, ddf) -> int:
    """Everything of a streamed fit but the training: the column checks, the
    encoder's statistics (one pass over the partitions) and the base contract's
    fitted state. Returns the number of rows of ``ddf``.

    Split from :func:`train_streamed` so that a launcher can run the reductions
    once on a cluster and send the prepared imputer to every rank
    (:func:`deepimpute.distributed.fit_on_dask`).
    """
    from ._utils.torch_utils import seed_from
    from .schema import ColumnSpec

    names = np.asarray(list(ddf.columns), dtype=object)
    if len(names) == 0:
        raise ValueError("X has 0 columns; there is nothing to impute.")
    est.feature_names_in_ = names
    est.n_features_in_ = len(names)
    # what a fit on a pandas frame records (transform then takes frames as frames)
    est._frame_columns_ = list(ddf.columns)
    est._frame_dtypes_ = list(ddf._meta.dtypes)
    spec = (
        est.column_spec if est.column_spec is not None else ColumnSpec.infer(ddf._meta)
    )
    est.spec_ = spec
    est.encoder_, n_rows, values = fit_encoder(spec, est.handle_unknown, ddf)
    if n_rows < 2:
        raise ValueError(f"Found {n_rows} sample(s) while a minimum of 2 is required.")
    _fit_contract(est, ddf, values)
    est.seed_ = seed_from(est.random_state)
    return n_rows


def train_streamed(est, ddf, n_rows: int, scheduler=None):
    """Train a prepared imputer (:func:`prepare_streamed_fit`) on mini-batches
    streamed from the partitions of ``ddf``; returns ``est``.

    ``scheduler`` is the Dask scheduler that reads each partition (None: Dask's
    default); under a process group each rank reads only its own partitions.
    """
    from ._utils.torch_utils import resolve_device

    stream = DaskStream(
        ddf,
        est.encoder_,
        n_rows,
        validation_fraction=est.validation_fraction,
        seed=est.seed_,
        device=resolve_device(est.device),
        scheduler=scheduler,
    )
    est._fit(None, stream, est.seed_)
    return est


def _fit_contract(est, ddf, values: dict) -> None:
    """The fitted state of the base contract that a streamed fit does not get from
    ``BaseImputer._fit_input``: no empty column (the encoder refused them by name),
    the missing indicator and the numerical bounds, from the reductions of
    :func:`fit_encoder` (which columns have holes; each numerical column's
    extremes)."""
    from sklearn.impute import MissingIndicator

    from .imputers._base import _as_nan, _is_na_marker

    if not _is_na_marker(est.missing_values):
        raise ValueError(
            f"missing_values={est.missing_values!r} is not supported when fitting "
            "from a Dask DataFrame; mark the holes as missing first (e.g. "
            "ddf.mask(ddf == marker)) and keep the default missing_values."
        )
    enc = est.encoder_
    names = list(ddf.columns)
    p = len(names)
    est._empty_ = np.zeros(p, dtype=bool)
    numerical = [
        int(pos[0])
        for lay, pos in zip(enc.layout.attributes, enc.positions, strict=True)
        if lay.kind == "numerical"
    ]
    est.indicator_ = None
    if est.add_indicator:
        mask = np.zeros((2, p), dtype=bool)
        mask[0] = np.asarray(values["has_missing"], dtype=bool)
        est.indicator_ = MissingIndicator(error_on_new=False).fit(_as_nan(mask))
    # the observed extremes of each numerical column, as column codes
    C = np.full((2, p), np.nan)
    for j in numerical:
        lo, hi = values[("min", names[j])], values[("max", names[j])]
        C[:, j] = (np.array([lo, hi]) - enc.loc[j]) / enc.scale[j]
    est._fit_bounds(C)


def _fit_on_sample(est, ddf):
    from ._utils.torch_utils import seed_from

    n = int(ddf.shape[0].compute())
    frac = min(1.0, SAMPLE_ROWS / max(n, 1))
    if frac < 1.0:
        warnings.warn(
            f"{type(est).__name__} needs every training row in memory: it is fitted "
            f"on a random sample of about {SAMPLE_ROWS} of the {n} rows of the Dask "
            "DataFrame (deepimpute._dask.SAMPLE_ROWS).",
            UserWarning,
            stacklevel=3,
        )
        sample = ddf.sample(frac=frac, random_state=seed_from(est.random_state))
        X = sample.compute()
    else:
        X = ddf.compute()
    return est.fit(X)


def fit_encoder(spec, handle_unknown: str, ddf):
    """A fitted :class:`~deepimpute._data.TableEncoder` from one pass over the
    partitions of ``ddf`` (:func:`_partition_stats`, :func:`_combine_stats`);
    returns ``(encoder, n_rows, values)``, ``values`` the reduced statistics
    (``("min", col)``, ``("max", col)`` of numerical columns and ``"has_missing"``
    per column, read again by :func:`_fit_contract`).

    The entry point into the encoder is its own ``fit``, run on a small frame
    built from the reductions: it holds every category of each categorical column
    and, for numerical columns, two values with the observed mean and spread
    (images: the observed minimum and maximum). The numerical mean and standard
    deviation are then set to the reduced values exactly (the two-row frame
    reproduces them only up to rounding).
    """
    dask, _ = _import_dask()
    from ._data import TableEncoder
    from .schema import Categorical, Image, Numerical

    names = list(ddf.columns)
    positions = spec.positions(names, len(names))
    # what to reduce: ("cat", col, unique?), ("num", col), ("img", label, cols)
    plan: list = []
    for attr, pos in zip(spec, positions, strict=True):
        cols = [names[j] for j in pos]
        if isinstance(attr, Categorical):
            dtype = ddf._meta[cols[0]].dtype
            unique = attr.categories is None and not (
                isinstance(dtype, pd.CategoricalDtype) and _known(dtype)
            )
            plan.append(("cat", cols[0], unique))
        elif isinstance(attr, Numerical):
            for col in cols:
                dtype = ddf._meta[col].dtype
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

    for key, v in values.items():
        if key[0] == "count" and v == 0:
            raise ValueError(
                f"Column {key[1]!r} is entirely missing at fit time; an imputer "
                "cannot learn anything about it. Drop it or provide values."
            )
    frame = _summary_frame(spec, positions, names, ddf._meta, values)
    enc = TableEncoder(spec, handle_unknown).fit(frame, names)
    for attr, pos in zip(spec, positions, strict=True):
        if isinstance(attr, Numerical):
            for j in pos:
                col = names[j]
                mean, std = values[("mean", col)], values[("std", col)]
                lo, hi = values[("min", col)], values[("max", col)]
                # the encoder's unit-space statistics (codes are (x / mag - mu) /
                # sd), set to the reduced values exactly
                mag = max(abs(lo), abs(hi)) or 1.0
                enc.mag[j], enc.mu[j] = mag, mean / mag
                enc.sd[j] = std / mag if std > 0 else 1.0
                if enc._is_integer_column(ddf._meta, j):  # as the pandas path does
                    enc.low[j], enc.high[j] = lo, hi
    enc.dtypes = list(ddf._meta.dtypes)
    return enc, int(values["n"]), values


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
    merged pairwise, Chan et al.'s update), keyed as :func:`fit_encoder` reads
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


def _summary_frame(spec, positions, names, meta, values) -> pd.DataFrame:
    """The smallest frame whose encoder statistics are the reduced ones."""
    from .schema import Categorical, Image

    cats: dict = {}
    for attr, pos in zip(spec, positions, strict=True):
        if isinstance(attr, Categorical):
            col = names[pos[0]]
            dtype = meta[col].dtype
            if attr.categories is not None:
                cats[col] = list(attr.categories)
            elif ("unique", col) in values:
                cats[col] = list(pd.Series(values[("unique", col)]).dropna())
            else:
                cats[col] = list(dtype.categories)
    n = max([2, *(len(c) for c in cats.values())])
    data: dict = {}
    for attr, pos in zip(spec, positions, strict=True):
        for j in pos:
            col = names[j]
            out = np.full(n, np.nan, dtype=object)
            if isinstance(attr, Categorical):
                out[: len(cats[col])] = cats[col]
                dtype = meta[col].dtype
                series = pd.Series(out, dtype=object)
                if isinstance(dtype, pd.CategoricalDtype) and _known(dtype):
                    series = series.astype(dtype)
                data[col] = series
                continue
            if isinstance(attr, Image):
                lo, hi = values[("min", attr.label)], values[("max", attr.label)]
            else:
                m, s = values[("mean", col)], values[("std", col)]
                lo, hi = m - s, m + s
            out[:2] = [lo, hi]
            data[col] = pd.Series(out, dtype="float64")
    return pd.DataFrame(data, columns=names)


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
