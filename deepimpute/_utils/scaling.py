"""Per-slot scaling of the encoded table shared by the GAN imputers."""

from __future__ import annotations

import numpy as np

__all__ = ["unit_range"]


def unit_range(layout, data) -> tuple[np.ndarray, np.ndarray]:
    """Per-slot ``(low, span)`` mapping the model space to [0, 1].

    Numerical slots get the min-max of their observed training values, with the
    reference's ``+1e-6`` on the range; one-hot and image slots are already in
    [0, 1] and keep ``(0, 1)``.
    """
    width = layout.width
    low, span = np.zeros(width, np.float32), np.ones(width, np.float32)
    for lay in layout.attributes:
        if lay.kind != "numerical":
            continue
        j = lay.start
        col = data.observed_values(j)
        lo, hi = (col.min(), col.max()) if col.size else (0.0, 1.0)
        low[j], span[j] = lo, hi - lo + 1e-6
    return low, span
