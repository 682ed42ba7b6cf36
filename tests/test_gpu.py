"""The imputer contract on CUDA (marked ``gpu``; skipped where no CUDA device is).

Run on a GPU machine with ``python -m pytest -m gpu tests/test_gpu.py``.
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from deepimpute.imputers import BaseDeepImputer
from instances import CLASSES, tiny

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

DEEP_NAMES = [n for n, c in CLASSES.items() if issubclass(c, BaseDeepImputer)]
ROOT = Path(__file__).resolve().parents[1]


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "a": z + 0.1 * rng.normal(size=n),
            "b": 2 * z + 0.1 * rng.normal(size=n),
            "c": pd.Categorical(np.where(z > 0, "hi", "lo")),
        }
    )
    return X.mask(rng.random(X.shape) < 0.2)


def _cuda(name):
    return tiny(name).set_params(device="cuda", max_iter=3)


@pytest.mark.parametrize("name", DEEP_NAMES)
def test_contract_on_cuda(name):
    X = _table()
    X_before = X.copy()
    est = _cuda(name).fit(X)
    assert est.device_.startswith("cuda")
    # nothing of the model stays on the CPU
    for t in [*est.module_.parameters(), *est.module_.buffers()]:
        assert t.device.type == "cuda"
    out = est.transform(X)
    pd.testing.assert_frame_equal(X, X_before)  # caller's data untouched
    assert not out.isna().any().any()
    observed = X.notna().to_numpy()
    assert (
        out.astype(object).to_numpy()[observed] == X.astype(object).to_numpy()[observed]
    ).all()
    # same output twice on the same device
    pd.testing.assert_frame_equal(est.transform(X), out)
    d1 = est.sample(X, n_draws=2, random_state=0)
    d2 = est.sample(X, n_draws=2, random_state=0)
    for a, b in zip(d1, d2, strict=True):
        pd.testing.assert_frame_equal(a, b)
    # refitting with the same seed: same model up to non-deterministic CUDA
    # reductions (a few ulps that training may grow a little)
    again = _cuda(name).fit(X).transform(X)
    np.testing.assert_allclose(
        again[["a", "b"]].to_numpy(), out[["a", "b"]].to_numpy(), atol=1e-3
    )


@pytest.mark.parametrize("name", ["vsae", "rvi", "miwae"])
def test_pickled_on_gpu_loads_without_cuda(name, tmp_path):
    X = _table()
    est = _cuda(name).fit(X)
    expected = est.transform(X)
    path = tmp_path / "est.pkl"
    path.write_bytes(pickle.dumps(est))
    X.to_pickle(tmp_path / "X.pkl")
    script = (
        "import pickle, sys, warnings, pandas as pd, torch\n"
        "assert not torch.cuda.is_available()\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    est = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert any('loaded on the CPU' in str(x.message) for x in w)\n"
        "assert est.device_ == 'cpu'\n"
        f"X = pd.read_pickle({str(tmp_path / 'X.pkl')!r})\n"
        f"est.transform(X).to_pickle({str(tmp_path / 'out.pkl')!r})\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=ROOT)
    got = pd.read_pickle(tmp_path / "out.pkl")
    # CPU and GPU kernels round differently: close, not equal
    np.testing.assert_allclose(
        got[["a", "b"]].to_numpy(), expected[["a", "b"]].to_numpy(), atol=1e-3
    )
    assert (got["c"] == expected["c"]).mean() > 0.95
