"""Imputation error against training wall time: deep imputers beside MissForest.

Per seed, the table (white wine by default) gets MCAR cells hidden over all rows
and is split as the runner splits it (:func:`benchmarks.quality.grid.split`): 80 %
of the rows are fitted, the 20 % held-out rows are imputed and scored on their
hidden cells.

* A deep imputer trains for ``--epochs`` epochs (early stopping off unless
  ``--early-stopping``); every ``--every`` epochs its ``callback`` imputes the
  held-out rows with the partially trained model and scores them. The time of these
  evaluations is subtracted, so ``train_seconds`` counts training only (from the call
  to ``fit``: encoding, model set-up and epochs). A last point scores the fitted
  model as ``fit`` returns it.
* The MissForest reference (``missforest`` when registered, else scikit-learn's
  ``IterativeImputer`` over random forests, ``sk-iterative-rf``) is fitted once per
  rung of a ladder of (iterations, trees); ``train_seconds`` is its ``fit`` time.
* Any other imputer (e.g. ``mean``) is one point: its ``fit`` time and error.

``--figure PATH`` draws error against seconds.

    python -m benchmarks.run --suite time-to-quality --imputers vae \
        --reference sk-iterative-rf
    python -m benchmarks.run --suite time-to-quality --quick --imputers mean vae \
        --seeds 0
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

from benchmarks._cli import (
    RESULTS,
    RowWriter,
    add_common,
    check_imputers,
    checked_overrides,
    save_figure,
)
from benchmarks.data import load
from benchmarks.perf.scale import warm_up
from benchmarks.profiles import make_imputer
from benchmarks.quality.grid import split

METRICS = ("nrmse_pooled_raw", "nrmse_pooled_std", "nrmse_per_feature", "pfc")

#: (max_iter, n_estimators) rungs of the forest reference, cheapest first
LADDER = [(1, 10), (1, 25), (2, 25), (3, 50), (5, 100), (10, 100)]
QUICK_LADDER = [(1, 5), (2, 5)]

FIELDS = [
    "dataset",
    "mechanism",
    "rate",
    "imputer",
    "kind",
    "seed",
    "quick",
    "status",
    "step",
    "epoch",
    "setting",
    "train_seconds",
    "eval_seconds",
    *METRICS,
    "n_train",
    "n_test",
    "device",
    "versions",
    "host",
    "error",
]


class _Problem:
    """One seed's masked table, split and scorer."""

    def __init__(self, data, mechanism: str, rate: float, seed: int, quick: bool):
        from deepimpute.missingness import simulate_missing

        self.data = data
        X_miss, self.hidden = simulate_missing(
            data.frame, mechanism, rate, spec=data.spec, random_state=seed
        )
        fit_rows, test_rows = split(len(data.frame), seed)
        if quick:  # a smoke run: at most 600 training and 200 held-out rows
            fit_rows, test_rows = fit_rows[:600], test_rows[:200]
        self.test_rows = test_rows
        self.X_fit = X_miss.iloc[fit_rows]
        self.X_test = X_miss.iloc[test_rows]

    def score(self, imputer) -> tuple[dict, float]:
        """Errors of ``imputer`` on the held-out hidden cells, and the seconds spent."""
        from deepimpute.metrics import score_imputation

        t0 = time.perf_counter()
        X_imp = imputer.transform(self.X_test)
        seconds = time.perf_counter() - t0
        scores = score_imputation(
            self.data.frame.iloc[self.test_rows],
            X_imp,
            missing=self.hidden[self.test_rows],
            spec=self.data.spec,
        )
        return {m: scores[m] for m in METRICS}, seconds


def _new(name: str, seed: int, quick: bool, device: str, spec, overrides=None):
    imputer = make_imputer(
        name, quick=quick, seed=seed, device=device, validation_fraction=0.125,
        overrides=overrides,
    )
    if "column_spec" in imputer.get_params():
        imputer.set_params(column_spec=spec)
    warm_up(imputer)
    return imputer


