"""AutoImputer: choose, per column, the package's best imputer for a table.

A meta-estimator over the other imputers (design: ``docs/methods/auto.md``). It
works on the column codes of :class:`~deepimpute.imputers._base.BaseImputer`
(numerical columns standardised, categories as integer codes), so the whole
contract (dtypes, observed cells kept, bounds, indicator, chunks, Dask) comes from
the template; the candidates see those codes as a table of their own, described by
a :class:`~deepimpute.schema.ColumnSpec` over code positions.
"""

from __future__ import annotations

import logging
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import nnls
from sklearn.base import clone

from .._utils.params import store_params
from .._utils.sklearn_compat import Interval
from ..schema import Categorical, ColumnSpec, Image, Numerical
from ._base import BaseImputer

__all__ = ["AutoImputer", "DEFAULT_CANDIDATES", "set_registry"]

_LOG = logging.getLogger("deepimpute")

#: the candidates of ``candidates=None``, cheapest first: time a cheap candidate
#: leaves unused rolls over to the later, slower ones
DEFAULT_CANDIDATES = (
    "mean", "mice", "missforest", "miwae", "vsae", "rvi", "factvae", "remasker",
    "diffputer",
)
#: a deep candidate whose share of the budget allows fewer epochs is skipped
MIN_EPOCHS = 10
#: share of ``time_budget`` for scoring the candidates; the rest is the refit's
SCORING_SHARE = 2 / 3
#: share of the scoring budget kept back, in equal parts, for the candidates
#: after a non-deep one (a deep one shares what is left equally with them)
RESERVE_SHARE = 1 / 3
#: rows of the first small fit that estimates a non-deep candidate's cost
PROBE_ROWS = 200
#: cost of a non-deep fit grows like ``rows ** PROBE_EXPONENT`` (forests: a bit
#: faster than linearly; a cautious estimate skips rather than overruns)
PROBE_EXPONENT = 1.2
#: the share of the hidden cells' rows that choose and blend; the others report
CHOOSE_SHARE = 0.5
#: a blend replaces the best single candidate only if its cross-fitted error is
#: this much lower (relative): a tie goes to the simpler choice
BLEND_MARGIN = 1e-3
#: a column takes its own best candidate over the table's best only if the
#: paired difference of their errors on its cells is this many standard errors
SIGNIFICANCE = 2.0
#: table without missing cells at fit: cells hidden completely at random
COMPLETE_TABLE_RATE = 0.2


#: the registry the candidates given by name come from: ``{"imputers": name ->
#: class, "build": build(name, params) -> unfitted imputer}``, set by
#: ``deepimpute.imputers`` (:func:`set_registry`), which imports this module
_REGISTRY: dict = {}


def set_registry(imputers: dict[str, type], build) -> None:
    """Give AutoImputer the registry of imputers and its builder (called once by
    ``deepimpute.imputers``; this module cannot import it)."""
    _REGISTRY.update(imputers=imputers, build=build)


