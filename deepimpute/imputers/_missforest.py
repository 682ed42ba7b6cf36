"""MissForest: iterative imputation with random forests (Stekhoven & Bühlmann, 2012)."""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval, StrOptions
from ._base import BaseImputer

__all__ = ["MissForestImputer"]

_LOG = logging.getLogger("deepimpute")


# ---------------------------------------------------------------- shared helpers
# (also used by the MICE imputer: both work column by column on column codes)


def _categorical_columns(encoder) -> tuple[np.ndarray, np.ndarray]:
    """Per column: is it categorical, and how many categories (0 if not).

    Image pixels and numerical columns are both treated as real-valued columns.
    """
    p = encoder.n_features
    is_cat = np.zeros(p, dtype=bool)
    n_cat = np.zeros(p, dtype=np.intp)
    for lay, pos in zip(encoder.layout.attributes, encoder.positions, strict=True):
        if lay.kind == "categorical":
            is_cat[pos] = True
            n_cat[pos] = lay.width
    return is_cat, n_cat


def _image_columns(encoder) -> np.ndarray:
    """Per column: is it a pixel of an image attribute (codes live in [0, 1])."""
    is_img = np.zeros(encoder.n_features, dtype=bool)
    for lay, pos in zip(encoder.layout.attributes, encoder.positions, strict=True):
        is_img[pos] = lay.kind == "image"
    return is_img


def _start_values(C: np.ndarray, is_cat: np.ndarray) -> np.ndarray:
    """Observed mean of real-valued columns and mode of categorical ones."""
    start = np.zeros(C.shape[1])
    for j in range(C.shape[1]):
        obs = C[~np.isnan(C[:, j]), j]
        if obs.size == 0:  # the encoder refuses this at fit; kept for safety
            continue
        if is_cat[j]:
            start[j] = np.argmax(np.bincount(obs.astype(np.intp)))  # ties: lowest
        else:
            start[j] = obs.mean()
    return start


#: scikit-learn's classifiers warn, at every fit, when a target has more distinct
#: classes than half its (over 20) rows; the chained loops refit every column each
#: round, so the decision is taken once per column here (see _warn_many_classes)
_MANY_CLASSES = "The number of unique classes is greater than 50%"


def _warn_many_classes(encoder, C: np.ndarray, is_cat: np.ndarray, name: str) -> None:
    """Warn once per categorical column whose observed rows are mostly distinct
    classes (scikit-learn's rule), instead of once per round and chain."""
    labels = encoder.feature_names
    for j in np.flatnonzero(is_cat):
        obs = C[~np.isnan(C[:, j]), j]
        n_classes = np.unique(obs).size
        if obs.size > 20 and n_classes > round(0.5 * obs.size):
            label = labels[j] if labels is not None else j
            warnings.warn(
                f"{name}: categorical column {label!r} has {n_classes} distinct "
                f"values among its {obs.size} observed rows; its classifier sees "
                "few rows per class. If the column is an identifier, drop it; if "
                "it is a quantity, declare it Numerical in the column_spec.",
                UserWarning,
                stacklevel=3,
            )


@contextmanager
def _without_many_classes_warning():
    """Silence scikit-learn's repeat of the warning ``_warn_many_classes``
    gives once per column."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MANY_CLASSES, category=UserWarning)
        yield


def _visiting_order(missing: np.ndarray) -> np.ndarray:
    """Columns by increasing number of missing cells (stable: ties keep position)."""
    return np.argsort(missing.sum(axis=0), kind="stable")


def _passes(n_rounds: int, max_iter: int) -> int:
    """Passes of the stored models over new rows: the fit's rounds, within [1, cap]."""
    return int(min(max(n_rounds, 2), max_iter)) if max_iter > 1 else 1


def _others(p: int, j: int) -> np.ndarray:
    return np.concatenate([np.arange(j), np.arange(j + 1, p)]).astype(np.intp)


