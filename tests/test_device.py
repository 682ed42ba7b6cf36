"""Device hygiene on the CPU suite: no tensor is created without an explicit device.

With torch's default device set to ``meta``, any tensor built without ``device=``
(``torch.zeros(n)``, ``torch.randn(...)``, a fresh ``nn.Linear``) lands on the meta
device and the first operation mixing it with a real CPU tensor fails, exactly as a
CPU-made tensor would fail next to CUDA ones on a GPU.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from deepimpute.imputers import BaseDeepImputer
from instances import CLASSES, tiny

DEEP_NAMES = [n for n, c in CLASSES.items() if issubclass(c, BaseDeepImputer)]


@pytest.fixture
def meta_default_device():
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


@pytest.mark.parametrize("name", DEEP_NAMES)
def test_deep_imputer_uses_its_device_only(name, mixed_table, meta_default_device):
    X = mixed_table
    est = tiny(name).set_params(device="cpu")
    out = est.fit(X).transform(X)
    assert not out.isna().any().any()
    draws = est.sample(X, n_draws=2, random_state=0)
    assert len(draws) == 2 and not draws[1].isna().any().any()
    # every parameter and buffer lives on the requested device
    for t in [*est.module_.parameters(), *est.module_.buffers()]:
        assert t.device == torch.device("cpu")
    # no plain tensor attribute (neither parameter nor buffer): ``module.to()``
    # would leave it behind, breaking pickling from a GPU to a CPU-only machine
    for sub in est.module_.modules():
        stray = [k for k, v in vars(sub).items() if isinstance(v, torch.Tensor)]
        assert not stray, f"{type(sub).__name__} holds unregistered tensors {stray}"
    # the caller's default device is untouched
    assert torch.empty(0).device.type == "meta"
    torch.set_default_device(None)
    # and the meta default changed nothing in the result
    np.testing.assert_array_equal(
        est.transform(X).astype(object).to_numpy(),
        out.astype(object).to_numpy(),
    )


@pytest.fixture
def mixed_table():
    rng = np.random.default_rng(0)
    n = 60
    z = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "a": z + 0.1 * rng.normal(size=n),
            "b": 2 * z + 0.1 * rng.normal(size=n),
            "c": pd.Categorical(np.where(z > 0, "hi", "lo")),
        }
    )
    X = X.mask(rng.random(X.shape) < 0.2)
    return X


def test_gpu_benchmark_quick_runs_on_cpu(tmp_path, capsys):
    from benchmarks.perf import main as perf_main
    from benchmarks.perf.gpu import FIELDS

    out = tmp_path / "gpu.csv"
    assert perf_main(["--suite", "gpu", "--quick", "--imputers",
                      "vae", "vsae", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == FIELDS
    cpu = df[df["device"] == "cpu"]
    assert len(cpu) == 4 and (cpu["status"] == "ok").all()
    assert (cpu[["fit_seconds", "transform_seconds"]] > 0).all().all()
    assert "| vsae | 400 |" in capsys.readouterr().out
