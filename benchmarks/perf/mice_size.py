"""MICE's fit time and model size against the number of columns.

A table of ``--rows`` rows whose ``n_columns`` numerical columns are driven by 5
latent factors, 10 % of the cells MCAR missing; ``MICEImputer`` with
``--chains`` chains of ``--rounds`` rounds, with and without
``sample_posterior``. Measured: the fit's wall time and peak memory, and the size
of the fitted model as a model file (``len(deepimpute.persistence.dumps(imp))``).

``covariances_mb`` is the memory of what the chains held before the column
models were kept compact: one ``p' x p'`` float64 covariance per Bayesian
ridge (``p' = n_columns - 1`` predictors), computed from the grid, not measured.
A ``sample_posterior`` point whose packed covariances would pass
``--max-posterior-mb`` is skipped with that size as its reason (the model file
grows as ``chains * p^3 / 2`` float64 there).

    python -m benchmarks.perf --suite mice_size
    python -m benchmarks.perf --suite mice_size --quick
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.perf import Benchmark

FIELDS = [
    "n_columns",
    "sample_posterior",
    "n_rows",
    "chains",
    "rounds",
    "seed",
    "quick",
    "status",
    "fit_seconds",
    "fit_peak_mb",
    "model_mb",
    "covariances_mb",
    "model_over_covariances",
    "versions",
    "error",
]


def _flag(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def make_table(n_rows: int, n_columns: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_rows, 5))
    X = z @ rng.normal(size=(5, n_columns)) + 0.3 * rng.normal(size=(n_rows, n_columns))
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def _covariances_mb(chains: int, n_columns: int) -> float:
    return chains * n_columns * (n_columns - 1) ** 2 * 8 / 2**20


def markdown(path: Path) -> str:
    from benchmarks._markdown import table

    df = pd.read_csv(path)
    shown = df[["n_columns", "sample_posterior", "n_rows", "chains", "rounds",
                "status", "fit_seconds", "fit_peak_mb", "model_mb",
                "covariances_mb", "model_over_covariances", "error"]]
    shown = shown.astype(object).where(shown.notna(), "")
    return table(shown, digits=3)


class MICESize(Benchmark):
    """Fit of MICE on ``n_columns`` columns: time, peak memory, model size."""

    name = "mice_size"
    params = {"n_columns": [50, 200, 1000], "sample_posterior": [True, False],
              "seed": [0]}
    quick = {"n_columns": [20, 50]}
    types = {"n_columns": int, "sample_posterior": _flag}
    flags = {"n_columns": "--columns"}
    fields = FIELDS
    out = "mice_size.csv"
    isolate = True

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--rows", type=int, default=500)
        p.add_argument("--chains", type=int, default=2, help="n_imputations")
        p.add_argument("--rounds", type=int, default=2, help="max_iter")
        p.add_argument("--max-posterior-mb", type=float, default=2000.0)
        p.add_argument("--no-isolate", action="store_true",
                       help="run points in-process")

    @classmethod
    def resolve(cls, args, parser) -> None:
        if args.quick:
            args.rows = 200

    def __init__(self, args) -> None:
        super().__init__(args)
        self.isolate = not args.no_isolate

    def constants(self) -> dict:
        a = self.args
        return dict(n_rows=a.rows, chains=a.chains, rounds=a.rounds)

    def limit(self) -> float:
        return 1800.0

    def skip(self, point: dict) -> str | None:
        if not point["sample_posterior"]:
            return None
        packed = _covariances_mb(self.args.chains, point["n_columns"]) / 2
        if packed > self.args.max_posterior_mb:
            return (f"the packed covariances would take {packed:,.0f} MB "
                    f"(> --max-posterior-mb {self.args.max_posterior_mb:g})")
        return None

    def setup(self, n_columns, sample_posterior, seed) -> None:
        from deepimpute.imputers import MICEImputer

        self.X = make_table(self.args.rows, n_columns, seed)
        self.imputer = MICEImputer(
            n_imputations=self.args.chains, max_iter=self.args.rounds,
            sample_posterior=sample_posterior, random_state=seed,
        )
        self.chains = self.args.chains if sample_posterior else 1
        self.p = n_columns

    def time_fit(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.imputer.fit(self.X)

    peakmem_fit = time_fit

    def track_size(self) -> dict:
        from deepimpute import persistence

        model_mb = len(persistence.dumps(self.imputer)) / 2**20
        cov = _covariances_mb(self.chains, self.p)
        return dict(
            model_mb=model_mb,
            covariances_mb=cov,
            model_over_covariances=model_mb / cov,
        )

    def summary(self, out: Path) -> str:
        return markdown(out)
