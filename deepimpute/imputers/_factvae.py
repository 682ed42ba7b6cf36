"""factVAE estimator: group-factorised VAE with product-of-experts inference."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ..models.factvae import FUSIONS, PRIOR_SCALINGS, FactVAE
from ..nn import LIKELIHOODS
from ..training import Batch
from ._deep import BaseDeepImputer

__all__ = ["FactVAEImputer"]


class FactVAEImputer(BaseDeepImputer):
    """Factorised VAE imputer with learned group sparsity (factVAE).

    The table is split into groups (aspects). Each group has its own encoder
    expert, a Gaussian over the latent code with mean ``U_g^T phi_g(x_g)`` and
    diagonal precision ``|V_g (phi_g(x_g) + b_g)|``, and its own generator
    ``f_g(W_g z)``. The posterior is the closed-form product of the prior and the
    experts of the observed groups, so more observed groups never increase its
    variance. A group-lasso penalty on the stacked ``[W_g^T, V_g]^T`` columns,
    applied by a proximal step, switches off whole (group, latent) links; the
    learned pattern is in ``sparsity_map_``. Missing groups are imputed from the
    decoder mean at the posterior mean of the observed groups (Ainsworth, Foti &
    Fox, 2018).

    A group counts as observed when at least one of its elements is; inside a
    partly observed group the encoder reads the zero-filled values and the mask,
    and missing elements are left out of the likelihood (an extension of the
    paper, which assumes whole groups are missing).

    Parameters
    ----------
    groups : list of list, default=None
        Groups of columns, each a list of column names (DataFrame input) or
        positions. A group takes every attribute one of its columns belongs to;
        attributes in no group form a group of their own. None: one group per
        attribute of the column spec.
    latent_dim : int, default=16
        Size K of the latent code.
    encoder_dim : int, default=16
        Output width H of every group feature net.
    generator_dim : int, default=16
        Width p of ``W_g z``, the input of every group generator.
    encoder_hidden : tuple of int, default=()
        Hidden widths of the group feature nets (each layer Linear + ReLU).
    generator_hidden : tuple of int, default=()
        Hidden widths of the group generators (Linear + ReLU layers on ``W_g z``,
        then a Linear output; the default is linear in ``W_g z``, the bars form).
    sparsity : float, default=1.0
        Group-lasso strength lambda (0 disables the sparsity prior).
    prox_learning_rate : float, default=1e-4
        Step eta of the plain SGD on ``W`` and ``V``; the proximal threshold is
        ``eta * sparsity`` per step.
    group_available_prob : float, default=0.7
        During training each observed group is kept for inference with this
        probability (the likelihood still uses every observed group). Ours; the
        paper keeps 0.9 (see Notes).
    fusion : {"poe", "moe"}, default="poe"
        ``"poe"``: product of experts (factVAE); ``"moe"``: uniform mixture of the
        same experts, each combined with the prior (the JMVAE+ baseline).
    numerical : str, default="huber"
        Likelihood of numerical attributes, one of
        ``deepimpute.nn.LIKELIHOODS["numerical"]``. Ours: a Gaussian core with
        exponential tails (VSAE's default), more robust to skewed columns than
        the paper's ``"gaussian"``.
    numerical_scale : float, default=0.3
        Fixed (``"gaussian"``, ``"huber"``: its Gaussian core) or initial
        (``"gaussian_learned"``) standard deviation of the numerical likelihood
        on standardised data. Ours: a learned variance started at 1 imputes about
        the column mean.
    prior_scaling : {"per_batch_mean", "dataset"}, default="dataset"
        Scale of the lasso and weight priors: against the dataset ELBO (divided by
        the number of training rows, which also divides the lasso's proximal
        threshold) or against the per-row mean ELBO (``"per_batch_mean"``, the
        authors' code, so ``sparsity`` means the same as in the paper; it tends to
        impute the mode on categorical tables).
    weight_prior_std : float, default=1.0
        Standard deviation of the Gaussian prior on the generator weights (not
        biases). With ``prior_scaling="per_batch_mean"`` this prior is not divided
        by the number of rows and can make the decoder ignore z on weakly
        structured tables; a large value (e.g. 100) weakens it.
    precision_baseline : float, default=100.0
        Initial value of the learned scalar ``b_g`` inside the expert precision
        ``|V_g (phi_g + b_g)|`` (the authors' code uses 100, which keeps precisions
        away from 0 early on; smaller values give wider initial posteriors and a
        tighter ``score_samples`` bound after short training).
    n_draws : int, default=100
        Importance samples per row in ``score_samples`` and proposals per row of
        the sampling-importance-resampling draws of ``sample``.
    max_iter : int or "auto", default="auto"
        Training epochs. ``"auto"`` (resolved into ``max_iter_``) allows about
        20,000 optimiser steps, between 10 and 1000 epochs; early stopping
        usually ends training sooner.
    learning_rate : float, default=1e-3
        Adam step size of every parameter except ``W`` and ``V``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, group dropout and sampling.

    Attributes
    ----------
    groups_ : list of list
        The column labels (names or positions) of every group, in model order.
    sparsity_map_ : ndarray of shape (n_groups, latent_dim)
        ``S[g, j] = sqrt(sum_k W_g[k, j]^2 + sum_h V_g[j, h]^2)``: the strength of
        the link between group g and latent dimension j.

    See Also
    --------
    VSAEImputer : Per-attribute latents with a model of the mask.
    deepimpute.plotting.plot_sparsity_map : Plot ``sparsity_map_``.

    Notes
    -----
    On small mixed tables the defaults may not beat the column mean; its draws
    are not meant for inference (with the default fixed-scale likelihood they
    spread less than the true conditional). Measurements behind the defaults and
    their limits: :ref:`defaults-factvae`.

    References
    ----------
    S. K. Ainsworth, N. J. Foti, E. B. Fox. "Disentangled VAE Representations
    for Multi-Aspect and Missing Data", 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import FactVAEImputer
    >>> X = np.array([[1.0, 2.0, 0.5], [np.nan, 3.0, 1.0], [7.0, np.nan, 2.0],
    ...               [4.0, 5.0, np.nan]])
    >>> imp = FactVAEImputer(groups=[[0, 1], [2]], max_iter=2, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 3)
    >>> imp.sparsity_map_.shape
    (2, 16)
    """

    _core = FactVAE

    _parameter_constraints: dict = {
        **BaseDeepImputer._parameter_constraints,
        "groups": [list, tuple, None],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "encoder_dim": [Interval(Integral, 1, None, closed="left")],
        "generator_dim": [Interval(Integral, 1, None, closed="left")],
        "encoder_hidden": [tuple],
        "generator_hidden": [tuple],
        "sparsity": [Interval(Real, 0, None, closed="left")],
        "prox_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "group_available_prob": [Interval(Real, 0, 1, closed="right")],
        "fusion": [StrOptions(set(FUSIONS))],
        "numerical": [StrOptions(set(LIKELIHOODS["numerical"]))],
        "numerical_scale": [Interval(Real, 0, None, closed="neither")],
        "prior_scaling": [StrOptions(set(PRIOR_SCALINGS))],
        "weight_prior_std": [Interval(Real, 0, None, closed="neither")],
        "precision_baseline": [Interval(Real, None, None, closed="neither")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _renamed = {"n_importance": "n_draws"}

    def __init__(
        self,
        *,
        groups=None,
        latent_dim=16,
        encoder_dim=16,
        generator_dim=16,
        encoder_hidden=(),
        generator_hidden=(),
        sparsity=1.0,
        prox_learning_rate=1e-4,
        group_available_prob=0.7,
        fusion="poe",
        numerical="huber",
        numerical_scale=0.3,
        prior_scaling="dataset",
        weight_prior_std=1.0,
        precision_baseline=100.0,
        n_draws=100,
        n_importance="deprecated",
        column_spec=None,
        handle_unknown="error",
        device="auto",
        max_iter="auto",
        batch_size=64,
        learning_rate=1e-3,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        random_state=None,
        verbose=0,
        callback=None,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        min_value=-np.inf,
        max_value=np.inf,
    ):
        store_params(self, locals())

    def _core_arguments(self, layout, n_rows):
        return dict(
            layout=layout,
            groups=self.encoder_.attribute_groups(self.groups),
            n_rows=n_rows,
        )

    def _fit(self, C, data, seed):
        super()._fit(C, data, seed)
        self.groups_ = [
            self.encoder_.attribute_columns(attrs) for attrs in self.module_.groups
        ]
        self.sparsity_map_ = self.module_.sparsity_map().detach().cpu().numpy()

    # ---------------------------------------------------------------- scoring
    def score_samples(self, X):
        """Importance-sampled log-likelihood of every row's observed entries.

        ``log p(x_obs)`` in the model's space (numerical columns standardised,
        categoricals one-hot, images in [0, 1]), estimated with ``n_draws``
        draws from the posterior given the observed groups. Deterministic.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        _, _, _, Xk = self._encode_input(X)
        _, data = self.encoder_.encode(Xk)
        # in float64: a float32 sum of tens of nats moves by an ulp (~4e-6) with
        # the batch's size, and a row's score must not depend on its batch-mates
        module = copy.deepcopy(self.module_).double().eval()

        def score(b: Batch):
            return module.log_likelihood(
                Batch(b.x.double(), b.observed.double(), b.attr_observed.double(),
                      b.index)
            )

        return self._run(score, data, self.seed_, True)
