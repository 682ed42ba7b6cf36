"""Comparison tables of speed work: seeded errors before / after a change, the step
profile, and the per-row memory of RVI / VAD (printed; writes no CSV).

* ``errors``: for every (dataset, rate) cell and imputer in both CSVs, the mean
  error over the seeds in the reference CSV (the committed runs) and in the new
  one, their difference, and the seeds' standard deviation in each; a change is
  within seed noise when the difference is below the larger standard deviation.
* ``profile``: ``step_profile.csv``, kernels and milliseconds per step by label.
* ``memory``: the fit's peak growth of the scale CSVs given, per row.

    python -m benchmarks.studies.speed_compare errors BEFORE.csv AFTER.csv
    python -m benchmarks.studies.speed_compare profile
    python -m benchmarks.studies.speed_compare memory SCALE.csv ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks._cli import RESULTS


def errors(reference: Path, new: Path, metric: str) -> str:
    ref, cur = pd.read_csv(reference), pd.read_csv(new)
    ref, cur = ref[ref.status == "ok"], cur[cur.status == "ok"]
    keys = ["dataset", "rate", "imputer"]
    cells = cur[keys].drop_duplicates()
    ref = ref.merge(cells, on=keys)
    ref = ref[ref.seed.isin(cur.seed.unique())]

    def stats(df):
        return df.groupby(keys)[metric].agg(["mean", "std", "count"])

    both = stats(ref).join(stats(cur), lsuffix="_before", rsuffix="_after")
    lines = [f"| dataset | rate | imputer | {metric} before (sd) | after (sd) | "
             "after - before | within seed sd |", "|---" * 7 + "|"]
    inside = 0
    for (ds, rate, imp), r in both.iterrows():
        diff = r.mean_after - r.mean_before
        ok = abs(diff) <= max(r.std_before, r.std_after)
        inside += ok
        lines.append(
            f"| {ds} | {rate:g} | {imp} | {r.mean_before:.4f} ({r.std_before:.4f}) "
            f"| {r.mean_after:.4f} ({r.std_after:.4f}) | {diff:+.4f} | "
            f"{'yes' if ok else 'no'} |")
    lines.append(f"\n{inside} of {len(both)} cells within the seeds' standard "
                 f"deviation ({int(both.count_after.min())} seeds a cell).")
    return "\n".join(lines)


def memory(paths: list[Path]) -> str:
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    df = df[df.status == "ok"]
    lines = ["| imputer | settings | rows | fit peak growth (MB) | bytes / row | "
             "fit s |", "|---" * 6 + "|"]
    for r in df.sort_values(["imputer", "overrides", "n_rows"]).itertuples():
        lines.append(
            f"| {r.imputer} | {r.overrides} | {int(r.n_rows)} | {r.fit_peak_mb:.0f} | "
            f"{r.fit_peak_mb * 2**20 / r.n_rows:.0f} | {r.fit_seconds:.0f} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    """The tool's arguments (runs nothing); ``outputs``: none (it prints)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("errors")
    e.add_argument("reference", type=Path)
    e.add_argument("new", type=Path)
    e.add_argument("--metric", default="nrmse_per_feature")
    sub.add_parser("profile")
    m = sub.add_parser("memory")
    m.add_argument("paths", type=Path, nargs="+")
    args = ap.parse_args(argv)
    args.outputs = []
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.what == "errors":
        print(errors(args.reference, args.new, args.metric))
    elif args.what == "profile":
        from benchmarks.studies.step_profile import NAME, OPS, ops_summary, summary

        print(summary(RESULTS / NAME))
        print()
        print(ops_summary(RESULTS / OPS))
    else:
        print(memory(args.paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
