"""Simulate missing values: MCAR, MAR and MNAR masks over attributes (NumPy only).

The unit of missingness is the *attribute* of a :class:`~deepimpute.schema.ColumnSpec`:
a numerical or categorical attribute is one column, an image attribute is a block of
columns hidden as a whole (``granularity="attribute"``) or pixel by pixel
(``granularity="element"``). The public entry point is :func:`simulate_missing`; the
``*_probabilities`` functions give the per-cell hiding probabilities it samples from.

Conventions
-----------
* ``missing`` (returned) is a boolean ``(n_samples, n_features)`` array, True where the
  simulation hid a cell. Cells already missing in ``X`` stay missing and are never
  marked in ``missing``.
* A *unit* is an attribute, or a single image column with ``granularity="element"``.
  A (row, unit) cell is *eligible* when at least one of its columns is observed in
  ``X``. ``rate`` is the expected share of eligible (row, unit) cells that get hidden,
  over **all** units, including the ones a mechanism keeps always observed (MAR).
  :func:`missing_rate` and ``return_info=True`` report the realised share.
* Rows left with no observed unit are re-drawn from the same probabilities (rejection
  sampling, ``ensure_observed=True``), so every row keeps some evidence (a deviation
  from plain Bernoulli masking, ``docs/methods/protocol.md``, "Missingness
  mechanisms"; ``info["n_redrawn"]`` counts them).
  Re-drawing lowers the rate, noticeably with few units (two images: at most one can
  be hidden), so the target handed to the mechanism is raised until the *expected*
  rate after re-drawing equals ``rate``; unreachable rates raise ``ValueError``.
* MAR/MNAR inputs are standardised per unit: numerical values, the integer code of a
  categorical value (sorted categories), the mean of an image block. Inputs that are
  already missing count as 0 (the mean).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._utils.values import cell_na as _cell_na
from .schema import ColumnSpec, Image

__all__ = [
    "MECHANISMS",
    "simulate_missing",
    "missing_rate",
    "mcar_probabilities",
    "mar_probabilities",
    "mnar_logistic_probabilities",
    "mnar_self_probabilities",
    "mnar_quantile_probabilities",
]

MECHANISMS = ("mcar", "mar", "mnar_logistic", "mnar_self", "mnar_quantile")


# --------------------------------------------------------------------- public API
def simulate_missing(
    X,
    mechanism: str = "mcar",
    rate: float = 0.5,
    *,
    spec: ColumnSpec | None = None,
    random_state=None,
    granularity: str = "attribute",
    ensure_observed: bool = True,
    return_info: bool = False,
    **options,
):
    """Hide cells of a table under a missingness mechanism.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table; never modified. Existing NaN / None / pd.NA cells stay missing.
    mechanism : {"mcar", "mar", "mnar_logistic", "mnar_self", "mnar_quantile"}
        * ``"mcar"``: independent Bernoulli per (row, unit), with the probability
          reported as ``info["cell_probability"]`` (slightly above ``rate`` when
          empty rows are re-drawn).
        * ``"mar"``: a fraction ``p_obs`` (default 0.3, at least one unit) of units is
          always observed; every other unit j is hidden with probability
          ``sigmoid(z_obs @ w_j + b_j)``, ``w_j ~ N(0, 1)`` rescaled so the logit has
          unit variance, ``b_j`` solved by bisection so each masked unit's rate is
          ``rate * n_units / n_masked`` (hence the overall rate is ``rate``).
        * ``"mnar_logistic"``: as ``"mar"``, but the ``p_obs`` input units are then
          themselves hidden MCAR; all units get rate ``rate``.
        * ``"mnar_self"``: ``P(hide x_ij) = sigmoid(strength * z_ij + b_j)`` with
          ``strength > 0`` (option, default 2.0): large values go missing more often;
          ``b_j`` solved by bisection so each unit's rate is ``rate``.
        * ``"mnar_quantile"``: values above the ``quantile`` of their unit are hidden
          with probability ``prob``, others never; rate = ``prob * (1 - quantile)``.
          Give one of the two options and the other follows from ``rate``; by default
          ``prob = min(1, 2 * rate)`` (values above the median hidden with
          probability ``2 * rate`` when ``rate <= 0.5``).
    rate : float in (0, 1)
        Expected share of eligible (row, unit) cells hidden, over all units.
    spec : ColumnSpec, optional
        The attributes; ``ColumnSpec.infer(X)`` when omitted.
    random_state : None, int or numpy Generator
        Seed of ``numpy.random.default_rng``; the global NumPy state is not used.
    granularity : {"attribute", "element"}, default="attribute"
        Hide an image attribute as a whole, or each of its columns independently.
    ensure_observed : bool, default=True
        Re-draw rows whose units would all be missing (see the module docstring).
    return_info : bool, default=False
        Also return a dict: ``rate`` (realised share of eligible unit cells hidden),
        ``n_redrawn`` (rows re-drawn), ``n_eligible``, ``n_hidden``, and the
        mechanism's parameters.
    **options
        Mechanism options: ``p_obs`` (mar, mnar_logistic), ``strength`` (mnar_self),
        ``quantile`` and ``prob`` (mnar_quantile).

    Returns
    -------
    X_missing : DataFrame or ndarray
        A copy of ``X`` with the hidden cells set to missing. DataFrames keep their
        index and dtypes (integer and bool columns with hidden cells become float /
        object so that they can hold NaN); arrays of integer dtype become float64.
    missing : ndarray of bool, shape (n_samples, n_features)
        The cells hidden by this call.
    info : dict
        Only with ``return_info=True``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> X_miss, missing = simulate_missing(X, "mcar", 0.3, random_state=0)
    >>> bool(np.isnan(X_miss[missing]).all())
    True
    """
    if mechanism not in MECHANISMS:
        raise ValueError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}.")
    if not 0.0 < float(rate) < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate!r}.")
    if granularity not in ("attribute", "element"):
        raise ValueError(
            f"granularity must be 'attribute' or 'element', got {granularity!r}."
        )
    rng = np.random.default_rng(random_state)
    is_frame = isinstance(X, pd.DataFrame)
    if not is_frame:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D table, got shape {X.shape}.")
    n, p = X.shape
    spec = ColumnSpec.infer(X) if spec is None else spec
    names = list(X.columns) if is_frame else None
    positions = spec.positions(names, p)
    units, _ = _units(spec, positions, granularity)
    na = _cell_na(X)
    eligible = np.stack([~na[:, u].all(axis=1) for u in units], axis=1)

    if mechanism == "mcar":
        if options:
            raise TypeError(f"mcar takes no options, got {sorted(options)}.")
        Z = None
    else:
        Z = _unit_inputs(X, units, na)
    # One seed for the mechanism's own draws (e.g. MAR weights), so that the rate
    # calibration below can rebuild the same mechanism at another target rate.
    seed = int(rng.integers(2**63))

    def make(target: float):
        if Z is None:
            return mcar_probabilities(eligible, target)
        return _MAKERS[mechanism](
            Z, eligible, target, rng=np.random.default_rng(seed), **options
        )

    if ensure_observed:
        probs, params = _calibrated(make, rate, eligible)
    else:
        probs, params = make(rate)
    hide = (rng.random(probs.shape) < probs) & eligible
    n_redrawn = 0
    if ensure_observed:
        hide, n_redrawn = _redraw_empty_rows(hide, probs, eligible, rng)

    missing = np.zeros((n, p), dtype=bool)
    for k, cols in enumerate(units):
        rows = np.flatnonzero(hide[:, k])
        if rows.size:
            missing[np.ix_(rows, cols)] = True
    missing &= ~na
    X_missing = _apply_mask(X, missing)
    if not return_info:
        return X_missing, missing
    n_elig = int(eligible.sum())
    info: dict[str, Any] = {
        "mechanism": mechanism,
        "target_rate": float(rate),
        "rate": float(hide.sum() / n_elig) if n_elig else float("nan"),
        "n_hidden": int(hide.sum()),
        "n_eligible": n_elig,
        "n_redrawn": n_redrawn,
        "granularity": granularity,
        **params,
    }
    return X_missing, missing, info


def missing_rate(
    missing,
    spec: ColumnSpec | None = None,
    *,
    columns: Sequence[Hashable] | None = None,
    granularity: str = "attribute",
) -> float:
    """Share of (row, attribute) cells marked in ``missing``.

    Parameters
    ----------
    missing : array-like of bool, shape (n_samples, n_features)
        E.g. the second output of :func:`simulate_missing`, or ``pd.isna(X)``.
    spec : ColumnSpec, optional
        Without it every column is its own attribute (element-level rate). With it an
        attribute counts as missing in a row when any of its columns is marked.
    columns : sequence, optional
        The table's column names, needed when ``spec`` names columns by label.
    granularity : {"attribute", "element"}
        As in :func:`simulate_missing`: with "element" image columns count singly.

    Returns
    -------
    float
        The share over all ``n_samples * n_units`` cells (rows already missing count
        in the denominator; ``simulate_missing(..., return_info=True)["rate"]`` gives
        the share among eligible cells instead).
    """
    missing = np.asarray(missing, dtype=bool)
    if missing.ndim != 2:
        raise ValueError(f"missing must be 2-D, got shape {missing.shape}.")
    if spec is None:
        return float(missing.mean())
    positions = spec.positions(
        None if columns is None else list(columns), missing.shape[1]
    )
    units, _ = _units(spec, positions, granularity)
    per_unit = np.stack([missing[:, u].any(axis=1) for u in units], axis=1)
    return float(per_unit.mean())


# ------------------------------------------------------------ probability makers
def mcar_probabilities(eligible: np.ndarray, rate: float) -> tuple[np.ndarray, dict]:
    """The same hiding probability ``rate`` for every (row, unit) cell."""
    return np.full(eligible.shape, float(rate)), {"cell_probability": float(rate)}


def mar_probabilities(
    Z: np.ndarray,
    eligible: np.ndarray,
    rate: float,
    *,
    rng: np.random.Generator,
    p_obs: float = 0.3,
) -> tuple[np.ndarray, dict]:
    """Logistic MAR: always-observed inputs drive the other units' probabilities.

    Parameters
    ----------
    Z : ndarray of shape (n, n_units)
        Standardised unit inputs (0 where missing).
    eligible : ndarray of bool, shape (n, n_units)
    rate : float
        Overall target; each masked unit gets ``rate * n_units / n_masked``.
    rng : numpy Generator
    p_obs : float, default=0.3
        Fraction of units always observed (at least one, at most ``n_units - 1``).
    """
    n_units = Z.shape[1]
    inputs, masked = _split_units(n_units, p_obs, rng)
    target = rate * n_units / masked.size
    if target >= 1.0:
        raise ValueError(
            f"rate={rate} with {inputs.size} always-observed of {n_units} attributes "
            f"needs a rate of {target:.2f} on the others; lower rate or p_obs."
        )
    probs = np.zeros(Z.shape)
    probs[:, masked] = _logistic_block(Z[:, inputs], eligible[:, masked], target, rng)
    return probs, {"p_obs": p_obs, "observed_units": inputs.tolist()}


def mnar_logistic_probabilities(
    Z: np.ndarray,
    eligible: np.ndarray,
    rate: float,
    *,
    rng: np.random.Generator,
    p_obs: float = 0.3,
) -> tuple[np.ndarray, dict]:
    """Logistic MNAR: as :func:`mar_probabilities`, then the inputs are hidden MCAR.

    Every unit gets rate ``rate``; since the inputs of the logistic model can be
    missing, the masked units' missingness depends on unobserved values.
    """
    n_units = Z.shape[1]
    inputs, masked = _split_units(n_units, p_obs, rng)
    probs = np.full(Z.shape, float(rate))
    probs[:, masked] = _logistic_block(Z[:, inputs], eligible[:, masked], rate, rng)
    return probs, {"p_obs": p_obs, "input_units": inputs.tolist()}


def mnar_self_probabilities(
    Z: np.ndarray,
    eligible: np.ndarray,
    rate: float,
    *,
    rng: np.random.Generator | None = None,
    strength: float = 2.0,
) -> tuple[np.ndarray, dict]:
    """Self-masking MNAR: ``P(hide) = sigmoid(strength * z + b_j)`` per unit.

    ``b_j`` is solved by bisection so that the mean probability over the unit's
    eligible rows is ``rate``. ``rng`` is unused (deterministic given ``Z``).
    """
    if strength <= 0:
        raise ValueError(f"strength must be positive, got {strength!r}.")
    logits = strength * Z
    b = _solve_intercepts(logits, eligible, rate)
    return _sigmoid(logits + b), {"strength": float(strength)}


def mnar_quantile_probabilities(
    Z: np.ndarray,
    eligible: np.ndarray,
    rate: float,
    *,
    rng: np.random.Generator | None = None,
    quantile: float | None = None,
    prob: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Hide values above a unit's ``quantile`` with probability ``prob``.

    ``rate = prob * (1 - quantile)``: give ``quantile`` or ``prob`` (or neither:
    ``prob = min(1, 2 * rate)``) and the other is derived. Ties at the threshold
    share the hiding probability so that exactly a ``1 - quantile`` share of each
    unit's eligible values is exposed. ``rng`` is unused.
    """
    if quantile is not None and prob is not None:
        raise ValueError("Give quantile or prob, not both: rate fixes the other.")
    if quantile is not None:
        if not 0.0 <= quantile < 1.0:
            raise ValueError(f"quantile must be in [0, 1), got {quantile!r}.")
        prob = rate / (1.0 - quantile)
    else:
        prob = min(1.0, 2.0 * rate) if prob is None else float(prob)
        quantile = 1.0 - rate / prob
    if not 0.0 < prob <= 1.0 or not 0.0 <= quantile < 1.0:
        raise ValueError(
            f"rate={rate} is out of reach with quantile={quantile:.3f}, "
            f"prob={prob:.3f}."
        )
    probs = np.zeros(Z.shape)
    share = 1.0 - quantile
    for j in range(Z.shape[1]):
        rows = np.flatnonzero(eligible[:, j])
        if rows.size == 0:
            continue
        z = Z[rows, j]
        thr = np.quantile(z, quantile)
        above, tied = z > thr, z == thr
        # Spread the leftover share over the tied values (discrete columns).
        frac = (share * rows.size - above.sum()) / max(tied.sum(), 1)
        probs[rows, j] = prob * (above + np.clip(frac, 0.0, 1.0) * tied)
    return probs, {"quantile": float(quantile), "prob": float(prob)}


