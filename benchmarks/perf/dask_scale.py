"""Dask at scale: transform on a LocalCluster, and a fit under a memory cap.

``transform``: a synthetic mixed table (:func:`make_full`: 4 numerical + 3
categorical columns driven by 2 latent factors, 30 % MCAR) generated partition by
partition on the workers (``dd.from_map``, so it never sits in this process) is
imputed by a VSAE fitted on 20 000 rows, on a ``LocalCluster`` with 1 and with 2
single-threaded worker processes. The result is reduced on the workers (a count of
missing cells, which must be 0), so only the imputation is measured, not a transfer.
Reports rows per second, the speed-up of 2 workers over 1, and each worker's peak
resident memory (ru_maxrss) against its resident memory before the run and the size
of one partition. The generation of the partitions is timed alone too (same
cluster).

``fit``: a Parquet dataset is written, then a VSAE is fitted from it with
``dd.read_parquet`` in a child process whose address space is capped
(``RLIMIT_AS`` = its size after the imports + ``--cap-mb``) below what the
in-memory fit of the same table needs (seeds 0 and 1); the in-memory fit of the
whole table is attempted under the same cap (expected: MemoryError); the reference
is the in-memory fit, without a cap, on a random sample of ``--sample-rows`` rows of
the same dataset (seeds 0 and 1: the seed noise). Per-feature NRMSE on a held-out
test table of 20 000 rows. ``table_mb`` is the table's size as a pandas DataFrame.

    python -m benchmarks.perf --suite dask_transform              # 5e5 rows
    python -m benchmarks.perf --suite dask_transform --rows 1e7    # the issue's size
    python -m benchmarks.perf --suite dask_fit                     # 4e5 rows
    python -m benchmarks.perf --suite dask_fit --rows 4e6 --sample-rows 1e6 --epochs 1
    python -m benchmarks.perf --suite dask_transform --quick       # smoke run
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.perf import Benchmark

TRANSFORM_FIELDS = [
    "n_workers",
    "n_rows",
    "n_partitions",
    "partition_mb",
    "seconds",
    "generate_seconds",
    "rows_per_second",
    "worker_rss_before_mb",
    "worker_peak_rss_mb",
    "versions",
]
FIT_FIELDS = [
    "run",
    "seed",
    "status",
    "n_rows",
    "train_rows",
    "table_mb",
    "cap_mb",
    "epochs",
    "seconds",
    "peak_rss_mb",
    "nrmse_per_feature",
    "nrmse_mean",
    "error",
]


def make_full(k: int, rows: int) -> pd.DataFrame:
    """Complete rows of partition ``k``: one generating model for every partition
    (4 numerical and 3 categorical columns driven by 2 latent factors, as
    :func:`deepimpute.datasets.make_mixed_data`), latent factors and noise drawn
    with the partition's own seed; a global row index."""
    model = np.random.default_rng(0)
    W = model.standard_normal((2, 4))
    V = model.standard_normal((3, 2, 3))
    rng = np.random.default_rng([1, k])
    Z = rng.standard_normal((rows, 2))
    data = {}
    num = Z @ W + 0.3 * rng.standard_normal((rows, 4))
    for j in range(4):
        data[f"num{j}"] = num[:, j]
    dtype = pd.CategoricalDtype(["c0", "c1", "c2"])
    for c in range(3):
        scores = Z @ V[c] + 0.3 * rng.standard_normal((rows, 3))
        codes = scores.argmax(axis=1)
        data[f"cat{c}"] = pd.Categorical.from_codes(codes, dtype=dtype)
    return pd.DataFrame(data, index=pd.RangeIndex(k * rows, (k + 1) * rows))


def make_partition(k: int, rows: int) -> pd.DataFrame:
    """Partition ``k`` with 30 % of its cells hidden completely at random."""
    from deepimpute.missingness import simulate_missing

    X, _ = simulate_missing(make_full(k, rows), "mcar", 0.3, random_state=1000 + k)
    return X


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm() -> float:
    import deepimpute  # noqa: F401  (imports torch on the worker)

    return _rss_mb()


def _count_missing(part: pd.DataFrame) -> pd.Series:
    return pd.Series([int(part.isna().to_numpy().sum())])


