"""Convergence of RVI vs VAD vs VAE during training (the RVI paper's Fig. 1).

For each dataset (MNIST digits, the paper's 300-dim artificial set), MCAR rate and
seed, train RVI, VAD and a VAE with the mirrored encoder (latent 64, [64, 64], Adam,
lr 1e-3, batch 256) and record per epoch: the training loss (mean negative ELBO per
row over observed entries), training seconds (excluding the metric evaluation) and
the elastic metric (mean L1 + mean L2) of the reconstruction from the posterior mean,
on all entries and on the missing entries of the training rows (model space: pixels
in [0, 1], standardised columns for the artificial set).

Summary: epochs and seconds RVI needs to reach VAD's final training loss; the
paper's claim holds in a run if both are at most half of VAD's.

Usage::

    python -m benchmarks.studies.rvi_convergence --quick --seeds 0 --lrs 1e-3 1e-2
    python -m benchmarks.studies.rvi_convergence --datasets mnist artificial \
        --rates 0.0 0.5 0.9 --epochs 250 --n-rows 10000 --seeds 0 1 2

``--tag`` names the CSVs (``rvi_convergence_<tag>.csv`` and its ``_summary``, in
``--out``, a folder); ``--from-csv`` merges per-epoch CSVs of separate runs.
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
from benchmarks.quality.rvi_imputation import MODELS, elastic, make_model


@torch.no_grad()
def train_reconstruction(imp) -> np.ndarray:
    """Model-space reconstruction of the training rows from the posterior mean:
    the learned per-row means (RVI/VAD) or the encoder mean (VAE)."""
    module = imp.module_
    was_training = module.training
    module.eval()
    if hasattr(module, "reconstruct"):
        out = module.reconstruct(module.rows)
    else:
        x, obs, attr = (torch.from_numpy(a) for a in imp._fit_view)
        from deepimpute.training import Batch

        batch = Batch(x, obs, attr, torch.arange(len(x)))
        mu, _ = module._posterior(batch)
        out = module.likelihood.mean(module._decode(mu, batch))
    module.train(was_training)
    return out.numpy().astype(np.float64)




def run_one(name, X, Xm, spec, *, epochs, seed, lr):
    miss = np.isnan(Xm)
    truth = {}

    def callback(imp, record):
        if "values" not in truth:
            truth["values"] = imp.encoder_.encode(X)[1].values.astype(np.float64)
            imp._fit_view = _model_view(imp, Xm)
        recon = train_reconstruction(imp)
        full = truth["values"]
        cols = imp.encoder_.encode(Xm)[1].observed == 0
        out = {
            "elastic_all": elastic(recon, full, np.ones_like(cols)),
            "elastic_missing": elastic(recon, full, cols),
        }
        return out

    imp = make_model(name, spec, epochs=epochs, seed=seed, lr=lr, callback=callback)
    imp.fit(Xm)
    assert miss.sum() == 0 or np.isfinite(imp.history_[-1]["loss"])
    return imp.history_


def _model_view(imp, Xm):
    data = imp.encoder_.encode(Xm)[1]
    return data.values, data.observed, data.attr_observed


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, rate, seed): when RVI reaches VAD's final loss."""
    rows = []
    for (ds, lr, rate, seed), g in df.groupby(["dataset", "lr", "rate", "seed"]):
        vad = g[g.imputer == "VAD"].sort_values("epoch")
        rvi = g[g.imputer == "RVI"].sort_values("epoch")
        vae = g[g.imputer == "VAE"].sort_values("epoch")
        target = vad.loss.iloc[-1]
        hit = rvi[rvi.loss <= target]
        ep = int(hit.epoch.iloc[0]) if len(hit) else np.nan
        # "seconds": the shared training loop's clock, which already leaves out
        # the time spent in callbacks (the per-epoch evaluations here)
        sec = float(hit.seconds.iloc[0]) if len(hit) else np.nan
        vad_ep, vad_sec = int(vad.epoch.iloc[-1]), float(vad.seconds.iloc[-1])
        rows.append({
            "dataset": ds, "lr": lr, "rate": rate, "seed": seed,
            "vad_final_loss": target, "rvi_final_loss": rvi.loss.iloc[-1],
            "vae_final_loss": vae.loss.iloc[-1] if len(vae) else np.nan,
            "vad_epochs": vad_ep, "vad_seconds": vad_sec,
            "rvi_epochs_to_vad_final": ep, "rvi_seconds_to_vad_final": sec,
            "epoch_ratio": ep / vad_ep, "seconds_ratio": sec / vad_sec,
            "claim_holds": bool(ep <= vad_ep / 2 and sec <= vad_sec / 2),
            "rvi_final_elastic_all": rvi.elastic_all.iloc[-1],
            "vad_final_elastic_all": vad.elastic_all.iloc[-1],
            "vae_final_elastic_all": vae.elastic_all.iloc[-1] if len(vae) else np.nan,
        })
    return pd.DataFrame(rows)


