"""RVI / VAD transform: the former inference against today's, seconds and error.

A fitted RVI or VAD imputes new rows by optimising each row's posterior with the
decoder frozen (``RVI.infer``). Variants, all on the same fitted model:

* ``old``: the first code (kept below as :func:`legacy_infer`: one Adam over the
  whole parameter table per step, top-B by ``topk``, batches of 1024 rows) with
  its settings, 250 steps of 1e-3 from the prior;
* ``prior``: the former default (``inference_init="prior"``): 80 steps of 3e-3
  from the prior mean;
* ``default``: today's default, as fitted: the guide's guess refined by
  ``inference_steps_`` (20 or 40) steps of 3e-3, or 80 steps from the prior where
  the fit's check found the guide wanting (``steps`` and ``start`` columns);
* ``guide-only``: the guide's guess with no step (what the steps add).

Parts (one CSV, ``part`` column):

1. ``tables``: yeast, white wine, heart; MCAR 0.5; rows split 80/20 as the runner
   (:func:`benchmarks.quality.grid.split`); RVI and VAD fitted on the 80 % with the
   runner's 250 epochs, the 20 % transformed; ``nrmse_per_feature`` (and PFC on
   heart) on the hidden test cells; seeds 0-2.
2. ``images``: MNIST pairs (:func:`deepimpute.datasets.make_mnist_pairs`, whole
   images hidden at rate 0.5 as in the ``image-pairs`` suite), reduced to
   ``--image-rows`` rows and 100 epochs with the image budget's latent size and
   widths (the full run takes the 4832 rows and 250 epochs); ``image_mse`` of
   the hidden test images (seed 0 by default, ``--image-seeds``).
3. ``1e5``: seconds to transform 1e5 rows of
   :func:`deepimpute.datasets.make_mixed_data` (MCAR 0.3) with a model fitted on
   2000 rows (20 epochs); ``old`` runs on 1e4 rows and is scaled by 10
   (``extrapolated=1``), the others on all 1e5 rows;
   one torch thread (on the shared 2-core machine two threads ran slower than
   one).

Seconds are the wall time of ``transform`` and the CPU time of this process
(``cpu_seconds``, all its threads); other jobs on the machine inflate the wall
time, so compare rows of one run.

Each fitted model is one point of the suite (``setup`` fits it, ``track_variants``
transforms with every variant); ``--append`` replaces only the rows of ``--parts``.

    python -m benchmarks.perf --suite rvi_transform
    python -m benchmarks.perf --suite rvi_transform --quick
"""

from __future__ import annotations

import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmarks.perf import Benchmark
from benchmarks.quality.grid import split
from deepimpute.datasets import (
    load_heart,
    load_white_wine,
    load_yeast,
    make_mixed_data,
    make_mnist_pairs,
)
from deepimpute.imputers import RVIImputer, VADImputer
from deepimpute.metrics import image_mse, score_imputation
from deepimpute.missingness import simulate_missing
from deepimpute.models.rvi import _row_adam

OLD = dict(inference_steps=250, inference_lr=1e-3)
VARIANTS = ("old", "prior", "default", "guide-only")
PRIOR = dict(inference_steps=80, inference_lr=3e-3)
TABLES = {"yeast": load_yeast, "white_wine": load_white_wine, "heart": load_heart}
METHODS = {"rvi": RVIImputer, "vad": VADImputer}


def legacy_infer(self, batch, steps=None):
    """The former inference loop (for timing; same optimisation)."""
    steps = self.inference_steps if steps is None else steps
    n = batch.n_rows
    theta = self.init_rows(1, relay_scale=1e-3).expand(n, -1).clone()
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    step = torch.zeros(n, 1)
    with torch.enable_grad():
        for _ in range(steps):
            theta.requires_grad_(True)
            total = self.row_loss(theta, batch, shared_noise=True).sum()
            (grad,) = torch.autograd.grad(total, theta)
            theta, m, v, step = _row_adam(
                theta.detach(), grad, m, v, step, self.inference_learning_rate
            )
    return theta.detach()


def configure(imp, variant: str) -> None:
    """Set the fitted imputer's inference to ``variant`` (in place)."""
    mod = imp.module_
    # the fitted defaults, kept at the first call
    default = imp.__dict__.setdefault(
        "_fitted_start", (bool(mod.use_guide), mod.inference_steps))
    mod.__dict__.pop("infer", None)
    imp._inference_batch_size = type(imp)._inference_batch_size
    mod.inference_learning_rate = imp.inference_learning_rate
    use_guide, mod.inference_steps = default
    if variant in ("old", "prior"):
        use_guide = False
        mod.inference_steps, mod.inference_learning_rate = {
            "old": OLD, "prior": PRIOR}[variant].values()
    if variant == "guide-only":
        use_guide, mod.inference_steps = True, 0
    mod.use_guide.fill_(use_guide)
    if variant == "old":
        mod.infer = types.MethodType(legacy_infer, mod)
        imp._inference_batch_size = 1024


