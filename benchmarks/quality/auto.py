"""AutoImputer against the best single imputer of each cell (same runner cells).

The ``auto`` grid suite (:data:`benchmarks.quality.grid.GRIDS`) runs
``AutoImputer`` at its default budget and the single imputers the other CSVs
lack (MICE, MissForest, MIWAE) on the runner's masks and splits; the defaults
suite (``defaults.csv``: mean, VSAE, RVI, FactVAE), ``modern_peers.csv``
(ReMasker, DiffPuter) and ``external_peers.csv`` (HyperImpute, UnmaskingTrees,
from their own packages) hold the others' cells of the same masks and seeds.
This module puts them side by side: per (table, rate), the mean over seeds of
AutoImputer's error, the best single imputer's (lowest mean over the seeds both
ran), their ratio, and the seconds of each.

    python -m benchmarks.run --suite auto --seeds 0
    python -m benchmarks.quality.auto            # the table, and auto_summary.csv

Error: per-feature NRMSE on numerical columns, PFC on categorical ones (a mixed
table shows both; the best single imputer is the one with the lowest mean ratio
to the per-metric best, as on the "Which imputer?" table).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmarks._cli import RESULTS

#: the CSVs of the single imputers, beside the suite's own ``auto.csv``
SOURCES = ("auto.csv", "defaults.csv", "modern_peers.csv", "external_peers.csv")
#: imputers from other packages: reported apart, never "the best single" of ours
EXTERNAL = ("hyperimpute", "utrees")
METRICS = ("nrmse_per_feature", "pfc")
#: the goal of issue 35: AutoImputer within 1 % of the best single imputer
GOAL = 1.01


def _rows(paths: Sequence[Path]) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths if Path(p).exists()]
    df = pd.concat(frames, ignore_index=True)
    df = df[(df["status"] == "ok") & (df["quick"] == 0)]
    return df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])


def summary(paths: Sequence[Path] | None = None) -> pd.DataFrame:
    """One row per (dataset, mechanism, rate) cell AutoImputer ran."""
    paths = [RESULTS / s for s in SOURCES] if paths is None else list(paths)
    df = _rows(paths)
    out = []
    for (ds, mech, rate), g in df.groupby(["dataset", "mechanism", "rate"]):
        auto_seeds = set(g.loc[g["imputer"] == "auto", "seed"])
        if not auto_seeds:
            continue
        g = g[g["seed"].isin(auto_seeds)]
        # only imputers that ran every seed AutoImputer ran
        full = g.groupby("imputer")["seed"].nunique() == len(auto_seeds)
        g = g[g["imputer"].isin(full[full].index)]
        m = g.groupby("imputer")[[*METRICS, "seconds"]].mean()
        metrics = [c for c in METRICS if m[c].notna().any()]
        ours = m.drop(index=[i for i in (*EXTERNAL, "auto") if i in m.index])
        ratio = ours[metrics] / ours[metrics].min()
        best = ratio.mean(axis=1).idxmin()
        row = dict(dataset=ds, mechanism=mech, rate=rate,
                   seeds=" ".join(str(int(s)) for s in sorted(auto_seeds)),
                   best_single=best, auto_seconds=m.loc["auto", "seconds"],
                   best_seconds=m.loc[best, "seconds"])
        for c in metrics:
            row[f"auto_{c}"] = m.loc["auto", c]
            row[f"best_{c}"] = m.loc[best, c]
            row[f"ratio_{c}"] = m.loc["auto", c] / m.loc[best, c]
        ext = [i for i in EXTERNAL if i in m.index]
        if ext:
            e = (m.loc[ext, metrics] / m.loc[ext, metrics].min()).mean(axis=1)
            row["best_external"] = e.idxmin()
            for c in metrics:
                row[f"external_{c}"] = m.loc[e.idxmin(), c]
        row["singles"] = len(ours)
        out.append(row)
    return pd.DataFrame(out)


def table(paths: Sequence[Path] | None = None) -> str:
    """Markdown: AutoImputer beside the best single imputer, per cell (the
    report's renderer; ``paths`` are the CSVs of :data:`SOURCES`)."""
    s = summary(paths)
    if s.empty:
        return ""
    lines = [
        "| table | rate | seeds | AutoImputer | best single (of n) | ratio | "
        "within 1 % | best external | seconds: auto / best |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s.itertuples(index=False):
        r = r._asdict()
        metrics = [c for c in METRICS if pd.notna(r.get(f"ratio_{c}"))]

        def show(prefix, r=r, metrics=metrics):
            return " / ".join(f"{r[f'{prefix}_{c}']:.4f}" for c in metrics)

        ratios = " / ".join(f"{r[f'ratio_{c}']:.3f}" for c in metrics)
        ok = all(r[f"ratio_{c}"] <= GOAL for c in metrics)
        ext = (f"{r['best_external']} {show('external')}"
               if isinstance(r.get("best_external"), str) else "")
        lines.append(
            f"| {r['dataset']} | {r['rate']:g} | {r['seeds']} | {show('auto')} | "
            f"{r['best_single']} {show('best')} ({r['singles']}) | {ratios} | "
            f"{'yes' if ok else 'no'} | {ext} | "
            f"{r['auto_seconds']:.0f} / {r['best_seconds']:.0f} |"
        )
    return "\n".join(lines)


def render(path: Path) -> str:
    """The report's renderer: :func:`table` of the suite's CSV ``path`` and the
    other :data:`SOURCES` beside it."""
    path = Path(path)
    return table([path, *(path.parent / s for s in SOURCES[1:])])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.auto",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "auto_summary.csv",
                        help="the summary CSV (default: %(default)s)")
    args = parser.parse_args(argv)
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    s = summary()
    s.to_csv(args.out, index=False)
    print(table())
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
