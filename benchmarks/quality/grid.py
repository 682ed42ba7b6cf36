"""The runner's own table protocol: datasets x mechanisms x rates x imputers x seeds.

Per seed, shuffle the rows and split them 70 / 10 / 20 into train / validation /
test (:func:`split`); hide cells with the mechanism at the rate (one mask per seed
over the whole table); fit on the train+validation rows (deep imputers hold out the
validation share for early stopping, on their own loss, never on ground truth);
transform the test rows; score the test rows' hidden cells
(:func:`deepimpute.metrics.score_imputation`). A paper's table is a grid suite
(:data:`GRIDS`) and its configurations are named imputers
(:mod:`benchmarks.profiles`).

Every finished cell is one CSV row (metrics, fit/transform seconds, peak memory,
epochs, device, versions, or the error text); cells already in the CSV are skipped,
so an interrupted run resumes. ``--by-column`` prints the per-column NRMSE of the
same cells instead (a diagnostic; writes nothing).

    python -m benchmarks.run --suite uci-mcar --seeds 0 1 2
    python -m benchmarks.run --datasets yeast --imputers mean vsae --quick
    python -m benchmarks.run --suite dlvm --seeds 0 --set max_iter=300
    python -m benchmarks.run --datasets spam --rates 0.5 --imputers mean vsae \
        --seeds 0 --by-column
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks._cli import (
    RESULTS,
    RowWriter,
    add_common,
    check_imputers,
    checked_overrides,
)
from benchmarks._measure import PeakRSS
from benchmarks.data import load
from benchmarks.profiles import SWEEP, SWEEP_PREFIX, make_imputer

#: the grid suites, after the papers' tables: datasets, mechanisms, rates and the
#: default imputers of each (``rates`` may be ``{dataset: rates}``)
GRIDS: dict[str, dict] = {
    "uci-mcar": dict(  # VSAE Table 6
        datasets=["yeast", "white_wine", "mushroom", "phishing", "heart"],
        mechanisms=["mcar"],
        rates=[0.5],
    ),
    "uci-nonmcar": dict(  # VSAE Table 5
        datasets=["yeast", "white_wine"],
        mechanisms=["mar", "mnar_self"],
        rates=[0.5],
    ),
    "uci-rates": dict(
        datasets=["yeast", "white_wine"], mechanisms=["mcar"], rates=[0.3, 0.5, 0.7]
    ),
    "peers": dict(  # diabetes at 30 %, the latent-factor table at 50 %
        datasets=["diabetes", "latent_factor"],
        mechanisms=["mcar"],
        rates={"diabetes": [0.3], "latent_factor": [0.5]},
    ),
    "dlvm": dict(  # the deep baselines of VSAE's appendix (`*-dlvm` imputers)
        datasets=["yeast", "white_wine"],
        mechanisms=["mcar", "mar", "mnar_self"],
        rates=[0.5],
        imputers=["mean", "ae-dlvm", "vae-dlvm", "cvae-dlvm", "hivae-dlvm",
                  "miwae-dlvm"],
    ),
    "factvae-uci": dict(  # factVAE and its variants on the UCI tables
        datasets=["yeast", "white_wine", "heart"],
        mechanisms=["mcar"],
        rates=[0.5],
        imputers=["mean", "factvae-rowprior", "factvae-gap0.5",
                  "factvae-learnedscale"],
    ),
    "defaults": dict(  # every imputer as constructed, every table the loaders offer
        datasets=["yeast", "red_wine", "white_wine", "mushroom", "phishing", "heart",
                  "letter", "spam", "adult_10k", "credit_default_10k"],
        mechanisms=["mcar"],
        rates=[0.2, 0.5],
        imputers=["mean", "vsae-default", "rvi-default", "factvae-default"],
    ),
    "vsae-sweep": dict(  # VSAE settings one or two at a time (profiles.SWEEP)
        datasets=["yeast", "white_wine", "heart"],
        mechanisms=["mcar"],
        rates=[0.5],
        imputers=[SWEEP_PREFIX + name for name in SWEEP],
    ),
    "smoke": dict(datasets=["yeast"], mechanisms=["mcar"], rates=[0.5]),
    # AutoImputer at its default budget beside the single imputers the defaults
    # and modern-peers CSVs lack (same runner, masks and seeds: one comparison,
    # benchmarks.quality.auto)
    "auto": dict(
        datasets=["heart", "yeast", "red_wine", "white_wine"],
        mechanisms=["mcar"],
        rates=[0.2, 0.5],
        imputers=["mice", "missforest", "miwae-default", "auto"],
    ),
}
#: the imputers of a grid suite that names none
DEFAULT_IMPUTERS = ["mean", "sk-iterative-br", "sk-iterative-rf"]

FIELDS = [
    "dataset",
    "mechanism",
    "rate",
    "imputer",
    "seed",
    "quick",
    "status",
    "nrmse_pooled_raw",
    "nrmse_pooled_std",
    "nrmse_per_feature",
    "pfc",
    "image_mse",
    "n_numerical",
    "n_categorical",
    "realised_rate",
    "fit_seconds",
    "transform_seconds",
    "peak_rss_mb",
    "epochs",
    "device",
    "n_train",
    "n_test",
    "versions",
    "host",
    "error",
]


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """70 % train + 10 % validation (fitted together) and 20 % test rows."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(0.2 * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def run_cell(data, mechanism, rate, imputer_name, seed, quick, **options) -> dict:
    """One cell of the protocol, scored: the CSV row (without versions and host).

    ``options`` (``device``, ``callback``, ``overrides``) go to :func:`impute_cell`.
    """
    from deepimpute.metrics import score_imputation

    row = dict(
        dataset=data.name,
        mechanism=mechanism,
        rate=rate,
        imputer=imputer_name,
        seed=seed,
        quick=int(quick),
    )
    cell = impute_cell(data, mechanism, rate, imputer_name, seed, quick, **options)
    scores = score_imputation(
        cell["X_true"], cell["X_imputed"], missing=cell["missing"], spec=data.spec
    )
    row.update({k: scores.get(k) for k in FIELDS if k in scores})
    row.update(status="ok", **cell["stats"])
    return row


