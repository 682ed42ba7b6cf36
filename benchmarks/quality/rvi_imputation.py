"""Test-time imputation on held-out rows: RVI vs VAD vs VAE (RVI paper, Fig. 4).

For each dataset, seed and MCAR rate: draw ``n_train + n_test`` rows, hide entries
of both parts at the rate, fit each model on the training part, ``transform`` the
held-out part (RVI/VAD: ``inference_steps`` Adam steps on fresh per-row parameters
with the decoder frozen; VAE: encoder + importance sampling) and score the hidden
entries: elastic metric (mean L1 + mean L2) and RMSE in model space (pixels in
[0, 1]; standardised columns for the artificial set). Column-mean imputation is
scored as a floor.

The models have the RVI paper's sizes (:func:`make_model`: latent 64, [64, 64]);
``--tag`` names the CSV (``rvi_imputation_<tag>.csv`` in ``--out``, a folder);
``--from-csv`` summarises and draws CSVs of earlier runs instead of training.

Usage::

    python -m benchmarks.run --suite rvi-imputation --quick --seeds 0
    python -m benchmarks.run --suite rvi-imputation --epochs 250 --n-train 10000 \
        --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks._cli import RESULTS, add_common, save_figure, write_rows
from benchmarks._markdown import table
from benchmarks.data import elementwise_mcar as mcar
from benchmarks.data import rvi_dataset as dataset
from deepimpute.imputers import MeanModeImputer, RVIImputer, VADImputer, VAEImputer

MODELS = ("RVI", "VAD", "VAE")


def make_model(name: str, spec, *, epochs: int, seed: int, lr: float = 1e-3,
               posterior_lr: float | None = None, inference_steps: int = 250,
               inference_lr: float = 1e-3, n_draws: int = 100, callback=None):
    """The compared models with the RVI paper's sizes (latent 64, [64, 64])."""
    shared = dict(column_spec=spec, max_iter=epochs, batch_size=256,
                  learning_rate=lr, validation_fraction=0.0, n_iter_no_change=None,
                  random_state=seed, device="cpu", callback=callback)
    rows = dict(latent_dim=64, hidden=(64, 64), posterior_learning_rate=posterior_lr,
                inference_steps=inference_steps, inference_learning_rate=inference_lr)
    if name == "RVI":
        return RVIImputer(relay_groups=(25, 50, 100), relay_ratio=0.5, **rows,
                          **shared)
    if name == "VAD":
        return VADImputer(**rows, **shared)
    if name == "VAE":
        return VAEImputer(latent_dim=64, hidden=(64, 64), n_draws=n_draws,
                          **shared)
    raise ValueError(name)


def elastic(pred: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute plus mean squared error over the entries ``where``."""
    if not where.any():
        return float("nan")
    err = pred[where] - truth[where]
    return float(np.abs(err).mean() + (err**2).mean())


def rmse(pred: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    return float(np.sqrt(((pred[where] - truth[where]) ** 2).mean()))



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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", nargs="+", default=["mnist", "artificial"],
                   choices=["mnist", "artificial"])
    p.add_argument("--rates", nargs="+", type=float,
                   default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--imputers", nargs="+", default=list(MODELS), choices=MODELS)
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
                   help="skip training: summarise (and draw) these CSVs")
    add_common(p, out=RESULTS, quick=QUICK_HELP, figure=True)


def resolve(args, parser: argparse.ArgumentParser) -> None:
    if args.quick:
        args.n_train, args.n_test, args.epochs = 1500, 300, 40
        args.lr, args.inference_lr = 1e-2, 1e-2
        args.rates = [0.1, 0.3, 0.5, 0.7, 0.9]
    args.tag = args.tag or ("quick" if args.quick else "full")
    args.outputs = [] if args.from_csv else [
        args.out / f"rvi_imputation_{args.tag}.csv"]


def main(args) -> int:
    if args.from_csv:
        df = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
    else:
        df = pd.DataFrame(run_all(args))
        write_rows(args.outputs[0], df.to_dict("records"))
    print(markdown_frame(df))
    if args.figure is not None:
        plot(df, args.figure)
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
