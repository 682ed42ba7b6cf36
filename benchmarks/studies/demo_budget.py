"""What each imputer of ``deepimpute demo`` costs and scores, per demo profile.

The demo fits every imputer transductively on the embedded yeast table (1484 x 8)
with a share of the cells hidden completely at random and scores the hidden cells.
This script runs exactly the demo's fits (its imputer builder and settings) one
method at a time and writes a row per profile, method and seed: NRMSE (pooled
over the raw values and the mean of the per-feature NRMSEs), wall seconds and the
process's CPU seconds (all threads). It is the measurement behind the demo's
default (the methods and epochs that finish in about a minute on 2 CPU cores)
against ``--full`` (every method at the demo's full epochs).

Profiles: ``full`` (``deepimpute demo --full``), ``default`` (``deepimpute demo``),
``quick`` (``deepimpute demo --quick``); ``--methods`` measures other methods
under a profile's settings (e.g. the deep ones at the default's epochs).

    python -m benchmarks.studies.demo_budget --profile full quick --seeds 0 \
        --out benchmarks/results/demo_budget.csv

(the committed CSV, run with ``OMP_NUM_THREADS=1``; the default profile's methods
are a subset of ``full`` at the same settings, so its cost is the sum of their
``cpu_seconds``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch

from benchmarks._cli import RESULTS, RowWriter, add_common
from deepimpute.cli import DEMO_PROFILES, _demo_imputer, _demo_methods
from deepimpute.datasets import load_yeast
from deepimpute.metrics import score_imputation
from deepimpute.missingness import simulate_missing

FIELDS = [
    "profile", "imputer", "seed", "rate", "nrmse_pooled_raw", "nrmse_per_feature",
    "seconds", "cpu_seconds", "torch_threads", "versions", "host",
]


def markdown(path: Path) -> str:
    """The report's table: per method, each profile's error, wall and CPU seconds;
    then the CPU seconds of each profile's methods summed."""
    import pandas as pd

    df = pd.read_csv(path)
    profiles = list(dict.fromkeys(df["profile"]))
    g = df.groupby(["imputer", "profile"]).agg(
        nrmse=("nrmse_per_feature", "mean"), seconds=("seconds", "mean"),
        cpu=("cpu_seconds", "mean")).unstack("profile")
    head = " | ".join(f"{p}: NRMSE per feature | {p}: s | {p}: CPU s"
                      for p in profiles)
    lines = [f"| imputer | {head} |", "|---" * (1 + 3 * len(profiles)) + "|"]
    for name, r in g.iterrows():
        cells = " | ".join(
            " |  | " if pd.isna(r[("nrmse", p)]) else
            f"{r[('nrmse', p)]:.4f} | {r[('seconds', p)]:.1f} | {r[('cpu', p)]:.1f}"
            for p in profiles)
        lines.append(f"| {name} | {cells} |")
    sums = []
    for p in profiles:
        part = df[df["profile"] == p]
        sums.append(f"{p} {part['cpu_seconds'].sum():.0f} s")
    if "full" in profiles:
        full = df[df["profile"] == "full"]
        default = full[full["imputer"].isin(_demo_methods("default"))]
        sums.append(f"the default profile's methods ({', '.join(default.imputer)}) "
                    f"at the full profile's settings {default.cpu_seconds.sum():.0f} s")
    lines += ["", "CPU seconds summed over the methods: " + "; ".join(sums) + "."]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", nargs="+", default=["full", "default"],
                        choices=sorted(DEMO_PROFILES))
    parser.add_argument("--methods", nargs="+", default=None,
                        help="methods to run under each profile's settings "
                        "(default: the profile's own list)")
    parser.add_argument("--rate", type=float, default=0.5)
    parser.add_argument("--append", action="store_true",
                        help="add to an existing CSV")
    add_common(parser, seeds=(0,), out=RESULTS / "demo_budget.csv",
               quick="not available: choose the demo's profile with --profile")
    args = parser.parse_args(argv)
    if args.quick:
        parser.error("--quick: use --profile quick (the demo's own quick settings)")
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from sklearn.exceptions import ConvergenceWarning

    data = load_yeast()
    X = data.frame

    def brief(r: dict) -> str:
        return (f"{r['profile']:<8} {r['imputer']:<18} "
                f"{float(r['nrmse_per_feature']):.4f} {float(r['seconds']):7.1f} s")

    with RowWriter(args.out, FIELDS, append=args.append, brief=brief) as out:
        for seed in args.seeds:
            X_miss, hidden = simulate_missing(
                X, "mcar", args.rate, spec=data.spec, random_state=seed
            )
            for profile in args.profile:
                for name in args.methods or _demo_methods(profile):
                    imputer = _demo_imputer(name, profile, seed=seed, device="cpu")
                    wall, cpu = time.perf_counter(), time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        X_imp = imputer.fit_transform(X_miss)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    s = score_imputation(X, X_imp, missing=hidden, spec=data.spec)
                    out.write(dict(
                        profile=profile, imputer=name, seed=seed, rate=args.rate,
                        nrmse_pooled_raw=f"{s['nrmse_pooled_raw']:.4f}",
                        nrmse_per_feature=f"{s['nrmse_per_feature']:.4f}",
                        seconds=f"{wall:.2f}", cpu_seconds=f"{cpu:.2f}",
                        torch_threads=torch.get_num_threads(),
                    ))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