class AutoImputer(BaseImputer):
    """Choose and blend, per column, the best of the package's imputers.

    ``fit`` hides a share of the observed cells, drawn like the table's own
    missingness (a row receives, among its observed cells, the missing pattern of
    a randomly chosen incomplete row), fits every candidate on the table with
    those cells hidden and scores it on them: the normalised RMSE (on
    standardised values) of each numerical column, the proportion of falsely
    classified entries (PFC) of each categorical one. The rows that received a
    pattern are split in two. The cells of one half choose: each column takes
    the candidate best over the whole table unless another is better on that
    column by ``SIGNIFICANCE`` standard errors (few cells choose noisily), and a
    numerical column takes a non-negative blend (weights summing to one) of its
    best ``max_blend`` candidates where the blend, fitted and scored in two
    folds, beats its choice. The cells of the other half only report the
    validation error of every candidate and of the choice (``leaderboard_``), so
    the reported error is never the one the choice was tuned on. The candidates
    used are then refitted on all rows and cells; ``transform`` (and
    ``fit_transform``, as scored) combines their ``transform`` per column
    and ``sample`` takes each column's draws from its chosen candidate (a
    blend's heaviest).

    ``time_budget`` bounds the fit: two thirds of it go to scoring, one third to
    the refit. A candidate that is not deep may take what is left of the scoring
    budget but a reserve for each candidate after it (its cost cannot be cut):
    on tables over ``2 * PROBE_ROWS`` rows it first fits ``PROBE_ROWS`` rows and
    is skipped if its cost extrapolated to all rows exceeds that share. A deep
    candidate shares what is left equally with those after it: it first fits
    one epoch on ``PROBE_ROWS`` rows (and imputes them), scaled to all rows, then
    gets as many epochs as its share allows, at most its own setting (skipped
    below ``MIN_EPOCHS``). Time a
    fast candidate leaves unused passes on to the later ones: list the cheap
    ones first. The first candidate always runs, so that there is a choice.
    Skips are listed in ``leaderboard_`` with their reason. The budget is wall
    time: on a busy or slower machine fewer candidates fit in it.

    Parameters
    ----------
    candidates : list or None, default=None
        The imputers to choose from: names of ``deepimpute.imputers.IMPUTERS``,
        unfitted imputers, or ``(name, imputer)`` pairs. ``None`` means
        ``DEFAULT_CANDIDATES`` (mean, MICE, MissForest, MIWAE, VSAE, RVI, FactVAE,
        ReMasker, DiffPuter) at their default settings. Order matters under a
        budget: put the cheap ones first.
    time_budget : float or None, default=120.0
        Seconds the fit should take, about (a refit of a blend of slow candidates
        may overrun it). ``None``: no budget, every candidate runs at its own
        settings; the choice then depends only on ``random_state``, not on the
        machine's speed.
    holdout_fraction : float, default=0.3
        Share of rows that receive a missing pattern for scoring.
    max_blend : int, default=3
        Most candidates blended in one numerical column (1: no blending).
        Categorical columns take a single candidate.
    candidate_params : dict or None, default=None
        Parameters of the candidates given by name, each taking those it has
        (``n_draws`` only where it lowers the default, as
        ``deepimpute.imputers.budget_params`` does), e.g. ``{"max_iter": 50}``.
    device : str, default="auto"
        Torch device of the deep candidates given by name.
    verbose : int, default=0
        1 logs each candidate's score and time.

    Attributes
    ----------
    chosen_ : dict
        Column name -> the candidate that imputes it, or the names of a blend
        joined by ``+``.
    weights_ : dict
        Column name -> ``{candidate: weight}`` (one entry of weight 1 for a
        single choice).
    estimators_ : dict
        Candidate name -> the candidate refitted on all rows (those used only).
    leaderboard_ : list of dict
        One record per candidate and column: ``imputer``, ``column``, ``error``
        (validation error on the reporting cells), ``choice_error`` (on the
        choosing cells), ``seconds`` (its scoring fit), ``status`` (``"chosen"``,
        ``"blended"``, ``"ok"``, ``"skipped"`` or ``"failed"``) and ``note``;
        then one record per column for ``"auto"``, the choice itself. Give it to
        ``pandas.DataFrame`` for a table.
    n_hidden_ : int
        Observed cells hidden for scoring.

    See Also
    --------
    MICEImputer, MissForestImputer, VSAEImputer : Some of the candidates.

    References
    ----------
    .. [1] D. Jarrett, B. Cebere, T. Liu, A. Curth and M. van der Schaar,
       "HyperImpute: Generalized Iterative Imputation with Automatic Model
       Selection", ICML 2022 (selection of a learner per column on held-out
       cells, within one iterative loop; ours selects whole imputers). Our
       design: ``docs/methods/auto.md``.

    Examples
    --------
    >>> import numpy as np
    >>> from deepimpute.imputers import AutoImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)) @ [[1, 0.8, 0.5], [0, 0.6, 0.5], [0, 0, 0.7]]
    >>> X[rng.random(X.shape) < 0.2] = np.nan
    >>> auto = AutoImputer(candidates=["mean", "mice"], time_budget=None,
    ...                    random_state=0).fit(X)
    >>> sorted(set(auto.chosen_.values()) - {"mean", "mice", "mean+mice"})
    []
    """

    _range_note = "Imputations lie where the chosen candidates put them."

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "candidates": [list, tuple, None],
        "time_budget": [Interval(Real, 0, None, closed="neither"), None],
        "holdout_fraction": [Interval(Real, 0, 1, closed="neither")],
        "max_blend": [Interval(Integral, 1, None, closed="left")],
        "candidate_params": [dict, None],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        candidates=None,
        time_budget=120.0,
        holdout_fraction=0.3,
        max_blend=3,
        candidate_params=None,
        device="auto",
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.time_budget is not None
        return tags

    # ------------------------------------------------------------- candidates
    def _candidate_list(self) -> list[tuple[str, BaseImputer]]:
        """``(name, unfitted imputer)`` of every candidate, checked."""
        if not _REGISTRY:
            raise RuntimeError("AutoImputer: import deepimpute.imputers first.")
        IMPUTERS, build = _REGISTRY["imputers"], _REGISTRY["build"]
        given = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        out: list[tuple[str, BaseImputer]] = []
        for item in given:
            if isinstance(item, str):
                if item not in IMPUTERS or IMPUTERS[item] is type(self):
                    names = sorted(
                        k for k, c in IMPUTERS.items() if c is not type(self)
                    )
                    raise ValueError(
                        f"AutoImputer: unknown candidate {item!r}; choose from "
                        f"{names}."
                    )
                est = build(item, self.candidate_params or {})
                if "device" in est.get_params():
                    est.set_params(device=self.device)
                out.append((item, est))
                continue
            name, est = item if isinstance(item, tuple) and len(item) == 2 else (
                None, item
            )
            if not isinstance(est, BaseImputer) or isinstance(est, AutoImputer):
                raise TypeError(
                    "AutoImputer: a candidate must be a registry name, a deepimpute "
                    f"imputer or a (name, imputer) pair; got {item!r}."
                )
            out.append((name or type(est).__name__, clone(est)))
        names = [n for n, _ in out]
        if not names:
            raise ValueError("AutoImputer: candidates is empty; give at least one.")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"AutoImputer: candidate name(s) {dup} appear twice; name them "
                "with (name, imputer) pairs."
            )
        return out

    def _codes_spec(self) -> ColumnSpec:
        """The attributes of the column codes, by position: what a candidate sees."""
        attrs = []
        for lay, pos in zip(
            self.encoder_.layout.attributes, self.encoder_.positions, strict=True
        ):
            cols = tuple(int(j) for j in pos)
            if lay.kind == "categorical":
                cats = tuple(float(k) for k in range(lay.width))
                attrs.append(Categorical(cols[0], categories=cats))
            elif lay.kind == "image":
                lik = lay.likelihood if lay.likelihood in ("bernoulli", "gaussian") \
                    else "bernoulli"
                attrs.append(Image(cols, lay.shape, name=lay.name, likelihood=lik))
            else:
                attrs.append(Numerical(cols[0]))
        return ColumnSpec(attrs)

    def _prepared(self, est: BaseImputer, seed: int) -> BaseImputer:
        """A candidate set to read the column codes (no markers, no indicator)."""
        return est.set_params(
            column_spec=self._codes_spec(), random_state=seed,
            missing_values=np.nan, add_indicator=False, keep_empty_features=True,
            min_value=-np.inf, max_value=np.inf, handle_unknown="error",
        )

    # ------------------------------------------------------------------ fit
    def _fit(self, C, data, seed):
        from ._deep import BaseDeepImputer

        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        candidates = [
            (name, self._prepared(est, seed)) for name, est in self._candidate_list()
        ]
        attrs = list(zip(self.encoder_.layout.attributes, self.encoder_.positions,
                         strict=True))
        hidden, choose = _hide_cells(C, self.holdout_fraction, rng)
        self.n_hidden_ = int(hidden.sum())
        C_hidden = np.where(hidden, np.nan, C)
        report = hidden & ~choose
        choose = hidden & choose

        scoring_budget = (
            None if self.time_budget is None else SCORING_SHARE * self.time_budget
        )
        # what each candidate still to run keeps for itself while a non-deep one
        # (whose cost cannot be cut) takes the rest
        reserve = (
            None if scoring_budget is None
            else scoring_budget * RESERVE_SHARE / len(candidates)
        )
        records: list[dict] = []
        preds: dict[str, np.ndarray] = {}
        settings: dict[str, dict] = {}
        seconds: dict[str, float] = {}
        for k, (name, est) in enumerate(candidates):
            deep = isinstance(est, BaseDeepImputer)
            share = None
            if scoring_budget is not None and k > 0:  # the first one always runs
                left = max(scoring_budget - (time.perf_counter() - start), 0.0)
                after = len(candidates) - k - 1
                share = left / (after + 1) if deep else max(left - reserve * after, 0.0)
            t0 = time.perf_counter()
            try:
                pred, params, note = _score_fit(est, C_hidden, share, rng, deep)
            except Exception as exc:  # a candidate failing must not stop the choice
                pred, params = None, {}
                note = f"failed: {type(exc).__name__}: {exc}"[:300]
            seconds[name] = time.perf_counter() - t0
            if pred is None:
                status = "failed" if note.startswith("failed") else "skipped"
                records += [
                    _record(name, lay.name, np.nan, np.nan, seconds[name], status,
                            note)
                    for lay, _ in attrs
                ]
                self._log(f"{name}: {note}")
                continue
            preds[name], settings[name] = pred, params
            for lay, pos in attrs:
                records.append(_record(
                    name, lay.name, _error(lay.kind, C, pred, report, pos),
                    _error(lay.kind, C, pred, choose, pos), seconds[name], "ok", note,
                ))
            self._log(f"{name}: {seconds[name]:.1f}s {note}".rstrip())
        if not preds:
            notes = "; ".join(
                f"{r['imputer']}: {r['note']}" for r in records[:: len(attrs)]
            )
            raise RuntimeError(
                f"AutoImputer: no candidate could be scored ({notes}); raise "
                "time_budget or choose cheaper candidates."
            )

        names = list(preds)
        fallback = _table_choice(records, names)
        with np.errstate(over="ignore", invalid="ignore"):  # inf ranks last
            weights = {
                lay.name: self._choose(lay.kind, lay.name, C, preds, names, choose,
                                       pos, records, fallback)
                for lay, pos in attrs
            }
        if self.time_budget is not None:
            left = self.time_budget - (time.perf_counter() - start)
            used = {n for w in weights.values() for n in w}
            if sum(seconds[n] for n in used) > left:  # blends only where affordable
                weights = {c: {max(w, key=w.get): 1.0} for c, w in weights.items()}
        self.weights_ = weights
        self.chosen_ = {c: "+".join(w) for c, w in weights.items()}
        auto_pred = np.array(C, dtype=np.float64)
        for lay, pos in attrs:
            auto_pred[:, pos] = _combine(lay.kind, preds, weights[lay.name], pos)
            for r in records:
                if r["column"] == lay.name and r["imputer"] in weights[lay.name]:
                    r["status"] = (
                        "chosen" if len(weights[lay.name]) == 1 else "blended"
                    )
        for lay, pos in attrs:
            records.append(_record(
                "auto", lay.name, _error(lay.kind, C, auto_pred, report, pos),
                _error(lay.kind, C, auto_pred, choose, pos),
                time.perf_counter() - start, "chosen", self.chosen_[lay.name],
            ))
        self.leaderboard_ = records

        used = [n for n in names if any(n in w for w in self.weights_.values())]
        by_name = dict(candidates)
        self.estimators_ = {}
        for name in used:
            t0 = time.perf_counter()
            est = clone(by_name[name]).set_params(**settings[name]).fit(C)
            self.estimators_[name] = est
            self._log(f"refit {name}: {time.perf_counter() - t0:.1f}s")
        return None  # fit_transform: the candidates' transform, as scored

    def _choose(self, kind, column, C, preds, names, choose, pos, records,
                fallback) -> dict:
        """Weights of one attribute from its choosing cells: the table's best
        candidate (``fallback``) unless another beats it clearly on this column
        (:func:`_significant_best`), or the blend of the best ``max_blend`` where
        the blend, cross-fitted, beats that choice."""
        errors = {
            r["imputer"]: r["choice_error"]
            for r in records
            if r["column"] == column and r["imputer"] in preds
        }
        ranked = sorted(
            (n for n in names if np.isfinite(errors[n])),
            key=lambda n: (errors[n], names.index(n)),
        )
        if not ranked:  # no cell of this column was hidden for choosing
            return {fallback: 1.0}
        cells = choose[:, pos]
        y = C[:, pos][cells]
        best = _significant_best(kind, ranked[0], fallback, preds, cells, pos, y)
        ranked = [best] + [n for n in ranked if n != best]
        top = ranked[: self.max_blend]
        if kind == "categorical" or len(top) < 2:
            return {best: 1.0}
        rows = np.flatnonzero(cells.any(axis=1))
        if rows.size < 4:
            return {best: 1.0}
        P = np.stack([preds[n][:, pos][cells] for n in top], axis=1)
        # two folds over the choosing rows: weights from one, error on the other
        fold_of_row = np.zeros(C.shape[0], dtype=np.intp)
        fold_of_row[rows[1::2]] = 1
        fold = np.broadcast_to(fold_of_row[:, None], cells.shape)[cells]
        sq = 0.0
        for f in (0, 1):
            w = _simplex_weights(P[fold != f], y[fold != f])
            sq += float(np.sum((P[fold == f] @ w - y[fold == f]) ** 2))
        blend_error = np.sqrt(sq / y.size)
        best_error = np.sqrt(np.mean((P[:, 0] - y) ** 2))
        if blend_error >= best_error * (1 - BLEND_MARGIN):
            return {best: 1.0}
        w = _simplex_weights(P, y)
        kept = {n: float(v) for n, v in zip(top, w, strict=True) if v > 1e-6}
        total = sum(kept.values())
        if len(kept) < 2:
            return {max(kept, key=kept.get): 1.0}
        return {n: v / total for n, v in kept.items()}

    def _combined(self, imputations: dict[str, np.ndarray], C) -> np.ndarray:
        """Per attribute, the chosen candidate's (or the blend's) imputation."""
        out = np.array(C, dtype=np.float64)
        for lay, pos in zip(
            self.encoder_.layout.attributes, self.encoder_.positions, strict=True
        ):
            out[:, pos] = _combine(lay.kind, imputations, self.weights_[lay.name], pos)
        return np.where(np.isnan(C), out, C)

    def _log(self, message: str) -> None:
        _LOG.info("AutoImputer %s", message)
        if self.verbose:
            print(f"AutoImputer {message}")

    # ------------------------------------------------------ transform, sample
    def _impute(self, C, data):
        imputations = {
            name: np.asarray(est.transform(C), dtype=np.float64)
            for name, est in self.estimators_.items()
        }
        return self._combined(imputations, C)

    def _sample(self, C, data, n_draws, seed):
        """Each column's draws from its chosen candidate (a blend's heaviest); a
        candidate without a sampler repeats its imputation (with a warning)."""
        samplers = {max(w, key=w.get) for w in self.weights_.values()}
        draws: dict[str, list[np.ndarray]] = {}
        for k, name in enumerate(sorted(samplers)):
            est = self.estimators_[name]
            try:
                draws[name] = [
                    np.asarray(d, dtype=np.float64)
                    for d in est.sample(C, n_draws=n_draws, random_state=seed + k)
                ]
            except NotImplementedError:
                warnings.warn(
                    f"AutoImputer: candidate {name!r} has no sampler; its columns "
                    "repeat its single imputation in every draw.",
                    UserWarning,
                    stacklevel=3,
                )
                draws[name] = [np.asarray(est.transform(C), dtype=np.float64)] * n_draws
        out = []
        for i in range(n_draws):
            piece = np.array(C, dtype=np.float64)
            for lay, pos in zip(
                self.encoder_.layout.attributes, self.encoder_.positions, strict=True
            ):
                w = self.weights_[lay.name]
                piece[:, pos] = draws[max(w, key=w.get)][i][:, pos]
            out.append(np.where(np.isnan(C), piece, C))
        return out


