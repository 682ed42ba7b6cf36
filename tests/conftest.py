import os

import numpy as np
import pytest
import torch

# Two shared cores: one intra-op thread keeps runs predictable and avoids
# oversubscription when several test processes run.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def correlated_table(n=300, p=5, missing_rate=0.2, seed=0):
    """Rows driven by 2 latent factors; returns (X_full, X_missing)."""
    r = np.random.default_rng(seed)
    z = r.normal(size=(n, 2))
    X = z @ r.normal(size=(2, p)) + 0.1 * r.normal(size=(n, p))
    Xm = X.copy()
    Xm[r.random(X.shape) < missing_rate] = np.nan
    return X, Xm
