"""Seconds per training epoch of the deep imputers against a plain MLP reference.

For each method and size ``n`` a synthetic mixed table
(:func:`deepimpute.datasets.make_mixed_data`, 4 numerical + 3 categorical columns,
MCAR 0.3, as ``benchmarks/scale.py``) is fitted with the method's defaults
(early stopping and the validation split off, as the scale benchmark). Its epoch
time is compared with that of a plain MLP trained by the same loop
(:func:`deepimpute.training.train`) on the same rows with the same batch size:

* the MLP maps ``[values, mask]`` to the values through two hidden layers whose
  width gives it the method's number of trainable parameters;
* its loss is the masked squared error, and it runs on ``copies`` stacked copies
  of each batch so that its matrix-multiply FLOPs per row and step match the
  method's (counted by ``torch.utils.flop_counter.FlopCounterMode`` on one
  training step: multiplies only, elementwise work is not counted).

``ratio`` is the method's seconds per epoch over the MLP's; one epoch is timed
(the first: it includes the allocator's warm-up, small against 1e5 rows).
``--profile`` records the top operators (torch.profiler, self CPU time) of one
training epoch per method on ``--profile-rows`` rows in ``epoch_cost_profile.csv``.
``--compile`` measures ``torch.compile`` per method in ``epoch_cost_compile.csv``:
the method's loss function compiled (RVI: its per-row loss) against the plain
one, on ``--compile-rows`` rows: wall seconds of the first epoch (compilation
included) and of the later ones, the first fit of a small table (``--small-rows``
rows, 5 epochs), whether two compiled fits give the same losses and whether the
fitted imputer still pickles. ``--label`` names the code measured (``after``: the
current code; rows of earlier code stay in the CSV, the report shows the current
code's).

    python -m benchmarks.epoch_cost --sizes 100000 --profile --label after
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks._cli import versions
from deepimpute.datasets import make_mixed_data
from deepimpute.imputers import IMPUTERS
from deepimpute.missingness import simulate_missing
from deepimpute.nn import mlp
from deepimpute.training import Batch, ImputationModule, table_tensors, train

RESULTS = Path(__file__).resolve().parent / "results"
NAME, PROFILE = "epoch_cost.csv", "epoch_cost_profile.csv"
COMPILE = "epoch_cost_compile.csv"
METHODS = ("vsae", "miwae", "factvae", "rvi")
FIXED = dict(validation_fraction=0.0, n_iter_no_change=None, device="cpu")


class PlainMLP(ImputationModule):
    """The reference: ``[x, mask] -> x`` MLP, masked squared error, ``copies``
    stacked copies of each batch (to match a method's FLOPs per row)."""

    def __init__(self, width: int, hidden: int, copies: int) -> None:
        super().__init__()
        self.net = mlp(2 * width, (hidden, hidden), width)
        self.copies = copies

    def loss(self, batch: Batch) -> torch.Tensor:
        inp = torch.cat([batch.x, batch.observed], dim=-1)
        if self.copies > 1:
            inp = inp.expand(self.copies, *inp.shape)
        err = (self.net(inp) - batch.x) ** 2 * batch.observed
        return err.sum(-1).mean()


def hidden_for(width: int, n_params: int) -> int:
    """Width ``h`` of two hidden layers with about ``n_params`` parameters:
    ``(2w + 1) h + (h + 1) h + (h + 1) w``."""
    a, b, c = 1.0, 2 * width + 1 + 1 + width, width - n_params
    return max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))


def n_trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def step_flops(module, data, batch_size: int, lr: float) -> float:
    """Matrix-multiply FLOPs of one training step, per row."""
    x, o, a = (t[:batch_size] for t in table_tensors(data))
    batch = Batch(x, o, a, torch.arange(len(x)))
    opts = module.configure_optimizers(lr)
    module.train()
    with FlopCounterMode(display=False) as fc:
        module.training_step(batch, opts)
    return fc.get_total_flops() / len(x)


def epoch_seconds(history: list[dict]) -> float:
    return history[0]["seconds"]


def table(n: int, seed: int = 0):
    X = make_mixed_data(n, random_state=seed).frame
    Xm, _ = simulate_missing(X, "mcar", 0.3, random_state=seed)
    return Xm


class _CPUClock:
    """CPU seconds of this process from ``start()`` to the first epoch's end."""

    def start(self) -> None:
        self.t0, self.seconds = time.process_time(), None

    def __call__(self, *args) -> None:
        if self.seconds is None:
            self.seconds = time.process_time() - self.t0


