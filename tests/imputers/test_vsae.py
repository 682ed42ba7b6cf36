"""Estimator-level tests of VSAEImputer (short trainings; the model tests are in
tests/models/test_vsae.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deepimpute.imputers._vsae import VSAEImputer

YEAST = Path("/work/shared/datasets/yeast/yeast.csv")
WINE = Path("/work/shared/datasets/wine_quality/wine_white.csv")

TINY = dict(
    max_iter=3, n_draws=40, n_target_draws=3, numerical_hidden=(8,),
    categorical_hidden=(8,), collective_hidden=(16,), mask_hidden=(8,),
    decoder_hidden=(16,), random_state=0, device="cpu",
)


def _correlated(n=150, p=4, rate=0.25, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    X = z @ rng.normal(size=(1, p)) + 0.3 * rng.normal(size=(n, p))
    Xm = X.copy()
    Xm[rng.random(X.shape) < rate] = np.nan
    return X, Xm


def test_transform_is_deterministic_and_row_invariant():
    _, Xm = _correlated()
    a = VSAEImputer(**TINY).fit(Xm)
    b = VSAEImputer(**TINY).fit(Xm)
    out = a.transform(Xm)
    np.testing.assert_array_equal(out, b.transform(Xm))
    np.testing.assert_array_equal(out, a.transform(Xm))
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~np.isnan(Xm)], Xm[~np.isnan(Xm)])
    rows = np.random.default_rng(1).permutation(len(Xm))[:37]
    np.testing.assert_allclose(a.transform(Xm[rows]), out[rows], rtol=1e-5, atol=1e-6)
    # a different seed gives a different model
    c = VSAEImputer(**{**TINY, "random_state": 1}).fit(Xm)
    assert not np.allclose(c.transform(Xm), out)


@pytest.mark.parametrize(
    "kw",
    [
        {"impute": "proposal_mean"},
        {"mask_decoder": False},
        {"mask_decoder": False, "decoder_mask_condition": "true"},
        {"decoder_mask_condition": "sampled", "x_u_target": "mean"},
        {"x_u_target": "importance", "numerical": "student_t"},
        {"numerical": "gaussian_learned", "mask_in_weights": False},
        {"extra_drop_rate": 0.3, "warmup_epochs": 0},
        {"kl_warmup_epochs": 2},
        {"n_train_draws": 3},
    ],
)
def test_options_run(kw):
    _, Xm = _correlated(n=60)
    # with the paper's schedule, so every option also runs through stage 2
    imp = VSAEImputer(**{**TINY, "warmup_epochs": 1, **kw}).fit(Xm)
    out = imp.transform(Xm)
    assert np.isfinite(out).all()
    assert [r["stage"] for r in imp.history_][-1] == 2.0


def test_weight_decay_shrinks_the_networks():
    import torch

    _, Xm = _correlated(n=60)

    def norm(imp):
        with torch.no_grad():
            return sum(float(p.pow(2).sum()) for p in imp.module_.parameters())

    kw = {**TINY, "max_iter": 5, "n_iter_no_change": None}
    plain = VSAEImputer(**kw).fit(Xm)
    decayed = VSAEImputer(**{**kw, "weight_decay": 50.0}).fit(Xm)
    assert isinstance(decayed.module_.configure_optimizers(1e-3)[0], torch.optim.AdamW)
    assert type(plain.module_.configure_optimizers(1e-3)[0]) is torch.optim.Adam
    # same seed, same batches: only the decay differs, and it pulls the weights in
    assert norm(decayed) < 0.9 * norm(plain)
    assert np.isfinite(decayed.transform(Xm)).all()


def test_no_warmup_means_stage_one_only_with_monitoring():
    _, Xm = _correlated(n=60)
    imp = VSAEImputer(**{**TINY, "max_iter": 3, "warmup_epochs": None}).fit(Xm)
    assert [r["stage"] for r in imp.history_] == [1.0, 1.0, 1.0]
    assert all(np.isfinite(r["val_loss"]) for r in imp.history_)
    assert all(r["unobs_ll"] == 0.0 for r in imp.history_)


def test_stages_follow_warmup():
    _, Xm = _correlated(n=60)
    imp = VSAEImputer(**{**TINY, "max_iter": 4, "warmup_epochs": 2}).fit(Xm)
    assert [r["stage"] for r in imp.history_] == [1.0, 1.0, 2.0, 2.0]
    assert np.isnan(imp.history_[0]["val_loss"])
    assert np.isfinite(imp.history_[-1]["val_loss"])
    assert imp.history_[0]["unobs_ll"] == 0.0 and imp.history_[-1]["unobs_ll"] != 0.0


def test_multiple_imputations_spread_where_data_do_not_determine():
    rng = np.random.default_rng(0)
    n = 500
    a = rng.normal(size=n)
    X = np.c_[a, a, rng.normal(size=n)]  # column 1 copies column 0; column 2 noise
    Xm = X.copy()
    Xm[rng.random(n) < 0.3, 1] = np.nan
    Xm[rng.random(n) < 0.3, 2] = np.nan
    # the multiple-imputation setting of the docstring's Notes: a learned variance,
    # no extra encoder dropout and the full KL term (stage one only, to keep the
    # test short); seeds 0-2 gave spread ratios 0.51-0.55 and a noise-column
    # spread of about 0.8 (its true standard deviation is 1)
    imp = VSAEImputer(
        max_iter=40, warmup_epochs=40, learning_rate=1e-2, numerical="gaussian_learned",
        extra_drop_rate=0.0, kl_weight=1.0, n_draws=100, random_state=0,
        device="cpu",
    ).fit(Xm)
    draws = np.stack(imp.sample(Xm, n_draws=8, random_state=0))
    assert not np.allclose(draws[0], draws[1])
    np.testing.assert_array_equal(draws[:, ~np.isnan(Xm)][0], Xm[~np.isnan(Xm)])
    spread = draws.std(axis=0)
    copy_sd = spread[np.isnan(Xm[:, 1]), 1].mean()
    noise_sd = spread[np.isnan(Xm[:, 2]), 2].mean()
    assert copy_sd < 0.65 * noise_sd, (copy_sd, noise_sd)
    assert noise_sd > 0.6, noise_sd  # draws of the noise column are not collapsed
    # the point imputation of the copy follows the observed column
    out = imp.transform(Xm)
    miss = np.isnan(Xm[:, 1])
    assert np.corrcoef(out[miss, 1], X[miss, 0])[0, 1] > 0.8


def test_mixed_dataframe_round_trip():
    rng = np.random.default_rng(0)
    n = 120
    color = rng.choice(["red", "green", "blue"], size=n)
    size = np.where(color == "red", 3.0, 0.0) + rng.normal(size=n)
    df = pd.DataFrame({
        "size": size,
        "color": pd.Series(color, dtype="category"),
        "label": pd.Series(np.where(size > 1, "big", "small"), dtype=object),
        "count": rng.integers(0, 5, size=n).astype(float),
    })
    dfm = df.copy()
    for col in df.columns:
        dfm.loc[rng.random(n) < 0.2, col] = np.nan
    imp = VSAEImputer(**TINY).fit(dfm)
    out = imp.transform(dfm)
    assert isinstance(out, pd.DataFrame)
    assert list(out.dtypes) == list(dfm.dtypes)
    assert out.index.equals(dfm.index)
    assert not out.isna().any().any()
    assert set(out["color"]) <= {"red", "green", "blue"}
    assert set(out["label"]) <= {"big", "small"}
    obs = dfm.notna()
    for col in df.columns:
        pd.testing.assert_series_equal(out[col][obs[col]], dfm[col][obs[col]])
    for draw in imp.sample(dfm, n_draws=2, random_state=0):
        assert not draw.isna().any().any()
        assert set(draw["color"]) <= {"red", "green", "blue"}


def _mcar_split(path, drop, n_rows=None, seed=0):
    X = pd.read_csv(path).drop(columns=drop).to_numpy(float)
    rng = np.random.default_rng(seed)
    X = X[rng.permutation(len(X))][:n_rows]
    hide = rng.random(X.shape) < 0.5  # MCAR 0.5, elementwise = attribute-level here
    n_train = int(0.8 * len(X))
    return X, np.where(hide, np.nan, X), hide, n_train


def _nrmse(X, X_hat, hide):
    truth = X[hide]
    return np.sqrt(np.mean((X_hat[hide] - truth) ** 2) / np.var(truth, ddof=1))


def _vsae_vs_mean(path, drop, n_rows=None, **kw):
    X, Xm, hide, n_train = _mcar_split(path, drop, n_rows)
    test = slice(n_train, None)
    mean = np.nanmean(Xm[:n_train], axis=0)
    baseline = _nrmse(X[test], np.where(np.isnan(Xm[test]), mean, Xm[test]), hide[test])
    imp = VSAEImputer(n_draws=200, random_state=0, device="cpu", **kw)
    imp.fit(Xm[:n_train])
    return _nrmse(X[test], imp.transform(Xm[test]), hide[test]), baseline


@pytest.mark.skipif(not YEAST.exists(), reason="shared yeast data not available")
def test_yeast_beats_column_mean():
    # measured 0.485 vs 0.495 (the forest and MICE references are worse than the
    # mean here, see the reference rows of docs/benchmarks.md)
    score, baseline = _vsae_vs_mean(
        YEAST, ["sequence_name", "localization_site"], max_iter=30, warmup_epochs=30
    )
    assert score < baseline - 0.005, (score, baseline)


@pytest.mark.skipif(not WINE.exists(), reason="shared wine data not available")
def test_white_wine_beats_column_mean():
    score, baseline = _vsae_vs_mean(
        WINE, ["quality"], n_rows=2000, max_iter=25, warmup_epochs=25
    )
    # measured 0.270 vs 0.326
    assert score < 0.9 * baseline, (score, baseline)