def markdown(csv_path: Path) -> str:
    """Markdown: :func:`summarize` of a per-epoch CSV, over seeds and per run.

    Parameters
    ----------
    csv_path : Path
        A per-epoch CSV written by this script (``rvi_convergence_<tag>.csv``).

    Returns
    -------
    str
        Mean ratios and the share of runs where the claim holds per (dataset, lr,
        rate), then one row per run.
    """
    runs = summarize(pd.read_csv(csv_path))
    agg = runs.groupby(["dataset", "lr", "rate"]).agg(
        seeds=("seed", "nunique"), epoch_ratio=("epoch_ratio", "mean"),
        seconds_ratio=("seconds_ratio", "mean"),
        claim_holds=("claim_holds", "mean"),
    )
    keep = ["dataset", "lr", "rate", "seed", "vad_epochs", "rvi_epochs_to_vad_final",
            "epoch_ratio", "seconds_ratio", "claim_holds"]
    return (
        table(agg)
        + "\n\n`epoch_ratio` / `seconds_ratio`: RVI's epochs / seconds to reach "
        "VAD's final training loss over VAD's (the claim: both at most 0.5); "
        "`claim_holds`: share of seeds where both are.\n\nPer run:\n\n"
        + table(runs[keep])
    )


def plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(df.groupby(["dataset", "rate"]).groups)
    styles = dict(zip(sorted(df.lr.unique()), ["-", "--", ":", "-."], strict=False))
    colors = dict(zip(MODELS, ["C0", "C1", "C2"], strict=True))
    fig, axes = plt.subplots(2, len(keys), figsize=(3.2 * len(keys), 5.5),
                             squeeze=False)
    for j, (ds, rate) in enumerate(keys):
        g = df[(df.dataset == ds) & (df.rate == rate)]
        for (model, lr), h in g.groupby(["imputer", "lr"]):
            m = h.groupby("epoch")
            for i, col in enumerate(["loss", "elastic_all"]):
                mean, std = m[col].mean(), m[col].std().fillna(0)
                ax = axes[i, j]
                ax.plot(mean.index, mean, styles[lr], color=colors[model],
                        label=f"{model} lr={lr:g}")
                ax.fill_between(mean.index, mean - std, mean + std,
                                color=colors[model], alpha=0.15)
                if col == "loss":
                    ax.set_yscale("log")
        axes[0, j].set_title(f"{ds}, MCAR {rate}")
        axes[1, j].set_xlabel("epoch")
    axes[0, 0].set_ylabel("train loss (-ELBO/row)")
    axes[1, 0].set_ylabel("elastic (L1+L2), train rows")
    axes[0, 0].legend()
    save_figure(fig, path, dpi=110)


def train_all(args) -> list[dict]:
    torch.set_num_threads(1)
    records = []
    for ds in args.datasets:
        for seed in args.seeds:
            X, spec = dataset(ds, args.n_rows, seed)
            if not records:  # warm-up: first-call costs must not count for a model
                for model in args.imputers:
                    run_one(model, X[:64], mcar(X[:64], 0.5, 0), spec, epochs=1,
                            seed=0, lr=1e-3)
            for rate in args.rates:
                Xm = mcar(X, rate, seed + 1000)
                for lr in args.lrs:
                    for model in args.imputers:
                        t0 = time.perf_counter()
                        hist = run_one(model, X, Xm, spec, epochs=args.epochs,
                                       seed=seed, lr=lr)
                        for r in hist:
                            records.append({"dataset": ds, "lr": lr, "rate": rate,
                                            "seed": seed, "imputer": model, **r})
                        print(f"{ds} rate={rate} lr={lr:g} seed={seed} {model}: "
                              f"loss {hist[-1]['loss']:.2f} elastic "
                              f"{hist[-1]['elastic_all']:.4f} "
                              f"({time.perf_counter() - t0:.0f}s)", flush=True)
    return records


QUICK_HELP = "2000 rows, 40 epochs (the reduced run)"


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSVs it writes."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "artificial"])
    p.add_argument("--rates", nargs="+", type=float, default=[0.0, 0.5, 0.9])
    p.add_argument("--imputers", nargs="+", default=list(MODELS))
    p.add_argument("--epochs", type=int, default=250)
    p.add_argument("--n-rows", type=int, default=10000)
    p.add_argument("--lrs", nargs="+", type=float, default=[1e-3],
                   help="Adam step sizes (network and rows alike, as in the RVI paper)")
    p.add_argument("--tag", default=None, help="suffix of the result files")
    p.add_argument("--from-csv", nargs="+", default=None,
                   help="skip training: merge, summarise and plot these per-epoch CSVs")
    add_common(p, out=RESULTS, quick=QUICK_HELP, figure=True)
    args = p.parse_args(argv)
    if args.quick:
        args.n_rows, args.epochs = 2000, 40
    args.tag = args.tag or ("quick" if args.quick else "full")
    args.outputs = [args.out / f"rvi_convergence_{args.tag}.csv",
                    args.out / f"rvi_convergence_{args.tag}_summary.csv"]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.from_csv:  # merge separate runs (seeds, datasets) into one result
        df = pd.concat([pd.read_csv(f) for f in args.from_csv], ignore_index=True)
    else:
        df = pd.DataFrame(train_all(args))
    write_rows(args.outputs[0], df.to_dict("records"))
    summary = summarize(df)
    write_rows(args.outputs[1], summary.to_dict("records"))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(summary.to_string(index=False))
    if args.figure is not None:
        plot(df, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
