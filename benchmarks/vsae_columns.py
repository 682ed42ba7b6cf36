"""Per-column error of imputers on one runner cell (diagnostic).

Where does an imputer lose against the column mean? For each numerical column the
script prints the per-column NRMSE (the ``per_feature`` variant restricted to that
column) of each imputer over the same splits and masks as the runner, and the
largest absolute z-score among the column's observed training values (a column
whose rare values sit far out dominates a fixed-scale Gaussian loss)::

    python -m benchmarks.vsae_columns --dataset yeast --mechanism mar \\
        --imputers mean mice vsae vsae~student_t

``vsae~<setting>`` names a setting of ``benchmarks/vsae_sweep.py``. Prints a
Markdown table (mean over seeds); writes nothing.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from benchmarks import vsae_sweep
from benchmarks._cli import add_common, parse_overrides
from benchmarks._markdown import table as markdown_table
from benchmarks.run import impute_cell, load
from deepimpute.metrics import nrmse
from deepimpute.schema import Numerical


def column_errors(cell: dict, columns: list[str]) -> dict[str, float]:
    """Per-column NRMSE of one imputed cell (NaN where fewer than two cells)."""
    names = list(cell["X_true"].columns)
    imputed = np.asarray(cell["X_imputed"])
    out = {}
    for c in columns:
        j = names.index(c)
        out[c] = nrmse(
            cell["X_true"][[c]].to_numpy(float),
            imputed[:, [j]].astype(float),
            missing=cell["missing"][:, [j]],
            variant="per_feature",
        )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="yeast")
    p.add_argument("--mechanism", default="mar")
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--imputers", nargs="+", default=["mean", "mice", "vsae"])
    add_common(p, quick="tiny epochs, at most 600 training rows (smoke)",
               overrides=True)
    args = p.parse_args(argv)
    overrides = parse_overrides(args.set)
    if args.out is not None:
        p.error("--out: this diagnostic prints its table and writes nothing")
    vsae_sweep.register(
        [n.removeprefix(vsae_sweep.PREFIX) for n in args.imputers
         if n.startswith(vsae_sweep.PREFIX)]
    )
    data = load(args.dataset)
    columns = [a.column for a in data.spec.attributes if isinstance(a, Numerical)]
    rows, spread = [], {}
    for seed in args.seeds:
        for name in args.imputers:
            cell = impute_cell(data, args.mechanism, args.rate, name, seed,
                               args.quick, overrides=overrides)
            rows.append({"imputer": name, "seed": seed,
                         **column_errors(cell, columns)})
        # the training rows depend on the seed only: any imputer's cell will do
        fit = cell["X_fit"][columns].astype(float)
        spread[seed] = ((fit - fit.mean()) / fit.std(ddof=0)).abs().max()
    table = pd.DataFrame(rows).groupby("imputer", sort=False)[columns].mean()
    table.loc["max |z| (train)"] = pd.DataFrame(spread).mean(axis=1)
    print(f"{args.dataset}, {args.mechanism} {args.rate:g}, seeds {args.seeds}: "
          "per-column NRMSE (NaN: column never hidden)\n")
    print(markdown_table(table, digits=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