def _predictors(X: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``X[rows][:, cols]``; a single constant column when there is no other column,
    so that a one-column table is imputed by the model's marginal (mean / mode)."""
    if cols.size == 0:
        return np.zeros((rows.size, 1))
    return X[np.ix_(rows, cols)]


# ------------------------------------------------------------------ estimator


class MissForestImputer(BaseImputer):
    """MissForest: impute each column with a random forest, iterating to a fix point.

    Starting from the column means (numerical) and modes (categorical), the columns
    are visited in order of increasing missingness. For each one a
    ``RandomForestRegressor`` (numerical and image columns) or
    ``RandomForestClassifier`` (categorical columns) is trained
    on the rows where it is observed, with the current imputation of every other
    column as predictors, and predicts the rows where it is missing. Rounds repeat
    until the published stopping rule fires: the round-to-round change of the
    imputation, measured as ``sum((X_new - X_old)**2) / sum(X_new**2)`` over
    numerical columns and as the share of changed entries among missing categorical
    cells, increases (for both parts, when both are present); the imputation of the
    previous round is then returned. ``max_iter`` caps the rounds.

    Unlike the published algorithm (and the R / missingpy / missforest packages),
    fitting and imputing are separated: the imputer keeps the forests that produced
    its training imputation, one per column (columns complete at fit get a forest
    trained on the final imputation), and ``transform`` imputes new rows by
    running those stored forests over the new rows' missing cells, in the stored
    order, starting from the training means/modes, for as many passes as the
    rounds behind the training imputation (at least 2, at most ``max_iter``). No
    forest is refitted at transform time, so the result of a row does not depend
    on the other rows passed with it.

    Parameters
    ----------
    n_estimators : int, default=100
        Trees per forest (``ntree`` of the paper).
    max_iter : int, default=10
        Maximum number of rounds (the paper's ``maxiter``).
    max_features : {"sqrt", "log2"}, int, float or None, default="sqrt"
        Features considered at each split, for regression and classification alike.
        ``"sqrt"`` is R missForest's default ``mtry = floor(sqrt(p))``; missingpy
        used scikit-learn's old ``"auto"``, i.e. all features (1.0) for regression
        and ``"sqrt"`` for classification. 1.0 is slower by about ``sqrt(p)``.
    min_samples_leaf : int, default=1
        Minimum number of rows in a leaf.
    max_depth : int or None, default=None
        Maximum tree depth. Bounding it (or ``max_samples``) bounds the memory of the
        stored forests, which grows with ``n_estimators * n_features * n_rows``.
    max_samples : int, float or None, default=None
        Rows (or share of rows) drawn for each tree's bootstrap sample; None draws
        as many as there are observed rows.
    bootstrap : bool, default=True
        Whether trees are grown on bootstrap samples.
    n_jobs : int or None, default=None
        Parallel jobs of each forest's fit and predict (scikit-learn semantics).
    random_state : int, RandomState instance or None, default=None
        Seeds every forest (and the draws of ``sample``).
    verbose : int, default=0
        1 logs each round's changes to the ``"deepimpute"`` logger; higher values
        also make the forests verbose (``verbose - 1``).

    Attributes
    ----------
    estimators_ : list of (int, estimator)
        The stored forest of every column, as ``(column, forest)`` in visiting order.
    order_ : ndarray of int
        Columns by increasing training missingness.
    initial_ : ndarray of shape (`n_features_in_`,)
        Start values in column codes (training mean or mode).
    history_ : list of dict
        One record per round: ``round``, ``diff_numerical`` and
        ``diff_categorical`` (NaN when the table has no such missing column).
    n_iter_ : int
        Rounds run, including the one whose increase stopped the loop (1 when
        nothing was missing at fit: a single round fits the stored forests).
    final_round_ : int
        The round whose imputation was returned (``n_iter_ - 1`` when the stopping
        rule fired, ``n_iter_`` when ``max_iter`` was reached).

    See Also
    --------
    MICEImputer : Chained equations with Bayesian linear models.
    sklearn.impute.IterativeImputer : The same loop with one estimator for all
        columns, a tolerance stopping rule and no categorical support.

    Notes
    -----
    Categorical predictors enter the forests as their integer codes (trees split
    on them as ordered values, as missingpy did); categorical targets use a
    classifier. Work happens on column codes: numerical columns standardised with
    the observed training mean and std, so the numerical stopping criterion is the
    paper's up to that scaling.

    ``fit_transform`` returns the training imputation of ``final_round_`` itself.
    ``transform`` on the training rows re-imputes them from the start values with
    the stored forests and may therefore differ slightly from it.

    ``sample`` is an addition to the paper: each missing cell of a draw takes
    the prediction of one randomly chosen tree (numerical) or a category drawn
    from the forest's class probabilities (categorical), through the same passes.
    Its draws are not meant for inference: the forests shrink a linear relation,
    so pooled coefficients of imputed covariates were biased by about a third on a
    known-truth design (user guide, "Multiple imputation").

    References
    ----------
    .. [1] D. J. Stekhoven and P. Bühlmann, "MissForest - non-parametric missing
       value imputation for mixed-type data", Bioinformatics 28(1), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute import MissForestImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 3.0], [7.0, np.nan], [4.0, 5.0]])
    >>> imp = MissForestImputer(n_estimators=5, random_state=0)
    >>> imp.fit_transform(X).shape
    (4, 2)
    """

    _range_note = (
        'Forests average observed values: imputations stay within the observed '
        'range.'
    )

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_features": [
            StrOptions({"sqrt", "log2"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
        "bootstrap": ["boolean"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        n_estimators=100,
        max_iter=10,
        max_features="sqrt",
        min_samples_leaf=1,
        max_depth=None,
        max_samples=None,
        bootstrap=True,
        n_jobs=None,
        column_spec=None,
        handle_unknown="error",
        random_state=None,
        verbose=0,
        missing_values=np.nan,
        add_indicator=False,
        keep_empty_features=False,
        min_value=-np.inf,
        max_value=np.inf,
    ):
        store_params(self, locals())

    # ------------------------------------------------------------------ hooks
    def _make_forest(self, categorical: bool, seed: int):
        cls = RandomForestClassifier if categorical else RandomForestRegressor
        return cls(
            n_estimators=self.n_estimators,
            max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf,
            max_depth=self.max_depth,
            max_samples=self.max_samples if self.bootstrap else None,
            bootstrap=self.bootstrap,
            n_jobs=self.n_jobs,
            random_state=seed,
            verbose=max(int(self.verbose) - 1, 0),
        )

    def _fit_forest(self, X, j, rows, categorical, seed):
        forest = self._make_forest(categorical, seed)
        target = X[rows, j]
        if categorical:
            target = target.astype(np.intp)
        with _without_many_classes_warning():  # warned once per column in _fit
            forest.fit(_predictors(X, rows, _others(X.shape[1], j)), target)
        return forest

    def _fit(self, C, data, seed):
        is_cat, _ = _categorical_columns(self.encoder_)
        _warn_many_classes(self.encoder_, C, is_cat, type(self).__name__)
        missing = np.isnan(C)
        n, p = C.shape
        self.initial_ = _start_values(C, is_cat)
        self.order_ = _visiting_order(missing)
        X = np.where(missing, self.initial_, C)
        rng = np.random.default_rng(seed)
        todo = [j for j in self.order_ if missing[:, j].any()]
        num = [j for j in todo if not is_cat[j]]
        cat = [j for j in todo if is_cat[j]]
        n_cat_missing = int(missing[:, cat].sum()) if cat else 0

        history: list[dict] = []
        old = {"num": np.inf, "cat": np.inf}
        forests_prev: dict = {}
        self.final_round_ = 0
        self.n_iter_ = 0
        for it in range(1, self.max_iter + 1 if todo else 1):
            X_old = X.copy()
            forests: dict = {}
            for j in todo:
                obs = ~missing[:, j]
                forest = self._fit_forest(
                    X, j, np.flatnonzero(obs), is_cat[j], int(rng.integers(2**31 - 1))
                )
                rows = np.flatnonzero(~obs)
                X[rows, j] = forest.predict(_predictors(X, rows, _others(p, j)))
                forests[j] = forest
            new = {"num": np.nan, "cat": np.nan}
            if num:
                denom = np.sum(X[:, num] ** 2)
                new["num"] = np.sum((X[:, num] - X_old[:, num]) ** 2) / max(
                    denom, np.finfo(float).tiny
                )
            if cat:
                changed = np.sum(X[:, cat] != X_old[:, cat])
                new["cat"] = changed / n_cat_missing
            history.append(
                {
                    "round": it,
                    "diff_numerical": float(new["num"]),
                    "diff_categorical": float(new["cat"]),
                }
            )
            self.n_iter_ = it
            if self.verbose:
                _LOG.info("MissForest round %d: %s", it, history[-1])
            # Continue while at least one part still decreases (missForest's rule).
            improved = (num and new["num"] < old["num"]) or (
                cat and new["cat"] < old["cat"]
            )
            if not improved:
                X, forests = X_old, forests_prev
                break
            self.final_round_ = it
            old, forests_prev = new, forests

        # Columns complete at fit get a forest too, so transform can impute them.
        for j in self.order_:
            if j not in forests_prev:
                forests_prev[j] = self._fit_forest(
                    X, j, np.arange(n), is_cat[j], int(rng.integers(2**31 - 1))
                )
        if not todo:
            self.n_iter_ = self.final_round_ = 1
        self.estimators_ = [(int(j), forests_prev[j]) for j in self.order_]
        self.history_ = history
        return X  # the training imputation, returned by fit_transform

    def _run_passes(self, C, predict):
        missing = np.isnan(C)
        X = np.where(missing, self.initial_, C)
        p = X.shape[1]
        for _ in range(_passes(self.final_round_, self.max_iter)):
            for j, forest in self.estimators_:
                rows = np.flatnonzero(missing[:, j])
                if rows.size:
                    X[rows, j] = predict(j, forest, _predictors(X, rows, _others(p, j)))
        return X

    def _impute(self, C, data):
        return self._run_passes(C, lambda j, forest, Z: forest.predict(Z))

    def _sample(self, C, data, n_draws, seed):
        is_cat, _ = _categorical_columns(self.encoder_)
        draws = []
        for d in range(n_draws):
            rng = np.random.default_rng([seed, d])

            def predict(j, forest, Z, rng=rng):
                if is_cat[j]:
                    proba = forest.predict_proba(Z)
                    u = rng.random((Z.shape[0], 1))
                    k = (np.cumsum(proba, axis=1) < u).sum(axis=1)
                    return forest.classes_[np.minimum(k, len(forest.classes_) - 1)]
                trees = forest.estimators_
                pick = rng.integers(len(trees), size=Z.shape[0])
                out = np.empty(Z.shape[0])
                for t in np.unique(pick):
                    sel = pick == t
                    out[sel] = trees[t].predict(Z[sel])
                return out

            draws.append(self._run_passes(C, predict))
        return draws
