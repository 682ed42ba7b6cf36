"""factVAE bars experiment (the factVAE paper's synthetic bars, its Fig. 2).

4x4 "bars" images, groups = the four quadrants (TL, TR, BL, BR). factVAE is trained
with group sparsity (lambda = 1) and without (lambda = 0); the script prints each
sparsity map S[g, j] = sqrt(sum W^2 + sum V^2), checks the expected block pattern (top
quadrants share latent dimensions, bottom quadrants share others, no dimension links
a top and a bottom quadrant), completes the right half of held-out images from the
left half (MSE ratio to the training-mean imputation) and, with ``--figure PATH``,
draws the two maps of the first seed.

    python -m benchmarks.run --suite factvae-bars        # 10,000 rows, 50 epochs
    python -m benchmarks.run --suite factvae-bars --quick --seeds 0
    # one run per (seed, lambda), then the figure from the saved maps:
    python -m benchmarks.run --suite factvae-bars --seeds 0 --sparsity 1
    python -m benchmarks.run --suite factvae-bars --seeds 0 --sparsity 0
    python -m benchmarks.run --suite factvae-bars --seeds 0 --figure bars.png \
        --figure-from benchmarks/results/factvae_bars_seeds0_*.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from benchmarks._cli import RESULTS, add_common, save_figure, write_rows
from benchmarks._markdown import table
from deepimpute.imputers import FactVAEImputer, MeanModeImputer

QUADRANTS = ("TL", "TR", "BL", "BR")


def make_bars(n: int, size: int = 4, seed: int = 0) -> np.ndarray:
    """Each image row is on (value 0.5) w.p. 0.75 / size; N(0, 0.05^2) noise."""
    r = np.random.default_rng(seed)
    on = r.random((n, size)) < 0.75 / size
    img = np.repeat(on[:, :, None] * 0.5, size, axis=2)
    return (img + 0.05 * r.normal(size=img.shape)).reshape(n, size * size)


def quadrants(size: int = 4) -> list[list[int]]:
    h = size // 2
    return [
        [r * size + c for r in range(r0, r0 + h) for c in range(c0, c0 + h)]
        for r0, c0 in [(0, 0), (0, h), (h, 0), (h, h)]
    ]


def block_pattern(S: np.ndarray) -> dict:
    """The block-pattern checks on a (TL, TR, BL, BR) x K sparsity map."""
    live = S.max(0) >= 0.05 * S.max()
    Sn = S[:, live] / S[:, live].max(0)
    top = np.maximum(Sn[0], Sn[1])
    bot = np.maximum(Sn[2], Sn[3])
    return {
        "n_live": int(live.sum()),
        "separated": bool(np.all(np.minimum(top, bot) < 0.1)),
        "top_shared": bool(np.any((Sn[0] > 0.5) & (Sn[1] > 0.5))),
        "bottom_shared": bool(np.any((Sn[2] > 0.5) & (Sn[3] > 0.5))),
        "mixed": bool(np.any(np.minimum(top, bot) > 0.5)),
    }


def right_half_ratio(imp, X_train: np.ndarray, X_test: np.ndarray) -> float:
    q = quadrants()
    right = q[1] + q[3]
    Xm = X_test.copy()
    Xm[:, right] = np.nan
    Xi = imp.transform(Xm)
    Xb = MeanModeImputer().fit(X_train).transform(Xm)
    mse = np.mean((Xi[:, right] - X_test[:, right]) ** 2)
    base = np.mean((Xb[:, right] - X_test[:, right]) ** 2)
    return float(mse / base)


def markdown(csv_paths: list[Path]) -> str:
    """Markdown: one row per (seed, lambda) run of CSVs written by this script.

    Parameters
    ----------
    csv_paths : list of Path
        ``factvae_bars*.csv`` files; the sparsity maps (column ``S``) are left out.

    Returns
    -------
    str
        Settings, the block-pattern checks and the right-half MSE ratio per run.
    """
    import pandas as pd

    df = pd.concat([pd.read_csv(p) for p in csv_paths], ignore_index=True)
    df = df.drop(columns="S").sort_values(["seed", "sparsity"], ascending=[True, False])
    return (
        table(df.reset_index(drop=True))
        + "\n\n`separated`: some latent dimensions shared within the top and "
        "within the bottom quadrants and none across; `ratio`: "
        "right-half MSE over the training-mean imputation's (below 1 is better)."
    )


def add_arguments(ap: argparse.ArgumentParser) -> None:
    add_common(ap, seeds=(0, 1), figure=True,
               quick="2,000 rows, 30 epochs, prox step 2e-3, Adam 5e-3")
    ap.add_argument("--sparsity", type=float, nargs="+", default=[1.0, 0.0])
    ap.add_argument("--figure-from", nargs="+", default=None, metavar="CSV",
                    help="only draw the figure (--figure) from maps saved by "
                    "earlier runs")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--prox-lr", type=float, default=None)
    ap.add_argument("--learning-rate", type=float, default=None)


def resolve(args, parser: argparse.ArgumentParser) -> None:
    args.rows = args.rows or (2000 if args.quick else 10_000)
    args.epochs = args.epochs or (30 if args.quick else 50)
    args.prox_lr = args.prox_lr or (2e-3 if args.quick else 2e-4)
    args.learning_rate = args.learning_rate or (5e-3 if args.quick else 1e-3)
    if args.figure_from and args.figure is None:
        parser.error("--figure-from draws a figure: give --figure PATH")
    if args.out is None:  # benchmarks/results/factvae_bars[_quick]_seeds*.csv
        tag = ("_quick" if args.quick else "") + "_seeds" + "-".join(
            str(s) for s in args.seeds) + "_lambda" + "-".join(
            f"{lam:g}" for lam in args.sparsity)
        args.out = RESULTS / f"factvae_bars{tag}.csv"
    args.outputs = [] if args.figure_from else [args.out]


def main(args) -> int:
    rows, epochs, prox_lr, lr = args.rows, args.epochs, args.prox_lr, args.learning_rate
    if args.figure_from:
        maps = {}
        for path in args.figure_from:
            with open(path) as fh:
                for rec in csv.DictReader(fh):
                    S = np.array(json.loads(rec["S"]))
                    key = (int(rec["seed"]), float(rec["sparsity"]))
                    maps[key] = SimpleNamespace(sparsity_map_=S)
        _figure(maps, args.seeds[0], args.figure)
        return 0
    np.set_printoptions(precision=3, suppress=True)
    records, maps = [], {}
    for seed in args.seeds:
        X = make_bars(rows, seed=seed)
        X_test = make_bars(2000, seed=100 + seed)
        for lam in args.sparsity:
            t0 = time.perf_counter()
            imp = FactVAEImputer(
                groups=quadrants(), latent_dim=4, encoder_dim=8, generator_dim=8,
                sparsity=lam, prox_learning_rate=prox_lr, batch_size=32,
                # the paper's scaling of lambda, group dropout and likelihood
                prior_scaling="per_batch_mean", group_available_prob=0.9,
                numerical="gaussian",
                max_iter=epochs, learning_rate=lr, validation_fraction=0.0,
                n_iter_no_change=None, random_state=seed, device="cpu",
            ).fit(X)
            seconds = time.perf_counter() - t0
            S = imp.sparsity_map_
            pat = block_pattern(S)
            ratio = right_half_ratio(imp, X, X_test)
            maps[(seed, lam)] = imp
            print(f"seed {seed} lambda {lam:g} ({rows} rows, {epochs} epochs, "
                  f"eta {prox_lr:g}, Adam {lr:g}, {seconds:.0f} s)")
            print("  S (rows TL, TR, BL, BR):\n" + "\n".join(
                f"    {name} {row}" for name, row in zip(QUADRANTS, S, strict=True)))
            print(f"  pattern {pat}")
            print(f"  right-half MSE / train-mean MSE = {ratio:.3f}")
            records.append({"seed": seed, "sparsity": lam, "rows": rows,
                            "epochs": epochs, "prox_lr": prox_lr, "lr": lr,
                            "ratio": round(ratio, 4), "seconds": round(seconds, 1),
                            **pat, "S": json.dumps(S.round(4).tolist())})
    print(f"wrote {write_rows(args.out, records)}")
    if args.figure is not None and set(args.sparsity) >= {0.0, 1.0}:
        _figure(maps, args.seeds[0], args.figure)
    return 0


def _figure(maps: dict, seed: int, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    from deepimpute.plotting import plot_sparsity_map

    fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
    for ax, lam in zip(axes, (1.0, 0.0), strict=True):
        plot_sparsity_map(maps[(seed, lam)], ax=ax, group_names=QUADRANTS)
        ax.set_title(f"lambda = {lam:g}")
    fig.suptitle(f"factVAE bars: S[g, j] / max_g S[g, j] (seed {seed})")
    print(f"wrote {save_figure(fig, path)}")
