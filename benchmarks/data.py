"""The benchmarks' data, by name: tables, synthetic tables with known structure, and
the RVI paper's sets.

* :func:`load`: a table by the short name the runner's suites use (the UCI tables of
  :mod:`deepimpute.datasets`, ``diabetes`` from scikit-learn, the synthetic
  ``latent_factor`` table, ``<name>_10k``: a fixed 10,000-row sample);
* :func:`latent_factor_table`: 11 columns from a 3-factor latent Gaussian;
* :func:`gaussian_table`: the oracle suite's Gaussian with a known law;
* :func:`rvi_dataset`: the RVI paper's sets, MNIST digits as one 28x28 image or its
  300-column artificial table (:func:`make_artificial`), with :func:`elementwise_mcar`
  masks.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from deepimpute import ColumnSpec
from deepimpute.datasets import Dataset
from deepimpute.schema import Image, Numerical

MNIST_IMAGES = Path("/work/shared/datasets/mnist/t10k-images-idx3-ubyte.gz")


def load(name: str) -> Dataset:
    """A :class:`deepimpute.datasets.Dataset` by short name."""
    from deepimpute import datasets as ds

    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        frame = load_diabetes(as_frame=True).frame.drop(columns="target")
        return Dataset(
            frame,
            ColumnSpec.infer(frame),
            None,
            "diabetes",
            "sklearn.datasets.load_diabetes",
        )
    if name == "latent_factor":
        return latent_factor_table(5000, random_state=0)
    loaders = {
        "yeast": ds.load_yeast,
        "white_wine": ds.load_white_wine,
        "red_wine": ds.load_red_wine,
        "mushroom": ds.load_mushroom,
        "phishing": ds.load_phishing,
        "heart": ds.load_heart,
        "letter": ds.load_letter,
        "spam": ds.load_spam,
        "adult": ds.load_adult,
        "credit_default": ds.load_credit_default,
    }
    if name.endswith("_10k"):  # a fixed 10,000-row sample (the same for every seed)
        data = loaders[name.removesuffix("_10k")]()
        rows = np.sort(np.random.default_rng(0).permutation(len(data.frame))[:10_000])
        frame = data.frame.iloc[rows].reset_index(drop=True)
        target = None if data.target is None else data.target.iloc[rows]
        return Dataset(
            frame, data.spec, target, name, f"{data.source} (rows {len(rows)} of "
            f"{len(data.frame)}, numpy default_rng(0) permutation)"
        )
    return loaders[name]()


def latent_factor_table(n: int = 5000, random_state=0) -> Dataset:
    """The latent-factor table: 11 columns from a 3-factor latent Gaussian.

    Columns are linear mixes of the factors plus noise, passed through identity
    (normal), exp (lognormal), softplus-like exponential tails and tanh shapes.
    """
    r = np.random.default_rng(random_state)
    z = r.normal(size=(n, 3))
    lin = z @ r.normal(size=(3, 11)) + 0.3 * r.normal(size=(n, 11))
    cols = {}
    for j in range(11):
        v = lin[:, j]
        kind = ("normal", "lognormal", "exponential", "tanh")[j % 4]
        if kind == "lognormal":
            v = np.exp(0.5 * v)
        elif kind == "exponential":
            v = -np.log1p(np.exp(-v)) + r.exponential(0.5, size=n)
        elif kind == "tanh":
            v = np.tanh(v) + 0.05 * r.normal(size=n)
        cols[f"{kind}_{j}"] = v
    frame = pd.DataFrame(cols)
    return Dataset(
        frame,
        ColumnSpec.infer(frame),
        None,
        "latent_factor",
        "synthetic (benchmarks/data.py)",
    )


def gaussian_table(n_samples: int, n_features: int, n_factors: int, data_seed: int):
    """The oracle suite's Gaussian :class:`~deepimpute.datasets.Dataset`; its
    ``params`` hold the true ``mean`` and ``cov``."""
    from deepimpute.datasets import make_gaussian_data

    return make_gaussian_data(
        n_samples, n_features, random_state=data_seed, n_factors=n_factors
    )


def make_artificial(n: int, seed: int = 0, d: int = 300, noise: float = 0.1):
    """The RVI paper's toy set, ``(n, d)``: a linear mix of 10 non-Gaussian sources.

    The paper says only "300 dimensions ... generated based on linear combination of
    samples drawn from 10 different distributions such as Normal, Beta and Gumbel";
    here each row draws one value from each of 10 fixed distributions (standardised),
    and the columns are a fixed random linear mix of these sources plus small
    Gaussian noise (rank-10 non-Gaussian structure).
    """
    mix = np.random.default_rng(12345)  # the mixing matrix is part of the dataset
    weights = mix.normal(size=(10, d)) / np.sqrt(10)
    rng = np.random.default_rng(seed)
    sources = np.stack([
        rng.normal(size=n),
        rng.beta(0.5, 0.5, size=n),
        rng.gumbel(size=n),
        rng.laplace(size=n),
        rng.exponential(size=n),
        rng.uniform(-1, 1, size=n),
        rng.gamma(2.0, size=n),
        rng.lognormal(0, 0.5, size=n),
        rng.logistic(size=n),
        rng.standard_t(5, size=n),
    ], axis=1)
    sources = (sources - sources.mean(0)) / sources.std(0)
    return sources @ weights + noise * rng.normal(size=(n, d))


def load_mnist_images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random MNIST test digits as ``(n, 784)`` floats in [0, 1]."""
    try:
        from deepimpute.datasets import load_mnist

        pixels = load_mnist().frame.to_numpy(dtype=np.float64)
    except (ImportError, AttributeError, FileNotFoundError, OSError):
        with gzip.open(MNIST_IMAGES, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
        pixels = raw.reshape(-1, 784).astype(np.float64) / 255.0
    rows = np.random.default_rng(seed).choice(len(pixels), n, replace=False)
    return pixels[rows]


def rvi_dataset(name: str, n: int, seed: int):
    """``(X, spec)``: MNIST as one 28x28 Bernoulli image, or 300 numerical columns."""
    if name == "mnist":
        return load_mnist_images(n, seed), ColumnSpec(
            [Image(tuple(range(784)), (28, 28), name="digit")]
        )
    X = make_artificial(n, seed)
    return X, ColumnSpec([Numerical(j) for j in range(X.shape[1])])


def elementwise_mcar(X: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Copy of ``X`` with each entry hidden with probability ``rate`` (RVI App. E);
    a row left with no observed entry gets one random entry back."""
    rng = np.random.default_rng(seed)
    hide = rng.random(X.shape) < rate
    for i in np.flatnonzero(hide.all(1)):
        hide[i, rng.integers(X.shape[1])] = False
    Xm = X.copy()
    Xm[hide] = np.nan
    return Xm
