"""One fitted imputer called from several threads (issue 31, item 4).

A web service or a ``ThreadPoolExecutor`` over chunks calls the same fitted
imputer from 4 threads at once; each call must return exactly what the same call
made serially returns, for ``transform`` and for ``sample(random_state=3)``. The
draws after fit come from a generator made for the call
(``deepimpute._utils.torch_utils.call_generators``), never from torch's global
one, so they cannot interleave; fits, which still seed the global generator (the
layers' initialisers take no generator), run one at a time.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch

from deepimpute.imputers import IMPUTERS
from deepimpute.imputers._deep import BaseDeepImputer
from instances import tiny

DEEP = sorted(n for n, c in IMPUTERS.items() if issubclass(c, BaseDeepImputer))
N_THREADS = 4


@pytest.fixture(autouse=True)
def frequent_switches():
    """Threads switch every microsecond (Python's default is 5 ms): draws of
    concurrent calls would interleave at every chance."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _table(n: int = 192, seed: int = 0) -> pd.DataFrame:
    """Two latent factors drive three numbers and a category; 20 % holes."""
    r = np.random.default_rng(seed)
    z = r.normal(size=(n, 2))
    X = pd.DataFrame(z @ r.normal(size=(2, 3)) + 0.1 * r.normal(size=(n, 3)),
                     columns=["a", "b", "c"])
    X["kind"] = pd.Series(np.where(z[:, 0] > 0, "hi", "lo"), dtype="string")
    return X.mask(r.random(X.shape) < 0.2)


def _calls(est, chunks):
    """Per chunk: its transform and its two draws of ``sample(random_state=3)``."""
    def one(chunk):
        return est.transform(chunk), est.sample(chunk, n_draws=2, random_state=3)
    return one


def _check_threads_equal_serial(est, X):
    chunks = [X.iloc[k::N_THREADS] for k in range(N_THREADS)]
    call = _calls(est, chunks)
    serial = [call(c) for c in chunks]
    # each chunk three times over, all at once: 12 calls in 4 threads
    with ThreadPoolExecutor(N_THREADS) as pool:
        threaded = list(pool.map(call, chunks * 3))
    for k, (out, draws) in enumerate(threaded):
        want_out, want_draws = serial[k % N_THREADS]
        pd.testing.assert_frame_equal(out, want_out, check_exact=True)
        for got, want in zip(draws, want_draws, strict=True):
            pd.testing.assert_frame_equal(got, want, check_exact=True)
    return serial


@pytest.mark.parametrize("name", DEEP)
def test_deep_imputer_from_threads_equals_serial(name):
    X = _table()
    est = tiny(name).fit(X)
    serial = _check_threads_equal_serial(est, X)
    # the draws are draws: two draws of a chunk differ somewhere
    first, second = serial[0][1]
    assert not first.equals(second)


#: scikit-learn's ``Parallel`` (every forest's predict) empties the process-wide
#: warning filters (``warnings.resetwarnings``) for the duration of its tasks; on
#: Python < 3.14 those filters are shared by all threads, so a prediction in
#: another thread may find them empty and warns this. The values are unaffected.
SKLEARN_THREAD_WARNING = (
    "ignore:`sklearn.utils.parallel.delayed` should be used:UserWarning"
)


@pytest.mark.filterwarnings(SKLEARN_THREAD_WARNING)
@pytest.mark.parametrize("name", ["mice", "missforest"])
def test_tree_and_chain_imputers_from_threads_equal_serial(name):
    X = _table()
    _check_threads_equal_serial(tiny(name).fit(X), X)


def test_transform_ignores_global_draws_of_another_thread():
    """Another thread reseeding and drawing from torch's global generator the
    whole time changes nothing: the call draws from its own generator."""
    X = _table()
    est = tiny("vae").fit(X)
    want = est.transform(X), est.sample(X, n_draws=2, random_state=3)
    stop = threading.Event()

    def churn():
        k = 0
        while not stop.is_set():
            torch.manual_seed(k)
            torch.randn(64)
            k += 1

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(5):
            pd.testing.assert_frame_equal(est.transform(X), want[0], check_exact=True)
            got = est.sample(X, n_draws=2, random_state=3)
            for g, w in zip(got, want[1], strict=True):
                pd.testing.assert_frame_equal(g, w, check_exact=True)
    finally:
        stop.set()
        thread.join()


def test_transform_leaves_global_generator_alone():
    X = _table()
    est = tiny("vae").fit(X)
    torch.manual_seed(123)
    expected = torch.randn(4)
    torch.manual_seed(123)
    est.transform(X)
    est.sample(X, n_draws=1, random_state=3)
    assert torch.equal(torch.randn(4), expected)


def test_fits_from_threads_equal_serial_fits():
    """Fits seed torch's global generator one at a time: two fits at once in
    threads give the serial fits' models."""
    X = _table()
    serial = [tiny("vae").set_params(random_state=s).fit(X).transform(X)
              for s in (0, 1)]

    def fit(seed):
        return tiny("vae").set_params(random_state=seed).fit(X).transform(X)

    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(fit, [0, 1, 0, 1]))
    for k, out in enumerate(threaded):
        pd.testing.assert_frame_equal(out, serial[k % 2], check_exact=True)
