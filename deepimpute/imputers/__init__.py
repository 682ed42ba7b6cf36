"""scikit-learn estimators over the torch cores, and the registry of imputers."""

from ._adapter import SklearnImputerAdapter
from ._base import BaseDeepImputer, BaseImputer
from ._simple import MeanModeImputer
from ._vae import VAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "mean": MeanModeImputer,
    "vae": VAEImputer,
}

__all__ = [
    "IMPUTERS",
    "BaseDeepImputer",
    "BaseImputer",
    "MeanModeImputer",
    "SklearnImputerAdapter",
    "VAEImputer",
]