def impute_cell(
    data,
    mechanism: str,
    rate: float,
    imputer_name: str,
    seed: int,
    quick: bool,
    device: str = "auto",
    callback=None,
    overrides: dict | None = None,
) -> dict:
    """Mask, split, fit on the training rows and impute the test rows of one cell.

    Returns the test rows' truth (``X_true``), imputation (``X_imputed``) and
    scored cells (``missing``), the training rows as fitted (``X_fit``) and
    ``stats``: the CSV fields of timing, memory, epochs, device and sizes.
    ``overrides`` are imputer parameters set over the profile's.
    """
    from deepimpute.missingness import simulate_missing

    X = data.frame
    X_miss, hidden = simulate_missing(
        X, mechanism, rate, spec=data.spec, random_state=seed
    )
    fit_rows, test_rows = split(len(X), seed)
    if quick:  # a smoke run: at most 600 training rows
        fit_rows = fit_rows[:600]
    imputer = make_imputer(
        imputer_name,
        quick=quick,
        seed=seed,
        device=device,
        validation_fraction=0.125,
        data=data,
        overrides=overrides,
    )
    if "column_spec" in imputer.get_params():
        imputer.set_params(column_spec=data.spec)
    if "handle_unknown" in imputer.get_params():
        # a rare category may reach the test rows only (adult's workclass)
        imputer.set_params(handle_unknown="missing")
    if callback is not None and "callback" in imputer.get_params():
        imputer.set_params(callback=callback)
    X_fit, X_test = X_miss.iloc[fit_rows], X_miss.iloc[test_rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notices of capped references
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            imputer.fit(X_fit)
            t1 = time.perf_counter()
            X_imp = imputer.transform(X_test)
            t2 = time.perf_counter()
    stats = dict(
        realised_rate=float(hidden.mean()),
        fit_seconds=t1 - t0,
        transform_seconds=t2 - t1,
        peak_rss_mb=mem.delta_mb,
        epochs=getattr(imputer, "n_iter_", ""),
        device=getattr(imputer, "device_", "cpu"),
        n_train=len(fit_rows),
        n_test=len(test_rows),
    )
    return dict(
        X_true=X.iloc[test_rows],
        X_imputed=X_imp,
        missing=hidden[test_rows],
        X_fit=X_fit,
        stats=stats,
    )


def _key(row) -> tuple:
    return (
        row["dataset"],
        row["mechanism"],
        f"{float(row['rate']):g}",
        row["imputer"],
        str(row["seed"]),
        str(row["quick"]),
    )


def run(
    datasets,
    mechanisms,
    rates,
    imputers,
    seeds,
    *,
    out: Path,
    quick: bool,
    device: str = "auto",
    overrides: dict | None = None,
) -> list[dict]:
    """Run every missing cell, appending rows to ``out``; ``rates`` is a list or a
    ``{dataset: rates}`` dict (a dataset absent from it runs no cell); ``overrides``
    are imputer parameters over the profiles' (name the CSV after them)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        with out.open() as fh:
            done = {_key(r) for r in csv.DictReader(fh) if r["status"] == "ok"}
    rows = []
    with RowWriter(out, FIELDS, append=True, brief=_brief) as writer:
        for dname in datasets:
            data = load(dname)
            cell_rates = rates.get(dname, []) if isinstance(rates, dict) else rates
            for mech in mechanisms:
                for rate in cell_rates:
                    for imp in imputers:
                        for seed in seeds:
                            key = (
                                data.name,
                                mech,
                                f"{rate:g}",
                                imp,
                                str(seed),
                                str(int(quick)),
                            )
                            if key in done:
                                continue
                            try:
                                row = run_cell(
                                    data, mech, rate, imp, seed, quick,
                                    device=device, overrides=overrides,
                                )
                            except Exception as exc:  # recorded, never swallowed
                                row = dict(
                                    dataset=data.name,
                                    mechanism=mech,
                                    rate=rate,
                                    imputer=imp,
                                    seed=seed,
                                    quick=int(quick),
                                    status="error",
                                    error=f"{type(exc).__name__}: {exc}",
                                )
                                traceback.print_exc()
                            rows.append(writer.write(row))
    return rows


def _brief(row) -> str:
    if row["status"] != "ok":
        return f"{row['dataset']} {row['imputer']} seed={row['seed']}: {row['error']}"
    vals = " ".join(
        f"{k}={row[k]:.4f}"
        for k in ("nrmse_pooled_raw", "nrmse_per_feature", "pfc")
        if isinstance(row.get(k), float) and np.isfinite(row[k])
    )
    return (
        f"{row['dataset']} {row['mechanism']}@{row['rate']} {row['imputer']} "
        f"seed={row['seed']}: {vals} fit={row['fit_seconds']:.1f}s"
    )


def summarize(
    csv_path: Path,
    metrics=(
        "nrmse_pooled_raw", "nrmse_per_feature", "pfc", "image_mse", "fit_seconds"
    ),
) -> str:
    """Markdown table: mean ± std over seeds per (dataset, mechanism, rate, imputer).

    Metrics no finished run has (e.g. PFC on numerical tables) are left out.
    """
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[df["status"] == "ok"]
    if df.empty:
        return "(no finished runs)"
    metrics = tuple(m for m in metrics if m in df and df[m].notna().any())
    keys = ["dataset", "mechanism", "rate", "imputer", "quick"]
    # cost relative to MissForest fitted on the same cell (same split and mask)
    df = df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])
    cell = ["dataset", "mechanism", "rate", "seed", "quick"]
    ref = df[df["imputer"] == "missforest"].set_index(cell)["seconds"]
    if len(ref) and "time_vs_missforest" not in metrics:
        df = df.join(ref.rename("mf_seconds"), on=cell)
        df["time_vs_missforest"] = df["seconds"] / df["mf_seconds"]
        metrics = (*metrics, "time_vs_missforest")
    lines = [
        "| dataset | mechanism | rate | imputer | seeds | "
        + " | ".join(metrics)
        + " |",
        "|" + "---|" * (5 + len(metrics)),
    ]
    for key, g in df.groupby(keys, sort=True):
        cells = []
        for m in metrics:
            v = pd.to_numeric(g[m], errors="coerce").dropna()
            cells.append(
                ""
                if v.empty
                else (
                    f"{v.mean():.4f} ± {v.std(ddof=0):.4f}"
                    if len(v) > 1
                    else f"{v.mean():.4f}"
                )
            )
        quick = " (quick)" if key[4] else ""
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]:g} | {key[3]}{quick} | "
            f"{len(g)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


#: the errors :func:`compare` weighs (those a table has)
COMPARED = ("nrmse_pooled_raw", "nrmse_per_feature", "pfc", "image_mse")


def compare(
    csv_path: Path, imputer: str, against: Sequence[str], metrics=COMPARED
) -> str:
    """Markdown table: is ``imputer``'s mean error below each rival's, per cell?

    A cell (dataset, mechanism, rate) counts as won when ``imputer`` has the lower
    mean over seeds on every metric the table has (numerical and categorical
    errors both, on a mixed table). Only seeds run by both imputers are compared;
    cells where a rival did not run are shown but not counted.
    """
    lines, won, total = _compare(csv_path, imputer, against, metrics)
    lines.append("")
    lines.append(
        f"{imputer} has the lowest mean error against all of "
        f"{', '.join(against)} on {won} of {total} cells where all of them ran "
        "(✓: lower than that rival on the seeds both ran)."
    )
    return "\n".join(lines)


def cells_won(csv_path: Path, imputer: str, against: Sequence[str]) -> tuple[int, int]:
    """``(won, total)`` of :func:`compare` (its default metrics): the cells where
    ``imputer`` has the lower mean error than every rival, of those all ran."""
    _, won, total = _compare(csv_path, imputer, against, COMPARED)
    return won, total


def _split(g) -> dict:
    """A cell's rows per imputer, indexed by seed (for :func:`_by_seed`)."""
    return {name: h.set_index("seed") for name, h in g.groupby("imputer", sort=False)}


def _by_seed(parts: dict, imputer: str, metric: str):
    """One imputer's values of a metric in a cell (``parts``: :func:`_split`),
    indexed by seed (NaN dropped; empty where the imputer did not run)."""
    import pandas as pd

    if imputer not in parts:
        return pd.Series(dtype=float)
    return pd.to_numeric(parts[imputer][metric], errors="coerce").dropna()


def _paired_means(a, b) -> tuple[float, float] | None:
    """Means of two seed-indexed series over the seeds both have (None: none)."""
    common = a.index.intersection(b.index)
    if common.empty:
        return None
    return float(a[common].mean()), float(b[common].mean())


def _compare(csv_path, imputer, against, metrics) -> tuple[list[str], int, int]:
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[(df["status"] == "ok") & (df["quick"] == 0)]
    lines = [
        f"| dataset | mechanism | rate | metric | {imputer} | "
        + " | ".join(against)
        + " |",
        "|" + "---|" * (5 + len(against)),
    ]
    won, total = 0, 0
    for key, g in df.groupby(["dataset", "mechanism", "rate"], sort=True):
        mine = g[g["imputer"] == imputer]
        if mine.empty:
            continue
        g = _split(g)
        cell_won = True
        for m in metrics:
            mv = _by_seed(g, imputer, m)
            if mv.empty:
                continue
            cells = []
            for rival in against:
                pair = _paired_means(mv, _by_seed(g, rival, m))
                if pair is None:  # the rival did not run here: not compared
                    cells.append("")
                    cell_won = None
                    continue
                ok = pair[0] < pair[1]
                if cell_won is not None:
                    cell_won &= ok
                cells.append(f"{pair[1]:.4f} {'✓' if ok else '✗'}")
            lines.append(
                f"| {key[0]} | {key[1]} | {key[2]:g} | {m} | "
                f"{mv.mean():.4f} ({len(mv)}) | " + " | ".join(cells) + " |"
            )
        if cell_won is not None:
            won += cell_won
            total += 1
    return lines, won, total


def floor(csv_path: Path, reference: str = "mean") -> tuple[str, dict]:
    """Every imputer of a CSV against ``reference``, cell by cell and metric by metric.

    Returns a Markdown table (one row per dataset, rate and metric the table has:
    the reference's mean over seeds, then each imputer's with ✓ where it is lower,
    on the seeds both ran) and ``{imputer: (cells won, cells)}``, a cell won when
    every metric is lower.
    """
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[(df["status"] == "ok") & (df["quick"] == 0)]
    names = [n for n in dict.fromkeys(df["imputer"]) if n != reference]
    lines = [
        f"| dataset | mechanism | rate | metric | seeds | {reference} | "
        + " | ".join(names) + " |",
        "|" + "---|" * (6 + len(names)),
    ]
    score = {n: [0, 0] for n in names}
    for (ds, mech, rate), g in df.groupby(["dataset", "mechanism", "rate"]):
        g = _split(g)
        won = {n: True for n in names}
        for m in COMPARED:
            rv = _by_seed(g, reference, m)
            if rv.empty:
                continue
            cells, seeds = [], set()
            for n in names:
                mv = _by_seed(g, n, m)
                pair = _paired_means(mv, rv)
                if pair is None:
                    cells.append("")
                    won[n] = None
                    continue
                seeds |= set(mv.index.intersection(rv.index))
                ok = pair[0] < pair[1]
                if won[n] is not None:
                    won[n] &= ok
                cells.append(f"{pair[0]:.4f} {'✓' if ok else '✗'}")
            lines.append(
                f"| {ds} | {mech} | {rate:g} | {m} | {len(seeds)} | {rv.mean():.4f} | "
                + " | ".join(cells) + " |"
            )
        for n in names:
            if won[n] is not None:
                score[n][0] += won[n]
                score[n][1] += 1
    return "\n".join(lines), {n: tuple(v) for n, v in score.items()}


def column_errors(cell: dict, columns: list[str]) -> dict[str, float]:
    """Per-column NRMSE of one imputed cell of :func:`impute_cell` (the
    ``per_feature`` variant restricted to the column; NaN where fewer than two
    cells are hidden)."""
    from deepimpute.metrics import nrmse

    names = list(cell["X_true"].columns)
    imputed = np.asarray(cell["X_imputed"])
    out = {}
    for c in columns:
        j = names.index(c)
        out[c] = nrmse(
            cell["X_true"][[c]].to_numpy(float),
            imputed[:, [j]].astype(float),
            missing=cell["missing"][:, [j]],
            variant="per_feature",
        )
    return out


def by_column(dataset: str, mechanism: str, rate: float, imputers, seeds, *,
              quick: bool, overrides: dict | None = None) -> str:
    """Markdown: per-column NRMSE of each imputer (mean over seeds) on one cell,
    and the largest absolute z-score among each column's observed training values
    (a column whose rare values sit far out dominates a fixed-scale Gaussian loss).
    """
    import pandas as pd

    from benchmarks._markdown import table
    from deepimpute.schema import Numerical

    data = load(dataset)
    columns = [a.column for a in data.spec.attributes if isinstance(a, Numerical)]
    rows, spread = [], {}
    for seed in seeds:
        for name in imputers:
            cell = impute_cell(data, mechanism, rate, name, seed, quick,
                               overrides=overrides)
            rows.append({"imputer": name, "seed": seed,
                         **column_errors(cell, columns)})
        # the training rows depend on the seed only: any imputer's cell will do
        fit = cell["X_fit"][columns].astype(float)
        spread[seed] = ((fit - fit.mean()) / fit.std(ddof=0)).abs().max()
    frame = pd.DataFrame(rows).groupby("imputer", sort=False)[columns].mean()
    frame.loc["max |z| (train)"] = pd.DataFrame(spread).mean(axis=1)
    return (f"{dataset}, {mechanism} {rate:g}, seeds {list(seeds)}: per-column "
            f"NRMSE (NaN: column never hidden)\n\n{table(frame, digits=3)}")


# ------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The grid suites' flags (``--suite`` is the runner's)."""
    parser.add_argument("--datasets", nargs="*", help="tables (benchmarks.data.load)")
    parser.add_argument("--mechanisms", nargs="*")
    parser.add_argument("--rates", nargs="*", type=float)
    parser.add_argument("--imputers", nargs="*", metavar="NAME",
                        help="names of benchmarks.profiles (default: the suite's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--by-column", action="store_true",
                        help="print each imputer's per-column NRMSE on the cells "
                        "instead of writing the CSV")
    add_common(parser, quick="tiny epochs, at most 600 training rows (CI smoke)",
               overrides=True)


def resolve(args, parser: argparse.ArgumentParser) -> None:
    """Fill the suite's defaults into ``args`` and check the names (no run)."""
    suite = GRIDS[args.suite or "smoke"]
    args.datasets = args.datasets or suite["datasets"]
    args.mechanisms = args.mechanisms or suite["mechanisms"]
    args.rates = args.rates or suite["rates"]
    args.imputers = args.imputers or suite.get("imputers", DEFAULT_IMPUTERS)
    check_imputers(parser, args.imputers)
    args.overrides = checked_overrides(parser, args.set, args.imputers)
    if args.by_column and args.out is not None:
        parser.error("--by-column prints its table and writes no CSV: drop --out")
    name = (args.suite or "custom") + ("-quick" if args.quick else "")
    args.out = args.out or RESULTS / f"{name}.csv"
    args.outputs = [] if args.by_column else [args.out]


def main(args) -> int:
    """Run (or resume) the grid of ``args`` (resolved by :func:`resolve`)."""
    if args.by_column:
        rates = args.rates
        for dataset in args.datasets:
            cell_rates = rates.get(dataset, []) if isinstance(rates, dict) else rates
            for mechanism in args.mechanisms:
                for rate in cell_rates:
                    print(by_column(dataset, mechanism, rate, args.imputers,
                                    args.seeds, quick=args.quick,
                                    overrides=args.overrides) + "\n")
        return 0
    rows = run(
        args.datasets,
        args.mechanisms,
        args.rates,
        args.imputers,
        args.seeds,
        out=args.out,
        quick=args.quick,
        device=args.device,
        overrides=args.overrides,
    )
    if args.overrides:
        print(f"imputer parameters set: {json.dumps(args.overrides)}")
    print(summarize(args.out))
    failed = [r for r in rows if r["status"] != "ok"]
    return 1 if failed else 0
