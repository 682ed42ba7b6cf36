"""MNIST+MNIST image pairs (the VSAE paper's Table 7) with every imputer.

Its own protocol (images hidden whole, rows already shuffled by the dataset's seed),
per seed and missing rate:

1. ``deepimpute.datasets.make_mnist_pairs(random_state=seed)``: rows of two digit
   images of a fixed pair ((0,9), (1,8), (2,7), (3,6), (4,5)), 4832 rows from the
   10k MNIST test images, already shuffled by the seed; ``--n-samples`` keeps the
   first rows;
2. hide whole images with ``simulate_missing(frame, "mcar", rate, spec=spec)``
   (attribute level). With two images per row, keeping one observed
   (``ensure_observed=True``) would hide exactly one image per row at 0.5 and
   cannot reach 0.7, so images are hidden independently and a row may lose both
   (``ensure_observed=False``); such a row can only get the training
   distribution's average back;
3. 70 % train / 10 % validation / 20 % test rows; every method is fitted on the
   train + validation rows (deep imputers with early stopping hold out
   ``validation_fraction = 1/8`` of them, on their own loss; no ground truth is
   used) and ``transform`` s the test rows (inductive);
4. score the hidden test images with ``deepimpute.metrics.image_mse``: ``image_mse``
   is the per-pixel MSE of a hidden image averaged over hidden images (VSAE's
   "MNIST-MSE/784"), ``image_mse_sum`` the sum of the two per-attribute means
   (VSAE's "sum error" of Table 7), ``image_mse_partner_observed`` the first one
   over test rows whose other image is observed (the cells where a model can use
   the pairing; rows with both images hidden can only get a marginal guess).

Methods: ``vsae`` (VSAEImputer with the image settings of ``VSAE_DEFAULTS``;
``--vsae`` adds keyword arguments as JSON), ``mean`` (MeanModeImputer: column
means of the observed training pixels), ``knn`` (scikit-learn ``KNNImputer``, 5
neighbours, on the flattened pixels of both images; a test row with no observed
image gets the column means) and every other imputer of the benchmark runner by its name
(``benchmarks.profiles``), with the shared image budget of ``IMAGE_BUDGET`` (the
same epochs, latent size and hidden width as VSAE where the estimator has the
parameter). Each of those runs in a child process stopped after ``--cap-seconds``
(recorded as ``timeout_seconds``; the method's later cells are then skipped):
MissForest and MICE fit one model per pixel column (1568 of them) and cannot finish
on this machine. Fit and transform seconds are recorded separately.

Budgets: the paper trains a 256-dim latent per image with 128-unit MLPs at lr 1e-4 for
1000 epochs on 23k rows; on one CPU core this script uses by default (the "reduced"
budget) a 32-dim latent, lr 1e-3, 30 epochs and 100 importance samples, which runs
the three rates and three methods for one seed in about 5 minutes (KNN's transform
takes about as long as VSAE's fit). Short tuning runs (rate 0.5, seed 0, all 4832
rows; ``image_mse``) chose it: 30 epochs 0.0642, 60 epochs 0.0644, 150 epochs 0.0656
(longer training imputes worse, with the validation ELBO still improving); latent 64
0.0642; lr 1e-4 0.0666 after 60 epochs, 0.0642 after 150; KL weight 1 0.0663;
``impute="proposal_mean"`` 0.0649; 300 importance samples 0.0645. The other deep
imputers get the same budget untuned.
``--quick`` is a CI-size smoke test (300 rows, 2 epochs, 10 importance samples).

Usage::

    python -m benchmarks.run --suite image-pairs --quick
    python -m benchmarks.run --suite image-pairs             # 3 rates x 1 seed
    python -m benchmarks.run --suite image-pairs --seeds 0 1 2 --rates 0.5
    python -m benchmarks.run --suite image-pairs --imputers miwae gain --seeds 1 2
    python -m benchmarks.run --suite image-pairs --vsae '{"learning_rate": 1e-4}' \
        --tag lr1e-4

Writes tidy rows (dataset, mechanism, rate, seed, imputer, metric, value, config,
quick, n_fit, n_test) to ``benchmarks/results/vsae_images.csv`` (appending), prints
a Markdown summary with the paper's Table 7 VSAE values beside ours and, with
``--figure PATH``, draws observed image / hidden truth / VSAE / KNN for a few test
rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import KNNImputer

from benchmarks._cli import RESULTS, add_common, save_figure, write_rows
from benchmarks._measure import call_isolated
from benchmarks.profiles import FULL, VARIANTS, available, make_imputer
from deepimpute.datasets import make_mnist_pairs
from deepimpute.imputers import MeanModeImputer, VSAEImputer, budget_params
from deepimpute.metrics import image_mse
from deepimpute.missingness import simulate_missing

OUT = RESULTS / "vsae_images.csv"
FIELDS = ["dataset", "mechanism", "rate", "seed", "n_fit", "n_test", "imputer",
          "metric", "value", "config", "quick"]
METHODS = ("vsae", "mean", "knn")
#: the table's order: the paper's method, the simple references, then the runner's
ORDER = METHODS + ("mice", "missforest", "gain", "misgan", "vae", "miwae", "hivae",
                   "vad", "rvi", "factvae-rowprior")
RATES = (0.3, 0.5, 0.7)
# VSAE appendix Table 7 (MNIST+MNIST): VSAE's sum of the two per-image MSEs. The
# paper's exact pixel scaling and averaging are not stated, so its definition may
# differ from ours.
PAPER_SUM = {0.3: 0.1371, 0.5: 0.1376, 0.7: 0.1379}
# image settings on a CPU budget (paper: latent 256, lr 1e-4, 1000 epochs); the
# collective encoder and data decoder get the paper's 128-unit image width
VSAE_DEFAULTS = dict(
    latent_dim=32,
    image_hidden=(128, 128),
    collective_hidden=(128, 128, 128),
    decoder_hidden=(128, 128, 128),
    learning_rate=1e-3,
    max_iter=30,  # 60 and 150 epochs imputed worse (module docstring)
    n_iter_no_change=20,
    n_draws=100,
    impute="importance",
)
QUICK = dict(max_iter=2, n_draws=10, latent_dim=8)
#: the other imputers on images: VSAE's epochs, latent size and hidden width where
#: an estimator has the parameter; each keeps its own learning rate and early
#: stopping (MisGAN at VSAE's lr 1e-3 with a patience on its GAN loss painted every
#: hidden image white at rate 0.3: image MSE 0.83)
IMAGE_BUDGET = dict(
    max_iter=30,
    latent_dim=32,
    hidden=(128, 128),
    encoder_hidden=(128,),
    generator_hidden=(128,),
    n_draws=100,
)
#: the encoderless imputers keep the runner's epochs (``profiles.FULL``): each row's
#: posterior takes one step per epoch, and their epoch costs a fraction of an encoder's
ENCODERLESS = ("rvi", "vad")
QUICK_BUDGET = dict(max_iter=2, latent_dim=8, n_draws=10, inference_steps=5)


# ------------------------------------------------------------------- methods
def _vsae(fit_df, test_df, spec, seed, kw):
    imp = VSAEImputer(column_spec=spec, random_state=seed, device="cpu",
                      validation_fraction=1 / 8, **kw)
    t0 = time.perf_counter()
    imp.fit(fit_df)
    t1 = time.perf_counter()
    out = imp.transform(test_df)
    t2 = time.perf_counter()
    return out.to_numpy(np.float64), t1 - t0, t2 - t1, {"epochs": imp.n_iter_}


def _mean(fit_df, test_df, spec, seed, kw):
    t0 = time.perf_counter()
    imp = MeanModeImputer().fit(fit_df.to_numpy(np.float64))
    t1 = time.perf_counter()
    out = imp.transform(test_df.to_numpy(np.float64))
    return out, t1 - t0, time.perf_counter() - t1, {}


def _knn(fit_df, test_df, spec, seed, kw):
    # keep_empty_features: a pixel that is 0 in every observed training image must
    # still come back as a column, or the output would lose columns
    imp = KNNImputer(n_neighbors=5, keep_empty_features=True)
    t0 = time.perf_counter()
    imp.fit(fit_df.to_numpy(np.float64))
    t1 = time.perf_counter()
    out = imp.transform(test_df.to_numpy(np.float64))
    return out, t1 - t0, time.perf_counter() - t1, {}


def _registry(name, fit_df, test_df, spec, seed, kw, quick=False):
    """Fit and transform an imputer of ``benchmarks.profiles`` on the image budget."""
    imp = make_imputer(name, quick=quick, seed=seed, device="cpu")
    params = imp.get_params()
    budget = {"column_spec": spec}
    if "learning_rate" in params:  # a deep imputer: epochs, not MICE's rounds
        budget.update(IMAGE_BUDGET)
        base = VARIANTS.get(name, (name, {}))[0]
        if base in ENCODERLESS:
            budget["max_iter"] = FULL[base]["max_iter"]
        budget.update(QUICK_BUDGET if quick else {})
        if params.get("validation_fraction"):
            budget["validation_fraction"] = 1 / 8
    # GAIN's int ``hidden`` (None: the data width, its paper's) stays as it is
    budget = budget_params(type(imp), budget)
    imp.set_params(**{k: v for k, v in budget.items() if (
        k != "hidden" or isinstance(params[k], tuple))})
    t0 = time.perf_counter()
    imp.fit(fit_df)
    t1 = time.perf_counter()
    out = imp.transform(test_df)
    t2 = time.perf_counter()
    extra = {"epochs": imp.n_iter_} if hasattr(imp, "n_iter_") else {}
    return np.asarray(out, np.float64), t1 - t0, t2 - t1, extra


RUNNERS = {"vsae": _vsae, "mean": _mean, "knn": _knn}


def runner_for(method: str):
    return RUNNERS.get(method) or partial(_registry, method)


# ---------------------------------------------------------------------- runs
def run_one(ds, seed, rate, methods, vsae_kw, *, quick=False, cap=None,
            stopped=None):
    """Mask, split, fit and score every method for one seed and rate.

    Returns the tidy rows and, for the figure, the test frames (truth, masked,
    hidden mask, imputations by method). Methods other than ``vsae``, ``mean`` and
    ``knn`` run in a child process stopped after ``cap`` seconds; a stopped method
    gets a ``timeout_seconds`` row and is added to ``stopped`` (a set), which skips
    it in later calls.
    """
    stopped = set() if stopped is None else stopped
    frame, spec = ds.frame, ds.spec
    masked, hidden, info = simulate_missing(
        frame, "mcar", rate, spec=spec, random_state=seed, ensure_observed=False,
        return_info=True,
    )
    n = len(frame)
    n_fit = int(0.7 * n) + int(0.1 * n)  # train + validation rows
    test = slice(n_fit, n)
    fit_df = masked.iloc[:n_fit].reset_index(drop=True)
    test_df = masked.iloc[test].reset_index(drop=True)
    truth = frame.iloc[test].reset_index(drop=True)
    hidden_test = np.asarray(hidden, dtype=bool)[test]
    # per (row, image): hidden or not, to select rows whose partner is observed
    blocks = [frame.columns.get_indexer(list(a.columns)) for a in spec]
    img_hidden = np.stack([hidden_test[:, b].any(axis=1) for b in blocks], axis=1)
    one_hidden = img_hidden.sum(axis=1) == 1
    hidden_partner = hidden_test & one_hidden[:, None]
    base = dict(dataset="mnist_pairs", mechanism="mcar", rate=rate, seed=seed,
                n_fit=n_fit, n_test=n - n_fit)
    rows = [
        dict(base, imputer="data", metric=m, value=float(v))
        for m, v in (("realised_rate", info["rate"]),
                     ("test_rows_both_hidden", (img_hidden.sum(axis=1) == 2).sum()),
                     ("test_rows_one_hidden", one_hidden.sum()))
    ]
    outputs = {}
    for method in methods:
        if method in stopped:
            continue
        args = (fit_df, test_df, spec, seed, vsae_kw)
        if method in RUNNERS:
            got = RUNNERS[method](*args)
        else:
            got = call_isolated(runner_for(method), args + (quick,), cap or np.inf)
        print(f"  {method}: {'stopped' if got is None else 'done'}", flush=True)
        if got is None:
            stopped.add(method)
            rows.append(dict(base, imputer=method, metric="timeout_seconds",
                             value=float(cap)))
            continue
        imputed, fit_s, tr_s, extra = got
        imputed = pd.DataFrame(imputed, columns=frame.columns)
        outputs[method] = imputed.to_numpy()
        scores = {
            "image_mse": image_mse(truth, imputed, missing=hidden_test, spec=spec),
            "image_mse_sum": image_mse(truth, imputed, missing=hidden_test,
                                       spec=spec, reduce="sum"),
            "image_mse_partner_observed": image_mse(
                truth, imputed, missing=hidden_partner, spec=spec),
            "fit_seconds": fit_s,
            "transform_seconds": tr_s,
            **extra,
        }
        rows += [dict(base, imputer=method, metric=k, value=float(v))
                 for k, v in scores.items()]
    view = dict(truth=truth.to_numpy(), hidden=img_hidden, blocks=blocks,
                outputs=outputs)
    return rows, view


# ------------------------------------------------------------------- reports
def summarise(df: pd.DataFrame) -> str:
    """Markdown table (mean ± sd over seeds) and the error growth from 0.3 to 0.7."""
    d = df[df.imputer != "data"]
    stat = d.groupby(["rate", "imputer", "metric"], sort=True)["value"].agg(
        ["mean", "std", "count"])
    methods = [m for m in ORDER if m in set(d.imputer)] + sorted(
        set(d.imputer) - set(ORDER))

    def cell(rate, method, metric, fmt="{:.4f}"):
        if (rate, method, metric) not in stat.index:
            return ""
        s = stat.loc[(rate, method, metric)]
        sd = 0.0 if s["count"] < 2 else s["std"]
        return f"{fmt.format(s['mean'])} ± {fmt.format(sd)}"

    lines = [
        "| rate | imputer | image MSE (per image) | sum error (2 images) "
        "| MSE, partner observed | fit s | transform s | epochs | seeds "
        "| paper T7 VSAE sum |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in sorted(set(d.rate)):
        for method in methods:
            if (rate, method, "image_mse") not in stat.index:
                if (rate, method, "timeout_seconds") in stat.index:
                    cap = stat.loc[(rate, method, "timeout_seconds"), "mean"]
                    lines.append(f"| {rate} | {method} | stopped after {cap:.0f} s "
                                 "(fit + transform) | | | | | | | |")
                continue
            n = int(stat.loc[(rate, method, "image_mse"), "count"])
            paper = PAPER_SUM.get(rate, "") if method == "vsae" else ""
            lines.append(
                f"| {rate} | {method} | {cell(rate, method, 'image_mse')} | "
                f"{cell(rate, method, 'image_mse_sum')} | "
                f"{cell(rate, method, 'image_mse_partner_observed')} | "
                f"{cell(rate, method, 'fit_seconds', '{:.1f}')} | "
                f"{cell(rate, method, 'transform_seconds', '{:.1f}')} | "
                f"{cell(rate, method, 'epochs', '{:.0f}')} | {n} | {paper} |"
            )
    lines.append("\nThe paper's sum error may be defined differently (pixel scale, "
                 "averaging), so compare its values with ours only loosely.")
    rates = sorted(set(d.rate))
    if len(rates) > 1:
        lo, hi = rates[0], rates[-1]
        lines.append(f"\nError growth from rate {lo} to {hi} (image MSE, mean over "
                     "seeds):\n")
        for method in methods:
            try:
                a = stat.loc[(lo, method, "image_mse"), "mean"]
                b = stat.loc[(hi, method, "image_mse"), "mean"]
            except KeyError:
                continue
            lines.append(f"* {method}: {a:.4f} -> {b:.4f} "
                         f"({b - a:+.4f}, {100 * (b / a - 1):+.1f} %)")
        if lo in PAPER_SUM and hi in PAPER_SUM:
            a, b = PAPER_SUM[lo], PAPER_SUM[hi]
            lines.append(f"* paper VSAE (sum error): {a} -> {b} "
                         f"({b - a:+.4f}, {100 * (b / a - 1):+.1f} %)")
    return "\n".join(lines)


def config_label(vsae_kw: dict) -> str:
    """The ``config`` column of a run: VSAE's settings as sorted JSON."""
    return json.dumps(
        {k: list(v) if isinstance(v, tuple) else v for k, v in vsae_kw.items()},
        sort_keys=True,
    )


