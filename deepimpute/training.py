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
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["Batch", "ImputationModule", "train", "iterate_batches"]

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
        return [torch.optim.Adam(self.parameters(), lr=lr)]

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
        rows = rows[torch.randperm(len(rows)).to(rows.device)]
    chunks = list(torch.split(rows, batch_size))
    if len(chunks) > 1 and len(chunks[-1]) < min_batch:
        # pop first: ``chunks[-2] = cat([chunks[-2], chunks.pop()])`` would assign
        # to the index shifted by the pop (dropping a batch, or IndexError)
        last = chunks.pop()
        chunks[-1] = torch.cat([chunks[-1], last])
    x, obs, attr = tensors
    for idx in chunks:
        yield Batch(
            x[idx].to(device, non_blocking=True),
            obs[idx].to(device, non_blocking=True),
            attr[idx].to(device, non_blocking=True),
            idx.to(device),
        )


def train(
    module: ImputationModule,
    tensors: tuple[Tensor, Tensor, Tensor],
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
) -> list[dict]:
    """Fit ``module`` on ``(values, observed, attr_observed)`` tensors (CPU).

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

    Returns
    -------
    list of dict
        One record per epoch: ``epoch``, ``loss`` (training mean), ``val_loss``
        (when a validation split exists), ``seconds`` (cumulative wall time).
    """
    module.to(device)
    # one host-to-device copy instead of one per batch
    tensors = tuple(t.to(device) for t in tensors)
    n = tensors[0].shape[0]
    perm = torch.randperm(n)
    n_val = int(round(validation_fraction * n)) if validation_fraction > 0 else 0
    if n_val and n - n_val < 2:
        n_val = 0
    val_rows, train_rows = perm[:n_val].sort().values, perm[n_val:].sort().values
    optimizers = module.configure_optimizers(learning_rate)
    history: list[dict] = []
    best, best_state, stale = np.inf, None, 0
    start, callback_seconds = time.perf_counter(), 0.0
    bar = _progress(max_iter, verbose)
    for epoch in range(max_iter):
        module.on_epoch_start(epoch)
        module.train()
        sums: dict[str, float] = {}
        n_seen = 0
        for batch in iterate_batches(
            tensors, train_rows, batch_size, shuffle=True, device=device
        ):
            logs = module.training_step(batch, optimizers)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v * batch.n_rows
            n_seen += batch.n_rows
        record = {
            "epoch": epoch + 1,
            **{k: v / max(n_seen, 1) for k, v in sums.items()},
        }
        if n_val:
            record["val_loss"] = _evaluate(
                module, tensors, val_rows, batch_size, device
            )
        # training time only: time spent in callbacks (evaluations) is excluded
        record["seconds"] = time.perf_counter() - start - callback_seconds
        if not np.isfinite(record.get("loss", 0.0)):
            raise FloatingPointError(
                f"The training loss became {record['loss']} at epoch {epoch + 1}; "
                "lower learning_rate or check the data's scale."
            )
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
    module.eval()
    module.on_train_end()
    return history


@torch.no_grad()
def _evaluate(module, tensors, rows, batch_size, device) -> float:
    module.eval()
    total, count = 0.0, 0
    for batch in iterate_batches(
        tensors, rows, batch_size, shuffle=False, device=device
    ):
        total += float(module.validation_loss(batch)) * batch.n_rows
        count += batch.n_rows
    module.train()
    return total / max(count, 1)


def _progress(total: int, verbose: int):
    if verbose < 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="epochs", leave=False)
