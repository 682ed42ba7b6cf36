"""Command line: ``deepimpute impute | fit | transform | sample`` clean files,
``deepimpute demo`` compares the imputers, ``deepimpute list`` names them.

This module parses the arguments and dispatches: reading and writing files
faithfully (every observed field's text kept, imputed cells in their column's
format) is :mod:`deepimpute._files`; the loop from an input's pieces through the
imputer to the outputs, and the outputs that appear only whole, are
:mod:`deepimpute._pipeline`; the model file is :class:`deepimpute._model_file.ModelFile`
(it loads without running code). No command writes over its own input or model.
A user error raises :class:`~deepimpute._files.UserError` and ends as one line on
stderr with exit code 2.

Examples
--------
deepimpute impute data.csv -o clean.csv --method vsae
deepimpute fit train.csv -o model.dimp --method vsae --param max_iter=50
deepimpute transform new.csv --model model.dimp -o clean.csv
deepimpute sample new.csv --model model.dimp --n-draws 5 -o draw.csv
deepimpute fit train/ -o model.dimp           # a Parquet dataset (needs dask)
deepimpute transform new/ --model model.dimp -o clean/   # one file per partition
deepimpute impute pairs.csv -o clean.csv --image a_=28x28 --image b_=28x28
deepimpute demo            # embedded yeast table, 50 % MCAR, the main imputers
deepimpute demo --full     # every imputer (about 3 times as long)
"""

from __future__ import annotations

import argparse
import ast
import itertools
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import _files
from ._model_file import ModelFile
from ._pipeline import (
    CsvSink,
    DatasetOutput,
    FileOutput,
    ParquetFileSink,
    PartitionSink,
    Piece,
    Summary,
    impute_pieces,
    not_imputed,
    published,
)

__all__ = ["main"]

#: per-method settings for the demo (moderate epochs on a laptop CPU)
DEMO_PARAMS: dict[str, dict] = {
    "vae": dict(max_iter=150, n_draws=200),
    "vsae": dict(max_iter=150, n_draws=200),
    "miwae": dict(max_iter=150, n_draws=200),
    "hivae": dict(max_iter=150),
    "rvi": dict(max_iter=150),
    "vad": dict(max_iter=150),
    "factvae": dict(max_iter=150),
    "gain": dict(max_iter=150),
    "misgan": dict(max_iter=100),
    "missforest": dict(),
    "mice": dict(),
}
#: the methods of the default demo (``deepimpute demo``), at ``DEMO_PARAMS``: the
#: package's deep imputers (and a plain VAE) against MissForest, MICE and the mean,
#: chosen to finish in about a minute on 2 CPU cores from each method's CPU seconds
#: in ``benchmarks/results/demo_budget.csv`` (``benchmarks/studies/demo_budget.py``:
#: 47 s of the full run's 150 s); ``--full`` adds the others (MisGAN alone 56 s)
DEMO_DEFAULT = ("mean", "mice", "missforest", "vae", "vsae", "rvi", "factvae")
#: the demo's profiles: ``deepimpute demo``, ``--full`` and ``--quick``
DEMO_PROFILES = ("default", "full", "quick")


def _build(name: str, *, quick: bool, seed: int, device: str, verbose: int = 0):
    from .imputers import SklearnImputerAdapter, make_imputer

    if name == "sklearn-iterative":
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        return SklearnImputerAdapter(
            IterativeImputer(max_iter=3 if quick else 10), random_state=seed
        )
    return make_imputer(name, DEMO_PARAMS.get(name), quick=quick, random_state=seed,
                        device=device, verbose=verbose)


def _demo_methods(profile: str) -> list[str]:
    """The methods a demo profile compares (``DEMO_PROFILES``)."""
    if profile == "default":
        return list(DEMO_DEFAULT)
    return ["sklearn-iterative"] + _method_names()


def _demo_imputer(name: str, profile: str, *, seed: int, device: str):
    """The demo's imputer ``name`` under ``profile`` (``DEMO_PROFILES``)."""
    return _build(name, quick=profile == "quick", seed=seed, device=device)