# ------------------------------------------------------------------------ helpers
_MAKERS = {
    "mar": mar_probabilities,
    "mnar_logistic": mnar_logistic_probabilities,
    "mnar_self": mnar_self_probabilities,
    "mnar_quantile": mnar_quantile_probabilities,
}


def _units(spec: ColumnSpec, positions, granularity: str):
    """Column positions of each missingness unit, and the attribute of each unit."""
    units, owner = [], []
    for a, (attr, pos) in enumerate(zip(spec, positions, strict=True)):
        if isinstance(attr, Image) and granularity == "element":
            units.extend(pos[i : i + 1] for i in range(len(pos)))
            owner.extend([a] * len(pos))
        else:
            units.append(pos)
            owner.append(a)
    return units, owner


def _column_values(X, j: int) -> np.ndarray:
    """Column ``j`` as float64 (NaN where missing), or integer codes if not numeric."""
    if isinstance(X, pd.DataFrame):
        s = X.iloc[:, j]
    else:
        s = pd.Series(X[:, j])
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(float) if not s.hasnans else s.map(float, na_action="ignore")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return _codes(s)


def _codes(s: pd.Series) -> np.ndarray:
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy().astype(np.float64)
    else:
        try:
            codes = pd.factorize(s, sort=True)[0].astype(np.float64)
        except TypeError:  # mixed types cannot be sorted
            codes = pd.factorize(s.astype(str).where(s.notna()), sort=True)[0]
            codes = codes.astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def _numeric_matrix(X) -> np.ndarray:
    """Every column as float64 (NaN = missing); non-numeric columns as codes."""
    if not isinstance(X, pd.DataFrame) and X.dtype.kind in "fiub":
        return X.astype(np.float64)
    if isinstance(X, pd.DataFrame) and all(
        pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d)
        for d in X.dtypes
    ):
        # a copy: callers write into it (a view would be read-only or the caller's)
        return X.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return np.stack([_column_values(X, j) for j in range(X.shape[1])], axis=1)


