"""Markdown formatting shared by the benchmark scripts and the report."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def table(df: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a Markdown table (floats rounded, NaN left blank).

    Parameters
    ----------
    df : DataFrame
        A named index is written as leading columns; column tuples are joined.
    digits : int, default=4
        Decimals of float cells.

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    cols = [" ".join(str(c) for c in col if str(c)) if isinstance(col, tuple)
            else str(col) for col in df.columns]
    # settings such as a rate 0.5, a learning rate 1e-3 or 60 epochs read as given
    plain = [pd.api.types.is_float_dtype(df[c])
             and bool((df[c].dropna() == df[c].dropna().round(3)).all())
             for c in df.columns]

    def fmt(v, plain: bool) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:g}" if plain else f"{v:.{digits}f}"
        return str(v)

    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(fmt(v, k) for v, k in zip(r, plain, strict=True))
             + " |" for r in df.itertuples(False)]
    return "\n".join(rows)


def mean_sd(values: Iterable[float], digits: int = 4) -> str:
    """``"mean ± sd"`` of the finite values (sample sd; the mean alone for one)."""
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    if v.empty:
        return ""
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"
