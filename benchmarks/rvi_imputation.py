"""Test-time imputation on held-out rows: RVI vs VAD vs VAE (RVI paper, Fig. 4).

For each dataset, seed and MCAR rate: draw ``n_train + n_test`` rows, hide entries
of both parts at the rate, fit each model on the training part, ``transform`` the
held-out part (RVI/VAD: ``inference_steps`` Adam steps on fresh per-row parameters
with the decoder frozen; VAE: encoder + importance sampling) and score the hidden
entries: elastic metric (mean L1 + mean L2) and RMSE in model space (pixels in
[0, 1]; standardised columns for the artificial set). Column-mean imputation is
scored as a floor.

Usage::

    python -m benchmarks.rvi_imputation --quick --seeds 0
    python -m benchmarks.rvi_imputation --epochs 250 --n-train 10000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks._cli import add_common, save_figure, write_rows
from benchmarks._markdown import table
from benchmarks.rvi_data import MODELS, dataset, elastic, make_model, mcar, rmse
from deepimpute.imputers import MeanModeImputer

ROOT = Path(__file__).resolve().parents[1]


def evaluate(imp, X_test, Xm_test) -> dict:
    hidden = np.isnan(Xm_test)
    t0 = time.perf_counter()
    Z = imp.transform(Xm_test)
    seconds = time.perf_counter() - t0
    truth = imp.encoder_.encode(X_test)[1].values.astype(np.float64)
    pred = imp.encoder_.encode(Z)[1].values.astype(np.float64)
    return {"elastic": elastic(pred, truth, hidden), "rmse": rmse(pred, truth, hidden),
            "transform_seconds": seconds}


def mean_fill(spec_imp, X_test, Xm_train, Xm_test) -> dict:
    """Column means of the observed training entries, scored like the models."""
    hidden = np.isnan(Xm_test)
    Z = MeanModeImputer().fit(Xm_train).transform(Xm_test)
    truth = spec_imp.encoder_.encode(X_test)[1].values.astype(np.float64)
    pred = spec_imp.encoder_.encode(Z)[1].values.astype(np.float64)
    return {"elastic": elastic(pred, truth, hidden), "rmse": rmse(pred, truth, hidden),
            "transform_seconds": 0.0}


def plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted(df.dataset.unique())
    fig, axes = plt.subplots(1, len(sets), figsize=(4.5 * len(sets), 3.6),
                             squeeze=False)
    for ax, ds in zip(axes[0], sets, strict=True):
        g = df[df.dataset == ds]
        for model in [*MODELS, "mean"]:
            m = g[g.imputer == model].groupby("rate").elastic
            mean, std = m.mean(), m.std().fillna(0)
            ax.errorbar(mean.index, mean, yerr=std, marker="o", capsize=3,
                        label=model, linestyle=":" if model == "mean" else "-")
        ax.set_title(f"{ds}: held-out rows")
        ax.set_xlabel("MCAR rate")
        ax.set_ylabel("elastic (L1+L2) on hidden entries")
    axes[0, 0].legend()
    save_figure(fig, path, dpi=110)


def markdown(csv_paths: list[Path]) -> str:
    """Markdown: error on the hidden held-out entries per (dataset, rate) and model.

    Parameters
    ----------
    csv_paths : list of Path
        CSVs written by this script (one per tag); their rows are pooled.

    Returns
    -------
    str
        Elastic metric (the figure's) and RMSE, mean over seeds.
    """
    return markdown_frame(
        pd.concat([pd.read_csv(p) for p in csv_paths], ignore_index=True)
    )


def markdown_frame(df: pd.DataFrame) -> str:
    """:func:`markdown` of rows already read."""
    models = [m for m in [*MODELS, "mean"] if m in set(df.imputer)]
    parts = []
    for value in ("elastic", "rmse"):
        pivot = df.pivot_table(index=["dataset", "rate"], columns="imputer",
                               values=value, aggfunc="mean")[models]
        parts.append(f"{value} (lower is better):\n\n{table(pivot)}")
    seeds = df.groupby("dataset")["seed"].apply(
        lambda s: ", ".join(str(v) for v in sorted(set(s))))
    parts.append("Seeds: " + "; ".join(f"{k} {v}" for k, v in seeds.items())
                 + f". Epochs: {', '.join(str(e) for e in sorted(set(df.epochs)))}; "
                 "`mean`: column means of the observed training entries.")
    return "\n\n".join(parts)


QUICK_HELP = ("1500 train / 300 test rows, 40 epochs, lr 1e-2, inference lr 1e-2, "
              "rates 0.1 0.3 0.5 0.7 0.9")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "artificial"])
    p.add_argument("--rates", nargs="+", type=float,
                   default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--imputers", nargs="+", default=list(MODELS))
    p.add_argument("--epochs", type=int, default=250)
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--inference-steps", type=int, default=250)
    p.add_argument("--inference-lr", type=float, default=1e-3)
    p.add_argument("--n-draws", type=int, default=100,
                   help="VAE importance samples per held-out row")
    p.add_argument("--tag", default=None, help="suffix of the result files")
    p.add_argument("--from-csv", nargs="+", default=None,
                   help="skip training: summarise and plot these CSVs")
    add_common(p, out=ROOT / "benchmarks" / "results", quick=QUICK_HELP,
               figure=ROOT / "docs" / "figures" / "rvi_imputation.png")
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs = 1500, 300, 40
        args.lr, args.inference_lr = 1e-2, 1e-2
        args.rates = [0.1, 0.3, 0.5, 0.7, 0.9]
    tag = args.tag or ("quick" if args.quick else "full")
    out = args.out
    if args.from_csv:
        df = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
    else:
        df = pd.DataFrame(run_all(args))
        write_rows(out / f"rvi_imputation_{tag}.csv", df.to_dict("records"))
    print(markdown_frame(df))
    plot(df, Path(args.figure))
    return 0


def run_all(args) -> list[dict]:
    torch.set_num_threads(1)
    records = []
    for ds in args.datasets:
        for seed in args.seeds:
            X, spec = dataset(ds, args.n_train + args.n_test, seed)
            X_train, X_test = X[:args.n_train], X[args.n_train:]
            for rate in args.rates:
                Xm_train = mcar(X_train, rate, seed + 1000)
                Xm_test = mcar(X_test, rate, seed + 2000)
                base = dict(dataset=ds, seed=seed, rate=rate, epochs=args.epochs,
                            inference_steps=args.inference_steps,
                            inference_lr=args.inference_lr, lr=args.lr)
                fitted = None
                for model in args.imputers:
                    imp = make_model(model, spec, epochs=args.epochs, seed=seed,
                                     lr=args.lr, inference_steps=args.inference_steps,
                                     inference_lr=args.inference_lr,
                                     n_draws=args.n_draws)
                    t0 = time.perf_counter()
                    imp.fit(Xm_train)
                    fit_s = time.perf_counter() - t0
                    res = evaluate(imp, X_test, Xm_test)
                    records.append({**base, "imputer": model, "fit_seconds": fit_s,
                                    "train_loss": imp.history_[-1]["loss"], **res})
                    print(f"{ds} rate={rate} seed={seed} {model}: elastic "
                          f"{res['elastic']:.4f} rmse {res['rmse']:.4f} "
                          f"(fit {fit_s:.0f}s, transform "
                          f"{res['transform_seconds']:.1f}s)", flush=True)
                    fitted = imp
                res = mean_fill(fitted, X_test, Xm_train, Xm_test)
                records.append({**base, "imputer": "mean", "fit_seconds": 0.0,
                                "train_loss": np.nan, **res})
    return records


if __name__ == "__main__":
    raise SystemExit(main())
