"""The performance suites, asv-style: ``python -m benchmarks.perf --suite NAME``.

A suite is a :class:`Benchmark` subclass (registered in :data:`SUITES`):

* ``params``: the grid, ``{name: default values}``; each name is a flag of the
  suite (``n_rows`` -> ``--n-rows``, or the name ``flags`` gives it, e.g.
  ``--rows``; ``seed`` is always ``--seeds``), ``quick`` the grid of ``--quick``;
  :meth:`Benchmark.points` iterates the product in order (a suite may override it);
* ``setup(**point)`` prepares one point (data, model); the instance lives for the
  whole run, so it may keep what does not depend on the point between points;
* methods named ``time_X`` (wall seconds of the call, column ``X_seconds``),
  ``peakmem_X`` (peak resident memory above the start of the call, sampled every
  20 ms, column ``X_peak_mb``) and ``track_X`` (returns a dict of columns, or a list
  of dicts for several rows) run in the order the class defines them, on the
  instance ``setup`` prepared (a ``track_`` method reads the point's earlier
  measurements in ``self.measured``). Unlike asv, the methods of a point share one
  ``setup`` (``time_transform`` times the model that ``time_fit`` fitted), and a
  method registered under both prefixes (``peakmem_fit = time_fit``) runs once
  with both measured;
* ``fields``: the CSV's columns (the grid's names, the measured columns, ``quick``,
  ``status``, ``error``, ``versions``, ``host`` where the suite records them);
  ``out``: the default CSV under ``benchmarks/results/`` (``-quick`` added under
  ``--quick``).

Every point is one row (or several, from a ``track_`` list), streamed to the CSV
as it finishes, with ``status`` ``ok``, ``skipped`` (:meth:`Benchmark.skip` gave a
reason), ``timeout`` (an ``isolate`` suite's point ran past its limit) or
``error`` (the exception's text; raised instead where the CSV has no ``error``
column). ``--append`` adds to an existing CSV (keeping the old rows
:meth:`Benchmark.keep` accepts); ``--figure PATH`` draws the suite's figure from
the CSV. A new suite: a module here with one :class:`Benchmark` subclass and a line
in :data:`SUITES`.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import inspect
import itertools
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from benchmarks._cli import RESULTS, RowWriter, add_common, checked_overrides
from benchmarks._measure import PeakRSS, call_isolated

#: suite name -> "module:Class" under benchmarks.perf
SUITES: dict[str, str] = {
    "epoch_cost": "epoch_cost:EpochCost",
    "epoch_profile": "epoch_cost:EpochProfile",
    "scale": "scale:Scale",
    "rvi_transform": "rvi_transform:RVITransform",
    "cli_memory": "cli_memory:CLIMemory",
    "dask_transform": "dask_scale:DaskTransform",
    "dask_fit": "dask_scale:DaskFit",
    "ddp": "ddp:DDP",
    "gpu": "gpu:GPU",
    "step_kernels": "step_kernels:StepKernels",
    "row_memory": "row_memory:RowMemory",
    "categorical_memory": "categorical_memory:CategoricalMemory",
    "mice_size": "mice_size:MICESize",
}

PREFIXES = {"time": "{}_seconds", "peakmem": "{}_peak_mb", "track": None}


class Benchmark:
    """One performance suite: a parameter grid and what is measured at each point.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (the grid's values under the params' names).
    """

    #: the suite's name (``--suite``)
    name: ClassVar[str] = ""
    #: the grid: parameter -> default values (a flag each); ``quick``: under --quick
    params: ClassVar[dict[str, list]] = {}
    quick: ClassVar[dict[str, list]] = {}
    #: how a command-line value of a parameter is read (default: str), and its flag
    #: (default: ``--name-with-dashes``; ``seed`` is ``--seeds``)
    types: ClassVar[dict[str, type]] = {}
    flags: ClassVar[dict[str, str]] = {}
    #: the suite takes ``--set KEY=VALUE`` estimator parameters (``args.overrides``)
    overrides: ClassVar[bool] = False
    #: the CSV's columns, and its default name under benchmarks/results/
    fields: ClassVar[list[str]] = []
    out: ClassVar[str] = ""
    #: run each point in a fresh process, stopped after ``limit(args)`` seconds
    isolate: ClassVar[bool] = False

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    # ---------------------------------------------------------------- hooks
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The suite's own flags besides the grid's and the shared ones."""

    @classmethod
    def resolve(cls, args: argparse.Namespace, parser) -> None:
        """Check and complete ``args`` before any point runs (``parser.error``)."""

    def points(self) -> Iterator[dict]:
        """The grid's points, in order: the product of the params' values."""
        names = list(self.params)
        for values in itertools.product(*(getattr(self.args, n) for n in names)):
            yield dict(zip(names, values, strict=True))

    def constants(self) -> dict:
        """Columns every row of the run gets (e.g. the ``--set`` parameters)."""
        return {}

    def skip(self, point: dict) -> str | None:
        """A reason to skip ``point`` (recorded as ``status=skipped``), or None."""
        return None

    def limit(self) -> float:
        """Seconds an ``isolate`` suite's point may run."""
        return float("inf")

    def done(self, point: dict, rows: list[dict]) -> None:
        """Called with each point's rows (e.g. to skip larger sizes after it)."""

    def keep(self, row: dict) -> bool:
        """With ``--append``: keep this row of the existing CSV (default: all)."""
        return True

    def finish(self, rows: list[dict]) -> list[dict] | None:
        """Rows to write instead of the streamed ones (None: keep the CSV)."""
        return None

    def setup(self, **point) -> None:
        """Prepare one point for its measurements."""

    def teardown(self) -> None:
        """Release what ``setup`` made."""

    def summary(self, out: Path) -> str:
        """Markdown of the CSV, printed after the run."""
        return f"wrote {out}"

    def figure(self, out: Path, path: Path) -> None:
        """Draw the suite's figure from the CSV into ``path``."""
        raise NotImplementedError(f"{self.name}: no figure")


