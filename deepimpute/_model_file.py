"""The command line's model file: a fitted imputer and what it needs to read files.

``deepimpute fit`` writes a :class:`ModelFile`; ``transform`` and ``sample`` read it
back. The file is a :mod:`deepimpute.persistence` file, which loads without running
code; a joblib pickle from an earlier version (or from elsewhere) is read only when
the caller trusts it (``--trust-pickle``), because loading a pickle can run any
code it names.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field

from . import persistence
from ._files import ColumnFormat, UserError
from .schema import ColumnSpec

__all__ = ["ModelFile"]

#: the layout of a model file's fields; 1 was the joblib dict of version 0.1
LAYOUT_VERSION = 2
#: bytes read to tell a text file (a CSV given as --model) from a model
_SNIFF_BYTES = 4096


def _is_text(start: bytes) -> bool:
    """Whether a file's first bytes are text (UTF-8, no control bytes but
    whitespace): a pickle starts with byte 0x80, a compressed one with binary."""
    if not start:
        return False
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 3:  # not just a character cut at the end
            return False
        text = start[: exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\r\n\t" for c in text)


@dataclass
class ModelFile:
    """What ``deepimpute fit`` saves.

    Attributes
    ----------
    method : str
        The ``--method`` name.
    estimator : BaseImputer
        The fitted imputer.
    spec : ColumnSpec
        The attribute description it was fitted with.
    format : {"csv", "parquet", "parquet-dataset"}
        The training input's format (the column types come from it).
    names : list of str
        The columns, in the model's order.
    formats : list of ColumnFormat or None
        CSV only: how each column's cells are read and written.
    markers : frozenset or None
        CSV only: the missing markers of the training file.
    sep, encoding : str or None
        CSV only: the training file's separator and encoding.
    """

    method: str
    estimator: object
    spec: ColumnSpec
    format: str
    names: list
    formats: list[ColumnFormat] | None = None
    markers: frozenset | None = None
    sep: str | None = None
    encoding: str | None = None
    version: int = field(default=LAYOUT_VERSION)

    def save(self, path) -> None:
        """Write the model file (atomically: a temporary file renamed at the end)."""
        persistence.save(self, path)

    @classmethod
    def load(cls, path, *, trust_pickle: bool = False, quiet: bool = False):
        """Read a model file; a pickle only with ``trust_pickle``. Errors the user
        can fix are :class:`~deepimpute._files.UserError` naming ``--model``."""
        if not os.path.exists(path):
            raise UserError(f"--model {path}: no such file")
        with open(path, "rb") as f:
            start = f.read(_SNIFF_BYTES)
        head = start[: len(persistence.MAGIC)]
        if head != persistence.MAGIC and _is_text(start):
            raise UserError(
                f"--model {path}: a text file (a CSV?), not a model file; --model "
                "takes the file written by deepimpute fit ... -o MODEL"
            )
        with warnings.catch_warnings(record=True) as caught:
            # e.g. "fitted on cuda:0, which is not available here; loaded on the CPU"
            warnings.simplefilter("always", UserWarning)
            if head == persistence.MAGIC:
                model = _read_model_file(path)
            elif trust_pickle:
                model = _read_pickle(path)
            else:
                raise UserError(
                    f"--model {path}: not a deepimpute model file; if it is a "
                    "pickle (joblib) you made yourself, --trust-pickle loads it: a "
                    "pickle can run any code while it loads, so never use it for a "
                    "file from someone else"
                )
        for w in caught if not quiet else []:
            print(f"deepimpute: note: --model {path}: {w.message}", file=sys.stderr)
        return model


def _read_model_file(path) -> ModelFile:
    try:
        model = persistence.load(path)
    except persistence.UntrustedModelError as exc:
        raise UserError(f"--model {path}: {exc}") from None
    except Exception as exc:  # a damaged or truncated file
        raise UserError(
            f"--model {path}: not a model file written by deepimpute fit "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(model, ModelFile) or model.version != LAYOUT_VERSION:
        raise UserError(f"--model {path}: not a model file written by deepimpute fit")
    return model


def _read_pickle(path) -> ModelFile:
    import joblib

    try:
        bundle = joblib.load(path)
    except Exception:  # any unpickling failure is a bad model file
        # (its exception, e.g. "IndexError: pop from empty list", tells a user
        # nothing about the file)
        raise UserError(
            f"--model {path}: neither a model file written by deepimpute fit nor a "
            "readable pickle (damaged, truncated, or another program's file)"
        ) from None
    if isinstance(bundle, ModelFile):
        return bundle
    if isinstance(bundle, dict) and bundle.get("version") == 1:  # 0.1's layout
        fields = {k: bundle.get(k) for k in _fields()}
        fields["version"] = LAYOUT_VERSION
        return ModelFile(**fields)
    raise UserError(f"--model {path}: not a model file written by deepimpute fit")


def _fields() -> list[str]:
    """The field names of :class:`ModelFile` but its version."""
    return [k for k in ModelFile.__dataclass_fields__ if k != "version"]
