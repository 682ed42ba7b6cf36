"""Seconds per training epoch of the deep imputers against a plain MLP reference.

For each method and size ``n`` a synthetic mixed table
(:func:`deepimpute.datasets.make_mixed_data`, 4 numerical + 3 categorical columns,
MCAR 0.3, as ``benchmarks/scale.py``) is fitted with the method's defaults
(early stopping and the validation split off, as the scale benchmark). Its epoch
time is compared with that of a plain MLP trained by the same loop
(:func:`deepimpute.training.train`) on the same rows with the same batch size:

* the MLP maps ``[values, mask]`` to the values through two hidden layers whose
  width gives it the method's number of trainable parameters;
* its loss is the masked squared error, and it runs on ``copies`` stacked copies
  of each batch so that its matrix-multiply FLOPs per row and step match the
  method's (counted by ``torch.utils.flop_counter.FlopCounterMode`` on one
  training step: multiplies only, elementwise work is not counted).

``ratio`` is the method's seconds per epoch over the MLP's; one epoch is timed
(the first: it includes the allocator's warm-up, small against 1e5 rows).
The ``epoch_profile`` suite records the top operators (torch.profiler, self CPU
time) of one training epoch per method in ``epoch_cost_profile.csv``
(``torch.compile`` was measured once, ``benchmarks/studies/torch_compile.py``).
``--label`` names the code measured (``after``: the current code; with
``--append`` rows of other labels stay in the CSV, and the report shows the
current code's).

    python -m benchmarks.perf --suite epoch_cost --sizes 100000 --label after
    python -m benchmarks.perf --suite epoch_profile --label after
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.perf import Benchmark
from deepimpute.datasets import make_mixed_data
from deepimpute.imputers import IMPUTERS
from deepimpute.missingness import simulate_missing
from deepimpute.nn import mlp
from deepimpute.training import Batch, ImputationModule, table_tensors, train

NAME, PROFILE = "epoch_cost.csv", "epoch_cost_profile.csv"
COMPILE = "epoch_cost_compile.csv"
METHODS = ("vsae", "miwae", "factvae", "rvi")
FIXED = dict(validation_fraction=0.0, n_iter_no_change=None, device="cpu")


class PlainMLP(ImputationModule):
    """The reference: ``[x, mask] -> x`` MLP, masked squared error, ``copies``
    stacked copies of each batch (to match a method's FLOPs per row)."""

    def __init__(self, width: int, hidden: int, copies: int) -> None:
        super().__init__()
        self.net = mlp(2 * width, (hidden, hidden), width)
        self.copies = copies

    def loss(self, batch: Batch) -> torch.Tensor:
        inp = torch.cat([batch.x, batch.observed], dim=-1)
        if self.copies > 1:
            inp = inp.expand(self.copies, *inp.shape)
        err = (self.net(inp) - batch.x) ** 2 * batch.observed
        return err.sum(-1).mean()


def hidden_for(width: int, n_params: int) -> int:
    """Width ``h`` of two hidden layers with about ``n_params`` parameters:
    ``(2w + 1) h + (h + 1) h + (h + 1) w``."""
    a, b, c = 1.0, 2 * width + 1 + 1 + width, width - n_params
    return max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))


def n_trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def step_flops(module, data, batch_size: int, lr: float) -> float:
    """Matrix-multiply FLOPs of one training step, per row."""
    x, o, a = (t[:batch_size] for t in table_tensors(data))
    batch = Batch(x, o, a, torch.arange(len(x)))
    opts = module.configure_optimizers(lr)
    module.train()
    with FlopCounterMode(display=False) as fc:
        module.training_step(batch, opts)
    return fc.get_total_flops() / len(x)


def epoch_seconds(history: list[dict]) -> float:
    return history[0]["seconds"]


def table(n: int, seed: int = 0):
    X = make_mixed_data(n, random_state=seed).frame
    Xm, _ = simulate_missing(X, "mcar", 0.3, random_state=seed)
    return Xm


class _CPUClock:
    """CPU seconds of this process from ``start()`` to the first epoch's end."""

    def start(self) -> None:
        self.t0, self.seconds = time.process_time(), None

    def __call__(self, *args) -> None:
        if self.seconds is None:
            self.seconds = time.process_time() - self.t0


def measure(method: str, Xm, epochs: int) -> dict:
    # warm-up: first-call costs (imports, allocator) stay out of the clock
    IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm.iloc[:300])
    clock = _CPUClock()
    imp = IMPUTERS[method](max_iter=epochs, random_state=0, callback=clock, **FIXED)
    clock.start()
    imp.fit(Xm)
    sec, cpu = epoch_seconds(imp.history_), clock.seconds
    _, data = imp.encoder_.encode(Xm)
    module = imp.module_
    params = n_trainable(module)
    flops = step_flops(module, data, imp.batch_size, imp.learning_rate)
    width = data.values.shape[1]
    hidden = hidden_for(width, params)
    ref = PlainMLP(width, hidden, 1)
    copies = max(1, round(flops / step_flops(ref, data, imp.batch_size, 1e-3)))
    ref = PlainMLP(width, hidden, copies)
    torch.manual_seed(0)
    clock.start()
    hist = train(ref, table_tensors(data), max_iter=epochs, batch_size=imp.batch_size,
                 learning_rate=1e-3, device=torch.device("cpu"),
                 validation_fraction=0.0, n_iter_no_change=None, callback=clock)
    ref_sec, ref_cpu = epoch_seconds(hist), clock.seconds
    return dict(imputer=method, n_rows=len(Xm), batch_size=imp.batch_size,
                params=params, flops_per_row=flops, mlp_hidden=hidden,
                mlp_params=n_trainable(ref), mlp_copies=copies,
                mlp_flops_per_row=step_flops(ref, data, imp.batch_size, 1e-3),
                seconds=sec, mlp_seconds=ref_sec, ratio=sec / ref_sec,
                cpu_seconds=cpu, mlp_cpu_seconds=ref_cpu, cpu_ratio=cpu / ref_cpu,
                threads=torch.get_num_threads())


