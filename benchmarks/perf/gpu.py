"""Fit and transform of every deep imputer on the GPU against the CPU, one run.

For each deep imputer and each size (1e5 and 1e6 rows of
:func:`deepimpute.datasets.make_mixed_data` with 30 % MCAR cells hidden), one epoch
of training (early stopping off, no validation split, ``--batch-size`` rows per step
on both devices) and one transform of the same rows are timed on each device; the
table printed at the end gives the CPU / GPU time ratios (above 1: the GPU is
faster). Both devices run in this process, side by side, so the ratio is not
confounded by another machine.

Bounded to finish in about 8 minutes: each cell's time is estimated from the
previous size (linear in rows) and a cell that would overrun ``--budget-seconds``
in all is skipped (``status=skipped``, never guessed). Models have the benchmark
profiles' sizes (``benchmarks/profiles.py``). ``--quick`` runs tiny sizes and the
quick profiles on the CPU (and on the GPU when there is one), for a smoke test.

    python -m benchmarks.perf --suite gpu                 # on a machine with CUDA
    python -m benchmarks.perf --suite gpu --quick         # anywhere
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.perf import Benchmark
from benchmarks.profiles import make_imputer
from deepimpute.datasets import make_mixed_data
from deepimpute.imputers import IMPUTERS, BaseDeepImputer
from deepimpute.missingness import simulate_missing

FIELDS = [
    "imputer",
    "n_rows",
    "device",
    "status",
    "batch_size",
    "fit_seconds",
    "transform_seconds",
    "versions",
    "error",
]

DEEP = sorted(n for n, c in IMPUTERS.items() if issubclass(c, BaseDeepImputer))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _new(name: str, device: str, batch_size: int, quick: bool):
    return make_imputer(name, quick=quick, device=device).set_params(
        max_iter=1,
        batch_size=batch_size,
        validation_fraction=0.0,
        n_iter_no_change=None,
    )


def _rows(value: str) -> int:
    return int(float(value))


class GPU(Benchmark):
    """One epoch of fit and one transform per imputer, size and device."""

    name = "gpu"
    params = {"n_rows": [100_000, 1_000_000], "imputer": DEEP,
              "device": ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])}
    quick = {"n_rows": [200, 400]}
    types = {"n_rows": _rows}
    flags = {"n_rows": "--rows", "imputer": "--imputers", "device": "--devices"}
    fields = FIELDS
    out = "gpu.csv"

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--batch-size", type=int, default=1024)
        p.add_argument("--budget-seconds", type=float, default=450.0)

    @classmethod
    def resolve(cls, args, parser) -> None:
        unknown = sorted(set(args.imputer) - set(DEEP))
        if unknown:
            parser.error(f"--imputers: not deep imputers {unknown}; choose from {DEEP}")
        if args.quick:
            args.batch_size = 64

    def __init__(self, args) -> None:
        super().__init__(args)
        self.last: dict[tuple, tuple] = {}

    def constants(self) -> dict:
        return {"batch_size": self.args.batch_size, "error": ""}

    def skip(self, point) -> str | None:
        prev = self.last.get((point["imputer"], point["device"]))
        if prev is None:
            return None
        left = self.args.budget_seconds - (time.perf_counter() - self.start)
        return "over the time budget" if prev[1] * point["n_rows"] / prev[0] > left \
            else None

    def done(self, point, rows) -> None:
        r = rows[0]
        if r["status"] == "ok":
            self.last[(point["imputer"], point["device"])] = (
                point["n_rows"], r["fit_seconds"] + r["transform_seconds"])

    def setup(self, n_rows: int, imputer: str, device: str) -> None:
        a = self.args
        if not hasattr(self, "X_all"):
            data = make_mixed_data(max(a.n_rows), random_state=0).frame
            self.X_all, _ = simulate_missing(data, "mcar", 0.3, random_state=0)
            # warm-up: CUDA context, kernels, allocator; not timed
            small = self.X_all.iloc[: min(256, max(a.n_rows))]
            for name in a.imputer:
                for dev in a.device:
                    est = _new(name, dev, 64, a.quick)
                    est.fit(small)
                    est.transform(small)
            self.start = time.perf_counter()
        self.X, self.device = self.X_all.iloc[:n_rows], device
        self.est = _new(imputer, device, a.batch_size, a.quick)

    def time_fit(self) -> None:
        _sync(self.device)
        self.est.fit(self.X)
        _sync(self.device)

    def time_transform(self) -> None:
        _sync(self.device)
        self.est.transform(self.X)
        _sync(self.device)

    def summary(self, out: Path) -> str:
        return markdown(out)


def ratio_table(records: list[dict]) -> str:
    """Markdown: CPU seconds, GPU seconds and CPU / GPU per imputer and size."""
    by = {(r["imputer"], r["n_rows"], r["device"]): r for r in records}
    lines = [
        "| imputer | rows | fit CPU s | fit GPU s | fit CPU/GPU "
        "| transform CPU s | transform GPU s | transform CPU/GPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for imp, n in dict.fromkeys((r["imputer"], r["n_rows"]) for r in records):
        cells = []
        for key in ("fit_seconds", "transform_seconds"):
            cpu, gpu = by.get((imp, n, "cpu"), {}), by.get((imp, n, "cuda"), {})
            c = cpu.get(key) if cpu.get("status") == "ok" else None
            g = gpu.get(key) if gpu.get("status") == "ok" else None
            ratio = f"{c / g:.1f}" if c and g else "-"
            cells += [_fmt(c), _fmt(g), ratio]
        lines.append(f"| {imp} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.2f}"


def markdown(path: Path) -> str:
    """The ratio table of a committed CSV (for benchmarks/report.py)."""
    with open(path) as fh:
        records = list(csv.DictReader(fh))
    for r in records:
        r["n_rows"] = int(r["n_rows"])
        for key in ("fit_seconds", "transform_seconds"):
            r[key] = float(r[key]) if r[key] else None
    return ratio_table(records)