# ------------------------------------------------------------------ helpers
def _hide_cells(C: np.ndarray, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Observed cells to hide, and which of them choose (the rest report).

    A share ``fraction`` of the rows each receive the missing pattern of a random
    incomplete row (other than itself where possible), among their observed
    cells; a complete table gets cells hidden completely at random. Every column
    keeps at least two observed cells. Returns ``(hidden, choose)`` masks; the
    choosing cells are those of a random half of the receiving rows.
    """
    n, p = C.shape
    missing = np.isnan(C)
    incomplete = np.flatnonzero(missing.any(axis=1))
    targets = rng.permutation(n)[: max(2, int(round(fraction * n)))]
    hidden = np.zeros_like(missing)
    if incomplete.size:
        donors = incomplete[rng.integers(0, incomplete.size, size=targets.size)]
        same = donors == targets
        if incomplete.size > 1 and same.any():  # another row's pattern
            donors[same] = incomplete[
                (np.searchsorted(incomplete, donors[same]) + 1) % incomplete.size
            ]
        hidden[targets] = missing[donors] & ~missing[targets]
    else:
        hidden[targets] = rng.random((targets.size, p)) < COMPLETE_TABLE_RATE
    left = (~missing & ~hidden).sum(axis=0)
    hidden[:, left < 2] = False
    chooser = np.zeros(n, dtype=bool)
    chooser[targets[: int(round(CHOOSE_SHARE * targets.size))]] = True
    return hidden, hidden & chooser[:, None]


def _fit_impute(est, C) -> np.ndarray:
    """What AutoImputer uses of a candidate, scored alike: ``fit``, then
    ``transform`` (not the fit's own imputation of its rows, which for MICE's
    pooled chains or RVI's learned posteriors differs from that of new rows)."""
    return np.asarray(est.fit(C).transform(C), dtype=np.float64)


#: whether a deep candidate was probed in this process (torch's first use costs
#: seconds of set-up that later fits do not pay: the first probe runs twice)
_WARM = {"torch": False}


def _score_fit(est, C_hidden, share, rng, deep: bool):
    """Fit one candidate on the table with cells hidden, within ``share`` seconds
    (None: no limit). Returns (imputed codes or None if skipped, the settings its
    refit takes, a note)."""
    n = C_hidden.shape[0]
    if share is not None and share <= 0:
        return None, {}, "skipped: the scoring budget is spent"
    if share is None:
        return _fit_impute(est, C_hidden), {}, ""
    if deep:
        planned = est.max_iter
        # one epoch on a sample of rows and its imputation, scaled to all rows:
        # set-up included (cautious: DiffPuter's E-step grows with the rows)
        m = min(n, PROBE_ROWS)
        small = C_hidden[np.sort(rng.permutation(n)[:m])]
        scale = n / m
        spent = 0.0
        for _ in range(2):
            t0 = time.perf_counter()
            probe = clone(est).set_params(max_iter=1).fit(small)
            t_fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            probe.transform(small)
            t_impute = time.perf_counter() - t0
            spent += t_fit + t_impute
            if _WARM["torch"] or spent > share:
                break
            _WARM["torch"] = True
        one_epoch = max(probe.history_[0]["seconds"], 1e-6)
        epoch = one_epoch * scale
        overhead = (t_fit - one_epoch + t_impute) * scale
        if planned == "auto":  # the epochs "auto" gives n rows
            planned = est._resolve_max_iter(n)
        affordable = int((share - spent - overhead) // epoch)
        if affordable < min(MIN_EPOCHS, int(planned)):
            return None, {}, (
                f"skipped: {epoch:.2f}s per epoch and {overhead:.1f}s besides, "
                f"estimated from {m} rows; {max(affordable, 0)} epoch(s) fit in its "
                f"share of {share:.1f}s (needs {min(MIN_EPOCHS, int(planned))})"
            )
        epochs = int(min(int(planned), affordable))
        params = {"max_iter": epochs}
        est.set_params(**params)
        pred = _fit_impute(est, C_hidden)
        capped = " (capped by the budget)" if epochs < int(planned) else ""
        return pred, params, f"{est.n_iter_} of {epochs} epochs{capped}"
    if n <= 2 * PROBE_ROWS:  # a small table: the probe would cost as much
        return _fit_impute(est, C_hidden), {}, ""
    m = PROBE_ROWS
    small = C_hidden[np.sort(rng.permutation(n)[:m])]
    t0 = time.perf_counter()
    _fit_impute(clone(est), small)
    cost = (time.perf_counter() - t0) * (n / m) ** PROBE_EXPONENT
    if cost > share:
        return None, {}, (
            f"skipped: estimated {cost:.1f}s from a {m}-row fit, over its share of "
            f"{share:.1f}s"
        )
    return _fit_impute(est, C_hidden), {}, ""


def _error(kind: str, C, pred, cells, pos) -> float:
    """NRMSE (standardised codes) or PFC of one attribute on ``cells``."""
    mask = cells[:, pos]
    if not mask.any():
        return np.nan
    truth, guess = C[:, pos][mask], pred[:, pos][mask]
    if kind == "categorical":
        return float(np.mean(np.round(guess) != truth))
    d = np.abs(guess - truth)
    top = d.max()  # scaled first: codes of extreme values must not overflow
    return float(top * np.sqrt(np.mean((d / top) ** 2))) if top > 0 else 0.0


def _record(imputer, column, error, choice_error, seconds, status, note) -> dict:
    return dict(imputer=imputer, column=column, error=error,
                choice_error=choice_error, seconds=float(seconds), status=status,
                note=note)


def _table_choice(records: list[dict], names: list[str]) -> str:
    """The candidate with the lowest mean choosing error over the columns (the
    choice for a column without a choosing cell)."""
    def mean_error(name):
        errs = [r["choice_error"] for r in records
                if r["imputer"] == name and np.isfinite(r["choice_error"])]
        return np.mean(errs) if errs else np.inf
    return min(names, key=lambda n: (mean_error(n), names.index(n)))


def _significant_best(kind, best, table_best, preds, cells, pos, y) -> str:
    """A column's own best candidate where it beats the table's best clearly
    (paired over the column's choosing cells, by ``SIGNIFICANCE`` standard
    errors), else the table's best: few cells choose noisily."""
    if best == table_best or table_best not in preds:
        return best

    def loss(name):
        guess = preds[name][:, pos][cells]
        return (np.round(guess) != y).astype(float) if kind == "categorical" else (
            (guess - y) ** 2
        )

    d = loss(best) - loss(table_best)
    if d.size < 2:
        return table_best
    se = d.std(ddof=1) / np.sqrt(d.size)
    return best if d.mean() + SIGNIFICANCE * se < 0 else table_best


def _combine(kind: str, imputations: dict, weights: dict, pos) -> np.ndarray:
    """One attribute's imputation: a weighted sum of the candidates' (categorical
    columns have a single candidate)."""
    if kind == "categorical" or len(weights) == 1:
        return imputations[max(weights, key=weights.get)][:, pos]
    return sum(w * imputations[n][:, pos] for n, w in weights.items())


def _simplex_weights(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to one that minimise ``||P w - y||``: NNLS
    with the sum constraint as a heavily weighted extra row."""
    lam = 1e3 * max(1.0, float(np.abs(P).max(initial=0.0)))
    A = np.vstack([P, np.full((1, P.shape[1]), lam)])
    b = np.concatenate([y, [lam]])
    w, _ = nnls(A, b)
    total = w.sum()
    return w / total if total > 0 else np.full(P.shape[1], 1.0 / P.shape[1])
