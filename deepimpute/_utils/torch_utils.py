"""Device resolution and local seeding: nothing here touches global RNG state."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["TORCH_LOCK", "resolve_device", "seed_from", "seeded"]

#: The models draw their noise from torch's global generator inside ``seeded``;
#: two imputations run at once by threads of one process would interleave their
#: draws. Partitions of one process are therefore imputed one at a time under this
#: lock (torch still uses its intra-op threads); use processes for parallelism.
TORCH_LOCK = threading.Lock()


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other string as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available.")
    return dev


def seed_from(random_state) -> int:
    """An int seed from ``None``, an int or a ``RandomState`` (sklearn semantics)."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run a block with torch's RNG seeded, restoring the caller's RNG state after.

    Models draw their noise from torch's default generator inside this block, so a
    fit or a transform is reproducible without touching the global state seen by the
    caller.
    """
    dev = torch.device(device)
    devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        np_state = np.random.get_state()
        try:
            yield
        finally:
            np.random.set_state(np_state)
