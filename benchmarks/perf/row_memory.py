"""Peak memory of an RVI / VAD fit against the rows, by storage of the row tables.

RVI and VAD keep per training row a table of parameters (relay coefficients,
offsets, log-variances) and the two moments of its row-wise Adam; ``row_dtype``
stores them in float32 or bfloat16. For each method, ``row_dtype`` and size ``n``
the mixed table of ``benchmarks/perf/scale.py`` (7 columns, MCAR 0.3) is fitted
for ``--epochs`` epochs (early stopping off) in a fresh process, after a warm-up
fit on 64 rows; ``fit_peak_mb`` is the peak resident memory above the start of
the fit (sampled every 20 ms), ``state_mb`` the bytes of the fitted core's
per-row buffers (first dimension ``n``: the table, its moments and step counts),
and ``*_per_row`` both divided by ``n``. Fit only: the transform's memory is the
scale suite's.

The batch size is a ``--set`` parameter: a larger batch takes fewer steps (the row
tables and moments do not depend on it; the batch's working memory does, a few
MB at 8192 rows).

    python -m benchmarks.perf --suite row_memory --rows 1e5 1e6 --set batch_size=8192
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks.perf import Benchmark
from benchmarks.perf.scale import _rows, configure, warm_up
from benchmarks.profiles import make_imputer


class RowMemory(Benchmark):
    """Fit of ``imputer`` on ``n_rows`` rows with its row tables in ``row_dtype``."""

    name = "row_memory"
    params = {"imputer": ["rvi", "vad"], "row_dtype": ["float32", "bfloat16"],
              "n_rows": [100_000, 1_000_000]}
    quick = {"n_rows": [500]}
    types = {"n_rows": _rows}
    flags = {"imputer": "--imputers", "row_dtype": "--row-dtypes",
             "n_rows": "--rows"}
    overrides = True
    fields = ["imputer", "row_dtype", "n_rows", "quick", "status", "epochs",
              "fit_seconds", "fit_peak_mb", "state_mb", "fit_peak_bytes_per_row",
              "state_bytes_per_row", "overrides", "versions", "error"]
    out = "row_memory.csv"
    isolate = True

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--epochs", type=int, default=1, help="epochs of each fit")
        p.add_argument("--limit-seconds", type=float, default=1800.0,
                       help="stop a point after this long")

    def limit(self) -> float:
        return self.args.limit_seconds

    def constants(self) -> dict:
        return {"overrides": ";".join(
            f"{k}={v!r}" for k, v in sorted(self.args.overrides.items()))}

    def setup(self, imputer: str, row_dtype: str, n_rows: int) -> None:
        from deepimpute.datasets import make_mixed_data
        from deepimpute.missingness import simulate_missing

        data = make_mixed_data(n_rows, random_state=0)
        self.X_miss, _ = simulate_missing(data.frame, "mcar", 0.3, spec=data.spec,
                                          random_state=0)
        self.n_rows = n_rows
        self.imputer = make_imputer(imputer, quick=self.args.quick, seed=0,
                                    device="cpu")
        configure(self.imputer, epochs=self.args.epochs,
                  overrides={**self.args.overrides, "row_dtype": row_dtype},
                  spec=data.spec)
        warm_up(self.imputer)

    def time_fit(self) -> None:
        self.imputer.fit(self.X_miss)

    peakmem_fit = time_fit

    def track_state(self) -> dict:
        from benchmarks._cli import versions

        n = self.n_rows
        state = sum(b.nbytes for b in self.imputer.module_.buffers()
                    if b.dim() and b.shape[0] == n)
        peak = self.measured["fit_peak_mb"]
        return dict(epochs=self.imputer.n_iter_, state_mb=state / 2**20,
                    fit_peak_bytes_per_row=peak * 2**20 / n,
                    state_bytes_per_row=state / n, versions=versions())

    def summary(self, out: Path) -> str:
        return summary(out)


def summary(paths: Path | list[Path]) -> str:
    """Markdown of one CSV of the suite, or of several together."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    df = df[df.status == "ok"]
    lines = ["| method | row tables | rows | fit peak growth (MB) | bytes / row | "
             "row state (MB) | state bytes / row | fit s |", "|---" * 8 + "|"]
    for r in df.sort_values(["imputer", "row_dtype", "n_rows"],
                            ascending=[True, False, True]).itertuples():
        lines.append(
            f"| {r.imputer} | {r.row_dtype} | {int(r.n_rows):.0e} | "
            f"{r.fit_peak_mb:.0f} | {r.fit_peak_bytes_per_row:.0f} | "
            f"{r.state_mb:.0f} | {r.state_bytes_per_row:.0f} | {r.fit_seconds:.0f} |")
    return "\n".join(lines)
