"""Pooling of multiple imputations: Rubin's rules with Barnard-Rubin degrees of freedom.

An analysis run on each of ``m`` completed tables (the draws of
:meth:`~deepimpute.imputers.BaseImputer.sample`) gives estimates ``Q_d`` and their
variances ``U_d`` (or covariance matrices). :func:`pool` combines them (Rubin,
1987; Barnard and Rubin, 1999):

* pooled estimate ``Q = mean_d Q_d``;
* within variance ``W = mean_d U_d`` and between variance
  ``B = sum_d (Q_d - Q)^2 / (m - 1)``;
* total variance ``T = W + (1 + 1/m) B``;
* relative increase in variance ``r = (1 + 1/m) B / W`` and the share of the total
  variance due to missingness ``lambda = (1 + 1/m) B / T``;
* degrees of freedom: Rubin's ``nu_old = (m - 1) / lambda^2`` and, with the
  complete-data degrees of freedom ``nu_com = n_obs - k``, Barnard and Rubin's
  small-sample ``nu = nu_old nu_obs / (nu_old + nu_obs)`` where
  ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)``;
* fraction of missing information ``gamma = (r + 2 / (nu + 3)) / (1 + r)``.

:func:`fit_pooled` fits a model on every draw and pools it: a callable returning
``(params, covariance)``, a scikit-learn ``LinearRegression`` or unpenalised
``LogisticRegression`` (classical covariances computed here), or, with the optional
``stats`` extra (statsmodels), ``"ols"``, ``"logit"`` or a statsmodels model class.

This module needs NumPy only (SciPy for the t quantiles; pandas and statsmodels
where the inputs are such); it does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PooledResult", "fit_pooled", "pool"]


@dataclass(frozen=True)
class PooledResult:
    """Rubin's rules applied to ``m`` per-draw estimates (see :func:`pool`).

    Every per-parameter attribute is an array of shape ``(k,)`` (``()`` for a
    scalar analysis).

    Attributes
    ----------
    estimate : ndarray
        Pooled estimate, the mean of the per-draw estimates.
    within : ndarray
        Within-imputation variance ``W`` (mean of the per-draw variances).
    between : ndarray
        Between-imputation variance ``B`` (variance of the estimates, ``ddof=1``).
    total : ndarray
        Total variance ``T = W + (1 + 1/m) B``.
    df : ndarray
        Degrees of freedom of the t reference distribution: Barnard-Rubin's when
        ``df_complete`` is finite, else Rubin's ``(m - 1) / lambda^2``.
    df_rubin : ndarray
        Rubin's (1987) large-sample degrees of freedom ``(m - 1) / lambda^2``.
    riv : ndarray
        Relative increase in variance due to nonresponse, ``(1 + 1/m) B / W``.
    lambda_ : ndarray
        Proportion of the total variance due to missingness, ``(1 + 1/m) B / T``.
    fmi : ndarray
        Fraction of missing information ``(riv + 2 / (df + 3)) / (1 + riv)``.
    m : int
        Number of draws.
    df_complete : float
        Complete-data degrees of freedom (``inf`` when not given).
    names : list of str or None
        Parameter names, when known.
    within_cov, between_cov, total_cov : ndarray or None
        The ``(k, k)`` matrices, when covariance matrices were pooled.
    """

    estimate: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total: np.ndarray
    df: np.ndarray
    df_rubin: np.ndarray
    riv: np.ndarray
    lambda_: np.ndarray
    fmi: np.ndarray
    m: int
    df_complete: float
    names: list | None = None
    within_cov: np.ndarray | None = field(default=None, repr=False)
    between_cov: np.ndarray | None = field(default=None, repr=False)
    total_cov: np.ndarray | None = field(default=None, repr=False)

    @property
    def std_error(self) -> np.ndarray:
        """Pooled standard error ``sqrt(T)``."""
        return np.sqrt(self.total)

    def conf_int(self, level: float = 0.95) -> np.ndarray:
        """Confidence intervals ``Q -+ t_{df}(1 - (1 - level)/2) sqrt(T)``.

        Parameters
        ----------
        level : float, default=0.95
            Coverage level in (0, 1).

        Returns
        -------
        ndarray of shape (..., 2)
            Lower and upper bounds per parameter.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}.")
        from scipy import stats

        half = stats.t.ppf(0.5 + level / 2, self.df) * self.std_error
        return np.stack([self.estimate - half, self.estimate + half], axis=-1)

    def p_value(self, null: float | np.ndarray = 0.0) -> np.ndarray:
        """Two-sided p-value of ``estimate == null`` against the t reference."""
        from scipy import stats

        t = (self.estimate - null) / self.std_error
        return 2 * stats.t.sf(np.abs(t), self.df)

    def summary(self, level: float = 0.95):
        """The per-parameter results as a DataFrame (one row per parameter)."""
        import pandas as pd

        ci = np.atleast_2d(self.conf_int(level))
        pct = f"{100 * level:g}"
        columns = {
            "estimate": self.estimate, "std_error": self.std_error,
            f"ci{pct}_low": ci[:, 0], f"ci{pct}_high": ci[:, 1],
            "df": self.df, "within": self.within, "between": self.between,
            "total": self.total, "riv": self.riv, "lambda": self.lambda_,
            "fmi": self.fmi, "p_value": self.p_value(),
        }
        return pd.DataFrame(
            {k: np.atleast_1d(v) for k, v in columns.items()}, index=self.names
        )


