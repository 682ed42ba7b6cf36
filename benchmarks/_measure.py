"""How the benchmarks measure: peak resident memory, and a call in a fresh process.

:class:`PeakRSS` samples this process's resident memory during a block;
:func:`call_isolated` runs a function in a spawned process with a time limit (a
cell's memory then starts from a clean allocator, and a cell that runs too long is
stopped instead of stopping the run).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import traceback


class PeakRSS:
    """Peak resident memory of this process during a block, sampled every 20 ms.

    ``delta_mb`` is the peak above the resident memory at the start of the block.
    """

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def delta_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def rss() -> int:
    """Resident bytes of this process (0 where /proc is absent)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        return 0


def _child(q, fn, args) -> None:
    try:
        q.put(fn(*args))
    except Exception as exc:  # sent back to the parent, which raises it
        traceback.print_exc()
        q.put(exc)


def call_isolated(fn, args: tuple, limit: float):
    """``fn(*args)`` in a fresh (spawned) process; None if it runs past ``limit`` s.

    Spawn, not fork: a forked child of a process that already ran torch can hang.
    An exception in the child is raised here.
    """
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(q, fn, args), daemon=True)
    proc.start()
    try:
        got = q.get(timeout=limit)
    except queue.Empty:
        got = None
        proc.terminate()
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
    if isinstance(got, Exception):
        raise got
    return got
