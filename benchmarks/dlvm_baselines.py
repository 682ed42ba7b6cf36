"""Deep latent-variable baselines of the VSAE paper on Yeast and White wine.

AE, VAE, CVAE with the mask, HI-VAE and MIWAE (plus the column mean as a floor)
under protocol.md §3: per seed, shuffle rows, split 70 / 10 / 20 %, hide attributes
MCAR at rate 0.5 (or MAR / MNAR with ``--mechanism``), fit on the training rows
(the validation rows serve the imputer's early stopping on its own objective, no
ground truth), impute the test rows, score the hidden test cells with the three NRMSE
variants of protocol.md §2. Prints a Markdown table with the VSAE paper's appendix
numbers for context and writes a CSV to ``benchmarks/results/``.

Settings (VSAE App. D, see shared/design/methods/vsae.md): Adam lr 1e-3, best model on
validation within 1000 epochs; DLVM baselines share the backbone (3 hidden layers of
64 units here) and VSAE's latent size (2 per attribute). MIWAE keeps its own spec
(miwae.md: 2 x 128 hidden, d = 10 capped at p - 1, K = 20, Student-t). Imputation uses
1000 importance samples (VSAE App. Table 5) for the VAE, CVAE and MIWAE.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/dlvm_baselines.py --quick --seeds 1
    python benchmarks/dlvm_baselines.py --seeds 3 --max-iter 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from deepimpute.datasets import load_white_wine, load_yeast
from deepimpute.imputers._hivae import HIVAEImputer
from deepimpute.imputers._miwae import MIWAEImputer
from deepimpute.imputers._vae import VAEImputer
from deepimpute.metrics import nrmse
from deepimpute.missingness import simulate_missing

RESULTS = Path(__file__).resolve().parent / "results"
LOADERS = {"yeast": load_yeast, "white_wine": load_white_wine}
METHODS = ("mean", "ae", "vae", "cvae", "hivae", "miwae")
VARIANTS = ("pooled_raw", "pooled_std", "per_feature")

#: VSAE appendix numbers (protocol.md §5), NRMSE, for context only: Table 6 is MCAR
#: 0.5 (no DLVM baselines there); Table 5 is MAR / NMAR (mechanism not retrievable).
PAPER = {
    ("yeast", "mcar"): {"VSAE": 0.419, "MissForest": 0.424, "MICE": 0.521,
                        "GAIN": 0.583, "MisGAN": 0.483},
    ("white_wine", "mcar"): {"VSAE": 0.3719, "MissForest": 0.3762, "MICE": 0.4280,
                             "GAIN": 0.3730, "MisGAN": 0.3725},
    ("yeast", "mar"): {"vae": 0.485, "cvae": 0.483, "hivae": 0.479, "miwae": 0.475,
                       "VSAE": 0.472},
    ("yeast", "mnar"): {"vae": 0.462, "cvae": 0.443, "hivae": 0.434, "miwae": 0.456,
                        "VSAE": 0.425},
    ("white_wine", "mar"): {"vae": 0.3845, "cvae": 0.3841, "hivae": 0.3840,
                            "miwae": 0.3834, "VSAE": 0.3825},
    ("white_wine", "mnar"): {"vae": 0.3727, "cvae": 0.3726, "hivae": 0.3724,
                             "miwae": 0.3723, "VSAE": 0.3717},
}
LABELS = {"mean": "column mean", "ae": "AE", "vae": "VAE", "cvae": "CVAE w/ mask",
          "hivae": "HI-VAE", "miwae": "MIWAE"}


def make_imputer(method: str, n_attributes: int, args, seed: int):
    shared = dict(
        max_iter=args.max_iter, learning_rate=1e-3, n_iter_no_change=args.patience,
        validation_fraction=1 / 8, random_state=seed, device=args.device,
    )
    latent = 2 * n_attributes
    backbone = (64, 64, 64)
    if method in ("ae", "vae", "cvae"):
        return VAEImputer(
            variant=method, hidden=backbone, latent_dim=latent,
            n_importance=args.n_importance, batch_size=64, **shared,
        )
    if method == "hivae":
        return HIVAEImputer(
            hidden=backbone, latent_dim=latent, n_components=10, batch_size=64,
            **shared,
        )
    if method == "miwae":
        return MIWAEImputer(n_importance=args.n_importance, batch_size=64, **shared)
    raise ValueError(method)


def run_one(name: str, seed: int, args) -> list[dict]:
    ds = LOADERS[name]()
    X = ds.frame.astype(float)
    mech = {"mcar": "mcar", "mar": "mar", "mnar": "mnar_self"}[args.mechanism]
    X_miss, hidden = simulate_missing(
        X, mech, args.rate, spec=ds.spec, random_state=seed
    )
    rows = np.random.default_rng(seed).permutation(len(X))
    n_tr, n_va = int(0.7 * len(X)), int(0.1 * len(X))
    fit_rows, test_rows = rows[: n_tr + n_va], rows[n_tr + n_va:]
    if args.max_rows:
        fit_rows = fit_rows[: args.max_rows]
    # fit on train + validation (the imputer holds 1/8 of them out: 10 % of the data)
    X_fit = X_miss.iloc[fit_rows].reset_index(drop=True)
    X_test = X_miss.iloc[test_rows].reset_index(drop=True)
    truth = X.iloc[test_rows].reset_index(drop=True)
    U = hidden[test_rows]
    train_obs = X_fit.to_numpy()
    scale = (np.nanmean(train_obs, 0), np.nanstd(train_obs, 0))
    out = []
    for method in args.methods:
        t0 = time.perf_counter()
        if method == "mean":
            X_imp = X_test.fillna(X_fit.mean())
            fit_s, n_iter = time.perf_counter() - t0, 0
        else:
            imp = make_imputer(method, X.shape[1], args, seed).fit(X_fit)
            fit_s, n_iter = time.perf_counter() - t0, imp.n_iter_
            X_imp = imp.transform(X_test)
        rec = dict(dataset=name, mechanism=args.mechanism, rate=args.rate, seed=seed,
                   method=method, fit_seconds=round(fit_s, 2), epochs=n_iter,
                   n_fit=len(X_fit), n_test=len(X_test), hidden_test=int(U.sum()))
        for v in VARIANTS:
            rec[f"nrmse_{v}"] = nrmse(
                truth, X_imp, missing=U, spec=ds.spec, variant=v,
                scale=scale if v == "pooled_std" else None,
            )
        print(
            f"  {name} seed={seed} {method:6s} "
            + " ".join(f"{v}={rec['nrmse_' + v]:.4f}" for v in VARIANTS)
            + f" fit={fit_s:.1f}s epochs={n_iter}",
            flush=True,
        )
        out.append(rec)
    return out


def markdown(df: pd.DataFrame, mechanism: str) -> str:
    agg = df.groupby(["dataset", "method"], sort=False).agg(
        **{f"{v}_mean": (f"nrmse_{v}", "mean") for v in VARIANTS},
        **{f"{v}_std": (f"nrmse_{v}", "std") for v in VARIANTS},
        fit_seconds=("fit_seconds", "mean"), epochs=("epochs", "mean"),
        seeds=("seed", "nunique"),
    ).reset_index()
    lines = [
        "| dataset | method | NRMSE pooled raw | NRMSE pooled std | NRMSE per feature "
        "| fit s | epochs | seeds | paper |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in agg.iterrows():
        paper = PAPER.get((r.dataset, mechanism), {}).get(r.method)
        cells = []
        for v in VARIANTS:
            sd = r[f"{v}_std"]
            cells.append(f"{r[f'{v}_mean']:.4f}" + (f" ± {sd:.4f}" if sd == sd else ""))
        lines.append(
            f"| {r.dataset} | {LABELS[r.method]} | " + " | ".join(cells)
            + f" | {r.fit_seconds:.1f} | {r.epochs:.0f} | {r.seeds} | "
            + (f"{paper}" if paper is not None else "–") + " |"
        )
    note = paper_note(df.dataset.unique(), mechanism)
    # a blank line ends the Markdown table (a bare line would join it as a row)
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def paper_note(datasets, mechanism: str) -> str:
    """One line quoting :data:`PAPER` for these datasets ("" when it has none).

    Parameters
    ----------
    datasets : iterable of str
        Dataset names as in :data:`LOADERS`.
    mechanism : {"mcar", "mar", "mnar"}
        The missingness mechanism (``mnar_self`` is read as ``mnar``).

    Returns
    -------
    str
        The VSAE paper's values, with the table they come from.
    """
    mechanism = "mnar" if mechanism.startswith("mnar") else mechanism
    ctx = []
    for ds in datasets:
        ref = PAPER.get((ds, mechanism))
        if ref:
            ctx.append(f"{ds}: " + ", ".join(f"{k} {v}" for k, v in ref.items()))
    table = "VSAE Table 6" if mechanism == "mcar" else "VSAE Table 5"
    return (
        f"Paper values ({table}, NRMSE variant unknown; our MAR/MNAR recipes are "
        "not the paper's): " + "; ".join(ctx) if ctx else ""
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="reduced run: 100 epochs, 200 importance samples")
    p.add_argument("--seeds", type=int, default=3, help="number of trial seeds")
    p.add_argument("--datasets", nargs="+", default=list(LOADERS), choices=LOADERS)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--mechanism", default="mcar", choices=("mcar", "mar", "mnar"))
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--patience", type=int, default=50)
    p.add_argument("--n-importance", type=int, default=1000)
    p.add_argument("--max-rows", type=int, default=0,
                   help="cap the fit rows (0: all)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="CSV path (default under results/)")
    args = p.parse_args(argv)
    if args.quick:
        args.max_iter = min(args.max_iter, 100)
        args.patience = min(args.patience, 20)
        args.n_importance = min(args.n_importance, 200)
    torch.set_num_threads(1)
    records = []
    for name in args.datasets:
        for seed in range(args.seeds):
            records.extend(run_one(name, seed, args))
    df = pd.DataFrame(records)
    tag = "_quick" if args.quick else ""
    path = Path(args.out) if args.out else (
        RESULTS / f"dlvm_baselines_{args.mechanism}{tag}.csv"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    print()
    print(markdown(df, args.mechanism))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
