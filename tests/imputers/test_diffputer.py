"""DiffPuterImputer: the estimator driving the EM rounds over the core."""

import numpy as np
from conftest import correlated_table

from deepimpute import DiffPuterImputer

SMALL = dict(hidden=32, n_steps=10, n_resample=2, n_draws=3, device="cpu",
             random_state=0, batch_size=64)


def test_em_rounds_are_recorded_and_counted():
    _, Xm = correlated_table(n=120, p=4, missing_rate=0.2, seed=1)
    imp = DiffPuterImputer(max_iter=3, n_em_rounds=3, n_iter_no_change=None,
                           **SMALL).fit(Xm)
    rounds = [r["round"] for r in imp.history_]
    assert rounds == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert imp.n_iter_ == 9
    out = imp.transform(Xm)
    obs = ~np.isnan(Xm)
    assert np.array_equal(out[obs], Xm[obs]) and np.isfinite(out).all()


def test_beats_the_mean_on_a_low_rank_table():
    X, Xm = correlated_table(n=400, p=5, missing_rate=0.2, seed=0)
    out = DiffPuterImputer(max_iter=60, n_em_rounds=2, learning_rate=3e-3,
                           **SMALL).fit_transform(Xm)
    miss = np.isnan(Xm)
    mean = np.where(miss, np.nanmean(Xm, 0), Xm)
    err = np.sqrt(np.mean((out[miss] - X[miss]) ** 2))
    assert err < 0.9 * np.sqrt(np.mean((mean[miss] - X[miss]) ** 2))
