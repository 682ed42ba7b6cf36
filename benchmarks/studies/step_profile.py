"""Kernels and seconds per training step of the deep imputers, beside a plain MLP.

For each method a synthetic mixed table
(:func:`deepimpute.datasets.make_mixed_data`, MCAR 0.3, as
:mod:`benchmarks.perf.epoch_cost`) fits one epoch with the method's defaults
(early stopping off); then, on its fitted core and the default batch size:

* ``ops_per_step``: aten operators dispatched per training step, forward, backward
  and optimizer together (a ``TorchDispatchMode`` below autograd sees each one),
  and ``kernels_per_step``: those that compute (views, reshapes and other
  metadata-only operators left out), the number of kernels a step launches;
* ``step_ms``: wall milliseconds per step (median of ``--repeats`` runs of
  ``--steps`` steps), beside ``mlp_step_ms``, the same for the equal-FLOP plain MLP
  of :mod:`benchmarks.perf.epoch_cost` (its parameters and multiply FLOPs per row match
  the method's), timed alternately in the same process so that the machine's load
  falls on both alike; ``ratio`` is their quotient and ``ratio_min`` / ``ratio_max``
  its spread over the repeats;
* ``--top`` operators by self CPU time over the steps (torch.profiler), in
  ``step_profile_ops.csv``.

``--label`` names the code measured (rows of other labels stay in the CSVs; a
method's rows of the same label are replaced). The report renders the CSVs with
:func:`summary` and :func:`ops_summary`.

    python -m benchmarks.studies.step_profile --label after
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from benchmarks._cli import RESULTS, versions
from benchmarks.perf.epoch_cost import (
    FIXED,
    PlainMLP,
    hidden_for,
    n_trainable,
    step_flops,
    table,
)
from benchmarks.perf.step_kernels import METADATA, METHODS, OpCounter
from deepimpute.imputers import IMPUTERS
from deepimpute.training import Batch, table_tensors

NAME, OPS = "step_profile.csv", "step_profile_ops.csv"


def _batches(data, batch_size: int, n: int):
    tensors = table_tensors(data)
    rows = torch.arange(min(len(tensors[0]), batch_size * n))
    out = []
    for idx in rows.split(batch_size):
        x, o, a = (t[idx] for t in tensors)
        out.append(Batch(x, o, a, idx))
    return out


def _run(module, opts, batches) -> float:
    t = time.perf_counter()
    for b in batches:
        module.training_step(b, opts)
    return (time.perf_counter() - t) / len(batches)


def measure(method: str, Xm, steps: int, repeats: int, top: int):
    imp = IMPUTERS[method](max_iter=1, random_state=0, **FIXED).fit(Xm)
    _, data = imp.encoder_.encode(Xm)
    module = imp.module_
    module.train()
    bs, lr = imp.batch_size, imp.learning_rate
    opts = module.configure_optimizers(lr)
    if hasattr(module, "on_epoch_start"):
        module.on_epoch_start(len(imp.history_))
    params, flops = n_trainable(module), step_flops(module, data, bs, lr)
    width = data.values.shape[1]
    hidden = hidden_for(width, params)
    ref = PlainMLP(width, hidden, 1)
    copies = max(1, round(flops / step_flops(ref, data, bs, 1e-3)))
    ref = PlainMLP(width, hidden, copies)
    ref.train()
    ref_opts = ref.configure_optimizers(1e-3)
    batches = _batches(data, bs, steps)
    torch.manual_seed(0)
    _run(module, opts, batches[:3])  # warm-up
    _run(ref, ref_opts, batches[:3])
    with OpCounter() as count:
        for b in batches[:5]:
            module.training_step(b, opts)
    ops = {k: v / 5 for k, v in count.ops.items()}
    with OpCounter() as ref_count:
        for b in batches[:5]:
            ref.training_step(b, ref_opts)
    ref_ops = {k: v / 5 for k, v in ref_count.ops.items()}
    times, ref_times = [], []
    for _ in range(repeats):
        times.append(_run(module, opts, batches))
        ref_times.append(_run(ref, ref_opts, batches))
    ratios = [a / b for a, b in zip(times, ref_times, strict=True)]
    from torch.profiler import profile as torch_profile

    with torch_profile() as prof:
        _run(module, opts, batches)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    top_rows = [dict(imputer=method, rank=i + 1, op=e.key,
                     calls_per_step=e.count / len(batches),
                     self_ms_per_step=e.self_cpu_time_total / 1e3 / len(batches),
                     share=e.self_cpu_time_total / total)
                for i, e in enumerate(events[:top])]

    def kernels(d):
        return sum(v for k, v in d.items() if k not in METADATA)

    row = dict(imputer=method, batch_size=bs, params=params, flops_per_row=flops,
               mlp_hidden=hidden, mlp_copies=copies,
               ops_per_step=sum(ops.values()), kernels_per_step=kernels(ops),
               mlp_ops_per_step=sum(ref_ops.values()),
               mlp_kernels_per_step=kernels(ref_ops),
               step_ms=1e3 * statistics.median(times),
               mlp_step_ms=1e3 * statistics.median(ref_times),
               ratio=statistics.median(ratios), ratio_min=min(ratios),
               ratio_max=max(ratios), repeats=repeats, steps=len(batches),
               threads=torch.get_num_threads())
    return row, top_rows


def _write(rows: list[dict], path: Path, label: str) -> None:
    df = pd.DataFrame(rows)
    df.insert(0, "label", label)
    df["versions"] = versions()
    if path.exists():
        old = pd.read_csv(path)
        old = old[~((old.label == label) & old.imputer.isin(df.imputer.unique()))]
        df = pd.concat([old, df], ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def summary(path: Path) -> str:
    """Kernels and milliseconds per step beside the MLP's, per method and label."""
    df = pd.read_csv(path)
    lines = ["| code | method | batch | kernels / step (MLP) | ms / step (MLP) | "
             "ratio (min-max) |", "|---" * 6 + "|"]
    for r in df.sort_values(["imputer", "label"]).itertuples():
        lines.append(
            f"| {r.label} | {r.imputer} | {r.batch_size} | {r.kernels_per_step:.0f} "
            f"({r.mlp_kernels_per_step:.0f}) | {r.step_ms:.2f} ({r.mlp_step_ms:.2f}) "
            f"| {r.ratio:.2f} ({r.ratio_min:.2f}-{r.ratio_max:.2f}) |")
    return "\n".join(lines)


