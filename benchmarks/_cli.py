"""What every benchmark command shares: its common flags and its CSV output.

``--seeds`` (a list of seeds), ``--quick`` (the command's reduced settings),
``--out`` (where the CSV goes), ``--set KEY=VALUE`` (estimator parameters) and
``--figure PATH`` are defined here once. ``--figure`` means one thing everywhere:
``--figure PATH`` draws the figure into PATH; without the flag, or with
``--figure ''``, no figure is drawn (no command has a default figure path, so none
overwrites a committed figure by accident), and :func:`save_figure` refuses a path
without a file name. :func:`write_rows` writes a finished result CSV and
:class:`RowWriter` streams one row by row as cells finish (one row per imputer and
cell, the estimator in the column ``imputer``, stamped with the library versions
and the host).
"""

from __future__ import annotations

import argparse
import ast
import csv
import platform
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

#: the repository root, and the folder of the committed result CSVs
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def add_common(
    parser: argparse.ArgumentParser,
    *,
    seeds: Sequence[int] | None = (0, 1, 2),
    out: Path | None = None,
    quick: str = "reduced settings (smoke run)",
    overrides: bool = False,
    figure: bool = False,
) -> argparse.ArgumentParser:
    """Add ``--seeds``, ``--quick``, ``--out`` (``--set``, ``--figure``) to ``parser``.

    Parameters
    ----------
    parser : ArgumentParser
        The script's parser.
    seeds : sequence of int or None, default=(0, 1, 2)
        The default of ``--seeds`` (each seed is one split and mask); None: no
        such flag (a performance grid declares its own ``--seeds``).
    out : Path, optional
        The default of ``--out``; None leaves the choice to the script.
    quick : str
        What ``--quick`` reduces, for the help text.
    overrides : bool, default=False
        Also add ``--set KEY=VALUE`` (read with :func:`parse_overrides`).
    figure : bool, default=False
        Also add ``--figure PATH`` (read with :func:`figure_path`: absent or ``''``
        is None, no figure).

    Returns
    -------
    ArgumentParser
        ``parser``, for chaining.
    """
    if seeds is not None:
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
    if figure:
        parser.add_argument("--figure", type=figure_path, default=None,
                            metavar="PATH",
                            help="draw the figure into PATH (default: no figure)")
    return parser


def figure_path(value: str | Path | None) -> Path | None:
    """``--figure``'s value: a path to draw into, or None (absent or ``''``).

    Raises
    ------
    argparse.ArgumentTypeError
        For a path without a file name and suffix (``.``, ``dir/``, ``.png``).
    """
    if value is None or str(value).strip() == "":
        return None
    path = Path(value)
    if not path.stem or path.stem.startswith(".") or not path.suffix:
        raise argparse.ArgumentTypeError(
            f"--figure {str(value)!r}: give a file name with a suffix, e.g. "
            "docs/figures/name.png, or '' for no figure"
        )
    return path


def save_figure(fig, path: Path | None, dpi: int = 120) -> Path | None:
    """Lay out, save (creating the folder) and close a matplotlib figure.

    The one place a benchmark writes a figure: ``path`` None (``--figure`` absent
    or ``''``) closes the figure unsaved; a path without a file name is an error,
    never a file named ``.png``.
    """
    import matplotlib.pyplot as plt

    if path is None:
        plt.close(fig)
        return None
    try:
        path = figure_path(path)
    except argparse.ArgumentTypeError as exc:
        plt.close(fig)
        raise ValueError(str(exc)) from None
    if fig.get_layout_engine() is None:  # a figure may bring its own layout
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


def check_imputers(parser: argparse.ArgumentParser, names: Iterable[str],
                   flag: str = "--imputers") -> list[str]:
    """``names`` when each is an imputer of :mod:`benchmarks.profiles`; else a usage
    error listing the valid names."""
    from benchmarks.profiles import available

    names = list(names)
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"{flag}: unknown {unknown}; choose from {available()}")
    return names


def checked_overrides(parser: argparse.ArgumentParser, pairs,
                      imputers: Iterable[str] | None = None) -> dict:
    """:func:`parse_overrides` of ``--set``; a malformed pair, or (given the run's
    ``imputers``) a name that none of them has, is a usage error listing theirs.

    A name some of the imputers lack is set where present (``--set max_iter=300``
    beside ``mean``), so a misspelled name is caught only when no imputer has it.
    """
    try:
        overrides = parse_overrides(pairs)
    except ValueError as exc:
        parser.error(str(exc))
    if overrides and imputers is not None:
        from benchmarks.profiles import parameter_names

        valid = set().union(*(parameter_names(n) for n in imputers))
        unknown = sorted(set(overrides) - valid)
        if unknown:
            parser.error(f"--set: no imputer of this run ({' '.join(imputers)}) "
                         f"has the parameter(s) {unknown}; theirs: {sorted(valid)}")
    return overrides
