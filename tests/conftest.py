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


# ------------------------------------------------------------ RVI / VAD guide
#: RVI and VAD fit a guide network after training: up to ``_guide_epochs`` (400)
#: passes over a small table whatever ``max_iter`` is, 2 s of a tiny two-epoch fit
#: of 200 rows that trains in 0.08 s, in every one of the ~230 contract checks
#: that fit them. Those checks need the guide's code path, not its quality: they
#: run a 10-pass guide. The tests whose subject is the guide keep its settings.
SHORT_GUIDE = {"_guide_epochs": 10, "_guide_steps": 50}
FULL_GUIDE_TESTS = ("tests/imputers/test_rvi.py", "tests/models/test_rvi_core.py")


_PACKAGE_GUIDE: dict = {}  # the package's own values, read before the first patch


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    from deepimpute.imputers import RVIImputer

    if not _PACKAGE_GUIDE:
        _PACKAGE_GUIDE.update({k: getattr(RVIImputer, k) for k in SHORT_GUIDE})
    values = _PACKAGE_GUIDE if item.nodeid.startswith(FULL_GUIDE_TESTS) else SHORT_GUIDE
    for name, value in values.items():
        setattr(RVIImputer, name, value)
