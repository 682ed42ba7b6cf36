"""Imputation error against the Bayes floor on Gaussian data with a known law.

The table is drawn from a multivariate Gaussian with a known mean and a low-rank
plus diagonal covariance (:func:`deepimpute.datasets.make_gaussian_data`, 10 features,
3 factors by default, drawn once from ``--data-seed``). Each imputer runs under
the runner's protocol (:func:`benchmarks.quality.grid.run_cell`: per seed, MCAR
mask over the table, 80 % of the rows fitted, the 20 % test rows transformed and
scored on their hidden cells). On the same test rows and mask the exact conditional mean
``E[x_mis | x_obs]`` (:func:`deepimpute.metrics.gaussian_conditional_mean`) is the
oracle: the least expected squared error any imputer can reach, so the ``excess``
column (imputer error / oracle error - 1, per seed) is what an imputer leaves on the
table.

    python -m benchmarks.run --suite oracle --imputers mean vae sk-iterative-br sk-knn
    python -m benchmarks.run --suite oracle --quick --imputers mean vae --seeds 0
    python -m benchmarks.run --suite oracle --imputers vsae-default --set latent_dim=8
"""

from __future__ import annotations

import argparse
import time
import traceback
from pathlib import Path

import pandas as pd

from benchmarks._cli import (
    RESULTS,
    RowWriter,
    add_common,
    check_imputers,
    checked_overrides,
)
from benchmarks.data import gaussian_table
from benchmarks.quality.grid import run_cell, split

ORACLE = "oracle (conditional mean)"
METRICS = ("nrmse_pooled_raw", "nrmse_pooled_std", "nrmse_per_feature")

FIELDS = [
    "dataset",
    "n_samples",
    "n_features",
    "n_factors",
    "data_seed",
    "mechanism",
    "rate",
    "imputer",
    "seed",
    "quick",
    "status",
    *METRICS,
    "excess_per_feature",
    "excess_pooled_raw",
    "realised_rate",
    "fit_seconds",
    "transform_seconds",
    "epochs",
    "n_train",
    "n_test",
    "versions",
    "host",
    "error",
]


def oracle_cell(data, mechanism: str, rate: float, seed: int) -> dict:
    """The conditional-mean imputation scored exactly as :func:`run_cell` scores."""
    from deepimpute.metrics import gaussian_conditional_mean, score_imputation
    from deepimpute.missingness import simulate_missing

    X = data.frame
    X_miss, hidden = simulate_missing(
        X, mechanism, rate, spec=data.spec, random_state=seed
    )
    _, test_rows = split(len(X), seed)  # the runner's split, so the same cells
    t0 = time.perf_counter()
    values = gaussian_conditional_mean(
        X_miss.iloc[test_rows], data.params["mean"], data.params["cov"]
    )
    t1 = time.perf_counter()
    X_imp = pd.DataFrame(values, index=X.index[test_rows], columns=X.columns)
    scores = score_imputation(
        X.iloc[test_rows], X_imp, missing=hidden[test_rows], spec=data.spec
    )
    return dict(
        {m: scores[m] for m in METRICS},
        status="ok",
        realised_rate=float(hidden.mean()),
        fit_seconds=0.0,
        transform_seconds=t1 - t0,
        n_test=len(test_rows),
    )


def run(
    imputers,
    rates,
    seeds,
    *,
    out: Path,
    quick: bool,
    n_samples: int,
    n_features: int,
    n_factors: int,
    data_seed: int,
    mechanism: str = "mcar",
    device: str = "auto",
    overrides: dict | None = None,
) -> list[dict]:
    """The oracle and every imputer per rate and seed, written to ``out``;
    ``overrides`` are imputer parameters (``--set``; name the CSV after them)."""
    data = gaussian_table(n_samples, n_features, n_factors, data_seed)
    base = dict(
        dataset=data.name,
        n_samples=n_samples,
        n_features=n_features,
        n_factors=n_factors,
        data_seed=data_seed,
        mechanism=mechanism,
        quick=int(quick),
    )
    rows = []
    with RowWriter(out, FIELDS, brief=_brief) as writer:
        for rate in rates:
            for seed in seeds:
                floor = oracle_cell(data, mechanism, rate, seed)
                cells = [(ORACLE, floor)]
                for name in imputers:
                    try:
                        row = run_cell(data, mechanism, rate, name, seed, quick,
                                       device=device, overrides=overrides)
                    except Exception as exc:  # recorded, never swallowed
                        traceback.print_exc()
                        row = dict(status="error", error=f"{type(exc).__name__}: {exc}")
                    cells.append((name, row))
                for name, row in cells:
                    row = {**row, **base, "rate": rate, "imputer": name, "seed": seed}
                    if row["status"] == "ok":
                        for m in ("per_feature", "pooled_raw"):
                            row[f"excess_{m}"] = (
                                row[f"nrmse_{m}"] / floor[f"nrmse_{m}"] - 1.0
                            )
                    rows.append(writer.write(row))
    return rows


