"""Seeded errors of a rerun against the committed run it repeats, seed by seed.

A change meant to keep results (a faster kernel, another order of float sums) is
rerun by the runner on some cells of a committed CSV with the same seeds; for each
cell, imputer and metric this table gives the committed mean, the rerun's mean,
their paired difference (the same seeds) and the larger of the two seeds'
standard deviations: the change is within seed noise when the difference is
below it. ``REFERENCES`` names the committed CSV each rerun repeats.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parents[1] / "results"

#: rerun CSV -> the committed CSV whose cells and seeds it repeats
REFERENCES = {
    "speed-defaults-vsae.csv": "defaults.csv",
    "speed-oracle-vsae.csv": "oracle-defaults.csv",
}
METRICS = ("nrmse_per_feature", "nrmse_pooled_raw", "pfc", "excess_per_feature")
KEYS = ["dataset", "mechanism", "rate", "imputer", "seed"]


def paired(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """One row per cell, imputer and metric: means, paired difference, seed sd."""
    both = before.merge(after, on=KEYS, suffixes=("_before", "_after"))
    both = both[~both.imputer.str.startswith("oracle")]  # the law's own error
    rows = []
    for cell, g in both.groupby(KEYS[:-1], sort=True):
        for metric in METRICS:
            if f"{metric}_after" not in g or g[f"{metric}_after"].isna().all():
                continue
            b, a = g[f"{metric}_before"], g[f"{metric}_after"]
            sd = max(b.std(), a.std())
            diff = (a - b).mean()
            rows.append(dict(zip(KEYS[:-1], cell, strict=True), metric=metric,
                             seeds=len(g), before=b.mean(), after=a.mean(),
                             diff=diff, seed_sd=sd, within=abs(diff) <= sd))
    return pd.DataFrame(rows)


def render(path: Path) -> str:
    """Markdown of :func:`paired` for a rerun CSV against its reference."""
    ref = RESULTS / REFERENCES[path.name]
    ok = [df[df.status == "ok"] for df in (pd.read_csv(ref), pd.read_csv(path))]
    table = paired(*ok)
    lines = [f"Against `{ref.name}` (same seeds):", "",
             "| dataset | rate | imputer | metric | seeds | before | after | "
             "after - before | seeds' sd | within |", "|---" * 10 + "|"]
    for r in table.itertuples():
        lines.append(
            f"| {r.dataset} | {r.rate:g} | {r.imputer} | {r.metric} | {r.seeds} | "
            f"{r.before:.4f} | {r.after:.4f} | {r.diff:+.4f} | {r.seed_sd:.4f} | "
            f"{'yes' if r.within else 'no'} |")
    lines.append(f"\n{int(table.within.sum())} of {len(table)} within the seeds' "
                 "standard deviation.")
    return "\n".join(lines)
