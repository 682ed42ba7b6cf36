"""Impossible values and rare levels on Abalone: negative weights, the sex imbalance.

Issue 34 item 5: imputed with VSAE, Abalone got negative weights in columns that
are never negative, and its sex column was imputed as M 284, I 144, F 2 where
F is about 31 % of the rows. For ``--seeds`` (MCAR ``--rate`` of the cells hidden,
every column), this records per imputer:

* ``negative``: imputed cells below 0 in the numerical columns never negative in
  the data, at the package's default bounds (a column never negative at fit is
  bounded below at 0) and, for VSAE and MICE (the mean is never outside the
  observed range), with ``min_value`` per column at ``-inf`` (no bound: what the
  imputers did before);
* for ``sex``: the true levels of the hidden cells, the imputed levels, the
  share of correct ones, and ``mean_p_F``, the mean probability of F the model
  gives the hidden cells.

The imputers: VSAE's point imputation (``transform``: the most probable level,
the argmax of the decoder's category probabilities) and its draws (``sample``,
``--draws`` per cell: their share of F estimates VSAE's probability of F),
MICE (with its draws) and the column mode; and, as the reference of what the data
allow, a classifier trained on the rows whose sex is observed
(``HistGradientBoostingClassifier``, which reads the other hidden cells as
missing): its argmax and its mean probability of F.

    python -m benchmarks.studies.abalone_levels

The data: UCI's ``abalone.data`` (4177 rows; copied byte for byte into
``benchmarks/studies/data/``, see ``abalone_SOURCE.txt`` there).
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

from benchmarks._cli import RESULTS, ROOT
from deepimpute.imputers import make_imputer
from deepimpute.missingness import simulate_missing

DATA = ROOT / "benchmarks" / "studies" / "data" / "abalone.data"
COLUMNS = ["sex", "length", "diameter", "height", "whole_weight", "shucked_weight",
           "viscera_weight", "shell_weight", "rings"]
LEVELS = ("F", "I", "M")
FIELDS = ["seed", "imputer", "mode", "bounds", "negative", "hidden_sex",
          *(f"true_{v}" for v in LEVELS), *(f"imputed_{v}" for v in LEVELS),
          "accuracy", "mean_p_F", "seconds"]


def load(path: Path = DATA) -> pd.DataFrame:
    """Abalone as a DataFrame: sex as text, the eight measurements as floats."""
    df = pd.read_csv(path, header=None, names=COLUMNS)
    return df.astype({c: float for c in COLUMNS[1:]})


def _negative(X: pd.DataFrame, X_miss: pd.DataFrame, X_imp: pd.DataFrame) -> int:
    """Imputed cells below 0 in the columns never negative in ``X``."""
    cols = [c for c in COLUMNS[1:] if X[c].min() >= 0]
    hole = X_miss[cols].isna().to_numpy()
    return int((X_imp[cols].to_numpy()[hole] < 0).sum())


def _sex_row(truth: pd.Series, imputed: pd.Series, p_f: float) -> dict:
    true = truth.value_counts()
    got = imputed.value_counts()
    row = {f"true_{v}": int(true.get(v, 0)) for v in LEVELS}
    row |= {f"imputed_{v}": int(got.get(v, 0)) for v in LEVELS}
    row["hidden_sex"] = len(truth)
    row["accuracy"] = float((truth.to_numpy() == imputed.to_numpy()).mean())
    row["mean_p_F"] = p_f
    return row


def run(seeds, rate: float, draws: int, out: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = load()
    p = X.shape[1]
    rows = []
    for seed in seeds:
        X_miss = simulate_missing(X, "mcar", rate, random_state=seed)[0]
        hole = X_miss["sex"].isna().to_numpy()
        truth = X["sex"][hole]
        for name in ("vsae", "mice", "mean"):
            for bounds in ("default", "none"):
                if name == "mean" and bounds == "none":
                    continue  # a mean is never outside the observed range
                params = {} if bounds == "default" else {"min_value": [-np.inf] * p}
                est = make_imputer(name, params, random_state=seed)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    X_imp = est.fit_transform(X_miss)
                seconds = time.perf_counter() - start
                draws_f = np.nan
                sampled = name in ("vsae", "mice") and bounds == "default"
                if sampled:  # (VSAE's sampler is costly: 1000 candidates a draw)
                    samples = est.sample(X_miss, n_draws=draws, random_state=seed)
                    draws_f = float(np.mean([(s["sex"][hole] == "F").mean()
                                             for s in samples]))
                base = dict(seed=seed, imputer=name, bounds=bounds, seconds=seconds)
                rows.append(base | dict(
                    mode="transform", negative=_negative(X, X_miss, X_imp),
                    **_sex_row(truth, X_imp["sex"][hole], draws_f)))
                if sampled:
                    one = samples[0]
                    rows.append(base | dict(
                        mode="sample", negative=_negative(X, X_miss, one),
                        **_sex_row(truth, one["sex"][hole], draws_f)))
                print(f"seed {seed} {name:<10} bounds {bounds:<7} {seconds:6.1f} s",
                      flush=True)
        # the reference: sex predicted from the measurements the row has
        known = ~hole
        clf = HistGradientBoostingClassifier(random_state=seed)
        features = X_miss[COLUMNS[1:]]
        clf.fit(features[known], X_miss["sex"][known])
        proba = clf.predict_proba(features[hole])
        pred = pd.Series(clf.classes_[proba.argmax(axis=1)], index=truth.index)
        p_f = float(proba[:, list(clf.classes_).index("F")].mean())
        rows.append(dict(seed=seed, imputer="classifier", mode="argmax",
                         bounds="-", negative=0, seconds=np.nan,
                         **_sex_row(truth, pred, p_f)))
    with open(out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def summary_markdown(csv_path: Path) -> str:
    """Mean over the seeds per imputer, mode and bounds."""
    from benchmarks._markdown import table

    df = pd.read_csv(csv_path)
    keys = ["imputer", "mode", "bounds"]
    counts = [*(f"true_{v}" for v in LEVELS), *(f"imputed_{v}" for v in LEVELS)]
    out = df.groupby(keys, sort=False)[
        ["negative", "hidden_sex", *counts, "accuracy", "mean_p_F"]
    ].mean()
    out["imputed_F_share"] = out["imputed_F"] / out["hidden_sex"]
    out["true_F_share"] = out["true_F"] / out["hidden_sex"]
    shown = out[["negative", "true_F_share", "imputed_F_share", "mean_p_F",
                 "imputed_F", "imputed_I", "imputed_M", "accuracy"]]
    note = (
        f"Mean over seeds {', '.join(map(str, sorted(df['seed'].unique())))}. "
        "`negative`: imputed cells below 0 in the columns never negative in the "
        "data (bounds `default`: the package's; `none`: `min_value` at -inf per "
        "column). `mean_p_F`: the model's mean probability of F over the hidden "
        "sex cells (the share of F among its draws; the classifier's "
        "`predict_proba`). `mode` transform/argmax: the most probable level; "
        "sample: one draw."
    )
    return table(shown, digits=3) + "\n\n" + note


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "abalone_levels.csv")
    args = ap.parse_args(argv)
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    run(args.seeds, args.rate, args.draws, args.out)
    print(summary_markdown(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