class DaskTransform(Benchmark):
    """Rows per second and worker memory of a Dask transform, 1 and 2 workers."""

    name = "dask_transform"
    params = {"n_workers": [1, 2]}
    types = {"n_workers": int}
    fields = TRANSFORM_FIELDS
    out = "dask_transform.csv"

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--rows", type=float, default=None,
                       help="rows of the table (5e5; --quick: 4000)")
        p.add_argument("--partition-rows", type=float, default=None,
                       help="rows per partition (5e4; --quick: 1000)")

    @classmethod
    def resolve(cls, args, parser) -> None:
        args.rows = int(args.rows or (4000 if args.quick else 5e5))
        args.partition_rows = int(args.partition_rows
                                  or (1000 if args.quick else 5e4))

    def setup(self, n_workers: int) -> None:
        self.point_workers = n_workers
        if hasattr(self, "est"):  # one fitted model for every point
            return
        from deepimpute import VSAEImputer

        rows = self.args.rows
        self.per = min(self.args.partition_rows, rows)
        self.parts = rows // self.per
        self.meta = make_partition(0, 2).iloc[:0]
        train = make_partition(0, 2000 if self.args.quick else 20000)
        self.est = VSAEImputer(max_iter=2 if self.args.quick else 5, random_state=0,
                               device="cpu").fit(train)
        self.part_mb = make_partition(0, self.per).memory_usage(deep=True).sum()
        self.part_mb /= 2**20

    def track_transform(self) -> dict:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        workers, per, parts = self.point_workers, self.per, self.parts
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=0,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            before = client.run(_warm)
            ddf = dd.from_map(make_partition, range(parts), rows=per, meta=self.meta)
            t0 = time.perf_counter()
            client.compute(ddf.map_partitions(_count_missing).sum()).result()
            gen = time.perf_counter() - t0
            t0 = time.perf_counter()
            check = self.est.transform(ddf).map_partitions(_count_missing).sum()
            n_missing = int(client.compute(check).result())
            seconds = time.perf_counter() - t0
            if n_missing:
                raise AssertionError(f"{n_missing} cells left missing")
            peaks = client.run(_peak_mb)
        rec = dict(
            n_rows=parts * per,
            n_partitions=parts,
            partition_mb=round(self.part_mb, 2),
            seconds=round(seconds, 2),
            generate_seconds=round(gen, 2),
            rows_per_second=round(parts * per / seconds),
            worker_rss_before_mb=round(max(before.values()), 1),
            worker_peak_rss_mb=round(max(peaks.values()), 1),
        )
        print(rec, flush=True)
        return rec

    def summary(self, out: Path) -> str:
        return transform_markdown(out)


# ---------------------------------------------------------------------- fit


def _test_table(n_test: int):
    """Held-out rows of the same model (a partition number no run reads)."""
    full = make_full(10**6, n_test)
    X, _ = _hide(full)
    return full, X


def _hide(full):
    from deepimpute.missingness import simulate_missing

    return simulate_missing(full, "mcar", 0.3, random_state=7)


