"""Metrics: hand-computed cases, limiting cases, scorers for model selection."""

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.model_selection import GridSearchCV, cross_val_score

from deepimpute.datasets import make_gaussian_data, make_mixed_data
from deepimpute.metrics import (
    gaussian_conditional_mean,
    image_mse,
    imputation_cv_score,
    make_imputation_scorer,
    nrmse,
    pfc,
    rmse_minmax,
    score_imputation,
)
from deepimpute.missingness import simulate_missing
from deepimpute.schema import Categorical, ColumnSpec, Image, Numerical

# Two numerical columns; a hidden at rows 0, 1 and b at rows 2, 3.
TRUE = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
IMP = np.array([[2.0, 10.0], [2.0, 20.0], [3.0, 35.0], [4.0, 40.0]])
MISS = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)


def test_nrmse_pooled_raw_by_hand():
    # hidden truths 1, 2, 30, 40; squared errors 1, 0, 25, 0
    x = np.array([1.0, 2.0, 30.0, 40.0])
    ss = ((x - x.mean()) ** 2).sum()  # = 1172.75
    assert ss == pytest.approx(1172.75)
    expected = np.sqrt((26 / 4) / (ss / 3))
    assert nrmse(TRUE, IMP, missing=MISS) == pytest.approx(expected)
    assert nrmse(TRUE, IMP, missing=MISS, variant="pooled_raw") == pytest.approx(
        0.128948, abs=1e-6
    )


def test_nrmse_per_feature_by_hand():
    # column a: mse 0.5, var 0.5 -> 1; column b: mse 12.5, var 50 -> 0.5
    assert nrmse(TRUE, IMP, missing=MISS, variant="per_feature") == pytest.approx(0.75)


def test_nrmse_pooled_std_by_hand():
    # column stats (ddof=0): a mean 2.5 var 1.25, b mean 25 var 125
    # standardised squared errors 1/1.25 = 0.8 and 25/125 = 0.2 -> mean 0.25
    # standardised hidden truths -1.342, -0.447, 0.447, 1.342 -> var (ddof=1) 4/3
    got = nrmse(TRUE, IMP, missing=MISS, variant="pooled_std")
    assert got == pytest.approx(np.sqrt(0.25 / (4 / 3)))
    # with given statistics: b scaled by 5 -> errors 1 and 1, truths 1, 2, 6, 8
    got = nrmse(TRUE, IMP, missing=MISS, variant="pooled_std", scale=([0, 0], [1, 5]))
    assert got == pytest.approx(np.sqrt(0.5 / (32.75 / 3)))


def test_nrmse_ignores_categorical_and_unhidden_cells():
    df = pd.DataFrame(TRUE, columns=["a", "b"])
    df["c"] = pd.Categorical(["x", "y", "x", "y"])
    imp = pd.DataFrame(IMP, columns=["a", "b"])
    imp["c"] = pd.Categorical(["y", "y", "y", "y"])
    # also spoil a cell that is not hidden: must not matter
    imp.loc[3, "a"] = 100.0
    miss = np.column_stack([MISS, [True, True, True, True]])
    assert nrmse(df, imp, missing=miss, variant="per_feature") == pytest.approx(0.75)
    assert pfc(df, imp, missing=miss) == pytest.approx(0.5)


def test_nrmse_raises_on_unfilled_cell():
    bad = IMP.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="fill every hidden cell"):
        nrmse(TRUE, bad, missing=MISS)


def test_pfc_by_hand_labels_and_numbers():
    truth = pd.DataFrame(
        {"c": pd.Categorical(["a", "b", "c", "a", "b"]), "d": [1, 0, 1, 1, 0]}
    )
    imp = pd.DataFrame(
        {"c": pd.Categorical(["a", "c", "c", "b", "b"]), "d": [1.0, 0.0, 0.0, 1, 0]}
    )
    spec = ColumnSpec([Categorical("c"), Categorical("d")])
    miss = np.array([[1, 1], [1, 0], [0, 1], [1, 0], [0, 0]], dtype=bool)
    # scored: c rows 0, 1, 3 (one right, two wrong); d rows 0, 2 (1 == 1.0, 1 != 0)
    assert pfc(truth, imp, missing=miss, spec=spec) == pytest.approx(3 / 5)
    assert np.isnan(pfc(TRUE, IMP, missing=MISS))  # no categorical attribute