def _unit_inputs(X, units, na) -> np.ndarray:
    """Standardised scalar summary of each unit (0 where missing).

    A categorical value counts by its integer code, an image block by the mean of
    its observed columns.
    """
    V = _numeric_matrix(X)
    obs = ~na
    V[na] = 0.0
    n = X.shape[0]
    raw = np.empty((n, len(units)))
    cnt = np.empty((n, len(units)))
    single = [k for k, cols in enumerate(units) if len(cols) == 1]
    if single:
        cols = np.array([units[k][0] for k in single], dtype=np.intp)
        raw[:, single] = V[:, cols]
        cnt[:, single] = obs[:, cols]
    for k, cols in enumerate(units):
        if len(cols) > 1:
            cnt[:, k] = obs[:, cols].sum(axis=1)
            raw[:, k] = V[:, cols].sum(axis=1) / np.maximum(cnt[:, k], 1)
    ok = cnt > 0
    m = np.maximum(ok.sum(axis=0), 1)
    mu = np.where(ok, raw, 0.0).sum(axis=0) / m
    sd = np.sqrt(np.where(ok, (raw - mu) ** 2, 0.0).sum(axis=0) / m)
    return np.where(ok, (raw - mu) / np.where(sd > 0, sd, 1.0), 0.0)


def _split_units(n_units: int, p_obs: float, rng: np.random.Generator):
    if n_units < 2:
        raise ValueError("MAR / logistic MNAR need at least two attributes.")
    if not 0.0 < p_obs < 1.0:
        raise ValueError(f"p_obs must be in (0, 1), got {p_obs!r}.")
    n_in = int(np.clip(round(p_obs * n_units), 1, n_units - 1))
    perm = rng.permutation(n_units)
    return np.sort(perm[:n_in]), np.sort(perm[n_in:])


