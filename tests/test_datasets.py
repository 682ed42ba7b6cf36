"""Loaders on the real files (skipped without the data folder), and generators."""

import dataclasses
import hashlib
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from deepimpute import datasets as D
from deepimpute.schema import Image

HOME = D.get_data_home()
needs_data = pytest.mark.skipif(
    HOME is None or not HOME.is_dir(), reason="shared/datasets folder not found"
)


def _kinds(ds):
    return dict(Counter(ds.spec.kinds))


def _check(ds, shape, kinds, target):
    assert isinstance(ds, D.Dataset)
    assert ds.frame.shape == shape
    assert _kinds(ds) == kinds
    assert list(ds.spec.columns) == list(ds.frame.columns)
    if target is None:
        assert ds.target is None
    else:
        assert ds.target.name == target
        assert len(ds.target) == shape[0]
        assert target not in ds.frame.columns
    for attr in ds.spec:
        if attr.kind == "categorical":
            assert isinstance(ds.frame[attr.column].dtype, pd.CategoricalDtype)
        elif attr.kind == "numerical":
            assert pd.api.types.is_numeric_dtype(ds.frame[attr.column].dtype)


@needs_data
@pytest.mark.parametrize(
    "loader, shape, kinds, target",
    [
        (D.load_yeast, (1484, 8), {"numerical": 8}, "localization_site"),
        (D.load_white_wine, (4898, 11), {"numerical": 11}, "quality"),
        (D.load_red_wine, (1599, 11), {"numerical": 11}, "quality"),
        (D.load_mushroom, (8124, 22), {"categorical": 22}, "class"),
        (D.load_phishing, (11055, 30), {"categorical": 30}, "Result"),
        (D.load_heart, (297, 13), {"numerical": 6, "categorical": 7}, "num"),
        (D.load_letter, (20000, 16), {"numerical": 16}, None),
        (D.load_spam, (4601, 57), {"numerical": 57}, None),
        (D.load_adult, (32561, 14), {"numerical": 6, "categorical": 8}, "income"),
        (
            D.load_credit_default,
            (30000, 23),
            {"numerical": 14, "categorical": 9},
            "default_payment_next_month",
        ),
    ],
)
def test_table_loaders(loader, shape, kinds, target):
    ds = loader()
    _check(ds, shape, kinds, target)
    assert str(HOME) in ds.source and "http" in ds.source
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


@needs_data
def test_native_missing_values_per_protocol():
    mush = D.load_mushroom()
    assert not mush.frame.isna().any().any()
    assert (mush.frame["stalk_root"] == "?").sum() == 2480
    assert "?" in mush.frame["stalk_root"].cat.categories
    heart = D.load_heart()
    assert not heart.frame.isna().any().any()
    cats = [a.column for a in heart.spec if a.kind == "categorical"]
    assert cats == ["sex", "cp", "fbs", "restecg", "exang", "slope", "thal"]
    assert list(heart.frame["thal"].cat.categories) == [3, 6, 7]
    assert heart.frame.index.equals(pd.RangeIndex(297))
    adult = D.load_adult()
    na = adult.frame.isna().sum()
    assert na.sum() == 4262
    assert set(na[na > 0].index) == {"workclass", "occupation", "native_country"}
    assert D.load_adult(subset="test").frame.shape == (16281, 14)
    assert D.load_adult(subset="all").frame.shape == (32561 + 16281, 14)
    phish = D.load_phishing()
    assert set(phish.frame["URL_Length"].cat.categories) == {-1, 0, 1}


@needs_data
def test_uci_variants_agree_with_gain_files():
    gain, uci = D.load_letter(), D.load_letter(variant="uci")
    assert uci.target.name == "lettr" and uci.frame.shape == (20000, 16)
    np.testing.assert_array_equal(gain.frame.to_numpy(), uci.frame.to_numpy())
    assert list(gain.frame.columns)[:2] == ["Cat 1", "Cat 2"]  # header space stripped
    spam = D.load_spam(variant="uci")
    np.testing.assert_array_equal(D.load_spam().frame.to_numpy(), spam.frame.to_numpy())
    assert spam.target.sum() == 1813


@needs_data
def test_mnist():
    ds = D.load_mnist()
    _check(ds, (10000, 784), {"image": 1}, "label")
    (img,) = ds.spec.attributes
    assert isinstance(img, Image) and img.shape == (28, 28)
    values = ds.frame.to_numpy()
    assert values.min() == 0.0 and values.max() == 1.0
    assert ds.target.value_counts()[1] == 1135
    raw = D.load_mnist(normalize=False).frame
    assert raw.dtypes.iloc[0] == np.uint8
    np.testing.assert_allclose(raw.to_numpy() / 255.0, values, rtol=1e-6)


@needs_data
def test_mnist_pairs():
    ds = D.make_mnist_pairs(random_state=0)
    # min(#a, #b) rows per pair of the 10k test digits
    assert ds.frame.shape == (4832, 1568)
    assert [a.label for a in ds.spec] == ["digit_a", "digit_b"]
    assert all(a.shape == (28, 28) for a in ds.spec)
    labels = D.load_mnist().target.to_numpy()
    first, second = ds.params["first_index"], ds.params["second_index"]
    np.testing.assert_array_equal(labels[first], ds.target.to_numpy())
    np.testing.assert_array_equal(labels[second], 9 - ds.target.to_numpy())
    assert len(set(first)) == len(first) and len(set(second)) == len(second)
    again = D.make_mnist_pairs(random_state=0, n_samples=100)
    pd.testing.assert_frame_equal(again.frame, ds.frame.iloc[:100])
    other = D.make_mnist_pairs(random_state=1, n_samples=100)
    assert not np.array_equal(other.params["first_index"], first[:100])


