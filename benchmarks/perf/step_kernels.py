"""Kernels per training step of the deep imputers against the number of attributes.

A step that runs one small network per attribute launches kernels in proportion to
the attributes; one that runs each kind of attribute as a batched (grouped) operation
launches a number that does not grow with them. For each method and table width a
synthetic mixed table (:func:`deepimpute.datasets.make_mixed_data`, ``n_columns``
columns, four numerical to three categorical of three levels, MCAR 0.3) fits one
epoch with the method's defaults (early stopping off); on its fitted core, after
three warm-up steps, five training steps (forward, backward and optimizer, the
method's own ``training_step``) run under a ``TorchDispatchMode`` below autograd:

* ``ops_per_step``: aten operators dispatched per step;
* ``kernels_per_step``: those that compute (views, reshapes and other metadata-only
  operators left out), the number of kernels a step launches;
* ``mlp_kernels_per_step``: the same for the plain two-layer MLP reference of
  :mod:`benchmarks.perf.epoch_cost` on the same table.

Counts, not seconds: they are exact and do not depend on the machine's load.

    python -m benchmarks.perf --suite step_kernels --columns 7 14 28
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.perf import Benchmark
from benchmarks.perf.epoch_cost import FIXED, PlainMLP
from deepimpute.datasets import make_mixed_data
from deepimpute.imputers import IMPUTERS
from deepimpute.missingness import simulate_missing
from deepimpute.training import Batch, table_tensors

METHODS = ("vsae", "factvae", "rvi", "vad", "miwae", "hivae")

#: operators that only make a new view or read metadata (no kernel runs)
METADATA = frozenset({
    "view", "_unsafe_view", "reshape", "as_strided", "t", "transpose", "permute",
    "expand", "squeeze", "unsqueeze", "slice", "select", "alias", "detach",
    "split", "split_with_sizes", "chunk", "unbind", "narrow", "diagonal",
    "view_as", "expand_as", "flatten", "unflatten", "_reshape_alias", "lift_fresh",
    "empty", "empty_like", "empty_strided", "unfold", "movedim", "numpy_T",
    "_to_copy_noop", "is_same_size", "sym_size", "sym_stride", "sym_numel",
    "_local_scalar_dense", "set_", "resize_", "item",
})


class OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched inside the ``with`` block, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        self.ops[name] = self.ops.get(name, 0) + 1
        return func(*args, **(kwargs or {}))

    def kernels(self) -> int:
        return sum(v for k, v in self.ops.items() if k not in METADATA)


def mixed_table(n_rows: int, n_columns: int, seed: int = 0):
    """The mixed table with ``n_columns`` columns (4 : 3 numerical to categorical)."""
    n_num = max(1, round(n_columns * 4 / 7))
    X = make_mixed_data(n_rows, random_state=seed, n_numerical=n_num,
                        n_categorical=n_columns - n_num).frame
    Xm, _ = simulate_missing(X, "mcar", 0.3, random_state=seed)
    return Xm


def _batches(data, batch_size: int, n: int) -> list[Batch]:
    tensors = table_tensors(data)
    rows = torch.arange(min(len(tensors[0]), batch_size * n))
    return [Batch(*(t[idx] for t in tensors), idx) for idx in rows.split(batch_size)]


def count_step(module, optimizers, batches: list[Batch]) -> tuple[float, float]:
    """(operators, kernels) per ``training_step`` over ``batches[3:]``, after three
    warm-up steps (the optimizer's state is allocated on its first step)."""
    for b in batches[:3]:
        module.training_step(b, optimizers)
    with OpCounter() as count:
        for b in batches[3:]:
            module.training_step(b, optimizers)
    n = len(batches) - 3
    return sum(count.ops.values()) / n, count.kernels() / n


def measure(method: str, n_columns: int, n_rows: int) -> dict:
    Xm = mixed_table(n_rows, n_columns)
    imp = IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm)
    _, data = imp.encoder_.encode(Xm)
    module = imp.module_
    module.train()
    if hasattr(module, "on_epoch_start"):
        module.on_epoch_start(len(imp.history_))
    bs = imp.batch_size
    batches = _batches(data, bs, 8)
    torch.manual_seed(0)
    ops, kernels = count_step(module, module.configure_optimizers(
        imp.learning_rate), batches)
    ref = PlainMLP(data.values.shape[1], 64, 1)
    ref.train()
    _, ref_kernels = count_step(ref, ref.configure_optimizers(1e-3), batches)
    return dict(n_attributes=imp.n_features_in_, width=data.values.shape[1],
                batch_size=bs, ops_per_step=ops, kernels_per_step=kernels,
                mlp_kernels_per_step=ref_kernels)


def summary(path: Path) -> str:
    df = pd.read_csv(path)
    df = df[df.status == "ok"]
    wide = df.pivot_table(index="imputer", columns="n_columns",
                          values="kernels_per_step", aggfunc="first")
    cols = list(wide.columns)
    mlp = df.groupby("n_columns").mlp_kernels_per_step.first()
    lines = ["| method | " + " | ".join(f"{c} columns" for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    order = [m for m in METHODS if m in wide.index] + [
        m for m in wide.index if m not in METHODS]
    for name in order:
        lines.append(f"| {name} | " + " | ".join(
            f"{wide.loc[name, c]:.0f}" for c in cols) + " |")
    lines.append("| plain MLP | " + " | ".join(f"{mlp[c]:.0f}" for c in cols) + " |")
    return ("Kernels per training step (forward, backward, optimizer; the method's "
            "default batch):\n\n" + "\n".join(lines))


class StepKernels(Benchmark):
    """Kernels per training step of each method on tables of ``n_columns``."""

    name = "step_kernels"
    params = {"imputer": list(METHODS), "n_columns": [7, 14, 28]}
    quick = {"n_columns": [7]}
    types = {"n_columns": int}
    flags = {"imputer": "--methods", "n_columns": "--columns"}
    fields = ["imputer", "n_columns", "n_attributes", "width", "batch_size",
              "ops_per_step", "kernels_per_step", "mlp_kernels_per_step", "quick",
              "status", "error", "versions"]
    out = "step_kernels.csv"

    def setup(self, imputer: str, n_columns: int) -> None:
        self.method, self.n_columns = imputer, n_columns

    def track_step(self) -> dict:
        from benchmarks._cli import versions

        torch.set_num_threads(1)
        n_rows = 600 if self.args.quick else 3000
        return {**measure(self.method, self.n_columns, n_rows),
                "versions": versions()}

    def summary(self, out: Path) -> str:
        return summary(out)
