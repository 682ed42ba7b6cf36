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
    progress: Callable[[Piece], None] | None = None,
) -> Summary:
    """Impute every piece with ``est`` into ``sinks`` (one, or one per draw).

    ``names`` are the input's columns the model knows, in the input's order;
    ``model_names`` the model's (what ``est`` is given). Piece ``k`` draws with
    seed ``seed + k``. Returns the summary of what was imputed.
    """
    summary = Summary(method, names, spec)
    summary.note_choice(est)
    for piece in pieces:
        frame = piece.frame
        missing = frame[list(names)].isna().to_numpy()
        if missing.any():
            outs = impute_frame(est, path, frame, model_names, draws, seed + piece.k)
        else:
            outs = [frame] * max(1, draws)
        summary.add(frame[list(names)], missing, outs[0])
        for sink, out in zip(sinks, outs, strict=True):
            sink.write(piece, missing, out)
        if progress is not None:
            progress(piece)
    return summary


def impute_frame(est, path, frame, names, draws, seed) -> list[pd.DataFrame]:
    """``transform`` (or ``draws`` samples) of ``frame[names]``; an estimator's
    refusal is a :class:`UserError` naming the file."""
    try:
        if draws:
            outs = est.sample(frame[list(names)], n_draws=draws, random_state=seed)
        else:
            outs = [est.transform(frame[list(names)])]
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: {exc}") from None
    except NotImplementedError as exc:  # e.g. a method that cannot sample
        raise UserError(f"{path}: {exc}") from None
    for out in outs:  # a dtype the estimator cannot impute must not pass silently
        left = out[list(names)].isna().any()
        if left.any():
            col = left.index[left.to_numpy()][0]
            raise UserError(
                f"{path}: column {col!r} ({frame[col].dtype}): the {type(est).__name__}"
                " cannot impute this column's type; its missing cells stay missing"
            )
    return outs


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
class Summary:
    """Per attribute of the spec (a column, or an image): cells imputed, and for
    numerical columns the observed range beside the imputed range."""

    def __init__(self, method: str, names: Sequence, spec) -> None:
        self.method, self.names, self.spec = method, list(names), spec
        kinds = {c: a.kind for a in spec for c in a.columns}
        self.numerical = [kinds[n] != "categorical" for n in self.names]
        self.counts = np.zeros(len(self.names), dtype=np.int64)
        self.ranges: dict = {}
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
        self.rows += len(frame)
        self.counts += missing.sum(axis=0)
        for j, (name, num) in enumerate(zip(self.names, self.numerical, strict=True)):
            if not num:
                continue
            if not pd.api.types.is_numeric_dtype(frame[name].dtype):
                continue  # e.g. datetimes: no range shown
            obs = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
            new = pd.to_numeric(imputed[name], errors="coerce").to_numpy(float)
            for key, vals in (("observed", obs[~missing[:, j]]),
                              ("imputed", new[missing[:, j]])):
                vals = vals[~np.isnan(vals)]
                if len(vals):
                    self._widen((name, key), vals.min(), vals.max())

    def merge(self, other: Summary) -> None:
        """Add the counts and ranges of another part of the same table."""
        self.rows += other.rows
        self.counts += other.counts
        for key, (lo, hi) in other.ranges.items():
            self._widen(key, lo, hi)

    def _widen(self, key, lo, hi) -> None:
        old = self.ranges.get(key, (np.inf, -np.inf))
        self.ranges[key] = (min(old[0], lo), max(old[1], hi))

    def print(self, out_path, seconds: float) -> None:
        print(
            f"{self.method}: imputed {int(self.counts.sum())} cells of {self.rows} "
            f"rows x {len(self.names)} columns in {seconds:.1f} s -> {out_path}"
        )
        if self.markers is not None:
            shown = ", ".join(repr(m) for m in sorted(self.markers))
            print(f"  missing markers: {shown} (unquoted fields)")
        print(f"  {'attribute':<24} {'kind':<12} {'imputed':>8}  "
              f"{'observed range':<22} imputed range")
        position = {n: j for j, n in enumerate(self.names)}
        for attr in self.spec:
            cols = [c for c in attr.columns if c in position]
            n = int(sum(self.counts[position[c]] for c in cols))
            line = f"  {str(attr.name):<24} {attr.kind:<12} {n:>8}"
            if attr.kind != "categorical":
                spans = []
                for key in ("observed", "imputed"):
                    parts = [self.ranges[c, key] for c in cols
                             if (c, key) in self.ranges]
                    spans.append(None if not parts else
                                 (min(p[0] for p in parts), max(p[1] for p in parts)))
                line += "  " + " ".join(f"{_span(sp):<22}" for sp in spans)
            print(line.rstrip())
        if self.chosen:
            print(f"  {'attribute':<24} chosen imputer (validation error)")
            for name, choice in self.chosen.items():
                err = self.errors.get(name, float("nan"))
                shown = "" if err != err else f" ({err:.3f})"
                print(f"  {str(name):<24} {choice}{shown}")


def _span(span) -> str:
    return "-" if span is None else f"[{span[0]:.4g}, {span[1]:.4g}]"
