"""Wall time and peak memory of fit and transform against the number of rows.

For each imputer and each size ``n`` a synthetic mixed table with known structure
(:func:`deepimpute.datasets.make_mixed_data`, 4 numerical + 3 categorical columns
driven by 2 latent factors) gets MCAR 0.3 cells hidden; the imputer is fitted on the
``n`` rows and then transforms the same ``n`` rows. Deep imputers train a fixed number
of epochs (early stopping off), so their time per epoch is comparable across sizes.

Each cell runs in a fresh Python process by default, so the peak resident memory of
one cell is not hidden by memory an earlier cell left to the allocator. Once an
imputer's cell takes longer than ``--budget-seconds`` (fit + transform), its larger
sizes are skipped and recorded with ``status=skipped``; a cell still running at three
times the budget is stopped (``status=timeout``).

Prints the slope of log(time) against log(rows) per imputer (1 = linear growth) and
the transform memory against the size of the input and output tables, which checks
that ``transform`` streams in batches: its peak should grow with the tables, not
with the model's per-row working memory.

    python -m benchmarks.perf --suite scale --imputers mean vae sk-iterative-br \
        --max-rows 100000
    python -m benchmarks.perf --suite scale --quick --no-isolate
"""

from __future__ import annotations

import argparse
import resource
import warnings
from pathlib import Path

import numpy as np

from benchmarks._cli import check_imputers, save_figure
from benchmarks.perf import Benchmark
from benchmarks.profiles import make_imputer
from deepimpute.imputers import budget_params

FIELDS = [
    "imputer",
    "n_rows",
    "seed",
    "quick",
    "status",
    "epochs",
    "fit_seconds",
    "transform_seconds",
    "seconds_per_epoch",
    "fit_peak_mb",
    "transform_peak_mb",
    "max_rss_mb",
    "input_mb",
    "output_mb",
    "nrmse_pooled_raw",
    "pfc",
    "realised_rate",
    "device",
    "overrides",
    "versions",
    "host",
    "error",
]


def configure(imputer, *, epochs: int | None, overrides: dict, spec=None):
    """Fix the epochs of a deep imputer and apply the parameters it accepts."""
    from deepimpute.imputers import BaseDeepImputer

    params = imputer.get_params()
    if spec is not None and "column_spec" in params:
        imputer.set_params(column_spec=spec)
    fixed = {}
    if isinstance(imputer, BaseDeepImputer) and epochs is not None:
        # a fixed budget of epochs: no early stopping, no validation split
        fixed = dict(max_iter=epochs, n_iter_no_change=None, validation_fraction=0.0)
    fixed.update(overrides)
    # ``n_draws`` is a budget: capped, so RVI's and MisGAN's few draws stay
    imputer.set_params(**budget_params(type(imputer), fixed))
    return imputer


def _frame_mb(frame) -> float:
    return float(frame.memory_usage(deep=True, index=True).sum()) / 2**20