def pool(
    estimates,
    variances_or_covariances,
    n_obs: float | None = None,
    *,
    df_complete: float | None = None,
    names: Sequence[str] | None = None,
) -> PooledResult:
    """Combine per-draw estimates with Rubin's rules (Barnard-Rubin df).

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, k)
        The estimate of each of the ``m >= 2`` draws (a scalar or ``k`` parameters).
    variances_or_covariances : array-like of shape (m,), (m, k) or (m, k, k)
        Their squared standard errors, or full covariance matrices; with matrices
        the pooled ``within_cov``, ``between_cov`` and ``total_cov`` are kept too.
    n_obs : float, optional
        Rows of each completed table; the complete-data degrees of freedom are
        then ``n_obs - k``. None (and no ``df_complete``) means infinite (large
        samples): the degrees of freedom are Rubin's 1987 ones.
    df_complete : float, optional
        The complete-data degrees of freedom directly (overrides ``n_obs``).
    names : sequence of str, optional
        Parameter names (``k`` of them).

    Returns
    -------
    PooledResult

    Examples
    --------
    >>> res = pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.04], n_obs=100)
    >>> round(float(res.estimate), 4), round(float(res.total), 4)
    (1.0333, 0.0744)
    """
    Q = np.asarray(estimates, dtype=float)
    V = np.asarray(variances_or_covariances, dtype=float)
    if Q.ndim not in (1, 2):
        raise ValueError(
            f"estimates must have shape (m,) or (m, k), got shape {Q.shape}."
        )
    m = Q.shape[0]
    if m < 2:
        raise ValueError(f"pooling needs at least 2 draws, got {m}.")
    scalar = Q.ndim == 1
    Qk = Q[:, None] if scalar else Q
    k = Qk.shape[1]
    if V.shape == (m, k, k):
        full = True
    elif V.shape in ((m, k), (m,) if scalar else (m, k)):
        full = False
    else:
        raise ValueError(
            f"variances_or_covariances must have shape {(m,) if scalar else (m, k)}"
            f" or {(m, k, k)} for estimates of shape {Q.shape}, got {V.shape}."
        )
    if not (np.isfinite(Qk).all() and np.isfinite(V).all()):
        raise ValueError("estimates and variances must be finite.")
    if names is not None and len(names) != k:
        raise ValueError(f"names has {len(names)} entries for {k} parameters.")

    q_bar = Qk.mean(axis=0)
    dev = Qk - q_bar
    b_cov = dev.T @ dev / (m - 1)
    if full:
        w_cov = V.mean(axis=0)
        within = np.diag(w_cov).copy()
        t_cov = w_cov + (1 + 1 / m) * b_cov
    else:
        within = V.reshape(m, k).mean(axis=0)
        w_cov = t_cov = None
    if (within < 0).any():
        raise ValueError("variances must be non-negative.")
    between = np.diag(b_cov).copy()
    extra = (1 + 1 / m) * between
    total = within + extra
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = extra / within
        lam = extra / total
        df_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
    if df_complete is None:
        df_complete = np.inf if n_obs is None else float(n_obs) - k
    df_complete = float(df_complete)
    if not df_complete > 0:
        raise ValueError(
            f"the complete-data degrees of freedom must be positive, got "
            f"{df_complete} (n_obs={n_obs}, k={k})."
        )
    if np.isfinite(df_complete):
        nu = df_complete
        df_obs = (nu + 1) / (nu + 3) * nu * (1 - lam)
        with np.errstate(invalid="ignore"):
            df = np.where(np.isinf(df_old), df_obs,
                          df_old * df_obs / (df_old + df_obs))
    else:
        df = df_old
    fmi = (riv + 2 / (df + 3)) / (1 + riv)

    def out(a):
        return a[0] if scalar else a

    return PooledResult(
        estimate=out(q_bar), within=out(within), between=out(between),
        total=out(total), df=out(df), df_rubin=out(df_old), riv=out(riv),
        lambda_=out(lam), fmi=out(fmi), m=m, df_complete=df_complete,
        names=None if names is None else list(names),
        within_cov=w_cov, between_cov=None if not full else b_cov,
        total_cov=t_cov,
    )


