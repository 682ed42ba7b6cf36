"""Missingness simulation: rates, reproducibility, dependence on values, units."""

import numpy as np
import pandas as pd
import pytest

from deepimpute.missingness import MECHANISMS, missing_rate, simulate_missing
from deepimpute.schema import Categorical, ColumnSpec, Image, Numerical


def _gaussian(n=3000, p=8, seed=100):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((p, 2))
    cov = L @ L.T + 0.3 * np.eye(p)
    return rng.multivariate_normal(np.zeros(p), cov, size=n)


def _image_table(n=400, seed=0):
    """Two numerical columns and one 2x3 image block."""
    rng = np.random.default_rng(seed + 100)
    X = rng.random((n, 8))
    spec = ColumnSpec(
        [Numerical(0), Numerical(1), Image(tuple(range(2, 8)), (2, 3), name="img")]
    )
    return X, spec


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_rate_is_hit(mechanism, rate):
    X = _gaussian()
    X_miss, missing, info = simulate_missing(
        X, mechanism, rate, random_state=1, return_info=True
    )
    assert missing.shape == X.shape and missing.dtype == bool
    assert abs(missing.mean() - rate) < 0.02
    assert info["rate"] == pytest.approx(missing.mean())
    assert np.array_equal(np.isnan(X_miss), missing)
    # every row keeps an observed attribute
    assert (~missing).any(axis=1).all()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_same_seed_same_mask(mechanism):
    X = _gaussian(n=500)
    _, m1 = simulate_missing(X, mechanism, 0.3, random_state=7)
    _, m2 = simulate_missing(X, mechanism, 0.3, random_state=7)
    _, m3 = simulate_missing(X, mechanism, 0.3, random_state=8)
    assert np.array_equal(m1, m2)
    assert not np.array_equal(m1, m3)


def test_global_numpy_state_untouched():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    simulate_missing(_gaussian(n=200), "mar", 0.3, random_state=None)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("mechanism", ["mnar_self", "mnar_quantile"])
def test_self_masking_hides_large_values(mechanism):
    X = _gaussian()
    _, missing = simulate_missing(X, mechanism, 0.3, random_state=0)
    for j in range(X.shape[1]):
        hidden, seen = X[missing[:, j], j], X[~missing[:, j], j]
        assert hidden.mean() > seen.mean() + 0.5 * X[:, j].std()


def test_mcar_does_not_depend_on_values():
    X = _gaussian()
    _, missing = simulate_missing(X, "mcar", 0.3, random_state=0)
    for j in range(X.shape[1]):
        diff = X[missing[:, j], j].mean() - X[~missing[:, j], j].mean()
        assert abs(diff) < 0.2 * X[:, j].std()


def test_mar_keeps_inputs_observed_and_depends_on_them():
    X = _gaussian()
    _, missing, info = simulate_missing(X, "mar", 0.3, random_state=0, return_info=True)
    inputs = info["observed_units"]
    assert len(inputs) == round(0.3 * X.shape[1])
    assert not missing[:, inputs].any()
    others = [j for j in range(X.shape[1]) if j not in inputs]
    assert missing[:, others].mean() == pytest.approx(0.3 * 8 / 6, abs=0.03)
    # the missingness of a masked column is predictable from the observed inputs
    from sklearn.linear_model import LogisticRegression

    j = others[0]
    clf = LogisticRegression().fit(X[:, inputs], missing[:, j])
    assert (
        clf.score(X[:, inputs], missing[:, j])
        > max(missing[:, j].mean(), 1 - missing[:, j].mean()) + 0.05
    )


def test_mnar_logistic_masks_every_column():
    _, missing = simulate_missing(_gaussian(), "mnar_logistic", 0.3, random_state=0)
    assert (missing.mean(axis=0) > 0.2).all()


def test_mnar_quantile_options():
    X = _gaussian()
    _, missing, info = simulate_missing(
        X, "mnar_quantile", 0.2, quantile=0.6, random_state=0, return_info=True
    )
    assert info["prob"] == pytest.approx(0.5)
    assert missing.mean() == pytest.approx(0.2, abs=0.02)
    for j in range(X.shape[1]):  # nothing below the 0.6-quantile is hidden
        assert X[missing[:, j], j].min() >= np.quantile(X[:, j], 0.6) - 1e-12
    with pytest.raises(ValueError, match="not both"):
        simulate_missing(X, "mnar_quantile", 0.2, quantile=0.5, prob=0.4)
    with pytest.raises(ValueError, match="out of reach"):
        simulate_missing(X, "mnar_quantile", 0.5, quantile=0.8)


def test_x_is_not_mutated_array_and_frame():
    X = _gaussian(n=300)
    X0 = X.copy()
    simulate_missing(X, "mcar", 0.5, random_state=0)
    assert np.array_equal(X, X0)
    df = pd.DataFrame(X[:, :3], columns=list("abc"))
    df["cat"] = pd.Categorical(np.where(X[:, 3] > 0, "hi", "lo"))
    df0 = df.copy()
    simulate_missing(df, "mnar_self", 0.5, random_state=0)
    pd.testing.assert_frame_equal(df, df0)


