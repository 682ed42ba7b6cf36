"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

Every deep imputer whose parameters are shared across rows trains data-parallel
without code of its own: when ``fit`` runs inside an initialised process group of
two or more ranks, the shared loop (:func:`deepimpute.training.train`) gives each
rank its share of the training and validation rows, averages the gradients over the
ranks before every optimizer step, decides early stopping on the validation loss
reduced over the ranks, and leaves every rank with the same fitted estimator.
Every rank calls ``fit`` with the same data (a DataFrame, or a Dask DataFrame of
which each rank streams only its own partitions), so the encoder statistics are the
same everywhere. ``batch_size`` stays the global batch: each rank takes
``batch_size // world_size`` rows per step. RVI / VAD (one posterior per training
row) refuse.

Two launchers start the ranks: ``torchrun`` (the script below, or
``torchrun --nproc-per-node 2 -m deepimpute fit ...``), and the workers of a Dask
cluster (:func:`fit_on_dask`, one rank per worker).

A script run with ``torchrun --nproc-per-node 2 fit_script.py``::

    from deepimpute import VSAEImputer
    from deepimpute.distributed import init_from_env, is_main_process

    init_from_env()                         # gloo on CPU, NCCL on GPUs
    imputer = VSAEImputer(random_state=0).fit(X)
    if is_main_process():
        joblib.dump(imputer, "vsae.joblib")
"""

from __future__ import annotations

import datetime
import os
import socket
from contextlib import contextmanager
from urllib.parse import urlparse

import torch

__all__ = [
    "fit_on_dask",
    "init_from_env",
    "is_main_process",
    "joined_group",
    "local_device",
]


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group described by ``torchrun``'s environment variables.

    Parameters
    ----------
    backend : {"gloo", "nccl"} or None
        None: NCCL when CUDA is available, else gloo.

    Returns
    -------
    bool
        True when a group of two or more ranks is now initialised; False when the
        script runs as a single process (no ``WORLD_SIZE`` in the environment).
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return False
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return dist.get_world_size() > 1


@contextmanager
def joined_group():
    """Join ``torchrun``'s process group (:func:`init_from_env`) for a block and
    leave it after: the ranks wait for each other at the end of a block that
    succeeded (no rank tears the group down while rank 0 still writes), and the
    group is destroyed whatever happened. Yields whether a group of two or more
    ranks was joined."""
    import torch.distributed as dist

    grouped = init_from_env()
    try:
        yield grouped
        if grouped:
            dist.barrier()
    finally:
        if grouped:
            dist.destroy_process_group()


def is_main_process() -> bool:
    """True on rank 0 of the group, and outside any group."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def local_device() -> str:
    """``"cuda:LOCAL_RANK"`` when CUDA is available, else ``"cpu"``: pass it as
    the imputer's ``device`` so each rank uses its own GPU."""
    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


# ------------------------------------------------------------- Dask launcher
class _Lazy:
    """Hides a Dask collection from ``Client.submit``, which would otherwise
    compute it into one pandas frame before the task runs."""

    def __init__(self, ddf) -> None:
        self.ddf = ddf


def _probe() -> tuple[int, bool]:
    """On rank 0's worker: a free TCP port for the group's rendezvous, and whether
    that worker sees a GPU (NCCL then, else gloo)."""
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    return port, torch.cuda.is_available()


def _fit_rank(est, lazy, n_rows, rank, world, addr, port, backend, timeout):
    """One rank on one worker: join the group, train on this rank's partitions
    (read by this process, not through the cluster: its one thread is busy
    training), leave the group; return the fitted imputer."""
    import torch.distributed as dist

    if world > 1:
        dist.init_process_group(
            backend,
            init_method=f"tcp://{addr}:{port}",
            rank=rank,
            world_size=world,
            timeout=datetime.timedelta(seconds=timeout),
        )
    try:
        return est._train_dask(lazy.ddf, n_rows, scheduler="sync")
    finally:
        if world > 1:
            dist.destroy_process_group()


