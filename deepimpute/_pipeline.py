"""The command line's one loop: pieces of a table in, imputed pieces out.

A *source* yields :class:`Piece` objects (a CSV chunk with its raw text, a Parquet
row batch, a partition of a Parquet dataset); :func:`impute_pieces` imputes each
with a fitted imputer (``transform``, or ``sample`` for ``draws`` completed
copies) and hands every copy to its *sink* (:class:`CsvSink`,
:class:`ParquetFileSink`, :class:`PartitionSink`), counting what it did in a
:class:`Summary`. Every output is written under a temporary name and appears whole
only when the whole run succeeded (:func:`published`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _files
from ._files import UserError

__all__ = [
    "CsvSink",
    "DatasetOutput",
    "FileOutput",
    "ParquetFileSink",
    "PartitionSink",
    "Piece",
    "Summary",
    "impute_pieces",
    "published",
]


@dataclass
class Piece:
    """Rows of the input: their number ``k`` in the input, the typed cells, and
    for CSV the raw chunk they were read from (what the CSV sink writes back)."""

    k: int
    frame: pd.DataFrame
    raw: object = None


def impute_pieces(
    est,
    pieces: Iterable[Piece],
    sinks: Sequence,
    *,
    path,
    names: Sequence,
    model_names: Sequence,
    method: str,
    spec,
    draws: int = 0,
    seed: int = 0,
    formats: Sequence | None = None,
    progress: Callable[[Piece], None] | None = None,
) -> Summary:
    """Impute every piece with ``est`` into ``sinks`` (one, or one per draw).

    ``names`` are the input's columns the model knows, in the input's order;
    ``model_names`` the model's (what ``est`` is given). Piece ``k`` draws with
    seed ``seed + k``. A column that was empty in every row at fit is not imputed
    (the estimator leaves it out): its cells go to the sinks as they were read.
    ``formats`` (CSV: one :class:`~deepimpute._files.ColumnFormat` per name) round
    the summary's imputed ranges as the file writes them. Returns the summary of
    what was imputed.
    """
    names = list(names)
    skipped = not_imputed(est, names)
    summary = Summary(method, names, spec, skipped=skipped, formats=formats)
    left = np.isin(names, skipped)
    summary.note_choice(est)
    for piece in pieces:
        frame = piece.frame
        missing = frame[names].isna().to_numpy()
        imputed = missing & ~left  # the cells the model fills
        if imputed.any():
            outs = impute_frame(est, path, frame, model_names, draws, seed + piece.k,
                                skipped=skipped)
        else:
            outs = [frame] * max(1, draws)
        summary.add(frame[names], missing, outs[0])
        for sink, out in zip(sinks, outs, strict=True):
            sink.write(piece, imputed, out)
        if progress is not None:
            progress(piece)
    return summary


def not_imputed(est, names: Sequence) -> list:
    """The columns of ``names`` the fitted ``est`` leaves out of its output: those
    entirely missing at fit (unless ``keep_empty_features``)."""
    shown = {str(c) for c in est.get_feature_names_out()}
    return [n for n in names if str(n) not in shown]


def impute_frame(est, path, frame, names, draws, seed, skipped=()) -> list:
    """``transform`` (or ``draws`` samples) of ``frame[names]``, with the
    ``skipped`` columns (left out by the estimator) as they were; an estimator's
    refusal is a :class:`UserError` naming the file."""
    try:
        if draws:
            outs = est.sample(frame[list(names)], n_draws=draws, random_state=seed)
        else:
            outs = [est.transform(frame[list(names)])]
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: {_cli_spelling(str(exc))}") from None
    except NotImplementedError as exc:  # e.g. a method that cannot sample
        raise UserError(f"{path}: {exc}") from None
    if skipped:  # every column back in place: the left-out ones as read
        outs = [
            pd.DataFrame({c: out[c] if c not in skipped else frame[c] for c in names},
                         index=frame.index)
            for out in outs
        ]
    imputed = [c for c in names if c not in skipped]
    for out in outs:  # a dtype the estimator cannot impute must not pass silently
        left = out[imputed].isna().any()
        if left.any():
            col = left.index[left.to_numpy()][0]
            raise UserError(
                f"{path}: column {col!r} ({frame[col].dtype}): the {type(est).__name__}"
                " cannot impute this column's type; its missing cells stay missing"
            )
    return outs


def _cli_spelling(message: str) -> str:
    """An estimator's message with its Python advice in the command's spelling."""
    return message.replace(
        "Pass handle_unknown='missing' to impute them.",
        "Fit the model with --param handle_unknown=missing to impute such cells as "
        "missing ones.",
    )


# ------------------------------------------------------------------- sinks
class CsvSink:
    """Writes a CSV faithfully: records without a hole as read, imputed fields in
    their column's format (:func:`deepimpute._files.write_chunk`)."""

    def __init__(self, path, reader: _files.CsvReader, formats) -> None:
        self.reader, self.formats = reader, formats
        self.file = open(path, "w", encoding=reader.encoding, newline="")  # noqa: SIM115
        self.file.write(reader.header_text())

    def write(self, piece: Piece, missing: np.ndarray, out: pd.DataFrame) -> None:
        _files.write_chunk(self.file, self.reader, piece.raw, self.formats, missing,
                           out)

    def close(self) -> None:
        self.file.close()


