"""
Multiple imputation and a regression pooled with Rubin's rules
==============================================================

``sample`` draws several completed tables. We fit the same least-squares
regression on each and pool the coefficients and their standard errors with
Rubin's rules (formulas in the user guide, :ref:`multiple_imputation`), then
compare with the fit on the complete data and on one imputed table.

Multiple imputation is needed when standard errors, intervals or tests must account
for the missing cells; it is the wrong tool (m times the cost for nothing) when only
a point prediction is wanted, where one imputation, or a model that handles missing
values itself, is enough.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from deepimpute import MICEImputer
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_draws

rng = np.random.default_rng(0)
n = 400
x1 = rng.normal(size=n)
x2 = 0.6 * x1 + 0.8 * rng.normal(size=n)
y = 1.0 + 2.0 * x1 - 1.0 * x2 + rng.normal(size=n)
complete = pd.DataFrame({"x1": x1, "x2": x2, "y": y})
# y takes part in the imputation so that the draws respect its relation to x1, x2;
# only the predictors have holes
X, _ = simulate_missing(complete[["x1", "x2"]], "mcar", 0.3, random_state=0)
X["y"] = y


def ols(frame):
    """Coefficients and their variances of y ~ 1 + x1 + x2."""
    A = np.column_stack([np.ones(len(frame)), frame[["x1", "x2"]].to_numpy(float)])
    target = frame["y"].to_numpy(float)
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    resid = target - A @ coef
    sigma2 = resid @ resid / (len(target) - A.shape[1])
    return coef, sigma2 * np.diag(np.linalg.inv(A.T @ A))


# every imputer has sample(); MICE draws from Bayesian regressions, the textbook
# case of multiple imputation (for VSAE's draws see the user guide)
imputer = MICEImputer(max_iter=5, random_state=0)
imputer.fit(X)
m = 10
draws = imputer.sample(X, n_draws=m, random_state=0)

Q, U = map(np.array, zip(*(ols(d) for d in draws), strict=True))
Q_bar, U_bar = Q.mean(axis=0), U.mean(axis=0)
B = Q.var(axis=0, ddof=1)          # between-draw variance
T = U_bar + (1 + 1 / m) * B        # total variance
lost = (1 + 1 / m) * B / T         # fraction of information lost to missingness

coef_full, var_full = ols(complete)
coef_one, var_one = ols(imputer.transform(X))
print(pd.DataFrame({
    "complete data": coef_full,
    "se (complete)": np.sqrt(var_full),
    "one imputation": coef_one,
    "se (one)": np.sqrt(var_one),
    "pooled": Q_bar,
    "se (pooled)": np.sqrt(T),
    "info lost": lost,
}, index=["intercept", "x1", "x2"]).round(3).to_string())

# %%
# The spread of the imputed values of ``x1`` across the draws (position 0: the
# observed values).
plot_draws(X, draws, "x1")
plt.tight_layout()
plt.show()