def ops_summary(path: Path) -> str:
    """The top operators' shares of a step, one line per method and label."""
    df = pd.read_csv(path)
    out = []
    for (method, label), sub in df.groupby(["imputer", "label"], sort=True):
        ops = ", ".join(f"{r.op} {100 * r.share:.0f} %" for r in sub.itertuples())
        out.append(f"- {method}, {label}: {ops}")
    return "\n".join(out)


def markdown(paths) -> str:
    """The report's view of ``[step_profile.csv, step_profile_ops.csv]``: the
    per-step table, then each method's top operators."""
    step, ops = paths
    return (f"{summary(step)}\n\nTop operators by self CPU time over the steps "
            f"(torch.profiler):\n\n{ops_summary(ops)}")


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the two CSVs it updates."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--label", default="after")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help=f"the folder of {NAME} and {OPS}")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        ap.error(f"--methods: unknown {unknown}; choose from {list(METHODS)}")
    args.outputs = [args.results / NAME, args.results / OPS]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    Xm = table(args.rows)
    rows, tops = [], []
    for method in args.methods:
        row, top = measure(method, Xm, args.steps, args.repeats, args.top)
        rows.append(row)
        tops.extend(top)
        print(f"{method}: {row['kernels_per_step']:.0f} kernels/step "
              f"(MLP {row['mlp_kernels_per_step']:.0f}), {row['step_ms']:.2f} ms "
              f"(MLP {row['mlp_step_ms']:.2f}), ratio {row['ratio']:.2f} "
              f"[{row['ratio_min']:.2f}, {row['ratio_max']:.2f}]", flush=True)
    _write(rows, args.results / NAME, args.label)
    _write(tops, args.results / OPS, args.label)
    print(summary(args.results / NAME))
    print(ops_summary(args.results / OPS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
