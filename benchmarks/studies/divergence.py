"""Calibration of the divergence checks: healthy runs against the thresholds.

For every imputer at its default settings (deep ones for ``--epochs`` epochs) on the
benchmark tables (MCAR 20 %, at most ``--rows`` rows), and for the deep ones on the
same tables with too-large ``--learning-rates``, records:

* ``peak_growth``: the largest :func:`deepimpute.training.loss_growth` of the
  training loss over every mini-batch (the statistic of the divergence guard, which
  stops training above ``EXPLOSION_FACTOR``);
* ``peak_excursion``: over numerical columns, the largest distance of an imputed
  value outside the column's observed training range, in units of
  ``max(range, std)`` (the statistic of the base class's range check, which raises
  above ``RANGE_FACTOR``);
* ``error``: the error raised, if any (a healthy run must have none).

    python -m benchmarks.studies.divergence --rows 1000 --epochs 5 \
        --learning-rates 10
    python -m benchmarks.studies.divergence --rows 1000 --epochs 6 \
        --imputers vsae-staged factvae-dataprior rvi-wide \
        --out benchmarks/results/divergence_profiles.csv

It swaps ``deepimpute.training.loss_growth`` for a recording wrapper during each
fit (the only way to read the guard's statistic without changing the package).
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import deepimpute.training as training
from benchmarks._cli import RESULTS
from deepimpute import datasets
from deepimpute.imputers import IMPUTERS, RANGE_FACTOR, BaseDeepImputer
from deepimpute.missingness import simulate_missing

DATASETS = [
    "yeast",
    "red_wine",
    "white_wine",
    "heart",
    "mushroom",
    "phishing",
    "spam",
    "letter",
    "adult",
    "credit_default",
]
LOADERS = {
    "red_wine": datasets.load_red_wine,
    "white_wine": datasets.load_white_wine,
    "spam": datasets.load_spam,
}


#: non-default configurations whose losses change definition during training
#: (VSAE's staged schedule and KL warm-up; factVAE's dataset-level prior)
PROFILES = {
    "vsae-staged": ("vsae", dict(warmup_epochs=2, kl_warmup_epochs=3)),
    "factvae-dataprior": ("factvae", dict(prior_scaling="dataset")),
    "rvi-wide": ("rvi", dict(posterior_logvar=0.0)),
}


def _make(name: str, params: dict):
    base, extra = PROFILES.get(name, (name, {}))
    return IMPUTERS[base](**extra, **params)


def _load(name: str, rows: int) -> pd.DataFrame:
    loader = LOADERS.get(name) or getattr(datasets, f"load_{name}")
    frame = loader().frame
    if len(frame) > rows:
        frame = frame.sample(rows, random_state=0).sort_index()
    return frame


class _PeakGrowth:
    """Wraps ``training.loss_growth`` to remember its largest value."""

    def __init__(self) -> None:
        self.peak = -np.inf
        self._inner = training.loss_growth

    def __call__(self, value, first, best):
        out = self._inner(value, first, best)
        self.peak = max(self.peak, out)
        return out


def _excursion(X_missing: pd.DataFrame, X_imputed: pd.DataFrame) -> float:
    worst = 0.0
    for col in X_missing.columns:
        s = X_missing[col]
        if not pd.api.types.is_numeric_dtype(s.dtype) or s.dtype == bool:
            continue
        obs = s.dropna().to_numpy(dtype=float)
        holes = s.isna().to_numpy()
        if obs.size == 0 or not holes.any():
            continue
        lo, hi = obs.min(), obs.max()
        unit = max(hi - lo, obs.std(), np.finfo(float).tiny)
        v = X_imputed[col].to_numpy(dtype=float)[holes]
        out = np.maximum(np.maximum(lo - v, v - hi), 0.0).max() / unit
        worst = max(worst, float(out))
    return worst


def run(rows: int, epochs: int, learning_rates, names, out: Path) -> None:
    deep = {n for n, c in IMPUTERS.items() if issubclass(c, BaseDeepImputer)}
    deep |= set(PROFILES)
    names = names or list(IMPUTERS)
    fields = [
        "dataset", "imputer", "learning_rate", "epochs_run", "peak_growth",
        "peak_excursion", "seconds", "error",
    ]
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for ds in DATASETS:
            frame = _load(ds, rows)
            X_missing, _ = simulate_missing(frame, "mcar", 0.2, random_state=0)
            for name in names:
                for lr in learning_rates if name in deep else [None]:
                    params = dict(random_state=0)
                    if name in deep:  # the others run at their defaults
                        params.update(max_iter=epochs, device="cpu")
                    if lr is not None:
                        params["learning_rate"] = lr
                    est = _make(name, params)
                    probe = _PeakGrowth()
                    training.loss_growth = probe
                    t0 = time.perf_counter()
                    error, exc_peak = "", np.nan
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            est.fit(X_missing)
                            exc_peak = _excursion(X_missing, est.transform(X_missing))
                    except Exception as exc:  # recorded: the point of the script
                        error = f"{type(exc).__name__}: {exc}"[:300]
                    finally:
                        training.loss_growth = probe._inner
                    row = dict(
                        dataset=ds,
                        imputer=name,
                        learning_rate=lr if lr is not None else "default",
                        epochs_run=getattr(est, "n_iter_", 0),
                        peak_growth=f"{probe.peak:.4g}",
                        peak_excursion=f"{exc_peak:.4g}",
                        seconds=f"{time.perf_counter() - t0:.1f}",
                        error=error,
                    )
                    writer.writerow(row)
                    fh.flush()
                    print(row, flush=True)


def summary_markdown(csv_path: Path) -> str:
    """Markdown: per imputer and learning rate, the largest statistics over the
    tables against the thresholds, and how many runs raised.

    Parameters
    ----------
    csv_path : Path
        A CSV written by this script.

    Returns
    -------
    str
        One row per (imputer, learning_rate).
    """
    from benchmarks._markdown import table

    df = pd.read_csv(csv_path)
    df["raised"] = df["error"].notna()  # an empty cell reads as NaN
    out = (
        df.groupby(["imputer", "learning_rate"], sort=True)
        .agg(
            tables=("dataset", "nunique"),
            raised=("raised", "sum"),
            max_peak_growth=("peak_growth", "max"),
            max_peak_excursion=("peak_excursion", "max"),
        )
        .reset_index()
    )
    for col in ("max_peak_growth", "max_peak_excursion"):  # 1e+24 stays readable
        out[col] = [f"{v:.3g}" if np.isfinite(v) or v < 0 else "" for v in out[col]]
    note = (
        f"Thresholds: loss growth {training.EXPLOSION_FACTOR:g} "
        f"(`deepimpute.training.EXPLOSION_FACTOR`), excursion "
        f"{RANGE_FACTOR:g} ranges (`deepimpute.imputers.RANGE_FACTOR`). "
        "A run that raised has no excursion; non-deep imputers have no loss (-inf)."
    )
    return table(out, digits=3) + "\n\n" + note


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument(
        "--learning-rates", type=float, nargs="*", default=[],
        help="too-large step sizes tried besides each imputer's default",
    )
    ap.add_argument(
        "--imputers", nargs="*", default=None,
        help=f"names of IMPUTERS or of {sorted(PROFILES)} (default: IMPUTERS)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "divergence.csv")
    args = ap.parse_args(argv)
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    run(args.rows, args.epochs, [None, *args.learning_rates], args.imputers, args.out)
    print(summary_markdown(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