def _logistic_block(Z_in, eligible, target, rng) -> np.ndarray:
    """sigmoid(Z_in @ W + b): W Gaussian, rescaled to unit-variance logits."""
    W = rng.standard_normal((Z_in.shape[1], eligible.shape[1]))
    logits = Z_in @ W
    sd = logits.std(axis=0)
    logits /= np.where(sd > 0, sd, 1.0)
    b = _solve_intercepts(logits, eligible, target)
    return _sigmoid(logits + b)


def _solve_intercepts(logits, eligible, target: float) -> np.ndarray:
    """Per-column b with mean(sigmoid(logits + b)) = target over eligible rows.

    Safeguarded Newton: the mean is increasing in b, so a bracket [lo, hi] is kept
    and a Newton step leaving it is replaced by bisection.
    """
    w = eligible.astype(float)
    n_elig = np.maximum(w.sum(axis=0), 1.0)
    lo = np.full(logits.shape[1], -60.0)
    hi = np.full(logits.shape[1], 60.0)
    mean_logit = (logits * w).sum(axis=0) / n_elig
    b = np.log(target / (1.0 - target)) - mean_logit
    for _ in range(100):
        sig = _sigmoid(logits + b)
        err = (sig * w).sum(axis=0) / n_elig - target
        if np.all(np.abs(err) < 1e-9):
            break
        lo = np.where(err < 0, b, lo)
        hi = np.where(err > 0, b, hi)
        slope = (sig * (1.0 - sig) * w).sum(axis=0) / n_elig
        with np.errstate(divide="ignore", invalid="ignore"):
            step = b - err / slope
        ok = np.isfinite(step) & (step > lo) & (step < hi)
        b = np.where(ok, step, 0.5 * (lo + hi))
    return b


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _expected_rate(probs: np.ndarray, eligible: np.ndarray) -> float:
    """Expected share of eligible cells hidden once empty rows are re-drawn.

    Re-drawing is rejection sampling, so a row with eligible probabilities ``p``
    hides ``(sum p - k prod p) / (1 - prod p)`` cells on average (``k - 1`` when
    every ``p`` is 1: one unit is then revealed).
    """
    p = np.where(eligible, probs, 0.0)
    k = eligible.sum(axis=1)
    with np.errstate(divide="ignore"):
        p_all = np.exp(np.where(eligible, np.log(p), 0.0).sum(axis=1))
    p_all[k == 0] = 0.0
    s = p.sum(axis=1)
    full = p_all >= 1.0 - 1e-12
    hidden = np.where(full, k - 1, (s - k * p_all) / np.where(full, 1.0, 1.0 - p_all))
    total = k.sum()
    if total == 0:
        raise ValueError("X has no observed cell to hide.")
    return float(hidden.sum() / total)