def warm_up(imputer) -> None:
    """Fit and transform a copy on 64 rows first, so that one-time costs (lazy
    imports, torch's first kernels, thread pools) are not charged to the size."""
    from sklearn.base import clone

    from deepimpute.datasets import make_mixed_data
    from deepimpute.missingness import simulate_missing

    small = make_mixed_data(64, random_state=0)
    X, _ = simulate_missing(small.frame, "mcar", 0.3, spec=small.spec, random_state=0)
    warm = clone(imputer)
    params = warm.get_params()
    reset = dict(max_iter=1, column_spec=small.spec, callback=None)
    warm.set_params(**{k: v for k, v in reset.items() if k in params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm.fit(X).transform(X)


def _rows(value: str) -> int:
    return int(float(value))


class Scale(Benchmark):
    """Fit and transform of each imputer on ``n_rows`` rows of the mixed table.

    A point that takes longer than ``--budget-seconds`` (fit + transform, or fails)
    skips the imputer's larger sizes; an isolated point (the default) is stopped at
    three times the budget.
    """

    name = "scale"
    params = {"imputer": ["mean", "vae", "sk-iterative-br"],
              "n_rows": [1000, 10_000, 100_000, 1_000_000], "seed": [0]}
    quick = {"n_rows": [200, 1000]}
    types = {"n_rows": _rows}
    flags = {"imputer": "--imputers", "n_rows": "--rows"}
    overrides = True
    fields = FIELDS
    out = "scale.csv"
    isolate = True

    @classmethod
    def add_arguments(cls, p: argparse.ArgumentParser) -> None:
        p.add_argument("--max-rows", type=float, help="drop sizes above this")
        p.add_argument("--epochs", type=int, default=2, help="epochs per deep imputer")
        p.add_argument("--budget-seconds", type=float, default=600.0)
        p.add_argument("--device", default="auto")
        p.add_argument("--no-isolate", action="store_true",
                       help="run cells in-process")

    @classmethod
    def resolve(cls, args, parser) -> None:
        check_imputers(parser, args.imputer)
        if args.max_rows is not None:
            args.n_rows = [n for n in args.n_rows if n <= args.max_rows]
        args.n_rows = sorted(args.n_rows)
        if args.quick:
            args.epochs = 1

    def __init__(self, args) -> None:
        super().__init__(args)
        self.isolate = not args.no_isolate
        self.over_budget: dict[str, int] = {}

    def constants(self) -> dict:
        return {"overrides": ";".join(
            f"{k}={v!r}" for k, v in sorted(self.args.overrides.items()))}

    def limit(self) -> float:
        return 3 * self.args.budget_seconds

    def skip(self, point) -> str | None:
        n = self.over_budget.get(point["imputer"])
        if n is None:
            return None
        return f"{n} rows took longer than {self.args.budget_seconds:g} s"

    def done(self, point, rows) -> None:
        row = rows[0]
        took = (row["fit_seconds"] + row["transform_seconds"]
                if row["status"] == "ok" else np.inf)
        if took > self.args.budget_seconds and point["imputer"] not in self.over_budget:
            self.over_budget[point["imputer"]] = point["n_rows"]

    def setup(self, imputer: str, n_rows: int, seed: int) -> None:
        from deepimpute.datasets import make_mixed_data
        from deepimpute.missingness import simulate_missing

        self.data = make_mixed_data(n_rows, random_state=seed)
        self.X_miss, self.hidden = simulate_missing(
            self.data.frame, "mcar", 0.3, spec=self.data.spec, random_state=seed
        )
        self.imputer = make_imputer(imputer, quick=self.args.quick, seed=seed,
                                    device=self.args.device)
        configure(self.imputer, epochs=self.args.epochs,
                  overrides=self.args.overrides, spec=self.data.spec)
        warm_up(self.imputer)

    def time_fit(self) -> None:
        self.imputer.fit(self.X_miss)

    peakmem_fit = time_fit

    def time_transform(self) -> None:
        self.X_imp = self.imputer.transform(self.X_miss)

    peakmem_transform = time_transform

    def track_result(self) -> dict:
        from deepimpute.metrics import score_imputation

        scores = score_imputation(self.data.frame, self.X_imp, missing=self.hidden,
                                  spec=self.data.spec)
        n_epochs = getattr(self.imputer, "n_iter_", "")
        fit_s = self.measured["fit_seconds"]
        return dict(
            epochs=n_epochs,
            seconds_per_epoch=fit_s / n_epochs if n_epochs else "",
            max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            input_mb=_frame_mb(self.X_miss),
            output_mb=_frame_mb(self.X_imp),
            nrmse_pooled_raw=scores["nrmse_pooled_raw"],
            pfc=scores["pfc"],
            realised_rate=float(self.hidden.mean()),
            device=getattr(self.imputer, "device_", "cpu"),
        )

    def summary(self, out: Path) -> str:
        return ("## Growth: slope of log(seconds) vs log(rows)\n\n" + slopes(out)
                + "\n\n## Memory of transform against its input and output\n\n"
                + memory_table(out))

    def figure(self, out: Path, path: Path) -> None:
        plot(out, path)


def _ok(csv_path: Path):
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[df["status"] == "ok"].copy()
    df["total_seconds"] = df["fit_seconds"] + df["transform_seconds"]
    return df


def slopes(csv_path: Path) -> str:
    """Markdown: slope of log(seconds) vs log(rows) per imputer, over all sizes and
    over the two largest (the asymptotic rate, less blurred by fixed costs)."""
    df = _ok(csv_path)
    lines = [
        "| imputer | sizes | fit slope | transform slope | fit slope (2 largest) | "
        "s/epoch at largest |",
        "|---|---|---|---|---|---|",
    ]
    for name, g in df.groupby("imputer", sort=False):
        m = g.groupby("n_rows")[
            ["fit_seconds", "transform_seconds", "seconds_per_epoch"]
        ].mean()
        m = m.apply(lambda s: s.astype(float))
        cells = []
        for col, last in (
            ("fit_seconds", None),
            ("transform_seconds", None),
            ("fit_seconds", 2),
        ):
            s = m[col].iloc[-last:] if last else m[col]
            s = s[s > 0]
            cells.append(
                f"{np.polyfit(np.log(s.index), np.log(s.values), 1)[0]:.2f}"
                if len(s) >= 2
                else ""
            )
        spe = m["seconds_per_epoch"].iloc[-1]
        cells.append(f"{spe:.3g}" if np.isfinite(spe) else "")
        sizes = ", ".join(str(int(n)) for n in m.index)
        lines.append(f"| {name} | {sizes} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_table(csv_path: Path) -> str:
    """Markdown: transform peak memory beside the input and output table sizes."""
    df = _ok(csv_path)
    cols = ["transform_peak_mb", "input_mb", "output_mb", "fit_peak_mb", "max_rss_mb"]
    m = df.groupby(["imputer", "n_rows"], sort=False)[cols].mean().reset_index()
    lines = [
        "| imputer | rows | transform peak (MB) | input (MB) | output (MB) | "
        "peak / (in+out) | fit peak (MB) | process max RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in m.itertuples():
        ratio = r.transform_peak_mb / max(r.input_mb + r.output_mb, 1e-9)
        lines.append(
            f"| {r.imputer} | {int(r.n_rows)} | {r.transform_peak_mb:.1f} | "
            f"{r.input_mb:.1f} | {r.output_mb:.1f} | {ratio:.2f} | "
            f"{r.fit_peak_mb:.1f} | {r.max_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def plot(csv_path: Path, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = _ok(csv_path)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, (name, g) in enumerate(df.groupby("imputer", sort=False)):
        m = g.groupby("n_rows")[
            ["fit_seconds", "transform_seconds", "fit_peak_mb", "transform_peak_mb"]
        ].mean()
        color = f"C{k}"
        ax_t.plot(m.index, m["fit_seconds"], "o-", color=color, label=f"{name} fit")
        ax_t.plot(
            m.index,
            m["transform_seconds"],
            "s--",
            color=color,
            label=f"{name} transform",
        )
        # a delta of RSS can be ~0 for tiny tables: floor it for the log axis
        ax_m.plot(
            m.index,
            m["fit_peak_mb"].clip(lower=0.1),
            "o-",
            color=color,
            label=f"{name} fit",
        )
        ax_m.plot(
            m.index,
            m["transform_peak_mb"].clip(lower=0.1),
            "s--",
            color=color,
            label=f"{name} transform",
        )
    io = df.groupby("n_rows")[["input_mb", "output_mb"]].mean().sum(axis=1)
    ax_m.plot(io.index, io.values, "k:", label="input + output tables")
    ax_m.legend(fontsize=7)
    for ax, title, unit in (
        (ax_t, "wall time", "seconds"),
        (ax_m, "peak memory above the start of the call", "MB"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows (mixed table, 7 columns, MCAR 0.3)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=7)
    save_figure(fig, figure)