def measurements(cls: type[Benchmark]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(attribute, [(prefix, what)])]``: the measured methods of ``cls`` in the
    order the class (and its bases, first) defines them, one entry per function."""
    found: dict[int, tuple[str, list]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            prefix, _, what = attr.partition("_")
            if prefix in PREFIXES and what and inspect.isfunction(value):
                key = id(value)
                found.setdefault(key, (attr, []))[1].append((prefix, what))
    return list(found.values())


def measure_point(bench: Benchmark, point: dict) -> list[dict]:
    """``setup``, every measured method once, ``teardown``: the point's rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notices of capped references
        return _measure_point(bench, point)


def _measure_point(bench: Benchmark, point: dict) -> list[dict]:
    bench.setup(**point)
    try:
        row: dict = {}
        bench.measured = row  # what the methods so far measured, for a track_
        extra: list[dict] = []
        for attr, kinds in measurements(type(bench)):
            method = getattr(bench, attr)
            prefixes = {p for p, _ in kinds}
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                got = method()
                seconds = time.perf_counter() - t0
            for prefix, what in kinds:
                if prefix == "time":
                    row[PREFIXES["time"].format(what)] = seconds
                elif prefix == "peakmem":
                    row[PREFIXES["peakmem"].format(what)] = mem.delta_mb
            if "track" in prefixes:
                if isinstance(got, list):
                    extra += got
                elif got:
                    row.update(got)
        return [{**row, **e} for e in extra] if extra else [row]
    finally:
        bench.teardown()


def _isolated_point(cls_ref: str, args: argparse.Namespace, point: dict) -> list:
    bench = load_suite(cls_ref)(args)
    return measure_point(bench, point)


def load_suite(ref: str) -> type[Benchmark]:
    """The :class:`Benchmark` class of a suite name or ``module:Class`` reference."""
    module, cls = SUITES.get(ref, ref).split(":")
    return getattr(importlib.import_module(f"benchmarks.perf.{module}"), cls)


