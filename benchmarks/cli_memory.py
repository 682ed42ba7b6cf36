"""Peak memory of ``deepimpute transform`` on a large CSV against a small one.

``transform`` reads, imputes and writes the file in chunks of rows, so its peak
resident memory should not grow with the file. This script writes two CSV files of
the same columns (three numerical, one categorical, one with leading-zero codes;
10 % of the cells empty), fits a ``mean`` model on the small one, then runs
``deepimpute transform`` on each file as a child process and records the child's
peak resident set size (``ru_maxrss`` of ``os.wait4``, through a launcher process
that imports nothing) and its wall time.

Usage::

    python -m benchmarks.cli_memory                       # 1e7 rows vs 1e5 rows
    python -m benchmarks.cli_memory --rows 1000000 --out /tmp/m.csv   # smaller run

The committed results are ``benchmarks/results/cli_memory.csv``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "cli_memory.csv"


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
    from benchmarks.report import table

    df = pd.read_csv(path)
    big = df.iloc[-1]
    return (
        table(df)
        + f"\n\n{big['rows_ratio_to_small']:.0f} times the rows take "
        f"{big['rss_ratio_to_small']:.2f} times the peak memory."
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="the large file")
    p.add_argument("--small", type=int, default=100_000, help="the small file")
    p.add_argument("--chunk-rows", type=int, default=65536)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    env_python = sys.executable
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tmp / "model.joblib"
        for rows in (args.small, args.rows):
            src = tmp / f"in_{rows}.csv"
            start = time.perf_counter()
            write_csv(src, rows)
            print(f"wrote {rows} rows in {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)
            if not model.exists():
                subprocess.run([env_python, "-m", "deepimpute", "fit", str(src), "-o",
                                str(model), "--method", "mean", "-q"], check=True)
            out = tmp / f"out_{rows}.csv"
            rss, seconds = peak_rss([
                env_python, "-m", "deepimpute", "transform", str(src), "--model",
                str(model), "-o", str(out), "--chunk-rows", str(args.chunk_rows), "-q",
            ])
            records.append(dict(
                rows=rows, file_mib=round(src.stat().st_size / 2**20, 1),
                chunk_rows=args.chunk_rows, peak_rss_mib=round(rss, 1),
                seconds=round(seconds, 1),
            ))
            print(records[-1], file=sys.stderr)
            src.unlink()
            out.unlink()
    df = pd.DataFrame(records)
    ratio = df["peak_rss_mib"] / df["peak_rss_mib"].iloc[0]
    df["rss_ratio_to_small"] = ratio.round(3)
    df["rows_ratio_to_small"] = df["rows"] / df["rows"].iloc[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
