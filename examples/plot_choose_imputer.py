"""
Choosing an imputer on your own data
====================================

Hide a share of the cells you have, impute, and measure the error on what was
hidden: :func:`~deepimpute.metrics.imputation_cv_score` does this with
cross-validation (fitted on training folds, scored on held-out rows). The
mechanism and rate should resemble your own missingness.
"""

import matplotlib.pyplot as plt
import numpy as np

from deepimpute import MeanModeImputer, MICEImputer, MissForestImputer, VAEImputer
from deepimpute.datasets import load_yeast
from deepimpute.metrics import imputation_cv_score

X = load_yeast().frame.iloc[:600]
candidates = {
    "mean": MeanModeImputer(),
    "MICE": MICEImputer(max_iter=5, random_state=0),
    "MissForest": MissForestImputer(n_estimators=20, max_iter=3, random_state=0),
    "VAE": VAEImputer(max_iter=40, random_state=0, device="cpu"),
}
errors = {}
for name, imputer in candidates.items():
    scores = imputation_cv_score(imputer, X, mechanism="mcar", rate=0.3, cv=3,
                                 random_state=0)
    errors[name] = -scores
    print(f"{name:>10}: NRMSE {errors[name].mean():.3f} +- {errors[name].std():.3f}")

fig, ax = plt.subplots()
names = list(errors)
ax.bar(names, [errors[k].mean() for k in names],
       yerr=[errors[k].std() for k in names], capsize=4)
ax.set_ylabel("NRMSE per feature on hidden cells (3 folds)")
ax.set_ylim(0, 1.1 * max(np.max(v) for v in errors.values()))
