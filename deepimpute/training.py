"""The shared training loop and the interface every torch core implements.

A method is an :class:`ImputationModule`: it defines ``loss`` (and, when one optimizer
step per batch is not enough, ``configure_optimizers`` / ``training_step``), ``impute``
and ``sample``. :func:`train` does the rest: device placement, shuffling with the
seeded torch RNG, mini-batches, a validation split with early stopping on the model's
own objective (no ground truth needed), best-state restore and a per-epoch history.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ._utils.torch_utils import rng

__all__ = [
    "Batch",
    "BatchStream",
    "DivergenceGuard",
    "ImputationModule",
    "TableRows",
    "adam",
    "check_inference",
    "train",
    "iterate_batches",
    "table_rows",
    "table_tensors",
]

logger = logging.getLogger("deepimpute")


@dataclass
class Batch:
    """A mini-batch in model space.

    Attributes
    ----------
    x : Tensor (n, width)
        Values, zero-filled where missing.
    observed : Tensor (n, width)
        Element mask, 1 = observed.
    attr_observed : Tensor (n, n_attributes)
        Attribute mask, 1 = every element of the attribute observed.
    index : Tensor (n,)
        Row positions in the table handed to :func:`train` (or to transform), for
        models holding per-row parameters (RVI).
    """

    x: Tensor
    observed: Tensor
    attr_observed: Tensor
    index: Tensor

    @property
    def n_rows(self) -> int:
        return self.x.shape[0]


class ImputationModule(nn.Module):
    """Base class of the torch cores. Pure torch: no NumPy, no scikit-learn.

    Subclasses implement :meth:`loss`, :meth:`impute` and :meth:`sample`; the defaults
    of the other hooks give one Adam step per mini-batch.
    """

    #: False for cores holding parameters per training row (RVI / VAD): they cannot
    #: be trained data-parallel, since each rank would only update its own rows
    shares_parameters_across_rows: bool = True

    def loss(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        """Scalar training objective, averaged over the batch's rows."""
        raise NotImplementedError

    def impute(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        """Deterministic point imputation in model space, shape ``(n, width)``.

        Categorical slots hold probabilities (decoded by argmax). Randomness used here
        must not depend on the number or order of rows (common random numbers), so
        imputations are invariant to batching.
        """
        raise NotImplementedError

    def sample(self, batch: Batch) -> Tensor:  # pragma: no cover - abstract
        """One draw of the missing values per row, shape ``(n, width)``."""
        raise NotImplementedError

    # ------------------------------------------------------------ hooks
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        return [adam(self.parameters(), lr)]

    def training_step(
        self, batch: Batch, optimizers: list[torch.optim.Optimizer]
    ) -> dict[str, float]:
        (opt,) = optimizers
        opt.zero_grad(set_to_none=True)
        loss = self.loss(batch)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    def validation_loss(self, batch: Batch) -> Tensor:
        """Objective on held-out rows (called in eval mode, without gradients)."""
        return self.loss(batch)

    def on_epoch_start(self, epoch: int) -> None:
        """Called before each epoch (0-based), e.g. to switch training stages."""

    def on_train_end(self) -> None:
        """Called once after training (after the best state is restored)."""


def table_tensors(data) -> tuple[Tensor, Tensor, Tensor]:
    """The arrays of a model view (``values``, ``observed``, ``attr_observed``, as
    in ``deepimpute._data.EncodedTable``) as CPU tensors, every row expanded."""
    arrays = data.take() if hasattr(data, "take") else (
        data.values, data.observed, data.attr_observed
    )
    return tuple(torch.from_numpy(a) for a in arrays)


#: a model view is expanded whole (one host-to-device copy, the fastest batches)
#: when its dense arrays take at most this many times the bytes of its compact
#: form (4 bytes a cell); wider ones (many categories) are expanded per batch
DENSE_FACTOR = 8


class TableRows:
    """A model view kept compact (``deepimpute._data.EncodedTable``), expanded into
    dense tensors only for the rows asked for: a mini-batch's one-hot blocks exist
    only while the batch does, so memory does not grow with the categories.

    It reads like the tuple ``(values, observed, attr_observed)`` of
    :func:`table_tensors`: ``rows[k][idx]`` is array ``k`` at rows ``idx`` (each
    such read expands the rows; :meth:`take` gives all three at once).
    """

    def __init__(self, data) -> None:
        self.data = data
        self.n_rows = data.n_rows

    def take(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The three dense tensors of rows ``idx`` (CPU)."""
        arrays = self.data.take(idx.cpu().numpy())
        return tuple(torch.from_numpy(a) for a in arrays)

    def dense(self) -> tuple[Tensor, Tensor, Tensor]:
        """Every row expanded (what :func:`table_tensors` gives)."""
        return table_tensors(self.data)

    def __len__(self) -> int:
        return 3

    def __getitem__(self, k: int) -> _RowView:
        if not 0 <= k < 3:
            raise IndexError(k)
        return _RowView(self, k)

    def __iter__(self):
        return (self[k] for k in range(3))


class _RowView:
    """Array ``k`` of a :class:`TableRows`, read by rows."""

    def __init__(self, rows: TableRows, k: int) -> None:
        self.rows, self.k = rows, k

    def __len__(self) -> int:
        return self.rows.n_rows

    def __getitem__(self, idx) -> Tensor:
        if not isinstance(idx, Tensor):
            idx = torch.arange(self.rows.n_rows)[idx]
        return self.rows.take(idx)[self.k]


def table_rows(data) -> tuple[Tensor, Tensor, Tensor] | TableRows:
    """The model view ``data`` for training and inference: dense tensors when
    they are small (at most :data:`DENSE_FACTOR` times the compact table), else
    a :class:`TableRows` expanding each batch's rows. Both give the same batches."""
    if data.dense_bytes <= DENSE_FACTOR * max(data.nbytes, 1):
        return table_tensors(data)
    return TableRows(data)


def iterate_batches(
    tensors: tuple[Tensor, Tensor, Tensor],
    rows: Tensor,
    batch_size: int,
    *,
    shuffle: bool,
    device: torch.device,
    min_batch: int = 2,
):
    """Yield :class:`Batch` objects over ``rows``; a trailing batch smaller than
    ``min_batch`` is merged into the previous one (BatchNorm needs 2 rows)."""
    if shuffle:
        # drawn from the CPU generator: the same order on every device
        order = torch.randperm(len(rows), device="cpu", generator=rng("cpu"))
        rows = rows[order.to(rows.device)]
    chunks = list(torch.split(rows, batch_size))
    if len(chunks) > 1 and len(chunks[-1]) < min_batch:
        # pop first: ``chunks[-2] = cat([chunks[-2], chunks.pop()])`` would assign
        # to the index shifted by the pop (dropping a batch, or IndexError)
        last = chunks.pop()
        chunks[-1] = torch.cat([chunks[-1], last])
    if isinstance(tensors, TableRows):  # expanded batch by batch
        take = tensors.take
    else:
        x, obs, attr = tensors

        def take(idx):
            return x[idx], obs[idx], attr[idx]

    for idx in chunks:
        bx, bobs, battr = take(idx)
        yield Batch(
            bx.to(device, non_blocking=True),
            bobs.to(device, non_blocking=True),
            battr.to(device, non_blocking=True),
            idx.to(device),
        )


class BatchStream:
    """Where :func:`train` gets its mini-batches: training rows and held-out rows.

    The default, :class:`_TensorStream`, holds the table as tensors in memory;
    ``deepimpute._dask`` streams it from the partitions of a Dask DataFrame.
    """

    #: rows of the whole table (sizes per-row parameter tables)
    n_rows: int = 0

    @property
    def has_validation(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def shard(self, rank: int, world: int) -> None:  # pragma: no cover - abstract
        """Keep only this rank's share of the training and validation rows."""
        raise NotImplementedError

    def train_batches(self, batch_size: int):  # pragma: no cover - abstract
        """One epoch of shuffled training batches."""
        raise NotImplementedError

    def validation_batches(self, batch_size: int):  # pragma: no cover - abstract
        raise NotImplementedError


class _TensorStream(BatchStream):
    """The table in memory (on ``device``), split once into training and
    validation rows with torch's seeded generator."""

    def __init__(self, tensors, validation_fraction: float, device) -> None:
        if isinstance(tensors, TableRows):  # stays compact, on the CPU
            self.tensors = tensors
            n = self.n_rows = tensors.n_rows
        else:  # one host-to-device copy instead of one per batch
            self.tensors = tuple(t.to(device) for t in tensors)
            n = self.n_rows = self.tensors[0].shape[0]
        self.device = device
        perm = torch.randperm(n, device="cpu", generator=rng("cpu"))
        n_val = int(round(validation_fraction * n)) if validation_fraction > 0 else 0
        if n_val and n - n_val < 2:
            n_val = 0
        self.val_rows = perm[:n_val].sort().values
        self.train_rows = perm[n_val:].sort().values
        self._has_validation = n_val > 0

    @property
    def has_validation(self) -> bool:
        return self._has_validation

    def shard(self, rank: int, world: int) -> None:
        # every rank drew the same split (same seed): each keeps its share of both
        self.train_rows = self.train_rows[rank::world]
        self.val_rows = self.val_rows[rank::world]

    def train_batches(self, batch_size: int):
        return iterate_batches(
            self.tensors, self.train_rows, batch_size, shuffle=True, device=self.device
        )

    def validation_batches(self, batch_size: int):
        return iterate_batches(
            self.tensors, self.val_rows, batch_size, shuffle=False, device=self.device
        )


def train(
    module: ImputationModule,
    tensors: tuple[Tensor, Tensor, Tensor] | BatchStream,
    *,
    max_iter: int,
    batch_size: int,
    learning_rate: float,
    device: torch.device,
    validation_fraction: float = 0.1,
    n_iter_no_change: int | None = 10,
    tol: float = 1e-4,
    verbose: int = 0,
    callback: Callable[[int, dict], object] | None = None,
    name: str = "the model",
) -> list[dict]:
    """Fit ``module`` on ``(values, observed, attr_observed)`` tensors (CPU), or on
    the batches of a :class:`BatchStream`.

    Inside an initialised ``torch.distributed`` group of two or more ranks the
    training is data-parallel (see :class:`_DataParallel`).

    Call inside :func:`deepimpute._utils.torch_utils.seeded` for reproducibility.

    Parameters
    ----------
    max_iter : int
        Number of epochs (passes over the training rows).
    validation_fraction : float
        Share of rows held out to monitor the model's own loss. With
        ``n_iter_no_change`` set, training stops once the validation loss has not
        improved by ``tol`` for that many epochs, and the best state is restored.
        0 disables both (the training loss is monitored instead).
    callback : callable, optional
        ``callback(epoch, record)`` after each epoch; a returned dict is merged into
        the epoch's history record. Its run time is not counted in ``seconds``.
    name : str
        Names the model in the error raised when training diverges (see
        :class:`DivergenceGuard`).

    Returns
    -------
    list of dict
        One record per epoch: ``epoch``, ``loss`` (training mean), ``val_loss``
        (when a validation split exists), ``seconds`` (cumulative wall time).
    """
    module.to(device)
    stream = (
        tensors
        if isinstance(tensors, BatchStream)
        else _TensorStream(tensors, validation_fraction, device)
    )
    n_val = stream.has_validation
    dist = _DataParallel.from_environment(module, batch_size)
    if dist is not None:
        stream.shard(dist.rank, dist.world)
        batch_size = dist.local_batch_size
    optimizers = module.configure_optimizers(learning_rate)
    if dist is not None:
        dist.attach(optimizers)
    history: list[dict] = []
    best, best_state, stale = np.inf, None, 0
    start, callback_seconds = time.perf_counter(), 0.0
    bar = _progress(max_iter, verbose)
    guard = DivergenceGuard(name, learning_rate)
    for epoch in range(max_iter):
        module.on_epoch_start(epoch)
        module.train()
        sums: dict[str, float] = {}
        n_seen = 0
        batches = stream.train_batches(batch_size)
        if dist is not None:
            batches = dist.lockstep(batches)
        for batch in batches:
            with guard.watch(module, epoch + 1):
                logs = module.training_step(batch, optimizers)
            if dist is None:  # per batch: a too-large step blows up within an epoch
                guard.check_step(logs, epoch + 1)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v * batch.n_rows
            n_seen += batch.n_rows
        if dist is not None:
            sums, n_seen = dist.reduce_sums(sums, n_seen)
            # on the values reduced over ranks: every rank decides alike (a rank
            # raising alone would leave the others waiting in an all-reduce)
            means = {k: v / max(n_seen, 1) for k, v in sums.items()}
            guard.check_step(means, epoch + 1)
        guard.check_parameters(module, epoch + 1)
        record = {
            "epoch": epoch + 1,
            **{k: v / max(n_seen, 1) for k, v in sums.items()},
        }
        if n_val:
            with guard.watch(module, epoch + 1):
                record["val_loss"] = _evaluate(
                    module, stream.validation_batches(batch_size), dist
                )
        # training time only: time spent in callbacks (evaluations) is excluded
        record["seconds"] = time.perf_counter() - start - callback_seconds
        if callback is not None:
            t_cb = time.perf_counter()
            extra = callback(epoch + 1, record)
            callback_seconds += time.perf_counter() - t_cb
            if isinstance(extra, dict):
                record.update(extra)
        history.append(record)
        if bar is not None:
            bar.set_postfix(
                {k: f"{v:.4g}" for k, v in record.items() if k in ("loss", "val_loss")}
            )
            bar.update(1)
        logger.debug("epoch %d %s", epoch + 1, record)
        monitored = record.get("val_loss", record.get("loss", np.nan))
        if n_iter_no_change is not None and np.isfinite(monitored):
            if monitored < best - tol:
                best, stale = monitored, 0
                if n_val:
                    best_state = copy.deepcopy(module.state_dict())
            else:
                stale += 1
                if stale >= n_iter_no_change:
                    break
    if bar is not None:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    if dist is not None:
        dist.finish()
    module.eval()
    module.on_train_end()
    return history


@torch.no_grad()
def _evaluate(module, batches, dist=None) -> float:
    module.eval()
    total, count = 0.0, 0
    for batch in batches:
        total += float(module.validation_loss(batch)) * batch.n_rows
        count += batch.n_rows
    module.train()
    if dist is not None:
        # the mean over every rank's held-out rows: early stopping and the best
        # state are then decided identically on all ranks
        sums, count = dist.reduce_sums({"v": total}, count)
        total = sums["v"]
    return total / max(count, 1)


#: the training loss may rise this many times its scale above its lowest value
#: before training counts as diverged (see :func:`loss_growth`); healthy runs of
#: every imputer on the benchmark tables stay below 10 (benchmarks/divergence.py)
EXPLOSION_FACTOR = 1e3


def loss_growth(value: float, first: float, best: float) -> float:
    """How far ``value`` rose above the lowest loss so far, ``best``, in units of
    the loss's scale ``max(1, |first|, |best|)`` (``first``: the first batch's).

    Scale-free (a loss in the thousands may move by thousands) and one-sided: a
    falling loss is progress, however far it falls.
    """
    return (value - best) / max(1.0, abs(first), abs(best))


class DivergenceGuard:
    """Stops training that diverges with a :class:`FloatingPointError` naming the
    model, the epoch and the remedy.

    Divergence is any of: a logged training value (loss or a loss term) that is
    not finite; a training loss that rises more than :data:`EXPLOSION_FACTOR`
    times its scale above its best value so far (:func:`loss_growth`), checked at
    every mini-batch because a too-large step size blows up within the first epoch;
    a parameter or buffer that is not finite after an epoch; and a
    :class:`ValueError` or :class:`RuntimeError` raised by torch on invalid values
    (e.g. a distribution's parameter check) while the model holds non-finite
    parameters or with torch's message about NaN / invalid values.
    """

    def __init__(self, name: str, learning_rate: float) -> None:
        self.name = name
        self.learning_rate = learning_rate
        self.first: float | None = None
        self.best = math.inf

    def error(self, epoch: int, what: str, remedy: bool = True) -> FloatingPointError:
        text = f"{self.name} diverged at epoch {epoch}: {what}."
        if remedy:
            text += (
                f" Lower learning_rate (it is {self.learning_rate:g}); if that does "
                "not help, check the data's scale."
            )
        return FloatingPointError(text)

    def check_step(self, logs: dict[str, float], epoch: int) -> None:
        for key, value in logs.items():
            if not math.isfinite(value):
                raise self.error(epoch, f"the training {key} became {value}")
        value = logs.get("loss")
        if value is None:
            return
        if self.first is None:
            self.first = value
        self.best = min(self.best, value)
        if loss_growth(value, self.first, self.best) > EXPLOSION_FACTOR:
            raise self.error(
                epoch,
                f"the training loss rose from {self.best:.4g} to {value:.4g}",
            )

    def check_parameters(self, module: nn.Module, epoch: int) -> None:
        if not _all_finite(module):
            raise self.error(epoch, "its parameters are no longer finite")

    @contextmanager
    def watch(self, module: nn.Module, epoch: int):
        """Turn torch's errors on invalid values into the divergence error."""
        try:
            yield
        except FloatingPointError as exc:  # a model's own check, with its remedy
            if str(exc).startswith(self.name):
                raise
            raise self.error(epoch, str(exc).rstrip("."), remedy=False) from exc
        except (ValueError, RuntimeError) as exc:
            text = str(exc)
            if any(m in text for m in _INVALID_VALUE_MESSAGES) or not _all_finite(
                module
            ):
                raise self.error(
                    epoch, f"torch refused invalid values ({text.splitlines()[0]})"
                ) from exc
            raise


def check_inference(theta: Tensor, first: Tensor, last: Tensor) -> None:
    """Raise :class:`FloatingPointError` when an optimisation run at transform time
    (per-row parameters of new rows) diverged: ``theta`` (its result) not finite,
    or its mean loss ``last`` risen above the starting one ``first`` by more than
    :data:`EXPLOSION_FACTOR` times its scale. One device sync."""
    first_v, last_v = float(first), float(last)
    finite = bool(torch.isfinite(theta).all()) and math.isfinite(last_v)
    if not finite:
        what = "its row parameters are no longer finite"
    elif loss_growth(last_v, first_v, min(first_v, last_v)) > EXPLOSION_FACTOR:
        what = f"its loss rose from {first_v:.4g} to {last_v:.4g}"
    else:
        return
    raise FloatingPointError(
        f"the transform-time optimisation of new rows diverged: {what}; lower "
        "inference_learning_rate"
    )


#: fragments of torch's messages on NaN / infinite values
_INVALID_VALUE_MESSAGES = ("found invalid values", "inf`, `nan", "nan`", "NaN")


def _all_finite(module: nn.Module) -> bool:
    tensors = [
        t
        for t in (*module.parameters(), *module.buffers())
        if t.is_floating_point() and t.numel()
    ]
    if not tensors:
        return True
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


class _DataParallel:
    """Data-parallel training over an initialised ``torch.distributed`` group.

    Each rank trains on its shard of the rows; before every optimizer step the
    gradients of that optimizer's parameters are averaged over the ranks (one
    flattened all-reduce), so every rank takes the same step from the same
    parameters. This is the arithmetic of ``DistributedDataParallel``, applied at
    the optimizer rather than at ``forward``: the cores are trained through
    ``loss`` / ``training_step`` (several optimizers for the GANs, proximal
    steps for factVAE), which DDP's forward hook would not see.
    """

    def __init__(self, module, batch_size, group_rank, world):
        self.module, self.rank, self.world = module, group_rank, world
        self.local_batch_size = max(1, batch_size // world)
        self.device = next(module.parameters()).device
        # identical starting point on every rank, whatever each rank's RNG did
        for t in module.state_dict().values():
            _dist().broadcast(t, src=0)

    @classmethod
    def from_environment(cls, module, batch_size):
        dist = _dist()
        if dist is None or not dist.is_initialized() or dist.get_world_size() < 2:
            return None
        if not module.shares_parameters_across_rows:
            raise ValueError(
                f"{type(module).__name__} holds parameters per training row, which "
                "data-parallel training cannot share across processes; fit it in "
                "one process (or on a random sample of the rows)."
            )
        return cls(module, batch_size, dist.get_rank(), dist.get_world_size())

    def attach(self, optimizers) -> None:
        for opt in optimizers:
            opt.register_step_pre_hook(self._average_gradients)

    def _average_gradients(self, optimizer, args, kwargs) -> None:
        grads = [
            p.grad
            for group in optimizer.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        _dist().all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def lockstep(self, batches):
        """Yield batches while every rank still has one (uneven shards never hang:
        an epoch ends for all ranks when the first one runs out)."""
        it = iter(batches)
        while True:
            batch = next(it, None)
            more = torch.tensor([0.0 if batch is None else 1.0], device=self.device)
            _dist().all_reduce(more, op=_dist().ReduceOp.MIN)
            if more.item() == 0.0:
                return
            yield batch

    def reduce_sums(self, sums: dict, count: int) -> tuple[dict, int]:
        keys = sorted(sums)
        buf = torch.tensor(
            [float(sums[k]) for k in keys] + [float(count)],
            dtype=torch.float64,
            device=self.device,
        )
        _dist().all_reduce(buf)
        values = buf.tolist()
        return dict(zip(keys, values[:-1], strict=True)), int(values[-1])

    def finish(self) -> None:
        # parameters agree already; buffers (BatchNorm statistics) are rank 0's
        for t in self.module.state_dict().values():
            _dist().broadcast(t, src=0)


def _dist():
    """``torch.distributed`` when this build has it, else None."""
    import torch.distributed as dist

    return dist if dist.is_available() else None


def _progress(total: int, verbose: int):
    if verbose < 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="epochs", leave=False)


def adam(params, lr: float, **kwargs) -> torch.optim.Optimizer:
    """Adam (``weight_decay`` > 0: AdamW) with the fused kernel where it applies.

    The default CPU Adam loops over the parameter tensors in Python, a fifth of a
    VSAE training step (``benchmarks/epoch_cost.py``); the fused one updates them
    all in one kernel, to the same values up to float rounding.
    """
    params = list(params)
    fused = bool(params) and all(
        p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64)
        for p in params
    )
    cls = torch.optim.AdamW if kwargs.get("weight_decay", 0) > 0 else torch.optim.Adam
    return cls(params, lr=lr, fused=fused or None, **kwargs)
