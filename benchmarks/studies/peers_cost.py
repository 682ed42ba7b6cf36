"""Cost of ReMasker and DiffPuter at the papers' settings against our defaults.

On the runner's Gaussian oracle table (5,000 x 10, 3 factors, MCAR 0.3, seed 0;
the 80 % of rows the runner fits on), each configuration trains ``--epochs``
epochs and imputes some of the fitted rows (``--rows``; ``--paper-rows`` for the
papers' settings, whose rows cost hundreds of times more); the seconds per epoch
and per imputed row are what scale. From them the CSV extrapolates a full fit
(``extrapolated_fit_seconds``: every M-step's full epochs, plus the E-steps
between M-steps over all fitted rows) and one imputation of all fitted rows
(``extrapolated_impute_seconds``); both are extrapolations, stated as such. The
imputation cost is linear in rows once batches are large enough for the
per-step overhead not to dominate (a row's draws are one batch: the papers' 50
draws make 10 rows a batch of 500). The epochs of a full fit are the most the
schedule allows; early stopping (on by default) can end it sooner. No error is
recorded: a few epochs say nothing of the quality. The machine is shared:
compare configurations only as ratios within one run. On one thread
(``OMP_NUM_THREADS=1``):

    python -m benchmarks.studies.peers_cost --epochs 3 --rows 400 --paper-rows 10

The report renders the CSV with :func:`markdown`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks._cli import RESULTS, RowWriter
from benchmarks.quality.grid import split

#: name -> (registry imputer, parameters, epochs per M-step of the full schedule
#: (None: the estimator's ``max_iter``), M-steps): the papers' settings and ours
CONFIGS = {
    "remasker-default": ("remasker", dict(n_iter_no_change=None), None, 1),
    # the authors' network for large tables, their 600 epochs
    "remasker-paper": ("remasker", dict(
        embed_dim=64, depth=8, decoder_depth=6, n_iter_no_change=None), 600, 1),
    "diffputer-default": ("diffputer", dict(n_iter_no_change=None), None, 3),
    # the authors' 10,000 epochs of batches of 4096 rows, 5 EM rounds
    "diffputer-paper": ("diffputer", dict(
        hidden=1024, n_draws=50, n_resample=10, batch_size=4096,
        n_iter_no_change=None), 10_000, 5),
}
FIELDS = ["config", "fit_rows", "epochs_timed", "seconds_per_epoch", "rows_timed",
          "impute_seconds_per_row", "full_epochs", "m_steps",
          "extrapolated_fit_seconds", "extrapolated_impute_seconds", "threads"]


def markdown(path: Path) -> str:
    """The CSV as a table, with each paper setting's cost over our default's
    (the mean of the default's rows in the same CSV)."""
    import pandas as pd

    df = pd.read_csv(path)
    mean = df.groupby("config")[["seconds_per_epoch", "impute_seconds_per_row",
                                 "extrapolated_fit_seconds"]].mean()
    lines = ["| config | runs | s / epoch | ms / imputed row | full fit, s "
             "(extrapolated) | fit / default's | row / default's |",
             "|---|---|---|---|---|---|---|"]
    for name, row in mean.iterrows():
        ref = mean.loc[name.rsplit("-", 1)[0] + "-default"] if (
            name.rsplit("-", 1)[0] + "-default") in mean.index else row
        lines.append(
            f"| {name} | {int((df.config == name).sum())} "
            f"| {row.seconds_per_epoch:.2f} "
            f"| {row.impute_seconds_per_row * 1e3:.2f} "
            f"| {row.extrapolated_fit_seconds:.0f} "
            f"| {row.extrapolated_fit_seconds / ref.extrapolated_fit_seconds:.1f}x "
            f"| {row.impute_seconds_per_row / ref.impute_seconds_per_row:.0f}x |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    """The study's arguments (runs nothing); ``outputs``: the CSV it appends to."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rows", type=int, default=400,
                   help="fitted rows imputed to time our defaults' imputation")
    p.add_argument("--paper-rows", type=int, default=10,
                   help="the same for the papers' settings")
    p.add_argument("--configs", nargs="*", default=list(CONFIGS),
                   choices=list(CONFIGS))
    p.add_argument("--out", type=Path, default=RESULTS / "peers_cost.csv",
                   help="the CSV the rows are appended to")
    args = p.parse_args(argv)
    args.outputs = [args.out]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from benchmarks.data import gaussian_table
    from deepimpute.imputers import make_imputer
    from deepimpute.missingness import simulate_missing

    data = gaussian_table(5000, 10, 3, 0)
    Xm, _ = simulate_missing(data.frame, "mcar", 0.3, random_state=0)
    fit_rows, _ = split(len(Xm), 0)
    X_fit = Xm.iloc[fit_rows]
    with RowWriter(args.out, FIELDS, append=True) as writer:
        for name in args.configs:
            base, params, full_epochs, m_steps = CONFIGS[name]
            # one M-step only: the later ones cost the same per epoch
            extra = dict(n_em_rounds=1) if base == "diffputer" else {}
            imp = make_imputer(base, {**params, **extra}, max_iter=args.epochs,
                               random_state=0, device="cpu")
            imp.fit(X_fit)
            per_epoch = imp.history_[-1]["seconds"] / imp.n_iter_
            X_rows = X_fit.iloc[
                : args.paper_rows if name.endswith("-paper") else args.rows]
            t0 = time.perf_counter()
            imp.transform(X_rows)
            per_row = (time.perf_counter() - t0) / len(X_rows)
            if full_epochs is None:
                full_epochs = make_imputer(base, params).max_iter
            impute_all = per_row * len(X_fit)
            extrapolated = m_steps * full_epochs * per_epoch + (
                (m_steps - 1) * impute_all if base == "diffputer" else 0.0)
            writer.write(dict(
                config=name, fit_rows=len(X_fit), epochs_timed=imp.n_iter_,
                seconds_per_epoch=per_epoch, rows_timed=len(X_rows),
                impute_seconds_per_row=per_row, full_epochs=full_epochs,
                m_steps=m_steps, extrapolated_fit_seconds=extrapolated,
                extrapolated_impute_seconds=impute_all,
                threads=torch.get_num_threads(),
            ))
            print(name, f"epoch {per_epoch:.2f}s", f"row {per_row * 1e3:.2f}ms",
                  f"fit {extrapolated:.0f}s", f"impute {impute_all:.0f}s",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