def _brief(row) -> str:
    head = f"{row['mechanism']}@{row['rate']} {row['imputer']} seed={row['seed']}"
    if row["status"] != "ok":
        return f"{head}: {row['error']}"
    return (
        f"{head}: per-feature {row['nrmse_per_feature']:.4f} pooled "
        f"{row['nrmse_pooled_raw']:.4f} excess {row['excess_per_feature']:+.1%}"
    )


def summarize(csv_path: Path) -> str:
    """Markdown: mean ± std over seeds per (rate, imputer), the oracle row first."""
    df = pd.read_csv(csv_path)
    df = df[df["status"] == "ok"]
    if df.empty:
        return "(no finished runs)"
    cols = [*METRICS, "excess_per_feature"]
    lines = [
        "| mechanism | rate | imputer | seeds | " + " | ".join(cols) + " |",
        "|" + "---|" * (4 + len(cols)),
    ]
    for (mech, rate), g in df.groupby(["mechanism", "rate"], sort=True):
        names = list(dict.fromkeys(g["imputer"]))  # run order, the oracle first
        for name in names:
            h = g[g["imputer"] == name]
            cells = []
            for c in cols:
                v = pd.to_numeric(h[c], errors="coerce").dropna()
                fmt = "{:+.1%}" if c.startswith("excess") else "{:.4f}"
                cell = fmt.format(v.mean()) if len(v) else ""
                if len(v) > 1:
                    cell += " ± " + fmt.format(v.std(ddof=0)).lstrip("+")
                cells.append(cell)
            quick = " (quick)" if h["quick"].iloc[0] else ""
            label = f"**{name}**" if name == ORACLE else name
            lines.append(
                f"| {mech} | {rate:g} | {label}{quick} | {len(h)} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--imputers", nargs="*", metavar="NAME",
                   help="names of benchmarks.profiles (default: mean vae "
                   "sk-iterative-br sk-knn)")
    p.add_argument("--rates", nargs="*", type=float, default=[0.3, 0.5])
    p.add_argument("--mechanism", default="mcar")
    p.add_argument("--n-samples", type=int, default=5000)
    p.add_argument("--n-features", type=int, default=10)
    p.add_argument("--n-factors", type=int, default=3)
    p.add_argument("--data-seed", type=int, default=0, help="draws mean and cov")
    p.add_argument("--device", default="auto")
    add_common(p, quick="tiny table and epochs", overrides=True)


def resolve(args, parser: argparse.ArgumentParser) -> None:
    args.imputers = args.imputers or ["mean", "vae", "sk-iterative-br", "sk-knn"]
    check_imputers(parser, args.imputers)
    args.overrides = checked_overrides(parser, args.set, args.imputers)
    if args.quick:
        args.n_samples = min(args.n_samples, 500)
    args.out = args.out or RESULTS / (
        "oracle-quick.csv" if args.quick else "oracle.csv")
    args.outputs = [args.out]


def main(args) -> int:
    rows = run(
        args.imputers,
        args.rates,
        args.seeds,
        out=args.out,
        quick=args.quick,
        n_samples=args.n_samples,
        n_features=args.n_features,
        n_factors=args.n_factors,
        data_seed=args.data_seed,
        mechanism=args.mechanism,
        device=args.device,
        overrides=args.overrides,
    )
    print(summarize(args.out))
    print(f"\nwrote {args.out}")
    return 1 if any(r["status"] != "ok" for r in rows) else 0
