"""HyperImpute and UnmaskingTrees from their own packages, on the runner's cells.

Neither installs beside deepimpute's scikit-learn 1.9 / pandas 3: ``hyperimpute``
0.1.17 needs scikit-learn < 1.8 and pandas < 3 (on pandas 3 it silently returns the
column mean), ``utrees`` 0.3.0 calls ``BaseEstimator._validate_data`` (gone in
scikit-learn 1.7) while its ``kditransform`` needs scikit-learn >= 1.6. So they run
in an environment of their own, made once with

    python3.11 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 hyperimpute==0.1.17 utrees==0.3.0 \
        "scikit-learn==1.6.1" "pandas<3"

(a CPU build of torch first, as in the README). This suite runs in deepimpute's
environment: per cell it draws exactly the runner's mask and split
(:func:`benchmarks.quality.grid.split`,
:func:`deepimpute.missingness.simulate_missing`, same seeds), hands the masked
training and test rows (column codes: numbers as they are, categories as integer
codes) to a worker process in the other environment (``--peer-python`` runs the
script ``benchmarks/quality/_peer_worker.py``, which imports no deepimpute),
decodes what comes back (codes rounded and clipped to a category) and scores it
with :func:`deepimpute.metrics.score_imputation`, writing rows in the runner's
CSV format (resumable: finished cells are skipped).

The peers fit on the training rows and impute the test rows, as every runner cell
does. ``hyperimpute``: the package's ``hyperimpute`` plugin (AutoML over the
column learners), defaults. ``utrees``: ``UnmaskingTrees`` defaults, categories
marked "categorical", numbers "continuous"; its imputations are draws, the point
imputation is the mean (categories: the most frequent) of ``--utrees-draws``
draws. The suite
asserts that HyperImpute's test imputations are not the training column means.

    python -m benchmarks.run --suite external-peers --datasets heart yeast \
        --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import csv
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._cli import RESULTS, RowWriter, add_common
from benchmarks.data import load
from benchmarks.quality.grid import FIELDS, _brief, _key, split

PEERS = ("hyperimpute", "utrees")
DEFAULT_PYTHON = "/tmp/peers-venv/bin/python"
#: the worker, run by path in the peers' environment (imports no deepimpute)
WORKER = Path(__file__).resolve().with_name("_peer_worker.py")


def codes(frame, spec, categories):
    """Float column codes: numbers as they are, categories as integer codes."""
    import pandas as pd

    out = np.empty(frame.shape, dtype=float)
    for j, col in enumerate(frame.columns):
        if col in categories:
            c = pd.Categorical(frame[col], categories=categories[col]).codes
            out[:, j] = np.where(c < 0, np.nan, c)
        else:
            out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
    return out


def decode(X_missing, imputed, categories):
    """The masked frame with its missing cells set from ``imputed`` codes."""
    out = X_missing.copy()
    for j, col in enumerate(out.columns):
        miss = out[col].isna().to_numpy()
        if not miss.any():
            continue
        vals = imputed[miss, j]
        if col in categories:
            cats = categories[col]
            idx = np.clip(np.rint(np.nan_to_num(vals)), 0, len(cats) - 1).astype(int)
            out.loc[miss, col] = np.asarray(cats, dtype=object)[idx]
        else:
            out.loc[miss, col] = vals
    return out


def check_not_mean(name, X_fit_codes, X_test_codes, imputed, is_cat) -> None:
    """HyperImpute's known silent failure: every imputation is its column's
    training mean. Raise when most imputed numerical cells are."""
    means = np.nanmean(X_fit_codes, 0)
    miss = np.isnan(X_test_codes) & ~is_cat[None, :]
    if not miss.any():
        return
    at_mean = np.isclose(imputed, means[None, :], rtol=0, atol=1e-9)[miss]
    if at_mean.mean() > 0.5:
        raise AssertionError(
            f"{name}: {at_mean.mean():.0%} of the imputed numerical cells are their "
            "column's training mean (the package's silent failure)"
        )


DATASETS = ["yeast", "red_wine", "white_wine", "mushroom", "phishing", "heart",
            "letter", "spam", "adult_10k", "credit_default_10k"]


def run_cell(data, mech, rate, imp, seed, args, tmp: Path, split, fields) -> dict:
    """Mask and split as the runner does, impute in the peers' environment,
    score: the row's metrics and timings."""
    from deepimpute.metrics import score_imputation
    from deepimpute.missingness import simulate_missing

    X = data.frame
    categories = {
        col: list(X[col].astype("category").cat.categories)
        for attr in data.spec if attr.kind == "categorical" for col in attr.columns
    }
    is_cat = np.array([c in categories for c in X.columns])
    X_miss, hidden = simulate_missing(X, mech, rate, spec=data.spec,
                                      random_state=seed)
    fit_rows, test_rows = split(len(X), seed)
    X_fit, X_test = X_miss.iloc[fit_rows], X_miss.iloc[test_rows]
    C_fit = codes(X_fit, data.spec, categories)
    C_test = codes(X_test, data.spec, categories)
    cell, res = tmp / "cell.npz", tmp / "out.npz"
    np.savez(cell, fit=C_fit, test=C_test, is_cat=is_cat)
    subprocess.run(
        [args.peer_python, str(WORKER), str(cell), imp, str(res), str(seed),
         str(args.utrees_draws)],
        check=True, timeout=args.timeout, stdout=sys.stderr,
    )
    got = np.load(res)
    imputed = got["imputed"]
    print(f"{imp}: {got['versions']}", file=sys.stderr)
    if imp == "hyperimpute":
        check_not_mean(imp, C_fit, C_test, imputed, is_cat)
    X_imp = decode(X_test, imputed, categories)
    scores = score_imputation(X.iloc[test_rows], X_imp, missing=hidden[test_rows],
                              spec=data.spec)
    return {
        **{k: scores.get(k) for k in fields if k in scores},
        "status": "ok", "realised_rate": float(hidden.mean()),
        "fit_seconds": float(got["fit_seconds"]),
        "transform_seconds": float(got["transform_seconds"]),
        "device": "cpu", "n_train": len(fit_rows), "n_test": len(test_rows),
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The suite's flags (``--suite`` is the runner's)."""
    p.add_argument("--datasets", nargs="*", default=DATASETS,
                   help="default: the runner's defaults suite")
    p.add_argument("--mechanisms", nargs="*", default=["mcar"])
    p.add_argument("--rates", nargs="*", type=float, default=[0.2, 0.5])
    p.add_argument("--imputers", nargs="*", default=list(PEERS), choices=PEERS)
    p.add_argument("--peer-python", default=DEFAULT_PYTHON,
                   help="the Python of the peers' environment "
                   f"(default {DEFAULT_PYTHON})")
    p.add_argument("--utrees-draws", type=int, default=5)
    p.add_argument("--timeout", type=float, default=3600,
                   help="seconds a peer may take on one cell")
    add_common(p, out=RESULTS / "external_peers.csv",
               quick="not available: the peers run at their defaults")


def resolve(args, parser: argparse.ArgumentParser) -> None:
    """Check the arguments (no run)."""
    if args.quick:
        parser.error("--quick: the external peers have no reduced settings")
    args.outputs = [args.out]


def main(args) -> int:
    """Run (or resume: finished cells are skipped) the peers' cells."""
    done = set()
    if args.out.exists():
        with args.out.open() as fh:
            done = {_key(r) for r in csv.DictReader(fh) if r["status"] == "ok"}
    failed = 0
    with RowWriter(args.out, FIELDS, append=True, brief=_brief) as writer, \
            tempfile.TemporaryDirectory() as tmp:
        for dname in args.datasets:
            data = load(dname)
            for mech, rate, imp, seed in itertools.product(
                args.mechanisms, args.rates, args.imputers, args.seeds
            ):
                if (data.name, mech, f"{rate:g}", imp, str(seed), "0") in done:
                    continue
                row = dict(dataset=data.name, mechanism=mech, rate=rate,
                           imputer=imp, seed=seed, quick=0)
                try:
                    row.update(run_cell(data, mech, rate, imp, seed, args,
                                        Path(tmp), split, FIELDS))
                except Exception as exc:  # recorded, never swallowed
                    row.update(status="error", error=f"{type(exc).__name__}: {exc}")
                    failed += 1
                writer.write(row)
    return 1 if failed else 0
