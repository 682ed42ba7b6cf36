"""Estimator-level tests of RVIImputer and VADImputer."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import correlated_table

from deepimpute.imputers._rvi import RVIImputer, VADImputer
from deepimpute.schema import Categorical, ColumnSpec, Image, Numerical

TINY = dict(latent_dim=4, hidden=(16,), max_iter=5, batch_size=32,
            inference_steps=10, random_state=0, device="cpu")


def _rvi(**kw):
    return RVIImputer(**{**TINY, "relay_groups": (4, 8), **kw})


def test_zero_relay_groups_is_vad():
    X, Xm = correlated_table(n=80)
    rvi = RVIImputer(**TINY, relay_groups=()).fit(Xm)
    vad = VADImputer(**TINY).fit(Xm)
    s1, s2 = rvi.module_.state_dict(), vad.module_.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k], s2[k]), k
    assert [r["loss"] for r in rvi.history_] == [r["loss"] for r in vad.history_]
    np.testing.assert_array_equal(rvi.transform(Xm), vad.transform(Xm))
    assert "relay_groups" not in vad.get_params()


def test_transform_leaves_the_model_unchanged():
    _, Xm = correlated_table(n=80)
    imp = _rvi().fit(Xm)
    imp.module_.zero_grad(set_to_none=True)  # drop the last training step's grads
    before = {k: v.clone() for k, v in imp.module_.state_dict().items()}
    imp.transform(Xm[:30])
    imp.sample(Xm[:10], n_draws=2, random_state=1)
    for k, v in imp.module_.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in imp.module_.parameters())


def test_deterministic_under_random_state():
    _, Xm = correlated_table(n=80)
    a = _rvi().fit(Xm)
    b = _rvi().fit(Xm)
    np.testing.assert_array_equal(a.transform(Xm), b.transform(Xm))
    np.testing.assert_array_equal(a.fit_transform(Xm), b.fit_transform(Xm))
    d1 = a.sample(Xm, n_draws=2, random_state=3)
    d2 = b.sample(Xm, n_draws=2, random_state=3)
    for u, v in zip(d1, d2, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(d1[0], d1[1])


def test_transform_is_invariant_to_batching_and_order():
    _, Xm = correlated_table(n=60)
    imp = _rvi(inference_steps=40).fit(Xm)
    full = imp.transform(Xm)
    imp._inference_batch_size = 7  # many ragged batches in one call
    small = imp.transform(Xm)
    perm = np.random.default_rng(0).permutation(len(Xm))
    shuffled = imp.transform(Xm[perm])
    np.testing.assert_allclose(small, full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(shuffled, full[perm], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(imp.transform(Xm[5:9]), full[5:9], rtol=1e-5,
                               atol=1e-6)


def test_fit_transform_reuses_training_posteriors():
    X, Xm = correlated_table(n=80)
    imp = _rvi()
    Z = imp.fit_transform(Xm)
    obs = ~np.isnan(Xm)
    np.testing.assert_array_equal(Z[obs], Xm[obs])
    assert np.isfinite(Z).all()
    theta = imp.module_.rows
    with torch.no_grad():
        recon = imp.module_.reconstruct(theta).numpy()
    expected = imp._merge(imp.encoder_.encode(Xm)[0], recon)
    np.testing.assert_allclose(imp.encoder_.encode(Z)[0], expected, rtol=1e-6)
    # held-out validation rows own no trained parameters: inference instead
    val = _rvi(validation_fraction=0.2, n_iter_no_change=3)
    Zv = val.fit_transform(Xm)
    np.testing.assert_array_equal(Zv, val.transform(Xm))
    assert all("val_loss" in r for r in val.history_)


def test_impute_draws_average_the_posterior_predictive():
    _, Xm = correlated_table(n=60)
    # a point-mass posterior: the average of the draws is the decoded mean
    sharp = dict(posterior_var="fixed", posterior_logvar=-14.0)
    mean = _rvi(**sharp).fit(Xm).transform(Xm)
    np.testing.assert_allclose(
        _rvi(**sharp, n_draws=8).fit(Xm).transform(Xm), mean, atol=1e-3)
    # a wide posterior: the same training (the draws only enter imputation), but the
    # draws' average differs from the decoded mean, is deterministic and does not
    # depend on the batch (the same noise for every row)
    decoded = _rvi(posterior_var="fixed", posterior_logvar=1.0).fit(Xm)
    wide = _rvi(posterior_var="fixed", posterior_logvar=1.0, n_draws=16).fit(Xm)
    for k, v in wide.module_.state_dict().items():
        assert torch.equal(v, decoded.module_.state_dict()[k]), k
    decoded = decoded.transform(Xm)
    avg = wide.transform(Xm)
    assert np.abs(avg - decoded).max() > 1e-2
    np.testing.assert_array_equal(avg, wide.transform(Xm))
    wide._inference_batch_size = 7
    np.testing.assert_allclose(wide.transform(Xm), avg, rtol=1e-5, atol=1e-6)
    ft = wide.fit_transform(Xm)  # learned training posteriors, same draws per batch
    np.testing.assert_array_equal(ft[~np.isnan(Xm)], Xm[~np.isnan(Xm)])
    wide._inference_batch_size = 1024
    np.testing.assert_allclose(wide.fit_transform(Xm), ft, rtol=1e-5, atol=1e-6)


def test_beats_column_mean_on_correlated_data():
    X, Xm = correlated_table(n=300, p=5, missing_rate=0.2)
    miss = np.isnan(Xm)
    mean_fill = np.where(miss, np.nanmean(Xm, axis=0), Xm)
    imp = _rvi(max_iter=60, inference_steps=100, learning_rate=1e-2,
               inference_learning_rate=1e-2, posterior_learning_rate=1e-2)
    Z = imp.fit(Xm).transform(Xm)

    def rmse(A):
        return np.sqrt(np.mean((A[miss] - X[miss]) ** 2))

    assert rmse(Z) < 0.6 * rmse(mean_fill)
    assert rmse(imp.fit_transform(Xm)) < 0.6 * rmse(mean_fill)


def test_mixed_table_with_categorical_and_image():
    rng = np.random.default_rng(0)
    n = 40
    df = pd.DataFrame({
        "a": rng.normal(size=n),
        "c": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        **{f"p{k}": rng.random(n) for k in range(4)},
    })
    df.loc[rng.random(n) < 0.3, "a"] = np.nan
    df.loc[rng.random(n) < 0.3, "c"] = np.nan
    df.loc[rng.random(n) < 0.3, "p1"] = np.nan
    spec = ColumnSpec([Numerical("a"), Categorical("c"),
                       Image([f"p{k}" for k in range(4)], shape=(2, 2))])
    imp = _rvi(column_spec=spec)
    out = imp.fit(df).transform(df)
    assert out["c"].notna().all() and set(out["c"]) <= {"x", "y", "z"}
    assert out["p1"].between(0, 1).all() and out["a"].notna().all()
    draws = imp.sample(df, n_draws=2, random_state=0)
    assert all(d["c"].notna().all() for d in draws)


@pytest.mark.parametrize("kw", [dict(relay_variant="cluster"),
                                dict(posterior_var="fixed", posterior_logvar=-14.0)])
def test_variants_run(kw):
    _, Xm = correlated_table(n=50)
    Z = _rvi(**kw).fit(Xm).transform(Xm)
    assert np.isfinite(Z).all()


def test_bad_relay_groups():
    _, Xm = correlated_table(n=20)
    with pytest.raises(ValueError, match="relay_groups"):
        _rvi(relay_groups=(4, 0)).fit(Xm)


@pytest.mark.gpu
def test_cuda_matches_batching_and_leaves_model_unchanged():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    _, Xm = correlated_table(n=60)
    imp = _rvi(device="cuda", inference_steps=40).fit(Xm)
    imp.module_.zero_grad(set_to_none=True)
    before = {k: v.clone() for k, v in imp.module_.state_dict().items()}
    full = imp.transform(Xm)
    imp._inference_batch_size = 7
    np.testing.assert_allclose(imp.transform(Xm), full, rtol=1e-4, atol=1e-5)
    for k, v in imp.module_.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_early_stopping_transform_is_invariant_to_batching():
    _, Xm = correlated_table(n=60)
    imp = _rvi(inference_steps=40, inference_learning_rate=1e-2,
               inference_tol=0.05, inference_patience=3).fit(Xm)
    full = imp.transform(Xm)
    imp._inference_batch_size = 7
    np.testing.assert_allclose(imp.transform(Xm), full, rtol=1e-5, atol=1e-6)
    shuffled = np.random.default_rng(0).permutation(len(Xm))
    np.testing.assert_allclose(imp.transform(Xm[shuffled]), full[shuffled],
                               rtol=1e-5, atol=1e-6)


def test_inference_init_changes_only_the_start_of_new_rows():
    _, Xm = correlated_table(n=80)
    guided = _rvi(inference_steps="auto").fit(Xm)
    prior = _rvi(inference_steps="auto", inference_init="prior").fit(Xm)
    assert prior.inference_steps_ == 80 and guided.inference_steps_ in (20, 40, 80)
    # the steps "auto" kept: the fewest whose held-out imputation is within 1 % of
    # 80 steps from the prior, on the check recorded in guide_check_
    reference, *tried = guided.guide_check_
    assert reference["start"] == "prior" and reference["steps"] == 80
    passed = [c["nll"] <= reference["nll"] + 0.01 * abs(reference["nll"])
              for c in tried]
    assert passed[-1] == (tried[-1]["steps"] == guided.inference_steps_)
    assert not any(passed[:-1])
    assert guided.get_params()["inference_steps"] == "auto"
    assert _rvi().fit(Xm).inference_steps_ == TINY["inference_steps"]
    # the same training; the guide is fitted after it
    plain = prior.module_.state_dict()
    for k, v in guided.module_.state_dict().items():
        if k.startswith("guide") or k == "use_guide":
            continue
        assert torch.equal(v, plain[k]), k
    # new rows start at the guess unless the check sent them back to the prior
    assert bool(guided.module_.use_guide) == (guided.inference_steps_ != 80)
    assert prior.module_.guide is None
    assert len(guided.guide_history_) >= 1 and not hasattr(prior, "guide_history_")
    assert guided.module_.inference_steps == guided.inference_steps_
    same = np.allclose(guided.transform(Xm), prior.transform(Xm))
    assert same == (not guided.module_.use_guide)


@pytest.mark.parametrize("cls", [RVIImputer, VADImputer])
def test_guide_start_keeps_the_error_of_prior_inference(cls):
    # 20 steps from the guide's guess impute new rows as well as 80 from the prior
    X, Xm = correlated_table(n=400, p=5, missing_rate=0.3)
    train, test = slice(0, 300), slice(300, None)
    miss = np.isnan(Xm[test])
    kw = dict(latent_dim=4, hidden=(16,), max_iter=150, learning_rate=1e-2,
              posterior_learning_rate=1e-2, random_state=0, device="cpu")
    if cls is RVIImputer:
        kw["relay_groups"] = (4, 8)
    errors = {}
    for init in ("guide", "prior"):
        Z = cls(inference_init=init, **kw).fit(Xm[train]).transform(Xm[test])
        errors[init] = np.sqrt(np.mean((Z[miss] - X[test][miss]) ** 2))
    mean_fill = np.sqrt(np.mean((np.nanmean(Xm[train], axis=0)[None, :]
                                 .repeat(100, 0)[miss] - X[test][miss]) ** 2))
    assert errors["guide"] < 1.05 * errors["prior"]
    assert errors["guide"] < 0.9 * mean_fill
