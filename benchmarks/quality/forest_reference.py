"""Our MissForest and MICE against scikit-learn's IterativeImputer on four tables.

Its own protocol (transductive, as the forest references are usually run): the
whole table is imputed (``fit_transform``), inputs standardised with the observed
means/stds, cells hidden elementwise MCAR (rows left without any observed cell are
re-drawn), every forest with ``n_jobs=1``.
Tables: scikit-learn's diabetes (442 x 10, 30 % MCAR); a synthetic 5000 x 11
latent-factor table (50 %); yeast (8 numerical columns) and white wine (11) from
shared/datasets (50 %).

Metrics on the hidden cells: ``nrmse_per_feature`` = mean over columns of
RMSE_j / std_j (std of the hidden true values, ddof=1; the column mean scores about
1.0) and ``nrmse_pooled_raw`` = sqrt(mean squared error / variance) pooled over all
hidden cells on the original scale (missForest's NRMSE). ``fit_seconds`` is the
wall time of ``fit_transform``.

Usage::

    python -m benchmarks.run --suite forest-reference --quick   # diabetes + yeast
    python -m benchmarks.run --suite forest-reference --datasets diabetes yeast \
        --seeds 0 1 2
    python -m benchmarks.run --suite forest-reference --model-size  # stored size

Writes one tidy row per (dataset, seed, imputer) to
``benchmarks/results/forest_reference.csv`` (appending) and prints a summary with
the time ratio of each of our imputers to its scikit-learn reference in the same
run.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.datasets import load_diabetes
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import BayesianRidge

from benchmarks._cli import RESULTS, add_common, write_rows
from benchmarks._markdown import table
from deepimpute.imputers import MeanModeImputer, MICEImputer, MissForestImputer

DATA = Path(
    os.environ.get("DEEPIMPUTE_DATA", RESULTS.parents[2] / "shared" / "datasets")
)
RATES = {"diabetes": 0.3, "synthetic": 0.5, "yeast": 0.5, "wine": 0.5}


# ------------------------------------------------------------------------ data
def make_latent_table(n: int = 5000, seed: int = 0) -> np.ndarray:
    """3-factor latent Gaussian pushed through column-wise shapes.

    Each of the 11 columns is a noisy linear function u of three standard normal
    factors (noise sd 0.5), then: 4 stay normal (u), 3 lognormal (exp(0.75 u)),
    2 exponential (the exponential quantile of Phi(u / sd(u))) and 2 tanh-shaped
    (tanh(u)).
    """
    from scipy.stats import norm

    r = np.random.default_rng(seed)
    z = r.normal(size=(n, 3))
    U = z @ r.normal(size=(3, 11)) + 0.5 * r.normal(size=(n, 11))
    X = U.copy()
    X[:, 4:7] = np.exp(0.75 * U[:, 4:7])
    q = norm.cdf(U[:, 7:9] / U[:, 7:9].std(axis=0))
    X[:, 7:9] = -np.log1p(-np.clip(q, 0, 1 - 1e-12))
    X[:, 9:11] = np.tanh(U[:, 9:11])
    return X


def load(name: str) -> np.ndarray:
    if name == "diabetes":
        return load_diabetes().data
    if name == "synthetic":
        return make_latent_table()
    if name == "yeast":
        df = pd.read_csv(DATA / "yeast" / "yeast.csv")
        return df.drop(columns=["sequence_name", "localization_site"]).to_numpy(float)
    if name == "wine":
        df = pd.read_csv(DATA / "wine_quality" / "wine_white.csv")
        return df.drop(columns=["quality"]).to_numpy(float)
    raise ValueError(f"unknown dataset {name!r}")


def mcar(shape: tuple[int, int], rate: float, seed: int) -> tuple[np.ndarray, int]:
    """Elementwise Bernoulli mask (True = hidden); fully hidden rows are re-drawn."""
    r = np.random.default_rng(seed)
    hidden = r.random(shape) < rate
    redrawn = 0
    while True:
        bad = hidden.all(axis=1)
        if not bad.any():
            return hidden, redrawn
        redrawn += int(bad.sum())
        hidden[bad] = r.random((int(bad.sum()), shape[1])) < rate


# --------------------------------------------------------------------- metrics
def nrmse_per_feature(X, Xhat, hidden):
    out = []
    for j in range(X.shape[1]):
        rows = hidden[:, j]
        if rows.sum() < 2:
            continue
        rmse = np.sqrt(np.mean((Xhat[rows, j] - X[rows, j]) ** 2))
        out.append(rmse / X[rows, j].std(ddof=1))
    return float(np.mean(out))


def nrmse_pooled(X, Xhat, hidden):
    return float(np.sqrt(np.mean((Xhat - X)[hidden] ** 2) / np.var(X[hidden], ddof=1)))


# --------------------------------------------------------------------- methods
def methods(seed: int, selected: list[str] | None) -> dict:
    def it(est, **kw):
        return IterativeImputer(est, max_iter=10, random_state=seed, **kw)

    makers = {
        "mean": lambda: MeanModeImputer(),
        "ours_missforest": lambda: MissForestImputer(
            n_estimators=100, max_iter=10, n_jobs=1, random_state=seed
        ),
        "ours_missforest_mf1": lambda: MissForestImputer(
            n_estimators=100,
            max_iter=10,
            max_features=1.0,
            n_jobs=1,
            random_state=seed,
        ),
        "sk_iter_rf": lambda: it(
            RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed)
        ),
        "sk_iter_et": lambda: it(
            ExtraTreesRegressor(n_estimators=100, n_jobs=1, random_state=seed)
        ),
        "ours_mice": lambda: MICEImputer(random_state=seed),
        "ours_mice_point": lambda: MICEImputer(
            sample_posterior=False, random_state=seed
        ),
        "sk_iter_br": lambda: it(BayesianRidge()),
    }
    if selected:
        makers = {k: v for k, v in makers.items() if k in selected}
    return makers


REFERENCE = {  # our method -> the scikit-learn row it is timed against
    "ours_missforest": "sk_iter_rf",
    "ours_missforest_mf1": "sk_iter_rf",
    "ours_mice": "sk_iter_br",
    "ours_mice_point": "sk_iter_br",
}


def run_one(name: str, seed: int, selected: list[str] | None) -> list[dict]:
    X = load(name)
    rate = RATES[name]
    hidden, redrawn = mcar(X.shape, rate, seed)
    Xm = np.where(hidden, np.nan, X)
    mu, sd = np.nanmean(Xm, axis=0), np.nanstd(Xm, axis=0)
    sd[sd == 0] = 1.0
    Zm = (Xm - mu) / sd
    rows = []
    for method, make in methods(seed, selected).items():
        row = {
            "dataset": name,
            "n_rows": X.shape[0],
            "n_cols": X.shape[1],
            "rate": rate,
            "realised_rate": float(hidden.mean()),
            "rows_redrawn": redrawn,
            "seed": seed,
            "imputer": method,
            "nrmse_per_feature": np.nan,
            "nrmse_pooled_raw": np.nan,
            "fit_seconds": np.nan,
            "n_iter": np.nan,
            "error": "",
        }
        try:
            est = make()
            with warnings.catch_warnings():
                # IterativeImputer warns when its tolerance rule does not fire
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                Zhat = est.fit_transform(Zm)
                row["fit_seconds"] = time.perf_counter() - t0
            Xhat = Zhat * sd + mu
            row["nrmse_per_feature"] = nrmse_per_feature(X, Xhat, hidden)
            row["nrmse_pooled_raw"] = nrmse_pooled(X, Xhat, hidden)
            row["n_iter"] = getattr(est, "n_iter_", np.nan)
        except Exception as exc:  # recorded, never swallowed silently
            row["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        print(
            f"{name:9s} seed={seed} {method:20s}"
            f" nrmse_pf={row['nrmse_per_feature']:.4f}"
            f" pooled_raw={row['nrmse_pooled_raw']:.4f} s={row['fit_seconds']:.2f}"
            f" iters={row['n_iter']}",
            flush=True,
        )
        rows.append(row)
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["error"].isna() | (df["error"].astype(str) == "")]
    agg = (
        df.groupby(["dataset", "imputer"])
        .agg(
            seeds=("seed", "nunique"),
            nrmse_per_feature=("nrmse_per_feature", "mean"),
            nrmse_per_feature_std=("nrmse_per_feature", "std"),
            nrmse_pooled_raw=("nrmse_pooled_raw", "mean"),
            fit_seconds=("fit_seconds", "mean"),
        )
        .reset_index()
    )
    # time ratio to the scikit-learn reference, paired by seed within a run
    ratios = []
    for _, r in agg.iterrows():
        ref = REFERENCE.get(r["imputer"])
        sub = df[df["dataset"] == r["dataset"]]
        a = sub[sub["imputer"] == r["imputer"]].set_index("seed")["fit_seconds"]
        b = sub[sub["imputer"] == ref].set_index("seed")["fit_seconds"] if ref else None
        if b is None or b.empty:
            ratios.append(np.nan)
            continue
        both = a.index.intersection(b.index)
        ratios.append(float((b[both] / a[both]).mean()) if len(both) else np.nan)
    agg["speedup_vs_sklearn_ref"] = ratios
    return agg


def _latest(csv_path: Path) -> pd.DataFrame:
    """The CSV's rows, the last run of each (dataset, seed, imputer) kept."""
    return pd.read_csv(csv_path).drop_duplicates(
        ["dataset", "seed", "imputer"], keep="last"
    )


