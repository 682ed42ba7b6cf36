"""Imputer settings of the benchmarks: one place, named like the CLI.

``make_imputer(name, quick=..., data=...)`` returns an unfitted estimator: a registry
name of :data:`deepimpute.imputers.IMPUTERS` with the benchmarks' settings
(:data:`FULL`, then ``deepimpute.imputers.QUICK`` for a smoke run, capped by
``budget_params``, built by
``deepimpute.imputers.make_imputer``, the builder the command line uses too), a
named variant (:data:`VARIANTS`: ablations and the per-paper configurations), or a
scikit-learn reference (:data:`SKLEARN`, through
:class:`deepimpute.imputers.SklearnImputerAdapter`, so it takes the same mixed
tables as every deepimpute imputer). A variant's parameter may
be a function of the dataset (e.g. a latent size per attribute). The ``vsae~<name>``
variants are the settings of the ``vsae-sweep`` suite (:data:`SWEEP`).
"""

from __future__ import annotations

from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.linear_model import BayesianRidge

from deepimpute.imputers import IMPUTERS, SklearnImputerAdapter
from deepimpute.imputers import make_imputer as build

#: paper-style settings for the deep imputers (epochs capped for a 2-core CPU;
#: early stopping on the validation loss ends most runs sooner)
FULL: dict[str, dict] = {
    "vae": dict(max_iter=500, n_draws=1000),
    "vsae": dict(max_iter=500, n_draws=1000),
    "miwae": dict(max_iter=500, n_draws=1000),
    "hivae": dict(max_iter=500),
    "rvi": dict(max_iter=250),
    "vad": dict(max_iter=250),
    # the paper's group dropout (10 %; the default is 30 %) and Gaussian likelihood
    # (the default is "huber"), as the UCI rows were run
    "factvae": dict(max_iter=300, group_available_prob=0.9, numerical="gaussian"),
    "gain": dict(max_iter=300),
    "misgan": dict(max_iter=300),
}
_DLVM = dict(
    hidden=(64, 64, 64),
    latent_dim=lambda data: 2 * len(data.frame.columns),
    batch_size=64,
    learning_rate=1e-3,
    max_iter=1000,
    n_iter_no_change=50,
    n_draws=1000,
)
#: named variants of a registry imputer (ablations): name -> (imputer, parameters)
VARIANTS: dict[str, tuple[str, dict]] = {
    # VSAE without p(m | z): the mask decoder ablation of the paper's MNAR table
    "vsae-nomask": ("vsae", dict(mask_decoder=False)),
    # VSAE with larger Adam steps (time to quality: does it reach MICE sooner?)
    "vsae-lr3e-3": ("vsae", dict(learning_rate=3e-3)),
    "vsae-lr1e-2": ("vsae", dict(learning_rate=1e-2)),
    # VSAE with larger batches (fewer, larger kernels an epoch) and larger steps
    "vsae-b512": ("vsae", dict(batch_size=512, learning_rate=3e-3)),
    "vsae-b1024": ("vsae", dict(batch_size=1024, learning_rate=1e-2)),
    "vsae-b1024-lr2e-2": ("vsae", dict(batch_size=1024, learning_rate=2e-2)),
    "vsae-b2048": ("vsae", dict(batch_size=2048, learning_rate=1e-2)),
    # VSAE with the paper's two-stage schedule (x_u targets after the warm-up)
    "vsae-paper": ("vsae", dict(warmup_epochs="auto")),
    # factVAE with its weight and lasso priors counted once per row (the
    # authors' scaling; the default counts them once per dataset): on mushroom it
    # imputed the mode (the weight prior switches the decoder off)
    "factvae-rowprior": ("factvae", dict(prior_scaling="per_batch_mean",
                                         group_available_prob=0.9)),
    # RVI inferring new rows from the prior (the paper's start, 80 steps) instead
    # of the guide's guess
    "rvi-prior": ("rvi", dict(inference_init="prior")),
    "vad-prior": ("vad", dict(inference_init="prior")),
    # RVI imputing by the posterior predictive mean (32 draws) instead of the decoded
    # posterior mean
    "rvi-draws": ("rvi", dict(n_draws=32)),
    # RVI with its posterior variances started at the prior's instead of e^-4: with
    # one Adam step per row and epoch they stay near the start, so this keeps the
    # posterior wide (whole hidden images; docs/benchmarks.md, image pairs)
    "rvi-wide": ("rvi", dict(posterior_logvar=0.0)),
    # ... and imputing by the posterior predictive mean (32 draws) instead of the
    # decoded posterior mean
    "rvi-wide-draws": ("rvi", dict(posterior_logvar=0.0, n_draws=32)),
    # factVAE where each group is seen by the encoder with probability 0.5 in training
    # (both variants of the row-scaled priors, as they were measured)
    "factvae-gap0.5": ("factvae", dict(
        group_available_prob=0.5, prior_scaling="per_batch_mean"
    )),
    # factVAE with a learned numerical variance started at 1 instead of a fixed 0.3
    "factvae-learnedscale": ("factvae", dict(
        numerical="gaussian_learned", numerical_scale=1.0,
        prior_scaling="per_batch_mean", group_available_prob=0.9,
    )),
    # the deep baselines of the VSAE paper's appendix (its App. D settings): one
    # backbone of three 64-unit layers, a latent size of 2 per attribute, batches
    # of 64, patience 50 within 1000 epochs (`dlvm` suite of the runner)
    **{
        f"{variant}-dlvm": ("vae", dict(variant=variant, **_DLVM))
        for variant in ("ae", "vae", "cvae")
    },
    "hivae-dlvm": ("hivae", dict(n_components=10, **_DLVM)),
    # MIWAE keeps its own architecture, with the shared schedule
    "miwae-dlvm": ("miwae", dict(
        batch_size=64, max_iter=1000, n_iter_no_change=50, n_draws=1000
    )),
}
#: VSAE settings of the ``vsae-sweep`` suite (imputers ``vsae~<setting>``): how much
#: do the defaults matter? Every setting is relative to the defaults with the
#: Gaussian numerical likelihood (``SWEEP_BASE``), the defaults until the Huber
#: likelihood replaced them; so ``vsae~base`` is that earlier default,
#: ``vsae~huber`` today's, and the stored rows stay reproducible.
SWEEP_BASE: dict = dict(numerical="gaussian")
#: name -> VSAEImputer parameters overriding SWEEP_BASE (``base``: none). The first
#: sweep's ``collective128`` / ``proposal_mean`` settings are the defaults now (its
#: rows live in the git history).
SWEEP: dict[str, dict] = {
    "base": {},
    # the defaults before commit 'VSAE: proposal means bounded' (the bound stays)
    "v1": dict(collective_hidden=(64, 64, 64), impute="importance"),
    "importance": dict(impute="importance"),
    "collective64": dict(collective_hidden=(64, 64, 64)),
    "scale0.2": dict(numerical_scale=0.2),
    "scale0.5": dict(numerical_scale=0.5),
    "learned_scale": dict(numerical="gaussian_learned"),
    "student_t": dict(numerical="student_t"),
    # today's default: Gaussian core, exponential tails (bounded pull of far values)
    "huber": dict(numerical="huber"),
    "huber+nomask": dict(numerical="huber", mask_decoder=False),
    # decoupled weight decay (AdamW) on today's default
    "huber+wd0.3": dict(numerical="huber", weight_decay=0.3),
    "huber+wd1": dict(numerical="huber", weight_decay=1.0),
    "hetero": dict(numerical="gaussian_hetero"),
    "kl0.03": dict(kl_weight=0.03),
    "kl0.3": dict(kl_weight=0.3),
    "kl1": dict(kl_weight=1.0),
    "drop0.3": dict(extra_drop_rate=0.3),
    "drop0.7": dict(extra_drop_rate=0.7),
    # no encoder-side dropout (it hides observed attributes behind the missing
    # flag); under MNAR this imputed much worse (the first sweep)
    "drop0": dict(extra_drop_rate=0.0),
    "drop0+nomask": dict(extra_drop_rate=0.0, mask_decoder=False),
    "nomask": dict(mask_decoder=False),
    # the data decoder conditioned on a Bernoulli draw of p(m | z) in training
    "sampled": dict(decoder_mask_condition="sampled"),
    "latent4": dict(latent_dim=4),
    "patience40": dict(n_iter_no_change=40),
    "batch64": dict(batch_size=64),
    "lr3e-3": dict(learning_rate=3e-3),
    "collective256": dict(collective_hidden=(256, 256, 256)),
    "decoder128": dict(decoder_hidden=(128, 128, 128)),
    "iw5": dict(n_train_draws=5),
    "iw20": dict(n_train_draws=20),
    "iw5+kl1": dict(n_train_draws=5, kl_weight=1.0),
}
SWEEP_PREFIX = "vsae~"
VARIANTS.update({
    SWEEP_PREFIX + name: ("vsae", {**SWEEP_BASE, **settings})
    for name, settings in SWEEP.items()
})
#: the estimators exactly as a user constructs them (``VSAEImputer()``): no
#: benchmark settings at all, only ``random_state`` and ``device``
DEFAULTS: dict[str, str] = {
    f"{name}-default": name
    for name in ("vsae", "rvi", "factvae", "miwae", "remasker", "diffputer")
}
SKLEARN = {
    "sk-iterative-rf": lambda q: IterativeImputer(
        RandomForestRegressor(n_estimators=10 if q else 100, n_jobs=1),
        max_iter=2 if q else 10,
    ),
    "sk-iterative-et": lambda q: IterativeImputer(
        ExtraTreesRegressor(n_estimators=10 if q else 100, n_jobs=1),
        max_iter=2 if q else 10,
    ),
    "sk-iterative-br": lambda q: IterativeImputer(
        BayesianRidge(), max_iter=2 if q else 10
    ),
    "sk-knn": lambda q: KNNImputer(n_neighbors=5),
}


