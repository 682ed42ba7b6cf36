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


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes (skips without
    ``distributed``)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c