def test_existing_nan_stays_missing_and_is_not_counted():
    X = _gaussian(n=2000)
    rng = np.random.default_rng(3)
    native = rng.random(X.shape) < 0.1
    X[native] = np.nan
    for mechanism in MECHANISMS:
        X_miss, missing, info = simulate_missing(
            X, mechanism, 0.3, random_state=0, return_info=True
        )
        assert not (missing & native).any()
        assert np.isnan(X_miss[native]).all()
        assert np.array_equal(np.isnan(X_miss), native | missing)
        # the rate is over the cells that were observed
        assert missing.sum() / (~native).sum() == pytest.approx(0.3, abs=0.02)
        assert info["n_eligible"] == (~native).sum()


def test_dataframe_dtypes_kept():
    rng = np.random.default_rng(50)
    n = 300
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "s": pd.array(rng.choice(["u", "v"], n), dtype="str"),
            "i": rng.integers(0, 4, n),
        },
        index=np.arange(100, 100 + n),
    )
    for mechanism in MECHANISMS:
        X_miss, missing = simulate_missing(df, mechanism, 0.4, random_state=1)
        assert isinstance(X_miss["cat"].dtype, pd.CategoricalDtype)
        assert list(X_miss["cat"].cat.categories) == ["a", "b", "c"]
        assert X_miss["s"].dtype == df["s"].dtype
        assert X_miss["x"].dtype == np.float64
        assert X_miss.index.equals(df.index)
        assert np.array_equal(X_miss.isna().to_numpy(), missing)
        kept = ~missing[:, 2]
        assert (X_miss["s"].to_numpy()[kept] == df["s"].to_numpy()[kept]).all()


def test_image_blocks_hidden_as_a_unit():
    X, spec = _image_table()
    for mechanism in MECHANISMS:
        _, missing = simulate_missing(X, mechanism, 0.4, spec=spec, random_state=0)
        block = missing[:, 2:]
        assert (block.all(axis=1) | ~block.any(axis=1)).all()
        assert block.any()
        # attribute-level rate: 3 attributes per row
        assert missing_rate(missing, spec) == pytest.approx(
            np.mean([missing[:, 0], missing[:, 1], block.any(axis=1)])
        )


def test_element_granularity_hides_pixels_separately():
    X, spec = _image_table(n=1000)
    _, missing, info = simulate_missing(
        X,
        "mcar",
        0.3,
        spec=spec,
        granularity="element",
        random_state=0,
        return_info=True,
    )
    block = missing[:, 2:]
    partial = block.any(axis=1) & ~block.all(axis=1)
    assert partial.mean() > 0.5
    assert missing.mean() == pytest.approx(0.3, abs=0.02)
    assert missing_rate(missing, spec, granularity="element") == pytest.approx(
        missing.mean()
    )


def test_two_attributes_rate_is_calibrated_for_redrawing():
    # with two attributes, re-drawing empty rows would otherwise cut the rate
    X = np.random.default_rng(123).random((4000, 2))
    for mechanism in ["mcar", "mnar_self"]:
        _, missing, info = simulate_missing(
            X, mechanism, 0.3, random_state=0, return_info=True
        )
        assert (~missing).any(axis=1).all()
        assert info["n_redrawn"] > 0
        assert missing.mean() == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError, match="keeping one observed"):
        simulate_missing(X, "mcar", 0.6, random_state=0)
    _, missing = simulate_missing(X, "mcar", 0.6, random_state=0, ensure_observed=False)
    assert missing.all(axis=1).any()
    assert missing.mean() == pytest.approx(0.6, abs=0.02)


def test_categorical_inputs_and_object_arrays():
    rng = np.random.default_rng(51)
    X = np.empty((1000, 3), dtype=object)
    X[:, 0] = rng.normal(size=1000)
    X[:, 1] = rng.choice(["a", "b", "c"], 1000)
    X[:, 2] = rng.normal(size=1000)
    spec = ColumnSpec([Numerical(0), Categorical(1), Numerical(2)])
    X_miss, missing = simulate_missing(X, "mnar_self", 0.3, spec=spec, random_state=0)
    assert X_miss.dtype == object
    assert pd.isna(X_miss[missing]).all()
    # self-masking on codes: "c" (largest code) goes missing most often
    col = X[:, 1]
    rates = [missing[col == v, 1].mean() for v in "abc"]
    assert rates[0] < rates[1] < rates[2]


def test_integer_array_becomes_float():
    X = np.arange(40).reshape(20, 2)
    X_miss, missing = simulate_missing(X, "mcar", 0.3, random_state=0)
    assert X_miss.dtype == np.float64
    assert np.isnan(X_miss[missing]).all()


def test_bad_arguments():
    X = _gaussian(n=50)
    with pytest.raises(ValueError, match="mechanism"):
        simulate_missing(X, "mnar", 0.3)
    with pytest.raises(ValueError, match="rate"):
        simulate_missing(X, "mcar", 1.0)
    with pytest.raises(ValueError, match="granularity"):
        simulate_missing(X, "mcar", 0.3, granularity="pixel")
    with pytest.raises(ValueError, match="needs a rate"):
        simulate_missing(X, "mar", 0.8)
    with pytest.raises(TypeError):
        simulate_missing(X, "mcar", 0.3, p_obs=0.5)


def test_float_frame_under_value_mechanisms_is_not_mutated():
    # regression: an all-float DataFrame's matrix was a view of the caller's data
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc"))
    X.iloc[0, 0] = np.nan
    before = X.copy()
    for mechanism in ("mar", "mnar_self", "mnar_logistic"):
        X_missing, _ = simulate_missing(X, mechanism, 0.3, random_state=0)
        assert X_missing.isna().to_numpy().any()
    pd.testing.assert_frame_equal(X, before)