def _calibrated(make, rate: float, eligible: np.ndarray, tol: float = 5e-4):
    """Probabilities whose rate after re-drawing empty rows is ``rate``.

    Re-drawing lowers the rate (noticeably with few attributes), so the target handed
    to the mechanism is raised by bisection until the expected rate matches.
    """
    probs, params = make(rate)
    if abs(_expected_rate(probs, eligible) - rate) < tol:
        return probs, params
    lo, hi, best = rate, 1.0, None
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        try:
            cand = make(mid)
        except ValueError:  # the mechanism cannot reach this target at all
            hi = mid
            continue
        got = _expected_rate(cand[0], eligible)
        best = (*cand, mid)
        if abs(got - rate) < tol / 10:
            break
        lo, hi = (mid, hi) if got < rate else (lo, mid)
    if best is None or abs(_expected_rate(best[0], eligible) - rate) > 10 * tol:
        raise ValueError(
            f"rate={rate} cannot be reached while keeping one observed attribute per "
            "row; lower it or pass ensure_observed=False."
        )
    return best[0], {**best[1], "calibrated_target": best[2]}


def _redraw_empty_rows(hide, probs, eligible, rng, max_tries: int = 1000):
    """Re-draw rows that would have no observed unit; returns (hide, n_redrawn)."""
    has_any = eligible.any(axis=1)
    bad = np.flatnonzero(has_any & ~(eligible & ~hide).any(axis=1))
    n_redrawn = bad.size
    for _ in range(max_tries):
        if bad.size == 0:
            break
        new = (rng.random((bad.size, hide.shape[1])) < probs[bad]) & eligible[bad]
        hide[bad] = new
        bad = bad[~(eligible[bad] & ~new).any(axis=1)]
    for r in bad:  # probabilities near 1 everywhere: reveal one unit at random
        hide[r, rng.choice(np.flatnonzero(eligible[r]))] = False
    return hide, int(n_redrawn)


