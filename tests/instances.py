"""Tiny, fast instances of every registered imputer (sklearn's PER_ESTIMATOR params)."""

from deepimpute.imputers import IMPUTERS

# name -> constructor kwargs small enough for sklearn's estimator checks
TINY: dict[str, dict] = {
    "vae": dict(max_iter=2, hidden=(8,), latent_dim=2, n_importance=8),
}

# name -> {check_name: reason}; must stay empty unless a reason and an issue exist
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}

COMMON = dict(random_state=0)
DEEP = dict(device="cpu", batch_size=16)


def tiny(name: str):
    cls = IMPUTERS[name]
    kwargs = dict(COMMON)
    params = cls().get_params()
    kwargs.update({k: v for k, v in DEEP.items() if k in params})
    kwargs.update(TINY.get(name, {}))
    return cls(**kwargs)


def all_tiny():
    return [tiny(name) for name in IMPUTERS]


def expected_failed(est):
    for name, cls in IMPUTERS.items():
        if type(est) is cls:
            return EXPECTED_FAILED_CHECKS.get(name, {})
    return {}
