"""pytest plugin: each test's CPU seconds beside its wall seconds, as CSV.

On a shared machine wall-clock durations measure the load as much as the tests;
the CPU time of the test process (and of the child processes it waited for) does
not. Not collected by pytest (no ``test_`` prefix). Usage::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 CPU_DURATIONS_CSV=durations.csv \\
        PYTHONPATH=tests python -m pytest -q -p cpu_durations

Rows are appended as each test ends (``nodeid,cpu_s,wall_s``), so an interrupted
run keeps what it measured. Worker processes of a Dask cluster are counted only
once they are reaped, in the test that closes the cluster.
"""

from __future__ import annotations

import csv
import os
import resource
import time

import pytest

_ENV = "CPU_DURATIONS_CSV"


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_sessionstart(session):
    path = os.environ.get(_ENV)
    if path:
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(["nodeid", "cpu_s", "wall_s"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = _cpu_seconds(), time.perf_counter()
    yield
    path = os.environ.get(_ENV)
    if path:
        row = [item.nodeid, round(_cpu_seconds() - cpu, 3),
               round(time.perf_counter() - wall, 3)]
        with open(path, "a", newline="") as f:
            csv.writer(f).writerow(row)
