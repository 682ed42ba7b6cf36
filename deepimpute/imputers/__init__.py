"""scikit-learn estimators over the torch cores, and the registry of imputers."""

import inspect

from ._adapter import SklearnImputerAdapter
from ._auto import AutoImputer, set_registry
from ._base import RANGE_FACTOR, BaseImputer
from ._deep import BaseDeepImputer
from ._diffputer import DiffPuterImputer
from ._factvae import FactVAEImputer
from ._gain import GAINImputer
from ._hivae import HIVAEImputer
from ._mice import MICEImputer
from ._misgan import MisGANImputer
from ._missforest import MissForestImputer
from ._miwae import MIWAEImputer
from ._remasker import ReMaskerImputer
from ._rvi import RVIImputer, VADImputer
from ._simple import MeanModeImputer
from ._vae import VAEImputer
from ._vsae import VSAEImputer

#: name -> estimator class, used by the command line and the benchmarks
IMPUTERS: dict[str, type] = {
    "diffputer": DiffPuterImputer,
    "factvae": FactVAEImputer,
    "gain": GAINImputer,
    "hivae": HIVAEImputer,
    "mean": MeanModeImputer,
    "mice": MICEImputer,
    "misgan": MisGANImputer,
    "missforest": MissForestImputer,
    "miwae": MIWAEImputer,
    "remasker": ReMaskerImputer,
    "rvi": RVIImputer,
    "vad": VADImputer,
    "vsae": VSAEImputer,
    "vae": VAEImputer,
    "auto": AutoImputer,
}

#: reduced settings of a smoke run (``deepimpute demo --quick``, the benchmarks'
#: ``--quick``), applied by :func:`make_imputer` through :func:`budget_params`
QUICK: dict[str, object] = dict(
    max_iter=3, n_draws=20, n_estimators=10, inference_steps=5,
    # DiffPuter's E-steps (reverse steps x resampling x EM rounds) dominate its cost
    n_steps=5, n_resample=1, n_em_rounds=1,
)
#: parameters that a budget (``QUICK``, a benchmark's budget) caps instead of
#: setting: an imputer gets the value only if its default is larger, so the
#: importance-sampling draws of VAE, MIWAE, VSAE and factVAE are cut while RVI's
#: and MisGAN's few draws (0 and 1 by default) stay as they are
CAPPED = ("n_draws",)


def budget_params(cls: type, budget: dict) -> dict:
    """The part of ``budget`` that applies to imputer class ``cls``.

    Parameters
    ----------
    cls : type
        An imputer class.
    budget : dict
        Parameters meant for several imputers (e.g. ``QUICK``).

    Returns
    -------
    dict
        The parameters ``cls`` has; those of ``CAPPED`` only where its
        default is larger than the budget's value.
    """
    defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()}
    return {
        k: v
        for k, v in budget.items()
        if k in defaults and (k not in CAPPED or defaults[k] > v)
    }


def make_imputer(name: str, settings: dict | None = None, *, quick: bool = False,
                 **params):
    """An unfitted imputer of ``IMPUTERS`` by name: the one builder of the
    command line and the benchmarks.

    Parameters
    ----------
    name : str
        A key of ``IMPUTERS``.
    settings : dict, optional
        Parameters of a named configuration (the CLI's demo settings, a benchmark
        profile), applied first.
    quick : bool, default=False
        Apply ``QUICK`` (through :func:`budget_params`) over ``settings``.
    **params
        Parameters applied last (``random_state``, ``device``, overrides).

    Returns
    -------
    BaseImputer
        Unfitted; the parameters the estimator does not have but another imputer
        has are left out, so one call can serve every imputer.

    Raises
    ------
    ValueError
        A parameter no imputer has (a misspelt name), listing the valid ones.
    """
    if name not in IMPUTERS:
        raise KeyError(f"unknown imputer {name!r}; choose from {sorted(IMPUTERS)}")
    cls = IMPUTERS[name]
    kwargs = {**(settings or {}), **(budget_params(cls, QUICK) if quick else {}),
              **params}
    if quick and "candidate_params" in cls._get_param_names():  # AutoImputer
        kwargs = {"candidate_params": dict(QUICK), "time_budget": None, **kwargs}
    known = {k for c in IMPUTERS.values() for k in c._get_param_names()}
    unknown = sorted(k for k in kwargs if k not in known)
    if unknown:  # a name no imputer has is a typo, not a setting for another one
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {name!r}; "
            f"its parameters are: {', '.join(cls._get_param_names())}."
        )
    return cls(**{k: v for k, v in kwargs.items() if k in cls._get_param_names()})


def _build_candidate(name: str, params: dict):
    """AutoImputer's candidate ``name`` with the part of ``params`` it takes."""
    return make_imputer(name, budget_params(IMPUTERS[name], params))


set_registry(IMPUTERS, _build_candidate)

__all__ = [
    "AutoImputer",
    "CAPPED",
    "IMPUTERS",
    "QUICK",
    "RANGE_FACTOR",
    "BaseDeepImputer",
    "BaseImputer",
    "DiffPuterImputer",
    "FactVAEImputer",
    "GAINImputer",
    "HIVAEImputer",
    "MICEImputer",
    "MIWAEImputer",
    "MissForestImputer",
    "MisGANImputer",
    "MeanModeImputer",
    "ReMaskerImputer",
    "RVIImputer",
    "SklearnImputerAdapter",
    "VADImputer",
    "VAEImputer",
    "VSAEImputer",
    "budget_params",
    "make_imputer",
]
