"""Tiny, fast instances of every imputer (sklearn's PER_ESTIMATOR params)."""

import numpy as np
from sklearn.impute import KNNImputer

from deepimpute.imputers import (
    IMPUTERS,
    MICEImputer,
    MissForestImputer,
    SklearnImputerAdapter,
)

# name -> constructor kwargs small enough for sklearn's estimator checks
TINY: dict[str, dict] = {
    "vae": dict(max_iter=2, hidden=(8,), latent_dim=2, n_draws=8),
    "miwae": dict(
        max_iter=2, hidden=(8,), latent_dim=2, n_train_draws=3, n_draws=8
    ),
    "hivae": dict(max_iter=2, hidden=(8,), latent_dim=2, n_components=3, y_dim=2),
    "rvi": dict(
        max_iter=2, latent_dim=2, hidden=(8,), relay_groups=(4, 8), inference_steps=3
    ),
    "vad": dict(max_iter=2, latent_dim=2, hidden=(8,), inference_steps=3),
    "gain": dict(max_iter=2, hidden=8),
    "misgan": dict(
        max_iter=2,
        latent_dim=4,
        generator_hidden=(8,),
        critic_hidden=(8,),
        imputer_hidden=(8,),
    ),
    "missforest": dict(n_estimators=5, max_iter=2),
    "mice": dict(n_imputations=2, max_iter=2),
    "factvae": dict(
        max_iter=2, latent_dim=2, encoder_dim=4, generator_dim=4, n_draws=4
    ),
    "vsae": dict(
        max_iter=2,
        latent_dim=2,
        numerical_hidden=(4,),
        categorical_hidden=(4,),
        collective_hidden=(8,),
        mask_hidden=(4,),
        decoder_hidden=(8,),
        n_draws=8,
        n_target_draws=2,
    ),
    "remasker": dict(max_iter=2, embed_dim=8, depth=1, decoder_depth=1, n_heads=2),
    "diffputer": dict(
        max_iter=2, hidden=8, n_em_rounds=2, n_steps=3, n_resample=1, n_draws=2
    ),
    "adapter": dict(imputer=KNNImputer(n_neighbors=3)),
    "auto": dict(  # candidates with samplers: sample() draws in every column
        candidates=[
            ("mice", MICEImputer(n_imputations=2, max_iter=2)),
            ("missforest", MissForestImputer(n_estimators=5, max_iter=2)),
        ],
        time_budget=None,
    ),
}

# name -> {check_name: reason}; must stay empty unless a reason and an issue exist
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}

#: every imputer under test: the registry plus estimators that need an argument
CLASSES: dict[str, type] = {**IMPUTERS, "adapter": SklearnImputerAdapter}

COMMON = dict(random_state=0)
DEEP = dict(device="cpu", batch_size=16)


def tiny(name: str):
    cls = CLASSES[name]
    kwargs = dict(COMMON)
    params = cls().get_params()
    kwargs.update({k: v for k, v in DEEP.items() if k in params})
    kwargs.update(TINY.get(name, {}))
    return cls(**kwargs)


def all_tiny():
    return [tiny(name) for name in CLASSES]


def expected_failed(est):
    for name, cls in CLASSES.items():
        if type(est) is cls:
            return EXPECTED_FAILED_CHECKS.get(name, {})
    return {}


def correlated_table(n=300, p=5, missing_rate=0.2, seed=0):
    """Rows driven by 2 latent factors; returns (X_full, X_missing)."""
    r = np.random.default_rng(seed)
    z = r.normal(size=(n, 2))
    X = z @ r.normal(size=(2, p)) + 0.1 * r.normal(size=(n, p))
    Xm = X.copy()
    Xm[r.random(X.shape) < missing_rate] = np.nan
    return X, Xm


# ---------------------------------------------------------------- torch cores
def encoded_batch(X_missing, spec=None):
    """``(encoder, Batch)`` of a table with missing cells, as an estimator hands it
    to its torch core (float32 model view of the whole table)."""
    import torch

    from deepimpute._data import TableEncoder
    from deepimpute.schema import ColumnSpec
    from deepimpute.training import Batch

    enc = TableEncoder(spec or ColumnSpec.infer(X_missing)).fit(X_missing)
    _, data = enc.encode(X_missing)
    tensors = (data.values, data.observed, data.attr_observed)
    return enc, Batch(*(torch.from_numpy(a) for a in tensors),
                      torch.arange(data.n_rows))


def fit_core(module, batch, steps: int, learning_rate: float = 1e-2) -> list:
    """Full-batch training of a core with its own optimiser: the step losses."""
    module.train()
    optimizers = module.configure_optimizers(learning_rate)
    losses = [module.training_step(batch, optimizers)["loss"] for _ in range(steps)]
    module.eval()
    return losses