class ParquetFileSink:
    """Writes the pieces as row groups of one Parquet file with the input's schema."""

    def __init__(self, path, schema) -> None:
        self.writer = _files.ParquetSink(path, schema)

    def write(self, piece: Piece, missing: np.ndarray, out: pd.DataFrame) -> None:
        self.writer.write(out[piece.frame.columns])

    def close(self) -> None:
        self.writer.close()


class PartitionSink:
    """Writes piece ``k`` as the file ``part.k.parquet`` of a folder."""

    def __init__(self, folder) -> None:
        self.folder = folder

    def write(self, piece: Piece, missing: np.ndarray, out: pd.DataFrame) -> None:
        out[piece.frame.columns].to_parquet(
            os.path.join(self.folder, f"part.{piece.k}.parquet"), index=False
        )

    def close(self) -> None:
        pass


# ----------------------------------------------------------- whole outputs
class FileOutput:
    """An output file written to ``path + '.part'`` and renamed at the end: a
    failure leaves nothing."""

    def __init__(self, path) -> None:
        _files.check_output(path)
        self.path = str(path)
        self.part = self.path + ".part"

    def commit(self) -> None:
        os.replace(self.part, self.path)

    def discard(self) -> None:
        if os.path.exists(self.part):
            os.remove(self.part)


class DatasetOutput:
    """A Parquet dataset written into ``path + '.part'`` and renamed at the end: a
    failure leaves nothing, and an existing output is never overwritten."""

    def __init__(self, path) -> None:
        _files.check_output(path)
        self.path = str(path).rstrip("/\\") or str(path)
        if os.path.lexists(self.path):
            raise UserError(
                f"-o {path}: already exists; a Parquet dataset is written to a new "
                "folder"
            )
        self.part = self.path + ".part"
        if os.path.lexists(self.part):
            raise UserError(
                f"-o {path}: {self.part} exists (left by an interrupted run?); "
                "remove it first"
            )
        os.mkdir(self.part)

    def commit(self) -> None:
        os.replace(self.part, self.path)

    def discard(self) -> None:
        if os.path.isdir(self.part):
            shutil.rmtree(self.part)


@contextmanager
def published():
    """A list of outputs: each is committed when the block ends without an error
    (its file appears whole), and whatever was not committed is discarded."""
    outputs: list = []
    try:
        yield outputs
        for output in outputs:
            output.commit()
    finally:
        for output in outputs:
            output.discard()


# ---------------------------------------------------------------- summary
#: the most levels of a categorical column the summary names
SHOWN_LEVELS = 4


