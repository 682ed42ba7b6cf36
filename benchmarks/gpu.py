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

    python -m benchmarks.gpu                  # on a machine with CUDA
    python -m benchmarks.gpu --quick          # anywhere
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from benchmarks._cli import versions
from benchmarks.profiles import make_imputer
from benchmarks.run import RESULTS
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


def run_cell(name: str, X, device: str, batch_size: int, quick: bool) -> dict:
    est = make_imputer(name, quick=quick, device=device).set_params(
        max_iter=1,
        batch_size=batch_size,
        validation_fraction=0.0,
        n_iter_no_change=None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _sync(device)
        t0 = time.perf_counter()
        est.fit(X)
        _sync(device)
        t1 = time.perf_counter()
        est.transform(X)
        _sync(device)
        t2 = time.perf_counter()
    return {"fit_seconds": t1 - t0, "transform_seconds": t2 - t1}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--imputers", nargs="*", default=DEEP, choices=DEEP)
    p.add_argument("--rows", nargs="*", type=float, default=[1e5, 1e6])
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--budget-seconds", type=float, default=450.0)
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    rows = [int(r) for r in args.rows]
    if args.quick:
        rows, args.batch_size = [200, 400], 64
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out = args.out or RESULTS / ("gpu_quick.csv" if args.quick else "gpu.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    data = make_mixed_data(max(rows), random_state=0).frame
    X_all, _ = simulate_missing(data, "mcar", 0.3, random_state=0)
    # warm-up: CUDA context, kernels, allocator; not timed
    small = X_all.iloc[: min(256, max(rows))]
    for name in args.imputers:
        for device in devices:
            run_cell(name, small, device, 64, args.quick)
    start, ver = time.perf_counter(), versions()
    records, last = [], {}
    with open(out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        for n in rows:
            X = X_all.iloc[:n]
            for name in args.imputers:
                for device in devices:
                    rec = dict(imputer=name, n_rows=n, device=device, error="")
                    rec.update(batch_size=args.batch_size, versions=ver)
                    prev = last.get((name, device))
                    left = args.budget_seconds - (time.perf_counter() - start)
                    if prev is not None and prev[1] * n / prev[0] > left:
                        rec.update(status="skipped", error="over the time budget")
                    else:
                        try:
                            rec.update(
                                run_cell(name, X, device, args.batch_size, args.quick)
                            )
                            rec["status"] = "ok"
                            total = rec["fit_seconds"] + rec["transform_seconds"]
                            last[(name, device)] = (n, total)
                        except Exception as exc:  # recorded, the run goes on
                            rec.update(status="error", error=repr(exc)[:200])
                    writer.writerow(rec)
                    fh.flush()
                    records.append(rec)
                    print(_brief(rec), flush=True)
    print(ratio_table(records))
    print(f"wrote {out}")
    return 0


def _brief(rec: dict) -> str:
    if rec["status"] != "ok":
        return f"{rec['imputer']} {rec['n_rows']} {rec['device']}: {rec['status']}"
    return (
        f"{rec['imputer']} {rec['n_rows']} {rec['device']}: fit "
        f"{rec['fit_seconds']:.2f} s, transform {rec['transform_seconds']:.2f} s"
    )


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


if __name__ == "__main__":
    raise SystemExit(main())


def markdown(path: Path) -> str:
    """The ratio table of a committed CSV (for benchmarks/report.py)."""
    with open(path) as fh:
        records = list(csv.DictReader(fh))
    for r in records:
        r["n_rows"] = int(r["n_rows"])
        for key in ("fit_seconds", "transform_seconds"):
            r[key] = float(r[key]) if r[key] else None
    return ratio_table(records)
