"""Worker of :mod:`benchmarks.quality.external_peers`, run by path in the peers'
own environment (HyperImpute, UnmaskingTrees): imports numpy, pandas and the peer,
never deepimpute or the benchmarks package.

    PEER_PYTHON benchmarks/quality/_peer_worker.py CELL IMPUTER OUT SEED DRAWS

reads the cell's arrays (``fit``, ``test``: float column codes with NaN holes;
``is_cat``) from ``CELL`` (.npz), fits ``IMPUTER`` on ``fit``, imputes ``test``
and writes ``imputed``, the seconds of fit and transform and the versions to
``OUT`` (.npz).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def worker(cell: Path, imputer: str, out: Path, seed: int, draws: int) -> None:
    """Fit on the ``fit`` rows, impute the ``test`` rows, save the result."""
    import pandas as pd

    arrays = np.load(cell)
    X_fit, X_test, is_cat = arrays["fit"], arrays["test"], arrays["is_cat"]
    t0 = time.perf_counter()
    if imputer == "hyperimpute":
        import warnings

        warnings.filterwarnings("ignore")
        from hyperimpute.plugins.imputers import Imputers

        plugin = Imputers().get("hyperimpute", random_state=seed)
        plugin.fit(pd.DataFrame(X_fit))
        t1 = time.perf_counter()
        imputed = np.asarray(plugin.transform(pd.DataFrame(X_test)), dtype=float)
    elif imputer == "utrees":
        from utrees import UnmaskingTrees

        model = UnmaskingTrees(random_state=seed)
        model.fit(X_fit, quantize_cols=["categorical" if c else "continuous"
                                        for c in is_cat])
        t1 = time.perf_counter()
        draw = np.asarray(model.impute(n_impute=draws, X=X_test), dtype=float)
        imputed = draw.mean(0)
        for j in np.flatnonzero(is_cat):  # the most frequent code of the draws
            codes = np.rint(draw[:, :, j]).astype(int)
            imputed[:, j] = [np.bincount(c - c.min()).argmax() + c.min()
                             for c in codes.T]
    else:
        raise ValueError(f"unknown peer {imputer!r}")
    t2 = time.perf_counter()
    import sklearn

    versions = (f"{imputer}={_version(imputer)};sklearn={sklearn.__version__};"
                f"pandas={pd.__version__};numpy={np.__version__}")
    np.savez(out, imputed=imputed, fit_seconds=t1 - t0, transform_seconds=t2 - t1,
             versions=versions)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    cell, imputer, out, seed, draws = sys.argv[1:]
    worker(Path(cell), imputer, Path(out), int(seed), int(draws))