# ------------------------------------------------------------------ fit per draw
def fit_pooled(
    draws: Sequence,
    fit: Callable | Any,
    *,
    y=None,
    columns: Sequence | None = None,
    intercept: bool = True,
    n_obs: float | None = None,
) -> PooledResult:
    """Fit a model on every completed table and pool it with :func:`pool`.

    Parameters
    ----------
    draws : sequence of DataFrame or ndarray
        The completed tables (``imputer.sample(X, n_draws=m)``), ``m >= 2``.
    fit : callable, estimator, str or statsmodels model class
        * a callable ``fit(table) -> (params, cov)`` (``cov`` a ``(k, k)`` matrix
          or the ``k`` variances; a pandas Series of params names them);
        * a scikit-learn ``LinearRegression`` (covariance
          ``s^2 (A'A)^{-1}``, ``s^2`` the residual variance with ``n - k``
          degrees of freedom) or an unpenalised ``LogisticRegression``
          (``C=numpy.inf``)
          (inverse Fisher information ``(A' diag(p(1-p)) A)^{-1}``), fitted on a
          clone per draw;
        * ``"ols"`` or ``"logit"``, or a statsmodels model class (``sm.OLS``,
          ``sm.Logit``, ``sm.GLM``...): statsmodels fits it (``pip install
          'deepimpute-vae[stats]'``).
    y : str, int or array-like, optional
        The outcome: a column of each draw (label, or position for arrays), or a
        fixed array (an outcome the imputer did not see). Not needed by a callable.
    columns : sequence, optional
        Predictor columns of each draw (default: every column but ``y``).
        Categorical, string and boolean columns enter as indicator columns of
        their levels but the first (levels shared by every draw).
    intercept : bool, default=True
        Add a column of ones named ``"const"``.
    n_obs : float, optional
        Rows for the complete-data degrees of freedom ``n_obs - k``; default the
        rows of each draw. ``numpy.inf`` gives Rubin's large-sample ones.

    Returns
    -------
    PooledResult
    """
    draws = list(draws)
    if len(draws) < 2:
        raise ValueError(f"pooling needs at least 2 draws, got {len(draws)}.")
    n_rows = len(draws[0])
    if callable(fit) and not _is_estimator(fit) and not isinstance(fit, type):
        results = [fit(d) for d in draws]
        names = _names(results[0][0])
        params = [np.asarray(p, dtype=float) for p, _ in results]
        covs = [np.asarray(c, dtype=float) for _, c in results]
    else:
        levels = _levels(draws, y, columns)
        params, covs = [], []
        names = None
        for table in draws:
            A, target, names = _design(table, y, columns, intercept, levels)
            p, c = _fit_one(fit, A, target)
            params.append(p)
            covs.append(c)
    return pool(np.stack(params), np.stack(covs),
                n_obs=n_rows if n_obs is None else n_obs, names=names)


def _is_estimator(obj) -> bool:
    return hasattr(obj, "get_params") and hasattr(obj, "fit")


def _names(params) -> list | None:
    index = getattr(params, "index", None)
    return None if index is None else [str(v) for v in index]


def _column(table, key):
    if hasattr(table, "iloc"):
        return table[key]
    return np.asarray(table)[:, key]


