"""scikit-learn estimators over the torch cores, and the registry of imputers."""

from ._base import BaseDeepImputer, BaseImputer
from ._vae import VAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "vae": VAEImputer,
}

__all__ = ["IMPUTERS", "BaseDeepImputer", "BaseImputer", "VAEImputer"]