def measure(method: str, Xm, epochs: int) -> dict:
    # warm-up: first-call costs (imports, allocator) stay out of the clock
    IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm.iloc[:300])
    clock = _CPUClock()
    imp = IMPUTERS[method](max_iter=epochs, random_state=0, callback=clock, **FIXED)
    clock.start()
    imp.fit(Xm)
    sec, cpu = epoch_seconds(imp.history_), clock.seconds
    _, data = imp.encoder_.encode(Xm)
    module = imp.module_
    params = n_trainable(module)
    flops = step_flops(module, data, imp.batch_size, imp.learning_rate)
    width = data.values.shape[1]
    hidden = hidden_for(width, params)
    ref = PlainMLP(width, hidden, 1)
    copies = max(1, round(flops / step_flops(ref, data, imp.batch_size, 1e-3)))
    ref = PlainMLP(width, hidden, copies)
    torch.manual_seed(0)
    clock.start()
    hist = train(ref, table_tensors(data), max_iter=epochs, batch_size=imp.batch_size,
                 learning_rate=1e-3, device=torch.device("cpu"),
                 validation_fraction=0.0, n_iter_no_change=None, callback=clock)
    ref_sec, ref_cpu = epoch_seconds(hist), clock.seconds
    return dict(imputer=method, n_rows=len(Xm), batch_size=imp.batch_size,
                params=params, flops_per_row=flops, mlp_hidden=hidden,
                mlp_params=n_trainable(ref), mlp_copies=copies,
                mlp_flops_per_row=step_flops(ref, data, imp.batch_size, 1e-3),
                seconds=sec, mlp_seconds=ref_sec, ratio=sec / ref_sec,
                cpu_seconds=cpu, mlp_cpu_seconds=ref_cpu, cpu_ratio=cpu / ref_cpu,
                threads=torch.get_num_threads())


def profile(method: str, Xm, top: int = 8) -> list[dict]:
    """Top operators by self CPU time of one training epoch (after a warm-up fit)."""
    from torch.profiler import profile as torch_profile

    IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm.iloc[:500])
    imp = IMPUTERS[method](max_iter=1, random_state=0, **FIXED)
    with torch_profile() as prof:
        imp.fit(Xm)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    return [dict(imputer=method, n_rows=len(Xm), rank=i + 1, op=e.key,
                 calls=e.count, self_seconds=e.self_cpu_time_total / 1e6,
                 share=e.self_cpu_time_total / total, total_seconds=total / 1e6)
            for i, e in enumerate(events[:top])]


def _compiled(method: str, **kw):
    """The method's imputer whose module gets its loss wrapped by torch.compile."""
    imp = IMPUTERS[method](**kw)
    build = imp._build_module

    def build_compiled(layout, n_rows):
        module = build(layout, n_rows)
        name = "row_loss" if hasattr(module, "row_loss") else "loss"
        setattr(module, name, torch.compile(getattr(module, name)))
        return module

    imp._build_module = build_compiled
    return imp


def compile_cost(method: str, rows: int, small_rows: int) -> dict:
    import pickle

    import torch._dynamo

    out = dict(imputer=method, n_rows=rows, small_rows=small_rows)
    for mode in ("plain", "compiled"):
        torch._dynamo.reset()
        make = _compiled if mode == "compiled" else (
            lambda m, **kw: IMPUTERS[m](**kw))
        t = time.perf_counter()
        small = make(method, max_iter=5, random_state=0, **FIXED).fit(table(small_rows))
        out[f"{mode}_first_fit_s"] = time.perf_counter() - t
        losses = [h["loss"] for h in small.history_]
        again = make(method, max_iter=5, random_state=0, **FIXED).fit(table(small_rows))
        out[f"{mode}_deterministic"] = losses == [h["loss"] for h in again.history_]
        try:
            pickle.dumps(small)
            out[f"{mode}_pickles"] = True
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            out[f"{mode}_pickles"] = f"{type(exc).__name__}"
        imp = make(method, max_iter=3, random_state=0, **FIXED).fit(table(rows))
        secs = [h["seconds"] for h in imp.history_]
        out[f"{mode}_epoch1_s"] = secs[0]
        out[f"{mode}_later_epoch_s"] = (secs[-1] - secs[0]) / (len(secs) - 1)
        out[f"{mode}_losses"] = losses
    return out


