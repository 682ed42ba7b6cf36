"""HyperImpute and UnmaskingTrees from their own packages, on the runner's cells.

Neither installs beside deepimpute's scikit-learn 1.9 / pandas 3: ``hyperimpute``
0.1.17 needs scikit-learn < 1.8 and pandas < 3 (on pandas 3 it silently returns the
column mean), ``utrees`` 0.3.0 calls ``BaseEstimator._validate_data`` (gone in
scikit-learn 1.7) while its ``kditransform`` needs scikit-learn >= 1.6. So they run
in an environment of their own, made once with

    python3.11 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install torch==2.13.0 hyperimpute==0.1.17 utrees==0.3.0 \
        "scikit-learn==1.6.1" "pandas<3"

(a CPU build of torch first, as in the README). This script runs in deepimpute's
environment: per cell it draws exactly the runner's mask and split
(:func:`benchmarks.run.split`, :func:`deepimpute.missingness.simulate_missing`, same
seeds), hands the masked training and test rows (column codes: numbers as they are,
categories as integer codes) to a worker process in the other environment
(``--peer-python``), decodes what comes back (codes rounded and clipped to a
category) and scores it with :func:`deepimpute.metrics.score_imputation`, writing
rows in the runner's CSV format (resumable: finished cells are skipped).

The peers fit on the training rows and impute the test rows, as every runner cell
does. ``hyperimpute``: the package's ``hyperimpute`` plugin (AutoML over the
column learners), defaults. ``utrees``: ``UnmaskingTrees`` defaults, categories
marked "categorical", numbers "continuous"; its imputations are draws, the point
imputation is the mean (categories: the most frequent) of ``--utrees-draws``
draws. The script
asserts that HyperImpute's test imputations are not the training column means.

    python -m benchmarks.external_peers --datasets heart yeast --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import csv
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEERS = ("hyperimpute", "utrees")
DEFAULT_PYTHON = "/tmp/peers-venv/bin/python"


# ----------------------------------------------------------------- worker side
def worker(cell: Path, imputer: str, out: Path, seed: int, draws: int) -> None:
    """In the peers' environment: fit on ``fit`` rows, impute ``test`` rows."""
    import pandas as pd

    arrays = np.load(cell)
    X_fit, X_test, is_cat = arrays["fit"], arrays["test"], arrays["is_cat"]
    t0 = time.perf_counter()
    if imputer == "hyperimpute":
        import warnings

        warnings.filterwarnings("ignore")
        from hyperimpute.plugins.imputers import Imputers

        plugin = Imputers().get("hyperimpute", random_state=seed)
        plugin.fit(pd.DataFrame(X_fit))
        t1 = time.perf_counter()
        imputed = np.asarray(plugin.transform(pd.DataFrame(X_test)), dtype=float)
    elif imputer == "utrees":
        from utrees import UnmaskingTrees

        model = UnmaskingTrees(random_state=seed)
        model.fit(X_fit, quantize_cols=["categorical" if c else "continuous"
                                        for c in is_cat])
        t1 = time.perf_counter()
        draw = np.asarray(model.impute(n_impute=draws, X=X_test), dtype=float)
        imputed = draw.mean(0)
        for j in np.flatnonzero(is_cat):  # the most frequent code of the draws
            codes = np.rint(draw[:, :, j]).astype(int)
            imputed[:, j] = [np.bincount(c - c.min()).argmax() + c.min()
                             for c in codes.T]
    else:
        raise ValueError(f"unknown peer {imputer!r}")
    t2 = time.perf_counter()
    import sklearn

    versions = (f"{imputer}={_version(imputer)};sklearn={sklearn.__version__};"
                f"pandas={pd.__version__};numpy={np.__version__}")
    np.savez(out, imputed=imputed, fit_seconds=t1 - t0, transform_seconds=t2 - t1,
             versions=versions)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


# ------------------------------------------------------------------ main side
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
        [args.peer_python, "-m", "benchmarks.external_peers", "--worker", str(cell),
         imp, str(res), str(seed), str(args.utrees_draws)],
        check=True, timeout=args.timeout, stdout=sys.stderr,
        cwd=Path(__file__).resolve().parent.parent,
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs=5, metavar=("CELL", "IMPUTER", "OUT", "SEED",
                                                 "DRAWS"), help=argparse.SUPPRESS)
    p.add_argument("--datasets", nargs="*", default=DATASETS,
                   help="default: the runner's defaults suite")
    p.add_argument("--mechanisms", nargs="*", default=["mcar"])
    p.add_argument("--rates", nargs="*", type=float, default=[0.2, 0.5])
    p.add_argument("--imputers", nargs="*", default=list(PEERS), choices=PEERS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--peer-python", default=DEFAULT_PYTHON)
    p.add_argument("--utrees-draws", type=int, default=5)
    p.add_argument("--timeout", type=float, default=3600,
                   help="seconds a peer may take on one cell")
    p.add_argument("--out", type=Path,
                   default=Path(__file__).parent / "results" / "external_peers.csv")
    args = p.parse_args(argv)
    if args.worker:  # in the peers' environment: no deepimpute import
        cell, imputer, out, seed, draws = args.worker
        worker(Path(cell), imputer, Path(out), int(seed), int(draws))
        return 0

    from benchmarks._cli import RowWriter
    from benchmarks.run import FIELDS, _brief, _key, load, split
    done = set()
    if args.out.exists():
        with args.out.open() as fh:
            done = {_key(r) for r in csv.DictReader(fh) if r["status"] == "ok"}
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
                writer.write(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