def _predictor_keys(table, y, columns) -> list:
    if columns is not None:
        return list(columns)
    keys = list(table.columns) if hasattr(table, "columns") else list(
        range(np.asarray(table).shape[1]))
    if y is not None and np.ndim(y) == 0:
        keys = [c for c in keys if not _same(c, y)]
    return keys


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _is_categorical(values) -> bool:
    import pandas as pd

    dtype = getattr(values, "dtype", np.asarray(values).dtype)
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype))


def _levels(draws, y, columns) -> dict:
    """The sorted levels of every categorical predictor, over all draws."""
    import pandas as pd

    levels = {}
    for key in _predictor_keys(draws[0], y, columns):
        first = _column(draws[0], key)
        if not _is_categorical(first):
            continue
        dtype = getattr(first, "dtype", None)
        if isinstance(dtype, pd.CategoricalDtype):
            levels[key] = list(dtype.categories)
            continue
        seen = set()
        for d in draws:
            seen.update(pd.Series(_column(d, key)).dropna().tolist())
        levels[key] = sorted(seen, key=lambda v: (str(type(v)), v))
    return levels


def _design(table, y, columns, intercept, levels):
    """Predictor matrix, outcome and parameter names of one completed table."""
    blocks, names = [], []
    n = len(table)
    if intercept:
        blocks.append(np.ones((n, 1)))
        names.append("const")
    for key in _predictor_keys(table, y, columns):
        values = _column(table, key)
        if key in levels:
            arr = np.asarray(values, dtype=object)
            for level in levels[key][1:]:
                blocks.append((arr == level).astype(float)[:, None])
                names.append(f"{key}[{level}]")
        else:
            blocks.append(np.asarray(values, dtype=float)[:, None])
            names.append(str(key))
    if y is None:
        raise ValueError("fit_pooled needs y (a column of the draws or an array) "
                         "unless fit is a callable.")
    target = _column(table, y) if np.ndim(y) == 0 else y
    target = np.asarray(target)
    if target.dtype == bool or target.dtype == object:
        target = target.astype(float)
    A = np.hstack(blocks)
    if not np.isfinite(A).all():
        raise ValueError("a predictor holds NaN or infinity: pool completed tables "
                         "(the draws of sample()), not the incomplete one.")
    return A, np.asarray(target, dtype=float), names


def _fit_one(fit, A, target):
    """Parameters and covariance of one model fit on the design ``A``."""
    if isinstance(fit, str) or isinstance(fit, type):
        return _fit_statsmodels(fit, A, target)
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression, LogisticRegression

    est = clone(fit)
    if isinstance(est, LinearRegression):
        return _ols(A, target)
    if isinstance(est, LogisticRegression):
        penalty = getattr(est, "penalty", None)
        if not (penalty is None or np.isinf(est.C)):
            raise ValueError(
                "fit_pooled needs an unpenalised LogisticRegression (C=numpy.inf, "
                "or penalty=None before scikit-learn 1.8): a penalised fit has no "
                "classical covariance."
            )
        est.set_params(fit_intercept=False)
        est.fit(A, target)
        beta = est.coef_.ravel()
        if beta.size != A.shape[1]:
            raise ValueError("fit_pooled supports a binary outcome only.")
        p = 1 / (1 + np.exp(-A @ beta))
        info = A.T @ (A * (p * (1 - p))[:, None])
        return beta, np.linalg.inv(info)
    raise TypeError(
        f"fit_pooled cannot take covariances from {type(fit).__name__}: give a "
        "callable returning (params, cov), LinearRegression, "
        "LogisticRegression(penalty=None), 'ols', 'logit' or a statsmodels model."
    )


def _ols(A, target):
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    resid = target - A @ coef
    dof = A.shape[0] - A.shape[1]
    if dof <= 0:
        raise ValueError(f"OLS needs more rows than parameters ({A.shape}).")
    inv = np.linalg.inv(A.T @ A)
    return coef, (resid @ resid / dof) * inv


def _fit_statsmodels(model, A, target):
    try:
        import statsmodels.api as sm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"fit={model!r} needs statsmodels: pip install 'deepimpute-vae[stats]'."
        ) from exc
    if isinstance(model, str):
        known = {"ols": sm.OLS, "logit": sm.Logit}
        if model not in known:
            raise ValueError(f"fit must be 'ols' or 'logit', got {model!r}.")
        model = known[model]
    res = model(target, A).fit(**({"disp": 0} if model is sm.Logit else {}))
    return np.asarray(res.params), np.asarray(res.cov_params())
