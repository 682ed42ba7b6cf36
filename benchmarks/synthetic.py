"""Synthetic tables with known structure for the benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepimpute import ColumnSpec
from deepimpute.datasets import Dataset


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
        "synthetic (benchmarks/synthetic.py)",
    )
