"""Diagnostic plots of imputers and imputed tables.

matplotlib is an optional dependency (the ``plot`` extra); it is imported inside each
function, so ``import deepimpute.plotting`` works without it. Every function draws
into the Axes (or Figure) it is given, or a new one, and returns what it drew on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import Image

__all__ = [
    "plot_distributions",
    "plot_draws",
    "plot_history",
    "plot_image_grid",
    "plot_missingness_pattern",
    "plot_sparsity_map",
]


def _pyplot(name: str):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{name} needs matplotlib, the 'plot' extra: "
            "pip install 'deepimpute-vae[plot]'."
        ) from exc
    return plt


def _new_ax(ax, name: str, figsize=(5.0, 3.5)):
    if ax is not None:
        return ax
    _, ax = _pyplot(name).subplots(figsize=figsize)
    return ax


def _column(X, column) -> pd.Series:
    """One column of a DataFrame (by label) or of an array (by position)."""
    if isinstance(X, pd.DataFrame):
        if column not in X.columns:
            raise KeyError(f"Column {column!r} is not in the table.")
        return X[column]
    return pd.Series(np.asarray(X, dtype=float)[:, column], name=column)


def _is_numerical(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _best_epoch(history, tol: float = 1e-4) -> int | None:
    """The epoch (1-based) whose weights early stopping kept, or None.

    Replays the rule of the training loop: the validation loss is the monitored
    quantity, and an epoch counts as best when it improves on the best so far by
    more than ``tol``. Without a validation loss no weights are restored.
    """
    best, best_epoch_ = np.inf, None
    for i, record in enumerate(history, start=1):
        v = record.get("val_loss", np.nan)
        if np.isfinite(v) and v < best - tol:
            best, best_epoch_ = v, i
    return best_epoch_


def plot_history(imputer, ax=None):
    """Training and validation loss per epoch of a fitted deep imputer.

    The epoch whose weights were kept (best validation loss) and the epoch at
    which training stopped early, if it did, are marked by vertical lines.

    Parameters
    ----------
    imputer : estimator
        A fitted deep imputer, with ``history_`` (one dict per epoch with
        ``loss`` and, when a validation split was held out, ``val_loss``).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    history = getattr(imputer, "history_", None)
    if not history:
        raise ValueError(
            f"{type(imputer).__name__} has no training history; fit a deep imputer "
            "first (history_ is empty or absent)."
        )
    ax = _new_ax(ax, "plot_history")
    epochs = np.arange(1, len(history) + 1)
    loss = [r.get("loss", np.nan) for r in history]
    ax.plot(epochs, loss, label="loss")
    if any("val_loss" in r for r in history):
        ax.plot(epochs, [r.get("val_loss", np.nan) for r in history], label="val_loss")
        best = _best_epoch(history, getattr(imputer, "tol", 0.0) or 0.0)
        if best is not None:
            ax.axvline(best, color="0.3", linestyle="--", label=f"best epoch {best}")
    max_iter = getattr(imputer, "max_iter", None)
    if max_iter is not None and len(history) < max_iter:
        ax.axvline(len(history), color="C3", linestyle=":",
                   label=f"stopped at {len(history)}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(type(imputer).__name__)
    ax.legend()
    return ax


def plot_distributions(X, X_imputed, column, ax=None, *, bins=30):
    """Observed vs imputed values of one column.

    Numerical columns: the density (normalised histogram outline) of the
    observed entries and of the imputed ones. Categorical and boolean columns:
    side-by-side bars of each category's share among observed and imputed
    entries. A plausible imputation looks like the observed data, though under
    MAR or MNAR the two may rightly differ.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table with missing entries (NaN / None / pd.NA).
    X_imputed : DataFrame or array-like of shape (n_samples, n_features)
        The same table completed by an imputer.
    column : hashable or int
        Column label (DataFrame) or position (array).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when None.
    bins : int, default=30
        Histogram bins of a numerical column (shared by both curves).

    Returns
    -------
    matplotlib.axes.Axes
    """
    s, s_imp = _column(X, column), _column(X_imputed, column)
    missing = s.isna().to_numpy()
    if not missing.any():
        raise ValueError(f"Column {column!r} has no missing entries to compare.")
    observed, imputed = s[~missing], s_imp[missing]
    ax = _new_ax(ax, "plot_distributions")
    if _is_numerical(s) and _is_numerical(s_imp):
        both = np.concatenate([observed.to_numpy(float), imputed.to_numpy(float)])
        edges = np.histogram_bin_edges(both, bins=bins)
        for values, label in ((observed, "observed"), (imputed, "imputed")):
            dens, _ = np.histogram(values.to_numpy(float), bins=edges, density=True)
            ax.stairs(dens, edges, label=f"{label} (n={len(values)})")
        ax.set_ylabel("density")
    else:
        cats = sorted(set(observed.astype(str)) | set(imputed.astype(str)))
        x = np.arange(len(cats))
        for k, (values, label) in enumerate(((observed, "observed"),
                                             (imputed, "imputed"))):
            share = values.astype(str).value_counts(normalize=True)
            ax.bar(x + (k - 0.5) * 0.4, [share.get(c, 0.0) for c in cats], width=0.4,
                   label=f"{label} (n={len(values)})")
        ax.set_xticks(x, labels=cats)
        ax.set_ylabel("share")
    ax.set_xlabel(str(column))
    ax.legend()
    return ax


def plot_missingness_pattern(X, ax=None, *, max_patterns=20):
    """Which columns are missing together, and how often.

    One row per distinct pattern of missing columns (the most frequent first,
    at most ``max_patterns``), one column per table column; a dark cell is
    missing. The row labels give each pattern's count of rows, the column labels
    each column's count of missing entries.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table with missing entries.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when None.
    max_patterns : int, default=20
        Most frequent patterns shown; the title says how many rows the others hold.

    Returns
    -------
    matplotlib.axes.Axes
    """
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, float))
    na = frame.isna().to_numpy()
    patterns, counts = np.unique(na, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:max_patterns]
    patterns, shown = patterns[order], counts[order]
    ax = _new_ax(ax, "plot_missingness_pattern",
                 figsize=(1.5 + 0.35 * na.shape[1], 1.0 + 0.3 * len(shown)))
    ax.imshow(patterns.astype(float), cmap="Greys", vmin=0, vmax=1, aspect="auto",
              interpolation="nearest")
    ax.set_yticks(range(len(shown)), labels=[str(c) for c in shown])
    per_column = na.sum(axis=0)
    ax.set_xticks(range(na.shape[1]), rotation=90,
                  labels=[f"{c} ({n})" for c, n in zip(frame.columns, per_column,
                                                        strict=True)])
    ax.set_ylabel("rows with the pattern")
    rest = int(counts.sum() - shown.sum())
    hidden = f" ({rest} rows not shown)" if rest else ""
    ax.set_title(f"{len(counts)} patterns{hidden}")
    return ax


