"""Peak memory of ``deepimpute transform`` on a large CSV against a small one.

``transform`` reads, imputes and writes the file in chunks of rows, so its peak
resident memory should not grow with the file. This script writes two CSV files of
the same columns (three numerical, one categorical, one with leading-zero codes;
10 % of the cells empty), fits a ``mean`` model on the small one, then runs
``deepimpute transform`` on each file as a child process and records the child's
peak resident set size (``ru_maxrss`` of ``os.wait4``, through a launcher process
that imports nothing) and its wall time.

Usage::

    python -m benchmarks.perf --suite cli_memory                 # 1e7 vs 1e5 rows
    python -m benchmarks.perf --suite cli_memory --rows 1000000 --out /tmp/m.csv

The committed results are ``benchmarks/results/cli_memory.csv``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.perf import Benchmark


def write_csv(path: Path, rows: int, seed: int = 0, block: int = 1_000_000) -> None:
    """``rows`` rows written block by block (the generator's memory stays small)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        f.write("x,y,z,site,code\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            df = pd.DataFrame({
                "x": np.round(rng.normal(10, 2, n), 2),
                "y": rng.integers(0, 1000, n).astype(float),
                "z": np.round(rng.exponential(1.0, n), 3),
                "site": rng.choice(["north", "south", "east", "west"], n),
                "code": rng.choice(["00501", "02139", "10001"], n),
            })
            text = df.to_csv(index=False, header=False, float_format="%.3f")
            lines = np.array(text.splitlines())
            # 10 % of the cells empty: blank one field of some lines
            fields = [line.split(",") for line in lines]
            hole_rows = np.flatnonzero(rng.random(n) < 0.5)
            cols = rng.integers(0, 5, len(hole_rows))
            for r, c in zip(hole_rows, cols, strict=True):
                fields[r][c] = ""
            f.write("\n".join(",".join(fl) for fl in fields) + "\n")


#: a launcher that imports nothing: a child forked from this (large) process
#: would count the parent's pages in its peak until it executes the command
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss(command: list[str]) -> tuple[float, float]:
    """Peak resident memory (MiB) and wall seconds of one command."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    kib, code = (int(v) for v in done.stdout.split())
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {code}: {done.stderr}")
    return kib / 1024, seconds  # ru_maxrss is in KiB on Linux


def markdown(path: Path) -> str:
    """The committed rows as a Markdown table, with the memory ratio in words."""
    from benchmarks._markdown import table

    df = pd.read_csv(path)
    big = df.iloc[-1]
    return (
        table(df)
        + f"\n\n{big['rows_ratio_to_small']:.0f} times the rows take "
        f"{big['rss_ratio_to_small']:.2f} times the peak memory."
    )


class CLIMemory(Benchmark):
    """Peak memory of ``deepimpute transform`` on the small and the large file."""

    name = "cli_memory"
    fields = ["rows", "file_mib", "chunk_rows", "peak_rss_mib", "seconds",
              "rss_ratio_to_small", "rows_ratio_to_small"]
    out = "cli_memory.csv"

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--rows", type=int, default=10_000_000, help="the large file")
        p.add_argument("--small", type=int, default=100_000, help="the small file")
        p.add_argument("--chunk-rows", type=int, default=65536)

    @classmethod
    def resolve(cls, args, parser) -> None:
        if args.quick:
            args.rows, args.small = 20_000, 2000

    def __init__(self, args) -> None:
        super().__init__(args)
        self.tmp = Path(tempfile.mkdtemp())
        self.model = self.tmp / "model.joblib"

    def points(self):
        yield {"rows": self.args.small}  # the model is fitted on the small file
        yield {"rows": self.args.rows}

    def setup(self, rows: int) -> None:
        self.src, self.dst = self.tmp / f"in_{rows}.csv", self.tmp / f"out_{rows}.csv"
        start = time.perf_counter()
        write_csv(self.src, rows)
        print(f"wrote {rows} rows in {time.perf_counter() - start:.0f} s",
              file=sys.stderr)
        if not self.model.exists():
            subprocess.run([sys.executable, "-m", "deepimpute", "fit", str(self.src),
                            "-o", str(self.model), "--method", "mean", "-q"],
                           check=True)

    def track_transform(self) -> dict:
        rss, seconds = peak_rss([
            sys.executable, "-m", "deepimpute", "transform", str(self.src),
            "--model", str(self.model), "-o", str(self.dst),
            "--chunk-rows", str(self.args.chunk_rows), "-q",
        ])
        return dict(file_mib=round(self.src.stat().st_size / 2**20, 1),
                    chunk_rows=self.args.chunk_rows, peak_rss_mib=round(rss, 1),
                    seconds=round(seconds, 1))

    def teardown(self) -> None:
        self.src.unlink(missing_ok=True)
        self.dst.unlink(missing_ok=True)

    def finish(self, rows: list[dict]) -> list[dict]:
        shutil.rmtree(self.tmp, ignore_errors=True)
        small = rows[0]
        return [dict(r, rss_ratio_to_small=round(r["peak_rss_mib"]
                                                 / small["peak_rss_mib"], 3),
                     rows_ratio_to_small=r["rows"] / small["rows"]) for r in rows]

    def summary(self, out: Path) -> str:
        return markdown(out)
