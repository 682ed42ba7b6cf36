"""factVAE held-out log-likelihood on small, fully observed training sets, with and
without group sparsity (the factVAE paper's Table 1 in spirit).

Its own protocol (no mask, no imputation): per seed, shuffle the complete rows of a
table, keep a test set, train on the first ``n`` of the other rows for each size,
and report the mean held-out log-likelihood per test row (importance sampled, in the
model's space: standardised numerical columns, one-hot categoricals) for factVAE
with lambda = 1, lambda = 0 and the JMVAE+ mixture of the same experts. The
imputation errors of factVAE and its variants come from the runner
(``python -m benchmarks.run --suite factvae-uci``).

    python -m benchmarks.studies.factvae_loglik --quick --seeds 0 1 2
    python -m benchmarks.studies.factvae_loglik --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._cli import RESULTS, add_common, write_rows
from benchmarks._markdown import table
from benchmarks.data import load
from deepimpute.imputers import FactVAEImputer

#: label -> FactVAEImputer parameters
CONFIGS: dict[str, dict] = {
    "factVAE lambda=1": dict(sparsity=1.0),
    "factVAE lambda=0": dict(sparsity=0.0),
    "JMVAE+ (moe) lambda=1": dict(sparsity=1.0, fusion="moe"),
    # b_g = 1 instead of 100: wider initial experts, so the PoE proposal of
    # score_samples is not ~800x too narrow after a short training
    "factVAE lambda=1 b=1": dict(sparsity=1.0, precision_baseline=1.0),
    "factVAE lambda=0 b=1": dict(sparsity=0.0, precision_baseline=1.0),
}


def loglik_rows(name: str, seeds, train_sizes, n_test: int, max_iter: int):
    """One row per (seed, training size, configuration): ``test_loglik``."""
    ds = load(name)
    frame = ds.frame.dropna().reset_index(drop=True)
    n_test = min(n_test, len(frame) // 3)
    rows = []
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(len(frame))
        test = frame.iloc[perm[:n_test]]
        for n in sorted({min(n, len(frame) - n_test) for n in train_sizes}):
            train = frame.iloc[perm[n_test : n_test + n]]
            for label, kw in CONFIGS.items():
                imp = FactVAEImputer(
                    column_spec=ds.spec, latent_dim=8, batch_size=16,
                    max_iter=max_iter, validation_fraction=0.0,
                    n_iter_no_change=None, random_state=seed, device="cpu",
                    # the paper's prior scaling, group dropout and likelihood
                    prior_scaling="per_batch_mean", group_available_prob=0.9,
                    numerical="gaussian",
                    **kw,
                ).fit(train)
                ll = float(np.mean(imp.score_samples(test)))
                rows.append({"dataset": name, "seed": seed, "n_train": n,
                             "imputer": label, "test_loglik": ll})
                print(f"  {name} seed {seed} n_train {n:4d} {label:22s} "
                      f"test log-lik/row {ll:.3f}", flush=True)
    return rows


def markdown(csv_path: Path) -> str:
    """Markdown of a CSV of this script: mean ± sd over seeds of the held-out
    log-likelihood per row, per (dataset, training size) and configuration."""
    df = pd.read_csv(csv_path)
    seeds = ", ".join(str(s) for s in sorted(set(df["seed"])))
    g = df.groupby(["dataset", "n_train", "imputer"], sort=False)["test_loglik"]
    wide = (g.mean().map("{:.4f}".format) + " ± "
            + g.std(ddof=0).map("{:.4f}".format)).unstack(-1)
    return (f"Held-out log-likelihood per row (higher is better; seeds "
            f"{seeds}):\n\n{table(wide)}")


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common(ap, quick="yeast and heart, 2 training sizes, 150 epochs")
    args = ap.parse_args(argv)
    args.out = args.out or RESULTS / (
        "factvae_loglik_quick.csv" if args.quick else "factvae_loglik.csv"
    )
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    names = ["yeast", "heart"] if args.quick else ["yeast", "white_wine", "heart"]
    sizes = [50, 200] if args.quick else [25, 50, 100, 400]
    max_iter = 150 if args.quick else 400
    rows = []
    for name in names:
        rows += loglik_rows(name, args.seeds, sizes, 300, max_iter)
    out = args.out
    write_rows(out, rows)
    print(markdown(out))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