def plot_draws(X, draws, column, ax=None, *, max_points=500, random_state=0):
    """Spread of the imputed values of one column across multiple imputations.

    mice's strip plot: position 0 shows the observed values, position k the
    values imputed in draw k (the output of ``imputer.sample``), jittered
    horizontally. Draws that all look alike show how certain the model is; they
    should spread about as much as the data do where the other columns say
    little. A categorical column gets one stacked bar of category shares per
    draw instead.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table with missing entries that was passed to ``sample``.
    draws : list of DataFrame or ndarray
        The completed copies returned by ``imputer.sample(X, n_draws)``.
    column : hashable or int
        Column label (DataFrame) or position (array).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when None.
    max_points : int, default=500
        Most points drawn per position (a random subset beyond).
    random_state : int, default=0
        Seed of the jitter and of the subsets.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if len(draws) == 0:
        raise ValueError("draws is empty; pass the list returned by sample().")
    s = _column(X, column)
    missing = s.isna().to_numpy()
    if not missing.any():
        raise ValueError(f"Column {column!r} has no missing entries to compare.")
    ax = _new_ax(ax, "plot_draws")
    rng = np.random.default_rng(random_state)
    groups = [s[~missing]] + [_column(d, column)[missing] for d in draws]
    if _is_numerical(s):
        for k, values in enumerate(groups):
            v = values.to_numpy(float)
            if len(v) > max_points:
                v = rng.choice(v, max_points, replace=False)
            ax.scatter(k + rng.uniform(-0.2, 0.2, len(v)), v, s=6, alpha=0.5,
                       color="C0" if k == 0 else "C3")
        ax.set_ylabel(str(column))
    else:
        cats = sorted(set().union(*(set(g.astype(str)) for g in groups)))
        bottom = np.zeros(len(groups))
        for j, c in enumerate(cats):
            share = np.array([(g.astype(str) == c).mean() for g in groups])
            ax.bar(range(len(groups)), share, bottom=bottom, label=c,
                   color=f"C{j % 10}")
            bottom += share
        ax.set_ylabel(f"share of {column}")
        ax.legend(fontsize="small")
    ax.set_xticks(range(len(groups)),
                  labels=["observed"] + [f"draw {k}" for k in range(1, len(groups))])
    return ax


def plot_image_grid(X, X_imputed, image, *, X_true=None, context=None, rows=None,
                    n_rows=4, fig=None):
    """Images of one image attribute: observed, hidden (true) and imputed.

    One row per table row, one column per view: the image as observed (missing
    pixels orange), the true image when ``X_true`` is given, and the imputed one.
    ``context`` adds, first, another image attribute as observed (the partner of an
    image pair, from which the hidden image is imputed).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table with missing pixels (NaN).
    X_imputed : DataFrame or array-like of shape (n_samples, n_features)
        The completed table.
    image : Image
        The image attribute (its ``columns`` and ``shape``); for an array input,
        ``columns`` are positions.
    X_true : DataFrame or array-like, default=None
        The complete table, to show the hidden truth.
    context : Image, default=None
        Another image attribute of the same shape, shown as observed in ``X``.
    rows : sequence of int, default=None
        Row positions to show. Default: the first ``n_rows`` rows with a missing
        pixel in the image.
    n_rows : int, default=4
        Number of rows when ``rows`` is None.
    fig : matplotlib.figure.Figure, default=None
        Where to draw; a new figure is made when None.

    Returns
    -------
    ndarray of matplotlib.axes.Axes
        Shape ``(len(rows), n_views)``.
    """
    if not isinstance(image, Image):
        raise TypeError(
            f"image must be a deepimpute.Image, got {type(image).__name__}."
        )
    shape = image.shape if len(image.shape) == 2 else (1, int(np.prod(image.shape)))

    obs, imp = _block(X, image), _block(X_imputed, image)
    if rows is None:
        rows = np.flatnonzero(np.isnan(obs).any(axis=1))[:n_rows]
    rows = list(rows)
    if not rows:
        raise ValueError(f"Image {image.label!r} has no row with a missing pixel.")
    views = [("observed", obs)]
    if context is not None:
        if not isinstance(context, Image) or context.shape != image.shape:
            raise ValueError(
                f"context must be an Image of shape {image.shape}, got {context!r}."
            )
        views.insert(0, (f"{context.label} (observed)", _block(X, context)))
        views[1] = (f"{image.label} (observed)", obs)
    if X_true is not None:
        views.append(("true", _block(X_true, image)))
    views.append(("imputed", imp))
    plt = _pyplot("plot_image_grid")
    if fig is None:
        fig = plt.figure(figsize=(1.6 * len(views), 1.6 * len(rows)))
    axes = np.asarray(fig.subplots(len(rows), len(views), squeeze=False))
    finite = np.concatenate([v[rows][np.isfinite(v[rows])] for _, v in views])
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    cmap = plt.get_cmap("gray").with_extremes(bad="tab:orange")
    for i, r in enumerate(rows):
        for j, (title, values) in enumerate(views):
            ax = axes[i, j]
            ax.imshow(np.ma.masked_invalid(values[r].reshape(shape)), cmap=cmap,
                      vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title)
    return axes


def _block(T, image: Image) -> np.ndarray:
    """The pixel columns of one image attribute as a float matrix."""
    if isinstance(T, pd.DataFrame):
        return T.loc[:, list(image.columns)].to_numpy(float)
    return np.asarray(T, dtype=float)[:, list(image.columns)]


def plot_sparsity_map(imputer, ax=None, *, normalize=True, group_names=None):
    """Show a fitted factVAE's group-by-latent connection strengths as a heat map.

    Parameters
    ----------
    imputer : FactVAEImputer
        A fitted imputer (anything with a ``sparsity_map_`` of shape
        ``(n_groups, latent_dim)``).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when None.
    normalize : bool, default=True
        Divide every latent dimension (column) by its largest entry, as in the
        paper's figure, so the pattern of each dimension is visible.
    group_names : list of str, default=None
        Row labels. Default: the first column label of every group.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot("plot_sparsity_map")
    S = np.asarray(imputer.sparsity_map_, dtype=float)
    if normalize:
        top = S.max(axis=0, keepdims=True)
        S = np.divide(S, top, out=np.zeros_like(S), where=top > 0)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.4 * S.shape[1], 1.0 + 0.4 * S.shape[0]))
    im = ax.imshow(S, cmap="Blues", vmin=0.0, aspect="auto")
    if group_names is None:
        groups = getattr(imputer, "groups_", None)
        group_names = (
            [str(g[0]) if len(g) == 1 else f"{g[0]}..." for g in groups]
            if groups is not None
            else [str(g) for g in range(S.shape[0])]
        )
    ax.set_yticks(range(S.shape[0]), labels=list(group_names))
    ax.set_xticks(range(S.shape[1]))
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("group")
    ax.figure.colorbar(im, ax=ax, fraction=0.05)
    return ax
