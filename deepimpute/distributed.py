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

A script run with ``torchrun --nproc-per-node 2 fit_script.py``::

    from deepimpute import VSAEImputer
    from deepimpute.distributed import init_from_env, is_main_process

    init_from_env()                         # gloo on CPU, NCCL on GPUs
    imputer = VSAEImputer(random_state=0).fit(X)
    if is_main_process():
        joblib.dump(imputer, "vsae.joblib")
"""

from __future__ import annotations

import os

import torch

__all__ = ["init_from_env", "is_main_process", "local_device"]


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
