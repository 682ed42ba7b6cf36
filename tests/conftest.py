import os

import numpy as np
import pytest
import torch

from instances import correlated_table  # noqa: F401  (shared by test modules)

# Two shared cores: one intra-op thread keeps runs predictable and avoids
# oversubscription when several test processes run.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