def available() -> list[str]:
    return sorted(IMPUTERS) + sorted(VARIANTS) + sorted(DEFAULTS) + sorted(SKLEARN)


def parameter_names(name: str) -> set[str]:
    """The parameters ``--set`` may give the imputer ``name`` (its estimator's)."""
    if name in SKLEARN:
        return set(SklearnImputerAdapter(SKLEARN[name](True)).get_params(deep=True))
    base = DEFAULTS.get(name) or VARIANTS.get(name, (name, {}))[0]
    if base not in IMPUTERS:
        raise KeyError(f"unknown imputer {name!r}; choose from {available()}")
    return set(IMPUTERS[base]._get_param_names())


def make_imputer(
    name: str,
    *,
    quick: bool = False,
    seed: int = 0,
    device="auto",
    validation_fraction: float | None = None,
    data=None,
    overrides: dict | None = None,
):
    """An unfitted imputer by name.

    Parameters
    ----------
    name : str
        A registry name, a key of :data:`VARIANTS`, :data:`DEFAULTS` or
        :data:`SKLEARN`.
    quick : bool, default=False
        Smoke-run settings (``deepimpute.imputers.QUICK``) over the full ones.
    seed : int, default=0
        ``random_state``.
    device : str, default="auto"
        Torch device of the deep imputers.
    validation_fraction : float, optional
        Share of the fitted rows held out for early stopping (not for
        :data:`DEFAULTS`, which keep the estimator's own).
    data : Dataset, optional
        The dataset the imputer will see: the value of a variant parameter that is
        a function of it.
    overrides : dict, optional
        Parameters set last (``--set KEY=VALUE``), where the estimator has them.

    Returns
    -------
    estimator
        Unfitted; parameters it does not have are left out.
    """
    if name in SKLEARN:
        return SklearnImputerAdapter(SKLEARN[name](quick), random_state=seed)
    if name in DEFAULTS:
        base, kwargs = DEFAULTS[name], {}
    else:
        base, variant = VARIANTS.get(name, (name, {}))
        kwargs = {**FULL.get(base, {}), **variant}
    if base not in IMPUTERS:
        raise KeyError(f"unknown imputer {name!r}; choose from {available()}")
    last = dict(random_state=seed, device=device)
    if validation_fraction is not None and name not in DEFAULTS:
        last["validation_fraction"] = validation_fraction
    last.update(overrides or {})
    for values in (kwargs, last):
        for key, value in values.items():
            if callable(value):
                if data is None:
                    raise ValueError(
                        f"{name}: {key} depends on the dataset; pass data"
                    )
                values[key] = value(data)
    return build(base, kwargs, quick=quick, **last)
