"""MICE: multiple imputation by chained equations with Bayesian linear models."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import BayesianRidge, LogisticRegression

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval
from ._base import BaseImputer
from ._missforest import (
    _categorical_columns,
    _image_columns,
    _passes,
    _predictors,
    _start_values,
    _visiting_order,
    _warn_many_classes,
    _without_many_classes_warning,
)

__all__ = ["MICEImputer"]


class _SingleClass:
    """Stand-in for a classifier when one category only was observed."""

    def __init__(self, label: int) -> None:
        self.classes_ = np.array([label])

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        return np.ones((Z.shape[0], 1))


#: largest number of logistic-regression coefficients whose Laplace covariance is
#: kept for parameter draws (the Hessian is that size squared)
_MAX_LAPLACE = 2000
#: fewest residual degrees of freedom (rows - coefficients - 1) for which a draw
#: takes the noise variance from its posterior (5: its variance is finite)
MIN_DF = 5


class _Ridge:
    """A fitted Bayesian linear regression kept for prediction only: its
    coefficients, intercept and noise standard deviation (O(p), where
    :class:`~sklearn.linear_model.BayesianRidge` also holds the p x p posterior
    covariance). Predicts exactly as the regression it was made from."""

    def __init__(self, model: BayesianRidge) -> None:
        self.coef = model.coef_
        self.intercept = float(model.intercept_)
        self.sd = float(1.0 / np.sqrt(model.alpha_))

    def predict(self, Z, return_std=False):
        """Predicted means (and, with ``return_std``, the noise standard
        deviation: the coefficients' own uncertainty is left to the posterior
        draws of :meth:`MICEImputer.sample`)."""
        mu = Z @ self.coef + self.intercept
        return (mu, np.full(mu.shape, self.sd)) if return_std else mu


def _packed_lower(S: np.ndarray) -> np.ndarray:
    """The lower triangle of a symmetric matrix, row by row (half its memory)."""
    return S[np.tril_indices(S.shape[0])]


def _unpacked_lower(packed: np.ndarray, p: int) -> np.ndarray:
    """The p x p matrix of :func:`_packed_lower` (upper triangle zero: the
    eigendecomposition reads the lower one only, so it is exact)."""
    S = np.zeros((p, p))
    S[np.tril_indices(p)] = packed
    return S


def _ridge_posterior(model: BayesianRidge, n: int) -> dict:
    """What a parameter draw of a Bayesian ridge needs beyond :class:`_Ridge`:
    the number of training rows, the noise precision, the predictors' means and
    the posterior covariance of the coefficients (packed lower triangle)."""
    return {
        "n": n,
        "alpha": float(model.alpha_),
        "offset": model.X_offset_,
        "sigma": _packed_lower(model.sigma_),
    }


def _posterior_info(model, Z: np.ndarray) -> dict | None:
    """What a posterior draw of a fitted column model needs, from its training
    predictors ``Z``: :func:`_ridge_posterior` (Bayesian ridge) or the Laplace
    covariance of ``[coef, intercept]`` (logistic regression); None where none is
    drawn."""
    if isinstance(model, BayesianRidge):
        return _ridge_posterior(model, Z.shape[0])
    if not isinstance(model, LogisticRegression):
        return None  # a single observed class: nothing to draw
    W = np.column_stack([model.coef_, model.intercept_])  # (K', p + 1)
    if W.size > _MAX_LAPLACE:
        return None
    Z1 = np.column_stack([Z, np.ones(Z.shape[0])])
    proba = model.predict_proba(Z)
    if W.shape[0] == 1:  # binary: one logit
        w = proba[:, 1] * proba[:, 0]
        H = (Z1 * w[:, None]).T @ Z1
    else:  # multinomial: sum_i (diag p_i - p_i p_i') kron z_i z_i'
        k, q = W.shape
        H = np.zeros((k * q, k * q))
        for a in range(k):
            for b in range(a, k):
                w = proba[:, a] * ((a == b) - proba[:, b])
                block = (Z1 * w[:, None]).T @ Z1
                H[a * q : (a + 1) * q, b * q : (b + 1) * q] = block
                H[b * q : (b + 1) * q, a * q : (a + 1) * q] = block.T
    penalty = np.ones(W.shape)
    penalty[:, -1] = 0.0  # the intercepts are not penalised
    H += np.diag(penalty.ravel() / model.C)
    # pseudo-inverse square root: the softmax is flat along a shift common to all
    # classes' intercepts (no penalty there), which a draw then leaves alone
    vals, vecs = np.linalg.eigh(H)
    keep = vals > 1e-9 * max(vals.max(), 1e-300)
    root = vecs[:, keep] / np.sqrt(vals[keep])
    return {"root": root}


class _DrawnRidge:
    """A Bayesian linear regression with parameters drawn from its posterior:
    predicts its mean and the drawn noise standard deviation."""

    def __init__(self, coef, intercept, sd):
        self.coef, self.intercept, self.sd = coef, intercept, sd

    def predict(self, Z, return_std=False):
        mu = Z @ self.coef + self.intercept
        return (mu, np.full(mu.shape, self.sd)) if return_std else mu


class _DrawnLogistic:
    """A logistic regression with parameters drawn from its Laplace posterior."""

    def __init__(self, W, classes):
        self.W, self.classes_ = W, classes

    def predict_proba(self, Z):
        logits = Z @ self.W[:, :-1].T + self.W[:, -1]
        if self.W.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.column_stack([1.0 - p, p])
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def _draw_model(model, info: dict | None, rng: np.random.Generator):
    """One posterior draw of a fitted column model (``model`` itself without
    ``info``).

    Bayesian ridge: the noise variance from its scaled inverse chi-squared
    posterior (``n - p - 1`` degrees of freedom, scale ``1 / alpha_``; the fitted
    variance below :data:`MIN_DF` of them), then the
    coefficients from their normal posterior ``N(coef_, sigma_)`` rescaled to that
    variance, and the intercept from the mean response's; logistic regression:
    ``[coef, intercept]`` from the normal (Laplace) approximation of its posterior.
    """
    if info is None:
        return model
    if isinstance(model, BayesianRidge):  # a model pickled before _Ridge
        info = _ridge_posterior(model, int(info["n"]))
        model = _Ridge(model)
    if isinstance(model, _Ridge):
        p, n, alpha = model.coef.size, int(info["n"]), info["alpha"]
        df = n - p - 1
        # below MIN_DF residual degrees of freedom the inverse chi-squared has no
        # finite variance and its draws run wild: keep the fitted noise variance
        var = df / (alpha * rng.chisquare(df)) if df >= MIN_DF else 1.0 / alpha
        sigma = _unpacked_lower(info["sigma"], p)
        vals, vecs = np.linalg.eigh(sigma * (alpha * var))
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
        coef = model.coef + root @ rng.standard_normal(p)
        offset = model.intercept + info["offset"] @ model.coef  # mean response
        offset += np.sqrt(var / max(n, 1)) * rng.standard_normal()
        return _DrawnRidge(coef, offset - info["offset"] @ coef, np.sqrt(var))
    W = np.column_stack([model.coef_, model.intercept_])
    root = info["root"]
    W = W + (root @ rng.standard_normal(root.shape[1])).reshape(W.shape)
    return _DrawnLogistic(W, model.classes_)


class _Design:
    """Predictor matrix of the chained equations: numerical columns as they are,
    categorical columns one-hot (a linear model cannot use integer codes)."""

    def __init__(self, is_cat: np.ndarray, n_cat: np.ndarray) -> None:
        widths = np.where(is_cat, n_cat, 1)
        self.start = np.concatenate([[0], np.cumsum(widths)[:-1]])
        self.width = widths
        store_params(self, locals())
        self.total = int(widths.sum())

    def expand(self, X: np.ndarray) -> np.ndarray:
        Z = np.zeros((X.shape[0], self.total))
        for j in range(X.shape[1]):
            self.update(Z, X, j, slice(None))
        return Z

    def update(self, Z: np.ndarray, X: np.ndarray, j: int, rows) -> None:
        s, w = self.start[j], self.width[j]
        if self.is_cat[j]:
            codes = X[rows, j].astype(np.intp)
            block = np.zeros((codes.size, w))
            block[np.arange(codes.size), codes] = 1.0
            Z[rows, s : s + w] = block
        else:
            Z[rows, s] = X[rows, j]

    def others(self, j: int) -> np.ndarray:
        keep = np.ones(self.total, dtype=bool)
        keep[self.start[j] : self.start[j] + self.width[j]] = False
        return np.flatnonzero(keep)


class MICEImputer(BaseImputer):
    """Multiple imputation by chained equations (MICE) with Bayesian linear models.

    Each of ``n_imputations`` independent chains starts from the column means
    (numerical) and modes (categorical) and visits the columns in order of
    increasing missingness, ``max_iter`` rounds. A numerical (or image) column is
    regressed on all others with ``BayesianRidge`` fitted
    on the rows where it is observed; its missing cells are replaced by draws from
    the posterior predictive normal (predicted mean and standard deviation). A
    categorical column gets a multinomial
    ``LogisticRegression`` and its missing cells are
    drawn from the predicted class probabilities. Categorical predictors enter
    one-hot; imputed image pixels are clipped to [0, 1] (their code range). With
    ``sample_posterior=False`` the draws are replaced by the predicted mean / most
    probable class, a single chain is run and the loop stops early with
    scikit-learn's tolerance rule: this reproduces
    ``IterativeImputer(BayesianRidge(), sample_posterior=False)`` on numerical data.

    ``fit`` keeps each chain's models of its last round. ``transform`` runs
    every chain's stored models over the new rows' missing cells with point
    predictions (predicted mean, most probable class), starting from the training
    means/modes, for as many passes as the fit ran rounds (at least 2, at most
    ``max_iter``), and pools the chains: mean for numerical columns, majority vote
    for categorical ones (ties: lowest code). Point predictions make ``transform``
    deterministic and independent of the other rows passed along (random draws per
    cell cannot be). ``sample`` gives the draws: draw ``d`` runs chain
    ``d % n_imputations`` with its own draw of every model's parameters from
    their posterior (the normal-inverse-chi-squared posterior of the Bayesian
    linear regression, the Laplace approximation of the logistic one), then
    predictive draws given them, so that draws sharing a chain are still
    independent and carry the models' parameter uncertainty ("proper"
    imputations, as ``mice``'s ``norm`` and ``logreg`` methods draw).

    Parameters
    ----------
    n_imputations : int, default=5
        Number of chains (imputed datasets ``m`` of MICE).
    max_iter : int, default=10
        Rounds per chain.
    sample_posterior : bool, default=True
        Draw imputations from the predictive distributions during fit (MICE);
        False uses point predictions (deterministic, a single chain).
    tol : float, default=1e-3
        With ``sample_posterior=False`` only: stop when the largest change of an
        imputed value in a round is below ``tol`` times the largest absolute
        observed value (column codes), as ``IterativeImputer`` does.
    alpha_1, alpha_2, lambda_1, lambda_2 : float, default=1e-6
        Gamma hyperpriors of ``BayesianRidge``.
    C : float, default=1.0
        Inverse L2 strength of the multinomial logistic regressions.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains' draws during fit.

    Attributes
    ----------
    chains_ : list of list of (int, estimator)
        Per chain, the last round's ``(column, model)`` pairs in visiting order.
    order_ : ndarray of int
        Columns by increasing training missingness.
    initial_ : ndarray of shape (`n_features_in_`,)
        Start values in column codes (training mean or mode).
    history_ : list of dict
        One record per round of the first chain: ``round`` and ``change`` (largest
        absolute change of an imputed code).
    n_iter_ : int
        Rounds run per chain.

    See Also
    --------
    MissForestImputer : Iterative imputation with random forests.
    sklearn.impute.IterativeImputer : Chained equations for numerical data.

    Notes
    -----
    ``fit_transform`` returns the pooled training imputation of the chains' last
    round (the pooled multiple imputation); ``transform`` on the training rows
    re-imputes them from the start values with the stored models and differs from
    it. The predictive draws during ``fit`` are per cell (``IterativeImputer``'s
    ``sample_posterior``); those of ``sample`` first draw the regression
    coefficients jointly, once per draw and model.

    What a fit keeps: per chain and column, the last round's model for
    prediction only (a Bayesian ridge's coefficients, intercept and noise scale:
    O(p) per column, O(p^2) in all, not ``BayesianRidge``
    with its p x p covariance), and with ``sample_posterior=True`` what the
    parameter draws of ``sample`` need: the posterior covariance of each
    ridge's coefficients, stored once as its packed lower triangle (exact, half
    the float64 of the full matrix; the model file then grows as ``n_imputations
    * p^3 / 2`` float64) and the Laplace factor of each logistic regression. With
    ``sample_posterior=False`` no covariance is kept (the model grows as p^2) and
    ``sample`` adds the regressions' noise to the single chain's predictions,
    without parameter draws.

    References
    ----------
    .. [1] S. van Buuren and K. Groothuis-Oudshoorn, "mice: Multivariate imputation
       by chained equations in R", Journal of Statistical Software 45(3), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import MICEImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = MICEImputer(n_imputations=2, max_iter=3, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        'Linear predictions and their posterior draws may fall outside the '
        'observed range.'
    )

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "n_imputations": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "sample_posterior": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "alpha_1": [Interval(Real, 0, None, closed="left")],
        "alpha_2": [Interval(Real, 0, None, closed="left")],
        "lambda_1": [Interval(Real, 0, None, closed="left")],
        "lambda_2": [Interval(Real, 0, None, closed="left")],
        "C": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        n_imputations=5,
        max_iter=10,
        sample_posterior=True,
        tol=1e-3,
        alpha_1=1e-6,
        alpha_2=1e-6,
        lambda_1=1e-6,
        lambda_2=1e-6,
        C=1.0,
        column_spec=None,
        handle_unknown="error",
        random_state=None,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        min_value=-np.inf,
        max_value=np.inf,
    ):
        store_params(self, locals())

    def _fit_model(self, Z, X, j, rows):
        if self._is_cat[j]:
            y = X[rows, j].astype(np.intp)
            labels = np.unique(y)
            if labels.size == 1:
                return _SingleClass(int(labels[0]))
            model = LogisticRegression(C=self.C, max_iter=1000)
        else:
            y = X[rows, j]
            model = BayesianRidge(
                alpha_1=self.alpha_1,
                alpha_2=self.alpha_2,
                lambda_1=self.lambda_1,
                lambda_2=self.lambda_2,
            )
        with _without_many_classes_warning():  # warned once per column in _fit
            return model.fit(_predictors(Z, rows, self._design.others(j)), y)

    def _predict(self, model, j, Z, rng):
        """Point prediction (``rng`` None) or a predictive draw for rows ``Z``."""
        if self._is_cat[j]:
            proba = model.predict_proba(Z)
            if rng is None:
                k = np.argmax(proba, axis=1)
            else:
                u = rng.random((Z.shape[0], 1))
                k = np.minimum(
                    (np.cumsum(proba, axis=1) < u).sum(axis=1), proba.shape[1] - 1
                )
            return model.classes_[k].astype(float)
        if rng is None:
            value = model.predict(Z)
        else:
            mu, sd = model.predict(Z, return_std=True)
            value = mu + sd * rng.standard_normal(mu.shape[0])
        # a linear model can leave [0, 1]; image codes must stay inside
        return np.clip(value, 0.0, 1.0) if self._is_img[j] else value

    # ------------------------------------------------------------------ hooks
    def _fit(self, C, data, seed):
        is_cat, n_cat = _categorical_columns(self.encoder_)
        self._is_cat = is_cat
        self._is_img = _image_columns(self.encoder_)
        self._design = _Design(is_cat, n_cat)
        _warn_many_classes(self.encoder_, C, is_cat, type(self).__name__)
        missing = np.isnan(C)
        n = C.shape[0]
        self.initial_ = _start_values(C, is_cat)
        self.order_ = _visiting_order(missing)
        observed = ~missing
        normalized_tol = self.tol * (
            np.max(np.abs(C[observed])) if observed.any() else 1.0
        )
        n_chains = self.n_imputations if self.sample_posterior else 1
        seeds = np.random.SeedSequence(seed).spawn(n_chains)
        self.chains_, finals, self.history_ = [], [], []
        self._posterior_ = []  # per chain: column -> what a parameter draw needs
        for c in range(n_chains):
            rng = np.random.default_rng(seeds[c]) if self.sample_posterior else None
            X = np.where(missing, self.initial_, C)
            Z = self._design.expand(X)
            for it in range(1, self.max_iter + 1):
                X_prev = X.copy()
                models, posterior = [], {}
                for j in self.order_:
                    obs_rows = np.flatnonzero(observed[:, j])
                    model = self._fit_model(Z, X, j, obs_rows)
                    # kept for prediction only: no p x p covariance (_Ridge)
                    kept = _Ridge(model) if isinstance(model, BayesianRidge) else model
                    models.append((int(j), kept))
                    if rng is not None and it == self.max_iter:
                        # the kept models: what ``sample`` needs to draw them
                        Zo = _predictors(Z, obs_rows, self._design.others(j))
                        posterior[int(j)] = _posterior_info(model, Zo)
                    rows = np.flatnonzero(missing[:, j])
                    if rows.size:
                        Zj = _predictors(Z, rows, self._design.others(j))
                        X[rows, j] = self._predict(model, j, Zj, rng)
                        self._design.update(Z, X, j, rows)
                change = float(np.max(np.abs(X - X_prev))) if n else 0.0
                if c == 0:
                    self.history_.append({"round": it, "change": change})
                if not self.sample_posterior and change < normalized_tol:
                    break
            self.n_iter_ = it
            self.chains_.append(models)
            self._posterior_.append(posterior)
            finals.append(X)
        return self._pool(finals)  # pooled training imputation for fit_transform

    def _pool(self, completed: list[np.ndarray]) -> np.ndarray:
        stack = np.stack(completed)
        out = stack.mean(axis=0)
        for j in np.flatnonzero(self._is_cat):
            codes = stack[:, :, j].astype(np.intp)  # (chains, rows)
            n_cat = int(codes.max()) + 1
            counts = np.zeros((codes.shape[1], n_cat), dtype=np.intp)
            for row_codes in codes:
                counts[np.arange(codes.shape[1]), row_codes] += 1
            out[:, j] = np.argmax(counts, axis=1)  # ties: lowest code
        return out

    def _run_chain(self, C, models, rng):
        """Re-impute ``C`` from the start values with ``models`` (point predictions
        when ``rng`` is None, predictive draws otherwise)."""
        missing = np.isnan(C)
        X = np.where(missing, self.initial_, C)
        Z = self._design.expand(X)
        for _ in range(_passes(self.n_iter_, self.max_iter)):
            for j, model in models:
                rows = np.flatnonzero(missing[:, j])
                if rows.size:
                    Zj = _predictors(Z, rows, self._design.others(j))
                    X[rows, j] = self._predict(model, j, Zj, rng)
                    self._design.update(Z, X, j, rows)
        return X

    def _chain_imputations(self, C):
        """Each chain's point imputation of ``C`` (the values ``transform`` pools)."""
        return [self._run_chain(C, models, None) for models in self.chains_]

    def _impute(self, C, data):
        return self._pool(self._chain_imputations(C))

    def _sample(self, C, data, n_draws, seed):
        draws = []
        posteriors = getattr(self, "_posterior_", None)  # absent: older pickles
        for d in range(n_draws):
            rng = np.random.default_rng([seed, d])
            c = d % len(self.chains_)
            models = self.chains_[c]
            if posteriors is not None and posteriors[c]:
                # a draw of its own of every model: draws sharing chain c differ
                # in their parameters, not only in their predictive noise
                models = [
                    (j, _draw_model(m, posteriors[c].get(j), rng)) for j, m in models
                ]
            draws.append(self._run_chain(C, models, rng))
        return draws
