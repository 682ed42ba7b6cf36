"""Does ``torch.compile`` speed up the deep imputers' training? (a one-off study)

Per method, the method's loss function compiled (RVI: its per-row loss) against the
plain one, on ``--compile-rows`` rows of the epoch-cost table
(:func:`benchmarks.perf.epoch_cost.table`): wall seconds of the first epoch
(compilation included) and of the later ones, the first fit of a small table
(``--small-rows`` rows, 5 epochs), whether two compiled fits give the same losses
and whether the fitted imputer still pickles. It found no case for compiling (the
report's speed page), so the package does not. Wraps a private builder of the
estimators (``_build_module``) to compile the module it returns.

    python -m benchmarks.studies.torch_compile --methods factvae rvi vsae miwae \
        --compile-rows 5000 --small-rows 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from benchmarks._cli import RESULTS, versions
from benchmarks.perf.epoch_cost import COMPILE, FIXED, METHODS, table
from deepimpute.imputers import IMPUTERS


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




def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it writes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--compile-rows", type=int, default=20_000)
    ap.add_argument("--small-rows", type=int, default=500)
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", type=Path, default=RESULTS / COMPILE)
    args = ap.parse_args(argv)
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    comp = []
    for method in args.methods:
        comp.append(compile_cost(method, args.compile_rows, args.small_rows))
        print(comp[-1], flush=True)
        df = pd.DataFrame(comp)
        df.insert(0, "label", args.label)
        df["versions"] = versions()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.out, index=False)
    print(compile_summary(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
