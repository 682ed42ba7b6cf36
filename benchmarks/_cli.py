"""What every benchmark script shares: its common flags and its CSV output.

``--seeds`` (a list of seeds), ``--quick`` (the script's reduced settings), ``--out``
(where the CSV goes) and ``--set KEY=VALUE`` (estimator parameters) are defined
here once; :func:`write_rows` writes a finished result CSV and :class:`RowWriter`
streams one row by row as cells finish (one row per imputer and cell, the estimator
in the column ``imputer``, stamped with the library versions and the host).
"""

from __future__ import annotations

import argparse
import ast
import csv
import platform
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path


def add_common(
    parser: argparse.ArgumentParser,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    out: Path | None = None,
    quick: str = "reduced settings (smoke run)",
    overrides: bool = False,
    figure: Path | None | bool = False,
) -> argparse.ArgumentParser:
    """Add ``--seeds``, ``--quick``, ``--out`` (``--set``, ``--figure``) to ``parser``.

    Parameters
    ----------
    parser : ArgumentParser
        The script's parser.
    seeds : sequence of int, default=(0, 1, 2)
        The default of ``--seeds`` (each seed is one split and mask).
    out : Path, optional
        The default of ``--out``; None leaves the choice to the script.
    quick : str
        What ``--quick`` reduces, for the help text.
    overrides : bool, default=False
        Also add ``--set KEY=VALUE`` (read with :func:`parse_overrides`).
    figure : Path or None or False, default=False
        Also add ``--figure PATH`` with this default (False: no such flag).

    Returns
    -------
    ArgumentParser
        ``parser``, for chaining.
    """
    parser.add_argument("--seeds", nargs="+", type=int, default=list(seeds),
                        help=f"seeds (default {' '.join(map(str, seeds))})")
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--out", type=Path, default=out,
                        help="output CSV" + (f" (default {out})" if out else ""))
    if overrides:
        parser.add_argument(
            "--set", nargs="+", default=[], metavar="KEY=VALUE",
            help="estimator parameters, applied where accepted (e.g. max_iter=300)",
        )
    if figure is not False:
        parser.add_argument("--figure", type=Path, default=figure,
                            help="figure path" + (f" (default {figure})" if figure
                                                  else ""))
    return parser


def save_figure(fig, path: Path, dpi: int = 120) -> Path:
    """Lay out, save (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def parse_overrides(pairs: Iterable[str] | None) -> dict:
    """``["n_draws=100", "hidden=(32,)"]`` -> dict, values read as literals.

    A value that is not a Python literal stays a string (``numerical=huber``).
    """
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def write_rows(
    path: Path,
    rows: Sequence[dict],
    fields: Sequence[str] | None = None,
    *,
    append: bool = False,
) -> Path:
    """Write ``rows`` as CSV (a header unless appending to an existing file).

    Parameters
    ----------
    path : Path
        The CSV; its folder is created.
    rows : sequence of dict
        One dict per row; a missing field is written empty.
    fields : sequence of str, optional
        Column order; default the first row's keys.
    append : bool, default=False
        Add to an existing file instead of replacing it.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    fields = list(fields or rows[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    header = not (append and path.exists())
    with path.open("a" if append else "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n",
                                extrasaction="ignore")
        if header:
            writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in fields} for r in rows)
    return path


def versions() -> str:
    """The library versions a row was measured with, as one string."""
    import numpy
    import pandas
    import sklearn
    import torch

    import deepimpute

    return (
        f"deepimpute={deepimpute.__version__};torch={torch.__version__};"
        f"sklearn={sklearn.__version__};pandas={pandas.__version__};"
        f"numpy={numpy.__version__};python={platform.python_version()}"
    )


class RowWriter:
    """Stream result rows to a CSV as they finish, so a stopped run keeps them.

    Each row is stamped with ``versions`` and ``host``, written (a missing field
    empty), flushed, and announced on stderr with ``brief(row)``.

    Parameters
    ----------
    path : Path
        The CSV; its folder is created.
    fields : sequence of str
        Column order.
    append : bool, default=False
        Add to an existing file (a header only when it is new or empty).
    brief : callable, optional
        ``row -> str``, the progress line; none when omitted.
    """

    def __init__(self, path: Path, fields: Sequence[str], *, append: bool = False,
                 brief: Callable[[dict], str] | None = None) -> None:
        self.path, self.fields, self.append, self.brief = (
            Path(path), list(fields), append, brief
        )

    def __enter__(self) -> RowWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = (not self.append or not self.path.exists()
                 or self.path.stat().st_size == 0)
        self._fh = self.path.open("a" if self.append else "w", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=self.fields,
                                      lineterminator="\n", extrasaction="ignore")
        if fresh:
            self._writer.writeheader()
        self._stamp = dict(versions=versions(), host=platform.node())
        return self

    def write(self, row: dict) -> dict:
        """Write one row (stamped); return it as written."""
        row = {**row, **self._stamp}
        self._writer.writerow({k: row.get(k, "") for k in self.fields})
        self._fh.flush()
        if self.brief is not None:
            print(self.brief(row), file=sys.stderr)
        return row

    def __exit__(self, *exc) -> None:
        self._fh.close()
