"""
factVAE's sparsity map: which latent dimensions serve which groups
==================================================================

:class:`~deepimpute.FactVAEImputer` splits the table into groups of columns and
learns, with a group lasso, which latent dimensions each group's decoder uses.
Here two groups depend on one shared factor and a third on its own factor; the map
should show the shared dimension used by both and a separate one for the third.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from deepimpute import FactVAEImputer
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_sparsity_map

rng = np.random.default_rng(0)
n = 600
shared, own = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
noise = 0.2 * rng.normal(size=(n, 6))
X_true = pd.DataFrame(
    np.hstack([shared @ rng.normal(size=(1, 2)), shared @ rng.normal(size=(1, 2)),
               own @ rng.normal(size=(1, 2))]) + noise,
    columns=["g1_a", "g1_b", "g2_a", "g2_b", "g3_a", "g3_b"],
)
X, _ = simulate_missing(X_true, "mcar", 0.2, random_state=0)
imp = FactVAEImputer(
    groups=[["g1_a", "g1_b"], ["g2_a", "g2_b"], ["g3_a", "g3_b"]],
    latent_dim=4, max_iter=80, random_state=0, device="cpu",
).fit(X)
plot_sparsity_map(imp, group_names=["group 1", "group 2", "group 3"])
plt.tight_layout()