def test_yeast_always_loads_from_embedded_copy(tmp_path, monkeypatch):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    ds = D.load_yeast(data_home=tmp_path)
    _check(ds, (1484, 8), {"numerical": 8}, "localization_site")
    assert "embedded" in ds.source
    assert ds.target.value_counts()["CYT"] == 463
    if HOME is not None and (HOME / "yeast" / "yeast.csv").is_file():
        pd.testing.assert_frame_equal(ds.frame, D.load_yeast().frame)


def test_heart_loads_from_embedded_copy(tmp_path):
    ds = D.load_heart(data_home=tmp_path)  # an empty data folder
    _check(ds, (297, 13), {"numerical": 6, "categorical": 7}, "num")
    assert "embedded" in ds.source
    assert ds.target.value_counts().sort_index().tolist() == [160, 54, 35, 35, 13]
    assert list(ds.frame["thal"].cat.categories) == [3, 6, 7]
    # UCI's file unchanged (the digest its licence file states)
    digest = hashlib.sha256((D._PKG_DATA / "heart_cleveland.data").read_bytes())
    licence = (D._PKG_DATA / "heart_cleveland_LICENSE.txt").read_text()
    assert digest.hexdigest() in licence
    if HOME is not None and (HOME / "heart_cleveland" / "cleveland.csv").is_file():
        pd.testing.assert_frame_equal(ds.frame, D.load_heart().frame)
        pd.testing.assert_series_equal(ds.target, D.load_heart().target)


def test_heart_keeps_incomplete_rows_on_request(tmp_path):
    ds = D.load_heart(data_home=tmp_path, drop_incomplete=False)
    assert ds.frame.shape == (303, 13)
    assert ds.frame.isna().sum()[lambda s: s > 0].to_dict() == {"ca": 4, "thal": 2}
    assert ds.frame["thal"].isna().sum() == 2  # NaN, not a category
    assert list(ds.frame["thal"].cat.categories) == [3, 6, 7]


def test_heart_reads_the_uci_file_as_published_and_with_a_header(tmp_path):
    folder = tmp_path / "heart_cleveland"
    folder.mkdir()
    published = (D._PKG_DATA / "heart_cleveland.data").read_text()
    assert published[0].isdigit()  # no header line
    # UCI's file name, or saved as cleveland.csv: read the same
    (folder / "processed.cleveland.data").write_text(published)
    as_published = D.load_heart(data_home=tmp_path)
    assert str(folder / "processed.cleveland.data") in as_published.source
    (folder / "cleveland.csv").write_text(published)
    renamed = D.load_heart(data_home=tmp_path)
    assert str(folder / "cleveland.csv") in renamed.source
    pd.testing.assert_frame_equal(renamed.frame, as_published.frame)
    # the shared folder's layout: a header, empty fields for the missing values
    header = ",".join(D.HEART_COLUMNS) + "\n"
    (folder / "cleveland.csv").write_text(header + published.replace("?", ""))
    pd.testing.assert_frame_equal(D.load_heart(data_home=tmp_path).frame,
                                  as_published.frame)
    (folder / "cleveland.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="header must be age,sex,cp"):
        D.load_heart(data_home=tmp_path)


def test_missing_file_error_names_path_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        D.load_white_wine(data_home=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "wine_quality" / "wine_white.csv") in msg
    assert "archive.ics.uci.edu" in msg
    with pytest.raises(FileNotFoundError, match="yann.lecun.com"):
        D.load_mnist(data_home=tmp_path)


def test_environment_variable_is_honoured(tmp_path, monkeypatch):
    folder = tmp_path / "wine_quality"
    folder.mkdir()
    cols = ["fixed_acidity", "volatile_acidity", "quality"]
    pd.DataFrame([[7.0, 0.27, 6], [6.3, 0.3, 5]], columns=cols).to_csv(
        folder / "wine_red.csv", index=False
    )
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path))
    assert D.get_data_home() == tmp_path
    ds = D.load_red_wine()
    assert ds.frame.shape == (2, 2)
    assert list(ds.target) == [6, 5]
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        D.load_white_wine()
    # an explicit argument wins over the variable
    assert D.get_data_home(tmp_path / "x") == tmp_path / "x"


def test_make_mixed_data():
    ds = D.make_mixed_data(
        300, random_state=0, n_numerical=3, n_categorical=2, n_categories=4
    )
    _check(ds, (300, 5), {"numerical": 3, "categorical": 2}, None)
    assert list(ds.frame["cat0"].cat.categories) == ["c0", "c1", "c2", "c3"]
    pd.testing.assert_frame_equal(
        ds.frame,
        D.make_mixed_data(
            300, random_state=0, n_numerical=3, n_categorical=2, n_categories=4
        ).frame,
    )
    # numerical columns share latent factors: strongly correlated on average
    corr = np.abs(np.corrcoef(ds.frame[["num0", "num1", "num2"]].to_numpy().T))
    assert corr[np.triu_indices(3, 1)].mean() > 0.3


def test_make_gaussian_data():
    ds = D.make_gaussian_data(20000, 4, random_state=0)
    _check(ds, (20000, 4), {"numerical": 4}, None)
    cov = ds.params["cov"]
    np.testing.assert_allclose(
        np.cov(ds.frame.to_numpy().T), cov, atol=0.1 * np.abs(cov).max()
    )
    np.testing.assert_allclose(ds.frame.mean(), ds.params["mean"], atol=0.05)
    fixed = D.make_gaussian_data(10, 2, random_state=0, mean=[1, 2], cov=np.eye(2))
    np.testing.assert_array_equal(fixed.params["mean"], [1.0, 2.0])
    with pytest.raises(ValueError):
        D.make_gaussian_data(10, 3, mean=[0, 0])
