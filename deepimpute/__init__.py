"""deepimpute: deep generative imputers as scikit-learn estimators.

The import name is ``deepimpute``; the distribution on the package index is
``deepimpute-vae`` (the name ``deepimpute`` belongs to an unrelated project).
"""

from ._version import __version__
from .imputers import (
    IMPUTERS,
    AutoImputer,
    DiffPuterImputer,
    FactVAEImputer,
    GAINImputer,
    HIVAEImputer,
    MeanModeImputer,
    MICEImputer,
    MisGANImputer,
    MissForestImputer,
    MIWAEImputer,
    ReMaskerImputer,
    RVIImputer,
    SklearnImputerAdapter,
    VADImputer,
    VAEImputer,
    VSAEImputer,
)
from .schema import Categorical, ColumnSpec, Image, Numerical

__all__ = [
    "IMPUTERS",
    "AutoImputer",
    "DiffPuterImputer",
    "FactVAEImputer",
    "GAINImputer",
    "HIVAEImputer",
    "MeanModeImputer",
    "MICEImputer",
    "MisGANImputer",
    "MissForestImputer",
    "MIWAEImputer",
    "ReMaskerImputer",
    "RVIImputer",
    "SklearnImputerAdapter",
    "VADImputer",
    "VSAEImputer",
    "Categorical",
    "ColumnSpec",
    "Image",
    "Numerical",
    "VAEImputer",
    "__version__",
]
