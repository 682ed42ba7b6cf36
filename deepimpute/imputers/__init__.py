"""scikit-learn estimators over the torch cores, and the registry of imputers."""

from ._adapter import SklearnImputerAdapter
from ._base import RANGE_FACTOR, BaseDeepImputer, BaseImputer
from ._factvae import FactVAEImputer
from ._gain import GAINImputer
from ._hivae import HIVAEImputer
from ._mice import MICEImputer
from ._misgan import MisGANImputer
from ._missforest import MissForestImputer
from ._miwae import MIWAEImputer
from ._rvi import RVIImputer, VADImputer
from ._simple import MeanModeImputer
from ._vae import VAEImputer
from ._vsae import VSAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "factvae": FactVAEImputer,
    "gain": GAINImputer,
    "hivae": HIVAEImputer,
    "mean": MeanModeImputer,
    "mice": MICEImputer,
    "misgan": MisGANImputer,
    "missforest": MissForestImputer,
    "miwae": MIWAEImputer,
    "rvi": RVIImputer,
    "vad": VADImputer,
    "vsae": VSAEImputer,
    "vae": VAEImputer,
}

__all__ = [
    "IMPUTERS",
    "RANGE_FACTOR",
    "BaseDeepImputer",
    "BaseImputer",
    "FactVAEImputer",
    "GAINImputer",
    "HIVAEImputer",
    "MICEImputer",
    "MIWAEImputer",
    "MissForestImputer",
    "MisGANImputer",
    "MeanModeImputer",
    "RVIImputer",
    "SklearnImputerAdapter",
    "VADImputer",
    "VAEImputer",
    "VSAEImputer",
]
