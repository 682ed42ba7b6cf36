"""scikit-learn estimators over the torch cores, and the registry of imputers."""

from ._adapter import SklearnImputerAdapter
from ._base import BaseDeepImputer, BaseImputer
from ._hivae import HIVAEImputer
from ._miwae import MIWAEImputer
from ._rvi import RVIImputer, VADImputer
from ._simple import MeanModeImputer
from ._vae import VAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "hivae": HIVAEImputer,
    "mean": MeanModeImputer,
    "miwae": MIWAEImputer,
    "rvi": RVIImputer,
    "vad": VADImputer,
    "vae": VAEImputer,
}

__all__ = [
    "IMPUTERS",
    "BaseDeepImputer",
    "BaseImputer",
    "HIVAEImputer",
    "MIWAEImputer",
    "MeanModeImputer",
    "RVIImputer",
    "SklearnImputerAdapter",
    "VADImputer",
    "VAEImputer",
]
