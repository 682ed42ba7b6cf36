"""Data-parallel training: 2 gloo ranks on 127.0.0.1, spawned from pytest."""

import pickle
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from deepimpute import RVIImputer, VAEImputer
from deepimpute.datasets import make_mixed_data
from deepimpute.metrics import nrmse
from deepimpute.missingness import simulate_missing

pytestmark = pytest.mark.skipif(
    not dist.is_available(), reason="torch built without torch.distributed"
)

PARAMS = dict(
    hidden=(16,),
    latent_dim=2,
    n_draws=8,
    max_iter=40,
    batch_size=64,
    n_iter_no_change=5,
    random_state=0,
    device="cpu",
)


def _data():
    full = make_mixed_data(800, random_state=0, n_categorical=1).frame
    X, _ = simulate_missing(full, "mcar", 0.3, random_state=1)
    return full, X


def _dask_dataframe():
    try:
        import dask.dataframe as dd
    except ImportError:
        return None
    return dd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank, world, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        _, X = _data()
        est = VAEImputer(**PARAMS).fit(X)
        (out_dir / f"est{rank}.pkl").write_bytes(pickle.dumps(est))
        dd = _dask_dataframe()
        if dd is not None:  # each rank streams its own partitions (uneven: 5 / 2)
            streamed = VAEImputer(**{**PARAMS, "max_iter": 3}).fit(
                dd.from_pandas(X, npartitions=5)
            )
            (out_dir / f"dask{rank}.pkl").write_bytes(pickle.dumps(streamed))
        try:  # per-row parameters cannot be shared across ranks
            RVIImputer(max_iter=1, device="cpu").fit(X)
        except ValueError as exc:
            (out_dir / f"rvi{rank}.txt").write_text(str(exc))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_fit_like_one_process(tmp_path):
    # one spawn for both checks: starting two interpreters is most of the cost
    mp.spawn(_rank, args=(2, _free_port(), tmp_path), nprocs=2, join=True)
    ests = [pickle.loads((tmp_path / f"est{r}.pkl").read_bytes()) for r in (0, 1)]
    # identical parameters (and buffers) on both ranks at the end
    s0, s1 = (e.module_.state_dict() for e in ests)
    assert s0.keys() == s1.keys()
    for k in s0:
        assert torch.equal(s0[k], s1[k]), k
    assert ests[0].n_iter_ == ests[1].n_iter_  # the same early-stopping decision
    # the two-rank fit imputes like a one-process fit at the same global batch
    full, X = _data()
    single = VAEImputer(**PARAMS).fit(X)
    num = [c for c in X.columns if c.startswith("num")]
    mask = X[num].isna().to_numpy()
    err = {
        name: nrmse(
            full[num].to_numpy(), est.transform(X)[num].to_numpy(), missing=mask
        )
        for name, est in (("ddp", ests[0]), ("single", single))
    }
    mean_err = nrmse(
        full[num].to_numpy(), X[num].fillna(X[num].mean()).to_numpy(), missing=mask
    )
    # stated tolerance: within 0.05 NRMSE of the one-process fit (seed noise of
    # this fit is of that order), and both clearly better than the column mean
    assert abs(err["ddp"] - err["single"]) < 0.05, err
    assert err["ddp"] < 0.8 * mean_err, (err, mean_err)
    # streamed from Dask partitions, sharded by rank: the ranks agree too
    if _dask_dataframe() is not None:
        d0, d1 = (
            pickle.loads((tmp_path / f"dask{r}.pkl").read_bytes()).module_.state_dict()
            for r in (0, 1)
        )
        assert all(torch.equal(d0[k], d1[k]) for k in d0)
    # RVI / VAD refuse with a clear error on every rank
    for r in (0, 1):
        assert "per training row" in (tmp_path / f"rvi{r}.txt").read_text()


def _fit_on_workers(client, max_iter: int):
    """Fit ``PARAMS`` for ``max_iter`` epochs with one rank per worker of a
    2-process LocalCluster (after the launcher's input errors); every rank must
    hold the same model. Returns the ranks' imputers, the parameters, the data."""
    dd = pytest.importorskip("dask.dataframe")
    from deepimpute.distributed import _launch, fit_on_dask

    full, X = _data()
    # every epoch in both fits: on 800 rows an early stop on a noisy validation
    # loss would compare two fits of different lengths, not the two launchers
    params = {**PARAMS, "max_iter": max_iter, "n_iter_no_change": max_iter}
    ddf = dd.from_pandas(X, npartitions=6)
    imputer = VAEImputer(**params)
    ests = _launch(client, imputer, ddf)
    assert not hasattr(imputer, "module_")  # cloned, not modified
    with pytest.raises(ValueError, match="per row|every row in one process"):
        fit_on_dask(client, RVIImputer(max_iter=1), ddf)
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame"):
        fit_on_dask(client, VAEImputer(**params), X)
    assert len(ests) == 2
    s0, s1 = (e.module_.state_dict() for e in ests)
    assert s0.keys() == s1.keys()
    for k in s0:
        assert torch.equal(s0[k], s1[k]), k
    assert ests[0].n_iter_ == ests[1].n_iter_ == max_iter
    return ests, params, full, X, ddf


def test_fit_on_dask_workers_gives_every_rank_the_same_model(client):
    """The launcher's path in two epochs: clone, errors, identical ranks."""
    ests, _, _, X, _ = _fit_on_workers(client, max_iter=2)
    out = ests[0].transform(X)
    seen = X.notna().to_numpy()
    np.testing.assert_array_equal(out.to_numpy()[seen], X.to_numpy()[seen])


@pytest.mark.slow  # ~30 s of CPU in three 40-epoch fits; the path runs fast above
def test_fit_on_dask_workers_like_one_process(client):
    """One rank per worker: the fit imputes like a one-process streamed fit."""
    ests, params, full, X, ddf = _fit_on_workers(client, max_iter=PARAMS["max_iter"])
    single = VAEImputer(**params).fit(ddf)  # one process, the same partitions
    num = [c for c in X.columns if c.startswith("num")]
    mask = X[num].isna().to_numpy()
    err = {
        name: nrmse(
            full[num].to_numpy(), est.transform(X)[num].to_numpy(), missing=mask
        )
        for name, est in (("dask", ests[0]), ("single", single))
    }
    mean_err = nrmse(
        full[num].to_numpy(), X[num].fillna(X[num].mean()).to_numpy(), missing=mask
    )
    # the tolerance of the torchrun-style test above
    assert abs(err["dask"] - err["single"]) < 0.05, err
    assert err["dask"] < 0.8 * mean_err, (err, mean_err)
    # observed entries come back unchanged
    out = ests[0].transform(X)
    seen = X[num].notna().to_numpy()
    np.testing.assert_array_equal(out[num].to_numpy()[seen], X[num].to_numpy()[seen])
