"""scikit-learn estimators over the torch cores, and the registry of imputers."""

from ._adapter import SklearnImputerAdapter
from ._base import BaseDeepImputer, BaseImputer
from ._gain import GAINImputer
from ._hivae import HIVAEImputer
from ._misgan import MisGANImputer
from ._miwae import MIWAEImputer
from ._rvi import RVIImputer, VADImputer
from ._simple import MeanModeImputer
from ._vae import VAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "gain": GAINImputer,
    "hivae": HIVAEImputer,
    "mean": MeanModeImputer,
    "misgan": MisGANImputer,
    "miwae": MIWAEImputer,
    "rvi": RVIImputer,
    "vad": VADImputer,
    "vae": VAEImputer,
}

__all__ = [
    "IMPUTERS",
    "BaseDeepImputer",
    "BaseImputer",
    "GAINImputer",
    "HIVAEImputer",
    "MIWAEImputer",
    "MisGANImputer",
    "MeanModeImputer",
    "RVIImputer",
    "SklearnImputerAdapter",
    "VADImputer",
    "VAEImputer",
]