def run(bench: Benchmark) -> list[dict]:
    """Every point of the suite, streamed to ``args.out``; returns the rows."""
    cls, args = type(bench), bench.args
    out, fields = Path(args.out), cls.fields
    recorded = "error" in fields
    if args.append and out.exists():
        _drop_replaced(out, bench)
    rows: list[dict] = []
    with RowWriter(out, fields, append=args.append) as writer:
        for point in bench.points():
            base = {**point, "quick": int(args.quick), **bench.constants()}
            reason = bench.skip(point)
            try:
                if reason is not None:
                    got = [dict(status="skipped", error=reason)]
                elif bench.isolate:
                    got = call_isolated(_isolated_point,
                                        (SUITES.get(cls.name, cls.name), args, point),
                                        bench.limit())
                    got = ([dict(status="timeout",
                                 error=f"stopped after {bench.limit():.0f} s")]
                           if got is None else got)
                else:
                    got = measure_point(bench, point)
            except Exception as exc:
                if not recorded:
                    raise
                traceback.print_exc()
                got = [dict(status="error", error=f"{type(exc).__name__}: {exc}")]
            got = [{**base, "status": "ok", **r} for r in got]
            rows += [writer.write(r) for r in got]
            bench.done(point, got)
    final = bench.finish(rows)
    if final is not None:
        with RowWriter(out, fields) as writer:
            for row in final:
                writer.write(row)
    return rows


def _drop_replaced(out: Path, bench: Benchmark) -> None:
    """Rewrite ``out`` without the rows this run replaces (``bench.keep``)."""
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header, old = reader.fieldnames or [], list(reader)
    kept = [r for r in old if bench.keep(r)]
    if len(kept) == len(old):
        return
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)


def build_parser(cls: type[Benchmark] | None) -> argparse.ArgumentParser:
    """The command line of one suite: its grid, its flags and the shared ones."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.perf",
        description=__doc__.splitlines()[0],
        epilog="suites: " + ", ".join(SUITES)
        + " (python -m benchmarks.perf --suite NAME --help: its flags)",
    )
    parser.add_argument("--suite", choices=list(SUITES), required=True)
    if cls is None:
        return parser
    for name, values in cls.params.items():
        flag = "--seeds" if name == "seed" else cls.flags.get(
            name, "--" + name.replace("_", "-"))
        quick = (f"; --quick: {' '.join(map(str, cls.quick[name]))}"
                 if name in cls.quick else "")
        parser.add_argument(
            flag, dest=name, nargs="+", default=None, metavar="VALUE",
            type=int if name == "seed" else cls.types.get(name, str),
            help=f"grid values (default {' '.join(map(str, values))}{quick})")
    cls.add_arguments(parser)
    add_common(parser, seeds=None, quick="tiny grid", figure=True,
               overrides=cls.overrides)
    parser.add_argument("--append", action="store_true",
                        help="add the rows to an existing --out")
    parser.add_argument("--replot", action="store_true",
                        help="only summarise (and draw) the existing --out")
    return parser


def parse_args(argv=None) -> tuple[type[Benchmark], argparse.Namespace]:
    """Parse and check a perf command (runs nothing): its suite class and args."""
    import sys

    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--suite", choices=list(SUITES))
    known, _ = pre.parse_known_args(argv)
    cls = load_suite(known.suite) if known.suite else None
    parser = build_parser(cls)
    args = parser.parse_args(argv)
    for name, values in cls.params.items():
        if getattr(args, name) is None:
            default = cls.quick.get(name, values) if args.quick else values
            setattr(args, name, list(default))
    args.overrides = checked_overrides(parser, getattr(args, "set", None),
                                       getattr(args, "imputer", None))
    cls.resolve(args, parser)
    if args.out is None:
        stem, suffix = cls.out.rsplit(".", 1)
        args.out = RESULTS / (f"{stem}-quick.{suffix}" if args.quick else cls.out)
    args.outputs = [] if args.replot else [Path(args.out)]
    return cls, args


def main(argv=None) -> int:
    cls, args = parse_args(argv)
    bench = cls(args)
    rows = [] if args.replot else run(bench)
    if args.figure is not None:
        bench.figure(Path(args.out), args.figure)
    print(bench.summary(Path(args.out)))
    return 1 if any(r.get("status") in ("error", "timeout") for r in rows) else 0
