"""GAIN (and MisGAN) on the GAIN paper's Letter and Spam tables, as the reference code.

Its own protocol, the GAIN authors' (their ``main_letter_spam.py``):
every cell hidden independently with probability 0.2 (elementwise MCAR, no row
re-drawing), the whole masked table imputed transductively (``fit_transform``),
RMSE over the hidden cells after min-max scaling with the min and max of the
*complete* table (the reference's ``rmse_loss``, here
:func:`deepimpute.metrics.rmse_minmax`).
GAIN runs the reference settings: batch 128, hint rate 0.9, alpha 100, Adam 1e-3
and 10,000 mini-batch iterations, converted to epochs of our shuffled loop as
``round(iterations / ceil(n / batch))`` (the exact number of steps is written out).

Two scores per method: ``rmse`` on the raw imputations and ``rmse_rounded`` after
the reference's post-processing (columns with fewer than 20 distinct observed values
rounded to integers; every Letter column is such a column). The reference's numbers
include that rounding. The GAIN paper's published values are printed for context
only; they come from the paper, not from this script.

MisGAN (optional row, ``--imputers misgan``) uses its tabular defaults
(batch 64, lr 1e-4 / 2e-4, n_critic 5) for ``--misgan-epochs`` epochs.

Usage::

    python -m benchmarks.run --suite gain-reference --quick        # 2,000 iterations
    python -m benchmarks.run --suite gain-reference --seeds 0 1 2  # reference settings
    python -m benchmarks.run --suite gain-reference --datasets spam \
        --imputers gain misgan mean

Appends one row per (dataset, seed, imputer) to
``benchmarks/results/gain_reference.csv``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks._cli import RESULTS, add_common, write_rows
from benchmarks._markdown import mean_sd, table
from deepimpute.imputers import GAINImputer, MeanModeImputer, MisGANImputer
from deepimpute.metrics import rmse_minmax

DATA = Path(
    os.environ.get("DEEPIMPUTE_DATA", RESULTS.parents[2] / "shared" / "datasets")
)
FILES = {
    "letter": DATA / "letter" / "gain_letter.csv",
    "spam": DATA / "spambase" / "gain_spam.csv",
}
#: GAIN paper, Table (RMSE at 20 % MCAR), quoted for context only
PUBLISHED = {"letter": ".1198 +- .0005", "spam": ".0513 +- .0016"}
MISS_RATE = 0.2


def reference_rounding(X_imp: np.ndarray, X_miss: np.ndarray) -> np.ndarray:
    """Round columns with fewer than 20 distinct observed values (GAIN code)."""
    out = X_imp.copy()
    for j in range(X_miss.shape[1]):
        col = X_miss[:, j]
        if len(np.unique(col[~np.isnan(col)])) < 20:
            out[:, j] = np.round(out[:, j])
    return out


def run_one(name, X, seed, args):
    rng = np.random.default_rng(seed)
    missing = rng.random(X.shape) < MISS_RATE
    Xm = np.where(missing, np.nan, X)
    n = X.shape[0]
    rows = []
    for method in args.imputers:
        torch.set_num_threads(args.threads)
        start = time.perf_counter()
        info = ""
        if method == "mean":
            X_imp = MeanModeImputer().fit_transform(Xm)
        elif method == "gain":
            batches = math.ceil(n / 128)
            epochs = max(1, round(args.iterations / batches))
            imp = GAINImputer(
                batch_size=128, hint_rate=0.9, alpha=100.0, learning_rate=1e-3,
                max_iter=epochs, random_state=seed, device=args.device,
            )
            X_imp = imp.fit_transform(Xm)
            info = f"epochs={epochs} steps={epochs * batches}"
        elif method == "misgan":
            imp = MisGANImputer(
                max_iter=args.misgan_epochs, random_state=seed, device=args.device,
                n_draws=1,
            )
            X_imp = imp.fit_transform(Xm)
            info = f"epochs={args.misgan_epochs} batch=64"
        else:
            raise ValueError(method)
        seconds = time.perf_counter() - start
        rmse = rmse_minmax(X, X_imp, missing=missing)
        rmse_r = rmse_minmax(X, reference_rounding(X_imp, Xm), missing=missing)
        rows.append(dict(
            dataset=name, seed=seed, imputer=method, rmse=rmse, rmse_rounded=rmse_r,
            seconds=round(seconds, 2), settings=info, iterations=args.iterations,
            quick=args.quick, n=n, d=X.shape[1], miss_rate=MISS_RATE,
            torch=torch.__version__, python=platform.python_version(),
        ))
        print(f"{name:7s} seed={seed} {method:7s} rmse={rmse:.4f} "
              f"rounded={rmse_r:.4f} ({seconds:.1f}s) {info}", flush=True)
    return rows


def markdown(csv_path: Path) -> str:
    """Markdown: RMSE per (dataset, imputer), mean ± sd over seeds, GAIN paper beside.

    Parameters
    ----------
    csv_path : Path
        A CSV written by this script.

    Returns
    -------
    str
        The table and the GAIN paper's values (quoted, not measured here).
    """
    df = pd.read_csv(csv_path)
    # the column mean is re-run (same seed, same values) beside every method
    df = df.drop_duplicates(["dataset", "seed", "imputer", "settings"], keep="last")
    rows = []
    for (name, method, settings), g in df.groupby(
        ["dataset", "imputer", df["settings"].fillna("")], sort=False
    ):
        rows.append({
            "dataset": name, "imputer": method, "settings": settings,
            "seeds": g["seed"].nunique(), "rmse": mean_sd(g["rmse"]),
            "rmse_rounded": mean_sd(g["rmse_rounded"]),
            "seconds": mean_sd(g["seconds"], 1),
            "GAIN paper": PUBLISHED.get(name, "") if method == "gain" else "",
        })
    return (
        table(pd.DataFrame(rows))
        + "\n\n`rmse_rounded`: after the reference's rounding of columns with "
        "fewer than 20 distinct values, which the GAIN paper's numbers include."
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", nargs="+", default=["letter", "spam"],
                   choices=sorted(FILES))
    p.add_argument("--imputers", nargs="+", default=["mean", "gain"],
                   choices=["mean", "gain", "misgan"])
    p.add_argument("--iterations", type=int, default=10_000,
                   help="GAIN mini-batch iterations (reference: 10,000)")
    p.add_argument("--misgan-epochs", type=int, default=30)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    add_common(p, seeds=(0,), out=RESULTS / "gain_reference.csv",
               quick="2,000 GAIN iterations, 5 MisGAN epochs, the first seed")


def resolve(args, parser: argparse.ArgumentParser) -> None:
    if args.quick:
        args.iterations, args.misgan_epochs = 2000, 5
        args.seeds = args.seeds[:1]
    args.outputs = [args.out]


def main(args) -> int:
    rows = []
    for name in args.datasets:
        X = pd.read_csv(FILES[name]).to_numpy(dtype=np.float64)
        for seed in args.seeds:
            rows.extend(run_one(name, X, seed, args))
    out = write_rows(args.out, rows, append=True)
    df = pd.DataFrame(rows)

    print("\nRMSE (min-max scaled, hidden cells), mean +- std over seeds")
    summary = df.groupby(["dataset", "imputer"])[["rmse", "rmse_rounded"]].agg(
        ["mean", "std"]
    )
    print(summary.round(4).to_string())
    for name in args.datasets:
        print(f"GAIN on {name}, reported by the GAIN paper: {PUBLISHED[name]}")
    print(f"rows appended to {out}")
    return 0