class Summary:
    """Per attribute of the spec (a column, or an image): cells imputed; for
    numerical columns the observed range beside the imputed range (as the output
    writes them), for categorical ones the observed level counts beside the
    imputed ones; and the columns left as read (empty in every row at fit)."""

    def __init__(self, method: str, names: Sequence, spec, *, skipped=(),
                 formats: Sequence | None = None) -> None:
        self.method, self.names, self.spec = method, list(names), spec
        self.skipped = list(skipped)
        self.formats = dict(zip(self.names, formats, strict=True)) if formats else {}
        kinds = {c: a.kind for a in spec for c in a.columns}
        self.numerical = [kinds[n] != "categorical" for n in self.names]
        self.counts = np.zeros(len(self.names), dtype=np.int64)
        self.ranges: dict = {}
        self.levels: dict = {}  # (column, "observed" | "imputed") -> {level: count}
        self.rows = 0
        self.markers = None
        #: an AutoImputer's choice per column (``chosen_``) and its validation
        #: error (``leaderboard_``), shown after the table; None for other methods
        self.chosen: dict | None = None
        self.errors: dict = {}

    def note_choice(self, est) -> None:
        """Keep what an estimator that chooses per column (``chosen_``) chose."""
        chosen = getattr(est, "chosen_", None)
        if not isinstance(chosen, dict):
            return
        self.chosen = dict(chosen)
        self.errors = {
            r["column"]: r["error"]
            for r in getattr(est, "leaderboard_", [])
            if r.get("imputer") == "auto"
        }

    def add(self, frame: pd.DataFrame, missing: np.ndarray, imputed) -> None:
        """Count a piece: its cells, which were ``missing``, the ``imputed`` piece."""
        self.rows += len(frame)
        left = np.isin(self.names, self.skipped)
        self.counts += (missing & ~left).sum(axis=0)
        for j, (name, num) in enumerate(zip(self.names, self.numerical, strict=True)):
            hole = missing[:, j] & ~left[j]
            if not num:
                for key, vals in (("observed", frame[name][~missing[:, j]]),
                                  ("imputed", imputed[name][hole])):
                    self._count((name, key), vals)
                continue
            if not pd.api.types.is_numeric_dtype(frame[name].dtype):
                continue  # e.g. datetimes: no range shown
            obs = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
            new = pd.to_numeric(imputed[name], errors="coerce").to_numpy(float)
            for key, vals in (("observed", obs[~missing[:, j]]),
                              ("imputed", new[hole])):
                vals = vals[~np.isnan(vals)]
                if len(vals):
                    self._widen((name, key), vals.min(), vals.max())

    def merge(self, other: Summary) -> None:
        """Add the counts, ranges and levels of another part of the same table."""
        self.rows += other.rows
        self.counts += other.counts
        for key, (lo, hi) in other.ranges.items():
            self._widen(key, lo, hi)
        for key, counts in other.levels.items():
            mine = self.levels.setdefault(key, {})
            for level, n in counts.items():
                mine[level] = mine.get(level, 0) + n

    def _widen(self, key, lo, hi) -> None:
        old = self.ranges.get(key, (np.inf, -np.inf))
        self.ranges[key] = (min(old[0], lo), max(old[1], hi))

    def _count(self, key, values: pd.Series) -> None:
        mine = self.levels.setdefault(key, {})
        for level, n in values.value_counts(dropna=True).items():
            mine[level] = mine.get(level, 0) + int(n)

    def print(self, out_path, seconds: float) -> None:
        print(
            f"{self.method}: imputed {int(self.counts.sum())} cells of {self.rows} "
            f"rows x {len(self.names)} columns in {seconds:.1f} s -> {out_path}"
        )
        if self.markers is not None:
            shown = ", ".join(repr(m) for m in sorted(self.markers))
            print(f"  missing markers: {shown} (unquoted fields)")
        print(f"  {'attribute':<24} {'kind':<12} {'imputed':>8}  "
              f"{'observed':<22} imputed")
        position = {n: j for j, n in enumerate(self.names)}
        for attr in self.spec:
            cols = [c for c in attr.columns if c in position]
            n = int(sum(self.counts[position[c]] for c in cols))
            name = str(attr.name) or f"(unnamed column {position[cols[0]] + 1})"
            line = f"  {name:<24} {attr.kind:<12} {n:>8}"
            if all(c in self.skipped for c in cols):
                line += ("  not imputed: empty in every row at fit, written back "
                         "as read")
            elif attr.kind == "categorical":
                line += "  " + _levels(self.levels.get((cols[0], "observed"), {}),
                                       self.levels.get((cols[0], "imputed"), {}))
            else:
                fmt = self.formats.get(cols[0])
                spans = []
                for key in ("observed", "imputed"):
                    parts = [self.ranges[c, key] for c in cols
                             if (c, key) in self.ranges]
                    spans.append(None if not parts else
                                 (min(p[0] for p in parts), max(p[1] for p in parts)))
                line += "  " + " ".join(f"{_span(sp, fmt):<22}" for sp in spans)
            print(line.rstrip())
        if self.chosen:
            print(f"  {'attribute':<24} chosen imputer (validation error)")
            for name, choice in self.chosen.items():
                err = self.errors.get(name, float("nan"))
                shown = "" if err != err else f" ({err:.3f})"
                print(f"  {str(name):<24} {choice}{shown}")
        if self.skipped:
            print(
                f"  {len(self.skipped)} column(s) empty in every row of the training "
                "file are not imputed (the Python API drops such a column unless "
                "keep_empty_features=True)"
            )


def _number(value, fmt) -> str:
    """A number as the output writes it: in the column's CSV format, else an
    integer as an integer."""
    if fmt is not None:
        return fmt.format(value)
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _span(span, fmt=None) -> str:
    # rounding is monotone: the written extremes are the extremes rounded
    if span is None:
        return "-"
    return f"[{_number(span[0], fmt)}, {_number(span[1], fmt)}]"


def _levels(observed: dict, imputed: dict) -> str:
    """Level counts of a categorical column, observed then imputed, the levels in
    the order of their observed counts (the most frequent first)."""
    order = sorted({*observed, *imputed}, key=lambda v: (-observed.get(v, 0), str(v)))

    def counts(table: dict) -> str:
        shown = [f"{level} {table.get(level, 0)}" for level in order[:SHOWN_LEVELS]]
        if len(order) > SHOWN_LEVELS:
            rest = sum(table.get(level, 0) for level in order[SHOWN_LEVELS:])
            shown.append(f"+{len(order) - SHOWN_LEVELS} more {rest}")
        return ", ".join(shown) if table else "-"

    return f"{counts(observed):<22} {counts(imputed)}"
