"""Why a sampler's draws are biased or too narrow: draws against the true conditional.

On the ``linear`` design of :mod:`benchmarks.quality.multiple_imputation` every
column is jointly Gaussian, so the true conditional
``p(x_j | observed cells of the row)`` of every missing cell is known in closed
form (mean ``c`` and standard deviation ``s``, from the design's covariance).
For an imputer's ``m`` draws of a replication this study reports, over the
missing cells of ``x1`` and ``x2``:

* ``slope``: least-squares slope of the draws on ``c`` (1: the draws follow the
  relation of the cell to the observed ones; below 1 they ignore it and behave
  like noise, above 1 they exaggerate it);
* ``offset_sd``: the spread of the draws' per-cell mean around ``c``, over ``s``
  (how far the model's conditional mean is from the truth);
* ``spread``: the per-cell standard deviation across the ``m`` draws over ``s``
  (1: the draws spread as the true conditional; below 1 too narrow, as a
  mean-seeking likelihood or a fixed small variance gives; above 1 too wide);
* ``z_sd``: the standard deviation of ``(draw - c) / s`` (1 for draws from the
  true conditional);
* and the pooled OLS coefficients of ``x1`` / ``x2`` (bias, between-draw and
  within variance) of the same draws.

One CSV row per imputer x replication (imputer labels as in
:mod:`benchmarks.quality.multiple_imputation`, e.g.
``"rvi:numerical=gaussian_learned"``). ``--compare BEFORE AFTER`` writes the
summary of two such CSVs side by side (``--table``, the CSV the user guide
includes) and prints it; the report renders the CSVs with :func:`markdown` and
:func:`compare_markdown`.

Examples::

    python -m benchmarks.studies.mi_diagnosis --reps 4 --imputers mice vsae rvi
    python -m benchmarks.studies.mi_diagnosis --compare \
        benchmarks/results/mi_diagnosis_before.csv \
        benchmarks/results/mi_diagnosis_after.csv
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._cli import RowWriter, add_common
from benchmarks.quality import multiple_imputation as mi
from deepimpute.pooling import fit_pooled

OUT = mi.RESULTS / "mi_diagnosis.csv"
COLUMNS = ["x1", "x2", "x3", "x4", "y"]
FIELDS = [
    "imputer", "mechanism", "rep", "slope", "offset_sd", "spread", "z_sd",
    "bias_x1", "bias_x2", "between_x1", "within_x1", "between_x2", "within_x2",
    "m", "n", "seconds", "params",
]


def true_moments() -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``(x1, x2, x3, x4, y)`` in the linear design."""
    t = mi.TRUTH["linear"]
    beta = np.array([t[f"x{j}"] for j in range(1, 5)])
    sx = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
    cov = np.zeros((5, 5))
    cov[:4, :4] = sx
    cov[:4, 4] = cov[4, :4] = sx @ beta
    cov[4, 4] = beta @ sx @ beta + 1.0
    mean = np.zeros(5)
    mean[4] = t["const"]
    return mean, cov


