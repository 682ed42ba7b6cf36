"""
factVAE's sparsity map: which latent dimensions serve which groups
==================================================================

:class:`~deepimpute.FactVAEImputer` splits the table into groups of columns and
learns, with a group lasso, which latent dimensions each group's decoder uses.
Here two groups depend on one shared factor and a third on its own factor. A
stronger ``sparsity`` than the default switches more (group, dimension) links off
(with the priors scaled per row, as in the paper: the default scaling by the
dataset divides the lasso's threshold by the number of rows); with this short run
on a small table the map is only partly sparse. The benchmark report's section
"factVAE bars" shows the paper's experiment run to the end (:doc:`/benchmarks`).

FactVAE needs the groups of columns from you; on a table with no natural grouping
its map says little, and a model without groups (VSAE, VAE) is the simpler choice.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from deepimpute import FactVAEImputer
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_sparsity_map

rng = np.random.default_rng(0)
n = 1000
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
    latent_dim=4, sparsity=10.0, prior_scaling="per_batch_mean", max_iter=300,
    random_state=0, device="cpu",
).fit(X)
S = imp.sparsity_map_
print("strength of each link, relative to the strongest per dimension:")
print(np.round(S / S.max(axis=0), 2))
plot_sparsity_map(imp, group_names=["group 1", "group 2", "group 3"])
plt.tight_layout()
plt.show()