def profile(method: str, Xm, top: int = 8) -> list[dict]:
    """Top operators by self CPU time of one training epoch (after a warm-up fit)."""
    from torch.profiler import profile as torch_profile

    IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm.iloc[:500])
    imp = IMPUTERS[method](max_iter=1, random_state=0, **FIXED)
    with torch_profile() as prof:
        imp.fit(Xm)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    return [dict(imputer=method, n_rows=len(Xm), rank=i + 1, op=e.key,
                 calls=e.count, self_seconds=e.self_cpu_time_total / 1e6,
                 share=e.self_cpu_time_total / total, total_seconds=total / 1e6)
            for i, e in enumerate(events[:top])]


def summary(path: Path) -> str:
    df = pd.read_csv(path)
    lines = ["| code | method | rows | batch | params | MFLOP/row/step | MLP hidden x "
             "copies | CPU s/epoch | MLP CPU s/epoch | CPU ratio | wall ratio |",
             "|---" * 11 + "|"]
    for r in df.sort_values(["n_rows", "imputer", "label"]).itertuples():
        lines.append(
            f"| {r.label} | {r.imputer} | {r.n_rows:g} | {r.batch_size} | {r.params} "
            f"| {r.flops_per_row / 1e6:.3f} | {r.mlp_hidden} x {r.mlp_copies} | "
            f"{r.cpu_seconds:.2f} | {r.mlp_cpu_seconds:.2f} | {r.cpu_ratio:.2f} | "
            f"{r.ratio:.2f} |")
    return ("CPU seconds of the process over the first epoch (the method's include "
            "encoding the table, well under a second at 1e5 rows); the wall "
            "ratio uses the loop's own epoch time:\n\n" + "\n".join(lines))


def profile_summary(path: Path) -> str:
    df = pd.read_csv(path)
    out = []
    for (method, label), sub in df.groupby(["imputer", "label"], sort=True):
        ops = ", ".join(f"{r.op} {100 * r.share:.0f} %" for r in sub.itertuples())
        out.append(f"- {method}, {label} ({sub.total_seconds.iloc[0]:.1f} s "
                   f"profiled, {int(sub.n_rows.iloc[0])} rows): {ops}")
    return "\n".join(out)


class _Labelled(Benchmark):
    """A suite whose rows carry ``--label`` (the code measured); ``--append``
    replaces the rows of that label and keeps the others."""

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--label", default="after",
                       help="name of the code measured (default: after)")

    def constants(self) -> dict:
        return {"label": self.args.label}

    def keep(self, row: dict) -> bool:
        return row.get("label") != self.args.label

    def setup(self, imputer: str, n_rows: int) -> None:
        if getattr(self, "_n_rows", None) != n_rows:  # one table per size
            self._n_rows, self.Xm = n_rows, table(n_rows)
        self.method = imputer


class EpochCost(_Labelled):
    """Seconds of a method's first epoch against its plain-MLP reference."""

    name = "epoch_cost"
    params = {"n_rows": [100_000], "imputer": list(METHODS)}
    quick = {"n_rows": [2000]}
    types = {"n_rows": int}
    flags = {"n_rows": "--sizes", "imputer": "--methods"}
    fields = ["label", "imputer", "n_rows", "batch_size", "params", "flops_per_row",
              "mlp_hidden", "mlp_params", "mlp_copies", "mlp_flops_per_row",
              "seconds", "mlp_seconds", "ratio", "cpu_seconds", "mlp_cpu_seconds",
              "cpu_ratio", "threads", "versions"]
    out = NAME

    def track_epoch(self) -> dict:
        return measure(self.method, self.Xm, 1)

    def summary(self, out: Path) -> str:
        return summary(out)


class EpochProfile(_Labelled):
    """The top operators of one training epoch per method (torch.profiler)."""

    name = "epoch_profile"
    params = {"n_rows": [20_000], "imputer": list(METHODS)}
    quick = {"n_rows": [1000]}
    types = {"n_rows": int}
    flags = {"n_rows": "--rows", "imputer": "--methods"}
    fields = ["label", "imputer", "n_rows", "rank", "op", "calls", "self_seconds",
              "share", "total_seconds", "versions"]
    out = PROFILE

    def track_profile(self) -> list[dict]:
        return profile(self.method, self.Xm)

    def summary(self, out: Path) -> str:
        return profile_summary(out)