def _method_names() -> list[str]:
    from .imputers import IMPUTERS

    return sorted(IMPUTERS)


def _registry(name: str) -> type:
    from .imputers import IMPUTERS

    return IMPUTERS[name]


def _can_sample(est) -> bool:
    """Whether an imputer (or its class) draws multiple imputations: it has a
    sampler of its own, not the base's refusal."""
    from .imputers._base import BaseImputer

    cls = est if isinstance(est, type) else type(est)
    return cls._sample is not BaseImputer._sample


# ------------------------------------------------------------------- impute
def _parse_params(items: Sequence[str] | None, imputer) -> dict:
    """``KEY=VALUE`` strings to estimator parameters (values as Python literals,
    else strings); a key the estimator does not have, or a value it refuses, is
    an error naming the option."""
    valid = imputer.get_params()
    params = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}.")
        if key not in valid or key == "column_spec":
            # the names to use: not the deprecated aliases (they still work)
            names = ", ".join(sorted(k for k in valid if k != "column_spec"
                                     and k not in imputer._renamed))
            raise ValueError(
                f"--param {key}: {type(imputer).__name__} has no parameter "
                f"{key!r}; its parameters are: {names}."
            )
        try:
            params[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            params[key] = raw.strip()  # a bare word such as gaussian
        if raw.strip().lower() in _INFINITIES:
            params[key] = float(raw.strip())
        _check_value(imputer, key, params[key], f"--param {item.strip()}")
    return params


#: the texts of an infinite --param value (not Python literals)
_INFINITIES = ("inf", "+inf", "-inf", "infinity", "-infinity")


def _check_value(imputer, key: str, value, option: str) -> None:
    """Refuse a parameter value the estimator's constraints refuse, naming the
    option that gave it (a fit would blame the input file)."""
    probe = type(imputer)(**{key: value})
    try:
        probe._validate_params()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{option}: {exc}") from None


def _image_groups(items: Sequence[str] | None, columns) -> list:
    """``PREFIX=HxW`` strings to :class:`Image` attributes over the columns whose
    names start with ``PREFIX`` (in file order)."""
    from . import Image

    images, taken = [], set()
    for item in items or []:
        prefix, sep, shape_text = item.partition("=")
        try:
            shape = tuple(int(v) for v in shape_text.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not prefix or not shape or min(shape) < 1:
            raise ValueError(f"--image expects PREFIX=HxW (e.g. px_=28x28), got "
                             f"{item!r}.")
        cols = [c for c in columns if str(c).startswith(prefix)]
        if math.prod(shape) != len(cols):
            raise ValueError(
                f"--image {item}: {len(cols)} columns start with {prefix!r}, but "
                f"shape {shape_text} needs {math.prod(shape)}."
            )
        if taken & set(cols):
            raise ValueError(f"--image {item}: columns already in another image.")
        taken |= set(cols)
        images.append(Image(cols, shape=shape, name=prefix))
    return images


def _names(items: Sequence[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one list."""
    return [n for item in items or [] for n in item.split(",") if n]


def _markers(args: argparse.Namespace, default=None) -> frozenset:
    """The missing markers: the empty field, ``--na-values``, pandas' list."""
    if args.na_values is None and not args.keep_default_na and default is not None:
        return default
    markers = {"", *_names(args.na_values)}
    if args.keep_default_na:
        markers |= _files.PANDAS_NA_VALUES
    return frozenset(markers)


def _reader(args, path, markers) -> _files.CsvReader:
    return _files.CsvReader(
        path, sep=args.sep, encoding=args.encoding, na_values=markers
    )


def _progress(args, **kwargs):
    from tqdm.auto import tqdm

    return tqdm(disable=args.quiet, file=sys.stderr, leave=False, **kwargs)


# ------------------------------------------------------------ fit / transform
def _refuse_csv_options(args, what: str) -> None:
    """The options that type CSV text make no sense where the file's dtypes decide."""
    for option in ("numeric", "categorical", "na_values"):
        if getattr(args, option, None):
            raise _files.UserError(
                f"--{option.replace('_', '-')} applies to CSV files; {what}, whose "
                "dtypes and nulls decide"
            )


def _read_training(args, path, fmt):
    """The training table: (frame, bundle fields, the CSV reader and chunk)."""
    if fmt == "parquet":
        _refuse_csv_options(args, f"{path} is Parquet")
        frame = _files.read_parquet(path)
        return frame, dict(format="parquet", names=list(frame.columns)), None
    markers = _markers(args)
    with _reader(args, path, markers) as reader:
        chunk = next(reader.chunks(None), _files.Chunk([], [], []))
    names = reader.names
    for option, cols in (("--numeric", args.numeric), ("--categorical",
                                                       args.categorical)):
        unknown = [c for c in _names(cols) if c not in names]
        if unknown:
            raise _files.UserError(
                f"{option}: {path} has no column {', '.join(map(repr, unknown))}; "
                f"its columns are {', '.join(map(repr, names))}"
            )
    texts, quoted = _files.chunk_columns(reader, chunk)
    fraction = [q / max(1, sum(t is not None for t in col))
                for q, col in zip(quoted, texts, strict=True)]
    formats = _files.infer_formats(
        names, texts, fraction,
        numeric=_names(args.numeric), categorical=_names(args.categorical),
    )
    frame = _files.chunk_frame(reader, chunk, formats)
    info = dict(format="csv", names=list(names), formats=formats, markers=markers,
                sep=reader.sep, encoding=reader.encoding)
    return frame, info, (reader, chunk)


def _fit_model(args, frame: pd.DataFrame, info: dict) -> ModelFile:
    """Fit the estimator on ``frame``; the model file's contents."""
    from . import ColumnSpec
    from ._dask import is_dask_frame

    lazy = is_dask_frame(frame)
    if not lazy and len(frame) == 0:
        raise _files.UserError(f"{args.input}: no rows to fit (only a header)")
    try:
        images = _image_groups(args.image, frame.columns)
    except ValueError as exc:
        raise _files.UserError(str(exc)) from None
    in_images = {c for a in images for c in a.columns}
    rest = [c for c in frame.columns if c not in in_images]
    # a Dask DataFrame's types come from its (empty) meta: dtypes decide
    typed = frame._meta if lazy else frame
    tables = ColumnSpec.infer(typed[rest], max_levels=args.max_levels) if rest else []
    spec = ColumnSpec([*tables, *images])
    imputer = _build(args.method, quick=False, seed=args.seed, device=args.device,
                     verbose=0 if args.quiet else 1)
    try:
        if args.max_iter is not None and "max_iter" in imputer.get_params():
            _check_value(imputer, "max_iter", args.max_iter,
                         f"--max-iter {args.max_iter}")
            imputer.set_params(max_iter=args.max_iter)
        params = _parse_params(args.param, imputer)
        if params.get("min_value") == -np.inf:
            # said on the command line, -inf means no lower bound at all; the
            # estimators' default -inf bounds columns never negative at 0
            params["min_value"] = [-np.inf] * len(frame.columns)
        imputer.set_params(column_spec=spec, **params)
    except ValueError as exc:
        raise _files.UserError(str(exc)) from None
    try:
        imputer.fit(frame)
    except (ValueError, TypeError) as exc:
        raise _files.UserError(f"{args.input}: {exc}") from None
    return ModelFile(method=args.method, estimator=imputer, spec=spec, **info)


def _check_columns(path, names, model_names) -> None:
    missing = [n for n in model_names if n not in names]
    extra = [n for n in names if n not in model_names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"not in the model {', '.join(map(repr, extra))}")
        raise _files.UserError(
            f"{path}: the columns differ from the model's: {'; '.join(parts)}"
        )


def _refuse_overwrite(output, *protected: tuple[str, object]) -> None:
    """No command writes over its own input or model file."""
    for option, path in protected:
        if path is not None and _same_file(output, path):
            raise _files.UserError(
                f"-o {output}: is the {option} of this command; write to another "
                "file (the input and the model are never overwritten)"
            )


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.abspath(str(a)) == os.path.abspath(str(b))


def _apply(args, model: ModelFile, path, outputs, *, draws=0, source=None) -> Summary:
    """Impute ``path`` piece by piece with the model into ``outputs`` (one path;
    or ``draws`` paths of completed copies); return the summary."""
    fmt = _files.file_format(path, args.format)
    if model.format != "parquet-dataset" and fmt != model.format:
        raise _files.UserError(
            f"{path}: a {fmt} file, but the model was fitted on a {model.format} "
            "file (the column types come from it)"
        )
    for o in outputs:  # no conversion between formats: the output is the input's
        suffix = os.path.splitext(str(o))[1].lower()
        other = ("parquet" if suffix in _files.PARQUET_SUFFIXES else
                 "csv" if suffix in _files.CSV_SUFFIXES else fmt)
        if other != fmt and args.format is None:
            raise _files.UserError(
                f"-o {o}: a {other} file name, but {path} is a {fmt} file (the "
                "output keeps the input's format)"
            )
    with published() as files:
        files.extend(FileOutput(o) for o in outputs)
        if fmt == "csv":
            return _apply_csv(args, model, path, files, draws, source)
        return _apply_parquet(args, model, path, files, draws)


def _apply_csv(args, model: ModelFile, path, files, draws, source) -> Summary:
    if source is None:
        markers = _markers(args, default=model.markers)
        reader = _reader(args, path, markers)
        chunks = None
        if model.formats is None:  # fitted on a Parquet dataset: no CSV formats
            _check_columns(path, reader.names, model.names)
            chunks = reader.chunks(args.chunk_rows)
            first = next(chunks, None)
            chunks = [] if first is None else itertools.chain([first], chunks)
            formats = _csv_formats(reader, first, model)
        else:
            formats = model.formats
    else:
        reader, chunk = source
        chunks = [chunk]
        markers = reader.na_values
        formats = model.formats
    with reader:
        _check_columns(path, reader.names, model.names)
        by_name = dict(zip(model.names, formats, strict=True))
        formats = [by_name[n] for n in reader.names]  # in the file's order
        sinks = [CsvSink(f.part, reader, formats) for f in files]
        bar = _progress(args, total=os.path.getsize(path), unit="B",
                        unit_scale=True, desc="transform")
        pieces = (
            Piece(k, _files.chunk_frame(reader, chunk, formats), chunk)
            for k, chunk in enumerate(chunks or reader.chunks(args.chunk_rows))
        )
        try:
            summary = impute_pieces(
                model.estimator, pieces, sinks, path=path, names=reader.names,
                model_names=model.names, method=model.method, spec=model.spec,
                draws=draws, seed=args.seed, formats=formats,
                progress=lambda piece: bar.update(reader.offset - bar.n),
            )
        finally:  # the bar cleared first: an error is then one clean line
            bar.close()
            for sink in sinks:
                sink.close()
    summary.markers = markers
    return summary


def _csv_formats(reader, chunk, model: ModelFile) -> list:
    """The CSV formats of a model fitted without them (on a Parquet dataset): each
    column's kind from the fitted column types, its format from the first chunk."""
    numeric = [c for a in model.spec.attributes if a.kind == "numerical"
               for c in a.columns]
    categorical = [c for a in model.spec.attributes if a.kind == "categorical"
                   for c in a.columns]
    if chunk is None:
        chunk = _files.Chunk([], [], [])
    texts, quoted = _files.chunk_columns(reader, chunk)
    fraction = [q / max(1, sum(t is not None for t in col))
                for q, col in zip(quoted, texts, strict=True)]
    formats = _files.infer_formats(reader.names, texts, fraction,
                                   numeric=numeric, categorical=categorical)
    by_name = {f.name: f for f in formats}
    return [by_name[n] for n in model.names]


def _apply_parquet(args, model: ModelFile, path, files, draws) -> Summary:
    schema, total, frames = _files.parquet_batches(path, args.chunk_rows)
    names = [n for n in schema.names if n in model.names
             or not n.startswith("__index_level_")]
    _check_columns(path, names, model.names)
    sinks = [ParquetFileSink(f.part, schema) for f in files]
    bar = _progress(args, total=total, unit="rows", desc="transform")
    try:
        summary = impute_pieces(
            model.estimator, (Piece(k, f) for k, f in enumerate(frames)), sinks,
            path=path, names=names, model_names=model.names, method=model.method,
            spec=model.spec, draws=draws, seed=args.seed,
            progress=lambda piece: bar.update(len(piece.frame)),
        )
    finally:
        bar.close()
        for sink in sinks:
            sink.close()
    return summary


def _impute_partition(part, est, k, path, about, folders, draws, seed) -> Summary:
    """Impute one partition of a Parquet dataset into file ``k`` of every output
    folder (one per draw); return its summary. ``about`` holds the model file's
    fields but the estimator (which arrives once, as ``est``)."""
    from ._utils.torch_utils import TORCH_LOCK

    # one partition at a time in torch (seeded noise from the global generator);
    # reading and writing the files overlap across threads
    with TORCH_LOCK:
        return impute_pieces(
            est, [Piece(k, part)], [PartitionSink(f) for f in folders], path=path,
            names=about["names"], model_names=about["names"],
            method=about["method"], spec=about["spec"], draws=draws, seed=seed,
        )


def _apply_dataset(args, model: ModelFile, path, outputs, draws) -> Summary:
    """Impute a Parquet dataset partition by partition (read through Dask, never
    collected) into one Parquet dataset per output: one file per partition, the
    input's columns and dtypes."""
    if model.format == "csv":
        raise _files.UserError(
            f"{path}: a Parquet dataset, but the model was fitted on a csv file (the "
            "column types come from it)"
        )
    _refuse_csv_options(args, f"{path} is a Parquet dataset")
    for o in outputs:
        if os.path.splitext(str(o))[1].lower() in _files.CSV_SUFFIXES:
            raise _files.UserError(
                f"-o {o}: a csv file name, but {path} is a Parquet dataset (the "
                "output is a folder of Parquet files)"
            )
    ddf = _files.read_parquet_dataset(path)  # a one-line error without dask
    _check_columns(path, list(ddf.columns), model.names)
    import dask

    from ._dask import estimator_node

    with published() as folders:
        folders.extend(DatasetOutput(o) for o in outputs)
        node = estimator_node(model.estimator)
        about = dict(names=model.names, method=model.method, spec=model.spec)
        task = dask.delayed(_impute_partition, pure=False)
        parts = [
            task(p, node, k, path, about, [f.part for f in folders], draws,
                 args.seed)
            for k, p in enumerate(ddf.to_delayed())
        ]
        summary = Summary(model.method, model.names, model.spec,
                          skipped=not_imputed(model.estimator, model.names))
        summary.note_choice(model.estimator)
        for part in dask.compute(*parts):
            summary.merge(part)
        return summary


def _draw_paths(output: str, n: int) -> list[str]:
    """``n`` output paths: ``{}`` in OUTPUT is the draw number, else ``_k``
    before the suffix (clean.csv -> clean_1.csv ...)."""
    if "{}" in output:
        return [output.replace("{}", str(k)) for k in range(1, n + 1)]
    stem, suffix = os.path.splitext(output)
    return [f"{stem}_{k}{suffix}" for k in range(1, n + 1)]


def _read_dataset(args, path):
    """A Parquet dataset as a lazy Dask DataFrame, with the model file's fields."""
    _refuse_csv_options(args, f"{path} is a Parquet dataset")
    ddf = _files.read_parquet_dataset(path)
    return ddf, dict(format="parquet-dataset", names=list(ddf.columns))


def _cmd_fit(args: argparse.Namespace) -> int:
    """Fit and save a model; under ``torchrun`` (``WORLD_SIZE`` > 1) every rank
    fits data-parallel in one process group and only rank 0 writes and prints."""
    from .distributed import is_main_process, joined_group, local_device

    dataset = _files.is_dataset(args.input)
    if not dataset:
        fmt = _files.file_format(args.input, args.format)
    _files.check_output(args.output)
    _refuse_overwrite(args.output, ("input", args.input))
    with joined_group() as grouped:
        if grouped and args.device == "auto":  # one GPU per rank, not all on cuda:0
            args.device = local_device()
        start = time.perf_counter()
        if dataset:
            frame, info = _read_dataset(args, args.input)
        else:
            frame, info, _ = _read_training(args, args.input, fmt)
        model = _fit_model(args, frame, info)
        if is_main_process():
            model.save(args.output)
            if not args.quiet:
                rows = (f"{frame.npartitions} partitions" if dataset
                        else f"{len(frame)} rows")
                print(f"{args.method}: fitted on {rows} x {len(frame.columns)} "
                      f"columns of {args.input} in "
                      f"{time.perf_counter() - start:.1f} s -> {args.output}")
    return 0


def _load_model(args) -> ModelFile:
    return ModelFile.load(args.model, trust_pickle=args.trust_pickle,
                          quiet=args.quiet)


def _cmd_transform(args: argparse.Namespace) -> int:
    _refuse_overwrite(args.output, ("input", args.input), ("--model", args.model))
    model = _load_model(args)
    start = time.perf_counter()
    if _files.is_dataset(args.input):
        summary = _apply_dataset(args, model, args.input, [args.output], 0)
    else:
        summary = _apply(args, model, args.input, [args.output])
    if not args.quiet:
        summary.print(args.output, time.perf_counter() - start)
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    if args.n_draws < 1:
        raise _files.UserError(f"--n-draws must be at least 1, got {args.n_draws}")
    paths = _draw_paths(args.output, args.n_draws)
    for path in paths:
        _refuse_overwrite(path, ("input", args.input), ("--model", args.model))
    model = _load_model(args)
    if not _can_sample(model.estimator):
        raise _files.UserError(
            f"--model {args.model}: the {model.method} model "
            f"({type(model.estimator).__name__}) gives a single imputation and cannot "
            "draw several; use deepimpute transform, or fit a method that samples ("
            f"{', '.join(n for n in _method_names() if _can_sample(_registry(n)))})"
        )
    start = time.perf_counter()
    if _files.is_dataset(args.input):
        summary = _apply_dataset(args, model, args.input, paths, args.n_draws)
    else:
        summary = _apply(args, model, args.input, paths, draws=args.n_draws)
    if not args.quiet:
        summary.print(", ".join(paths), time.perf_counter() - start)
    return 0


def _cmd_impute(args: argparse.Namespace) -> int:
    """Fit on the file and transform it (the file is read once)."""
    fmt = _files.file_format(args.input, args.format)
    _files.check_output(args.output)
    _refuse_overwrite(args.output, ("input", args.input))
    start = time.perf_counter()
    frame, info, source = _read_training(args, args.input, fmt)
    if len(frame) == 0:  # only a header: nothing to impute, the file as it is
        with open(args.input, "rb") as src:
            content = src.read()
        with published() as files:
            files.append(FileOutput(args.output))
            with open(files[0].part, "wb") as dst:
                dst.write(content)
        if not args.quiet:
            print(f"{args.input}: no rows, nothing to impute -> {args.output}")
        return 0
    model = _fit_model(args, frame, info)
    del frame
    summary = _apply(args, model, args.input, [args.output], source=source)
    if not args.quiet:
        summary.print(args.output, time.perf_counter() - start)
    return 0


# --------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from sklearn.exceptions import ConvergenceWarning

    from .datasets import load_yeast
    from .metrics import score_imputation
    from .missingness import simulate_missing

    data = load_yeast()
    X = data.frame
    X_miss, hidden = simulate_missing(
        X, "mcar", args.rate, spec=data.spec, random_state=args.seed
    )
    profile = "quick" if args.quick else "full" if args.full else "default"
    names = args.methods or _demo_methods(profile)
    print(
        f"{data.name}: {X.shape[0]} rows x {X.shape[1]} columns, "
        f"{hidden.mean():.0%} of cells hidden (MCAR), seed {args.seed}"
        + ("" if profile == "default" else f" [{profile}]")
    )
    rows = []
    for name in names:
        imputer = _demo_imputer(name, profile, seed=args.seed, device=args.device)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # a capped number of rounds is the point of a quick comparison
            warnings.simplefilter("ignore", ConvergenceWarning)
            X_imp = imputer.fit_transform(X_miss)
        seconds = time.perf_counter() - start
        s = score_imputation(X, X_imp, missing=hidden, spec=data.spec)
        rows.append((name, s["nrmse_pooled_raw"], s["nrmse_per_feature"], seconds))
        print(f"  done {name:<18} {seconds:7.1f} s", file=sys.stderr)
    print()
    print("| imputer | NRMSE pooled (raw) | NRMSE per feature | seconds |")
    print("|---|---|---|---|")
    for name, a, b, sec in sorted(rows, key=lambda r: r[2]):
        print(f"| {name} | {a:.4f} | {b:.4f} | {sec:.1f} |")
    print(
        "\nLower is better; the column mean scores about 1.0 per feature. "
        "Fitted transductively on the masked table (see benchmarks/ for the "
        "train/test protocol)."
    )
    if profile == "default" and not args.methods:
        others = [n for n in _demo_methods("full") if n not in names]
        print(
            f"This is the quick comparison; `deepimpute demo --full` adds "
            f"{', '.join(others)} (about 3 times as long)."
        )
    return 0


#: a Sphinx role (``:class:`~deepimpute.RVIImputer```) or inline literal
_ROLE = re.compile(r":(?:[\w.-]+:)*[\w.-]+:`~?([^`<]*?)(?:\s*<[^`>]*>)?`|``([^`]+)``")


def _plain(text: str) -> str:
    """reST inline markup as terminal text: a role's target as its last name
    (what Sphinx shows for ``~``), a literal without its back quotes."""

    def shown(match: re.Match) -> str:
        if match.group(2) is not None:
            return match.group(2)
        target = match.group(1)
        return target.rsplit(".", 1)[-1] if "~" in match.group(0) else target

    return _ROLE.sub(shown, text)


def _cmd_list(args: argparse.Namespace) -> int:
    from .imputers import IMPUTERS

    for name in _method_names():
        doc = _plain((IMPUTERS[name].__doc__ or "").strip().splitlines()[0])
        print(f"{name:<12} {IMPUTERS[name].__name__:<22} {doc}")
    return 0


TRUST_HELP = (
    "also load a --model that is a pickle (joblib), e.g. one written by "
    "deepimpute 0.1: a pickle can run any code while it loads, so use this only "
    "for a file you made yourself")


class _Parser(argparse.ArgumentParser):
    """argparse with the command's error style: one line on stderr, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"deepimpute: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="deepimpute", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("input", help="CSV or Parquet file, or a Parquet dataset "
                         "(a folder or a glob of Parquet files; read with dask)")
    reading.add_argument("--format", choices=["csv", "parquet"],
                         help="the input's and output's format (default: by suffix)")
    reading.add_argument("--sep", help="CSV field separator (default: sniffed from "
                         "the header line among , ; TAB |)")
    reading.add_argument("--encoding", default="utf-8",
                         help="CSV encoding, ASCII-compatible (default utf-8)")
    reading.add_argument(
        "--na-values", action="append", metavar="MARKERS",
        help="comma-separated texts that also mark a missing cell (repeatable), "
        "e.g. --na-values NA,?; by default only an empty unquoted field is missing; "
        "a quoted field is always a value")
    reading.add_argument("--keep-default-na", action="store_true",
                         help="also take pandas' markers (NA, NaN, None, null, ...)")
    reading.add_argument("--chunk-rows", type=int, default=65536,
                         help="rows read, imputed and written at a time")
    reading.add_argument(
        "--seed", type=int, default=0,
        help="random seed of the fit (impute, fit) and of the draws (sample); the "
        "same seed gives the same file (default 0)")
    reading.add_argument("-q", "--quiet", action="store_true",
                         help="no progress bars, no summary")

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument(
        "--method", default="vsae", choices=_method_names(), metavar="METHOD",
        help="the imputer: %(choices)s (default: %(default)s; deepimpute list "
        "describes them)")
    model.add_argument("--categorical", action="append", metavar="COLS",
                       help="comma-separated columns to treat as categorical")
    model.add_argument("--numeric", action="append", metavar="COLS",
                       help="comma-separated columns of digits with leading zeros "
                       "to treat as numbers (text otherwise)")
    model.add_argument("--max-levels", type=int, default=None,
                       help="integer columns with at most this many values are "
                       "categorical")
    model.add_argument(
        "--image", action="append", metavar="PREFIX=HxW",
        help="the columns whose names start with PREFIX form one image of HxW "
        "pixels, in row-major order (repeatable; any value range: the block is "
        "scaled by its observed minimum and maximum); other columns are inferred")
    model.add_argument("--max-iter", type=int, default=None, help="training epochs")
    model.add_argument(
        "--param", action="append", metavar="KEY=VALUE",
        help="an estimator parameter (repeatable), e.g. --param n_draws=32; "
        "values are Python literals (numbers, tuples, True) or bare strings")
    model.add_argument("--device", default="auto",
                       help="torch device of the deep imputers: cpu, cuda, cuda:1 "
                       "... (default auto: a GPU if there is one)")

    imp = sub.add_parser("impute", parents=[reading, model],
                         help="fit on a file and impute its missing cells")
    imp.add_argument("-o", "--output", required=True, help="file to write")
    imp.set_defaults(func=_cmd_impute)

    fit = sub.add_parser("fit", parents=[reading, model],
                         help="fit an imputer on a file and save it")
    fit.add_argument("-o", "--output", required=True,
                     help="model file (loads without running code)")
    fit.set_defaults(func=_cmd_fit)

    tr = sub.add_parser("transform", parents=[reading],
                        help="impute a file with a saved model, chunk by chunk")
    tr.add_argument("--model", required=True, help="file written by deepimpute fit")
    tr.add_argument("--trust-pickle", action="store_true", help=TRUST_HELP)
    tr.add_argument("-o", "--output", required=True, help="file to write")
    tr.set_defaults(func=_cmd_transform)

    sa = sub.add_parser("sample", parents=[reading],
                        help="write K completed copies (multiple imputation)")
    sa.add_argument("--model", required=True, help="file written by deepimpute fit")
    sa.add_argument("--trust-pickle", action="store_true", help=TRUST_HELP)
    sa.add_argument("--n-draws", type=int, default=5)
    sa.add_argument("-o", "--output", required=True,
                    help="OUT.csv gives OUT_1.csv ... OUT_K.csv; a {} in the name "
                    "is replaced by the draw number")
    sa.set_defaults(func=_cmd_sample)

    demo = sub.add_parser("demo", help="compare the imputers on the embedded table")
    demo.add_argument("--rate", type=float, default=0.5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--methods", nargs="*", help="subset of imputers")
    size = demo.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="every imputer (default: VSAE, RVI, FactVAE, VAE, "
                      "MissForest, MICE and the mean, about a minute on 2 CPU cores)")
    size.add_argument("--quick", action="store_true",
                      help="every imputer at tiny epochs (smoke test)")
    demo.add_argument("--device", default="auto")
    demo.set_defaults(func=_cmd_demo)

    lst = sub.add_parser("list", help="list the available imputers")
    lst.set_defaults(func=_cmd_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deepimpute`` command."""
    args = _parser().parse_args(argv)
    np.seterr(all="ignore")
    if getattr(args, "chunk_rows", 1) < 1:
        print(f"deepimpute: --chunk-rows must be at least 1, got {args.chunk_rows}",
              file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except _files.UserError as exc:
        print(f"deepimpute: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