def markdown(csv_path: Path) -> str:
    """Markdown of this script's CSV: :func:`summarise` per ``config``, the default
    settings (every imputer) first, then VSAE's tuning runs."""
    df = pd.read_csv(csv_path)
    default = config_label(VSAE_DEFAULTS)
    parts = []
    if (df.config == default).any():
        parts.append(
            "Default budget (VSAE's `VSAE_DEFAULTS`; the other imputers on "
            f"`IMAGE_BUDGET`):\n\n{summarise(df[df.config == default])}"
        )
    parts += [
        f"VSAE tuning run `{config}` (rate 0.5, seed 0):\n\n{summarise(g)}"
        for config, g in df[df.config != default].groupby("config", sort=False)
    ]
    return "\n\n".join(parts)


def plot(view: dict, rate: float, path: Path, n_rows: int = 6) -> None:
    """Observed / hidden truth / VSAE / KNN images for test rows with one hidden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth, img_hidden, blocks = view["truth"], view["hidden"], view["blocks"]
    outputs = view["outputs"]
    picks = np.flatnonzero(img_hidden.sum(axis=1) == 1)[:n_rows]
    cols = ["observed", "hidden truth"] + [m for m in ("vsae", "knn", "mean")
                                          if m in outputs][:2]
    fig, axes = plt.subplots(len(picks), len(cols),
                             figsize=(1.6 * len(cols), 1.6 * len(picks)),
                             squeeze=False)
    for r, i in enumerate(picks):
        h = int(np.argmax(img_hidden[i]))  # the hidden image of this row
        shown = {"observed": truth[i, blocks[1 - h]],
                 "hidden truth": truth[i, blocks[h]]}
        shown.update({m: outputs[m][i, blocks[h]] for m in cols[2:]})
        for c, name in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(np.asarray(shown[name], float).reshape(28, 28), cmap="gray",
                      vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name if name in ("observed", "hidden truth")
                             else f"{name.upper()} imputation", fontsize=8)
    fig.suptitle(f"MNIST+MNIST, MCAR {rate} (test rows, one image hidden)",
                 fontsize=9)
    save_figure(fig, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p, seeds=(0,), out=OUT, figure=True,
               quick="300 rows, 2 epochs, 10 importance samples (smoke test)")
    p.add_argument("--cap-seconds", type=float, default=1800.0,
                   help="stop a runner imputer's cell after this long (1800)")
    p.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    p.add_argument("--imputers", nargs="+", default=list(METHODS),
                   choices=list(METHODS) + [m for m in available()
                                            if m not in METHODS], metavar="NAME",
                   help="vsae, mean, knn or names of benchmarks.profiles "
                   "(default: vsae mean knn)")
    p.add_argument("--n-samples", type=int, default=None,
                   help="rows kept (all 4832; --quick: 300)")
    p.add_argument("--max-iter", type=int, default=None, help="VSAE epochs")
    p.add_argument("--vsae", type=str, default="{}",
                   help="extra VSAEImputer keyword arguments as JSON")
    p.add_argument("--tag", type=str, default="", help="label stored in the CSV")


def resolve(args, parser: argparse.ArgumentParser) -> None:
    try:
        extra = json.loads(args.vsae)
    except json.JSONDecodeError as exc:
        parser.error(f"--vsae: not JSON ({exc})")
    if not isinstance(extra, dict):
        parser.error("--vsae: give a JSON object of VSAEImputer parameters")
    args.n_samples = args.n_samples or (300 if args.quick else None)
    vsae_kw = dict(VSAE_DEFAULTS, **(QUICK if args.quick else {}))
    for k, v in extra.items():  # JSON lists -> the tuples the estimator expects
        vsae_kw[k] = tuple(v) if isinstance(v, list) else v
    if args.max_iter is not None:
        vsae_kw["max_iter"] = args.max_iter
    args.vsae_kw = vsae_kw
    args.config = args.tag or config_label(vsae_kw)
    args.outputs = [args.out]


def main(args) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config, vsae_kw = args.config, args.vsae_kw
    rows, views, stopped = [], {}, set()
    for seed in args.seeds:
        ds = make_mnist_pairs(random_state=seed, n_samples=args.n_samples)
        for rate in args.rates:
            got, view = run_one(ds, seed, rate, args.imputers, vsae_kw,
                                quick=args.quick, cap=args.cap_seconds,
                                stopped=stopped)
            if seed == 0:
                views[rate] = view
            for r in got:
                r["config"] = config
                r["quick"] = args.quick
            rows.extend(got)
            # appended per seed and rate, so a stopped run keeps what it finished
            write_rows(args.out, got, FIELDS, append=True)
            done = pd.DataFrame(got)
            done = done[done.metric.isin(["image_mse", "fit_seconds",
                                          "transform_seconds"])]
            print(f"seed {seed} rate {rate}:", done.pivot_table(
                index="imputer", columns="metric", values="value").round(4)
                .to_dict("index"), flush=True)
    df = pd.DataFrame(rows)
    print(f"\nconfig: {config}")
    print(summarise(df))
    print(f"\nwrote {len(df)} rows to {args.out}")
    if args.figure is not None and views:
        rate = 0.5 if 0.5 in views else sorted(views)[0]
        plot(views[rate], rate, args.figure)
        print(f"figure: {args.figure} (rate {rate}, seed 0)")
    return 0