def _apply_mask(X, missing: np.ndarray):
    """Copy of ``X`` with ``missing`` cells set to NaN / NA, dtypes kept if possible."""
    if not isinstance(X, pd.DataFrame):
        if X.dtype.kind in "iub":
            out = X.astype(np.float64)
        else:
            out = X.copy()
        out[missing] = np.nan if out.dtype.kind in "fc" else None
        return out
    dtypes = set(X.dtypes)
    if (
        len(dtypes) == 1
        and np.dtype(next(iter(dtypes))).kind == "f"
        and not any(isinstance(d, pd.api.extensions.ExtensionDtype) for d in dtypes)
    ):  # fast path for wide float tables (images)
        arr = X.to_numpy(copy=True)
        arr[missing] = np.nan
        return pd.DataFrame(arr, index=X.index, columns=X.columns)
    cols = {}
    for j in range(X.shape[1]):
        s = X.iloc[:, j]
        m = missing[:, j]
        if m.any():
            if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(
                s.dtype, pd.api.extensions.ExtensionDtype
            ):
                s = s.astype(np.float64)
            elif pd.api.types.is_bool_dtype(s.dtype) and not isinstance(
                s.dtype, pd.api.extensions.ExtensionDtype
            ):
                s = s.astype(object)
            s = s.mask(m)
        cols[j] = s
    out = pd.concat(cols, axis=1) if cols else X.copy()
    out.columns = X.columns
    out.index = X.index
    return out