def compile_summary(path: Path) -> str:
    df = pd.read_csv(path)
    lines = ["| method | first fit, plain / compiled (s) | epoch 1, plain / compiled "
             "(s) | later epochs, plain / compiled (s) | deterministic | pickles |",
             "|---" * 6 + "|"]
    for r in df.itertuples():
        lines.append(
            f"| {r.imputer} | {r.plain_first_fit_s:.1f} / {r.compiled_first_fit_s:.1f} "
            f"| {r.plain_epoch1_s:.2f} / {r.compiled_epoch1_s:.2f} | "
            f"{r.plain_later_epoch_s:.2f} / {r.compiled_later_epoch_s:.2f} | "
            f"{r.compiled_deterministic} | {r.compiled_pickles} |")
    n, small = int(df.n_rows.iloc[0]), int(df.small_rows.iloc[0])
    return (f"`torch.compile` of the loss: first fit of {small} rows (5 epochs, "
            f"compilation included), epochs of {n} rows (wall seconds; the "
            "compiled epoch 1 reuses what the small fit compiled):\n\n"
            + "\n".join(lines))


def summary(path: Path) -> str:
    df = pd.read_csv(path)
    lines = ["| code | method | rows | batch | params | MFLOP/row/step | MLP hidden x "
             "copies | CPU s/epoch | MLP CPU s/epoch | CPU ratio | wall ratio |",
             "|---" * 11 + "|"]
    for r in df.sort_values(["n_rows", "imputer", "label"]).itertuples():
        lines.append(
            f"| {r.label} | {r.imputer} | {r.n_rows:g} | {r.batch_size} | {r.params} "
            f"| {r.flops_per_row / 1e6:.3f} | {r.mlp_hidden} x {r.mlp_copies} | "
            f"{r.cpu_seconds:.2f} | {r.mlp_cpu_seconds:.2f} | {r.cpu_ratio:.2f} | "
            f"{r.ratio:.2f} |")
    return ("CPU seconds of the process over the first epoch (the method's include "
            "encoding the table, well under a second at 1e5 rows); the wall "
            "ratio uses the loop's own epoch time:\n\n" + "\n".join(lines))


def profile_summary(path: Path) -> str:
    df = pd.read_csv(path)
    out = []
    for (method, label), sub in df.groupby(["imputer", "label"], sort=True):
        ops = ", ".join(f"{r.op} {100 * r.share:.0f} %" for r in sub.itertuples())
        out.append(f"- {method}, {label} ({sub.total_seconds.iloc[0]:.1f} s "
                   f"profiled, {int(sub.n_rows.iloc[0])} rows): {ops}")
    return "\n".join(out)


def markdown(path: Path) -> str:
    """Report helper: the epoch table, or the profile list for the profile CSV."""
    if path.name == COMPILE:
        return compile_summary(path)
    return profile_summary(path) if path.name == PROFILE else summary(path)


def _write(rows: list[dict], path: Path, label: str, append: bool) -> None:
    df = pd.DataFrame(rows)
    df.insert(0, "label", label)
    df["versions"] = versions()
    if append and path.exists():
        old = pd.read_csv(path)
        df = pd.concat([old[old.label != label], df], ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-rows", type=int, default=20_000)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--compile-rows", type=int, default=20_000)
    ap.add_argument("--small-rows", type=int, default=500)
    ap.add_argument("--label", default="after")
    ap.add_argument("--append", action="store_true",
                    help="replace only this label's rows in the CSVs")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes if not args.compile else []:
        Xm = table(n)
        for method in args.methods:
            t = time.perf_counter()
            row = measure(method, Xm, 1)
            rows.append(row)
            print(f"{method} n={n}: {row['cpu_seconds']:.2f} CPU s/epoch, MLP "
                  f"{row['mlp_cpu_seconds']:.2f}, ratio {row['cpu_ratio']:.2f} "
                  f"(wall {row['ratio']:.2f}; {time.perf_counter() - t:.0f} s)",
                  flush=True)
    if rows:
        _write(rows, args.results / NAME, args.label, args.append)
        print(summary(args.results / NAME))
    if args.profile:
        Xm = table(args.profile_rows)
        prof = [r for method in args.methods for r in profile(method, Xm)]
        _write(prof, args.results / PROFILE, args.label, args.append)
        print(profile_summary(args.results / PROFILE))
    if args.compile:
        comp = []
        for method in args.methods:
            comp.append(compile_cost(method, args.compile_rows, args.small_rows))
            print(comp[-1], flush=True)
            _write(comp, args.results / COMPILE, args.label, args.append)
        print(compile_summary(args.results / COMPILE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
