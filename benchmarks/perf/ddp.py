"""Data-parallel training: 2 gloo processes against 1 process at the same global batch.

VSAE is fitted for a fixed number of epochs (early stopping off) on a synthetic mixed
table (:func:`deepimpute.datasets.make_mixed_data`, 30 % MCAR), once in one process
and once in two gloo processes on 127.0.0.1 (each rank takes half the rows and half
the global batch; gradients averaged before every step). Both runs are spawned the
same way, one after the other, in this script. Writes one CSV row per run and epoch
(training and validation loss, cumulative seconds of rank 0) and, with
``--figure PATH``, a figure of the loss curves side by side; prints the
time-per-epoch ratio.

    python -m benchmarks.perf --suite ddp                 # 2e5 rows, 4 epochs
    python -m benchmarks.perf --suite ddp --quick         # smoke run
"""

from __future__ import annotations

import csv
import json
import socket
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._cli import save_figure
from benchmarks.perf import Benchmark

FIELDS = [
    "world_size",
    "n_rows",
    "global_batch",
    "epoch",
    "loss",
    "val_loss",
    "seconds",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, n_rows, epochs, batch, out_dir):
    import torch
    import torch.distributed as dist

    from deepimpute import VSAEImputer
    from deepimpute.datasets import make_mixed_data
    from deepimpute.missingness import simulate_missing

    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
        )
    try:
        full = make_mixed_data(n_rows, random_state=0).frame
        X, _ = simulate_missing(full, "mcar", 0.3, random_state=0)
        est = VSAEImputer(
            max_iter=epochs,
            batch_size=batch,
            n_iter_no_change=None,
            random_state=0,
            device="cpu",
        ).fit(X)
        if rank == 0:
            Path(out_dir, f"history{world}.json").write_text(json.dumps(est.history_))
    finally:
        if world > 1:
            dist.destroy_process_group()


class DDP(Benchmark):
    """VSAE's epochs in 1 process and in 2 gloo processes, same global batch."""

    name = "ddp"
    params = {"world_size": [1, 2]}
    types = {"world_size": int}
    flags = {"world_size": "--world-sizes"}
    fields = FIELDS
    out = "ddp.csv"

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--rows", type=float, default=2e5)
        p.add_argument("--epochs", type=int, default=4)
        p.add_argument("--batch-size", type=int, default=256, help="global batch")

    @classmethod
    def resolve(cls, args, parser) -> None:
        if args.quick:
            args.rows, args.epochs, args.batch_size = 600, 2, 64
        args.rows = int(args.rows)

    def setup(self, world_size: int) -> None:
        self.world = world_size

    def track_epochs(self) -> list[dict]:
        import torch.multiprocessing as mp

        a = self.args
        with tempfile.TemporaryDirectory() as tmp:
            mp.spawn(_worker, args=(self.world, _free_port(), a.rows, a.epochs,
                                    a.batch_size, tmp),
                     nprocs=self.world, join=True)
            history = json.loads(Path(tmp, f"history{self.world}.json").read_text())
        return [dict(n_rows=a.rows, global_batch=a.batch_size, epoch=rec["epoch"],
                     loss=rec["loss"], val_loss=rec.get("val_loss", np.nan),
                     seconds=rec["seconds"]) for rec in history]

    def summary(self, out: Path) -> str:
        return markdown(out)

    def figure(self, out: Path, path: Path) -> None:
        plot(_read(out), path)


def summary(rows: list[dict]) -> str:
    """Markdown: seconds per epoch of each world size, their ratio, last losses."""
    per = {}
    for w in (1, 2):
        rs = [r for r in rows if r["world_size"] == w]
        per[w] = (float(rs[-1]["seconds"]) / len(rs), rs[-1])
    ratio = per[1][0] / per[2][0]
    lines = [
        "| processes | s / epoch | last loss | last val_loss |",
        "|---:|---:|---:|---:|",
    ]
    for w in (1, 2):
        s, last = per[w]
        lines.append(
            f"| {w} | {s:.2f} | {float(last['loss']):.4f} "
            f"| {float(last['val_loss']):.4f} |"
        )
    lines.append(f"\ntime per epoch, 1 process / 2 processes: {ratio:.2f}")
    return "\n".join(lines)


def plot(rows: list[dict], figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, key in zip(axes, ("loss", "val_loss"), strict=True):
        for w in (1, 2):
            rs = [r for r in rows if r["world_size"] == w]
            label = f"{w} process" + ("es (gloo)" if w > 1 else "")
            ax.plot([r["epoch"] for r in rs], [r[key] for r in rs], "o-", label=label)
        ax.set_xlabel("epoch")
        ax.set_title(f"VSAE {key}")
    axes[0].legend()
    save_figure(fig, figure)


def _read(path: Path) -> list[dict]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["world_size"] = int(r["world_size"])
        for key in ("epoch", "loss", "val_loss", "seconds"):
            r[key] = float(r[key])
    return rows


def markdown(path: Path) -> str:
    """The summary table of a committed CSV (for the report)."""
    rows = _read(path)
    n, batch = int(rows[0]["n_rows"]), int(rows[0]["global_batch"])
    return f"{n} rows, global batch {batch}, VSAE.\n\n" + summary(rows)