def deep_curve(problem, name, seed, *, quick, device, epochs, every, early_stopping,
               overrides=None):
    """Points along one training run, through the estimator's ``callback``."""
    imputer = _new(name, seed, quick, device, problem.data.spec, overrides)
    params = {"max_iter": epochs} if epochs is not None else {}
    if not early_stopping:
        params["n_iter_no_change"] = None
    accepted = imputer.get_params()
    imputer.set_params(**{k: v for k, v in params.items() if k in accepted})
    max_iter = imputer.get_params()["max_iter"]
    points: list[dict] = []
    clock = {"eval": 0.0}

    def callback(est, record):
        now = time.perf_counter()
        epoch = int(record["epoch"])
        if epoch % every and epoch != max_iter:
            return None
        train_seconds = now - clock["start"] - clock["eval"]
        scores, seconds = problem.score(est)
        clock["eval"] += time.perf_counter() - now  # scoring and its overhead
        points.append(
            dict(
                scores,
                step=len(points),
                epoch=epoch,
                setting=f"epoch={epoch}",
                train_seconds=train_seconds,
                eval_seconds=seconds,
            )
        )
        return {"heldout_nrmse_per_feature": scores["nrmse_per_feature"]}

    imputer.set_params(callback=callback)
    clock["start"] = time.perf_counter()
    imputer.fit(problem.X_fit)
    fit_seconds = time.perf_counter() - clock["start"] - clock["eval"]
    scores, seconds = problem.score(imputer)  # the model fit() returns
    points.append(
        dict(
            scores,
            step=len(points),
            epoch=getattr(imputer, "n_iter_", ""),
            setting="final",
            train_seconds=fit_seconds,
            eval_seconds=seconds,
        )
    )
    device_ = getattr(imputer, "device_", "cpu")
    return [dict(p, device=device_) for p in points]


def reference_curve(problem, name, seed, *, quick, device, ladder):
    """One fit per (iterations, trees) rung of the forest reference."""
    points = []
    for step, (n_iter, n_trees) in enumerate(ladder):
        imputer = _new(name, seed, quick, device, problem.data.spec)
        if name == "sk-iterative-rf":
            # the profile leaves the forest unseeded: seed it for repeatable rungs
            imputer.set_params(
                imputer__max_iter=n_iter,
                imputer__estimator__n_estimators=n_trees,
                imputer__estimator__random_state=seed,
            )
        else:
            imputer.set_params(max_iter=n_iter, n_estimators=n_trees)
        t0 = time.perf_counter()
        imputer.fit(problem.X_fit)
        fit_seconds = time.perf_counter() - t0
        scores, seconds = problem.score(imputer)
        points.append(
            dict(
                scores,
                step=step,
                epoch="",
                setting=f"max_iter={n_iter},n_estimators={n_trees}",
                train_seconds=fit_seconds,
                eval_seconds=seconds,
            )
        )
    return points


def single_point(problem, name, seed, *, quick, device):
    imputer = _new(name, seed, quick, device, problem.data.spec)
    t0 = time.perf_counter()
    imputer.fit(problem.X_fit)
    fit_seconds = time.perf_counter() - t0
    scores, seconds = problem.score(imputer)
    return [
        dict(
            scores,
            step=0,
            epoch=getattr(imputer, "n_iter_", ""),
            setting="profile",
            train_seconds=fit_seconds,
            eval_seconds=seconds,
        )
    ]


def kind_of(name: str) -> str:
    from benchmarks.profiles import DEFAULTS, VARIANTS
    from deepimpute.imputers import IMPUTERS, BaseDeepImputer

    if name in ("missforest", "sk-iterative-rf"):
        return "reference"
    # a profile traces like its base
    name = DEFAULTS.get(name) or VARIANTS.get(name, (name, {}))[0]
    if (
        name in IMPUTERS
        and issubclass(IMPUTERS[name], BaseDeepImputer)
        and "callback" in IMPUTERS[name]().get_params()
    ):
        return "deep"
    return "single"


def run(
    imputers,
    seeds,
    *,
    out: Path,
    quick: bool,
    dataset: str = "white_wine",
    mechanism: str = "mcar",
    rate: float = 0.5,
    epochs: int | None = 100,
    every: int = 5,
    early_stopping: bool = False,
    ladder=LADDER,
    device: str = "auto",
    overrides: dict | None = None,
) -> list[dict]:
    """Every imputer's points per seed, written to ``out``; ``overrides`` are
    parameters set on the deep imputers (``--set``; name the CSV after them)."""
    data = load(dataset)
    rows = []
    with RowWriter(out, FIELDS) as writer:
        for seed in seeds:
            problem = _Problem(data, mechanism, rate, seed, quick)
            for name in imputers:
                kind = kind_of(name)
                base = dict(
                    dataset=data.name,
                    mechanism=mechanism,
                    rate=rate,
                    imputer=name,
                    kind=kind,
                    seed=seed,
                    quick=int(quick),
                    n_train=len(problem.X_fit),
                    n_test=len(problem.X_test),
                )
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # capped references' notices
                        if kind == "deep":
                            points = deep_curve(
                                problem,
                                name,
                                seed,
                                quick=quick,
                                device=device,
                                epochs=epochs,
                                every=every,
                                early_stopping=early_stopping,
                                overrides=overrides,
                            )
                        elif kind == "reference":
                            points = reference_curve(
                                problem,
                                name,
                                seed,
                                quick=quick,
                                device=device,
                                ladder=ladder,
                            )
                        else:
                            points = single_point(
                                problem, name, seed, quick=quick, device=device
                            )
                    points = [dict(p, status="ok") for p in points]
                except Exception as exc:  # recorded, never swallowed
                    traceback.print_exc()
                    points = [
                        dict(status="error", error=f"{type(exc).__name__}: {exc}")
                    ]
                rows += [writer.write({**base, **p}) for p in points]
                print(_brief(name, seed, points), file=sys.stderr)
    return rows


