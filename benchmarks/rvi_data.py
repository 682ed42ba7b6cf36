"""Data, masks, models and metrics shared by the RVI benchmarks.

* ``make_artificial``: the RVI paper's toy set (its words: "300 dimensions ... generated
  based on linear combination of samples drawn from 10 different distributions such
  as Normal, Beta and Gumbel"). The paper gives no more detail; our construction:
  each row draws one value from each of 10 fixed distributions (standardised), and
  the 300 columns are a fixed random linear mix of these 10 sources plus small
  Gaussian noise (rank-10 non-Gaussian structure).
* ``load_mnist_images``: the 10k MNIST test digits in [0, 1] (via
  ``deepimpute.datasets.load_mnist`` when available, else a direct IDX read).
* ``mcar``: elementwise Bernoulli MCAR (RVI App. E), rows left empty re-drawn.
* ``make_model``: RVI / VAD / VAE with the paper's sizes (latent 64, [64, 64]).
* ``elastic``: the paper's "elastic" metric, mean |error| + mean squared error.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from deepimpute.imputers import RVIImputer, VADImputer, VAEImputer
from deepimpute.schema import ColumnSpec, Image, Numerical

MNIST_IMAGES = Path("/work/shared/datasets/mnist/t10k-images-idx3-ubyte.gz")
MODELS = ("RVI", "VAD", "VAE")


def make_artificial(n: int, seed: int = 0, d: int = 300, noise: float = 0.1):
    """``(n, d)`` linear mix of 10 non-Gaussian sources (see module docstring)."""
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


def dataset(name: str, n: int, seed: int):
    """``(X, spec)``: MNIST as one 28x28 Bernoulli image, or 300 numerical columns."""
    if name == "mnist":
        return load_mnist_images(n, seed), ColumnSpec(
            [Image(tuple(range(784)), (28, 28), name="digit")]
        )
    X = make_artificial(n, seed)
    return X, ColumnSpec([Numerical(j) for j in range(X.shape[1])])


def mcar(X: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Copy of ``X`` with each entry hidden with probability ``rate``; a row left
    with no observed entry gets one random entry back (always observed evidence)."""
    rng = np.random.default_rng(seed)
    hide = rng.random(X.shape) < rate
    for i in np.flatnonzero(hide.all(1)):
        hide[i, rng.integers(X.shape[1])] = False
    Xm = X.copy()
    Xm[hide] = np.nan
    return Xm


def make_model(name: str, spec, *, epochs: int, seed: int, lr: float = 1e-3,
               posterior_lr: float | None = None, inference_steps: int = 250,
               inference_lr: float = 1e-3, n_draws: int = 100, callback=None):
    """The compared models with the RVI paper's sizes (latent 64, [64, 64])."""
    shared = dict(column_spec=spec, max_iter=epochs, batch_size=256,
                  learning_rate=lr, validation_fraction=0.0, n_iter_no_change=None,
                  random_state=seed, device="cpu", callback=callback)
    rows = dict(latent_dim=64, hidden=(64, 64), posterior_learning_rate=posterior_lr,
                inference_steps=inference_steps, inference_learning_rate=inference_lr)
    if name == "RVI":
        return RVIImputer(relay_groups=(25, 50, 100), relay_ratio=0.5, **rows,
                          **shared)
    if name == "VAD":
        return VADImputer(**rows, **shared)
    if name == "VAE":
        return VAEImputer(latent_dim=64, hidden=(64, 64), n_draws=n_draws,
                          **shared)
    raise ValueError(name)


@torch.no_grad()
def train_reconstruction(imp) -> np.ndarray:
    """Model-space reconstruction of the training rows from the posterior mean:
    the learned per-row means (RVI/VAD) or the encoder mean (VAE)."""
    module = imp.module_
    was_training = module.training
    module.eval()
    if hasattr(module, "reconstruct"):
        out = module.reconstruct(module.rows)
    else:
        x, obs, attr = (torch.from_numpy(a) for a in imp._fit_view)
        from deepimpute.training import Batch

        batch = Batch(x, obs, attr, torch.arange(len(x)))
        mu, _ = module._posterior(batch)
        out = module.likelihood.mean(module._decode(mu, batch))
    module.train(was_training)
    return out.numpy().astype(np.float64)


def elastic(pred: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """Mean absolute plus mean squared error over the entries ``where``."""
    if not where.any():
        return float("nan")
    err = pred[where] - truth[where]
    return float(np.abs(err).mean() + (err**2).mean())


def rmse(pred: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    return float(np.sqrt(((pred[where] - truth[where]) ** 2).mean()))