def test_image_mse_by_hand():
    cols = ["p0", "p1", "p2", "p3"]
    truth = pd.DataFrame([[0.0, 0.5, 1.0, 0.2], [0.3, 0.3, 0.3, 0.3]], columns=cols)
    imp = truth.copy()
    imp.iloc[0, :2] += [0.1, 0.2]
    imp.iloc[1, 0] += 0.5
    spec = ColumnSpec([Image(tuple(cols), (2, 2), name="img")])
    full = np.ones((2, 4), dtype=bool)
    # row 0: (0.01 + 0.04) / 4; row 1: 0.25 / 4
    assert image_mse(truth, imp, missing=full, spec=spec) == pytest.approx(
        (0.0125 + 0.0625) / 2
    )
    # element-level: only pixels 0 and 1 of row 1 hidden -> (0.25 + 0) / 2
    part = np.array([[0, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)
    assert image_mse(truth, imp, missing=part, spec=spec) == pytest.approx(0.125)
    # 0-255 data are mapped by the block's range; an explicit scale works too
    assert image_mse(truth * 255, imp * 255, missing=full, spec=spec) == pytest.approx(
        0.0375
    )
    assert image_mse(
        truth * 255, imp * 255, missing=full, spec=spec, scale=255
    ) == pytest.approx(0.0375)


def test_image_mse_per_attribute_and_sum():
    rng = np.random.default_rng(0)
    truth = rng.random((3, 4))
    imp = truth + 0.1
    imp[:, 2:] = truth[:, 2:] + 0.2
    spec = ColumnSpec([Image((0, 1), (2,), name="A"), Image((2, 3), (2,), name="B")])
    miss = np.ones((3, 4), dtype=bool)
    per = image_mse(truth, imp, missing=miss, spec=spec, reduce="per_attribute")
    assert per == pytest.approx({"A": 0.01, "B": 0.04})
    assert image_mse(truth, imp, missing=miss, spec=spec, reduce="sum") == (
        pytest.approx(0.05)
    )
    assert image_mse(truth, imp, missing=miss, spec=spec) == pytest.approx(0.025)


def test_rmse_minmax_by_hand():
    # ranges 3 and 30 (+1e-6); scaled errors 1/3 and 5/30 over 4 hidden cells
    got = rmse_minmax(TRUE, IMP, missing=MISS)
    expected = np.sqrt(((1 / (3 + 1e-6)) ** 2 + (5 / (30 + 1e-6)) ** 2) / 4)
    assert got == pytest.approx(expected)


def test_perfect_imputation_scores_zero():
    ds = make_mixed_data(300, random_state=0)
    X_miss, missing = simulate_missing(ds.frame, "mcar", 0.3, random_state=1)
    scores = score_imputation(ds.frame, ds.frame, missing=missing, spec=ds.spec)
    for key in (
        "nrmse_pooled_raw",
        "nrmse_pooled_std",
        "nrmse_per_feature",
        "pfc",
        "rmse_minmax",
    ):
        assert scores[key] == 0.0
    assert np.isnan(scores["image_mse"])
    assert scores["n_numerical"] == missing[:, :4].sum()
    assert scores["n_categorical"] == missing[:, 4:].sum()
    assert scores["n_image"] == 0


def test_mean_imputation_per_feature_nrmse_is_one():
    ds = make_gaussian_data(4000, 6, random_state=0)
    X = ds.frame.to_numpy()
    X_miss, missing = simulate_missing(X, "mcar", 0.3, random_state=1)
    X_imp = SimpleImputer().fit_transform(X_miss)
    got = nrmse(X, X_imp, missing=missing, variant="per_feature")
    assert got == pytest.approx(1.0, abs=0.03)
    scores = score_imputation(X, X_imp, missing=missing)
    assert set(scores) >= {
        "nrmse_pooled_raw",
        "nrmse_pooled_std",
        "nrmse_per_feature",
        "pfc",
        "image_mse",
    }
    assert np.isnan(scores["pfc"]) and np.isnan(scores["image_mse"])


def test_gaussian_oracle_by_hand_and_better_than_mean():
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    X = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan], [1.0, 1.0]])
    out = gaussian_conditional_mean(X, [0.0, 0.0], cov)
    np.testing.assert_allclose(out, [[0.5, 1.0], [2.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    ds = make_gaussian_data(2000, 6, random_state=0)
    X = ds.frame.to_numpy()
    X_miss, missing = simulate_missing(X, "mcar", 0.3, random_state=1)
    oracle = gaussian_conditional_mean(X_miss, ds.params["mean"], ds.params["cov"])
    mean_imp = SimpleImputer().fit_transform(X_miss)
    e_oracle = nrmse(X, oracle, missing=missing, variant="per_feature")
    e_mean = nrmse(X, mean_imp, missing=missing, variant="per_feature")
    assert e_oracle < 0.8 * e_mean


def _masked_gaussian(n=600, seed=0):
    ds = make_gaussian_data(n, 5, random_state=seed)
    X = ds.frame.to_numpy()
    X_miss, _ = simulate_missing(X, "mcar", 0.2, random_state=seed + 1)
    return X, X_miss


def test_scorer_with_cross_val_score():
    X, X_miss = _masked_gaussian()
    scorer = make_imputation_scorer()
    mean_scores = cross_val_score(SimpleImputer(), X_miss, X, scoring=scorer, cv=3)
    knn_scores = cross_val_score(KNNImputer(), X_miss, X, scoring=scorer, cv=3)
    assert mean_scores.shape == (3,)
    assert np.all(mean_scores < 0)
    assert mean_scores.mean() == pytest.approx(-1.0, abs=0.1)
    assert knn_scores.mean() > mean_scores.mean()  # correlated data: KNN helps
    # the scorer equals minus the metric on the test rows' hidden cells
    imp = SimpleImputer().fit(X_miss[:400])
    hidden = np.isnan(X_miss[400:])
    direct = nrmse(
        X[400:], imp.transform(X_miss[400:]), missing=hidden, variant="per_feature"
    )
    assert scorer(imp, X_miss[400:], X[400:]) == pytest.approx(-direct)


def test_scorer_with_grid_search():
    X, X_miss = _masked_gaussian()
    search = GridSearchCV(
        KNNImputer(),
        {"n_neighbors": [1, 5, 20]},
        scoring=make_imputation_scorer("nrmse_pooled_std"),
        cv=3,
    ).fit(X_miss, X)
    means = search.cv_results_["mean_test_score"]
    assert search.best_params_["n_neighbors"] in (1, 5, 20)
    assert search.best_score_ == pytest.approx(means.max())
    assert means[0] < means.max()  # one neighbour is the noisiest choice


def test_scorer_on_dataframes_and_bad_inputs():
    ds = make_mixed_data(200, random_state=0)
    X_miss, _ = simulate_missing(ds.frame, "mcar", 0.2, random_state=1)

    class ModeImputer:
        def transform(self, X):
            return X.fillna({c: X[c].mode()[0] for c in X.columns})

    pfc_scorer = make_imputation_scorer("pfc", spec=ds.spec)
    score = pfc_scorer(ModeImputer(), X_miss, ds.frame)
    assert -1.0 < score < 0.0
    with pytest.raises(ValueError, match="ground truth"):
        pfc_scorer(ModeImputer(), X_miss, None)
    with pytest.raises(ValueError, match="metric"):
        make_imputation_scorer("accuracy")


def test_imputation_cv_score():
    ds = make_gaussian_data(400, 4, random_state=0)
    scores = imputation_cv_score(
        SimpleImputer(), ds.frame.to_numpy(), rate=0.3, cv=4, random_state=0
    )
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    again = imputation_cv_score(
        SimpleImputer(), ds.frame.to_numpy(), rate=0.3, cv=4, random_state=0
    )
    np.testing.assert_array_equal(scores, again)


def test_shape_checks():
    with pytest.raises(ValueError, match="same shape"):
        nrmse(TRUE, IMP[:3], missing=MISS)
    with pytest.raises(ValueError, match="missing has shape"):
        nrmse(TRUE, IMP, missing=MISS[:3])
    with pytest.raises(ValueError, match="variant"):
        nrmse(TRUE, IMP, missing=MISS, variant="pooled")
    spec = ColumnSpec([Numerical(0), Numerical(1)])
    assert nrmse(TRUE, IMP, missing=MISS, spec=spec) == nrmse(TRUE, IMP, missing=MISS)