def markdown(csv_path: Path) -> str:
    """Markdown: :func:`summarise` of a CSV written by this script.

    Parameters
    ----------
    csv_path : Path
        ``forest_reference.csv`` (one row per dataset, seed and imputer).

    Returns
    -------
    str
        Mean over seeds per (dataset, imputer) and the time ratio to scikit-learn.
    """
    return (
        table(summarise(_latest(csv_path)))
        + "\n\n`speedup_vs_sklearn_ref`: scikit-learn reference's fit seconds / "
        "ours, paired by seed (ours_missforest* against sk_iter_rf, ours_mice* "
        "against sk_iter_br); above 1 means ours is faster."
    )


def model_size_markdown(csv_path: Path) -> str:
    """Markdown: pickled size of a fitted MissForest per option (``--model-size``).

    Parameters
    ----------
    csv_path : Path
        ``forest_reference_model_size.csv``.

    Returns
    -------
    str
        One row per option set.
    """
    return table(pd.read_csv(csv_path), digits=1)


def model_sizes(out: Path, seed: int = 0) -> pd.DataFrame:
    """Pickled size of a fitted MissForest on diabetes under the memory options."""
    import pickle

    X = load("diabetes")
    hidden, _ = mcar(X.shape, RATES["diabetes"], seed)
    Xm = np.where(hidden, np.nan, X)
    rows = []
    for kw in [{}, {"max_depth": 8}, {"max_samples": 0.5}, {"n_estimators": 30}]:
        est = MissForestImputer(n_jobs=1, random_state=seed, **kw).fit(Xm)
        mb = len(pickle.dumps(est)) / 1e6
        rows.append({"dataset": "diabetes", "options": repr(kw), "pickle_mb": mb})
        print(f"MissForest {kw!r}: {mb:.1f} MB pickled", flush=True)
    write_rows(out.with_name(out.stem + "_model_size.csv"), rows)
    return pd.DataFrame(rows)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    add_common(ap, out=RESULTS / "forest_reference.csv",
               quick="diabetes + yeast, the first seed")
    ap.add_argument("--datasets", nargs="+", default=list(RATES), choices=list(RATES))
    ap.add_argument("--imputers", nargs="+", default=None, help="a subset of rows",
                    choices=list(methods(0, None)))
    ap.add_argument(
        "--model-size",
        action="store_true",
        help="only measure the pickled size of fitted MissForests (diabetes)",
    )


def resolve(args, parser: argparse.ArgumentParser) -> None:
    if args.quick:
        args.datasets, args.seeds = ["diabetes", "yeast"], args.seeds[:1]
    args.outputs = ([args.out.with_name(args.out.stem + "_model_size.csv")]
                    if args.model_size else
                    [args.out, args.out.with_name(args.out.stem + "_summary.csv")])


def main(args) -> int:
    if args.model_size:
        model_sizes(args.out)  # writes args.outputs[0]
        return 0
    rows = []
    for name in args.datasets:
        for seed in args.seeds:
            rows.extend(run_one(name, seed, args.imputers))
    env = dict(sklearn=sklearn.__version__, numpy=np.__version__,
               python=platform.python_version(),
               machine=f"{platform.machine()} {os.cpu_count()} cpus")
    out = write_rows(args.out, [{**r, **env} for r in rows], append=True)
    summary = summarise(_latest(out))
    write_rows(out.with_name(out.stem + "_summary.csv"), summary.to_dict("records"))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.round(4).to_string(index=False))
    return 0
