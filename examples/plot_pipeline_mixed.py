"""
Imputation inside a scikit-learn pipeline, on a mixed table
===========================================================

An imputer is a transformer: put it in a :class:`~sklearn.pipeline.Pipeline` in front
of a classifier and cross-validate the whole, so the imputer is fitted on the
training folds only. The table has numerical and categorical columns; the
imputers take it as a DataFrame and return one with the same dtypes.
"""

import matplotlib.pyplot as plt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from deepimpute import MeanModeImputer, MissForestImputer, VSAEImputer
from deepimpute.datasets import make_mixed_data
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_missingness_pattern

data = make_mixed_data(n_samples=400, random_state=0)
# predict one categorical column from the others, a quarter of whose cells are hidden
y = data.frame["cat0"].astype(str)
X_full = data.frame.drop(columns="cat0")
X, _ = simulate_missing(X_full, "mcar", 0.25, random_state=0)
print(X.dtypes.to_string())

# %%
# Which cells are missing: every pattern of missing columns, with its count of rows.
plot_missingness_pattern(X)
plt.tight_layout()

# %%
# Three imputers in front of the same classifier, 3-fold cross-validation.
imputers = {
    "mean/mode": MeanModeImputer(),
    "MissForest": MissForestImputer(n_estimators=20, max_iter=3, random_state=0),
    "VSAE": VSAEImputer(max_iter=30, random_state=0, device="cpu"),
}
for name, imputer in imputers.items():
    pipe = make_pipeline(
        imputer, HistGradientBoostingClassifier(categorical_features="from_dtype")
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    print(f"{name:>10}: accuracy {scores.mean():.3f} (folds {scores.round(3)})")