def _brief(name, seed, points) -> str:
    if points[0]["status"] != "ok":
        return f"{name} seed={seed}: {points[0]['error']}"
    best = min(points, key=lambda p: p["nrmse_per_feature"])
    last = points[-1]
    return (
        f"{name} seed={seed}: {len(points)} points; last {last['setting']} "
        f"{last['nrmse_per_feature']:.4f} at {last['train_seconds']:.1f}s; best "
        f"{best['nrmse_per_feature']:.4f} at {best['train_seconds']:.1f}s"
    )


def _curves(csv_path: Path, metric: str):
    """Mean over seeds of (seconds, error) per imputer and step."""
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[df["status"] == "ok"]
    order = {name: k for k, name in enumerate(dict.fromkeys(df["imputer"]))}
    c = (
        df.groupby(["imputer", "kind", "setting"], sort=False)
        .agg(
            train_seconds=("train_seconds", "mean"),
            error=(metric, "mean"),
            step=("step", "mean"),
            seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    # run order of imputers; within one, settings in training order ("final" last,
    # whatever epoch early stopping ended at for each seed)
    c["rank"] = c["imputer"].map(order)
    c["last"] = c["setting"] == "final"
    return c.sort_values(["rank", "last", "step"]).reset_index(drop=True)


def summarize(csv_path: Path, metric: str = "nrmse_per_feature") -> str:
    """Markdown: per imputer, the first and last point and the best one."""
    c = _curves(csv_path, metric)
    lines = [
        f"| imputer | kind | seeds | first point ({metric} @ s) | last point | best |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(r):
        return f"{r.error:.4f} @ {r.train_seconds:.1f}s ({r.setting})"

    for (name, kind), g in c.groupby(["imputer", "kind"], sort=False):
        rows = list(g.itertuples())
        best = min(rows, key=lambda r: r.error)
        lines.append(
            f"| {name} | {kind} | {rows[0].seeds} | {fmt(rows[0])} | {fmt(rows[-1])} "
            f"| {fmt(best)} |"
        )
    return "\n".join(lines)


def reach(csv_path: Path, reference: str = "mice",
          metric: str = "nrmse_per_feature") -> str:
    """Markdown: per imputer and seed, the first point whose error is at most
    ``reference``'s on the same seed, its training seconds and epochs, and the
    ratio of those seconds to the reference's fit time (``-``: never reached)."""
    import pandas as pd

    df = pd.read_csv(csv_path)
    df = df[df["status"] == "ok"]
    ref = df[df["imputer"] == reference].set_index("seed")
    if ref.empty:
        return ""
    lines = [
        f"| imputer | seed | {reference} {metric} (s) | first point at or below it "
        f"| x {reference}'s time |",
        "|---|---|---|---|---|",
    ]
    for (name, seed), g in df.groupby(["imputer", "seed"], sort=False):
        if name == reference or seed not in ref.index or g["kind"].iloc[0] != "deep":
            continue
        target, t_ref = ref.loc[seed, metric], ref.loc[seed, "train_seconds"]
        hit = g[(g[metric] <= target) & (g["setting"] != "final")]
        if hit.empty:
            best = g[metric].min()
            cell, ratio = f"- (best {best:.4f})", "-"
        else:
            h = hit.iloc[0]
            cell = f"{h[metric]:.4f} at {h['train_seconds']:.1f} s ({h['setting']})"
            ratio = f"{h['train_seconds'] / t_ref:.0f}"
        lines.append(f"| {name} | {seed} | {target:.4f} ({t_ref:.1f}) | {cell} | "
                     f"{ratio} |")
    return "\n".join(lines)


def plot(csv_path: Path, figure: Path, metric: str = "nrmse_per_feature") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    c = _curves(csv_path, metric)
    meta = pd.read_csv(csv_path, nrows=1)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, ((name, kind), g) in enumerate(c.groupby(["imputer", "kind"], sort=False)):
        color = f"C{k}"
        if kind == "deep":
            curve = g[g["setting"] != "final"]
            ax.plot(
                curve["train_seconds"],
                curve["error"],
                "-",
                color=color,
                label=f"{name} (every few epochs)",
            )
            final = g[g["setting"] == "final"]
            ax.plot(final["train_seconds"], final["error"], "*", ms=11, color=color)
        elif kind == "reference":
            ax.plot(
                g["train_seconds"],
                g["error"],
                "s--",
                color=color,
                label=f"{name} (iterations x trees ladder)",
            )
        else:
            ax.axhline(
                g["error"].iloc[0],
                ls=":",
                color=color,
                label=f"{name} ({g['train_seconds'].iloc[0]:.2g} s)",
            )
    ax.set_xscale("log")
    ax.set_xlabel("training wall seconds (evaluation time excluded)")
    ax.set_ylabel(f"{metric} on held-out rows' hidden cells")
    if len(meta):
        r = meta.iloc[0]
        quick = ", quick" if r["quick"] else ""
        ax.set_title(f"{r['dataset']}, {r['mechanism']} {r['rate']:g}{quick}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, figure)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--imputers", nargs="*", metavar="NAME",
                   help="names of benchmarks.profiles (default: every deep imputer)")
    p.add_argument(
        "--reference",
        default="auto",
        help="missforest, sk-iterative-rf, none, or auto (missforest if registered)",
    )
    p.add_argument(
        "--ladder",
        nargs="*",
        metavar="ITERSxTREES",
        help="rungs of the forest reference, e.g. 1x10 2x25 (default "
        + " ".join(f"{i}x{t}" for i, t in LADDER)
        + ")",
    )
    p.add_argument("--dataset", default="white_wine")
    p.add_argument("--mechanism", default="mcar")
    p.add_argument("--rate", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=100, help="epochs per deep imputer")
    p.add_argument("--every", type=int, default=5, help="score every k epochs")
    p.add_argument("--early-stopping", action="store_true")
    p.add_argument("--metric", default="nrmse_per_feature", choices=METRICS)
    p.add_argument("--device", default="auto")
    add_common(p, seeds=(0,), quick="600 rows, tiny epochs", figure=True,
               overrides=True)


def resolve(args, parser: argparse.ArgumentParser) -> None:
    from deepimpute.imputers import IMPUTERS

    args.imputers = check_imputers(parser, args.imputers or [
        n for n in sorted(IMPUTERS) if kind_of(n) == "deep"])
    if args.reference == "auto":
        args.reference = "missforest" if "missforest" in IMPUTERS else "sk-iterative-rf"
    if args.reference != "none":
        check_imputers(parser, [args.reference], "--reference")
        if args.reference not in args.imputers:
            args.imputers = [*args.imputers, args.reference]
    if args.quick:
        args.epochs, args.every = 3, 1
    try:
        args.ladder = ([tuple(int(v) for v in r.lower().split("x"))
                        for r in args.ladder] if args.ladder
                       else QUICK_LADDER if args.quick else LADDER)
    except ValueError:
        parser.error(f"--ladder: give rungs as ITERSxTREES, got {args.ladder}")
    args.overrides = checked_overrides(parser, args.set, args.imputers)
    suffix = "-quick" if args.quick else ""
    args.out = args.out or RESULTS / f"time_to_quality{suffix}.csv"
    args.outputs = [args.out]


def main(args) -> int:
    rows = run(
        args.imputers,
        args.seeds,
        out=args.out,
        quick=args.quick,
        dataset=args.dataset,
        mechanism=args.mechanism,
        rate=args.rate,
        epochs=args.epochs,
        every=args.every,
        early_stopping=args.early_stopping,
        ladder=args.ladder,
        device=args.device,
        overrides=args.overrides,
    )
    if any(r["status"] == "ok" for r in rows):
        if args.figure is not None:
            plot(args.out, args.figure, args.metric)
        print(summarize(args.out, args.metric))
        print(f"\nwrote {args.out}" + (f" and {args.figure}" if args.figure else ""))
    return 1 if any(r["status"] != "ok" for r in rows) else 0
