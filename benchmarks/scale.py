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

    python -m benchmarks.scale --imputers mean vae sk-iterative-br --max-rows 100000
    python -m benchmarks.scale --quick --no-isolate
"""

from __future__ import annotations

import argparse
import resource
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from benchmarks._cli import RowWriter, add_common, parse_overrides, save_figure
from benchmarks.profiles import available, make_imputer
from benchmarks.run import RESULTS, PeakRSS, call_isolated
from deepimpute.imputers import budget_params

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"

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


def run_one(
    name: str,
    n_rows: int,
    seed: int,
    quick: bool,
    epochs: int | None,
    overrides: dict,
    device: str,
) -> dict:
    """One (imputer, size, seed) cell; returns its CSV row."""
    from deepimpute.datasets import make_mixed_data
    from deepimpute.metrics import score_imputation
    from deepimpute.missingness import simulate_missing

    data = make_mixed_data(n_rows, random_state=seed)
    X_miss, hidden = simulate_missing(
        data.frame, "mcar", 0.3, spec=data.spec, random_state=seed
    )
    imputer = make_imputer(name, quick=quick, seed=seed, device=device)
    configure(imputer, epochs=epochs, overrides=overrides, spec=data.spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notices of capped references
        warm_up(imputer)
        with PeakRSS() as fit_mem:
            t0 = time.perf_counter()
            imputer.fit(X_miss)
            t1 = time.perf_counter()
        with PeakRSS() as tr_mem:
            t2 = time.perf_counter()
            X_imp = imputer.transform(X_miss)
            t3 = time.perf_counter()
    scores = score_imputation(data.frame, X_imp, missing=hidden, spec=data.spec)
    n_epochs = getattr(imputer, "n_iter_", "")
    fit_s = t1 - t0
    return dict(
        imputer=name,
        n_rows=n_rows,
        seed=seed,
        quick=int(quick),
        status="ok",
        epochs=n_epochs,
        fit_seconds=fit_s,
        transform_seconds=t3 - t2,
        seconds_per_epoch=fit_s / n_epochs if n_epochs else "",
        fit_peak_mb=fit_mem.delta_mb,
        transform_peak_mb=tr_mem.delta_mb,
        # ru_maxrss is in KiB on Linux
        max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        input_mb=_frame_mb(X_miss),
        output_mb=_frame_mb(X_imp),
        nrmse_pooled_raw=scores["nrmse_pooled_raw"],
        pfc=scores["pfc"],
        realised_rate=float(hidden.mean()),
        device=getattr(imputer, "device_", "cpu"),
    )


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


def run_isolated(args: tuple, hard_limit: float) -> dict:
    """``run_one(*args)`` in a fresh process, stopped after ``hard_limit`` seconds."""
    try:
        row = call_isolated(run_one, args, hard_limit)
    except Exception as exc:  # recorded as the cell's error
        return dict(status="error", error=f"{type(exc).__name__}: {exc}")
    if row is None:
        return dict(status="timeout", error=f"stopped after {hard_limit:.0f} s")
    return row


def run(
    imputers,
    sizes,
    seeds,
    *,
    out: Path,
    quick: bool,
    epochs: int | None,
    budget: float,
    overrides: dict,
    device: str = "auto",
    isolate: bool = True,
    append: bool = False,
) -> list[dict]:
    rows = []
    desc = ";".join(f"{k}={v!r}" for k, v in sorted(overrides.items()))
    with RowWriter(out, FIELDS, append=append, brief=_brief) as writer:
        for name in imputers:
            over_budget = None
            for n in sizes:
                for seed in seeds:
                    base = dict(imputer=name, n_rows=n, seed=seed, quick=int(quick))
                    if over_budget is not None:
                        row = dict(
                            base,
                            status="skipped",
                            error=f"{over_budget} rows took longer than {budget:g} s",
                        )
                    else:
                        args = (name, n, seed, quick, epochs, overrides, device)
                        if isolate:
                            row = run_isolated(args, hard_limit=3 * budget)
                        else:
                            try:
                                row = run_one(*args)
                            except Exception as exc:
                                traceback.print_exc()
                                row = dict(
                                    status="error",
                                    error=f"{type(exc).__name__}: {exc}",
                                )
                        row = {**base, **row}
                        took = (
                            row["fit_seconds"] + row["transform_seconds"]
                            if row["status"] == "ok"
                            else np.inf
                        )
                        if took > budget:
                            over_budget = n
                    rows.append(writer.write({**row, "overrides": desc}))
    return rows


def _brief(row) -> str:
    head = f"{row['imputer']} n={row['n_rows']} seed={row['seed']}"
    if row["status"] != "ok":
        return f"{head}: {row['status']} {row.get('error', '')}"
    return (
        f"{head}: fit {row['fit_seconds']:.2f}s transform "
        f"{row['transform_seconds']:.2f}s fit+{row['fit_peak_mb']:.0f}MB "
        f"transform+{row['transform_peak_mb']:.0f}MB"
    )


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--imputers", nargs="*", help=f"from {available()}")
    p.add_argument(
        "--rows", nargs="*", type=float, help="sizes (default 1e3 1e4 1e5 1e6)"
    )
    p.add_argument("--max-rows", type=float, help="drop sizes above this")
    p.add_argument("--epochs", type=int, default=2, help="epochs per deep imputer")
    p.add_argument("--budget-seconds", type=float, default=600.0)
    add_common(p, seeds=(0,), quick="tiny sizes and epochs", overrides=True,
               figure=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-isolate", action="store_true", help="run cells in-process")
    p.add_argument(
        "--append", action="store_true", help="add rows to --out (larger sizes)"
    )
    p.add_argument(
        "--replot", action="store_true", help="only redraw and print from --out"
    )
    args = p.parse_args(argv)
    imputers = args.imputers or ["mean", "vae", "sk-iterative-br"]
    sizes = args.rows or ([200.0, 1000.0] if args.quick else [1e3, 1e4, 1e5, 1e6])
    if args.max_rows is not None:
        sizes = [n for n in sizes if n <= args.max_rows]
    sizes = sorted(int(n) for n in sizes)
    epochs = 1 if args.quick else args.epochs
    out = args.out or RESULTS / ("scale-quick.csv" if args.quick else "scale.csv")
    # the figure follows the CSV's name, so a run into another CSV (--append to
    # scale-all.csv) cannot overwrite the figure of scale.csv
    figure = args.figure or FIGURES / f"{out.stem}.png"
    if args.replot:
        rows = [{"status": "ok"}]
    else:
        rows = run(
            imputers,
            sizes,
            args.seeds,
            out=out,
            quick=args.quick,
            epochs=epochs,
            budget=args.budget_seconds,
            overrides=parse_overrides(args.set),
            device=args.device,
            isolate=not args.no_isolate,
            append=args.append,
        )
    if any(r["status"] == "ok" for r in rows):
        plot(out, figure)
        print("## Growth: slope of log(seconds) vs log(rows)\n")
        print(slopes(out))
        print("\n## Memory of transform against its input and output\n")
        print(memory_table(out))
        print(f"\nwrote {out} and {figure}")
    return 1 if any(r["status"] in ("error", "timeout") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
