"""The benchmark runner: datasets x mechanisms x rates x imputers x seeds -> tidy CSV.

Protocol of every table experiment: per seed, shuffle the rows and split them
70 / 10 / 20 into train / validation / test (:func:`split`); hide cells with the
mechanism at the rate (one mask per seed over the whole table); fit on the
train+validation rows (deep imputers hold out the validation share for early
stopping, on their own loss, never on ground truth); transform the test rows; score
the test rows' hidden cells (:func:`deepimpute.metrics.score_imputation`).
A paper's table is a suite (:data:`SUITES`) and its configurations are named
imputers (:mod:`benchmarks.profiles`).

Every finished cell is one CSV row (metrics, fit/transform seconds, peak memory,
epochs, device, versions, or the error text); cells already in the CSV are skipped, so
an interrupted run resumes.

    python -m benchmarks.run --suite uci-mcar --seeds 0 1 2
    python -m benchmarks.run --datasets yeast --imputers mean vsae --quick
    python -m benchmarks.run --suite dlvm --seeds 0 --set max_iter=300
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import queue
import threading
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks._cli import RowWriter, add_common, parse_overrides
from benchmarks.profiles import available, make_imputer

RESULTS = Path(__file__).parent / "results"

#: named suites, after the papers' tables
SUITES: dict[str, dict] = {
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
    "smoke": dict(datasets=["yeast"], mechanisms=["mcar"], rates=[0.5]),
}

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


def load(name: str):
    """A :class:`deepimpute.datasets.Dataset` by short name."""
    from deepimpute import datasets as ds

    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        from deepimpute import ColumnSpec

        frame = load_diabetes(as_frame=True).frame.drop(columns="target")
        return ds.Dataset(
            frame,
            ColumnSpec.infer(frame),
            None,
            "diabetes",
            "sklearn.datasets.load_diabetes",
        )
    if name == "latent_factor":
        from benchmarks.synthetic import latent_factor_table

        return latent_factor_table(5000, random_state=0)
    loaders = {
        "yeast": ds.load_yeast,
        "white_wine": ds.load_white_wine,
        "red_wine": ds.load_red_wine,
        "mushroom": ds.load_mushroom,
        "phishing": ds.load_phishing,
        "heart": ds.load_heart,
        "letter": ds.load_letter,
        "spam": ds.load_spam,
        "adult": ds.load_adult,
        "credit_default": ds.load_credit_default,
    }
    if name.endswith("_10k"):  # a fixed 10,000-row sample (the same for every seed)
        data = loaders[name.removesuffix("_10k")]()
        rows = np.sort(np.random.default_rng(0).permutation(len(data.frame))[:10_000])
        frame = data.frame.iloc[rows].reset_index(drop=True)
        target = None if data.target is None else data.target.iloc[rows]
        return ds.Dataset(
            frame, data.spec, target, name, f"{data.source} (rows {len(rows)} of "
            f"{len(data.frame)}, numpy default_rng(0) permutation)"
        )
    return loaders[name]()


class PeakRSS:
    """Peak resident memory of this process during a block, sampled every 20 ms."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def delta_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def _rss() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        return 0


def _child(q, fn, args) -> None:
    try:
        q.put(fn(*args))
    except Exception as exc:  # sent back to the parent, which raises it
        traceback.print_exc()
        q.put(exc)


def call_isolated(fn, args: tuple, limit: float):
    """``fn(*args)`` in a fresh (spawned) process; None if it runs past ``limit`` s.

    Spawn, not fork: a forked child of a process that already ran torch can hang.
    An exception in the child is raised here.
    """
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(q, fn, args), daemon=True)
    proc.start()
    try:
        got = q.get(timeout=limit)
    except queue.Empty:
        got = None
        proc.terminate()
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
    if isinstance(got, Exception):
        raise got
    return got


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


def _by_seed(g, imputer: str, metric: str):
    """One imputer's values of a metric in a cell, indexed by seed (NaN dropped)."""
    import pandas as pd

    values = g[g["imputer"] == imputer].set_index("seed")[metric]
    return pd.to_numeric(values, errors="coerce").dropna()


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", choices=sorted(SUITES))
    p.add_argument("--datasets", nargs="*")
    p.add_argument("--mechanisms", nargs="*")
    p.add_argument("--rates", nargs="*", type=float)
    p.add_argument("--imputers", nargs="*", help=f"from {available()}")
    p.add_argument("--device", default="auto")
    add_common(p, quick="tiny epochs, at most 600 training rows (CI smoke)",
               overrides=True)
    args = p.parse_args(argv)
    suite = SUITES.get(args.suite or "smoke")
    datasets = args.datasets or suite["datasets"]
    mechanisms = args.mechanisms or suite["mechanisms"]
    rates = args.rates or suite["rates"]
    imputers = args.imputers or suite.get(
        "imputers", ["mean", "sk-iterative-br", "sk-iterative-rf"]
    )
    overrides = parse_overrides(args.set)
    name = (args.suite or "custom") + ("-quick" if args.quick else "")
    out = args.out or RESULTS / f"{name}.csv"
    rows = run(
        datasets,
        mechanisms,
        rates,
        imputers,
        args.seeds,
        out=out,
        quick=args.quick,
        device=args.device,
        overrides=overrides,
    )
    if overrides:
        print(f"imputer parameters set: {json.dumps(overrides)}")
    print(summarize(out))
    failed = [r for r in rows if r["status"] != "ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
