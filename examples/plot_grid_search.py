"""
Tuning an imputer with GridSearchCV and the imputation scorer
=============================================================

Imputation quality can drive model selection directly: hide cells of a complete
table, pass the table with holes as ``X`` and the complete one as ``y``, and score
with :func:`~deepimpute.metrics.make_imputation_scorer` (minus the error on the
hidden cells, so greater is better). Imputers ignore ``y`` when fitting.

A grid search multiplies the cost of one fit by the number of settings times folds
(here 6 x 3 = 18 fits, plus the refit): it is the wrong tool when one fit is already
slow; tune on a sample of the rows then, or keep the defaults (:ref:`defaults`).
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV

from deepimpute import VSAEImputer
from deepimpute.datasets import make_gaussian_data
from deepimpute.metrics import make_imputation_scorer
from deepimpute.missingness import simulate_missing

# 8 columns driven by 2 shared factors: a latent space of 1 dimension is too small
X_true = make_gaussian_data(n_samples=500, n_features=8, n_factors=2,
                            random_state=0).frame
X_missing, hidden = simulate_missing(X_true, "mcar", 0.3, random_state=0)

search = GridSearchCV(
    VSAEImputer(max_iter=30, random_state=0, device="cpu"),
    {"latent_dim": [1, 2, 4], "kl_weight": [0.1, 1.0]},
    scoring=make_imputation_scorer("nrmse_per_feature"),
    cv=3,
)
search.fit(X_missing, X_true)
print("best:", search.best_params_, f"NRMSE {-search.best_score_:.3f}")

# %%
# The error of every setting (lower is better).
res = pd.DataFrame(search.cv_results_)
table = res.pivot(index="param_latent_dim", columns="param_kl_weight",
                  values="mean_test_score")
fig, ax = plt.subplots()
(-table).plot.bar(ax=ax)
ax.set_xlabel("latent_dim")
ax.set_ylabel("NRMSE on hidden cells")
ax.legend(title="kl_weight")
plt.show()
