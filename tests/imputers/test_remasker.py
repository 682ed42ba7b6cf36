"""ReMaskerImputer: the estimator over the ReMasker core."""

import numpy as np
import pandas as pd
import pytest
from conftest import correlated_table

from deepimpute import ReMaskerImputer

SMALL = dict(embed_dim=16, depth=2, decoder_depth=1, n_heads=2, device="cpu",
             random_state=0)


def _rmse(X, Xm, out):
    miss = np.isnan(Xm)
    return float(np.sqrt(np.mean((out[miss] - X[miss]) ** 2)))


@pytest.mark.slow  # about 5 s; the fit path is covered fast by the next test
def test_beats_the_mean_on_a_low_rank_table():
    X, Xm = correlated_table(n=400, p=5, missing_rate=0.2, seed=0)
    out = ReMaskerImputer(max_iter=30, batch_size=32, learning_rate=3e-3,
                          **SMALL).fit_transform(Xm)
    mean = np.where(np.isnan(Xm), np.nanmean(Xm, 0), Xm)
    assert _rmse(X, Xm, out) < 0.7 * _rmse(X, Xm, mean)


def test_mixed_frame_keeps_categories_and_schedule_is_the_papers_share():
    r = np.random.default_rng(0)
    a = r.normal(size=120)
    df = pd.DataFrame({"a": a, "b": 2 * a + 0.1 * r.normal(size=120),
                       "c": pd.Categorical(np.where(a > 0, "hi", "lo"))})
    df.loc[::7, "c"] = None
    df.loc[3::11, "b"] = np.nan
    imp = ReMaskerImputer(max_iter=30, **SMALL).fit(df)
    out = imp.transform(df)
    assert set(out["c"].unique()) <= {"hi", "lo"} and not out.isna().any().any()
    assert imp.module_.warmup_epochs == 2  # floor(40 / 600 * 30)
    assert imp.module_.n_epochs == imp.max_iter_ == 30
