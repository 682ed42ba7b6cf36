"""Peak memory of fit and transform against the table's size, by cardinality.

A table of ``n_rows`` rows: two correlated numerical columns and one categorical
column of ``cardinality`` categories (at ``cardinality == n_rows`` every value is
distinct: an identifier), 10 % of the cells MCAR missing. ``mean``
(``MeanModeImputer``) infers the spec, so an identifier is imputed by its mode
with a warning; the deep imputer (``vae``, one epoch) declares the categories in
its ``column_spec`` (the documented way to model such a column anyway: the rule
refuses an inferred one), so every cardinality trains and imputes.

Each point runs in a fresh process (peak resident memory from a clean
allocator). The columns set the peaks against the table: ``codes_mb`` is the
encoded numerical width (the column codes, ``n_rows x n_columns`` float64) and
``dense_view_mb`` what the model view expanded whole (one-hot values, element
and attribute masks in float32) would take: computed from the layout, the
memory the encoder held before the view was kept compact.

    python -m benchmarks.perf --suite categorical_memory
    python -m benchmarks.perf --suite categorical_memory --quick
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.perf import Benchmark

FIELDS = [
    "imputer",
    "cardinality",
    "n_rows",
    "seed",
    "quick",
    "status",
    "fit_seconds",
    "fit_peak_mb",
    "transform_seconds",
    "transform_peak_mb",
    "input_mb",
    "codes_mb",
    "dense_view_mb",
    "model_width",
    "fit_peak_over_codes",
    "transform_peak_over_codes",
    "versions",
    "error",
]

#: the deep imputer's settings: one epoch, small nets, few draws (the model's
#: own per-batch working memory is not what this suite measures)
DEEP = dict(max_iter=1, n_iter_no_change=None, validation_fraction=0.0,
            hidden=(16,), latent_dim=2, n_draws=10, batch_size=128,
            device="cpu")


def make_table(n_rows: int, cardinality: int, seed: int) -> pd.DataFrame:
    """Two numerical columns and a categorical one of ``cardinality`` labels that
    shifts the first (every label observed; all distinct at ``n_rows``)."""
    rng = np.random.default_rng(seed)
    if cardinality >= n_rows:
        codes = rng.permutation(n_rows)
    else:
        codes = np.concatenate(
            [np.arange(cardinality), rng.integers(0, cardinality, n_rows - cardinality)]
        )
        rng.shuffle(codes)
    shift = (codes % 7) / 3.0
    x = shift + rng.normal(size=n_rows)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": 0.8 * x + 0.3 * rng.normal(size=n_rows),
            "label": pd.array([f"L{k}" for k in codes], dtype="string"),
        }
    )
    for col in frame.columns:
        frame.loc[rng.random(n_rows) < 0.1, col] = pd.NA
    return frame


def _imputer(name: str, frame: pd.DataFrame):
    from deepimpute.imputers import MeanModeImputer, VAEImputer
    from deepimpute.schema import Categorical, ColumnSpec, Numerical

    if name == "mean":
        return MeanModeImputer()
    labels = tuple(frame["label"].dropna().unique())
    spec = ColumnSpec([Numerical("x"), Numerical("y"),
                       Categorical("label", categories=labels)])
    return VAEImputer(column_spec=spec, random_state=0, **DEEP)


def markdown(path: Path) -> str:
    """The committed rows as a Markdown table, with the largest ratio in words."""
    from benchmarks._markdown import table

    df = pd.read_csv(path)
    ok = df[df["status"] == "ok"]
    shown = ok[["imputer", "cardinality", "n_rows", "input_mb", "codes_mb",
                "dense_view_mb", "fit_peak_mb", "transform_peak_mb",
                "fit_peak_over_codes", "transform_peak_over_codes",
                "fit_seconds", "transform_seconds"]]
    lines = []
    for name, rows in ok.groupby("imputer", sort=False):
        phase = max(("fit", "transform"),
                    key=lambda f: rows[f"{f}_peak_over_codes"].max())
        worst = rows.loc[rows[f"{phase}_peak_over_codes"].idxmax()]
        lines.append(
            f"{name}: largest peak in {phase} at cardinality "
            f"{worst['cardinality']:,}, {worst[f'{phase}_peak_mb']:,.1f} MB "
            f"({worst[f'{phase}_peak_over_codes']:,.1f} times the column codes; "
            f"the whole dense model view: {worst['dense_view_mb']:,.0f} MB)."
        )
    return table(shown, digits=3) + "\n\n" + "\n\n".join(lines)


class CategoricalMemory(Benchmark):
    """Fit and transform of ``mean`` and ``vae`` on a table with one categorical
    column of each cardinality."""

    name = "categorical_memory"
    params = {"imputer": ["mean", "vae"], "cardinality": [10, 1000, 20_000],
              "n_rows": [20_000], "seed": [0]}
    quick = {"cardinality": [10, 2000], "n_rows": [2000]}
    types = {"cardinality": int, "n_rows": int}
    flags = {"imputer": "--imputers", "cardinality": "--cardinalities",
             "n_rows": "--rows"}
    fields = FIELDS
    out = "categorical_memory.csv"
    isolate = True

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-isolate", action="store_true",
                       help="run points in-process")

    @classmethod
    def resolve(cls, args, parser) -> None:
        bad = set(args.imputer) - {"mean", "vae"}
        if bad:
            parser.error(f"--imputers: mean or vae, not {sorted(bad)}")

    def __init__(self, args) -> None:
        super().__init__(args)
        self.isolate = not args.no_isolate

    def limit(self) -> float:
        return 1800.0

    def setup(self, imputer, cardinality, n_rows, seed) -> None:
        self.frame = make_table(n_rows, cardinality, seed)
        self.imputer = _imputer(imputer, self.frame)
        self._warm_up()

    def _warm_up(self) -> None:
        """Torch's lazy imports and first kernels, charged to no point."""
        from sklearn.base import clone

        small = make_table(64, 5, 1)
        warm = clone(self.imputer)
        if "column_spec" in warm.get_params() and warm.column_spec is not None:
            warm.set_params(column_spec=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm.fit(small).transform(small)

    def time_fit(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the identifier warning of "mean"
            self.imputer.fit(self.frame)

    peakmem_fit = time_fit

    def time_transform(self) -> None:
        self.out_frame = self.imputer.transform(self.frame)

    peakmem_transform = time_transform

    def track_sizes(self) -> dict:
        enc = self.imputer.encoder_
        n, p = self.frame.shape
        lay = enc.layout
        codes_mb = n * p * 8 / 2**20
        m = self.measured
        assert self.out_frame.notna().all().all()
        return dict(
            input_mb=float(self.frame.memory_usage(deep=True).sum()) / 2**20,
            codes_mb=codes_mb,
            dense_view_mb=n * (2 * lay.width + lay.n_attributes) * 4 / 2**20,
            model_width=lay.width,
            fit_peak_over_codes=m["fit_peak_mb"] / codes_mb,
            transform_peak_over_codes=m["transform_peak_mb"] / codes_mb,
        )

    def summary(self, out: Path) -> str:
        return markdown(out)