def _launch(client, imputer, ddf, *, workers=None, backend=None, timeout=600.0):
    """Every rank's fitted imputer, rank 0 first (see :func:`fit_on_dask`)."""
    import dask
    from sklearn.base import clone

    from ._dask import is_dask_frame
    from .imputers import IMPUTERS

    if not is_dask_frame(ddf):
        raise TypeError(
            f"fit_on_dask expects a dask.dataframe.DataFrame, got {type(ddf).__name__}."
        )
    if not getattr(imputer, "_streamed_fit", False):
        names = ", ".join(
            sorted(c.__name__ for c in IMPUTERS.values() if c._streamed_fit)
        )
        raise ValueError(
            f"{type(imputer).__name__} cannot train data-parallel on Dask workers: "
            f"its fit needs every row in one process. Streamed imputers: {names}."
        )
    if workers is None:
        workers = sorted(client.scheduler_info()["workers"])
    workers = list(workers)
    if not workers:
        raise ValueError("The Dask cluster has no workers.")
    if any(urlparse(w).scheme == "inproc" for w in workers):
        raise ValueError(
            "The Dask workers share one process (LocalCluster(processes=False)); "
            "each rank needs a process of its own."
        )
    addr = urlparse(workers[0]).hostname
    est = clone(imputer)
    # the encoder's statistics: one pass of reductions, run by the cluster
    with dask.config.set(scheduler=client):
        n_rows = est._prepare_dask_fit(ddf)
    port, cuda = client.submit(_probe, workers=workers[:1], pure=False).result()
    if backend is None:
        backend = "nccl" if cuda else "gloo"
    lazy = _Lazy(ddf)
    futures = [
        client.submit(
            _fit_rank, est, lazy, n_rows, rank, len(workers), addr, port, backend,
            timeout, workers=[w], allow_other_workers=False, pure=False,
        )
        for rank, w in enumerate(workers)
    ]
    return client.gather(futures)


def fit_on_dask(client, imputer, ddf, *, workers=None, backend=None, timeout=600.0):
    """Fit ``imputer`` data-parallel on the workers of a Dask cluster.

    One rank runs on each worker: the encoder's statistics are computed once by
    the cluster (Dask reductions), then every worker joins one
    ``torch.distributed`` process group (rendezvous on a free port of the first
    worker) and runs the shared training loop on its own partitions of ``ddf``,
    read by the worker itself; gradients are averaged over the ranks and early
    stopping is decided on the validation loss reduced over them, as under
    ``torchrun``.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster. Give each worker one GPU (e.g. ``dask-cuda``) or,
        on CPUs, one thread: the rank's task holds the worker's thread for the
        whole fit.
    imputer : estimator
        An imputer whose parameters are shared across rows (VAE, MIWAE, HI-VAE,
        VSAE, FactVAE); it is cloned, not modified.
    ddf : dask.dataframe.DataFrame
        The training table, as a lazy collection every worker can read (e.g.
        ``dd.read_parquet`` on storage the workers share); at least one training
        partition per worker.
    workers : list of str or None
        The worker addresses to use (default: every worker of the cluster).
    backend : {"gloo", "nccl"} or None
        None: NCCL when the first worker sees a GPU, else gloo.
    timeout : float
        Seconds a rank waits for the others (rendezvous and each collective).

    Returns
    -------
    estimator
        Rank 0's fitted imputer (every rank ends with the same parameters).

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2))  # doctest: +SKIP
    >>> ddf = dd.read_parquet("train/")  # doctest: +SKIP
    >>> imputer = fit_on_dask(client, VSAEImputer(), ddf)  # doctest: +SKIP
    >>> clean = imputer.transform(ddf)  # doctest: +SKIP
    """
    return _launch(
        client, imputer, ddf, workers=workers, backend=backend, timeout=timeout
    )[0]
