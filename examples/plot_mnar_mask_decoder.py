"""
Missing not at random: VSAE with and without its mask decoder
=============================================================

Under self-masking MNAR, large values go missing more often, so the observed values
of a column are a biased sample. VSAE models the mask with a decoder
:math:`p(m \\mid z)`; ``mask_decoder=False`` removes it. We compare both on the
cells they had to impute, look at the imputed distributions against the observed
ones, and at the training history of the full model.
"""

import matplotlib.pyplot as plt

from deepimpute import MeanModeImputer, VSAEImputer
from deepimpute.datasets import make_gaussian_data
from deepimpute.metrics import nrmse
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_distributions, plot_history

X_true = make_gaussian_data(n_samples=600, n_features=6, random_state=0).frame
X, hidden = simulate_missing(X_true, "mnar_self", 0.3, random_state=0, strength=3.0)

# the column mean is the reference every imputer must beat
err = nrmse(X_true, MeanModeImputer().fit_transform(X), missing=hidden)
print(f"column mean: NRMSE on hidden cells {err:.3f}")
fitted = {}
for mask_decoder in (True, False):
    imp = VSAEImputer(mask_decoder=mask_decoder, max_iter=60, random_state=0,
                      device="cpu")
    X_imp = imp.fit_transform(X)
    fitted[mask_decoder] = (imp, X_imp)
    err = nrmse(X_true, X_imp, missing=hidden)
    print(f"mask_decoder={mask_decoder}: NRMSE on hidden cells {err:.3f}")

# %%
# Observed against imputed values of the first column. Under this mechanism the
# hidden values are larger than the observed ones, so a good imputation sits to the
# right of the observed density.
column = X.columns[0]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, mask_decoder in zip(axes, (True, False), strict=True):
    plot_distributions(X, fitted[mask_decoder][1], column, ax=ax)
    ax.set_title(f"mask_decoder={mask_decoder}")
plt.tight_layout()
plt.show()

# %%
# Training history of the model with the mask decoder: the epoch whose weights
# were kept (best validation loss) is marked.
plot_history(fitted[True][0])
plt.show()

# %%
# What the numbers say. Both VSAE variants beat the column mean by far: the columns
# are correlated, and the observed partners of a hidden cell carry most of what can
# be known about it. The mask decoder itself makes no measurable difference here
# (the two errors printed above differ in the second decimal at most), and the
# benchmark report finds the same on the yeast and white-wine tables under this
# mechanism (``vsae`` against ``vsae-nomask``, MNAR 0.5, within their spread over
# seeds; :doc:`/benchmarks`). Under MCAR the mask decoder can only learn the missing
# rate, so there it is the wrong choice: ``mask_decoder=False`` trains faster for
# the same imputation.