def _start(imp) -> str:
    return "guide" if bool(imp.module_.use_guide) else "prior"


def timed_transform(imp, X):
    """Output, wall seconds and CPU seconds of this process (all threads)."""
    t, c = time.perf_counter(), time.process_time()
    Z = imp.transform(X)
    return Z, time.perf_counter() - t, time.process_time() - c


class RVITransform(Benchmark):
    """Seconds and error of the four inference variants on the same fitted model."""

    name = "rvi_transform"
    fields = ["part", "dataset", "imputer", "seed", "variant", "n_rows", "steps",
              "start", "threads", "seconds", "cpu_seconds", "extrapolated", "metric",
              "value", "quick", "versions"]
    out = "rvi_transform_speed.csv"

    @classmethod
    def add_arguments(cls, ap) -> None:
        ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the tables part (default 0 1 2)")
        ap.add_argument("--image-seeds", type=int, nargs="+", default=[0])
        ap.add_argument("--image-rows", type=int, default=1200)
        ap.add_argument("--large-rows", type=int, default=100_000)
        ap.add_argument("--parts", nargs="+", default=["tables", "images", "1e5"],
                        choices=["tables", "images", "1e5"])

    @classmethod
    def resolve(cls, args, parser) -> None:
        if args.quick:
            args.seeds, args.image_seeds = [0], [0]
            args.image_rows, args.large_rows = 200, 2000

    def points(self):
        a = self.args
        if "tables" in a.parts:
            for name in TABLES:
                for seed in a.seeds:
                    for method in METHODS:
                        yield dict(part="tables", dataset=name, imputer=method,
                                   seed=seed)
        if "images" in a.parts:
            for seed in a.image_seeds:
                yield dict(part="images", dataset="mnist_pairs", imputer="rvi",
                           seed=seed)
        if "1e5" in a.parts:
            for method in METHODS:
                yield dict(part="1e5", dataset="mixed", imputer=method, seed=0)

    def keep(self, row: dict) -> bool:
        return row.get("part") not in self.args.parts

    def setup(self, part: str, dataset: str, imputer: str, seed: int) -> None:
        quick = self.args.quick
        self.part = part
        if part == "tables":
            ds = TABLES[dataset]()
            X = ds.frame
            Xm, _ = simulate_missing(X, "mcar", 0.5, random_state=seed)
            tr, te = split(len(X), seed)
            if quick:
                tr, te = tr[:300], te[:100]
            self.truth, self.X_test, self.spec = X.iloc[te], Xm.iloc[te], ds.spec
            self.imp = METHODS[imputer](
                random_state=seed, device="cpu", max_iter=3 if quick else 250
            ).fit(Xm.iloc[tr])
        elif part == "images":
            ds = make_mnist_pairs(n_samples=self.args.image_rows, random_state=seed)
            Xm, _ = simulate_missing(ds.frame, "mcar", 0.5, spec=ds.spec,
                                     ensure_observed=False, random_state=seed)
            tr, te = split(len(Xm), seed)
            self.truth, self.X_test, self.spec = ds.frame.iloc[te], Xm.iloc[te], ds.spec
            self.imp = RVIImputer(latent_dim=8 if quick else 32, hidden=(128, 128),
                                  column_spec=ds.spec, max_iter=2 if quick else 100,
                                  random_state=seed, device="cpu").fit(Xm.iloc[tr])
        else:
            n_rows = self.args.large_rows
            fit = make_mixed_data(2000, random_state=0).frame
            fit_m, _ = simulate_missing(fit, "mcar", 0.3, random_state=0)
            big = make_mixed_data(n_rows, random_state=1).frame
            self.X_test, _ = simulate_missing(big, "mcar", 0.3, random_state=1)
            self.imp = METHODS[imputer](
                random_state=0, device="cpu", max_iter=2 if quick else 20
            ).fit(fit_m)

    def track_variants(self) -> list[dict]:
        """One transform per variant: a row per metric (none for ``1e5``)."""
        rows = []
        for variant in VARIANTS:
            configure(self.imp, variant)
            common = dict(variant=variant, steps=self.imp.module_.inference_steps,
                          start=_start(self.imp), threads=torch.get_num_threads())
            if self.part == "1e5":
                n_rows = len(self.X_test)
                extrapolate = variant == "old"  # 1e4 rows, scaled by 10
                X = self.X_test.iloc[: n_rows // 10] if extrapolate else self.X_test
                _, sec, cpu = timed_transform(self.imp, X)
                scale = 10 if extrapolate else 1
                rows.append(dict(common, n_rows=n_rows, seconds=sec * scale,
                                 cpu_seconds=cpu * scale,
                                 extrapolated=int(extrapolate), metric="", value=""))
                print(self.imp.__class__.__name__, variant,
                      f"{rows[-1]['seconds']:.1f}s wall, "
                      f"{rows[-1]['cpu_seconds']:.1f}s CPU", flush=True)
                continue
            Z, sec, cpu = timed_transform(self.imp, self.X_test)
            miss = self.X_test.isna().to_numpy()
            common.update(n_rows=len(self.X_test), seconds=sec, cpu_seconds=cpu,
                          extrapolated=0)
            if self.part == "images":
                scores = {"image_mse": image_mse(self.truth, Z, missing=miss,
                                                 spec=self.spec)}
            else:
                s = score_imputation(self.truth, Z, missing=miss, spec=self.spec)
                scores = {m: s[m] for m in ("nrmse_per_feature", "pfc")
                          if s.get(m) is not None and np.isfinite(s[m])}
            rows += [dict(common, metric=m, value=v) for m, v in scores.items()]
        return rows

    def summary(self, out: Path) -> str:
        return summary(out)


def _starts(df: pd.DataFrame, dataset: str, method: str, metric: str) -> str:
    """How the fitted defaults started new rows, e.g. ``guide 20 (2), prior 80
    (1)``."""
    if "start" not in df:
        return ""
    sel = df[(df.dataset == dataset) & (df.imputer == method) & (df.metric == metric)
             & (df.variant == "default")]
    counts = sel.groupby(["start", "steps"]).seed.nunique()
    return ", ".join(f"{start} {steps} ({n})" for (start, steps), n in counts.items())


def summary(path: Path) -> str:
    """Markdown: per part, dataset and method, seconds and error per variant."""
    df = pd.read_csv(path, dtype={"part": str})
    out = []
    q = df[df.part != "1e5"]
    if len(q):
        g = q.groupby(["dataset", "imputer", "metric", "variant"])
        agg = g.agg(seconds=("cpu_seconds", "mean"), value=("value", "mean"),
                    sd=("value", "std"), seeds=("seed", "nunique")).reset_index()
        lines = ["| dataset | method | metric | seeds | "
                 + " | ".join(f"{v}: error (s)" for v in VARIANTS)
                 + " | default's start (fits) |",
                 "|---" * (5 + len(VARIANTS)) + "|"]
        for (d, m, met), sub in agg.groupby(["dataset", "imputer", "metric"]):
            cells = []
            for v in VARIANTS:
                r = sub[sub.variant == v]
                cells.append("" if r.empty else
                             f"{r.value.iloc[0]:.4f} ± {r.sd.iloc[0]:.4f} "
                             f"({r.seconds.iloc[0]:.2f})")
            lines.append(f"| {d} | {m} | {met} | {int(sub.seeds.max())} | "
                         + " | ".join(cells) + f" | {_starts(q, d, m, met)} |")
        out.append("Error of the transformed test rows (mean ± sd over seeds) and, "
                   "in brackets, CPU seconds of the transform (mean):\n\n"
                   + "\n".join(lines))
    big = df[df.part == "1e5"]
    if len(big):
        n = int(big.n_rows.iloc[0])
        lines = [f"| method | variant | threads | CPU seconds per {n:g} rows | "
                 "wall seconds | measured on |",
                 "|---|---|---|---|---|---|"]
        for r in big.itertuples():
            lines.append(f"| {r.imputer} | {r.variant} | {r.threads} | "
                         f"{r.cpu_seconds:.1f} | {r.seconds:.1f} | "
                         f"{f'{n // 10:g} rows x 10' if r.extrapolated else 'all'} |")
        out.append(f"Transform of {n:g} rows (`make_mixed_data`, MCAR 0.3). CPU "
                   "seconds of the process (with one thread: the wall time on an "
                   "idle core; other jobs on the machine inflate the wall "
                   "time):\n\n" + "\n".join(lines))
    return "\n\n".join(out)
