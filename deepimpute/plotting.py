"""Plots of fitted imputers (matplotlib is an optional extra, imported on use)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_sparsity_map"]


def plot_sparsity_map(imputer, ax=None, *, normalize=True, group_names=None):
    """Show a fitted factVAE's group-by-latent connection strengths as a heat map.

    Parameters
    ----------
    imputer : FactVAEImputer
        A fitted imputer (anything with a ``sparsity_map_`` of shape
        ``(n_groups, latent_dim)``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when None.
    normalize : bool, default=True
        Divide every latent dimension (column) by its largest entry, as in the
        paper's figure, so the pattern of each dimension is visible.
    group_names : list of str, default=None
        Row labels. Default: the first column label of every group.

    Returns
    -------
    matplotlib Axes
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plot_sparsity_map needs matplotlib: pip install 'deepimpute[plot]'."
        ) from exc
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