def _fit_child(mode, path, rows, per, seed, epochs, cap_mb, n_test, result,
               sample_rows=0):
    """One fit in a spawned child; writes a result dict as JSON to ``result`` (a
    file, not a queue: a queue starts a thread, which the address cap may refuse)."""
    import json

    import torch

    torch.set_num_threads(1)
    import dask
    import pyarrow as pa

    import deepimpute  # noqa: F401
    from deepimpute import VSAEImputer
    from deepimpute.metrics import nrmse

    dask.config.set(scheduler="sync")
    # one Arrow thread each for compute and I/O, started by the warm-up: a thread
    # started under the cap would be refused for its stack, not for the table
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    rec = dict(run=mode, seed=seed, n_rows=rows, cap_mb=cap_mb, epochs=epochs)
    rec["train_rows"] = rows
    import dask.dataframe as dd

    try:
        # warm-up before the cap, identical for both modes: every library either
        # fit touches is loaded (their code and arenas are not the table's memory)
        first = dd.read_parquet(path).partitions[0].compute().head(300)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            VSAEImputer(max_iter=1, device="cpu").fit(dd.from_pandas(first, 2))
            VSAEImputer(max_iter=1, device="cpu").fit(first)
            pd.read_parquet(path, columns=["num0"])
        if cap_mb:
            vm = int(open("/proc/self/statm").read().split()[0])
            limit = vm * os.sysconf("SC_PAGE_SIZE") + int(cap_mb * 2**20)
            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        est = VSAEImputer(
            max_iter=epochs, n_iter_no_change=None, random_state=seed, device="cpu"
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if mode == "dask":
                est.fit(dd.read_parquet(path))
            elif mode == "sample":  # the same random rows for every seed
                table = pd.read_parquet(path)
                rec["train_rows"] = min(sample_rows, len(table))
                table = table.sample(n=rec["train_rows"], random_state=0)
                est.fit(table)
                del table
            else:
                est.fit(pd.read_parquet(path))
        rec["seconds"] = round(time.perf_counter() - t0, 1)
        if cap_mb:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        full, X = _test_table(n_test)
        out = est.transform(X)
        errs = []
        for col in [c for c in X.columns if c.startswith("num")]:
            m = X[[col]].isna().to_numpy()
            errs.append(nrmse(full[[col]].to_numpy(), out[[col]].to_numpy(), missing=m))
        rec.update(
            status="ok",
            nrmse_per_feature=" ".join(f"{e:.4f}" for e in errs),
            nrmse_mean=round(float(np.mean(errs)), 4),
        )
    except MemoryError as exc:
        rec.update(status="memory_error", error=repr(exc)[:120])
    rec["peak_rss_mb"] = round(_peak_mb(), 1)
    Path(result).write_text(json.dumps(rec))


def _write_parquet(path: Path, rows: int, per: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for k in range(rows // per):
        make_partition(k, per).to_parquet(path / f"part-{k:04d}.parquet")


class DaskFit(Benchmark):
    """The streamed fit from Parquet under an address-space cap, against the
    in-memory fits (of the whole table under the same cap, and of a sample)."""

    name = "dask_fit"
    fields = FIT_FIELDS
    out = "dask_fit.csv"

    @classmethod
    def add_arguments(cls, p) -> None:
        p.add_argument("--rows", type=float, default=None,
                       help="rows of the Parquet dataset (4e5; --quick: 4000)")
        p.add_argument("--partition-rows", type=float, default=None,
                       help="rows per file (25000; --quick: 1000)")
        p.add_argument("--epochs", type=int, default=2)
        p.add_argument("--cap-mb", type=float, default=80.0)
        p.add_argument("--sample-rows", type=float, default=None,
                       help="the in-memory reference fits on a random sample of "
                       "this many rows (default: the whole table)")

    @classmethod
    def resolve(cls, args, parser) -> None:
        args.rows = int(args.rows or (4000 if args.quick else 4e5))
        args.partition_rows = int(args.partition_rows
                                  or (1000 if args.quick else 25000))
        if args.quick:
            args.epochs = 1

    def points(self):
        cap = self.args.cap_mb
        runs = [("dask", s, cap) for s in (0, 1)] + [("memory", 0, cap)]
        if self.args.sample_rows:
            runs += [("sample", s, 0) for s in (0, 1)]
        else:
            runs += [("memory", s, 0) for s in (0, 1)]
        for run, seed, cap_mb in runs:
            yield dict(run=run, seed=seed, cap_mb=cap_mb)

    def setup(self, run: str, seed: int, cap_mb: float) -> None:
        self.point = (run, seed, cap_mb)
        if hasattr(self, "tmp"):  # one Parquet dataset for every point
            return
        # Arrow's default allocator reserves address space in large arenas; the
        # system allocator keeps the cap about the data
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        self.tmp = tempfile.TemporaryDirectory()
        self.path = Path(self.tmp.name) / "table"
        _write_parquet(self.path, self.args.rows, self.args.partition_rows)
        self.table_mb = sum(
            pd.read_parquet(f).memory_usage(deep=True).sum()
            for f in sorted(self.path.iterdir())
        ) / 2**20

    def track_fit(self) -> dict:
        import multiprocessing as mp

        mode, seed, cap = self.point
        args = self.args
        result = Path(self.tmp.name) / f"result-{mode}-{seed}-{cap:g}.json"
        p = mp.get_context("spawn").Process(
            target=_fit_child,
            args=(mode, str(self.path), args.rows, args.partition_rows, seed,
                  args.epochs, cap, 20000, result, int(args.sample_rows or 0)),
        )
        p.start()
        p.join()
        if result.exists():
            rec = json.loads(result.read_text())
        else:  # killed, e.g. by an allocation the cap refused outside Python
            rec = dict(run=mode, seed=seed, n_rows=args.rows, cap_mb=cap)
            rec.update(status="crashed", error=f"exit code {p.exitcode}")
        rec.setdefault("error", "")
        rec["table_mb"] = round(float(self.table_mb), 1)
        print(rec, flush=True)
        return rec

    def finish(self, rows):
        if hasattr(self, "tmp"):
            self.tmp.cleanup()
        return None

    def summary(self, out: Path) -> str:
        return fit_markdown(out)


def transform_markdown(path: Path) -> str:
    """Rows per second with 1 and 2 workers, their ratio, memory per worker."""
    df = pd.read_csv(path)
    cols = [
        "n_workers",
        "n_rows",
        "n_partitions",
        "partition_mb",
        "seconds",
        "rows_per_second",
        "generate_seconds",
        "worker_rss_before_mb",
        "worker_peak_rss_mb",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---:|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    by = df.set_index("n_workers")["rows_per_second"]
    if 1 in by and 2 in by:
        lines.append(f"\nspeed-up of 2 workers over 1: {by[2] / by[1]:.2f}")
    return "\n".join(lines)


def fit_markdown(path: Path) -> str:
    """The capped streamed fit against the in-memory fits (seed noise)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    cols = ["run", "seed", "status", "n_rows"]
    cols += [c for c in ("train_rows", "table_mb") if c in df]
    cols += ["cap_mb", "epochs", "seconds"]
    cols += ["peak_rss_mb", "nrmse_per_feature", "nrmse_mean"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    ok = df[df["status"] == "ok"]
    ref = "sample" if (ok["run"] == "sample").any() else "memory"
    per = {
        run: np.array([[float(v) for v in t.split()]
                       for t in ok.loc[ok["run"] == run, "nrmse_per_feature"]])
        for run in ("dask", ref)
    }
    if all(len(v) >= 2 for v in per.values()):
        gap = np.abs(per["dask"].mean(0) - per[ref].mean(0))
        spread = np.maximum(np.ptp(per["dask"], 0), np.ptp(per[ref], 0))
        lines.append(
            f"\nper feature, |mean `dask` - mean `{ref}`| over the seeds: "
            + " ".join(f"{g:.4f}" for g in gap)
            + "; the larger seed range (max - min over seeds) of the two: "
            + " ".join(f"{r:.4f}" for r in spread)
        )
    return "\n".join(lines)
