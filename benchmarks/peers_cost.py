"""Cost of ReMasker and DiffPuter at the papers' settings against our defaults.

On the runner's Gaussian oracle table (5,000 x 10, 3 factors, MCAR 0.3, seed 0;
80 % of the rows fitted), each configuration trains for ``--epochs`` epochs (the
seconds per epoch and, for DiffPuter, of one E-step pass over the fitted rows are
what scale), then imputes the test rows; the error is per-feature NRMSE on the
hidden test cells against the exact conditional mean's. Run alone on one thread;
the papers' full schedules are extrapolated from the measured epoch and E-step
costs (stated as such in the CSV's ``extrapolated_fit_seconds``).

    OMP_NUM_THREADS=1 python -m benchmarks.peers_cost --epochs 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from benchmarks._cli import RowWriter
from benchmarks.run import RESULTS, split

#: name -> (registry imputer, parameters, epochs of the full schedule per M-step,
#: M-steps): the papers' settings and our defaults
CONFIGS = {
    "remasker-paper": ("remasker", dict(n_iter_no_change=None), 600, 1),
    "remasker-default": ("remasker", dict(n_iter_no_change=None), 100, 1),
    "diffputer-paper": ("diffputer", dict(
        hidden=1024, n_draws=50, n_resample=10, n_em_rounds=1, batch_size=4096,
        n_iter_no_change=None), None, 5),
    "diffputer-default": ("diffputer", dict(n_em_rounds=1, n_iter_no_change=None),
                          None, 3),
}
FIELDS = ["config", "epochs", "seconds_per_epoch", "e_step_seconds",
          "transform_seconds", "nrmse_per_feature", "oracle_nrmse_per_feature",
          "extrapolated_fit_seconds", "threads"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--out", type=Path, default=RESULTS / "peers_cost.csv")
    args = p.parse_args(argv)
    from benchmarks.oracle import gaussian_table
    from deepimpute.imputers import make_imputer
    from deepimpute.metrics import gaussian_conditional_mean, score_imputation
    from deepimpute.missingness import simulate_missing

    data = gaussian_table(5000, 10, 3, 0)
    X = data.frame
    Xm, hidden = simulate_missing(X, "mcar", 0.3, random_state=0)
    fit_rows, test_rows = split(len(X), 0)
    X_fit, X_test = Xm.iloc[fit_rows], Xm.iloc[test_rows]
    oracle = gaussian_conditional_mean(
        X_test.to_numpy(), data.params["mean"], data.params["cov"]
    )
    ref = score_imputation(X.iloc[test_rows], oracle, missing=hidden[test_rows],
                           spec=data.spec)["nrmse_per_feature"]
    with RowWriter(args.out, FIELDS, append=True) as writer:
        for name in args.configs:
            base, params, full_epochs, rounds = CONFIGS[name]
            imp = make_imputer(base, params, max_iter=args.epochs, random_state=0,
                               device="cpu")
            t0 = time.perf_counter()
            imp.fit(X_fit)
            fit = time.perf_counter() - t0
            per_epoch = imp.history_[-1]["seconds"] / imp.n_iter_
            e_step = 0.0
            if base == "diffputer":  # an E-step: imputing the fitted rows
                t1 = time.perf_counter()
                imp.transform(X_fit)
                e_step = time.perf_counter() - t1
            t2 = time.perf_counter()
            out = imp.transform(X_test)
            transform = time.perf_counter() - t2
            err = score_imputation(X.iloc[test_rows], out, missing=hidden[test_rows],
                                   spec=data.spec)["nrmse_per_feature"]
            if full_epochs is None:  # DiffPuter: the default schedule's epochs
                full_epochs = imp.max_iter
                if name == "diffputer-paper":
                    # the authors' 10,000 epochs of batches of 4096 rows, in steps
                    full_epochs = 10_000
            extrapolated = rounds * (full_epochs * per_epoch + e_step)
            writer.write(dict(
                config=name, epochs=imp.n_iter_, seconds_per_epoch=per_epoch,
                e_step_seconds=e_step, transform_seconds=transform,
                nrmse_per_feature=err, oracle_nrmse_per_feature=ref,
                extrapolated_fit_seconds=extrapolated,
                threads=torch.get_num_threads(),
            ))
            print(name, f"fit {fit:.1f}s", f"epoch {per_epoch:.2f}s",
                  f"E-step {e_step:.1f}s", f"nrmse {err:.4f} (oracle {ref:.4f})",
                  f"full {extrapolated:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
