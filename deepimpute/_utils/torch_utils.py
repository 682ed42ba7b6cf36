"""Device resolution and seeding: the random draws of a call belong to that call.

After fit, every draw of a model (``transform``, ``sample``, scores) comes from a
:class:`torch.Generator` made for the call from its seed (:func:`call_generators`)
and handed down through a context variable (:func:`rng`): torch's global
random state is neither read nor written, so the same fitted imputer called from
several threads at once returns what the same calls made one after another return.
A fit still seeds torch's global generator (:func:`seeded`): the layers' own
initialisers (``nn.Linear``) draw from it and take no generator. Fits therefore run
one at a time per process (:data:`GLOBAL_RNG_LOCK`), while transforms and samples
run concurrently with them and with each other.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

import numpy as np
import torch

__all__ = [
    "GLOBAL_RNG_LOCK",
    "TORCH_LOCK",
    "CallGenerators",
    "call_generators",
    "rng",
    "resolve_device",
    "seed_from",
    "seeded",
]

#: Held by :func:`seeded` (a fit): two fits run by threads of one process would
#: otherwise interleave their draws from torch's global generator and restore each
#: other's saved state. Re-entrant: a fit may run a nested seeded stage.
GLOBAL_RNG_LOCK = threading.RLock()

#: Callers that impute partitions one at a time (the command line's Parquet
#: dataset loop, ``deepimpute._dask``) hold this lock; since draws after fit come
#: from a generator per call it is no longer needed for correct results.
TORCH_LOCK = threading.Lock()


class CallGenerators:
    """The generators of one call: one per device, each seeded with ``seed``.

    A generator is made the first time a draw asks for its device, as if it had
    been seeded with the others at the last :meth:`reseed`: a draw's stream is
    that of torch's default generator of the device after ``torch.manual_seed``.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._by_device: dict[tuple[str, int | None], torch.Generator] = {}

    def for_device(self, device: torch.device | str | None) -> torch.Generator:
        dev = torch.device("cpu" if device is None else device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        key = (dev.type, dev.index)
        gen = self._by_device.get(key)
        if gen is None:
            gen = torch.Generator(device=dev)
            gen.manual_seed(self.seed)
            self._by_device[key] = gen
        return gen

    def reseed(self) -> None:
        """Every generator back to the start of its stream (common random numbers
        across batches); like ``torch.manual_seed(seed)`` for the default ones."""
        for gen in self._by_device.values():
            gen.manual_seed(self.seed)


#: the generators of the call running in this thread (None: inside a fit, or
#: outside any call, where draws use torch's default generator)
_CALL: contextvars.ContextVar[CallGenerators | None] = contextvars.ContextVar(
    "deepimpute_call_generators", default=None
)


def rng(device: torch.device | str | None = None) -> torch.Generator | None:
    """The current call's generator for ``device``; pass it as ``generator=`` to
    every draw. None inside a fit or outside a call (torch's default generator,
    which a fit seeds)."""
    call = _CALL.get()
    return None if call is None else call.for_device(device)


@contextlib.contextmanager
def call_generators(seed: int) -> Iterator[CallGenerators]:
    """Within the block, :func:`rng` gives this call's generators, seeded
    with ``seed``; torch's global random state is not touched."""
    token = _CALL.set(CallGenerators(seed))
    try:
        yield _CALL.get()
    finally:
        _CALL.reset(token)


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
    """Run a fit with torch's global RNG seeded, restoring the caller's RNG state
    after.

    The layers' initialisers and the fit's draws use torch's default generator
    (:func:`rng` is None within the block), so a fit is reproducible without
    changing the global state the caller sees. One block at a time per process
    (:data:`GLOBAL_RNG_LOCK`).
    """
    dev = torch.device(device)
    devices = [dev] if dev.type == "cuda" else []
    with GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices, device_type="cuda"):
        token = _CALL.set(None)
        torch.manual_seed(seed)
        np_state = np.random.get_state()
        try:
            yield
        finally:
            np.random.set_state(np_state)
            _CALL.reset(token)