def conditionals(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """True conditional mean and sd of every cell given its row's observed cells
    (NaN where the cell is observed)."""
    mean, cov = true_moments()
    V = X[COLUMNS].to_numpy(float)
    miss = np.isnan(V)
    c = np.full(V.shape, np.nan)
    s = np.full(V.shape, np.nan)
    for pattern in np.unique(miss, axis=0):
        if not pattern.any():
            continue
        rows = (miss == pattern).all(axis=1)
        o, u = ~pattern, pattern
        k = cov[np.ix_(u, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
        c[np.ix_(rows, u)] = mean[u] + (V[np.ix_(rows, o)] - mean[o]) @ k.T
        s[np.ix_(rows, u)] = np.sqrt(np.diag(cov[np.ix_(u, u)] - k @ cov[np.ix_(o, u)]))
    return c, s


def diagnose(draws: list, X: pd.DataFrame) -> dict:
    """The draw statistics of the module docstring."""
    c, s = conditionals(X)
    hole = ~np.isnan(c)
    D = np.stack([d[COLUMNS].to_numpy(float)[hole] for d in draws])  # (m, cells)
    cc, ss = c[hole], s[hole]
    slope = np.polyfit(np.tile(cc, len(draws)), D.ravel(), 1)[0]
    return dict(
        slope=slope,
        offset_sd=float(np.sqrt(np.mean(((D.mean(0) - cc) / ss) ** 2))),
        spread=float(np.mean(D.std(0, ddof=1) / ss)),
        z_sd=float(((D - cc) / ss).std()),
    )


def run_one(label: str, mechanism: str, rep: int, n: int, m: int,
            overrides: dict) -> dict:
    name, params = mi.parse_imputer(label, overrides)
    complete = mi.simulate("linear", n, rep)
    X = mi.make_missing(complete, "linear", mechanism, rep)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        draws = mi.draws_of(name, params, X, m, rep)
    seconds = time.perf_counter() - start
    fit, columns = mi.analysis("linear")
    res = fit_pooled(draws, fit, y="y", columns=columns)
    j1, j2 = res.names.index("x1"), res.names.index("x2")
    t = mi.TRUTH["linear"]
    return dict(
        imputer=label, mechanism=mechanism, rep=rep, **diagnose(draws, X),
        bias_x1=res.estimate[j1] - t["x1"], bias_x2=res.estimate[j2] - t["x2"],
        between_x1=res.between[j1], within_x1=res.within[j1],
        between_x2=res.between[j2], within_x2=res.within[j2], m=m, n=n,
        seconds=seconds,
        params=";".join(f"{k}={v}" for k, v in sorted(params.items())),
    )


def summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per mechanism x imputer (x ``version`` when present): mean statistics."""
    keys = [k for k in ("version", "mechanism", "imputer") if k in df]
    cols = ["slope", "offset_sd", "spread", "z_sd", "bias_x1", "bias_x2"]
    g = df.groupby(keys, sort=False)
    table = g[cols].mean()
    table["bw_x1"] = g["between_x1"].mean() / g["within_x1"].mean()
    table["reps"] = g["rep"].nunique()
    table["seconds"] = g["seconds"].mean()
    return table.reset_index()


def render(df: pd.DataFrame) -> str:
    """Markdown table of :func:`summary_frame`."""
    table = summary_frame(df)
    first = [k for k in ("version", "mechanism") if k in table]
    head = " | ".join(first)
    lines = [f"| {head} | imputer | reps | slope | offset_sd | spread | z_sd | "
             "bias x1 | bias x2 | B/W x1 | seconds |",
             "|---" * (len(first) + 10) + "|"]
    for r in table.itertuples():
        lead = " | ".join(str(getattr(r, k)) for k in first)
        lines.append(
            f"| {lead} | {r.imputer} | {int(r.reps)} | {r.slope:.2f} | "
            f"{r.offset_sd:.2f} | {r.spread:.2f} | {r.z_sd:.2f} | "
            f"{r.bias_x1:+.3f} | {r.bias_x2:+.3f} | {r.bw_x1:.2f} | "
            f"{r.seconds:.1f} |"
        )
    return "\n".join(lines)


def _versions(paths) -> pd.DataFrame:
    """The CSVs stacked, each labelled (``version``) by its name's last word
    (``mi_diagnosis_before.csv`` -> ``before``)."""
    return pd.concat([pd.read_csv(p).assign(version=Path(p).stem.rsplit("_", 1)[-1])
                      for p in paths], ignore_index=True)


def compare(before: Path, after: Path, table: Path) -> str:
    """The before / after table of two diagnosis CSVs: written as a small CSV
    (``table``, for the user guide), returned as markdown."""
    df = _versions([before, after])
    s = summary_frame(df)
    s = s.round({c: 3 for c in ("slope", "offset_sd", "spread", "z_sd",
                                "bias_x1", "bias_x2", "bw_x1")}).round(
        {"seconds": 1})
    table.parent.mkdir(parents=True, exist_ok=True)
    s.to_csv(table, index=False)
    return render(df)


def markdown(path: Path) -> str:
    """The report's table of one diagnosis CSV."""
    return render(pd.read_csv(path))


def compare_markdown(paths) -> str:
    """The report's table of several diagnosis CSVs side by side (``version``:
    the last word of each CSV's name)."""
    return render(_versions(paths))


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common(parser, seeds=(0, 1), out=OUT, overrides=True,
               quick="n=200 rows, m=5 draws, quick settings")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--imputers", nargs="+", default=["mice"])
    parser.add_argument("--mechanisms", nargs="+", default=["mar"],
                        choices=mi.MECHANISMS)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--m", type=int, default=10)
    parser.add_argument("--render-only", action="store_true",
                        help="print the table of --out, run nothing")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"),
                        help="write the before / after summary of two CSVs into "
                             "--table, print it, run nothing")
    parser.add_argument("--table", type=Path,
                        default=mi.RESULTS / "mi_diagnosis_summary.csv")
    args = parser.parse_args(argv)
    mi.resolve_imputers(args, parser)
    args.outputs = ([args.table] if args.compare else
                    [] if args.render_only else [args.out])
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare:
        print(compare(*args.compare, args.table))
        return 0
    n, m, overrides = args.n, args.m, args.overrides
    reps = list(range(args.reps)) if args.reps is not None else list(args.seeds)
    out = Path(args.out)
    if not args.render_only:
        done = set()
        if out.exists() and out.stat().st_size:
            old = pd.read_csv(out)
            done = set(zip(old.imputer, old.mechanism, old.rep, strict=True))

        def brief(row):
            return (f"{row['imputer']} {row['mechanism']} rep {row['rep']}: slope "
                    f"{row['slope']:.2f} spread {row['spread']:.2f} "
                    f"{row['seconds']:.1f}s")

        with RowWriter(out, [*FIELDS, "versions", "host"], append=True,
                       brief=brief) as writer:
            for rep in reps:
                for mech in args.mechanisms:
                    for label in args.imputers:
                        if (label, mech, rep) not in done:
                            writer.write(run_one(label, mech, rep, n, m, overrides))
    print(render(pd.read_csv(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
