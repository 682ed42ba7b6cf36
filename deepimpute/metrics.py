"""Imputation error metrics and scikit-learn scorers (NumPy / pandas only).

Every metric takes the ground truth first, then the imputed table, and scores only the
cells flagged in the keyword-only ``missing`` mask (the artificially hidden ones, see
``docs/methods/protocol.md``, "Metrics"), restricted to the attributes of its kind
in ``spec``:

* :func:`nrmse` — numerical attributes, three variants (pooled raw / pooled on
  standardised values / per feature);
* :func:`pfc` — categorical attributes, proportion falsely classified;
* :func:`image_mse` — image attributes, per-pixel MSE of each hidden image averaged
  over hidden images;
* :func:`rmse_minmax` — GAIN's RMSE on min–max normalised data;
* :func:`score_imputation` — all of the above in one dict.

Tables may be DataFrames (mixed dtypes, categorical labels compared as values, with
``1`` and ``1.0`` equal) or arrays. Cells whose truth is missing are never scored; a
scored cell left missing in the imputation raises ``ValueError``.

:func:`make_imputation_scorer` and :func:`imputation_cv_score` plug the metrics into
``cross_val_score`` / ``GridSearchCV``, with the ground truth passed as ``y``.
:func:`gaussian_conditional_mean` is the oracle imputation for Gaussian data.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ._utils.values import cell_na as _cell_na
from ._utils.values import isna as _isna
from ._utils.values import label_key as _key
from .schema import Categorical, ColumnSpec, Image, Numerical

__all__ = [
    "nrmse",
    "pfc",
    "image_mse",
    "rmse_minmax",
    "score_imputation",
    "make_imputation_scorer",
    "imputation_cv_score",
    "gaussian_conditional_mean",
    "NRMSE_VARIANTS",
    "SCORER_METRICS",
]

NRMSE_VARIANTS = ("pooled_raw", "pooled_std", "per_feature")
SCORER_METRICS = (
    "nrmse_per_feature",
    "nrmse_pooled_raw",
    "nrmse_pooled_std",
    "pfc",
    "image_mse",
    "rmse_minmax",
)


# ---------------------------------------------------------------------- metrics
def nrmse(
    X_true,
    X_imputed,
    *,
    missing,
    spec: ColumnSpec | None = None,
    variant: str = "pooled_raw",
    scale=None,
) -> float:
    """Normalised root mean squared error over the hidden numerical cells.

    With ``U`` the hidden cells of numerical attributes whose truth is known:

    * ``"pooled_raw"`` (missForest): ``sqrt(mean_U (x̂ - x)² / var_U(x))`` on the
      original scale, the variance (ddof=1) pooled over every cell of ``U``;
    * ``"pooled_std"``: the same after z-scoring each column with ``scale`` or, by
      default, the mean and std (ddof=0) of the column's known values in ``X_true``;
    * ``"per_feature"``: ``mean_j sqrt(mean_{U_j} (x̂ - x)² / var_{U_j}(x))`` with
      ddof=1, over the columns ``j`` with at least two hidden cells and non-zero
      variance there (others are skipped).

    Parameters
    ----------
    X_true, X_imputed : DataFrame or array-like of shape (n_samples, n_features)
    missing : array-like of bool, shape (n_samples, n_features)
        Cells to score.
    spec : ColumnSpec, optional
        Defaults to ``ColumnSpec.infer(X_true)``. Image attributes are not included.
    variant : {"pooled_raw", "pooled_std", "per_feature"}
    scale : tuple (mean, std) of array-like, optional
        Column statistics for ``"pooled_std"`` (e.g. from the training rows), of
        length ``n_features`` or the number of numerical columns.

    Returns
    -------
    float
        NaN when no numerical cell is scored.
    """
    if variant not in NRMSE_VARIANTS:
        raise ValueError(f"variant must be one of {NRMSE_VARIANTS}, got {variant!r}.")
    t = _Tables(X_true, X_imputed, missing, spec)
    cols = t.columns_of(Numerical)
    if cols.size == 0:
        return float("nan")
    truth = t.numeric(t.X_true, cols)
    imp = t.numeric(t.X_imputed, cols)
    U = t.scored(cols, truth)
    t.check_filled(imp, U, cols)
    if variant == "pooled_std":
        mu, sd = _scale_for(scale, truth, cols, t.n_features)
        truth, imp = (truth - mu) / sd, (imp - mu) / sd
    if variant in ("pooled_raw", "pooled_std"):
        x, xh = truth[U], imp[U]
        if x.size < 2:
            return float("nan")
        var = x.var(ddof=1)
        return float(np.sqrt(np.mean((xh - x) ** 2) / var)) if var > 0 else np.nan
    errs = []
    for j in range(cols.size):
        x, xh = truth[U[:, j], j], imp[U[:, j], j]
        if x.size >= 2 and x.var(ddof=1) > 0:
            errs.append(np.sqrt(np.mean((xh - x) ** 2) / x.var(ddof=1)))
    return float(np.mean(errs)) if errs else float("nan")


def pfc(X_true, X_imputed, *, missing, spec: ColumnSpec | None = None) -> float:
    """Proportion falsely classified over the hidden categorical cells.

    ``#{(i, j) in U_cat : x̂_ij != x_ij} / |U_cat|``, one cell per categorical
    attribute (missForest's PFC). Values are compared as labels; ``1``, ``1.0`` and
    ``np.int64(1)`` are the same label. NaN when no categorical cell is scored.
    """
    t = _Tables(X_true, X_imputed, missing, spec)
    cols = t.columns_of(Categorical)
    wrong = total = 0
    for j in cols:
        truth = t.raw(t.X_true, j)
        imp = t.raw(t.X_imputed, j)
        rows = np.flatnonzero(t.missing[:, j] & ~_isna(truth))
        t.check_filled(imp[rows].reshape(-1, 1), None, np.array([j]))
        pairs = zip(truth[rows], imp[rows], strict=True)
        wrong += sum(_key(a) != _key(b) for a, b in pairs)
        total += rows.size
    return float(wrong / total) if total else float("nan")


def image_mse(
    X_true,
    X_imputed,
    *,
    missing,
    spec: ColumnSpec | None = None,
    scale=None,
    reduce: str = "mean",
):
    """Per-pixel MSE of hidden image attributes, averaged over hidden images.

    For every (row, image attribute) with at least one hidden pixel, the squared
    errors of its hidden pixels are averaged (the "MSE/784" of VSAE for a fully
    hidden MNIST digit); these per-instance values are then averaged over instances.

    Parameters
    ----------
    X_true, X_imputed, missing, spec
        As in :func:`nrmse`.
    scale : None, float or tuple (low, high)
        Pixel scale. ``None``: values are used as they are when the truth of the block
        lies in [0, 1], otherwise mapped by the block's min and max in ``X_true``.
        A float divides by it (``255``); a tuple maps ``low..high`` to ``0..1``.
    reduce : {"mean", "per_attribute", "sum"}
        ``"mean"`` pools all hidden instances; ``"per_attribute"`` returns a dict
        ``{attribute label: MSE}``; ``"sum"`` adds the per-attribute MSEs (VSAE's
        "sum error" over modalities).

    Returns
    -------
    float or dict
        NaN (or an empty dict) when no image attribute is hidden.
    """
    if reduce not in ("mean", "per_attribute", "sum"):
        raise ValueError(
            f"reduce must be 'mean', 'per_attribute' or 'sum', got {reduce!r}."
        )
    t = _Tables(X_true, X_imputed, missing, spec)
    per_attr: dict[str, np.ndarray] = {}
    for attr, pos in zip(t.spec, t.positions, strict=True):
        if not isinstance(attr, Image):
            continue
        truth = t.numeric(t.X_true, pos)
        imp = t.numeric(t.X_imputed, pos)
        U = t.scored(pos, truth)
        t.check_filled(imp, U, pos)
        width = _pixel_width(scale, truth)  # an offset cancels in a difference
        sq = np.where(U, ((imp - truth) / width) ** 2, 0.0)
        cnt = U.sum(axis=1)
        rows = cnt > 0
        if rows.any():
            per_attr[attr.label] = sq[rows].sum(axis=1) / cnt[rows]
    if reduce == "per_attribute":
        return {k: float(v.mean()) for k, v in per_attr.items()}
    if not per_attr:
        return float("nan")
    if reduce == "sum":
        return float(sum(v.mean() for v in per_attr.values()))
    return float(np.concatenate(list(per_attr.values())).mean())


def rmse_minmax(X_true, X_imputed, *, missing, spec: ColumnSpec | None = None) -> float:
    """GAIN's reference RMSE on min–max normalised data.

    Numerical and image columns are mapped with the min and max of their known
    values in ``X_true`` (``(x - min) / (max - min + 1e-6)``, GAIN's normalisation);
    then ``sqrt(sum_U (x̂ - x)² / |U|)`` over the hidden cells of those columns.
    Categorical attributes are not included.
    """
    t = _Tables(X_true, X_imputed, missing, spec)
    cols = np.concatenate([t.columns_of(Numerical), t.columns_of(Image)]).astype(
        np.intp
    )
    if cols.size == 0:
        return float("nan")
    truth = t.numeric(t.X_true, cols)
    imp = t.numeric(t.X_imputed, cols)
    U = t.scored(cols, truth)
    t.check_filled(imp, U, cols)
    if not U.any():
        return float("nan")
    known = ~np.isnan(truth)
    lo = np.where(known, truth, np.inf).min(axis=0)
    hi = np.where(known, truth, -np.inf).max(axis=0)
    width = np.where(known.any(axis=0), hi - lo, 0.0) + 1e-6
    err = ((imp - truth) / width)[U]
    return float(np.sqrt(np.mean(err**2)))


def score_imputation(
    X_true, X_imputed, *, missing, spec: ColumnSpec | None = None, scale=None
) -> dict:
    """Every metric in one dict (NaN where a kind of attribute is absent or unscored).

    Keys: ``nrmse_pooled_raw``, ``nrmse_pooled_std``, ``nrmse_per_feature``, ``pfc``,
    ``image_mse``, ``rmse_minmax``, and the counts ``n_numerical`` (scored numerical
    cells), ``n_categorical`` (scored categorical cells), ``n_image`` (hidden image
    instances). ``scale`` is passed to the ``pooled_std`` NRMSE.
    """
    t = _Tables(X_true, X_imputed, missing, spec)
    args = (t.X_true, t.X_imputed)
    kw = {"missing": t.missing, "spec": t.spec}
    out = {
        f"nrmse_{v}": nrmse(
            *args, variant=v, scale=scale if v == "pooled_std" else None, **kw
        )
        for v in NRMSE_VARIANTS
    }
    out["pfc"] = pfc(*args, **kw)
    out["image_mse"] = image_mse(*args, **kw)
    out["rmse_minmax"] = rmse_minmax(*args, **kw)
    num = t.columns_of(Numerical)
    out["n_numerical"] = int(t.scored(num, t.numeric(t.X_true, num)).sum())
    out["n_categorical"] = int(
        sum(
            (t.missing[:, j] & ~_isna(t.raw(t.X_true, j))).sum()
            for j in t.columns_of(Categorical)
        )
    )
    out["n_image"] = int(
        sum(
            t.scored(pos, t.numeric(t.X_true, pos)).any(axis=1).sum()
            for attr, pos in zip(t.spec, t.positions, strict=True)
            if isinstance(attr, Image)
        )
    )
    return out


# ---------------------------------------------------------------------- scorers
def make_imputation_scorer(
    metric: str | Callable = "nrmse_per_feature", *, spec: ColumnSpec | None = None
) -> Callable:
    """A scikit-learn scorer: minus the imputation error on the hidden cells.

    The returned ``scorer(estimator, X_missing, X_true)`` imputes ``X_missing`` with
    ``estimator.transform`` and scores the cells that are missing in ``X_missing``
    but known in ``X_true``. The ground truth travels as ``y``::

        cross_val_score(imputer, X_missing, X_true, scoring=make_imputation_scorer())
        GridSearchCV(imputer, grid, scoring=make_imputation_scorer()).fit(X_missing,
                                                                         X_true)

    (imputers ignore ``y`` in ``fit``). Greater is better, as scikit-learn expects.

    Parameters
    ----------
    metric : str or callable
        One of ``SCORER_METRICS``, or ``f(X_true, X_imputed, *, missing, spec)``
        returning an error.
    spec : ColumnSpec, optional
        Passed to the metric.
    """
    if callable(metric):
        fn = metric
    elif metric in SCORER_METRICS:
        fn = _METRIC_FUNCS[metric]
    else:
        raise ValueError(f"metric must be one of {SCORER_METRICS} or a callable.")

    def scorer(estimator, X_missing, X_true) -> float:
        if X_true is None:
            raise ValueError(
                "The imputation scorer needs the ground truth as y: call "
                "cross_val_score(imputer, X_missing, X_true, scoring=...)."
            )
        X_imp = estimator.transform(X_missing)
        if isinstance(X_missing, pd.DataFrame) and not isinstance(X_imp, pd.DataFrame):
            X_imp = pd.DataFrame(
                X_imp, index=X_missing.index, columns=X_missing.columns
            )
        if isinstance(X_true, pd.DataFrame) and isinstance(X_missing, pd.DataFrame):
            truth_na = X_true.isna().to_numpy()
        else:
            truth_na = _cell_na(np.asarray(X_true))
        hidden = _cell_na(X_missing) & ~truth_na
        return -float(fn(X_true, X_imp, missing=hidden, spec=spec))

    scorer.__name__ = f"neg_{getattr(fn, '__name__', 'error')}"
    return scorer


def imputation_cv_score(
    imputer,
    X_true,
    *,
    mechanism: str = "mcar",
    rate: float = 0.2,
    cv=5,
    metric: str | Callable = "nrmse_per_feature",
    spec: ColumnSpec | None = None,
    random_state=None,
    **mechanism_options,
) -> np.ndarray:
    """Simulate missingness once, then cross-validate ``imputer`` on it.

    ``imputer`` is fitted on the training folds of the masked table and scored on
    the hidden cells of the held-out folds (inductive). Returns the fold scores of
    ``cross_val_score`` (minus the error: greater is better).
    """
    from sklearn.model_selection import cross_val_score

    from .missingness import simulate_missing

    X_missing, _ = simulate_missing(
        X_true,
        mechanism,
        rate,
        spec=spec,
        random_state=random_state,
        **mechanism_options,
    )
    return cross_val_score(
        imputer,
        X_missing,
        X_true,
        cv=cv,
        scoring=make_imputation_scorer(metric, spec=spec),
    )


# --------------------------------------------------------------- Gaussian oracle
def gaussian_conditional_mean(X_missing, mean, cov) -> np.ndarray:
    """Impute a Gaussian table by ``E[x_mis | x_obs]`` under known ``mean`` / ``cov``.

    ``x_mis = mu_m + S_mo S_oo^{-1} (x_o - mu_o)``, solved once per missingness
    pattern. Rows with nothing observed get ``mean``. Observed cells are returned
    unchanged. This is the Bayes-optimal point imputation in squared error, so it
    lower-bounds every imputer's expected MSE on data from
    :func:`~deepimpute.datasets.make_gaussian_data`.

    Parameters
    ----------
    X_missing : array-like of shape (n_samples, n_features), NaN = missing
    mean : array-like of shape (n_features,)
    cov : array-like of shape (n_features, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    X = np.array(X_missing, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if X.ndim != 2 or mean.shape != (X.shape[1],) or cov.shape != (X.shape[1],) * 2:
        raise ValueError("Shapes of X_missing, mean and cov do not agree.")
    na = np.isnan(X)
    patterns, inverse = np.unique(na, axis=0, return_inverse=True)
    for k, pat in enumerate(patterns):
        if not pat.any():
            continue
        rows = np.flatnonzero(inverse.ravel() == k)
        m, o = pat, ~pat
        if not o.any():
            X[np.ix_(rows, m)] = mean[m]
            continue
        delta = X[np.ix_(rows, o)] - mean[o]
        coef = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)])
        X[np.ix_(rows, m)] = mean[m] + delta @ coef
    return X


# ---------------------------------------------------------------------- helpers
class _Tables:
    """Aligned access to the truth, the imputation, the mask and the spec."""

    def __init__(self, X_true, X_imputed, missing, spec) -> None:
        if isinstance(X_true, _Tables):  # pragma: no cover - defensive
            raise TypeError
        self.X_true = X_true if isinstance(X_true, pd.DataFrame) else np.asarray(X_true)
        self.X_imputed = (
            X_imputed if isinstance(X_imputed, pd.DataFrame) else np.asarray(X_imputed)
        )
        if self.X_true.ndim != 2 or self.X_true.shape != self.X_imputed.shape:
            raise ValueError(
                f"X_true {self.X_true.shape} and X_imputed {self.X_imputed.shape} must "
                "be 2-D tables of the same shape."
            )
        self.missing = np.asarray(missing, dtype=bool)
        if self.missing.shape != self.X_true.shape:
            raise ValueError(
                f"missing has shape {self.missing.shape}, expected {self.X_true.shape}."
            )
        self.spec = ColumnSpec.infer(self.X_true) if spec is None else spec
        names = (
            list(self.X_true.columns) if isinstance(self.X_true, pd.DataFrame) else None
        )
        self.n_features = self.X_true.shape[1]
        self.positions = self.spec.positions(names, self.n_features)

    def columns_of(self, kind) -> np.ndarray:
        cols = [
            pos
            for attr, pos in zip(self.spec, self.positions, strict=True)
            if isinstance(attr, kind)
        ]
        return np.concatenate(cols).astype(np.intp) if cols else np.zeros(0, np.intp)

    def raw(self, X, j: int) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return X.iloc[:, j].to_numpy(dtype=object, na_value=np.nan)
        return np.asarray(X[:, j], dtype=object)

    def numeric(self, X, cols) -> np.ndarray:
        cols = np.asarray(cols, dtype=np.intp)
        if not isinstance(X, pd.DataFrame):
            return np.asarray(X[:, cols], dtype=np.float64)
        sub = X.iloc[:, cols]
        if all(pd.api.types.is_numeric_dtype(d) for d in sub.dtypes):
            return sub.to_numpy(dtype=np.float64, na_value=np.nan)
        out = np.empty((X.shape[0], cols.size))
        for k in range(cols.size):
            s = pd.to_numeric(sub.iloc[:, k], errors="raise")
            out[:, k] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def scored(self, cols, truth) -> np.ndarray:
        return self.missing[:, cols] & ~np.isnan(truth)

    def check_filled(self, imp, U, cols) -> None:
        bad = _isna(imp) if imp.dtype == object else np.isnan(imp)
        if U is not None:
            bad &= U
        if bad.any():
            j = cols[np.flatnonzero(bad.any(axis=0))[0]]
            raise ValueError(
                f"X_imputed is missing {int(bad.sum())} scored cell(s), e.g. in column "
                f"position {int(j)}; an imputation must fill every hidden cell."
            )


def _scale_for(scale, truth, cols, n_features):
    if scale is None:
        known = ~np.isnan(truth)
        cnt = np.maximum(known.sum(axis=0), 1)
        mu = np.where(known, truth, 0.0).sum(axis=0) / cnt
        sd = np.sqrt(np.where(known, (truth - mu) ** 2, 0.0).sum(axis=0) / cnt)
        return mu, _safe(sd)
    mu, sd = (np.asarray(s, dtype=np.float64).ravel() for s in scale)
    if mu.size == n_features:
        mu, sd = mu[cols], sd[cols]
    elif mu.size != len(cols):
        raise ValueError(
            f"scale has {mu.size} entries; expected {n_features} (all columns) or "
            f"{len(cols)} (numerical columns)."
        )
    return mu, _safe(sd)


def _pixel_width(scale, truth) -> float:
    if scale is None:
        known = truth[~np.isnan(truth)]
        if known.size == 0:
            return 1.0
        lo, hi = known.min(), known.max()
        if lo >= 0.0 and hi <= 1.0:
            return 1.0
        return float(hi - lo) if hi > lo else 1.0
    if np.ndim(scale) == 0:
        return float(scale)
    lo, hi = scale
    return float(hi) - float(lo)


def _safe(sd):
    return np.where(sd > 0, sd, 1.0)


def _metric(name: str, fn, **fixed):
    def f(X_true, X_imputed, *, missing, spec=None):
        return fn(X_true, X_imputed, missing=missing, spec=spec, **fixed)

    f.__name__ = name
    return f


_METRIC_FUNCS = {
    "nrmse_per_feature": _metric("nrmse_per_feature", nrmse, variant="per_feature"),
    "nrmse_pooled_raw": _metric("nrmse_pooled_raw", nrmse, variant="pooled_raw"),
    "nrmse_pooled_std": _metric("nrmse_pooled_std", nrmse, variant="pooled_std"),
    "pfc": _metric("pfc", pfc),
    "image_mse": _metric("image_mse", image_mse),
    "rmse_minmax": _metric("rmse_minmax", rmse_minmax),
}
